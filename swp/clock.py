"""Today's date and the current time. SWP_TODAY (YYYY-MM-DD) pins 'today' for demos and tests."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime


def today() -> date:
    pinned = os.environ.get("SWP_TODAY")
    if pinned:
        from swp.dates import parse_date

        return parse_date(pinned, what="SWP_TODAY date")
    return date.today()


def now() -> datetime:
    return datetime.now(UTC)
