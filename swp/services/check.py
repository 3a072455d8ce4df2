"""`swp check`: every invariant of the constitution and the books, in one report.

Each check looks at the database as it is (whatever wrote it: swp, another tool, a restored
backup) and lists every problem it finds; none stops at the first. The constitution's checks
reuse the pure rules of `swp.rules`, the same ones the commands ask before they write. Bulk
checks over the ledger are SQL aggregates, so the report stays quick on large books.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased
from sqlmodel import col

from swp import rules
from swp.clock import today
from swp.db import storage_problems, table_columns
from swp.errors import SwpError
from swp.models import (
    Allocation,
    AuditEvent,
    Clause,
    DeficitSettlement,
    LedgerEntry,
    Loan,
    Member,
    MemberFact,
    Period,
    Practice,
    Proposal,
    Vote,
)
from swp.services import audit

if TYPE_CHECKING:
    from types import ModuleType

    from sqlalchemy import ColumnElement, Row, Table
    from sqlalchemy.orm import Session

SHOWN = 10  # at most this many offenders are named per kind of problem


@dataclass(frozen=True)
class Problem:
    check: str
    message: str
    clause: str | None = None


@dataclass(frozen=True)
class Report:
    problems: tuple[Problem, ...]
    checks: tuple[str, ...]
    skipped: tuple[str, ...] = field(default_factory=tuple)
    notices: tuple[str, ...] = field(default_factory=tuple)  # worth knowing, not a problem

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        """The JSON adds ok, first."""
        return {"ok": self.ok, "problems": list(self.problems),
                "checks": list(self.checks), "skipped": list(self.skipped),
                "notices": list(self.notices)}


class _Found:
    """Collects the problems of one check."""

    def __init__(self, check: str) -> None:
        self.check = check
        self.items: list[Problem] = []

    def add(self, message: str, clause: str | None = None) -> None:
        self.items.append(Problem(self.check, message, clause))

    def violations(self, found: Iterable[rules.Violation]) -> None:
        for v in found:
            self.add(v.message, v.clause)

    def some(self, rows: Sequence[Any], describe: Callable[..., str], *, total: int | None = None,
             clause: str | None = None) -> None:
        """`describe(row)` names one offender (typed `...`: mypy cannot infer a lambda that binds
        a loop variable by a default, `lambda r, g=g: ...`, against a one-argument Callable)."""
        for row in rows[:SHOWN]:
            self.add(describe(row), clause)
        total = len(rows) if total is None else total
        if total > SHOWN:
            self.add(f"... and {total - SHOWN} more like these", clause)


def run(session: Session) -> Report:
    """Run every check; a check that cannot run (unreadable data) is itself a problem."""
    on = today()
    session.info.pop("swp_check_groups", None)
    session.info.pop("swp_check_signed", None)
    checks: list[tuple[str, Callable[[Session, _Found], None]]] = [
        ("constitution", lambda s, f: _constitution(s, f)),
        ("membership", lambda s, f: _membership(s, f, on)),
        ("shares", lambda s, f: _shares(s, f)),
        ("defences", lambda s, f: _defences(s, f)),
        ("votes", lambda s, f: _votes(s, f)),
        ("proposals", lambda s, f: _proposals(s, f)),
        ("ledger", lambda s, f: _ledger(s, f, on)),
        ("loans", lambda s, f: _loans(s, f)),
        ("bank", lambda s, f: _bank(s, f)),
        ("periods", lambda s, f: _periods(s, f)),
        ("audit", lambda s, f: _audit(s, f)),
        ("statutory", lambda s, f: _statutory(s, f, on)),
        ("signed-rows", lambda s, f: _signed_rows(s, f)),
        ("admissions", lambda s, f: _admissions(s, f)),
        ("keys", lambda s, f: _keys(s, f)),
    ]
    problems: list[Problem] = []
    names: list[str] = []
    skipped: list[str] = []
    for name, fn in checks:
        names.append(name)
        found = _Found(name)
        try:
            with session.begin_nested():  # a failing check leaves the others able to run
                fn(session, found)
        except (SwpError, SQLAlchemyError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
            reason = getattr(exc, "message", None) or str(getattr(exc, "orig", None) or exc)
            found.add(f"could not be checked: {reason.splitlines()[0] if reason else type(exc).__name__}")
        problems.extend(found.items)
    # the engine's own checks of its storage (SQLite's); a server keeps its own
    for name, messages in storage_problems(session.connection()).items():
        if messages is None:
            skipped.append(name)
            continue
        names.append(name)
        found = _Found(name)
        found.some(messages, str)
        problems.extend(found.items)
    return Report(tuple(problems), tuple(names), tuple(skipped),
                  tuple(_unshared(session) + _unsigned_founding(session)))


def unshared_entries(session: Session) -> tuple[int, date | None, date | None]:
    """Income and expense entries dated before the first closed period: as periods follow one
    another, no period will ever share them. (count, first date, first period's start)"""
    first = session.execute(select(func.min(col(Period.start)))).scalar_one()
    if first is None:
        return 0, None, None
    count, earliest = session.execute(
        select(func.count(), func.min(col(LedgerEntry.date)))
        .where(col(LedgerEntry.date) < first, col(LedgerEntry.kind).in_(("income", "expense")))).one()
    return int(count), earliest, first


def _unshared(session: Session) -> list[str]:
    count, earliest, first = unshared_entries(session)
    if not count:
        return []
    return [f"{count:,} income or expense entries ({earliest} to the day before {first}) are "
            "dated before the first closed period: no period will ever share them"]


def _unsigned_founding(session: Session) -> list[str]:
    """Changes recorded unsigned while the practice was founded (before its first manager was
    admitted, anyone may act, and a change made without --as is not signed), other than the
    founding event itself, which no member can sign: nobody is a member yet."""
    rows = session.execute(
        select(col(AuditEvent.seq)).where(col(AuditEvent.outcome) == "ok", col(AuditEvent.signature).is_(None),
                                          col(AuditEvent.real_at).is_not(None), col(AuditEvent.seq) > 1)
        .order_by(col(AuditEvent.seq)).limit(SHOWN + 1)).scalars().all()
    if not rows:
        return []
    named = ", ".join(map(str, rows[:SHOWN])) + (", ..." if len(rows) > SHOWN else "")
    return [f"changes made while the practice was founded, before its first manager, without "
            f"--as are unsigned (events {named}): anyone could have made them; check them in "
            "'swp audit log'"]


def _bank(session: Session, found: _Found) -> None:
    """Every balance assertion (`swp ledger reconcile`) still holds."""
    from swp.money import format_pence
    from swp.services.banking import assertions

    for a in assertions(session):
        if not a.holds:
            found.add(f"the bank's balance at the end of {a.date} was recorded as "
                      f"{format_pence(a.balance_pence)}, but the books' bank account now says "
                      f"{format_pence(a.books_pence)}")


# --- the constitution ----------------------------------------------------------------------


def _constitution(session: Session, found: _Found) -> None:
    rows = {c.name: (c.value, bool(c.entrenched), c.changed_by)
            for c in session.execute(select(Clause)).scalars()}
    found.violations(rules.clause_table_violations(rows))
    # an amendable clause changes only by a passed resolution: its value is the last passed
    # amendment's, or (never amended) the founding value
    founding = _founding_values(session)
    passed = session.execute(
        select(Proposal).where(col(Proposal.action) == "amend", col(Proposal.status) == "passed")
        .order_by(col(Proposal.closed_at), col(Proposal.id))).scalars()
    last: dict[str, Proposal] = {}
    for proposal in passed:
        last[proposal.clause or ""] = proposal
    for spec in rules.AMENDABLE:
        if spec.name not in rows:
            continue
        value = rows[spec.name][0]
        if spec.name in last:
            proposal = last[spec.name]
            if value != proposal.value:
                found.add(f"{spec.name} is {value}, but resolution #{proposal.id}, the last to "
                          f"amend it, set {proposal.value}: it was changed without a resolution",
                          spec.name)
        elif founding is not None and value != founding.get(spec.name):
            found.add(f"{spec.name} is {value}, but it was founded as {founding.get(spec.name)} "
                      "and no resolution has amended it", spec.name)


def _founding_values(session: Session) -> dict[str, str] | None:
    """The founding constitution, from the practice.founded event (before action names, from
    `swp init`'s arguments); None if it cannot be read."""
    from swp.services.practice import founding_clauses

    event = session.execute(
        select(AuditEvent).where(col(AuditEvent.seq) == 1)).scalar_one_or_none()
    if event is None:
        return None
    if event.real_at is not None:
        try:
            for name, body in json.loads(event.payload or "[]"):
                if name == "practice.founded":
                    return {str(k): str(v) for k, v in body["clauses"].items()}
        except (ValueError, KeyError, AttributeError, TypeError):
            return None
        return None
    if event.command != "init":
        return None
    try:
        settings = json.loads(event.args).get("settings") or []
        return founding_clauses([str(s) for s in settings])
    except (ValueError, AttributeError, SwpError):
        return None


# --- the members ---------------------------------------------------------------------------


def _membership(session: Session, found: _Found, on: date) -> None:
    clauses = {c.name: c.value for c in session.execute(select(Clause)).scalars()}
    members = list(session.execute(select(Member).order_by(col(Member.handle))).scalars())
    facts: dict[int, MemberFact] = {}
    for fact in session.execute(select(MemberFact).order_by(col(MemberFact.member_id),
                                                            col(MemberFact.effective))).scalars():
        facts[fact.member_id] = fact
    roster = []
    for m in members:
        if m.left_on is not None and m.left_on < m.employed_since:
            found.add(f"{m.handle} left ({m.left_on}) before they were employed ({m.employed_since})",
                      "employees-only")
        if m.id not in facts:
            found.add(f"{m.handle} has no role or hours recorded: not a known employee",
                      "employees-only")
            if rules.looks_like_organisation(m.name):
                found.add(f"{m.name!r} is an organisation; only employed people can be members",
                          "employees-only")
            continue
        if m.left_on is None or m.left_on >= on:
            f = facts[m.id]
            roster.append(rules.Person(m.handle, m.name, f.role, f.hours_hundredths,
                                       m.employed_since, m.left_on, registration=m.registration))
    found.violations(rules.roster_violations(clauses, roster))


# --- the database's own defences ---------------------------------------------------------


def _migration(filename: str) -> ModuleType:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"swp_migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_triggers(dialect: str) -> dict[str, str]:
    """Every trigger the schema should have, by name, with the table it guards: from every
    revision's lists of guarded tables (APPEND_ONLY, NO_DELETE, CONDITIONAL) and guards()."""
    from pathlib import Path

    names: dict[str, str] = {}
    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    for path in sorted(versions.glob("0*.py")):
        module = _migration(path.name)
        append_only, no_delete = getattr(module, "APPEND_ONLY", ()), getattr(module, "NO_DELETE", ())
        names |= {f"{t}_append_only_{e}": t for t in append_only for e in ("update", "delete")}
        names |= {f"{t}_no_delete": t for t in no_delete}
        names |= {name: table for name, table, *_ in getattr(module, "CONDITIONAL", ())}
        if hasattr(module, "guards"):
            names |= {name: table for name, table, *_ in module.guards(dialect)}
        if dialect == "postgresql":
            names |= {f"{t}_no_truncate": t for t in (*append_only, *no_delete)}
    return names


def expected_constraints() -> dict[str, str]:
    """Every named CHECK and UNIQUE constraint of the schema, with its table."""
    from sqlalchemy import CheckConstraint, UniqueConstraint

    from swp.models import metadata

    found = {}
    for table in metadata().tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, (CheckConstraint, UniqueConstraint)) and \
                    isinstance(constraint.name, str):
                found[constraint.name] = table.name
    return found


