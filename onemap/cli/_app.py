"""The shared Typer app, output helpers and the error-to-exit-code policy."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from onemap.errors import OnemapInputError
from onemap.lang import DEFAULT_LANG, LANGS, Lang, pick
from onemap.messages import msg

app = typer.Typer(
    name="onemap",
    help="onemap — 一张图: land use, grid and road corridors on one map (开门接电).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1

JsonOption = typer.Option(False, "--json", help="Print one JSON object on stdout.")
# The language of messages and errors: a command's --lang, else $ONEMAP_LANG, else Chinese.
ENV_LANG = "ONEMAP_LANG"

LangOption = typer.Option(DEFAULT_LANG, "--lang", envvar=ENV_LANG, help="zh or en.")


def error_lang(value: object = None) -> Lang:
    """The language of an error message: ``value`` (a command's --lang), else $ONEMAP_LANG,
    else Chinese; an unknown value falls through to the next."""
    for candidate in (value, os.environ.get(ENV_LANG, "").strip()):
        if candidate in LANGS:
            return candidate  # type: ignore[return-value]
    return DEFAULT_LANG


def emit_json(payload: Any) -> None:
    """Print one JSON object on stdout (UTF-8, Chinese kept readable)."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")


def handles_errors(func: Callable) -> Callable:
    """Map OnemapInputError to exit 2 and anything unexpected to exit 1, message on stderr.

    The message is in the command's language (its ``--lang``, else $ONEMAP_LANG, else Chinese).
    """

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except OnemapInputError as exc:
            lang = error_lang(kwargs.get("lang"))
            label = pick(lang, "错误：", "error:")
            console.print(
                f"[bold red]{label}[/] {escape(exc.text(lang))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(EXIT_BAD_INPUT) from exc
        except typer.Exit:
            raise
        except Exception as exc:
            console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}",
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_INTERNAL) from exc

    return wrapper


def progress_bar(label: str, json_out: bool) -> Progress:
    """A transient progress bar on stderr for long work; hidden under --json when not a tty."""
    return Progress(
        TextColumn(f"[bold]{label}[/] {{task.description}}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=json_out and not console.is_terminal,
    )


def parse_lonlat(text: str, field: str) -> tuple[float, float]:
    """Parse 'LON,LAT' into floats; OnemapInputError naming the option otherwise."""
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        raise OnemapInputError(msg("cli.expected_lonlat", text=text), field=field) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise OnemapInputError(msg("cli.not_lonlat", text=text), field=field)
    return lon, lat


def main() -> None:
    """Console-script entry point."""
    app()
