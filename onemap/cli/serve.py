"""``onemap serve``: the web app (one map, readiness, preview, filing check, capacity, API)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

from onemap.cli._app import app, console, handles_errors
from onemap.errors import OnemapInputError
from onemap.messages import msg

DEMO_MAP = Path(__file__).resolve().parents[2] / "data" / "demo.gpkg"
# Each worker process holds the whole map and its graph: more than a few buys nothing on the
# machines this serves (tuning, not policy).
MAX_AUTO_WORKERS = 4
WORKER_START_TIMEOUT_S = 120


def default_workers(pushes_enabled: bool = False, cpus: int | None = None) -> int:
    """One worker per core (at most MAX_AUTO_WORKERS). Pushes no longer matter: a pushed
    project or filing is a row in the store, which every worker reads on its next request
    (``pushes_enabled`` is kept for callers)."""
    return max(1, min(cpus if cpus is not None else (os.cpu_count() or 1), MAX_AUTO_WORKERS))


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
    workers: int | None = typer.Option(
        None,
        "--workers",
        help="Server processes, each with its own copy of the map, all sharing the store "
        f"(default: one per core, at most {MAX_AUTO_WORKERS}).",
        show_default=False,
    ),
) -> None:
    """Serve the map pages and the JSON API (启动网页服务). Ctrl-C stops it."""
    import uvicorn

    from web.app import SERVE_MAP_ENV, create_app, warm
    from web.settings import ENV_CONFIG, load_settings

    settings = load_settings(config)
    pushes = settings.api_token is not None
    n = default_workers(pushes) if workers is None else workers
    if n < 1:
        raise OnemapInputError(msg("cli.workers_below_one", n=n), field="workers")
    # One process at this point: temporaries of a writer killed mid-write (kill -9) go now.
    from onemap.geo.mapfile import remove_orphans

    for orphan in remove_orphans(map_path):
        console.print(f"removed {orphan.name}, left by an interrupted write of {map_path.name}")
    # Built here in every case: a missing or invalid map fails now, with exit code 2, not in
    # each worker.
    web_app = create_app(map_path, settings)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    console.print(
        f"一张图 onemap serving {map_path} at [bold]{url}[/] (API docs: {url}docs)"
        + (f", {n} worker processes" if n > 1 else "")
    )
    if not pushes:
        console.print(
            "POST /api/v1/projects accepts user tokens only (onemap users add): set "
            "ONEMAP_API_TOKEN for the approval platform"
        )
    # Printed on stdout too, so scripts can read the URL.
    typer.echo(url)
    if n == 1:
        warm(web_app)
        uvicorn.run(web_app, host=host, port=port, log_level="warning")
        return
    del web_app
    from web.balance import ENV_SHARES, ENV_WORKERS

    # Worker processes are spawned: they find the map and the config in the environment.
    os.environ[SERVE_MAP_ENV] = str(map_path.resolve())
    if config is not None:
        os.environ[ENV_CONFIG] = str(config.resolve())
    # The workers keep even shares of the kept-alive connections (web.balance): each publishes
    # its count in this folder, and one over its share closes a connection after a response.
    with tempfile.TemporaryDirectory(prefix="onemap-serve-") as shares:
        os.environ[ENV_SHARES], os.environ[ENV_WORKERS] = shares, str(n)
        uvicorn.run(
            "web.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=n,
            log_level="warning",
            http="web.balance:BalancedHttpToolsProtocol",
            # A worker loads the map and warms up before it serves: seconds on a city.
            timeout_worker_healthcheck=WORKER_START_TIMEOUT_S,
        )
