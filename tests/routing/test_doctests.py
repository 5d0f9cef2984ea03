"""The doctest examples of the routing modules that have no test module of their own run."""

from __future__ import annotations

import doctest

import pytest

from onemap.routing import contract, corridors, overlay


@pytest.mark.parametrize("module", [contract, corridors, overlay], ids=lambda m: m.__name__)
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
