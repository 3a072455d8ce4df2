"""The hash-chained, signed audit log (docs/identity.md).

Each event's hash is sha256 over the previous hash and a canonical JSON of the event (sorted
keys, no floats, no spaces): who acted, the domain actions and their payload, the real clock,
the database role and the signing key's fingerprint. The signature is the acting member's
Ed25519 signature over that hash (which holds the previous event's hash). `verify` recomputes
the chain, checks every signature against the key the member had enrolled at that moment
(replayed from the enrolment events themselves), and names the first bad event. Events written
before signing existed (no real clock) are reported as unsigned history.
"""

from __future__ import annotations

import getpass
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import col

from swp.clock import now
from swp.identity import PASSKEY_FINGERPRINT
from swp.models import AuditEvent, Pence, table_of

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Table
    from sqlalchemy.orm import Session
    from sqlmodel import SQLModel

    from swp.identity import Signer

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


# one encoder, made once (json.dumps with these options makes a new one at every call)
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_SIMPLE = frozenset({str, int, type(None)})  # values `_plain` leaves as they are


def canonical(value: Any) -> str:
    return _ENCODE(_plain(value))


def os_user() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        name = "?"
    uid = os.getuid() if hasattr(os, "getuid") else -1
    return f"{name}:{uid}"


LEGACY_FIELDS = ("seq", "at", "actor", "os_user", "command", "args", "outcome", "detail", "prev_hash")
SIGNED_FIELDS = (*LEGACY_FIELDS, "action", "payload", "key_fingerprint", "real_at", "db_role")
# the actions that enrol or revoke a member's key, replayed by `verify`
PASSKEY_ENROLLED = "passkey.enrolled"  # a member's passkey (the members' page)
INVITED = "member.invited"  # ... on the invitation a manager made
ENROLLING = ("member.admitted", "key.enrolled", "key.rotated", "key.reenrolled")
REVOKING = ("member.left",)


def event_hash(event: dict[str, Any]) -> str:
    fields = LEGACY_FIELDS if event.get("real_at") is None else SIGNED_FIELDS
    return _hash_of({k: event.get(k) for k in fields})