def expected_indexes() -> dict[str, tuple[str, bool]]:
    """Every named index of the schema: its table, and whether it is unique (one that refuses a
    second row, like a second reversal of the same entry)."""
    from swp.models import metadata

    return {index.name: (table.name, bool(index.unique)) for table in metadata().tables.values()
            for index in table.indexes if isinstance(index.name, str)}


def expected_unique_columns(indexes: set[str]) -> set[tuple[str, tuple[str, ...]]]:
    """The columns that must be held unique, by table: each table's primary key; those declared
    unique without a name of their own (a member's handle, an entry's ref, a period's label...),
    whatever the database called their constraint; and those of each named unique index among
    `indexes` (the ones there by name), so that one replaced by a plain index of the same name
    is found too."""
    from sqlalchemy import UniqueConstraint

    from swp.models import metadata

    wanted = set()
    for table in metadata().tables.values():
        wanted.add((table.name, tuple(c.name for c in table.primary_key.columns)))  # (every table has one)
        wanted |= {(table.name, tuple(c.name for c in constraint.columns)) for constraint in table.constraints
                   if isinstance(constraint, UniqueConstraint) and not isinstance(constraint.name, str)}
        wanted |= {(table.name, tuple(c.name for c in index.columns)) for index in table.indexes
                   if index.unique and isinstance(index.name, str) and index.name in indexes}
    return wanted


def _unique_column_sets(session: Session, tables: set[str]) -> dict[str, set[tuple[str, ...]]]:
    """Each table's sets of columns that the database holds unique now (its primary key,
    constraints and unique indexes, as SQLAlchemy reads them on either backend)."""
    from sqlalchemy import inspect

    from swp.db import tables_schema

    conn = session.connection()
    inspector = inspect(conn)
    schema = tables_schema(conn)  # where the tables are found, not the first schema on the path
    present = set(inspector.get_table_names(schema=schema))
    held: dict[str, set[tuple[str, ...]]] = {}
    for table in sorted(tables & present):
        sets = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table, schema=schema)}
        key = inspector.get_pk_constraint(table, schema=schema).get("constrained_columns") or []
        if key:
            sets.add(tuple(key))
        sets |= {tuple(c for c in i["column_names"] if c is not None)
                 for i in inspector.get_indexes(table, schema=schema) if i.get("unique")}
        held[table] = sets
    return held


