"""The period lock: after a close, entries, reversals, overlapping closes and history changes
dated inside the period are refused (exit 1, one clear line, nothing changed), and the
database itself refuses to rewrite a closed period or its allocations."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import audit_rows, database_url, snapshot

Q1 = ("--start", "2026-01-01", "--end", "2026-03-31")


@pytest.fixture
def closed(practice, db):
    for kind, amount, day, category in [("income", "20000", "2026-01-20", "contracts"),
                                        ("income", "2500", "2026-03-10", "outcome-payments"),
                                        ("expense", "3000", "2026-02-01", "rent")]:
        practice.ok("ledger", kind, amount, "--date", day, "--category", category, as_="mo")
    practice.ok("period", "close", "2026-Q1", *Q1, as_="mo")
    return practice


def write_directly(db: str, sql: str, params: dict | None = None) -> None:
    """One statement in its own transaction, as another tool would write it (either backend)."""
    engine = create_engine(database_url(db))
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params or {})
    finally:
        engine.dispose()


def refused(swp, db, *args, as_="mo", says: str) -> None:
    before = snapshot(db)
    events = len(audit_rows(db))
    run = swp(*args, as_=as_)
    assert run.code == 1, (args, run.code, run.err)
    assert says in run.err, run.err
    assert run.err.startswith("swp: ") and run.err.count("\n") == 1
    assert snapshot(db) == before
    assert len(audit_rows(db)) == events


def test_entries_dated_inside_a_closed_period_are_refused(closed, db):
    for kind in ("income", "expense"):
        for day in ("2026-01-01", "2026-02-14", "2026-03-31"):
            refused(closed, db, "ledger", kind, "100", "--date", day, "--category", "contracts",
                    says="inside the closed period 2026-Q1")
    # the day after is open
    closed.ok("ledger", "income", "100", "--date", "2026-04-01", "--category", "contracts", as_="mo")


def test_reversals_of_entries_in_a_closed_period_are_refused(closed, db):
    entries = closed.ok("ledger", "list", json=True, as_="mo").json["entries"]
    inside = [e for e in entries if e["date"] <= "2026-03-31"]
    assert inside
    for entry in inside:
        refused(closed, db, "ledger", "reverse", str(entry["id"]), "--reason", "entered twice",
                says="closed period 2026-Q1")


def test_overlapping_repeated_gapped_and_unfinished_closes_are_refused(closed, db):
    closed.ok("ledger", "income", "100", "--date", "2026-04-10", "--category", "contracts", as_="mo")
    refused(closed, db, "period", "close", "2026-Q1b", "--start", "2026-03-01", "--end", "2026-04-30",
            says="overlaps the closed period 2026-Q1")
    refused(closed, db, "period", "close", "2025-Q4", "--start", "2025-10-01", "--end", "2026-01-01",
            says="overlaps the closed period 2026-Q1")
    refused(closed, db, "period", "close", "2026-Q1", "--start", "2026-04-01", "--end", "2026-04-30",
            says="a period labelled 2026-Q1 is already closed")
    refused(closed, db, "period", "close", "2026-04", "--start", "2026-04-02", "--end", "2026-04-30",
            says="the next one starts on 2026-04-01")
    refused(closed, db, "period", "close", "2025-Q4", "--start", "2025-10-01", "--end", "2025-12-31",
            says="the next one starts on 2026-04-01")
    refused(closed, db, "period", "close", "2026-Q2", "--start", "2026-04-01", "--end", "2026-07-31",
            says="after today (2026-06-30)")
    # the right next period closes
    closed.ok("period", "close", "2026-04", "--start", "2026-04-01", "--end", "2026-04-30", as_="mo")


def test_history_changes_inside_a_closed_period_are_refused(closed, db):
    refused(closed, db, "member", "update", "bea", "--effective", "2026-03-01", "--hours", "20",
            says="closed period")
    # sam resigning himself, backdated into the closed period (a manager may not end it at all)
    refused(closed, db, "member", "leave", "sam", "--date", "2026-02-28", as_="sam", says="closed period")
    closed.ok("member", "update", "bea", "--effective", "2026-04-01", "--hours", "20", as_="mo")


def test_the_database_refuses_to_rewrite_a_closed_period(closed, db):
    before = snapshot(db)
    statements = [
        "UPDATE allocation SET amount_pence = amount_pence + 100",
        "DELETE FROM allocation",
        "UPDATE period SET distributable_pence = 0",
        "DELETE FROM period",
        "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, recorded_at)"
        " VALUES ('2026-02-02', 'income', 100, 'contracts', 'assets:bank', 'income:contracts',"
        " '2026-06-30 00:00:00')",
        "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, reverses,"
        " recorded_at) VALUES ('2026-02-02', 'income', -2000000, 'contracts', 'assets:bank',"
        " 'income:contracts', 1, '2026-06-30 00:00:00')",
    ]
    for sql in statements:
        with pytest.raises(DBAPIError):
            write_directly(db, sql)
    assert snapshot(db) == before


def test_allocations_go_only_to_members_on_the_days_counted_even_in_the_database(closed, db):
    """SPEC section 6, item 9: the trigger refuses an allocation to someone who was not a
    member in the period, whatever tool writes it."""
    closed.ok("member", "add", "zed", "--name", "Zed Zola", "--role", "practitioner", "--registration", "SW240031",
              "--employed-since", "2026-05-01", "--hours", "20", as_="mo")
    with pytest.raises(DBAPIError, match="members on the days counted"):
        write_directly(db, "INSERT INTO allocation (period_id, member_id, amount_pence, carried_in_pence,"
                       " payable_pence, carried_out_pence, basis) SELECT 1, id, 100, 0, 100, 0, '{}'"
                       " FROM member WHERE handle = 'zed'")
