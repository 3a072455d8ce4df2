"""The one place results become output: Rich tables for people, one JSON object for machines,
and one line on stderr for errors. Only the CLI calls this module."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "as_json"):
        return value.as_json()
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def to_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, default=_default, ensure_ascii=False, indent=2)


def console(stderr: bool = False):
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Off a terminal (a pipe, a file, a test) use a width that keeps rows on one line.
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 120
    return Console(file=stream, highlight=False, soft_wrap=False, width=width)


def emit(json_mode: bool, payload: dict[str, Any], human: Callable[[], Any] | None = None) -> None:
    """Print a result: the JSON object, or what `human()` returns (a renderable or text)."""
    if json_mode:
        sys.stdout.write(to_json(payload) + "\n")
        return
    if human is None:
        return
    out = human()
    if out is None:
        return
    if isinstance(out, str):
        sys.stdout.write(out + ("\n" if not out.endswith("\n") else ""))
        return
    console().print(out)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]],
          *, right: Iterable[str] = ()) -> Any:
    from rich.table import Table

    right = set(right)
    grid = Table(title=title, title_justify="left", show_lines=False)
    for name in columns:
        grid.add_column(name, justify="right" if name in right else "left")
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    return grid


def pairs(title: str | None, items: Iterable[tuple[str, Any]]) -> Any:
    """A two-column key/value panel."""
    from rich.table import Table

    grid = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in items:
        grid.add_row(key, "" if value is None else str(value))
    return grid


def error(message: str, *, exit_code: int, clause: str | None, json_mode: bool,
          payload: dict[str, Any] | None = None) -> None:
    """One line on stderr; with --json also the error object (and any result) on stdout."""
    if json_mode:
        body = dict(payload or {})
        body["error"] = {"code": exit_code, "message": message, "clause": clause}
        sys.stdout.write(to_json(body) + "\n")
    sys.stderr.write(f"swp: {message}\n")