def _defences(session: Session, found: _Found) -> None:
    """Every trigger, constraint and index the schema should have is there: one dropped (by
    anyone with the database file) is reported, never silently missed."""
    from swp.db import defences

    dialect, triggers, constraints, indexes = defences(session.connection())
    for name, table in sorted(expected_triggers(dialect).items()):
        if name not in triggers:
            found.add(f"the trigger {name} on {table} is missing: the database no longer refuses "
                      "what it guarded (restore it with a backup, or ask who dropped it)")
    for name, table in sorted(expected_constraints().items()):
        if name not in constraints:
            found.add(f"the constraint {name} on {table} is missing")
    for name, (table, unique) in sorted(expected_indexes().items()):
        if name not in indexes:
            found.add(f"the unique index {name} on {table} is missing: the database no longer "
                      "refuses a second row it refused (restore it with a backup, or ask who dropped it)"
                      if unique else f"the index {name} on {table} is missing: what reads {table} "
                      "by it is slow (restore it with a backup, or ask who dropped it)")
    wanted = expected_unique_columns(indexes)
    held = _unique_column_sets(session, {table for table, _ in wanted})
    for table, columns in sorted(wanted):
        if table in held and columns not in held[table]:
            found.add(f"{table}.{', '.join(columns)} is no longer unique: the database no longer "
                      "refuses two rows with the same value (restore it with a backup, or ask who "
                      "dropped it)")


# --- no shares -----------------------------------------------------------------------------


def _shares(session: Session, found: _Found) -> None:
    found.violations(rules.schema_violations(_columns(session)))
    # one problem for each group of entries (category and accounts), and each name once
    reported: set[str] = set()
    for group in _ledger_groups(session):
        names = list(dict.fromkeys((group.category, group.debit, group.credit)))
        capital = rules.income_category_violations(group.category) if group.kind == "income" else []
        for v in capital:
            found.add(f"income is booked under {group.category!r}: {v.message}", v.clause)
        shares = [] if capital else [n for n in names if n not in reported and rules.names_shares(n)]
        if shares:
            found.add(f"the ledger uses {' and '.join(map(repr, shares))}: the practice has no "
                      "share capital of any kind", "no-share-issuance")
        if capital or shares:
            reported.update(names)


def _columns(session: Session) -> dict[str, list[str]]:
    """Every table and its columns (swp.db reads them in one query)."""
    return table_columns(session.connection())


# --- votes and proposals -------------------------------------------------------------------


def _votes(session: Session, found: _Found) -> None:
    # one vote per member per proposal: versions 1..n, the highest counting
    rows: Sequence[Any] = session.execute(
        select(col(Vote.proposal_id), col(Member.handle), func.count(), func.min(col(Vote.version)),
               func.max(col(Vote.version)))
        .join(Member, col(Member.id) == col(Vote.member_id))
        .group_by(col(Vote.proposal_id), col(Member.handle))
        .having(or_(func.min(col(Vote.version)) != 1, func.max(col(Vote.version)) != func.count()))
        .order_by(col(Vote.proposal_id), col(Member.handle))).all()
    found.some(rows, lambda r: f"{r[1]} has {r[2]} votes on proposal #{r[0]} numbered "
                               f"{r[3]} to {r[4]}: a vote was added outside swp (one member, "
                               "one vote: a changed vote takes the next number)",
               clause="one-member-one-vote")
    # only members vote, and only while the proposal is open
    rows = session.execute(
        select(col(Vote.proposal_id), col(Member.handle), col(Vote.cast_on), col(Member.left_on))
        .join(Member, col(Member.id) == col(Vote.member_id))
        .where(col(Member.left_on).is_not(None), col(Member.left_on) < col(Vote.cast_on))
        .order_by(col(Vote.proposal_id), col(Member.handle))).all()
    found.some(rows, lambda r: f"{r[1]} voted on proposal #{r[0]} on {r[2]}, after leaving on "
                               f"{r[3]}: a former member has no vote",
               clause="one-member-one-vote")
    rows = session.execute(
        select(col(Vote.proposal_id), col(Member.handle), col(Vote.cast_on), col(Member.employed_since))
        .join(Member, col(Member.id) == col(Vote.member_id))
        .where(col(Vote.cast_on) < col(Member.employed_since))
        .order_by(col(Vote.proposal_id), col(Member.handle))).all()
    found.some(rows, lambda r: f"{r[1]} voted on proposal #{r[0]} on {r[2]}, before their membership "
                               f"began on {r[3]}: only members vote",
               clause="one-member-one-vote")
    rows = session.execute(
        select(col(Vote.proposal_id), col(Member.handle), col(Vote.cast_on), col(Proposal.closed_on))
        .join(Member, col(Member.id) == col(Vote.member_id))
        .join(Proposal, col(Proposal.id) == col(Vote.proposal_id))
        .where(col(Proposal.closed_on).is_not(None), col(Vote.cast_on) > col(Proposal.closed_on))
        .order_by(col(Vote.proposal_id), col(Member.handle))).all()
    found.some(rows, lambda r: f"{r[1]} voted on proposal #{r[0]} on {r[2]}, after it closed on "
                               f"{r[3]}", clause="one-member-one-vote")
    # a closed proposal's recorded result is its members' latest votes, counted once each
    latest = (select(col(Vote.proposal_id), col(Vote.member_id), func.max(col(Vote.version)).label("version"))
              .group_by(col(Vote.proposal_id), col(Vote.member_id)).subquery())
    counted = session.execute(
        select(col(Proposal.id), col(Vote.choice), func.count())
        .join(latest, latest.c.proposal_id == col(Proposal.id))
        .join(Vote, and_(col(Vote.proposal_id) == latest.c.proposal_id,
                         col(Vote.member_id) == latest.c.member_id, col(Vote.version) == latest.c.version))
        .join(Member, col(Member.id) == col(Vote.member_id))
        .where(col(Proposal.status) != "open",
               or_(col(Member.left_on).is_(None), col(Member.left_on) >= col(Proposal.closed_on)))
        .group_by(col(Proposal.id), col(Vote.choice))).all()
    tallies: dict[int | None, dict[str, int]] = {}
    for pid, choice, n in counted:
        tallies.setdefault(pid, {"yes": 0, "no": 0, "abstain": 0})[choice] = n
    closed = session.execute(select(Proposal).where(col(Proposal.status) != "open")
                             .order_by(col(Proposal.id))).scalars()
    for p in closed:
        recount = tallies.get(p.id, {"yes": 0, "no": 0, "abstain": 0})
        recorded = {"yes": p.yes, "no": p.no, "abstain": p.abstain}
        if recount != recorded:
            found.add(f"proposal #{p.id} records yes {p.yes}, no {p.no}, abstain {p.abstain}, but "
                      f"its members' votes count yes {recount['yes']}, no {recount['no']}, "
                      f"abstain {recount['abstain']}", "one-member-one-vote")


