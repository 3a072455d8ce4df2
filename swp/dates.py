"""ISO dates (YYYY-MM-DD) only."""

from __future__ import annotations

import re
from datetime import date

_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")  # ASCII digits only


def parse_date(text: str, *, what: str = "date") -> date:
    from swp.errors import InputError

    raw = text.strip() if isinstance(text, str) else ""
    if not _ISO.match(raw):
        raise InputError(f"not a {what}: {text!r}; dates are written YYYY-MM-DD, e.g. 2026-04-01")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"no such {what}: {text!r} is not a day of the calendar") from None


def parse_month_day(text: str) -> str:
    """A fiscal year start such as 04-01."""
    from swp.errors import InputError

    raw = text.strip()
    if not re.match(r"[0-9]{2}-[0-9]{2}\Z", raw):
        raise InputError(f"not a month and day: {text!r}; write MM-DD, e.g. 04-01")
    try:
        date.fromisoformat(f"2000-{raw}")  # 2000 is a leap year: 02-29 is allowed
    except ValueError:
        raise InputError(f"no such day of the year: {text!r}") from None
    return raw


def clear_days(given: date, event: date) -> int:
    """Clear days between a notice given on `given` and an event on `event`: the days between
    them, neither the day of notice nor the day of the event counted (notice on the 1st for a
    meeting on the 16th is 14 clear days)."""
    return (event - given).days - 1


def earliest_after_notice(given: date, clear: int) -> date:
    """The first day an event may fall on after notice given on `given` with `clear` clear
    days between them."""
    from datetime import timedelta

    return given + timedelta(days=clear + 1)
