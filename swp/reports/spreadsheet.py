"""The one rule for text in every CSV file swp writes (statements, registers, minutes, the
payroll file, the ledger export): a cell a spreadsheet would run as a formula is neutralised."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """A text cell: one starting (after any spaces) with =, +, -, @, a tab or a carriage
    return gets a leading single quote, so a spreadsheet shows it rather than runs it. None is
    an empty cell. Amounts are written as plain numbers, never through this."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.lstrip(" ").startswith(FORMULA_START) else text