def _proposals(session: Session, found: _Found) -> None:
    proposals = list(session.execute(select(Proposal).order_by(col(Proposal.id))).scalars())
    for p in proposals:
        try:
            violations = rules.proposal_violations(action=p.action, clause=p.clause,
                                                   target=p.target, target_kind=p.target_kind)
        except SwpError as exc:
            found.add(f"proposal #{p.id} ({p.action}) names no known kind of body: {exc.message}",
                      "no-demutualisation" if p.action == "merge" else "asset-lock")
            continue
        for v in violations:
            found.add(f"proposal #{p.id} ({p.status}): {v.message}", v.clause)
        if p.status == "open":
            continue
        if p.closed_on is None:
            found.add(f"proposal #{p.id} is {p.status} but has no closing date")
        if p.status == "passed" and (not p.quorum_met or not (p.yes or 0) > 0
                                     or (p.yes or 0) + (p.no or 0) + (p.abstain or 0) < 2):
            found.add(f"proposal #{p.id} is recorded as passed without a quorum and a yes "
                      f"majority (yes {p.yes}, no {p.no}, abstain {p.abstain})",
                      "one-member-one-vote")
        if p.status == "passed" and p.action == "expel":
            member = session.execute(select(Member).where(col(Member.handle) == p.target)).scalar_one_or_none()
            if member is not None and p.closed_on is not None and (
                    member.left_on is None or member.left_on > p.closed_on):
                found.add(f"{p.target} was expelled by resolution #{p.id} on {p.closed_on} but is "
                          "still a member")
        if p.status == "passed" and p.action == "amend" and p.clause == "member.left":
            member = session.execute(select(Member).where(col(Member.handle) == p.target)).scalar_one_or_none()
            ends = max(p.value or "", p.closed_on.isoformat() if p.closed_on else "")
            if member is not None and ends and (member.left_on is None
                                                or member.left_on.isoformat() > ends):
                found.add(f"resolution #{p.id} recorded that {p.target}'s employment ends on "
                          f"{ends}, but they are still a member after it")
    practice = session.get(Practice, 1)
    if practice is None:
        found.add("the database holds no practice")
        return
    _resolved(session, found, proposals, practice)
    decided = {"merging": "merge", "dissolving": "dissolve"}
    if practice.status != "active":
        action = decided.get(practice.status)
        if action is None or not any(p.action == action and p.status == "passed" for p in proposals):
            found.add(f"the practice is recorded as {practice.status!r} without a passed "
                      "resolution deciding it", "no-demutualisation")


def _roster_on(session: Session, on: date, at: datetime | None = None) -> list[rules.Person]:
    """The members as they stood on `on` (at the moment `at`, when known): admitted by then and
    not yet left, with the facts then in force. A member admitted later was not on the roll."""
    def admitted(m: Member) -> bool:
        if at is None:
            return m.admitted_at.date() <= on
        return _utc(m.admitted_at) <= _utc(at)

    members = [m for m in session.execute(select(Member)).scalars()
               if (m.left_on is None or m.left_on >= on) and admitted(m)]
    facts: dict[int, MemberFact] = {}
    for fact in session.execute(select(MemberFact).order_by(col(MemberFact.member_id),
                                                            col(MemberFact.effective))).scalars():
        if fact.member_id not in facts or fact.effective <= on:
            facts[fact.member_id] = fact
    return [rules.Person(m.handle, m.name, facts[m.id].role, facts[m.id].hours_hundredths,
                         m.employed_since, m.left_on, registration=m.registration)
            for m in members if m.id in facts]


