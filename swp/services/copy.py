"""`swp db copy --to URL`: a practice, whole, into an empty database of either kind.

SQLite to PostgreSQL (moving onto a server), PostgreSQL to SQLite (a local copy, or moving
back), or to another database of the same kind. The copy is made in one transaction on the
target, after the schema is created there by the same migration `swp init` runs: it either
holds the whole practice, verified, or nothing at all. Every row keeps its id, so entry numbers,
proposal numbers and the audit chain are the same on both sides; PostgreSQL's id sequences are
then moved past the copied ids.

The source is read in one transaction (a consistent snapshot) and never changed, and the copy
adds no audit event of its own: it is the practice as it was, event for event, and its audit
head is the source's.

The database's guards stay on while the copy is written, so every row passes the same checks
it passed when it was first written. Tables are written in an order those checks accept:
ledger entries before the periods that lock their dates, member facts before the clauses (a
later rise of the minimum hours does not refuse older facts), and proposals first as open,
then their votes, then each proposal's result, then the shared costs (each within a split a
passed resolution agreed).

Before it commits, the copy is verified against the source: the same rows in every table (the
count and an order-free digest of every value), an audit chain that verifies to the same head,
the same ledger balance and the same reserve. A mismatch rolls everything back (exit 4).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from swp.db import (
    Database,
    Target,
    check_schema,
    migrate,
    open_database,
    reset_sequences,
    resolve,
    table_columns,
    table_names,
)
from swp.dbfile import check_file, create_file
from swp.errors import CheckFailed, DatabaseError, InputError

if TYPE_CHECKING:
    from sqlalchemy import Table, Update
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    _Later = tuple[Update, list[dict[str, Any]]]  # a statement to run later, and its rows

BATCH = 2_000  # rows read and written at a time: memory stays flat however large the books
# The order rows are written in (see the module docstring); any table not named here follows,
# parents before children.
ORDER = ("practice", "member", "member_fact", "contract", "partner", "ledger_entry",
         "loan", "proposal", "vote", "shared_cost", "period", "allocation", "clause",
         "audit_event")
# A proposal is written open, and its result set once its votes are in.
PROPOSAL_RESULT = {"status": "open", "closed_at": None, "closed_on": None, "yes": None,
                   "no": None, "abstain": None, "quorum_met": None}
MASK = (1 << 256) - 1


@dataclass(frozen=True)
class Facts:
    """What must be the same on both sides."""

    tables: dict[str, int]  # rows in each table
    digests: dict[str, str]  # an order-free digest of each table's rows
    audit_ok: bool
    audit_events: int
    audit_head: str
    audit_first_bad: int | None
    income_pence: int
    expenses_pence: int
    loans_pence: int
    by_category: dict[str, int]
    reserve_pence: int


@dataclass(frozen=True)
class CopySummary:
    source: str
    target: str
    tables: dict[str, int]
    audit_events: int
    audit_head: str
    income_pence: int
    expenses_pence: int
    loans_pence: int
    reserve_pence: int
    checks: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    @property
    def net_pence(self) -> int:
        return self.income_pence - self.expenses_pence

    def as_json(self) -> dict[str, Any]:
        """The JSON names source and target from and to, and adds rows and net_pence."""
        return {"from": self.source, "to": self.target, "tables": self.tables,
                "rows": self.rows, "audit_events": self.audit_events,
                "audit_head": self.audit_head, "income_pence": self.income_pence,
                "expenses_pence": self.expenses_pence, "net_pence": self.net_pence,
                "loans_pence": self.loans_pence, "reserve_pence": self.reserve_pence,
                "verified": list(self.checks)}


def _metadata_tables() -> list[Table]:
    """swp's tables, in the order they are written."""
    from swp.models import metadata

    every = metadata().sorted_tables
    tables = {t.name: t for t in every}
    ordered = [tables[name] for name in ORDER if name in tables]
    return ordered + [t for t in every if t.name not in ORDER]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


