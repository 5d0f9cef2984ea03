"""Settings of the web app: API token, basemap tiles, request limits.

Read from the environment (``ONEMAP_API_TOKEN``, ``ONEMAP_TILES``, ``ONEMAP_TIANDITU_KEY``) and
optionally a TOML config file (``ONEMAP_WEB_CONFIG`` or ``onemap serve --config``); the
environment wins. The token is a secret: it is never printed or put in a page.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from onemap.errors import OnemapInputError
from onemap.messages import msg
from onemap.routing.routefile import MAX_ROUTE_VERTICES

Tiles = Literal["none", "osm", "tianditu"]

ENV_TOKEN = "ONEMAP_API_TOKEN"
ENV_CONFIG = "ONEMAP_WEB_CONFIG"
ENV_TILES = "ONEMAP_TILES"
ENV_TIANDITU_KEY = "ONEMAP_TIANDITU_KEY"


class WebSettings(BaseModel):
    """Server configuration. Defaults suit tests and an offline demo: no tiles, no token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_token: str | None = Field(
        default=None, description="bearer token required by POST /api/v1/projects", repr=False
    )
    tiles: Tiles = Field(default="none", description="basemap: none (offline), osm or tianditu")
    tianditu_key: str | None = Field(default=None, repr=False)
    max_upload_bytes: int = Field(default=2_000_000, gt=0, description="413 above this body size")
    max_route_vertices: int = Field(
        default=MAX_ROUTE_VERTICES,
        gt=1,
        description="422 for a checked route (drawn or uploaded) with more vertices",
    )
    default_limit: int = Field(default=2000, gt=0, description="features per bbox request")
    max_limit: int = Field(default=10000, gt=0)
    # Below this zoom the map pages ask for simplified geometry and skip sub-pixel features.
    detail_zoom: int = Field(default=16, ge=0, le=22)

    @model_validator(mode="after")
    def _tianditu_needs_key(self) -> WebSettings:
        if self.tiles == "tianditu" and not self.tianditu_key:
            raise ValueError("tiles = 'tianditu' needs tianditu_key (ONEMAP_TIANDITU_KEY)")
        if self.default_limit > self.max_limit:
            raise ValueError("default_limit must not exceed max_limit")
        return self


def load_settings(config: str | Path | None = None, **overrides: object) -> WebSettings:
    """Settings from a TOML file (``config`` or ``$ONEMAP_WEB_CONFIG``), the environment, overrides.

    Later sources win: file < environment < ``overrides``. Bad values raise OnemapInputError
    naming the file and the field.
    """
    data: dict[str, object] = {}
    path = config or os.environ.get(ENV_CONFIG)
    if path:
        path = Path(path)
        if not path.exists():
            raise OnemapInputError(msg("web.config_not_found"), file=str(path))
        try:
            data.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise OnemapInputError(msg("common.invalid_toml", exc=exc), file=str(path)) from exc
    for env, key in (
        (ENV_TOKEN, "api_token"),
        (ENV_TILES, "tiles"),
        (ENV_TIANDITU_KEY, "tianditu_key"),
    ):
        if os.environ.get(env):
            data[key] = os.environ[env]
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return WebSettings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise OnemapInputError(
            msg("common.invalid_value", detail=first["msg"]),
            file=str(path) if path else None,
            field=field,
        ) from exc
