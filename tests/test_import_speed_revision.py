"""The revision that makes the ledger's mostly-empty indexes partial (0019): down to 0018 and
up again keeps every row, index and trigger; the partial indexes refuse what the full ones did
and are used by lookups."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from tests.conftest import execute, is_postgres, migrate, query, snapshot


def _indexes(db: str) -> set:
    if is_postgres(db):
        return set(query(db, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_entry'"))
    return set(query(db, "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'ledger_entry' "
                         "AND type IN ('index', 'trigger')"))


def test_the_revision_keeps_the_ledger_and_its_guards_and_indexes_only_entries_with_a_value(lived, db):
    skip = ("audit_event", "alembic_version")
    at_head = snapshot(db, skip=skip)
    migrate(db, "0023", down=True)  # the later revisions undone first (0024 adds a period column)
    schema, rows = _indexes(db), snapshot(db, skip=skip)
    partial = [i for i in schema if "IS NOT NULL" in str(i)]
    assert len(partial) == 2, schema  # reverses (unique) and contract_id
    migrate(db, "0018", down=True)
    assert _indexes(db) != schema and snapshot(db, skip=skip) == rows
    assert not [i for i in _indexes(db) if "IS NOT NULL" in str(i)]
    migrate(db, "head")
    assert _indexes(db) == schema and snapshot(db, skip=skip) == at_head
    reversed_id = query(db, "SELECT reverses FROM ledger_entry WHERE reverses IS NOT NULL")[0][0]
    with pytest.raises(IntegrityError, match="(?i)unique|duplicate"):  # an entry is reversed once
        execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, reverses, "
                    f"recorded_at) SELECT '2026-08-01', kind, -amount_pence, category, debit, credit, {reversed_id}, "
                    f"recorded_at FROM ledger_entry WHERE id = {reversed_id}")
    with pytest.raises(IntegrityError, match="append-only"):
        execute(db, "UPDATE ledger_entry SET amount_pence = 1")
    if not is_postgres(db):
        plans = [query(db, f"EXPLAIN QUERY PLAN SELECT id FROM ledger_entry WHERE {column} = 1")
                 for column in ("reverses", "contract_id")]
        assert "ix_ledger_entry_reverses" in str(plans[0]) and "ix_ledger_entry_contract_id" in str(plans[1])
    lived.ok("check")


def _entry_kind(db: str) -> str:
    if is_postgres(db):
        return query(db, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'entry_kind'")[0][0]
    ddl = query(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ledger_entry'")[0][0]
    return next(line for line in ddl.splitlines() if "entry_kind" in line)


def test_the_kind_check_as_comparisons_keeps_the_ledger_and_refuses_what_the_list_refused(lived, db):
    """Revision 0021 writes the check of an entry's kind as comparisons (SQLite builds an IN
    list again for every row): down to 0020 and up again keeps every row, index and trigger,
    and the check still refuses a kind outside the five."""
    skip = ("audit_event", "alembic_version")
    at_head = snapshot(db, skip=skip)
    migrate(db, "0023", down=True)  # the later revisions undone first (0024 adds a period column)
    schema, rows = _indexes(db), snapshot(db, skip=skip)
    assert " IN " not in _entry_kind(db).upper() and "share-payment" in _entry_kind(db)
    migrate(db, "0020", down=True)
    assert " IN " in _entry_kind(db).upper() or "ANY" in _entry_kind(db).upper()  # PostgreSQL: = ANY (ARRAY[...])
    assert _indexes(db) == schema and snapshot(db, skip=skip) == rows
    migrate(db, "head")
    assert " IN " not in _entry_kind(db).upper() and "ANY" not in _entry_kind(db).upper()
    assert _indexes(db) == schema and snapshot(db, skip=skip) == at_head
    for kind in ("capital", "Income", ""):
        with pytest.raises(IntegrityError, match="(?i)entry_kind|check"):
            execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, "
                        f"recorded_at) VALUES ('2026-08-01', '{kind}', 100, 'x', 'assets:bank', 'income:x', "
                        "'2026-08-01 00:00:00')")
    lived.ok("check")


def test_the_vote_trigger_refuses_a_vote_before_the_voters_first_day_from_revision_0022(practice, db):
    """Revision 0022 makes `vote_members_only` refuse a vote cast before the voter's membership
    began as well as one cast after they left; down to 0021 it refused only the second."""
    practice.ok("proposal", "new", "--title", "t", "--kind", "ordinary", "--amend",
                "sharing.reserve-percent=25", as_="ann")
    # sam's membership began on 2025-06-01
    early = ("INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) SELECT 1, id, {v}, "
             "'yes', '2025-01-01 10:00:00', '2025-01-01' FROM member WHERE handle = 'sam'")
    before = snapshot(db, skip=("alembic_version",))
    with pytest.raises(IntegrityError, match="has not begun"):
        execute(db, early.format(v=1))
    assert snapshot(db, skip=("alembic_version",)) == before
    migrate(db, "0021", down=True)
    execute(db, early.format(v=1))  # the trigger of then let it in
    migrate(db, "head")
    with pytest.raises(IntegrityError, match="has not begun"):
        execute(db, early.format(v=2))  # the next version: only the membership refuses it
    assert len(query(db, "SELECT * FROM vote WHERE cast_on = '2025-01-01'")) == 1


def _link_indexes(db: str) -> set:
    """The indexes of the tables that refer to a ledger entry by `entry_id` without holding it
    unique: a loan's and a shared cost's."""
    if is_postgres(db):
        return set(query(db, "SELECT indexname, tablename FROM pg_indexes WHERE tablename IN "
                             "('loan', 'shared_cost') AND indexname NOT LIKE '%pkey'"))
    return set(query(db, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
                         "('loan', 'shared_cost')"))


def test_a_loan_and_a_shared_cost_are_indexed_by_their_entry_from_revision_0023(lived, db):
    """Revision 0023 indexes `loan.entry_id` and `shared_cost.entry_id` (plain indexes: an entry
    may still have two); down to 0022 they are gone, and up again they are back, every row kept,
    used by a lookup of an entry, and check finds nothing missing."""
    skip = ("audit_event", "alembic_version")
    at_head = snapshot(db, skip=skip)
    migrate(db, "0023", down=True)  # the later revisions undone first (0024 adds a period column)
    rows = snapshot(db, skip=skip)
    assert _link_indexes(db) == {("ix_loan_entry_id", "loan"), ("ix_shared_cost_entry_id", "shared_cost")}
    assert query(db, "SELECT count(*) FROM loan WHERE entry_id IS NOT NULL") == [(1,)]
    assert query(db, "SELECT count(*) FROM shared_cost WHERE entry_id IS NOT NULL") == [(1,)]
    migrate(db, "0022", down=True)
    assert _link_indexes(db) == set() and snapshot(db, skip=skip) == rows
    migrate(db, "head")
    assert _link_indexes(db) == {("ix_loan_entry_id", "loan"), ("ix_shared_cost_entry_id", "shared_cost")}
    assert snapshot(db, skip=skip) == at_head
    if not is_postgres(db):
        for table in ("loan", "shared_cost"):
            plan = query(db, f"EXPLAIN QUERY PLAN SELECT id FROM {table} WHERE entry_id = 1")
            assert f"ix_{table}_entry_id" in str(plan), plan
    lived.ok("check")
    # not unique: a second row on the same entry is not refused by the index
    execute(db, "INSERT INTO loan (lender, amount_pence, date, entry_id) SELECT lender, amount_pence, "
                "date, entry_id FROM loan")
    assert query(db, "SELECT count(*) FROM loan") == [(2,)]
