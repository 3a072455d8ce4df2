"""Today's date and the current time. SWP_TODAY (YYYY-MM-DD) pins 'today' for demos and tests;
the current time then follows it too (noon UTC of that day), so that everything recorded on a
pinned day (a period's close time, the audit log, statements, fingerprints) is the same on every
run."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time

PINNED_TIME = time(12, 0, tzinfo=UTC)  # the time of day of every moment on a pinned day


def today() -> date:
    pinned = os.environ.get("SWP_TODAY")
    if pinned:
        from swp.dates import parse_date

        return parse_date(pinned, what="SWP_TODAY date", relative=False)
    return date.today()


def now() -> datetime:
    if os.environ.get("SWP_TODAY"):
        return datetime.combine(today(), PINNED_TIME)
    return datetime.now(UTC)
