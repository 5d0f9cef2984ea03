"""`onemap users add`: create a filing-desk user and print their token once (issue 15)."""

from __future__ import annotations

from pathlib import Path

import typer

from onemap.cli._app import JsonOption, app, console, emit_json, handles_errors
from onemap.errors import OnemapInputError
from onemap.messages import msg

users_app = typer.Typer(
    name="users",
    help="Users of the filing desk (备案): applicants, reviewers, admins.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")


@users_app.command("add")
@handles_errors
def add_cmd(
    name: str = typer.Argument(..., metavar="NAME", help="User name (unique in the store)."),
    role: str = typer.Option(..., "--role", help="applicant, reviewer or admin."),
    map_path: Path | None = typer.Option(
        None, "--map", help="Use the store beside this map (MAP.onemap-store.sqlite)."
    ),
    store_url: str | None = typer.Option(
        None, "--store", help="Store URL: postgresql://… or sqlite:///PATH (default $ONEMAP_STORE)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Add a user and print their token — shown this once, stored only as a hash."""
    from onemap.store import open_store
    from onemap.store.machine import check_role

    check_role(role, field="role")  # before touching any database
    if map_path is not None and store_url is not None:
        raise OnemapInputError(msg("cli.map_or_store"), field="store")
    store = open_store(map_path=map_path, url=store_url)
    try:
        user, token = store.add_user(name, role)
    finally:
        store.close()
    if json_out:
        emit_json({"name": user.name, "role": user.role, "token": token})
        return
    console.print(f"added {user.role} [bold]{user.name}[/] to {store.url}", highlight=False)
    console.print("token (shown once, keep it safe):", highlight=False)
    typer.echo(token)
