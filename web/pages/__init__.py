"""The map pages: one module per page around the shared layout of :mod:`web.pages.common`.

Every page is always registered, in the order of the navigation (:data:`NAV`).
"""

from __future__ import annotations

from fastapi import APIRouter

from web.pages import capacity, check, filings, one_map, planning, preview, readiness
from web.pages.common import NAV, NavItem

__all__ = ["NAV", "NavItem", "make_router"]


def make_router() -> APIRouter:
    """The page router with every page.

    Returns
    -------
    APIRouter
        The pages, left out of the OpenAPI document.
    """
    pages = APIRouter(include_in_schema=False)
    for module in (one_map, readiness, preview, check, capacity, planning, filings):
        pages.include_router(module.router)
    return pages
