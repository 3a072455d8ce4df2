"""Profit-share statements: one data object (statement.Statement) and one writer per format.

Each writer module has `render(statement)` and `render_many(statements)`; text formats return
str, PDF returns bytes. `swp.files` writes them atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import Any

FORMATS = ("text", "md", "html", "pdf", "csv", "json")
EXTENSIONS = {"text": "txt", "md": "md", "html": "html", "pdf": "pdf", "csv": "csv", "json": "json"}
_MODULES = {"text": "text", "md": "markdown", "html": "html", "pdf": "pdf", "csv": "csv_writer",
            "json": "json_writer"}


def writer(fmt: str) -> Any:
    return import_module(f"swp.reports.{_MODULES[fmt]}")


def render(statements: Sequence[Any], fmt: str, *, one: bool) -> str | bytes:
    """One member's statement (`one`) as its own document, or several in one document."""
    module = writer(fmt)
    return module.render(statements[0]) if one else module.render_many(statements)
