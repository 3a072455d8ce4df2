"""The one rule for text in every CSV file swp writes (statements, registers, minutes, the
payroll file, the ledger export): a cell a spreadsheet would run as a formula is neutralised,
and a line break inside a cell stays inside it."""

from __future__ import annotations

import csv
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: object) -> str:
    """A text cell: one starting (after any spaces) with =, +, -, @, a tab or a line break
    gets a leading single quote, so a spreadsheet shows it rather than runs it. A carriage
    return is written as a line break ("\\n"), which `writer` quotes: left as it was, it was
    not quoted, and a spreadsheet started a new row there, whose first cell could be a formula.
    None is an empty cell. Amounts are written as plain numbers, never through this."""
    if value is None:
        return ""
    text = str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if text.lstrip(" ").startswith(FORMULA_START) else text


def writer(out: IO[str]) -> Any:  # the csv module's writer, which it does not name as a type
    """The CSV writer of every file swp writes: lines end with "\\n", and a cell holding a line
    break, a comma or a double quote is quoted."""
    return csv.writer(out, lineterminator="\n")
