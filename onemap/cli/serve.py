"""``onemap serve``: the web app (one map, readiness, preview, filing check, capacity, API)."""

from __future__ import annotations

from pathlib import Path

import typer

from onemap.cli._app import app, console, handles_errors

DEMO_MAP = Path(__file__).resolve().parents[2] / "data" / "demo.gpkg"


@app.command()
@handles_errors
def serve(
    map_path: Path = typer.Argument(
        DEMO_MAP, metavar="[MAP]", help="The one map (default: data/demo.gpkg).", show_default=False
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    config: Path | None = typer.Option(
        None, "--config", help="Web config TOML (api_token, tiles, tianditu_key, limits)."
    ),
) -> None:
    """Serve the map pages and the JSON API (启动网页服务). Ctrl-C stops it."""
    import uvicorn

    from web.app import create_app
    from web.settings import load_settings

    settings = load_settings(config)
    web_app = create_app(map_path, settings)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    console.print(f"一张图 onemap serving {map_path} at [bold]{url}[/] (API docs: {url}docs)")
    if settings.api_token is None:
        console.print("POST /api/v1/projects is disabled: set ONEMAP_API_TOKEN to accept pushes")
    # Printed on stdout too, so scripts can read the URL.
    typer.echo(url)
    uvicorn.run(web_app, host=host, port=port, log_level="warning")
