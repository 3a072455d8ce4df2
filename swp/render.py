"""The one place results become output: Rich tables for people, one JSON object for machines,
and one line on stderr for errors. Only the CLI calls this module."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

from swp.jsonable import jsonable


def to_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, default=jsonable, ensure_ascii=False, indent=2)


def console(stderr: bool = False) -> Console:
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Off a terminal (a pipe, a file, a test) use a width that keeps rows on one line.
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 120
    # What swp prints is the practice's own text (names, memos, titles), never Rich markup:
    # "Ann [/]" or "see :warning:" print as written (markup made the first an error and the
    # second an emoji)
    return Console(file=stream, highlight=False, soft_wrap=False, width=width, markup=False,
                   emoji=False)


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
    # never crop: a table wider than the terminal wraps on screen rather than lose a column
    console().print(out, crop=False)


PROSE_MIN = 10  # a column of names or memos is never squeezed narrower than this


def _whole(cell: str) -> bool:
    """A cell that must never be cut or broken: an amount, a date, a number, a handle, a
    label, a category (one word, however long the line)."""
    return " " not in cell.strip()


def _least_width(columns: Sequence[str], cells: list[list[str]]) -> int:
    total = len(columns) - 1  # the one space dividing the columns
    for index, name in enumerate(columns):
        values = [row[index] for row in cells]
        word = max((len(part) for part in name.split()), default=0)
        if all(_whole(value) for value in values):
            total += max(word, max((len(value) for value in values), default=0))
        else:
            longest_word = max((len(part) for value in values for part in value.split()),
                               default=0)
            total += max(word, min(longest_word, PROSE_MIN))
    return total


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]],
          *, right: Iterable[str] = ()) -> Any:
    """A table that fits a narrow terminal without cutting anything that matters: columns of
    single words (amounts, dates, handles, labels, categories) are never wrapped or shortened;
    columns of prose (names, memos, titles) wrap at spaces, and a header wraps onto two lines
    rather than widen its column."""
    from rich import box
    from rich.table import Table

    right = set(right)
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if cells and _least_width(columns, cells) > console().width:
        # too wide: leave out the columns with nothing in them
        keep = [i for i in range(len(columns)) if any(row[i] for row in cells)]
        columns = [columns[i] for i in keep]
        cells = [[row[i] for i in keep] for row in cells]
    grid = Table(title=title, title_justify="left", show_lines=False, box=box.SIMPLE_HEAD,
                 show_edge=False, padding=(0, 0))
    for index, name in enumerate(columns):
        values = [row[index] for row in cells if index < len(row)]
        whole = all(_whole(value) for value in values)
        longest = max((len(value) for value in values), default=0)
        word = max((len(part) for part in name.split()), default=0)
        header = name.replace(" ", "\n") if whole and len(name) > longest else name
        longest_word = max((len(part) for value in values for part in value.split()), default=0)
        least = max(longest, word) if whole else max(word, min(longest_word, PROSE_MIN))
        grid.add_column(header, justify="right" if name in right else "left",
                        no_wrap=whole, min_width=least, overflow="fold")
    for row in cells:
        grid.add_row(*row)
    least_total = _least_width(columns, cells)
    if least_total > console().width:
        # too wide for the terminal even at its narrowest: print it whole (the terminal wraps
        # the lines) rather than let a column be squeezed away
        grid.width = least_total
    return grid


def count(n: int, word: str, plural: str | None = None) -> str:
    """'1 row', '2 rows': a number with its noun, in the right number."""
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


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