def _utc(moment: datetime) -> datetime:
    """A stored moment as naive UTC (SQLite gives naive UTC back, PostgreSQL an aware one)."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _resolved(session: Session, found: _Found, proposals: list[Proposal], practice: Practice) -> None:
    """What only a resolution may decide, and how resolutions were closed."""
    from swp.services.governance import proposed_on

    clauses = {c.name: c.value for c in session.execute(select(Clause)).scalars()}
    for p in proposals:
        if p.status == "open" or p.closed_on is None:
            continue
        roster = _roster_on(session, p.closed_on, p.closed_at)
        counts = rules.Tally(p.yes or 0, p.no or 0, p.abstain or 0)
        for v in rules.notice_violations(clauses, p.kind, counts, len(roster), proposed_on(p),
                                         p.closed_on, ending=rules.ends_membership(p.action, p.clause)):
            found.add(f"proposal #{p.id} was closed on {p.closed_on}, before its notice period was "
                      f"over and with votes still able to change it ({v.message})", v.clause)
        if p.status == "passed":
            for v in rules.frontline_close_violations(roster, p.action, p.clause, p.value):
                found.add(f"proposal #{p.id} passed on {p.closed_on} while {v.message}", v.clause)
    # a member becomes a practitioner on admission, or by an ordinary resolution: never by
    # a manager's relabelling (or a row written in)
    made = {(p.target, p.closed_on) for p in proposals
            if p.status == "passed" and p.action == "amend" and p.clause == "member.role"}
    handles: dict[int, str] = {cast(int, i): h for i, h in session.execute(select(col(Member.id), col(Member.handle))).all()}
    before: dict[int, str] = {}
    for fact in session.execute(select(MemberFact).order_by(col(MemberFact.member_id),
                                                            col(MemberFact.effective))).scalars():
        earlier = before.get(fact.member_id)
        handle = handles.get(fact.member_id, "?")
        if fact.role == "practitioner" and earlier is not None and earlier != "practitioner" \
                and (handle, fact.effective) not in made:
            found.add(f"{handle} became a practitioner on {fact.effective} without a resolution "
                      "making them one", "frontline-majority")
        before[fact.member_id] = fact.role
    # the local authority: the founding one, or the last a special resolution made it
    last = [p for p in proposals if p.status == "passed" and p.action == "amend"
            and p.clause == "practice.local-authority"]
    expected = last[-1].value if last else _founding_authority(session)
    if expected is not None and practice.local_authority != expected:
        found.add(f"the practice's local authority is {practice.local_authority!r}, but "
                  f"{'resolution #' + str(last[-1].id) if last else 'its founding'} made it "
                  f"{expected!r}: it was changed without a special resolution",
                  "contracts.own-authority-only")
    # shared costs: no more on the practice than the split its members agreed
    from swp.models import Partner, SharedCost

    agreed: dict[str, int] = {}
    for p in proposals:
        if p.status == "passed" and p.action == "amend" and p.clause == "partner.split":
            agreed[p.target or ""] = int(p.value or 0)
    rows = session.execute(select(SharedCost, col(Partner.name))
                           .join(Partner, col(Partner.id) == col(SharedCost.partner_id))
                           .order_by(col(SharedCost.id))).all()
    for cost, name in rows:
        for v in rules.split_violations(name, agreed.get(name), cost.our_percent):
            found.add(f"the cost shared with {name} on {cost.date} ({cost.our_percent}%): "
                      f"{v.message}", v.clause)


def _founding_authority(session: Session) -> str | None:
    event = session.execute(
        select(AuditEvent).where(col(AuditEvent.command) == "init").order_by(col(AuditEvent.seq)).limit(1)
    ).scalar_one_or_none()
    if event is None:
        return None
    try:
        args = json.loads(event.args)
    except ValueError:
        return None
    value = args.get("local_authority") or args.get("local-authority")
    return value.strip() if isinstance(value, str) else None


# --- the books -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    """Ledger entries alike in kind, category, accounts and whether they reverse another."""

    kind: str
    category: str
    debit: str
    credit: str
    reversal: bool
    count: int
    total: int
    lowest: int

    def where(self) -> ColumnElement[bool]:
        reverses = col(LedgerEntry.reverses).is_not(None) if self.reversal else col(LedgerEntry.reverses).is_(None)
        return and_(col(LedgerEntry.kind) == self.kind, col(LedgerEntry.category) == self.category,
                    col(LedgerEntry.debit) == self.debit, col(LedgerEntry.credit) == self.credit, reverses)


def _ledger_groups(session: Session) -> list[_Group]:
    """The whole ledger in one scan, grouped: the checks below look at the few groups and go
    back to the rows only for a group that is wrong (so a million entries stay quick)."""
    info = session.info
    if "swp_check_groups" not in info:
        reversal = col(LedgerEntry.reverses).is_not(None)
        rows = session.execute(
            select(col(LedgerEntry.kind), col(LedgerEntry.category), col(LedgerEntry.debit), col(LedgerEntry.credit),
                   reversal, func.count(), func.sum(col(LedgerEntry.amount_pence)),
                   func.min(col(LedgerEntry.amount_pence)))
            .group_by(col(LedgerEntry.kind), col(LedgerEntry.category), col(LedgerEntry.debit),
                      col(LedgerEntry.credit), reversal)).all()
        info["swp_check_groups"] = [_Group(r[0], r[1], r[2], r[3], bool(r[4]), int(r[5]),
                                           int(r[6]), int(r[7])) for r in rows]
    groups: list[_Group] = info["swp_check_groups"]
    return groups


def _entries(session: Session, group: _Group, *extra: ColumnElement[bool]) -> tuple[Sequence[Row[int | None, int]], int]:
    """The first offending rows of a group (and how many there are)."""
    condition = and_(group.where(), *extra)
    rows = session.execute(select(col(LedgerEntry.id), col(LedgerEntry.amount_pence)).where(condition)
                           .order_by(col(LedgerEntry.id)).limit(SHOWN)).all()
    total = session.execute(select(func.count()).select_from(LedgerEntry).where(condition)).scalar_one()
    return rows, total


def _ledger(session: Session, found: _Found, on: date) -> None:
    from swp.services.ledger import has_its_accounts

    rows: Sequence[Any]
    groups = _ledger_groups(session)
    # debits equal credits: each entry moves one amount from one account to another, so over
    # all accounts the debit and credit sides must be equal
    by_account: dict[str, int] = {}
    for g in groups:
        by_account[g.debit] = by_account.get(g.debit, 0) + g.total
        by_account[g.credit] = by_account.get(g.credit, 0) - g.total
    if sum(by_account.values()) != 0:
        found.add(f"the ledger does not balance: debits minus credits is {sum(by_account.values())} "
                  f"pence over {len(by_account)} accounts")
    for g in groups:
        # each entry's accounts are the ones its kind uses
        if not has_its_accounts(g.kind, g.category, g.debit, g.credit):
            rows, total = _entries(session, g)
            found.some(rows, lambda r, g=g: f"entry #{r[0]} ({g.kind}) debits {g.debit} and "
                                            f"credits {g.credit}, not the accounts a {g.kind} uses",
                       total=total)
        # negative amounts are reversals
        if not g.reversal and g.lowest < 0:
            rows, total = _entries(session, g, col(LedgerEntry.amount_pence) < 0)
            found.some(rows, lambda r: f"entry #{r[0]} is negative ({r[1]} pence) but reverses "
                                       "nothing", total=total)
    # a reversal undoes exactly its entry
    if any(g.reversal for g in groups):
        original = aliased(LedgerEntry)
        rows = session.execute(
            select(col(LedgerEntry.id), col(original.id))
            .join(original, col(original.id) == col(LedgerEntry.reverses))
            .where(or_(col(LedgerEntry.amount_pence) != -original.amount_pence,
                       col(LedgerEntry.kind) != original.kind, col(LedgerEntry.category) != original.category,
                       col(LedgerEntry.debit) != original.debit, col(LedgerEntry.credit) != original.credit))
            .order_by(col(LedgerEntry.id))).all()
        found.some(rows, lambda r: f"entry #{r[0]} reverses #{r[1]} but does not undo it exactly "
                                   "(amount, kind, category or accounts differ)")
    _after_today(session, found, on)
    _paid_and_settled(session, found, groups)


def _after_today(session: Session, found: _Found, on: date) -> None:
    """No entry is dated after today (swp refuses one; the database cannot, as today moves).
    With a day's grace: the machine that recorded it (one of several on a PostgreSQL practice)
    may be in a time zone whose day had already begun. An entry and its reversal dated on the
    same day cancel out: neither is named (an entry wrongly dated after today is undone so, and
    then no longer reported)."""
    from swp.services.ledger import NOT_IN_ADVANCE

    reversal = aliased(LedgerEntry)
    original = aliased(LedgerEntry)
    condition = and_(
        col(LedgerEntry.date) > on + timedelta(days=1),
        ~select(col(reversal.id)).where(col(reversal.reverses) == col(LedgerEntry.id),
                                        col(reversal.date) == col(LedgerEntry.date)).exists(),
        ~select(col(original.id)).where(col(original.id) == col(LedgerEntry.reverses),
                                        col(original.date) == col(LedgerEntry.date)).exists())
    rows = session.execute(select(col(LedgerEntry.id), col(LedgerEntry.kind), col(LedgerEntry.date))
                           .where(condition).order_by(col(LedgerEntry.id)).limit(SHOWN)).all()
    if not rows:
        return
    total = session.execute(select(func.count()).select_from(LedgerEntry).where(condition)).scalar_one()
    found.some(rows, lambda r: f"entry #{r[0]} ({r[1]}) is dated {r[2]}, after today ({on}): "
                               f"{NOT_IN_ADVANCE}; reverse it (on its own day, as a reversal is "
                               "unless told otherwise) and record it on the day the money moved",
               total=total)


def _paid_and_settled(session: Session, found: _Found, groups: list[_Group]) -> None:
    """Share payments and settlements in the ledger add up to the payments and settlements
    recorded (each is written with its entries, in one transaction)."""
    from swp.models import ProfitPayment

    in_ledger = {kind: sum(g.total for g in groups if g.kind == kind)
                 for kind in ("share-payment", "settlement")}
    paid = int(session.execute(select(func.coalesce(func.sum(col(ProfitPayment.amount_pence)), 0))).scalar_one())
    settled = int(session.execute(select(func.coalesce(func.sum(col(DeficitSettlement.amount_pence)), 0))
                                  .where(col(DeficitSettlement.kind) == "settled")).scalar_one())
    if in_ledger["share-payment"] != paid:
        found.add(f"profit shares paid add up to {paid} pence, but the ledger's share payments to "
                  f"{in_ledger['share-payment']}")
    if in_ledger["settlement"] != settled:
        found.add(f"deficits settled add up to {settled} pence, but the ledger's settlements to "
                  f"{in_ledger['settlement']}")


def _loans(session: Session, found: _Found) -> None:
    rows: Sequence[Any] = session.execute(
        select(col(Loan.id), col(Loan.lender), col(Loan.amount_pence), col(LedgerEntry.id), col(LedgerEntry.kind),
               col(LedgerEntry.amount_pence))
        .outerjoin(LedgerEntry, col(LedgerEntry.id) == col(Loan.entry_id)).order_by(col(Loan.id))).all()
    for loan_id, lender, amount, entry_id, kind, entry_amount in rows:
        if entry_id is None:
            found.add(f"loan #{loan_id} from {lender} is not in the ledger")
        elif kind != "loan" or entry_amount != amount:
            found.add(f"loan #{loan_id} from {lender} ({amount} pence) is recorded as entry "
                      f"#{entry_id}, a {kind} of {entry_amount} pence: a loan is a liability, "
                      "not income")
    groups = _ledger_groups(session)
    linked = select(col(Loan.entry_id)).where(col(Loan.entry_id).is_not(None))
    borrowed = sum(g.count for g in groups if g.kind == "loan" and not g.reversal)
    with_terms = session.execute(
        select(func.count(func.distinct(col(Loan.entry_id))))
        .join(LedgerEntry, col(LedgerEntry.id) == col(Loan.entry_id))
        .where(col(LedgerEntry.kind) == "loan", col(LedgerEntry.reverses).is_(None))).scalar_one()
    for g in groups:
        if g.kind == "loan" and not g.reversal and borrowed > with_terms:
            rows, total = _entries(session, g, col(LedgerEntry.id).not_in(linked))
            found.some(rows, lambda r, g=g: f"entry #{r[0]} ({g.credit}) is a loan with no loan "
                                            "terms recorded", total=total)
        if g.kind == "income" and g.category in ("loan", "loans", "borrowing"):
            rows, total = _entries(session, g)
            found.some(rows, lambda r, g=g: f"entry #{r[0]} records borrowed money as income "
                                            f"({g.category}): a loan is a liability, never shared "
                                            "out as profit", total=total, clause="asset-lock")


def _periods(session: Session, found: _Found) -> None:
    periods = list(session.execute(select(Period).order_by(col(Period.start), col(Period.id))).scalars())
    reserve = 0
    previous_end: date | None = None
    carried: dict[int, tuple[Period, int]] = {}  # member id -> period and deficit of their last allocation
    # member id -> settlements and write-offs: (id, day, pence, when recorded)
    settled: dict[int, list[tuple[int, date, int, datetime]]] = {}
    settlement_ids: list[int] = []  # every settlement's id, in order
    for settlement_id, member_id, on, pence, at in session.execute(
            select(col(DeficitSettlement.id), col(DeficitSettlement.member_id), col(DeficitSettlement.settled_on),
                   col(DeficitSettlement.amount_pence), col(DeficitSettlement.recorded_at))
            .order_by(col(DeficitSettlement.settled_on), col(DeficitSettlement.id))):
        number = cast(int, settlement_id)  # stored: ids are set
        settled.setdefault(member_id, []).append((number, on, int(pence), at))
        settlement_ids.append(number)
    settlement_ids.sort()
    handles = {cast(int, member_id): handle  # stored members: ids are set
               for member_id, handle in session.execute(select(col(Member.id), col(Member.handle)))}
    marked: Period | None = None  # the latest period that recorded what its close counted
    for p in periods:
        name = f"period {p.label} ({p.start} to {p.end})"
        if previous_end is not None and p.start <= previous_end:
            found.add(f"{name} overlaps the period before it")
        previous_end = p.end
        if p.closed_at is not None and p.end > p.closed_at.date():
            found.add(f"{name} was closed on {p.closed_at.date()}, before it ended: a period is "
                      "closed once it is over, never in advance")
        sums = dict(session.execute(
            select(col(LedgerEntry.kind), func.sum(col(LedgerEntry.amount_pence)))
            .where(col(LedgerEntry.date) >= p.start, col(LedgerEntry.date) <= p.end)
            .group_by(col(LedgerEntry.kind))).all())
        income, expenses = int(sums.get("income") or 0), int(sums.get("expense") or 0)
        if (p.income_pence, p.expenses_pence) != (income, expenses):
            found.add(f"{name} was closed with income {p.income_pence} and expenses "
                      f"{p.expenses_pence} pence, but its entries now add up to {income} and "
                      f"{expenses}")
        if p.net_pence != p.income_pence - p.expenses_pence:
            found.add(f"{name}: net {p.net_pence} is not income {p.income_pence} minus expenses "
                      f"{p.expenses_pence}")
        if p.reserve_pence + p.distributable_pence != p.net_pence:
            found.add(f"{name}: reserve {p.reserve_pence} and distributable "
                      f"{p.distributable_pence} do not add up to net {p.net_pence}")
        if p.net_pence >= 0 and not 0 <= p.reserve_pence <= p.net_pence:
            found.add(f"{name}: a surplus of {p.net_pence} put {p.reserve_pence} into the reserve")
        if p.net_pence < 0:
            drawn = min(reserve, -p.net_pence)
            if p.reserve_pence != -drawn:
                found.add(f"{name}: a deficit of {-p.net_pence} with {reserve} in the reserve "
                          f"should draw {drawn} from it, not {-p.reserve_pence}", "asset-lock")
        reserve += p.reserve_pence
        if reserve < 0:
            found.add(f"{name}: the reserve falls below zero ({reserve})", "asset-lock")
        _counted(session, found, p, name, marked, settlement_ids)
        if p.settlements_upto is not None:
            marked = p
        _allocations(session, found, p, name, carried, handles, settled)
    # each close's fingerprint, recomputed from the books and the audit log as they are now
    from swp.services.sharing.closing import fingerprint_problems

    try:
        for message in fingerprint_problems(session):
            found.add(message)
    except (SwpError, ValueError, TypeError, KeyError) as exc:
        found.add(f"the periods' fingerprints could not be checked: {exc}")


def _counted(session: Session, found: _Found, p: Period, name: str, marked: Period | None,
             settlement_ids: list[int]) -> None:
    """What a close says it counted of the deficit settlements (`settlements_upto`: the last
    one it took off what members brought in) agrees with the periods before it, with the
    settlements there are, and with the order of the signed events that recorded the close and
    each settlement (the audit log's order, not the machines' clocks, which may differ)."""
    mark = p.settlements_upto
    if mark is None:
        # closed by an swp that counted by date: before 0024, or after 0024 was undone (a count
        # taken away from a later close is found by its signed row and its fingerprint)
        return
    if mark < 0 or (marked is not None and mark < cast(int, marked.settlements_upto)):
        found.add(f"{name} says its close counted deficit settlements up to #{mark}, fewer than "
                  + (f"the period {marked.label} before it (#{marked.settlements_upto})"
                     if marked is not None and mark >= 0 else "none"))
        return
    last = settlement_ids[-1] if settlement_ids else 0
    if mark > last:
        found.add(f"{name} says its close counted deficit settlements up to #{mark}, but the last "
                  f"one recorded is #{last}" if settlement_ids else
                  f"{name} says its close counted deficit settlements up to #{mark}, but none is recorded")
        return
    rows = _signed_events(session).rows
    closed = rows.get(("period", audit.canonical([p.id])))
    if closed is None:
        return  # a close no signed event records: named by the signed rows' check
    events = {i: rows[key][1] for i in settlement_ids
              if (key := ("deficit_settlement", audit.canonical([i]))) in rows}
    late = [i for i, seq in events.items() if i <= mark and seq > closed[1]]
    if late:
        found.add(f"{name} says its close counted deficit settlement #{late[0]}, which was recorded "
                  f"after the close (event {events[late[0]]}, the close's {closed[1]})")
    early = [i for i, seq in events.items() if i > mark and seq < closed[1]]
    if early:
        found.add(f"{name} says its close counted deficit settlements up to #{mark}, but #{early[0]} "
                  f"was recorded before the close (event {events[early[0]]}, the close's {closed[1]})")


def _allocations(session: Session, found: _Found, p: Period, name: str, carried: dict[int, tuple[Period, int]],
                 handles: dict[int, str], settled: dict[int, list[tuple[int, date, int, datetime]]]) -> None:
    from swp.services.sharing.workout import counted_by

    rows = list(session.execute(select(Allocation).where(col(Allocation.period_id) == p.id)
                                .order_by(col(Allocation.member_id))).scalars())
    total = sum(a.amount_pence for a in rows)
    if total != p.distributable_pence:
        found.add(f"{name}: allocations add up to {total}, not the distributable "
                  f"{p.distributable_pence}")
    members = {m.id: m for m in session.execute(
        select(Member).where(col(Member.id).in_([a.member_id for a in rows]))).scalars()}
    for a in rows:
        who = handles.get(a.member_id, f"member {a.member_id}")
        m = members.get(a.member_id)
        if m is not None and (m.employed_since > p.end or (m.left_on is not None
                                                           and m.left_on < p.start)):
            found.add(f"{name}: {who} was allocated {a.amount_pence} but was not a member on any "
                      "day of it", "asset-lock")
        if (a.payable_pence + a.carried_out_pence != a.amount_pence + a.carried_in_pence
                or a.payable_pence < 0 or a.carried_out_pence > 0 or a.carried_in_pence > 0):
            found.add(f"{name}: {who}'s allocation does not add up (share {a.amount_pence}, "
                      f"carried in {a.carried_in_pence}, payable {a.payable_pence}, carried out "
                      f"{a.carried_out_pence})")
        # what they brought in: their last period's deficit, less what they settled (or had
        # written off) after that period's close counted and by this one's (workout.counted_by)
        last, owed = carried.get(a.member_id, (None, 0))
        paid = sum(pence for i, on, pence, _at in settled.get(a.member_id, ())
                   if last is not None and not counted_by(last.settlements_upto, last.end, i, on)
                   and counted_by(p.settlements_upto, p.end, i, on))
        if a.carried_in_pence != min(0, owed + paid):
            found.add(f"{name}: {who} brings in a deficit of {a.carried_in_pence}, but carried "
                      f"{owed} out of their last period" + (f" and settled {paid} since" if paid else ""))
        # a period closed before closes recorded what they counted counted by date: one settled
        # on a day after the period ended but before it was closed was bounded by what was owed
        # without this period's share, which the close set against the same deficit again: what
        # that share and they paid come to above the deficit was lost (nothing is owed below zero)
        late = [(on, pence) for _i, on, pence, at in settled.get(a.member_id, ())
                if p.settlements_upto is None and on > p.end and p.closed_at is not None and at < p.closed_at]
        lost = a.carried_out_pence + sum(pence for _, pence in late)
        if late and lost > 0:
            found.add(f"{name}: {who} settled (or had written off) {sum(pence for _, pence in late)} of "
                      f"their deficit from {late[0][0]}, after the period ended and before it was "
                      f"closed, and their share of it was set against that deficit again: {lost} of "
                      "it was lost")
        carried[a.member_id] = (p, a.carried_out_pence)


# --- the audit log and the file ------------------------------------------------------------


def _audit(session: Session, found: _Found) -> None:
    result = audit.verify(session)
    if not result.ok:
        found.add(f"the audit chain is broken at event {result.first_bad}: {result.reason}")



def _statutory(session: Session, found: _Found, on: date) -> None:
    """An annual general meeting or an annual return whose lawful day has passed."""
    from swp.services import calendar

    for item in calendar.overdue_statutory(session, on):
        found.add(f"overdue since {item.due}: {item.what}", item.clause)


@dataclass
class _Signed:
    """What the signed events say they wrote: each row's values and the seq of the last event
    that wrote it; imports' ranges; whether rows from before signing may be there (legacy); and
    who signed the last event of each vote."""
    rows: dict[tuple[str, str], tuple[dict[str, Any], int]]
    ranges: dict[str, list[dict[str, Any]]]
    legacy: bool
    voted_by: dict[str, tuple[int, str | None]]


def _signed_events(session: Session) -> _Signed:
    """The audit log's signed rows, read once per check run (several checks ask)."""
    cached = session.info.get("swp_check_signed")
    if isinstance(cached, _Signed):
        return cached
    recorded: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}  # values, and the event's seq
    ranges: dict[str, list[dict[str, Any]]] = {}  # an import's rows, recorded as a range and a digest
    legacy = False
    voted_by: dict[str, tuple[int, str | None]] = {}  # vote row key -> (seq, signer) of its last event
    for seq, actor, real_at, payload in session.execute(
            select(col(AuditEvent.seq), col(AuditEvent.actor), col(AuditEvent.real_at), col(AuditEvent.payload))
            .where(col(AuditEvent.outcome) == "ok").order_by(col(AuditEvent.seq))):
        if real_at is None:
            legacy = True
            continue
        for name, body in json.loads(payload or "[]"):
            if name == audit.ROWS_ACTION:
                for row in body.get("rows", []):
                    recorded[(row["table"], row["key"])] = (row["values"], seq)
                    if row["table"] == "vote":
                        voted_by[row["key"]] = (seq, actor)
                for span in body.get("ranges", []):
                    ranges.setdefault(span["table"], []).append(span)
    if not any(table == "practice" for table, _ in recorded):
        legacy = True  # founded before signing (an upgraded practice): its rows predate events
    signed = _Signed(recorded, ranges, legacy, voted_by)
    session.info["swp_check_signed"] = signed
    return signed


