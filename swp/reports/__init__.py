"""Profit-share statements: one data object (statement.Statement) and one writer per format.

Each writer module has `render(statement)` and `render_many(statements)`; text formats return
str, PDF returns bytes. `write_statements` chooses the files (one per member, or one) and
`swp.files` writes them atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from swp.reports.statement import Statement

FORMATS = ("text", "md", "html", "pdf", "csv", "json")
EXTENSIONS = {"text": "txt", "md": "md", "html": "html", "pdf": "pdf", "csv": "csv", "json": "json"}
_MODULES = {"text": "text", "md": "markdown", "html": "html", "pdf": "pdf", "csv": "csv_writer",
            "json": "json_writer"}


def writer(fmt: str) -> Any:
    return import_module(f"swp.reports.{_MODULES[fmt]}")


def render(statements: Sequence[Statement], fmt: str, *, one: bool) -> str | bytes:
    """One member's statement (`one`) as its own document, or several in one document."""
    module = writer(fmt)
    document: str | bytes = module.render(statements[0]) if one else module.render_many(statements)
    return document


def write_statements(statements: Sequence[Statement], fmt: str, output: str, *, label: str, one: bool,
                     force: bool = False) -> list[str]:
    """Write the statements of period `label` to `output` in format `fmt`; the paths written.

    One member's statement (`one`) is one file. Several go one file per member, named
    LABEL-HANDLE.EXT, into a folder (an existing one, a path ending in '/', or a path with no
    extension, made if missing), or all into one file at any other path. A folder given for
    one file gets it under its default name. Nothing is written if any target exists, unless
    `force`."""
    from pathlib import Path

    from swp import files
    from swp.errors import InputError

    ext = EXTENSIONS[fmt]
    path = Path(output).expanduser()
    per_member = not one and (path.is_dir() or output.endswith(("/", "\\")) or
                              (not path.exists() and path.suffix == ""))

    def encoded(data: str | bytes) -> bytes:
        return data if isinstance(data, bytes) else data.encode("utf-8")

    if per_member:
        if path.exists() and not path.is_dir():
            raise InputError(f"{path} is a file; give a folder for one statement per member")
        targets = [files.inside(path, f"{label}-{s.member}.{ext}") for s in statements]
        chosen = [(target, encoded(render([each], fmt, one=True)))
                  for target, each in zip(targets, statements, strict=True)]
        files.make_folder(path)
    else:
        default = f"{label}-{statements[0].member}.{ext}" if one else f"{label}-statements.{ext}"
        target = files.inside(path, default) if path.is_dir() else path
        chosen = [(target, encoded(render(statements, fmt, one=one)))]
    files.write_many(chosen, force=force)
    return [str(target) for target, _ in chosen]