class _Digest:
    """Rows in any order give the same digest: the sum of each row's sha256."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, rows: Iterable[tuple[Any, ...]]) -> None:
        for row in rows:
            text = json.dumps([_plain(v) for v in row], separators=(",", ":"), ensure_ascii=False)
            self.total = (self.total + int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")) & MASK
            self.count += 1

    @property
    def hex(self) -> str:
        return f"{self.total:064x}"


def _rows(conn: Connection, table: Table) -> Iterator[list[tuple[Any, ...]]]:
    """A table's rows in batches, in primary-key order, with swp's own column types."""
    from sqlalchemy import select

    result = conn.execution_options(yield_per=BATCH).execute(
        select(*table.columns).order_by(*table.primary_key.columns))
    try:
        for batch in result.partitions(BATCH):
            yield [tuple(row) for row in batch]
    except ValueError as exc:  # a value SQLite kept that its column type cannot read
        raise DatabaseError(f"cannot read {table.name}: {exc}; run 'swp check' on the source") from None


def _digest(conn: Connection, table: Table) -> _Digest:
    digest = _Digest()
    for batch in _rows(conn, table):
        digest.add(batch)
    return digest


def facts(session: Session, *, digests: dict[str, _Digest] | None = None) -> Facts:
    """The facts a copy must share with its source (digests: already computed while copying)."""
    from swp.services import audit, ledger
    from swp.services.sharing import workout

    conn = session.connection()
    tables = _metadata_tables()
    found = digests if digests is not None else {t.name: _digest(conn, t) for t in tables}
    verified = audit.verify(session)
    _, head = audit.head(session)
    balance = ledger.balance(session)
    return Facts(
        tables={t.name: found[t.name].count for t in tables},
        digests={t.name: found[t.name].hex for t in tables},
        audit_ok=verified.ok, audit_events=verified.events, audit_head=head,
        audit_first_bad=verified.first_bad,
        income_pence=balance.income_pence, expenses_pence=balance.expenses_pence,
        loans_pence=balance.loans_pence, by_category=balance.by_category,
        reserve_pence=workout.reserve_balance(session))


def _check_source_shape(conn: Connection, display: str) -> None:
    """Only swp's own tables and columns can be copied whole: refuse anything more."""
    known = {t.name: {c.name for c in t.columns} for t in _metadata_tables()}
    found = table_columns(conn)
    extra_tables = sorted(set(found) - set(known) - {"alembic_version"})
    if extra_tables:
        raise DatabaseError(f"{display} holds tables swp does not know ({', '.join(extra_tables)}); "
                            "they would not be copied, so nothing was (see 'swp check')")
    extra_columns = sorted(f"{name}.{column}" for name, columns in found.items() if name in known
                           for column in set(columns) - known[name])
    if extra_columns:
        raise DatabaseError(f"{display} has columns swp does not know ({', '.join(extra_columns)}); "
                            "they would not be copied, so nothing was (see 'swp check')")


def _write(source_conn: Connection, target_conn: Connection, table: Table, later: list[_Later]) -> _Digest:
    """Copy one table's rows; returns the digest of what was read. What must wait (each closed
    proposal's result) is added to `later` as (statement, rows)."""
    from sqlalchemy import bindparam, insert, update

    digest = _Digest()
    names = [c.name for c in table.columns]
    results: list[dict[str, Any]] = []
    for batch in _rows(source_conn, table):
        digest.add(batch)
        rows = [dict(zip(names, row, strict=True)) for row in batch]
        if table.name == "proposal":
            for row in rows:
                if row["status"] != "open":
                    results.append({"_id": row["id"], **{k: row[k] for k in PROPOSAL_RESULT}})
                row.update(PROPOSAL_RESULT)
        target_conn.execute(insert(table), rows)
    if results:
        later.append((update(table).where(table.c.id == bindparam("_id")).values(
            **{k: bindparam(k) for k in PROPOSAL_RESULT}), results))
    return digest