def _signed_rows(session: Session, found: _Found) -> None:
    """Every row that records an act is as the last signed event that wrote it left it: a row
    written around swp (no event), edited after its event, or gone (swp never deletes one of
    these rows) is named, table and row."""
    from swp import models

    signed = _signed_events(session)
    recorded, ranges, legacy, voted_by = signed.rows, signed.ranges, signed.legacy, signed.voted_by
    classes: dict[str, Any] = {models.table_of(m).name: m for m in models.all_models()}
    around: list[str] = []
    edited: list[str] = []
    gone: list[str] = []
    present: dict[str, set[str]] = {}  # each table's keys as they are now
    handles = {i: h for i, h in session.execute(select(col(Member.id), col(Member.handle)))}
    recorded_keys: dict[str, set[str]] = {}
    for table, key in recorded:
        recorded_keys.setdefault(table, set()).add(key)
    for table in audit.RECORDED_TABLES:
        keys = present.setdefault(table, set())
        rows = classes[table].__table__
        spans = ranges.get(table, [])
        for span in spans:
            count, digest = audit.range_digest(session, rows, span["first"], span["last"])
            if (count, digest) != (span["count"], span["digest"]):
                edited.append(f"{table} rows {span['first']} to {span['last']} were changed after "
                              f"their signed import (now {count} rows; the import wrote {span['count']})")
        # an imported row (its range's digest above stands for it) is passed over unless an
        # event also recorded it on its own: a range's table is keyed by its id alone
        on_their_own = _ids(recorded_keys.get(table, ())) if spans else set()
        columns = list(rows.columns)
        key_at = [columns.index(c) for c in rows.primary_key.columns]
        for row in _rows_to_compare(session, rows, spans, on_their_own):
            key = audit.canonical([row[i] for i in key_at])
            name = _row_name(table, key)
            if key in keys:  # its key made no longer unique (the table remade around swp)
                around.append(f"{name} is there twice: a copy written around swp (no signed event writes a row twice)")
                continue
            keys.add(key)
            values = audit.plain_values(rows, row)
            seen = recorded[(table, key)][0] if (table, key) in recorded else None
            if seen is None:
                if not legacy:
                    around.append(f"{name} was written around swp: no signed event records it")
            elif seen != values and {**dict.fromkeys(values), **seen} != values:
                # a column the event does not name was added by a later revision: NULL then
                changed = sorted(k for k in values if seen.get(k) != values[k])
                edited.append(f"{name} was changed after its signed event ({', '.join(changed)})")
            if table == "vote" and key in voted_by and handles.get(values["member_id"]) != voted_by[key][1]:
                seq, signer = voted_by[key]
                edited.append(f"{name} is a vote by {handles.get(values['member_id'])}, but its event "
                              f"({seq}) was signed by {signer or 'nobody'}: a member casts only their own vote")
    for (table, key), (_, seq) in recorded.items():
        if table in present and key not in present[table]:
            gone.append(f"{_row_name(table, key)}, recorded by event {seq}, is gone: "
                        "deleted around swp (swp never deletes it)")
    found.some(around, str)
    found.some(edited, str)
    found.some(gone, str)


