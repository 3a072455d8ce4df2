"""Dates as people write them to swp: YYYY-MM-DD, or `today` and `yesterday`; periods by name
(a month 2026-04, a quarter 2026-Q1, a financial year 2025-26, a calendar year 2026); and the
calendar arithmetic of the practice: clear days of notice, anniversaries of service, the start
of a financial year."""

from __future__ import annotations

import re
from datetime import date

_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")  # ASCII digits only
# The days swp takes: far enough from the calendar's ends (year 1, year 9999) that a period,
# the year after it and a member's anniversaries in it can all be dated.
FIRST_YEAR, LAST_YEAR = 1900, 2999
DATE_RANGE = f"from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31"


def parse_date(text: str, *, what: str = "date", relative: bool = True) -> date:
    """YYYY-MM-DD; with `relative`, also `today` and `yesterday` (by swp's clock)."""
    from swp.errors import InputError

    raw = text.strip() if isinstance(text, str) else ""
    if relative and raw.lower() in ("today", "yesterday"):
        from datetime import timedelta

        from swp.clock import today

        return today() - timedelta(days=1 if raw.lower() == "yesterday" else 0)
    if not _ISO.match(raw):
        article = "an" if what[:1].lower() in "aeiou" else "a"
        raise InputError(f"not {article} {what}: {text!r}; dates are written YYYY-MM-DD, "
                         "e.g. 2026-04-01")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"no such {what}: {text!r} is not a day of the calendar") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InputError(f"{what} out of range: {text!r}; swp takes dates {DATE_RANGE}")
    return day


def parse_month_day(text: str) -> str:
    """A fiscal year start such as 04-01."""
    from swp.errors import InputError

    raw = text.strip()
    if not re.match(r"[0-9]{2}-[0-9]{2}\Z", raw):
        raise InputError(f"not a month and day: {text!r}; write MM-DD, e.g. 04-01")
    try:
        date.fromisoformat(f"2000-{raw}")  # 2000 is a leap year: 02-29 is a day, but see below
    except ValueError:
        raise InputError(f"no such day of the year: {text!r}") from None
    if raw == "02-29":
        raise InputError("a financial year cannot start on 29 February, a day three years in four "
                         "do not have (its year would end on 27 February in those years): "
                         "start it on 03-01")
    return raw


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def month_day_words(month_day: str) -> str:
    """'04-01' -> '1 April'."""
    month, day = (int(part) for part in month_day.split("-"))
    return f"{day} {MONTHS[month - 1]}"


def day_words(day: date) -> str:
    """2026-04-30 -> '30 April 2026'."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


PERIOD_NAMES = "a month (2026-04), a quarter (2026-Q1), a financial year (2025-26) or a year (2026)"


def period_dates(label: str, year_start: str = "04-01") -> tuple[date, date] | None:
    """The first and last day a period's name means, or None when the name is not a date:
    2026-04 (a month), 2026-Q1 (January to March), 2025-26 (the financial year starting in
    2025 on `year_start`, MM-DD), 2026 (the calendar year). A name of a year outside the
    dates swp takes is refused (InputError)."""
    import calendar
    from datetime import timedelta

    raw = (label or "").strip().upper()
    if m := re.fullmatch(r"([0-9]{4})-([0-9]{2})", raw):
        year, month = _period_year(m[1], label), int(m[2])
        if 1 <= month <= 12:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        if (year + 1) % 100 == month:  # 2025-26: a financial year
            _period_year(str(year + 1), label)
            month_, day_ = (int(part) for part in year_start.split("-"))
            first = date(year, month_, min(day_, calendar.monthrange(year, month_)[1]))
            after = date(year + 1, month_, min(day_, calendar.monthrange(year + 1, month_)[1]))
            return first, after - timedelta(days=1)
        return None
    if m := re.fullmatch(r"([0-9]{4})-Q([1-4])", raw):
        year, quarter = _period_year(m[1], label), int(m[2])
        last_month = quarter * 3
        return (date(year, last_month - 2, 1),
                date(year, last_month, calendar.monthrange(year, last_month)[1]))
    if m := re.fullmatch(r"([0-9]{4})", raw):
        year = _period_year(m[1], label)
        return date(year, 1, 1), date(year, 12, 31)
    return None


def _period_year(digits: str, label: str) -> int:
    """A period's year, refused (exit 1) outside the dates swp takes."""
    from swp.errors import InputError

    year = int(digits)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InputError(f"period {label.strip()!r} is out of range: swp takes dates {DATE_RANGE}")
    return year


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


def anniversary(since: date, years: int) -> date:
    """The `years`-th anniversary of `since`; 29 February falls on 1 March in a common year."""
    try:
        return since.replace(year=since.year + years)
    except ValueError:
        return date(since.year + years, 3, 1)


def years_completed(since: date, on: date) -> int:
    """Whole years of service completed on `on` (0 before the first anniversary)."""
    if on < since:
        return 0
    years = max(0, on.year - since.year)
    while years > 0 and anniversary(since, years) > on:
        years -= 1
    while anniversary(since, years + 1) <= on:
        years += 1
    return years


def fiscal_year_start(month_day: str, on: date) -> date:
    """The first day of the financial year (starting MM-DD) that contains `on`."""
    month, day_ = (int(x) for x in month_day.split("-"))

    def start_in(year: int) -> date:
        try:
            return date(year, month, day_)
        except ValueError:  # 02-29 in a common year
            return date(year, 3, 1)

    start = start_in(on.year)
    return start if start <= on else start_in(on.year - 1)
