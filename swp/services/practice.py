"""Founding a practice and describing it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select
from sqlmodel import col

from swp import rules
from swp.clock import now
from swp.db import Database, migrate, resolve, schema_revision, table_names
from swp.dbfile import check_file, create_file
from swp.errors import NO_PRACTICE, DatabaseError, InputError, NotFound
from swp.models import Clause, Practice
from swp.services import audit
from swp.services.roles import current_members, latest_facts

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def founding_clauses(settings: list[str]) -> dict[str, str]:
    """Defaults with `--set CLAUSE=VALUE` applied: unknown or bad values exit 1, entrenched 3."""
    values = {spec.name: spec.default for spec in rules.CLAUSES.values()}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set takes CLAUSE=VALUE, not {item!r}")
        values[name.strip()] = rules.clause_value(name.strip(), value)
    return values


def load_clauses(session: Session) -> dict[str, str]:
    return {row.name: row.value for row in session.execute(select(Clause)).scalars()}


def get_practice(session: Session) -> Practice:
    practice = session.get(Practice, 1)
    if practice is None:
        raise NotFound(NO_PRACTICE)
    return practice


def _from_seed(seed: str, what: str) -> str:
    """A sandbox's id or key seed made from the text of `swp init --sandbox --seed TEXT`."""
    import hashlib

    return hashlib.sha256(f"swp sandbox {what}\0{seed}".encode()).hexdigest()


def init(db: str | None, *, name: str, local_authority: str, fiscal_year_start: str,
         settings: list[str], actor: str | None, args: dict[str, Any],
         sandbox: bool = False, seed: str | None = None) -> dict[str, Any]:
    """Create the database, its schema and the founding constitution, in one transaction.
    A sandbox (demo, tests) is one for ever: SWP_TODAY works there and it makes its members'
    keys itself; a real practice refuses SWP_TODAY. A sandbox's id and key seed are random,
    or derived from `seed` so that a rehearsal gives the same records every run."""
    import os
    import secrets

    from swp.dates import parse_month_day

    if os.environ.get("SWP_TODAY") and not sandbox:
        raise InputError("SWP_TODAY moves the clock only in a sandbox practice (swp init --sandbox); "
                         "unset it to found a real practice")

    if seed is not None and not sandbox:
        raise InputError("--seed is for a sandbox only (swp init --sandbox --seed TEXT): a real "
                         "practice's keys are its members' own")
    if seed is not None and not seed.strip():
        raise InputError("--seed needs some text")
    if not name.strip():
        raise InputError("the practice needs a name")
    if not local_authority.strip():
        raise InputError("the practice needs its local authority (--local-authority)")
    fiscal = parse_month_day(fiscal_year_start)
    clauses = founding_clauses(settings)  # validated before anything is created

    target = resolve(db)
    check_file(target, creating=True)
    created = False
    if target.path is not None and not target.path.exists():
        create_file(target.path)
        created = True
    database = Database(target)
    try:
        with database.transaction(write=True, check=False) as session:
            if schema_revision(session.connection()) is not None:
                raise DatabaseError(f"{target.display} already holds a practice; a practice is set up once")
            if table_names(session.connection()):  # a server's database that is not empty
                raise DatabaseError(f"{target.display} already holds another program's tables; "
                                    "swp init needs an empty database")
            migrate(session.connection())
            audit.track_rows(session)
            uid, sandbox_seed = secrets.token_hex(16), secrets.token_hex(32) if sandbox else None
            if seed is not None:
                uid, sandbox_seed = _from_seed(seed, "id")[:32], _from_seed(seed, "key seed")
            session.add(Practice(name=name.strip(), local_authority=local_authority.strip(),
                                 fiscal_year_start=fiscal, founded_at=now(), uid=uid,
                                 sandbox=sandbox, sandbox_seed=sandbox_seed))
            for spec in rules.CLAUSES.values():
                session.add(Clause(name=spec.name, value=clauses[spec.name],
                                   entrenched=spec.entrenched, changed_by=spec.changed_by))
            session.flush()
            audit.act(session, "practice.founded", {
                "name": name.strip(), "local_authority": local_authority.strip(),
                "fiscal_year_start": fiscal, "sandbox": sandbox, "uid": uid, "clauses": clauses})
            row = audit.append(session, command="init", args=args, actor=actor)
            head = (row.seq, row.hash)
    except BaseException:
        database.dispose()
        if created and target.path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                extra = target.path.with_name(target.path.name + suffix)
                if extra.exists():
                    extra.unlink()
        raise
    database.dispose()
    from swp.identity import remember_head
    from swp.services.uow import head_key

    remember_head(head_key(uid, target.display), *head)
    return {"practice": name.strip(), "sandbox": sandbox, "local_authority": local_authority.strip(),
            "fiscal_year_start": fiscal, "database": target.display,
            "clauses": {k: v for k, v in clauses.items() if not rules.CLAUSES[k].entrenched}}