def _ids(keys: Iterable[str]) -> set[int]:
    """The ids of these row keys (a one-column key of a whole number: '[12]'); any other key
    names no imported row."""
    ids: set[int] = set()
    for key in keys:
        try:
            parts = json.loads(key)
        except ValueError:
            continue
        if isinstance(parts, list) and len(parts) == 1 and type(parts[0]) is int:
            ids.add(parts[0])
    return ids


def _rows_to_compare(session: Session, rows: Table, spans: list[dict[str, Any]],
                     on_their_own: set[int]) -> Iterator[Row[Any]]:
    """The rows of a recorded table (all its columns, in order) to compare with their events:
    those outside its imports' id ranges, and those inside that an event also recorded on
    their own (`on_their_own`, by id). Read as rows, not objects, a batch at a time, so a
    million entries are never all in memory; the rows an import wrote are not read here at
    all (the range's digest stands for them)."""
    columns = audit.as_stored(rows)
    firsts, lasts = _joined(spans)
    if not firsts:
        yield from session.execute(select(*columns).execution_options(yield_per=2000))
        return
    # the gaps between the ranges, each a range of the primary key
    bounds = [rows.c.id < firsts[0]]
    bounds += [and_(rows.c.id > last, rows.c.id < first) for last, first in zip(lasts, firsts[1:], strict=False)]
    bounds += [rows.c.id > lasts[-1], rows.c.id.is_(None)]  # a NULL id (a table remade) is in no range
    for bound in bounds:
        yield from session.execute(select(*columns).where(bound).execution_options(yield_per=2000))
    inside = sorted(i for i in on_their_own if (at := bisect_right(firsts, i) - 1) >= 0 and i <= lasts[at])
    for start in range(0, len(inside), 500):
        yield from session.execute(select(*columns).where(rows.c.id.in_(inside[start:start + 500])))


