"""One command, one unit of work: the service runs, its audit event is appended, all commit
together. A guard refusal rolls everything back, then records the refusal alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from swp.db import open_database
from swp.errors import RuleViolation, SwpError
from swp.services import audit

T = TypeVar("T")


def perform(db: str | None, fn: Callable[[Any], T], *, write: bool, command: str,
            args: dict[str, Any], actor: str | None) -> T:
    """Run fn(session) on the practice at `db` in one transaction."""
    database = open_database(db)
    try:
        if not write:
            return database.run(fn, write=False)

        def body(session):
            result = fn(session)
            audit.append(session, command=command, args=args, actor=actor)
            return result

        try:
            return database.run(body, write=True)
        except RuleViolation as refusal:
            record_refusal(database, command=command, args=args, actor=actor, refusal=refusal)
            raise
    finally:
        database.dispose()


def record_refusal(database, *, command: str, args: dict[str, Any], actor: str | None,
                   refusal: RuleViolation) -> None:
    def write(session):
        audit.append(session, command=command, args=args, actor=actor, outcome="refused",
                     detail=refusal.message)

    try:
        database.run(write, write=True)
    except SwpError:
        pass  # the refusal stands even if it cannot be logged (a read-only file, say)