def upgrade(db: str | None, *, actor: str | None, args: dict[str, Any],
            key_file: str | None = None) -> dict[str, Any]:
    """`swp db upgrade`: migrate an existing practice's schema to this swp's head. Once the
    practice signs its changes, the upgrade is one too: signed by the acting member's key."""
    from swp.db import HEAD_REVISION, known_revision, open_database

    database = open_database(db)
    try:
        signer = _upgrade_signer(database, actor, key_file)
        with database.transaction(write=True, check=False) as session:
            before = known_revision(session.connection(), database.target)
            if before != HEAD_REVISION:
                last_ids = _last_ids(session.connection())
                migrate(session.connection())
                # rows a revision wrote (a backfill) are recorded, as ranges, by this event
                session.info["swp_bulk"] = last_ids
                from swp.models import metadata

                session.info["swp_bulk_tables"] = {name: metadata().tables[name] for name in last_ids}
                audit.act(session, "schema.upgraded", {"from": before, "to": HEAD_REVISION})
                audit.append(session, command="db upgrade", args=args, actor=actor, signer=signer,
                             before_keys=_before_keys(before))
    finally:
        database.dispose()
    return {"from": before, "to": HEAD_REVISION, "changed": before != HEAD_REVISION}


def _before_keys(revision: str) -> bool:
    """Whether a practice at this schema revision held no members' keys (revision 0011 brought
    them): its upgrade cannot be signed, and is recorded unsigned like the changes before it."""
    from swp.db import KNOWN_REVISIONS

    return KNOWN_REVISIONS.index(revision) < KNOWN_REVISIONS.index("0011")


def _last_ids(conn: Any) -> dict[str, int]:
    """The highest id of each table whose rows record acts, before an upgrade (0: a table the
    upgrade creates): the rows above it are the ones the upgrade itself writes, which its event
    records as ranges, so `swp check` finds them signed like every other row."""
    from sqlalchemy import text

    from swp.models import metadata

    present = set(table_names(conn))
    found: dict[str, int] = {}
    for name in audit.RECORDED_TABLES:
        table = metadata().tables[name]
        if "id" not in table.c:
            continue  # keyed by name (clauses): a revision adds none
        found[name] = int(conn.execute(text(f"SELECT MAX(id) FROM {name}")).scalar() or 0) \
            if name in present else 0
    return found


def _upgrade_signer(database: Any, actor: str | None, key_file: str | None) -> Any:
    """The acting member's key, read before the upgrade (with plain SQL: the schema is older
    than this swp's). None when nobody acts or the member has no key enrolled (a practice from
    before keys): the upgrade is then recorded unsigned, which the audit log refuses once the
    practice signs its changes."""
    from sqlalchemy import text

    from swp.errors import SwpError
    from swp.services.uow import Context, signer_for

    if not actor:
        return None
    try:
        with database.transaction(write=False, check=False) as session:
            row = session.execute(text(
                "SELECT p.uid, p.sandbox, p.sandbox_seed, m.public_key FROM practice p, member m "
                "WHERE m.handle = :handle AND m.left_on IS NULL"), {"handle": actor}).first()
    except SwpError:
        return None  # no keys in this schema yet
    if row is None or row[3] is None:
        return None
    context = Context(row[0], bool(row[1]), row[2], database.target.display, actor_exists=True,
                      actor_key=row[3], founding=False)
    signer, _reason = signer_for(context, actor, None, key_file)
    return signer


@dataclass(frozen=True)
class PracticeSummary:
    name: str
    local_authority: str
    fiscal_year_start: str
    status: str
    members: int
    practitioners: int
    cap: int
    equal_say: str
    reserve_pence: int
    closed_periods: int
    last_closed: str | None
    open_from: str | None
    audit_seq: int
    audit_head: str
    sandbox: bool = False


def show(session: Session) -> PracticeSummary:
    from swp.models import Period

    practice = get_practice(session)
    clauses = load_clauses(session)
    members = current_members(session)
    ids = [cast(int, m.id) for m in members]  # stored members: ids are set
    facts = latest_facts(session, ids)
    practitioners = sum(1 for i in ids if facts[i].role == "practitioner")
    reserve = session.execute(select(func.coalesce(func.sum(Period.reserve_pence), 0))).scalar_one()
    last = session.execute(select(Period).order_by(col(Period.end).desc()).limit(1)).scalar_one_or_none()
    closed = session.execute(select(func.count()).select_from(Period)).scalar_one()
    seq, head_hash = audit.head(session)
    n = len(members)
    from datetime import timedelta

    return PracticeSummary(
        name=practice.name, local_authority=practice.local_authority,
        fiscal_year_start=practice.fiscal_year_start, status=practice.status,
        members=n, practitioners=practitioners, cap=int(clauses["membership.max-members"]),
        equal_say=f"1/{n}" if n else "-", reserve_pence=int(reserve), closed_periods=closed,
        last_closed=last.label if last else None,
        open_from=(last.end + timedelta(days=1)).isoformat() if last else None,
        audit_seq=seq, audit_head=head_hash, sandbox=bool(practice.sandbox),
    )