def _joined(spans: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """The id ranges of a table's imports (first, last) joined where they meet or overlap, in
    order: their firsts and their lasts, for a `bisect` of an id. A range whose bounds are not
    whole numbers in order (a forged NaN, a first above its last) holds no row and sets none aside."""
    firsts: list[int] = []
    lasts: list[int] = []
    for first, last in sorted((s["first"], s["last"]) for s in spans
                              if type(s["first"]) is int and type(s["last"]) is int and s["first"] <= s["last"]):
        if lasts and first <= lasts[-1] + 1:
            lasts[-1] = max(lasts[-1], last)
        else:
            firsts.append(first)
            lasts.append(last)
    return firsts, lasts


def _row_name(table: str, key: str) -> str:
    """A row named for people: 'ledger_entry row 12' (a one-column key), else the key as JSON."""
    parts = json.loads(key)
    return f"{table} row {parts[0] if len(parts) == 1 else key}"


def _admissions(session: Session, found: _Found) -> None:
    """Every admission after the founding was made by a manager current that day or, when the
    practice had none, on a passed resolution to admit that person in that role (replayed
    from the rows the events wrote)."""
    replay = audit.Admissions()
    bad: list[str] = []
    for seq, at, payload in session.execute(
            select(col(AuditEvent.seq), col(AuditEvent.at), col(AuditEvent.payload))
            .where(col(AuditEvent.outcome) == "ok", col(AuditEvent.real_at).is_not(None))
            .order_by(col(AuditEvent.seq))):
        problem = replay.problem({"at": at}, json.loads(payload or "[]"))
        if problem is not None:
            bad.append(f"event {seq}: {problem}")
    found.some(bad, str)


def _keys(session: Session, found: _Found) -> None:
    """Members who have no key enrolled (admitted before signing): they enrol before acting.
    A passkey enrolled on the members' page is a key too (it signs their changes there)."""
    from swp.models import PasskeyCredential

    rows = session.execute(select(col(Member.handle)).where(
        col(Member.public_key).is_(None), or_(col(Member.left_on).is_(None), col(Member.left_on) >= today()),
        col(Member.id).not_in(select(col(PasskeyCredential.member_id))))
        .order_by(col(Member.handle))).scalars().all()
    found.some(list(rows), lambda h: f"{h} has no key enrolled: 'swp --as {h} key new' before their next change")
