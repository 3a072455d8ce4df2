"""Today's date and the current time. SWP_TODAY (YYYY-MM-DD) pins 'today' for demos and tests;
the current time then follows it too (noon UTC of that day), so that everything recorded on a
pinned day (a period's close time, the audit log, statements, fingerprints) is the same on every
run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time

PINNED_TIME = time(12, 0, tzinfo=UTC)  # the time of day of every moment on a pinned day

# (now, today) held for one change: a change confirmed with a passkey on the members' page is
# made again, at its confirmation, exactly as it was shown (swp.services.uow.perform)
_HELD: ContextVar[tuple[datetime, date] | None] = ContextVar("swp_clock_held", default=None)


@contextmanager
def held(moment: datetime, day: date) -> Iterator[None]:
    """now() is `moment` and today() is `day` inside the block (this thread's context only)."""
    token = _HELD.set((moment, day))
    try:
        yield
    finally:
        _HELD.reset(token)


def today() -> date:
    fixed = _HELD.get()
    if fixed is not None:
        return fixed[1]
    pinned = os.environ.get("SWP_TODAY")
    if pinned:
        from swp.dates import parse_date

        return parse_date(pinned, what="SWP_TODAY date", relative=False)
    return date.today()


def now() -> datetime:
    fixed = _HELD.get()
    if fixed is not None:
        return fixed[0]
    if os.environ.get("SWP_TODAY"):
        return datetime.combine(today(), PINNED_TIME)
    return datetime.now(UTC)