def _differences(source: Facts, copy: Facts) -> list[str]:
    problems = []
    for name, rows in source.tables.items():
        if copy.tables.get(name) != rows:
            problems.append(f"{name} has {copy.tables.get(name)} rows, not {rows}")
        elif copy.digests.get(name) != source.digests[name]:
            problems.append(f"{name}'s rows differ")
    if not copy.audit_ok:
        problems.append(f"the audit chain does not verify (event {copy.audit_first_bad})")
    if (copy.audit_events, copy.audit_head) != (source.audit_events, source.audit_head):
        problems.append("the audit head differs")
    if (copy.income_pence, copy.expenses_pence, copy.loans_pence, copy.by_category) != (
            source.income_pence, source.expenses_pence, source.loans_pence, source.by_category):
        problems.append("the ledger balance differs")
    if copy.reserve_pence != source.reserve_pence:
        problems.append("the reserve differs")
    return problems


def _prepare_target(target: Target) -> bool:
    """Refuse a target that is not empty; create a SQLite file (0600). True if it was created."""
    if target.path is not None:
        check_file(target, creating=True)
        if not target.path.exists():
            create_file(target.path)
            return True
    return False


def _remove_created(target: Target) -> None:
    if target.path is None:
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        extra = target.path.with_name(target.path.name + suffix)
        if extra.exists():
            extra.unlink()


def copy(db: str | None, to: str) -> CopySummary:
    """Copy the practice at `db` into the empty database `to`, in one transaction there."""
    from swp.services import audit

    if not to or not to.strip():
        raise InputError("--to needs a database: a SQLite file path or a URL (postgresql+psycopg://...)")
    source_db = open_database(db)
    target = resolve(to.strip())
    if target.url == source_db.target.url:
        raise InputError("--to names the practice's own database; copy it to another one")
    created = False
    target_db = Database(target)
    try:
        with source_db.transaction(write=False) as source:
            source_conn = source.connection()
            _check_source_shape(source_conn, source_db.target.display)
            chain = audit.verify(source)
            if not chain.ok:
                raise CheckFailed(f"the practice's audit chain is broken at event {chain.first_bad}; "
                                  "nothing was copied (see 'swp audit verify')")
            created = _prepare_target(target)
            with target_db.transaction(write=True, check=False) as copy_session:
                target_conn = copy_session.connection()
                if table_names(target_conn):
                    raise DatabaseError(f"{target.display} is not empty; swp db copy needs an empty database")
                migrate(target_conn)
                check_schema(target_conn, target)
                digests: dict[str, _Digest] = {}
                later: list[_Later] = []
                for table in _metadata_tables():
                    digests[table.name] = _write(source_conn, target_conn, table, later)
                    if table.name == "vote":  # the votes are in: set each closed proposal's result
                        for statement, rows in later:
                            target_conn.execute(statement, rows)
                        later.clear()
                for statement, rows in later:
                    target_conn.execute(statement, rows)
                reset_sequences(target_conn, _metadata_tables())
                source_facts = facts(source, digests=digests)
                copied = facts(copy_session)
                problems = _differences(source_facts, copied)
                if problems:
                    raise CheckFailed("the copy does not match the practice, so nothing was written: "
                                      + "; ".join(problems))
    except BaseException:
        target_db.dispose()
        if created:
            _remove_created(target)
        raise
    finally:
        source_db.dispose()
    target_db.dispose()
    return CopySummary(
        source=source_db.target.display, target=target.display, tables=copied.tables,
        audit_events=copied.audit_events, audit_head=copied.audit_head,
        income_pence=copied.income_pence, expenses_pence=copied.expenses_pence,
        loans_pence=copied.loans_pence, reserve_pence=copied.reserve_pence,
        checks=("rows", "audit", "balance", "reserve"))
