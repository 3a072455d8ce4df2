"""The hash-chained audit log (SPEC section 7).

Each event's hash is sha256 over the previous hash and a canonical JSON of the event (sorted
keys, no floats, no spaces). `verify` recomputes the chain and names the first bad link.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from swp.clock import now
from swp.models import AuditEvent

GENESIS = "0" * 64


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float):  # never hash floats: their text is not canonical
        return str(value)
    return value


def canonical(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def os_user() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        name = "?"
    uid = os.getuid() if hasattr(os, "getuid") else -1
    return f"{name}:{uid}"


def event_hash(event: dict[str, Any]) -> str:
    body = {k: event[k] for k in
            ("seq", "at", "actor", "os_user", "command", "args", "outcome", "detail", "prev_hash")}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def head(session) -> tuple[int, str]:
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def append(session, *, command: str, args: dict[str, Any], actor: str | None,
           outcome: str = "ok", detail: str | None = None) -> AuditEvent:
    """Append one event, chained to the last. Call inside the command's own transaction."""
    from swp.db import lock_for_append

    lock_for_append(session, "audit_event")
    last_seq, last_hash = head(session)
    event = {
        "seq": last_seq + 1,
        "at": now().isoformat(timespec="microseconds"),
        "actor": actor,
        "os_user": os_user(),
        "command": command,
        "args": canonical(args),
        "outcome": outcome,
        "detail": detail,
        "prev_hash": last_hash,
    }
    row = AuditEvent(**event, hash=event_hash(event))
    session.add(row)
    session.flush()
    return row


def act(session, action: str, payload: dict[str, Any] | None = None) -> None:
    """Name the domain action this unit of work performs (`member.admitted`, `vote.cast`, ...)
    with its canonical payload. Services call it where they write; the unit of work's one
    audit event carries every action named in it."""
    session.info.setdefault("swp_acts", []).append((action, dict(payload or {})))


def acts(session) -> list[tuple[str, dict[str, Any]]]:
    """The domain actions named so far in this unit of work, in order."""
    return list(session.info.get("swp_acts", []))


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int
    first_bad: int | None
    reason: str | None = None


def verify(session) -> Verification:
    """Recompute every link; stream the log so memory stays flat."""
    previous = GENESIS
    expected_seq = 1
    count = 0
    columns = [AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.os_user,
               AuditEvent.command, AuditEvent.args, AuditEvent.outcome, AuditEvent.detail,
               AuditEvent.prev_hash, AuditEvent.hash]
    result = session.execute(select(*columns).order_by(AuditEvent.seq))
    for row in result:
        event = dict(row._mapping)
        count += 1
        if event["seq"] != expected_seq:
            return Verification(False, count, event["seq"], f"event {expected_seq} is missing")
        if event["prev_hash"] != previous:
            return Verification(False, count, event["seq"], "its link to the previous event is broken")
        if event_hash(event) != event["hash"]:
            return Verification(False, count, event["seq"], "its content does not match its hash")
        previous = event["hash"]
        expected_seq += 1
    return Verification(True, count, None)


def events(session, *, limit: int | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if limit:
        query = query.limit(limit)
    rows = list(session.execute(query).scalars())
    rows.reverse()
    return rows


def count(session) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