def _hash_of(body: dict[str, Any]) -> str:
    # an event read back holds only text, numbers and nulls, which `_plain` would not change
    text = _ENCODE(body) if _SIMPLE.issuperset(map(type, body.values())) else canonical(body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def real_now() -> str:
    """The machine's real clock, whatever SWP_TODAY says."""
    from datetime import UTC

    return datetime.now(UTC).isoformat(timespec="microseconds")


def db_role(session: Session) -> str | None:
    """PostgreSQL's session_user (who logged in); None on SQLite."""
    from swp.db import login_role

    return login_role(session.connection())


def manager_ever(session: Session) -> bool:
    """Has the practice ever had a manager? Until then (founding) a change made without --as
    is recorded unsigned, as anyone may act; from then on every change is signed."""
    from swp.models import MemberFact

    return session.execute(select(col(MemberFact.id)).where(col(MemberFact.role) == "manager")
                           .limit(1)).first() is not None


def head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(col(AuditEvent.seq), col(AuditEvent.hash)).order_by(col(AuditEvent.seq).desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def last_signed_by(session: Session, actor: str) -> int:
    """The seq of the latest event signed for `actor` (by a key file or a passkey; 0: none)."""
    row = session.execute(select(col(AuditEvent.seq)).where(
        col(AuditEvent.actor) == actor, col(AuditEvent.signature).is_not(None))
        .order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    return int(row[0]) if row else 0


@dataclass
class PasskeySeal:
    """A change signed by a member's passkey (the members' page). A preview (`signature`
    None): the change is made and its event computed, then `Previewed` carries the event out
    and the transaction rolls back (a refusal shows before the member is asked for their
    passkey). A confirmation: `signature` is the passkey's assertion over what the member
    asked for (swp.identity.passkey_signature, with its intent), already checked."""

    signature: str | None = None


class Previewed(Exception):  # noqa: N818 (internal: carries a previewed event out of its transaction)
    def __init__(self, event: dict[str, Any], digest: str) -> None:
        super().__init__(digest)
        self.event, self.digest = event, digest


def append(session: Session, *, command: str, args: dict[str, Any], actor: str | None,
           outcome: str = "ok", detail: str | None = None, signer: Signer | None = None,
           unsigned_reason: Exception | None = None, passkey: PasskeySeal | None = None,
           before_keys: bool = False) -> AuditEvent:
    """Append one event, chained to the last, signed by `signer` (a swp.identity.Signer), or
    by a member's passkey (`passkey`, a change from the members' page).
    Call inside the command's own transaction. A change (not a refusal) without a signer is
    refused once anything has been signed: `unsigned_reason` (the key that could not be
    loaded) is raised then, so the service's own refusals come first. `before_keys`: the
    upgrade of a practice whose schema held no keys yet, which nobody can sign (it is the
    upgrade that brings the keys)."""
    from swp.db import lock_for_append
    from swp.errors import InputError, PreconditionError

    lock_for_append(session, "audit_event")
    if outcome != "ok":
        passkey = None  # a refusal changes nothing: recorded unsigned, like the CLI's without a key
    if signer is None and outcome == "ok" and passkey is None:
        if unsigned_reason is not None:
            raise unsigned_reason
        if manager_ever(session) and not before_keys:
            raise InputError("this change must be signed: name the acting member with --as HANDLE")
    last_seq, last_hash, last_at, last_real = _head_with_time(session)
    named = acts(session)
    if outcome == "ok":
        rows = written_rows(session)
        ranges = bulk_ranges(session)
        if rows or ranges:
            named.append((ROWS_ACTION, {"rows": rows, **({"ranges": ranges} if ranges else {})}))
    event: dict[str, Any] = {
        "seq": last_seq + 1,
        "at": now().isoformat(timespec="microseconds"),
        "actor": actor,
        "os_user": os_user(),
        "command": command,
        "args": canonical(args),
        "outcome": outcome,
        "detail": detail,
        "prev_hash": last_hash,
        "action": named[0][0] if named else None,
        "payload": canonical([[name, payload] for name, payload in named]) if named else None,
        "key_fingerprint": signer.fingerprint if signer is not None else None,
        "real_at": real_now(),
        "db_role": db_role(session),
    }
    rehearsal = bool(os.environ.get("SWP_TODAY")) and _sandbox(session)
    if rehearsal:  # a sandbox's real clock is pinned too (uow refuses SWP_TODAY elsewhere), so
        event["real_at"] = event["at"]  # the same commands on the same days give the same events
    if last_real is not None and event["real_at"] < last_real and (rehearsal or _sandbox(session)):
        event["real_at"] = last_real  # a sandbox's real clock stays where it was, never going back
    if passkey is not None:
        event["key_fingerprint"] = PASSKEY_FINGERPRINT
    if last_real is not None and event["real_at"][:10] < last_real[:10]:
        raise PreconditionError(f"the machine's clock ({event['real_at'][:10]}) is before the last "
                                f"event's ({last_real[:10]}); check the machine's clock")
    if last_at is not None and event["at"][:10] < last_at[:10] and not _sandbox(session):
        raise PreconditionError(f"the date of this act ({event['at'][:10]}) is before the last "
                                f"event's ({last_at[:10]}); check the machine's clock")
    digest = event_hash(event)
    signature = signer.sign(digest) if signer is not None else None
    if passkey is not None:
        if passkey.signature is None:
            raise Previewed(event, digest)
        signature = passkey.signature
    row = AuditEvent(**event, hash=digest, signature=signature)
    session.add(row)
    session.flush()
    return row


ROWS_ACTION = "rows.written"  # what a unit of work wrote, row by row, as it stands at the end
# the tables whose rows record acts: `swp check` proves each comes from a signed event
RECORDED_TABLES = ("practice", "clause", "member", "member_fact", "proposal", "vote", "period",
                   "allocation", "ledger_entry", "contract", "partner", "shared_cost", "loan",
                   "meeting", "meeting_item", "attendance", "filing", "balance_assertion",
                   "profit_payment", "deficit_settlement", "bank_link", "passkey_assertion")


def row_values(obj: SQLModel) -> dict[str, Any]:
    """A row's columns as canonical JSON values (what an event records, and check compares)."""
    table = table_of(obj)
    return plain_values(table, [getattr(obj, c.key if hasattr(c, "key") else c.name) for c in table.columns])


def as_stored(table: Table) -> list[ColumnElement[Any]]:
    """The table's columns, to read its rows as `swp check` compares them: an amount and a date
    as they are stored, not through the types that read them for swp's work, which take
    more than swp ever writes. On SQLite `Pence` makes a whole number of whatever it reads (an
    amount written around swp as 500.4 would read as 500), and a date is text that Python
    also reads from other forms ('2026-W14-2' is 2026-03-31, but sorts after every '2026-0..'
    date, so an entry so written drops out of every range ending that day): either would
    read the same as its event's. What swp writes is read the same either way."""
    from sqlalchemy import BigInteger, String, type_coerce

    return [type_coerce(c, BigInteger if isinstance(c.type, Pence) else String).label(c.name)
            if _compared_as_stored(c) else c for c in table.columns]


def _compared_as_stored(column: Any) -> bool:
    """An amount or a date: read as stored by `swp check` (`as_stored`) and the range digest."""
    from sqlalchemy import Date

    return isinstance(column.type, (Pence, Date))


def plain_values(table: Table, values: Sequence[Any]) -> dict[str, Any]:
    """A row's values, in the order of the table's columns (an object's, or a row as read),
    as `row_values` gives them."""
    return {c.name: v if type(v) in _SIMPLE else _plain(v) for c, v in zip(table.columns, values, strict=True)}


def row_key(obj: SQLModel) -> str:
    return canonical([getattr(obj, c.name) for c in table_of(obj).primary_key.columns])


def track_rows(session: Session) -> None:
    """Collect every row of a recorded table the unit of work inserts or changes."""
    from sqlalchemy import event

    written: dict[tuple[str, int], SQLModel] = session.info.setdefault("swp_rows", {})

    @event.listens_for(session, "before_flush")
    def _collect(sess: Session, _ctx: object, _instances: object) -> None:
        for obj in list(sess.new) + list(sess.dirty):
            table = getattr(obj, "__tablename__", None)
            if table in RECORDED_TABLES:
                written[(table, id(obj))] = obj


def written_rows(session: Session) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for (table, _), obj in session.info.get("swp_rows", {}).items():
        rows.append({"table": table, "key": row_key(obj), "values": row_values(obj)})
    rows.sort(key=lambda r: (r["table"], r["key"]))
    return rows


def bulk_insert(session: Session, table: Table, rows: list[Any], *, columns: tuple[str, ...] | None = None) -> None:
    """Insert many rows of a recorded table with one executemany (an import). The unit of
    work's event then records them as a range (first and last id, count, and a digest of their
    values) rather than row by row, so a 100,000-row import stays one small event.

    `rows` are dicts of column values; or, with `columns`, tuples of those columns' values in
    the driver's own form (see `driver_binders`), handed to the driver's executemany without
    SQLAlchemy binding each row. On SQLite those tuples are also digested as they are handed
    over (see `Stream`): the rows must not be changed later in the same unit of work."""
    from sqlalchemy import insert

    if not rows:
        return
    before = _note_bulk(session, table)
    sql = _driver_insert(session, table, columns) if columns else None
    if sql is None:
        if columns:
            rows = [dict(zip(columns, row, strict=True)) for row in rows]
        session.execute(insert(table), rows)
        session.info.setdefault("swp_streams", {})[table.name] = None  # read back at the end
        return
    assert columns is not None
    streams: dict[str, Stream | _Counted | None] = session.info.setdefault("swp_streams", {})
    if table.name not in streams:
        streams[table.name] = Stream.make(session, table, columns, before)
    stream = streams[table.name]
    if stream is not None and stream.columns != columns:
        stream = streams[table.name] = None
    session.connection().exec_driver_sql(sql, rows)
    if stream is not None:
        stream.add(rows)


def _note_bulk(session: Session, table: Table) -> int:
    """The table's highest id before this unit of work's first bulk insert into it (noted then)."""
    before = session.info.setdefault("swp_bulk", {})
    session.info.setdefault("swp_bulk_tables", {})[table.name] = table
    if table.name not in before:
        before[table.name] = session.execute(select(func.max(table.c.id))).scalar() or 0
    return int(before[table.name])


def bulk_first_id(session: Session, table: Table) -> int | None:
    """The lowest id a row this unit of work bulk-inserted into `table` can have: every row
    below it was in the table before its first bulk insert (`bulk_insert`). None: no bulk
    insert into it yet."""
    before = session.info.get("swp_bulk", {}).get(table.name)
    return None if before is None else int(before) + 1


def stream_elsewhere(session: Session, table: Table, columns: tuple[str, ...]) -> Stream | None:
    """The digest of the rows `bulk_insert(session, table, rows, columns=columns)` is about to
    insert, for another process to make (an import read ahead: the process that reads and
    checks the rows digests each batch as it sends it, `Stream.add`). Here `bulk_insert` then
    only counts them; `streamed_elsewhere` hands back what the other process made, and
    `bulk_ranges` takes it if as many rows went in as it digested, or else reads the range back.
    Whoever inserts the rows must insert every row digested, in order, and nothing else, or
    else call `not_streamed`. None: nothing to digest elsewhere (PostgreSQL, where the range
    is read back; or rows already inserted into the table in this unit of work)."""
    streams: dict[str, Stream | _Counted | None] = session.info.setdefault("swp_streams", {})
    if table.name in streams or _driver_insert(session, table, columns) is None:
        return None
    stream = Stream.make(session, table, columns, _note_bulk(session, table))
    streams[table.name] = _Counted(stream) if stream is not None else None
    return stream


def streamed_elsewhere(session: Session, table: Table, result: tuple[int, str] | None) -> None:
    """What the other process's `Stream` of `stream_elsewhere` made: (count, digest)."""
    counted = session.info.get("swp_streams", {}).get(table.name)
    if isinstance(counted, _Counted):
        counted.elsewhere = result


def stream_here(session: Session, table: Table) -> None:
    """No other process after all: `bulk_insert` digests the rows as it inserts them."""
    session.info.get("swp_streams", {}).pop(table.name, None)


def not_streamed(session: Session, table: Table) -> None:
    """The rows inserted are not exactly those digested: read the range back at the end."""
    session.info.setdefault("swp_streams", {})[table.name] = None


class _Counted:
    """Stands in for a `Stream` made in another process (`stream_elsewhere`): counts the rows
    inserted here; its result is the other process's, if that digested as many rows."""

    def __init__(self, stream: Stream) -> None:
        self.columns = stream.columns
        self.first = stream.first
        self.count = 0
        self.elsewhere: tuple[int, str] | None = None

    def add(self, rows: list[Any]) -> None:
        self.count += len(rows)

    def result(self, last: int) -> tuple[int, str] | None:
        if self.elsewhere is None or self.elsewhere[0] != self.count or last != self.first - 1 + self.count:
            return None
        return self.elsewhere


class Stream:
    """The digest `range_digest` would compute, computed from the very values handed to the
    driver as an import inserts them, instead of reading every row back.

    Only on SQLite, where what is stored is what is bound: the import binds each value as
    SQLAlchemy binds it (text for dates and times, which never look like numbers, so no
    column's type affinity converts them; integers, text and NULL as they are), a column it
    does not bind has no default and so is NULL, and SQLite's triggers cannot change a row.
    A date or time is made canonical by SQLAlchemy's own result processor applied to the bound
    value (as a read would apply it to the stored one).

    The ids are not bound: SQLite gives each new row an id above every id in the table. So if,
    at the end, the table's highest id is exactly `first - 1 + count`, the streamed rows took
    the ids first..last one by one in the order they were inserted, and no other row is in the
    range: the digest is the range's. Otherwise (another row in between, an id sequence ahead
    of the table) `bulk_ranges` reads the range back as before."""

    def __init__(self, table: Table, columns: tuple[str, ...], first: int,
                 plan: list[int | _Converted | None], literals: list[str],
                 encode: Callable[[Any], str]) -> None:
        self.table = table
        self.columns = columns
        self.first = first
        self.count = 0
        self.digest = hashlib.sha256()
        self._plan = plan
        self._literals = literals  # the text around the values: one more than the plan's steps
        self._encode = encode
        # per position, the text of each text value met so far (a category, a kind, an
        # account): a dict lookup rather than encoding it again; None for a column whose
        # values seldom repeat (a ref, a memo) or are not all text
        self._texts: dict[int, dict[Any, str] | None] = {}

    @classmethod
    def make(cls, session: Session, table: Table, columns: tuple[str, ...], before: int) -> Stream | None:
        from swp.db import stores_as_bound

        if not stores_as_bound(session):
            return None  # the server may store a value differently from how it was bound: read back
        dialect = session.get_bind().dialect
        encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
        # in key order, each column's text: None for the id, a position in the row for a
        # value, a _Converted for a value SQLAlchemy converts on reading
        plan: list[int | _Converted | None] = []
        # a row's canonical JSON and its line end: literals[0] + value 0 + literals[1] + ...
        # + literals[-1], one more literal than values
        literals = ["{"]
        for name in sorted(c.name for c in table.columns):
            key = ("," if literals != ["{"] else "") + encode(name) + ":"
            column = table.c[name]
            if column is table.c.id:
                plan.append(None)
            elif name in columns:
                processor = column.type._cached_result_processor(dialect, None)
                at = columns.index(name)
                if isinstance(column.type, Pence):  # read back as the int bound: its own text
                    processor = None  # (and no cache of every distinct amount)
                plan.append(at if processor is None else _Converted(at, encode, processor))
            elif column.server_default is None and column.default is None and not column.primary_key:
                literals[-1] += key + "null"
                continue
            else:
                return None  # a column filled in by a default: read back
            literals[-1] += key
            literals.append("")
        literals[-1] += "}\n"
        return cls(table, columns, before + 1, plan, literals, encode)

    REMEMBERED = 200  # distinct texts of a column remembered, at most (memory stays flat)

    def add(self, rows: list[Any]) -> None:
        """Digest rows just inserted (in order), each as the canonical JSON of its columns:
        made a column at a time, each value's text as `range_digest` makes it."""
        encode, string = self._encode, encode_basestring
        number = self.first + self.count
        columns = list(zip(*rows, strict=True))
        cells: list[Any] = []
        for step in self._plan:
            if step is None:
                cells.append(map(int.__repr__, range(number, number + len(rows))))
            elif isinstance(step, int):
                values = columns[step]
                known = self._texts.get(step, {})
                if known:
                    try:
                        cells.append(list(map(known.__getitem__, values)))
                        continue
                    except KeyError:  # a value not met before
                        pass
                types = set(map(type, values))
                if types == {str}:  # a column of text, or of whole numbers (never a bool's text)
                    texts = list(map(string, values))
                elif types == {int}:
                    texts = list(map(int.__repr__, values))
                else:
                    texts = [string(v) if type(v) is str else int.__repr__(v) if type(v) is int
                             else "null" if v is None else encode(_plain(v)) for v in values]
                if known is not None:
                    # only text and None are remembered (True == 1, but their texts differ)
                    known.update(zip(values, texts, strict=True))
                    plain = types <= {str, type(None)}
                    self._texts[step] = known if plain and len(known) <= self.REMEMBERED else None
                cells.append(texts)
            else:
                cells.append(step.texts(columns[step.position]))
        # the batch's text in one join: each row's literals and values in turn
        pieces: list[Any] = [itertools.repeat(self._literals[0])]
        for column, literal in zip(cells, self._literals[1:], strict=True):
            pieces += (column, itertools.repeat(literal))
        # (the literals repeat without end: the columns, all as long as the batch, end the zip)
        self.digest.update("".join(itertools.chain.from_iterable(zip(*pieces, strict=False))).encode("utf-8"))
        self.count += len(rows)

    def result(self, last: int) -> tuple[int, str] | None:
        """(count, digest) of the range first..last, if the streamed rows are exactly it."""
        if last != self.first - 1 + self.count:
            return None
        return self.count, self.digest.hexdigest()


class _Converted:
    """A column SQLAlchemy converts on reading (a date, a time): each bound value's text is the
    canonical JSON of the value read back (SQLAlchemy's own result processor applied to it),
    found once per distinct value."""

    def __init__(self, position: int, encode: Callable[[Any], str], processor: Callable[[Any], Any]) -> None:
        self.position = position
        self.encode = encode
        self.processor = processor
        self.seen: dict[Any, str] = {}

    def text(self, value: Any) -> str:
        found = self.seen.get(value)
        if found is None:
            found = "null" if value is None else self.encode(_plain(self.processor(value)))
            if len(self.seen) < 10_000:
                self.seen[value] = found
        return found

    def texts(self, values: tuple[Any, ...]) -> list[str]:
        """The texts of the column's values (as bound)."""
        try:
            return list(map(self.seen.__getitem__, values))
        except KeyError:  # a value not met before
            return list(map(self.text, values))


_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _driver_insert(session: Session, table: Table, columns: tuple[str, ...]) -> str | None:
    """The INSERT of `columns` in the driver's own parameter style (None for a style not known
    here: the caller binds through SQLAlchemy instead)."""
    dialect = session.get_bind().dialect
    mark = _MARKS.get(dialect.paramstyle)
    if mark is None:
        return None
    quote = dialect.identifier_preparer.quote
    return (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})")


def driver_binders(session: Session, table: Table, columns: tuple[str, ...]) -> list[Any]:
    """For each column, the function SQLAlchemy applies to a value before the driver sees it
    (None where it applies none): what `bulk_insert(..., columns=...)` expects done."""
    dialect = session.get_bind().dialect
    if _MARKS.get(dialect.paramstyle) is None:
        return [None] * len(columns)  # bulk_insert binds through SQLAlchemy
    return [table.c[name].type._cached_bind_processor(dialect) for name in columns]


def range_digest(session: Session, table: Table, first: int, last: int) -> tuple[int, str]:
    """(count, sha256) over the rows of `table` with first <= id <= last, in id order, each
    as the canonical JSON of its columns: what an import's event records and check recomputes.

    The rows are read through the driver; a column SQLAlchemy would convert (dates, times) is
    converted by SQLAlchemy's own result processor, once per distinct stored value, so each
    row's text is exactly the canonical JSON of the row as the ORM reads it; but an amount or
    a date is read as stored (`as_stored`), so that one written around swp in another form shows."""
    digest = hashlib.sha256()
    update = digest.update
    count = 0
    columns = list(table.columns)
    names = [c.name for c in columns]
    # canonical(), without walking values that are already plain
    encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    simple = (int, str, type(None))
    dialect = session.get_bind().dialect
    mark = _MARKS.get(dialect.paramstyle)
    if mark is None:
        query = (select(*as_stored(table)).where(table.c.id >= first, table.c.id <= last).order_by(table.c.id)
                 .execution_options(yield_per=2000))
        for row in session.execute(query):
            values = dict(zip(names, [v if type(v) in simple else _plain(v) for v in row], strict=True))
            update(encode(values).encode("utf-8"))
            update(b"\n")
            count += 1
        return count, digest.hexdigest()
    quote = dialect.identifier_preparer.quote
    key = quote(table.c.id.name)
    sql = (f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(table.name)} "
           f"WHERE {key} >= {mark} AND {key} <= {mark} ORDER BY {key}")
    converted: list[tuple[int, Any, dict[Any, Any]]] = []  # (position, processor, stored -> plain)
    for i, column in enumerate(columns):
        processor = column.type._cached_result_processor(dialect, None)
        if processor is not None and not _compared_as_stored(column):
            converted.append((i, processor, {}))
    # the canonical text of a row of plain values, filled in key order: {"a":1,"b":"x",...}
    order = sorted(range(len(names)), key=names.__getitem__)
    template = "{" + ",".join(encode(names[i]).replace("%", "%%") + ":%s" for i in order) + "}"
    texts: dict[type, Callable[[Any], str]] = {
             str: encode_basestring, int: int.__repr__, type(None): lambda _: "null",
             bool: lambda v: "true" if v else "false"}
    result = session.connection().exec_driver_sql(sql, (first, last))
    while True:
        rows = result.fetchmany(500)
        if not rows:
            break
        for row in rows:
            cells = list(row)
            for i, processor, seen in converted:
                stored = cells[i]
                plain = seen.get(stored, seen)
                if plain is seen:
                    plain = _plain(processor(stored))
                    if len(seen) < 10_000:
                        seen[stored] = plain
                cells[i] = plain
            try:
                text = template % tuple([texts[type(cells[i])](cells[i]) for i in order])
            except KeyError:  # a value of another kind: the general way
                text = encode(dict(zip(names, [_plain(v) for v in cells], strict=True)))
            update(text.encode("utf-8"))
            update(b"\n")
            count += 1
    return count, digest.hexdigest()


def bulk_ranges(session: Session) -> list[dict[str, Any]]:
    """Each table's rows inserted in bulk by this unit of work, as a range: first and last id,
    count and digest. Whoever notes a table's last id before its rows (`swp_bulk`: a bulk
    insert, an upgrade's backfills) notes the table too (`swp_bulk_tables`), so that no other
    table's class is built."""
    bulk: dict[str, int] = session.info.get("swp_bulk", {})
    tables: dict[str, Table] = session.info.get("swp_bulk_tables", {})
    ranges = []
    for name, before in sorted(bulk.items()):
        table = tables[name]
        last = session.execute(select(func.max(table.c.id))).scalar() or 0
        if last <= before:
            continue  # a dry run rolled its rows back
        stream = session.info.get("swp_streams", {}).get(name)
        streamed = stream.result(last) if stream is not None else None
        count, digest = streamed or range_digest(session, table, before + 1, last)
        ranges.append({"table": name, "first": before + 1, "last": last, "count": count,
                       "digest": digest})
    return ranges


def _head_with_time(session: Session) -> tuple[int, str, str | None, str | None]:
    row = session.execute(select(col(AuditEvent.seq), col(AuditEvent.hash), col(AuditEvent.at), col(AuditEvent.real_at))
                          .order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    return (row[0], row[1], row[2], row[3]) if row else (0, GENESIS, None, None)


def _sandbox(session: Session) -> bool:
    """A sandbox's acts follow SWP_TODAY, which may rehearse an earlier day; while SWP_TODAY
    is set its real clock is pinned too (never going back)."""
    from swp.models import Practice

    return bool(session.execute(select(col(Practice.sandbox)).limit(1)).scalar())


def act(session: Session, action: str, payload: dict[str, Any] | None = None) -> None:
    """Name the domain action this unit of work performs (`member.admitted`, `vote.cast`, ...)
    with its canonical payload. Services call it where they write; the unit of work's one
    audit event carries every action named in it."""
    session.info.setdefault("swp_acts", []).append((action, dict(payload or {})))


def acts(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """The domain actions named so far in this unit of work, in order."""
    return list(session.info.get("swp_acts", []))


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int
    first_bad: int | None
    reason: str | None = None
    signed: int = 0
    unsigned_history: int = 0  # events from before signing (an upgraded practice)
    unsigned_refusals: int = 0
    # signatures not checked again: their events and signatures are, byte for byte, those an
    # earlier verify on this computer checked (`trusted`)
    signatures_trusted: int = 0
    # what to remember when `ok`: (seq, hash, digest of every signature up to it)
    through: tuple[int, str, str] | None = None
    # changes recorded unsigned while the practice was founded (before its first manager):
    # the founding event itself, and any change made then without --as
    unsigned_founding: int = 0


class _Keys:
    """The keys enrolled as the log is replayed: who could sign at each event."""

    def __init__(self) -> None:
        self.current: dict[str, str] = {}  # handle -> public key (hex)
        self.left: dict[str, str] = {}  # handle -> last day of membership: revoked after it
        self.ever: set[str] = set()  # handles that have had a key (none may self-enrol again)
        self.manager_ever = False
        self._fingerprints: dict[str, str] = {}
        # re-enrolment resolutions as made: proposal id -> (member, public key)
        self.reenrolments: dict[Any, tuple[Any, Any]] = {}
        # passkeys (the members' page): credential id -> handle, public key (COSE, base64url),
        # and the page's RP id and origin it was made for
        self.passkeys: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, str] = {}  # handle -> latest role recorded
        # handle -> latest invitation: seq, expiry, and why it cannot enrol a passkey (None: it
        # can: the member's own, or a manager's for a member who had no key and no passkey)
        self.invites: dict[str, tuple[int, str, str | None]] = {}
        self.used_invites: set[int] = set()
        self.member_handles: dict[Any, str] = {}  # member id -> handle, from the member rows written
        # handle -> the address and email their member row last recorded (from the rows written)
        self.contacts: dict[str, dict[str, Any]] = {}
        # what members asked for on the page, signed by their passkeys: intent digest -> the
        # seq of the one event that records it; handle -> seq of their latest signed event
        self.intents: dict[str, int] = {}
        self.last_signed: dict[str, int] = {}

    def fingerprint(self, public_hex: str) -> str:
        found = self._fingerprints.get(public_hex)
        if found is None:
            from swp.identity import fingerprint

            found = self._fingerprints[public_hex] = fingerprint(public_hex)
        return found

    def enrolment_problem(self, event: dict[str, Any], named: list[Any]) -> str | None:
        """Why an enrolment this (accepted) change makes cannot stand, or None. A member enrols
        their own first key and rotates their own key; an admission enrols a newcomer's key; a
        key is enrolled for someone else only by a re-enrolment that this same event records
        as the effect of a resolution closed passed, which an earlier event recorded as made to
        enrol that key for that member."""
        actor = event["actor"]
        for name, payload in named:
            if name not in ENROLLING:
                continue
            handle = payload.get("handle")
            if event["signature"] is None:
                return f"it enrols a key for {handle} without a signature"
            if name == "member.admitted" and handle in self.ever:
                return f"it admits {handle}, who already had a key enrolled (a membership is never reused)"
            if name in ("key.enrolled", "key.rotated") and handle != actor:
                return (f"it enrols a key for {handle}, signed by {actor or 'nobody'}: only a passed "
                        "resolution enrols a key for another member")
            if name == "key.enrolled" and handle in self.ever:
                return f"it enrols a first key for {handle}, who already had one"
            if name == "key.reenrolled":
                wanted = (handle, payload.get("public_key"))
                number = payload.get("proposal")
                closed = [v for v in _proposal_rows(named) if v.get("id") == number]
                if (self.reenrolments.get(number) != wanted or not closed
                        or closed[-1].get("status") != "passed"
                        or (closed[-1].get("target"), closed[-1].get("value")) != wanted):
                    return (f"it re-enrols {handle}'s key without a passed resolution to enrol "
                            "that key for them")
        return None

    def vote_problem(self, event: dict[str, Any], named: list[Any],
                     stored: Callable[[], dict[Any, str]]) -> str | None:
        """Why this (accepted) change cannot stand because of a vote it records, or None: a
        member casts only their own vote, so every vote row an event writes is the signer's.
        `stored`: member id -> handle as the database holds them, for a member whose row no
        replayed event wrote (admitted before signing)."""
        actor = event["actor"]
        for values in _rows_of(named, "vote"):
            member = values.get("member_id")
            handle = self.member_handles.get(member)
            if handle is None:
                for row in _rows_of(named, "member"):  # admitted by this very event
                    if row.get("id") == member and row.get("handle"):
                        handle = str(row["handle"])
            if handle is None:
                handle = stored().get(member)
            if handle is None or handle != actor:
                return (f"it records a vote by {handle or f'member #{member}'}, signed by "
                        f"{actor or 'nobody'}: a member casts only their own vote")
        return None

    def apply(self, named: list[tuple[str, dict[str, Any]]], *, seq: int = 0, actor: str | None = None) -> None:
        for row in _rows_of(named, "member"):
            if row.get("id") is not None and row.get("handle"):
                self.member_handles[row["id"]] = str(row["handle"])
            if row.get("handle") and "address" in row and "email" in row:
                self.contacts[str(row["handle"])] = {"address": row["address"], "email": row["email"]}
        for values in _proposal_rows(named):
            number = values.get("id")
            if values.get("action") == "re-enrol" and number not in self.reenrolments:
                self.reenrolments[number] = (values.get("target"), values.get("value"))
        for name, payload in named:
            handle = payload.get("handle")
            if name in ENROLLING and handle and payload.get("public_key"):
                self.current[handle] = payload["public_key"]
                self.ever.add(handle)
                if name == "key.reenrolled":  # the member's passkeys go with the lost key
                    for known in self.passkeys.values():
                        if known["handle"] == handle:
                            known.setdefault("revoked", seq)
            elif name in REVOKING and handle:
                self.left[handle] = str(payload.get("left_on") or "")
            elif name == PASSKEY_ENROLLED and payload.get("credential_id") and payload.get("member"):
                self.passkeys[str(payload["credential_id"])] = {
                    "handle": payload["member"], "public_key": str(payload.get("public_key") or ""),
                    "rp_id": payload.get("rp_id"), "origin": payload.get("origin")}
                if isinstance(payload.get("invitation"), int):
                    self.used_invites.add(payload["invitation"])
            elif name == INVITED and payload.get("member"):
                self.invites[str(payload["member"])] = (
                    seq, str(payload.get("expires_at") or ""), self._inviter_problem(str(payload["member"]), actor))
            if handle and payload.get("role"):
                self.roles[handle] = str(payload["role"])
            if payload.get("role") == "manager":
                self.manager_ever = True

    def _inviter_problem(self, member: str, actor: str | None) -> str | None:
        """Why an invitation `actor` makes for `member` cannot enrol a passkey (None: it can)."""
        if actor is not None and actor == member:
            return None
        if self.roles.get(actor or "") != "manager":
            return "no manager made"
        if member in self.current or any(p["handle"] == member and "revoked" not in p
                                         for p in self.passkeys.values()):
            return (f"a manager made while {member} had a key or passkey (only {member}'s own "
                    "invitation enrols another)")
        return None

    def passkey_problem(self, event: dict[str, Any], named: list[Any],
                        hash_at: Callable[[int], str | None]) -> str | None:
        """Why this event's passkey signature cannot stand (None: it stands). The passkey must
        be one enrolled for the acting member before this event, or the one this very event
        enrols (signed by itself, as a member's first key file is) on the member's latest,
        unused, unexpired invitation from a manager; its assertion must be for the page it was
        enrolled on (checked here, offline), over the request the member made (`_intent_problem`),
        or, in events written before the page signed requests, over this event's own hash.
        `hash_at(seq)`: the hash of an earlier event of this chain (None: no such event)."""
        from swp.identity import check_passkey_signature, read_passkey_signature

        assertion = read_passkey_signature(event["signature"])
        if assertion is None:
            return "its passkey signature cannot be read"
        actor = event["actor"]
        if actor is None:
            return "it is signed by a passkey, but names no acting member"
        credential = assertion["credential_id"]
        known = self.passkeys.get(credential)
        if known is None:
            enrolling = [p for n, p in named if n == PASSKEY_ENROLLED and p.get("credential_id") == credential]
            if not enrolling or enrolling[0].get("member") != actor:
                return f"it is signed by a passkey that was not enrolled for {actor} then"
            why = self._invitation_problem(actor, enrolling[0], event["at"])
            if why is not None:
                return why
            known = {"handle": actor, "public_key": str(enrolling[0].get("public_key") or ""),
                     "rp_id": enrolling[0].get("rp_id"), "origin": enrolling[0].get("origin")}
        if known["handle"] != actor:
            return f"it is signed by a passkey that is not {actor}'s (it was enrolled for {known['handle']})"
        if "revoked" in known:
            return (f"it is signed by {actor}'s passkey, revoked when their key was re-enrolled "
                    f"(event {known['revoked']})")
        if actor in self.left and event["at"][:10] > self.left[actor]:
            return f"it is signed by {actor}'s passkey, revoked when they left on {self.left[actor]}"
        challenge = event["hash"]
        intent = assertion.get("intent")
        if intent is not None:
            problem, challenge = self._intent_problem(event, named, intent, hash_at)
            if problem is not None:
                return problem
        problem = check_passkey_signature(assertion, challenge, known["public_key"],
                                          known.get("rp_id"), known.get("origin"))
        if problem is None and intent is not None:
            self.intents[challenge] = event["seq"]
        return problem

    def _intent_problem(self, event: dict[str, Any], named: list[Any], text: str,
                        hash_at: Callable[[int], str | None]) -> tuple[str | None, str]:
        """Why the request a passkey signed (its intent) is not the one this event records
        (None: it is), and the digest the assertion must be over. The request must be the
        acting member's, for this command with these arguments (and the rows the event writes
        must be the change they name: `_rows_problem`), made when the history ended at an
        earlier event of this chain (the last they saw), recorded by no other event, and made after the member's own latest
        signed event (so an older request of theirs is never recorded after a newer one)."""
        from swp.identity import intent_digest, read_passkey_intent

        digest = intent_digest(text)
        asked = read_passkey_intent(text)
        if asked is None:
            return "the request its passkey signed cannot be read", digest
        actor = event["actor"]
        if asked["member"] != actor:
            return f"its passkey signed a request by {asked['member']}, not by {actor}", digest
        if (asked["command"], asked["args"]) != (event["command"], event["args"]):
            return ("it records another change than the one its passkey signed (the request was "
                    f"{asked['command']!r} with {asked['args']})"), digest
        problem = _rows_problem(event, named, self.contacts)  # the passkey signed the request, not the rows
        if problem is not None:
            return problem, digest
        seen_seq, seen_hash = asked["seen"]
        if not 0 < seen_seq < event["seq"] or hash_at(seen_seq) != seen_hash:
            return ("its passkey signed a request made when the history ended at an event this "
                    f"history does not hold before it (event {seen_seq}, {seen_hash[:16]}...)"), digest
        if digest in self.intents:
            return (f"its passkey signed a request already recorded by event {self.intents[digest]} "
                    "(an assertion used twice)"), digest
        latest = self.last_signed.get(actor, 0)
        if seen_seq < latest:
            return (f"its passkey signed a request {actor} made before their own event {latest} "
                    f"(having seen event {seen_seq}): it cannot be recorded after it"), digest
        return None, digest

    def _invitation_problem(self, actor: str, enrolment: dict[str, Any], at: str) -> str | None:
        invitation = enrolment.get("invitation")
        latest = self.invites.get(actor)
        if not isinstance(invitation, int) or latest is None or latest[0] != invitation:
            return f"it enrols a passkey for {actor} without {actor}'s latest invitation"
        if invitation in self.used_invites:
            return f"it enrols a passkey for {actor} on an invitation already used"
        if latest[2] is not None:
            return f"it enrols a passkey for {actor} on an invitation {latest[2]}"
        try:
            expired = datetime.fromisoformat(at) > datetime.fromisoformat(latest[1])
        except (TypeError, ValueError):
            expired = True
        if expired:
            return f"it enrols a passkey for {actor} on an invitation that had expired"
        return None


def _rows_problem(event: dict[str, Any], named: list[Any],
                  contacts: dict[str, dict[str, Any]] | None = None) -> str | None:
    """Why the rows a change from the page records are not the change its request asked for
    (None: they are). A passkey signs the request (its command and arguments), not the rows, so
    the rows are checked against it, as the service would have written them: a vote's rows are
    the vote asked for; an address change writes only the asking member's row, with the
    address and email asked for (stripped); one asked empty is cleared (an older swp kept it as
    it was: either stands) and one not asked for is kept, both checked against the member's row
    as an earlier event recorded it (`contacts`: handle -> address and email; a member no
    earlier event wrote is not checked there); a proposal's row is the title (stripped), kind
    (stripped, lower case), clause and value (in its canonical form) asked for, proposed by the
    signer."""
    try:
        wanted = json.loads(event["args"])
    except (TypeError, ValueError):
        wanted = {}
    if not isinstance(wanted, dict):
        wanted = {}
    command = event["command"]
    if command == "vote":
        for row in _rows_of(named, "vote"):
            if (row.get("proposal_id"), row.get("choice")) != (wanted.get("proposal_id"), wanted.get("choice")):
                return (f"it records a vote ({row.get('choice')} on proposal {row.get('proposal_id')}) "
                        "other than the one its passkey signed")
    elif command == "member update":
        handle = wanted.get("handle")
        for row in _rows_of(named, "member"):
            if row.get("handle") != handle:
                return (f"it records a change to {row.get('handle')}'s details, not to {handle}'s "
                        "as its passkey signed")
            had = (contacts or {}).get(str(handle))
            for field in ("address", "email"):
                asked = wanted.get(field)
                # registers.set_contact writes it stripped (plain_text); one empty once stripped
                # clears it (an older swp kept the one it had); one not asked for is kept
                if isinstance(asked, str) and asked.strip():
                    if row.get(field) != asked.strip():
                        return (f"it records {handle}'s {field} as {row.get(field)!r}, other than "
                                "the one its passkey signed")
                elif had is not None:
                    allowed = (None, "", had[field]) if isinstance(asked, str) else (had[field],)
                    if row.get(field) not in allowed:
                        wanted_text = "cleared" if isinstance(asked, str) else "left as it was"
                        return (f"it records {handle}'s {field} as {row.get(field)!r}, where the "
                                f"request its passkey signed had it {wanted_text}")
    elif command == "proposal new":
        expected = _proposal_asked(wanted, event["actor"])
        for row in _rows_of(named, "proposal"):
            for field, value in expected.items():
                if row.get(field) != value:
                    return (f"it records a proposal ({field} {row.get(field)!r}) other than the "
                            "one its passkey signed")
    return None


_UNMADE = object()  # a value no proposal row can hold: the service refuses such a request


def _proposal_asked(args: dict[str, Any], actor: str | None) -> dict[str, Any]:
    """The proposal row's fields a `proposal new` request fixes, as governance.propose writes
    them: its title stripped, its kind stripped and in lower case, proposed by the signer, and
    for an amendment (`--amend CLAUSE=VALUE`, the page's only kind of proposal) the action, the
    clause stripped, no target and the value in its canonical form."""
    from swp import rules
    from swp.errors import SwpError

    expected: dict[str, Any] = {"title": str(args.get("title") or "").strip(),
                                "kind": str(args.get("kind") or "").strip().lower(),
                                "proposed_by": actor}
    amend = args.get("amend")
    others = [k for k in ("expel", "merge_with", "assets_to", "make_practitioner", "partner_split",
                          "write_off", "re_enrol", "admit", "end_employment") if args.get(k)]
    if not isinstance(amend, str) or others or args.get("dissolve"):
        return expected  # another action than an amendment: the page never asks for one
    clause, _, value = amend.partition("=")
    clause = clause.strip()
    canonical_value: Any
    if clause == "practice.local-authority":
        canonical_value = value.strip()
    elif clause in rules.RESOLVED:  # these need a member or partner named: refused without one
        canonical_value = _UNMADE
    else:
        try:
            # propose makes it canonical, then checks its effect, which does so again
            canonical_value = rules.clause_value(clause, rules.clause_value(clause, value))
        except SwpError:  # an unknown or entrenched clause, or a bad value: refused
            canonical_value = _UNMADE
    expected.update(action="amend", clause=clause, target=None, value=canonical_value)
    return expected


def _rows_of(named: list[Any], table: str) -> list[dict[str, Any]]:
    """The rows of `table` an event records (its `rows.written`), as written."""
    found = []
    for name, payload in named:
        if name == ROWS_ACTION:
            for row in payload.get("rows", ()):
                if row.get("table") == table:
                    found.append(row.get("values") or {})
    return found


class Admissions:
    """Who could admit, replayed from the rows the events wrote: during the founding (before
    the practice's first manager), anyone; then a manager current on the day; and when the
    practice has no current manager, only whom a passed `member.admit` resolution agreed to
    admit, in the role agreed. Used by `audit verify` and `swp check`."""

    def __init__(self) -> None:
        self.members: dict[Any, dict[str, Any]] = {}  # member id -> its row, as last written
        self.facts: dict[Any, dict[str, Any]] = {}  # member_fact id -> its row
        self.proposals: dict[Any, dict[str, Any]] = {}  # proposal id -> its row
        self.begun = False  # the practice row was written by an event (not founded before signing)

    def _managers_on(self, day: str) -> bool:
        latest: dict[Any, tuple[str, Any, str]] = {}
        for fid, fact in self.facts.items():
            mark = (str(fact.get("effective") or ""), fid, str(fact.get("role") or ""))
            if fact.get("member_id") not in latest or mark[:2] > latest[fact.get("member_id")][:2]:
                latest[fact.get("member_id")] = mark
        return any(mark[2] == "manager" and (mid in self.members)
                   and (not self.members[mid].get("left_on") or str(self.members[mid]["left_on"]) >= day)
                   for mid, mark in latest.items())

    def problem(self, event: dict[str, Any], named: list[Any]) -> str | None:
        """Why an admission this (accepted) event makes cannot stand, or None; then takes in
        the rows it wrote."""
        rows: dict[str, list[dict[str, Any]]] = {}
        for name, payload in named:  # the rows it wrote, by table, in one pass
            if name == ROWS_ACTION:
                for row in payload.get("rows", ()):
                    rows.setdefault(str(row.get("table")), []).append(row.get("values") or {})
        if not rows:
            return None
        found = None
        admitted = [row for row in rows.get("member", ()) if row.get("id") not in self.members]
        if (admitted and self.begun and any(f.get("role") == "manager" for f in self.facts.values())
                and not self._managers_on(str(event["at"])[:10])):
            facts = rows.get("member_fact", [])
            for row in admitted:
                handle = row.get("handle")
                roles = [str(f.get("role")) for f in facts if f.get("member_id") == row.get("id")]
                role = roles[0] if roles else "?"
                agreed = any(p.get("action") == "amend" and p.get("clause") == "member.admit"
                             and p.get("target") == handle and p.get("status") == "passed"
                             and str(p.get("value")) == role for p in self.proposals.values())
                if not agreed:
                    found = (f"it admits {handle} as {role} when the practice had no current manager, "
                             "without a passed resolution to admit them in that role")
                    break
        for table, store in (("member", self.members), ("member_fact", self.facts),
                             ("proposal", self.proposals)):
            for row in rows.get(table, ()):
                if row.get("id") is not None:
                    store[row["id"]] = row
        if "practice" in rows:
            self.begun = True
        return found


def _proposal_rows(named: list[Any]) -> list[dict[str, Any]]:
    """The proposal rows an event records (its `rows.written`), as written."""
    return _rows_of(named, "proposal")


def _check_signatures(batch: list[tuple[int, str, str, str]]) -> int | None:
    """The seq of the first event of `batch` (seq, public key, signature, hash; all hex) whose
    Ed25519 signature does not stand, or None. Runs here or in a worker process."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys: dict[str, Any] = {}
    for seq, public_hex, signature, digest in batch:
        try:
            key = keys.get(public_hex)
            if key is None:
                key = keys[public_hex] = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
            key.verify(bytes.fromhex(signature), bytes.fromhex(digest))
        except (InvalidSignature, ValueError):
            return seq
    return None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class _Signatures:
    """The Ed25519 checks, made apart from the replay. Each needs only its key, signature and
    hash, which the replay (kept in order, in this process) has already settled, so they are
    checked in batches, in worker processes across the machine's cores once a whole batch is
    waiting, here otherwise. Batches are settled in order, so the first failure found is the
    first in the log. Each check keeps the result `verify` reports if it is that first failure.
    Checks up to `hold_until` wait: dropped if the trusted checkpoint holds, made if not."""

    BATCH = 2000

    def __init__(self, hold_until: int = 0, batch: int | None = None, workers: int | None = None):
        self.hold_until = hold_until
        self.size = batch or self.BATCH
        self.workers = _cores() if workers is None else workers
        self.held: list[tuple[int, str, str, str]] = []
        self.batch: list[tuple[int, str, str, str]] = []
        self.pending: list[tuple[list[tuple[int, str, str, str]], Any]] = []  # (batch, its future; None: check it here)
        self.reports: dict[int, tuple[Any, ...]] = {}  # seq -> what verify reports if it fails
        self.pool: Any = None
        self.first_bad: int | None = None  # the first failure: every batch before it passed

    def add(self, seq: int, public_hex: str, signature: str, digest: str, report: tuple[Any, ...]) -> None:
        """`report`: (count, signed, legacy, refusals, actor) as `verify` reports them if this
        signature is the first to fail."""
        self.reports[seq] = report
        if seq <= self.hold_until:
            self.held.append((seq, public_hex, signature, digest))
        else:
            self._queue((seq, public_hex, signature, digest))

    def _queue(self, check: tuple[int, str, str, str]) -> None:
        self.batch.append(check)
        if len(self.batch) >= self.size:
            batch, self.batch = self.batch, []
            self.pending.append((batch, self._submit(batch)))
            self._settle(wait=len(self.pending) > 2 * self.workers)

    def drop_held(self) -> int:
        """The checkpoint holds: the held checks were made by an earlier verify."""
        for seq, *_ in self.held:
            del self.reports[seq]
        dropped, self.held = len(self.held), []
        return dropped

    def release_held(self) -> None:
        held, self.held = self.held, []
        for check in held:  # nothing is queued yet: every check queued later comes after these
            self._queue(check)

    def _submit(self, batch: list[tuple[int, str, str, str]]) -> Any:
        """Send a batch to a worker process (None: check it here)."""
        if self.workers < 2:
            return None
        if self.pool is None:
            import multiprocessing
            import threading
            from concurrent.futures import ProcessPoolExecutor

            import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401 - imported before the fork

            if threading.active_count() > 1:  # a forked thread's locks: check in this process
                self.workers = 1
                return None
            try:
                methods = multiprocessing.get_all_start_methods()
                context = multiprocessing.get_context("fork" if "fork" in methods else None)
                self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            except (OSError, ImportError, NotImplementedError, ValueError):
                self.workers = 1  # no worker processes here: check in this process
                return None
        try:
            return self.pool.submit(_check_signatures, batch)
        except Exception:  # noqa: BLE001 - a broken pool: check in this process
            return None

    def _settle(self, *, wait: bool) -> None:
        """Take the oldest batches' results, in order, while they are ready (with `wait`: at
        least the oldest), until one fails."""
        while self.pending and self.first_bad is None:
            batch, future = self.pending[0]
            if future is not None and not wait and not future.done():
                return
            self.pending.pop(0)
            wait = False
            result = None
            if future is not None:
                try:
                    result = future.result()
                except Exception:  # noqa: BLE001 - the worker died: check the batch here
                    future = None
            self.first_bad = result if future is not None else _check_signatures(batch)
            if self.first_bad is None:
                for seq, *_ in batch:  # passed: no report is needed
                    del self.reports[seq]

    def failed(self) -> Verification | None:
        """The first event whose signature failed, among the batches settled so far."""
        if self.first_bad is None:
            return None
        count, signed, legacy, refusals, actor = self.reports[self.first_bad]
        return Verification(False, count, self.first_bad, f"its signature is not {actor or 'the newcomer'}'s",
                            signed, legacy, refusals)

    def finish(self) -> Verification | None:
        """Check everything added; the first event whose signature failed (None: none did)."""
        try:
            self.release_held()
            if self.batch:
                batch, self.batch = self.batch, []
                self.pending.append((batch, self._submit(batch) if self.pool is not None else None))
            while self.pending and self.first_bad is None:
                self._settle(wait=True)
            return self.failed()
        finally:
            self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _signature_problem(keys: _Keys, event: dict[str, Any], named: list[Any]) -> tuple[str | None, str | None]:
    """Why this event's signature cannot stand (None: it may), and the public key (hex) its
    signature must then be checked against (None: an unsigned event that may stand)."""
    if event["signature"] is None:
        if event["outcome"] == "refused" or not keys.manager_ever:
            return None, None
        return "it is not signed", None
    actor = event["actor"]
    if actor is not None:
        public = keys.current.get(actor)
        if public is None and actor not in keys.ever:
            first = [p for n, p in named if n == "key.enrolled" and p.get("handle") == actor]
            if first:
                public = first[0].get("public_key")  # a member's first key, signed by itself
        if public is None:
            return f"it is signed for {actor}, who had no key enrolled then", None
        if actor in keys.left and event["at"][:10] > keys.left[actor]:
            return f"it is signed by {actor}'s key, revoked when they left on {keys.left[actor]}", None
    else:  # a founding member admits themselves, with their own key
        founding = [p for n, p in named if n == "member.admitted" and p.get("public_key")]
        if not founding or keys.manager_ever:
            return "it is signed, but names no acting member (only a founding admission may)", None
        public = founding[0]["public_key"]
    if keys.fingerprint(public) != event["key_fingerprint"]:
        return f"it was signed with a key that is not {actor or 'the newcomer'}'s enrolled key", None
    return None, public


RECENT = 4096  # events whose hashes verify keeps at hand
VERIFY_COLUMNS = (*SIGNED_FIELDS, "hash", "signature")  # the hashed fields first, in order


def verify(session: Session, *, witness: tuple[int, str] | None = None,
           trusted: tuple[int, str, str] | None = None, workers: int | None = None,
           batch: int | None = None) -> Verification:
    """Recompute every link and check every signature; stream the log so memory stays flat.
    `witness` (seq, hash): a head a member kept, which the chain must still hold.

    Every event is hashed, linked and replayed here, in order. The Ed25519 checks are made
    apart (`_Signatures`: on the machine's other cores when there are many); the first bad
    event is still the one reported, whether its link, its hash, its key or its signature fails.
    `trusted` (seq, hash, digest of every signature up to it), a `through` an earlier verify
    returned: when the log still holds that event with that hash, and its signatures up to it
    are still those (the same digest), they are not checked again; everything else is.
    `workers` (processes for the signature checks; default: one per core) and `batch` (checks
    per batch) are for tests."""
    previous = GENESIS
    expected_seq = 1
    count = signed = legacy = refusals = founding = 0
    keys = _Keys()
    admissions = Admissions()
    signing_began = False
    columns = [getattr(AuditEvent, name) for name in VERIFY_COLUMNS]
    query = select(*columns).order_by(col(AuditEvent.seq)).execution_options(yield_per=2000)
    result = session.connection().execute(query)
    hold_until, trusted_hash, trusted_digest = trusted or (0, "", "")
    checks = _Signatures(hold_until, batch, workers)
    so_far = hashlib.sha256()  # every signature up to here, as read
    skipped = 0
    handles: dict[Any, str] = {}

    def stored() -> dict[Any, str]:  # read once, and only if a vote names a member no event wrote
        if not handles:
            from swp.models import Member

            handles.update({i: h for i, h in session.execute(select(col(Member.id), col(Member.handle)))})
        return handles

    recent: dict[int, str] = {}  # the latest events' hashes: what a page's request saw, mostly

    def hash_at(seq: int) -> str | None:
        """The hash of event `seq`, already read (and checked) earlier in this chain."""
        if seq >= expected_seq:
            return None
        found = recent.get(seq)
        if found is None:
            row = session.execute(select(col(AuditEvent.hash)).where(col(AuditEvent.seq) == seq)).first()
            found = row[0] if row else None
        return found

    def bad(seq: int, reason: str) -> Verification:
        found = Verification(False, count, seq, reason, signed, legacy, refusals)
        return checks.finish() or found  # a signature that failed before it comes first

    try:
        for row in result:
            event = dict(zip(VERIFY_COLUMNS, row, strict=True))
            count += 1
            seq = event["seq"]
            if seq != expected_seq:
                return bad(seq, f"event {expected_seq} is missing")
            if event["prev_hash"] != previous:
                return bad(seq, "its link to the previous event is broken")
            fields = LEGACY_FIELDS if event["real_at"] is None else SIGNED_FIELDS
            if _hash_of(dict(zip(fields, row, strict=False))) != event["hash"]:  # a prefix of the row
                return bad(seq, "its content does not match its hash")
            if witness is not None and seq == witness[0] and event["hash"] != witness[1]:
                return bad(seq, f"it is not the event {witness[0]} you witnessed "
                                f"({witness[1][:16]}...): the history was rewritten")
            mark = event["signature"] or ""
            so_far.update(f"{seq}:{len(mark)}:{mark}\n".encode("utf-8", "surrogatepass"))
            if event["real_at"] is None:
                if signing_began:
                    return bad(seq, "it claims to be history from before signing, after signing began")
                legacy += 1
            else:
                signing_began = True
                try:
                    named = json.loads(event["payload"]) if event["payload"] else []
                except ValueError:
                    return bad(seq, "its payload is not JSON")
                if event["key_fingerprint"] == PASSKEY_FINGERPRINT:
                    problem, public = keys.passkey_problem(event, named, hash_at), None
                else:
                    problem, public = _signature_problem(keys, event, named)
                if problem is not None:
                    return bad(seq, problem)
                if public is not None:
                    checks.add(seq, public, event["signature"], event["hash"],
                               (count, signed, legacy, refusals, event["actor"]))
                    failed = checks.failed()
                    if failed is not None:
                        return failed  # a batch already checked failed: nothing before it did
                if event["signature"] is not None:
                    signed += 1
                    if event["actor"] is not None:
                        keys.last_signed[event["actor"]] = seq
                elif event["outcome"] == "refused":
                    refusals += 1
                else:
                    founding += 1
                if event["outcome"] == "ok":
                    problem = (keys.enrolment_problem(event, named) or keys.vote_problem(event, named, stored)
                               or admissions.problem(event, named))
                    if problem is not None:
                        return bad(seq, problem)
                    keys.apply(named, seq=seq, actor=event["actor"])
            if seq == hold_until:
                if event["hash"] == trusted_hash and so_far.hexdigest() == trusted_digest:
                    skipped = checks.drop_held()
                else:
                    checks.release_held()
            previous = event["hash"]
            recent[seq] = previous
            recent.pop(seq - RECENT, None)
            expected_seq += 1
        failed = checks.finish()
        if failed is not None:
            return failed
    finally:
        checks.close()
    if witness is not None and witness[0] >= expected_seq:
        return Verification(False, count, witness[0],
                            f"the log ends at event {expected_seq - 1}: event {witness[0]}, which you "
                            "witnessed, is gone (the history was rolled back or cut short)",
                            signed, legacy, refusals)
    return Verification(True, count, None, None, signed, legacy, refusals, skipped,
                        (expected_seq - 1, previous, so_far.hexdigest()), founding)


def verify_here(session: Session, *, witness: tuple[int, str] | None = None, full: bool = False) -> Verification:
    """`verify` for `swp audit verify`, remembering on this computer (in the configuration
    folder, beside the remembered head) how far it checked every signature and found none bad:
    a later verify still hashes and links every event and replays every key, but does not
    check again the signatures of the events up to there while that event and every signature
    before it are unchanged. `full`: check every signature again (docs/identity.md)."""
    from swp import identity

    place = session.info.get("swp_place")  # set by the unit of work: this practice, here
    trusted = identity.verified_through(place) if place and not full else None
    result = verify(session, witness=witness, trusted=trusted)
    if result.ok and place and result.through is not None:
        identity.remember_verified(place, *result.through)
    return result


def events(session: Session, *, limit: int | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.seq).desc())
    if limit:
        query = query.limit(limit)
    rows = list(session.execute(query).scalars())
    rows.reverse()
    return rows
