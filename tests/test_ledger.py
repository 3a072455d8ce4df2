"""The ledger: recording, listing, balances, reversals, roles, closed periods, append-only rows."""

from __future__ import annotations

from contextlib import closing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from tests.conftest import audit_rows, copy_practice, execute, is_postgres, query, snapshot

ENTRY_KEYS = {"id", "date", "type", "amount_pence", "category", "memo", "ref", "reverses",
              "reversed_by"}


def income(swp, amount, date="2026-04-30", category="contracts", **kw):
    args = ["ledger", "income", amount, "--date", date, "--category", category]
    if kw.get("memo"):
        args += ["--memo", kw["memo"]]
    return swp.ok(*args, as_="mo", json=True).json["entry"]


def expense(swp, amount, date="2026-04-01", category="rent", **kw):
    args = ["ledger", "expense", amount, "--date", date, "--category", category]
    if kw.get("memo"):
        args += ["--memo", kw["memo"]]
    return swp.ok(*args, as_="mo", json=True).json["entry"]


def close_period(db, label, start, end):
    """A closed period, written directly (periods are closed by `swp period close`)."""
    execute(db,
            "INSERT INTO period (label, start, \"end\", income_pence, expenses_pence, net_pence, "
            "reserve_pence, distributable_pence, method, fingerprint, closed_at) "
            "VALUES (:label, :start, :end, 0, 0, 0, 0, 0, 'equal', 'test', '2026-06-01 00:00:00')",
            params={"label": label, "start": start, "end": end})


def loan(db, pence, day="2026-05-01", lender="Triodos Bank"):
    """A loan entry through the ledger service (as `swp finance loan` records one)."""
    from datetime import date

    from swp.services import ledger
    from swp.services.uow import perform

    return perform(db, lambda s: ledger.record(s, actor="mo", kind="loan", amount_pence=pence,
                                               day=date.fromisoformat(day), category="loans",
                                               lender=lender),
                   write=True, command="test loan", args={}, actor="mo").id


# --- recording ---------------------------------------------------------------------------

def test_income_and_expense_are_recorded_and_listed(practice):
    run = practice.ok("ledger", "income", "£12,500.50", "--date", "2026-04-30", "--category",
                      "Contracts", "--memo", "April invoice", as_="mo")
    assert run.out == "Recorded income #1: £12,500.50 contracts on 2026-04-30.\n"
    assert practice.ok("ledger", "expense", "950", "--date", "2026-04-01", "--category", "rent",
                       as_="mo", json=True).json == {"entry": 2}
    entries = practice.ok("ledger", "list", json=True).json["entries"]
    assert entries == [
        {"id": 2, "date": "2026-04-01", "type": "expense", "amount_pence": 95000,
         "category": "rent", "memo": None, "ref": None, "reverses": None, "reversed_by": None},
        {"id": 1, "date": "2026-04-30", "type": "income", "amount_pence": 1250050,
         "category": "contracts", "memo": "April invoice", "ref": None, "reverses": None,
         "reversed_by": None},
    ]
    table = practice.ok("ledger", "list").out
    assert "£12,500.50" in table and "April invoice" in table and "rent" in table


def test_each_entry_is_one_balanced_double_entry(practice, db):
    income(practice, "100")
    expense(practice, "40", category="training")
    rows = query(db, "SELECT kind, debit, credit, amount_pence FROM ledger_entry ORDER BY id")
    assert rows == [("income", "assets:bank", "income:contracts", 10000),
                    ("expense", "expenses:training", "assets:bank", 4000)]


def test_recording_is_audited(practice, db):
    before = len(audit_rows(db))
    income(practice, "100")
    events = audit_rows(db)
    assert len(events) == before + 1
    assert events[-1]["command"] == "ledger income" and events[-1]["actor"] == "mo"


@pytest.mark.parametrize(("as_", "message"), [
    (None, "swp: recording ledger entries needs --as a current manager (mo)\n"),
    ("ann", "swp: recording ledger entries needs --as a current manager; 'ann' is not one\n"),
])
def test_recording_needs_a_manager(practice, db, as_, message):
    before = snapshot(db)
    events = len(audit_rows(db))
    run = practice("ledger", "income", "100", "--date", "2026-04-30", "--category", "contracts",
                   as_=as_)
    assert run.code == 1 and run.err == message
    assert snapshot(db) == before and len(audit_rows(db)) == events


def test_before_the_practice_has_a_manager_anyone_may_record(swp):
    swp.ok("init", "--sandbox", "Riverside", "--local-authority", "Leeds City Council")
    swp.ok("ledger", "income", "100", "--date", "2026-04-30", "--category", "grants")
    assert len(swp.ok("ledger", "list", json=True).json["entries"]) == 1


@pytest.mark.parametrize(("category", "message"), [
    ("", "swp: not a category: ''; use a word such as contracts, rent, salaries (letters, digits, hyphens, at most 40)\n"),
    ("office rent", "swp: not a category: 'office rent'; use a word such as contracts, rent, salaries "
                    "(letters, digits, hyphens, at most 40)\n"),
    ("-rent", "swp: not a category: '-rent'; use a word such as contracts, rent, salaries "
              "(letters, digits, hyphens, at most 40)\n"),
    ("x" * 5000, "swp: not a category: '" + "x" * 60 + "...'; use a word such as contracts, rent, salaries "
                 "(letters, digits, hyphens, at most 40)\n"),  # not the whole of what was given
])
def test_bad_categories_are_refused(practice, db, category, message):
    before = snapshot(db)
    run = practice("ledger", "expense", "10", "--date", "2026-04-01", "--category", category,
                   as_="mo")
    assert run.code == 1 and run.err == message
    assert snapshot(db) == before


def test_missing_options_are_usage_errors(practice, db):
    before = snapshot(db)
    run = practice("ledger", "income", "100", "--category", "contracts", as_="mo")
    assert run.code == 2 and "Missing option '--date'" in run.err
    run = practice("ledger", "expense", "100", "--date", "2026-04-01", as_="mo")
    assert run.code == 2 and "Missing option '--category'" in run.err
    assert snapshot(db) == before


@pytest.mark.parametrize(("args", "message"), [
    (["ledger", "income", "100", "--date", "9999-12-31", "--category", "contracts"],
     "swp: date out of range: '9999-12-31'; swp takes dates from 1900-01-01 to 2999-12-31\n"),
    (["ledger", "expense", "100", "--date", "1899-12-31", "--category", "rent"],
     "swp: date out of range: '1899-12-31'; swp takes dates from 1900-01-01 to 2999-12-31\n"),
    (["period", "preview", "9999"],
     "swp: period '9999' is out of range: swp takes dates from 1900-01-01 to 2999-12-31\n"),
    (["period", "preview", "9999-12"],
     "swp: period '9999-12' is out of range: swp takes dates from 1900-01-01 to 2999-12-31\n"),
    (["period", "preview", "9999-Q4"],
     "swp: period '9999-Q4' is out of range: swp takes dates from 1900-01-01 to 2999-12-31\n"),
    (["period", "preview", "0000"],
     "swp: period '0000' is out of range: swp takes dates from 1900-01-01 to 2999-12-31\n"),
    (["period", "close", "2999-00", "--yes"],  # the financial year from 2999 ends in 3000
     "swp: period '2999-00' is out of range: swp takes dates from 1900-01-01 to 2999-12-31\n"),
    (["period", "preview", "--start", "2026-01-01", "--end", "3000-01-01"],
     "swp: end date out of range: '3000-01-01'; swp takes dates from 1900-01-01 to 2999-12-31\n"),
])
def test_a_date_or_period_outside_the_years_swp_takes_is_refused(practice, db, args, message):
    """A date in year 9999 (or year 0) left no room for the year after a period or a member's
    next anniversary in it: period preview stopped with an unexpected error."""
    income(practice, "100", date="2026-04-01")
    before, events = snapshot(db), len(audit_rows(db))
    run = practice(*args, as_="mo")
    assert (run.code, run.err) == (1, message)
    assert snapshot(db) == before and len(audit_rows(db)) == events


def test_the_first_and_last_years_swp_takes_are_dates(practice, monkeypatch):
    income(practice, "100", date="1900-01-01")
    monkeypatch.setenv("SWP_TODAY", "2999-12-31")  # an entry is dated by today at the latest
    income(practice, "100", date="2999-12-31")
    assert practice.ok("period", "preview", "2999", json=True).json["distributable_pence"] > 0


# --- no entry dated after today ------------------------------------------------------------

AFTER_TODAY = ("is after today (2026-06-30): the ledger records money once it is received or "
               "paid, never in advance")


@pytest.mark.parametrize("kind", ["income", "expense"])
@pytest.mark.parametrize("day", ["2026-07-01", "2062-01-01"])
def test_an_entry_dated_after_today_is_refused(practice, db, kind, day):
    """The books are kept on a cash basis: money is received or paid by today. An entry dated
    later (tomorrow, or 2062 typed for 2026) would fall outside the period being shared, and
    the members' shares would be wrong until someone reversed it."""
    income(practice, "100")
    before, events = snapshot(db), len(audit_rows(db))
    run = practice("ledger", kind, "100", "--date", day, "--category", "fees", as_="mo")
    assert (run.code, run.out, run.err) == (1, "", f"swp: {day} {AFTER_TODAY}\n")
    assert snapshot(db) == before and len(audit_rows(db)) == events


@pytest.mark.parametrize("kind", ["income", "expense"])
def test_an_entry_dated_today_is_taken(practice, kind):
    for day in ("2026-06-30", "today"):
        practice.ok("ledger", kind, "100", "--date", day, "--category", "fees", as_="mo")
    assert [e["date"] for e in practice.ok("ledger", "list", json=True).json["entries"]] == \
        ["2026-06-30", "2026-06-30"]


def test_a_loan_dated_after_today_is_refused(practice, db):
    before = snapshot(db)
    run = practice("finance", "loan", "Triodos Bank", "25000", "--date", "2026-07-01", as_="mo")
    assert (run.code, run.err) == (1, f"swp: 2026-07-01 {AFTER_TODAY}\n")
    assert snapshot(db) == before
    practice.ok("finance", "loan", "Triodos Bank", "25000", "--date", "2026-06-30", as_="mo")


# --- listing and balances ----------------------------------------------------------------

def test_list_filters_by_dates_and_category(practice):
    income(practice, "1000", date="2026-03-31")
    income(practice, "2000", date="2026-04-01")
    expense(practice, "300", date="2026-04-15", category="rent")
    expense(practice, "400", date="2026-05-01", category="training")

    def ids(*args):
        return [e["id"] for e in practice.ok("ledger", "list", *args, json=True).json["entries"]]

    assert ids() == [1, 2, 3, 4]
    assert ids("--from", "2026-04-01") == [2, 3, 4]
    assert ids("--to", "2026-04-15") == [1, 2, 3]
    assert ids("--from", "2026-04-01", "--to", "2026-04-30") == [2, 3]
    assert ids("--category", "rent") == [3]
    assert ids("--category", "rent", "--from", "2026-05-01") == []
    assert practice.ok("ledger", "list", "--category", "rent", "--from", "2026-05-01").out == "No entries.\n"


def test_list_and_balance_refuse_bad_ranges(practice):
    run = practice("ledger", "list", "--from", "2026-05-01", "--to", "2026-04-01")
    assert run.code == 1 and run.err == "swp: --from 2026-05-01 is after --to 2026-04-01\n"
    run = practice("ledger", "balance", "--from", "2026-02-30")
    assert run.code == 1 and "no such --from date: '2026-02-30'" in run.err


def test_balance_totals_and_by_category(practice):
    income(practice, "12500", category="contracts")
    income(practice, "2500", category="contracts", date="2026-05-30")
    income(practice, "300", category="training-fees")
    expense(practice, "950", category="rent")
    expense(practice, "120.50", category="training")
    data = practice.ok("ledger", "balance", json=True).json
    assert data["income_pence"] == 1_530_000
    assert data["expenses_pence"] == 107_050
    assert data["net_pence"] == 1_530_000 - 107_050
    assert data["by_category"] == {"contracts": 1_500_000, "rent": -95_000,
                                   "training": -12_050, "training-fees": 30_000}
    assert sum(data["by_category"].values()) == data["net_pence"]
    assert data["income_by_category"] == {"contracts": 1_500_000, "training-fees": 30_000}
    assert data["expenses_by_category"] == {"rent": 95_000, "training": 12_050}
    ranged = practice.ok("ledger", "balance", "--from", "2026-05-01", "--to", "2026-05-31",
                         json=True).json
    assert (ranged["income_pence"], ranged["expenses_pence"], ranged["net_pence"]) == (250_000, 0, 250_000)
    assert ranged["from"] == "2026-05-01" and ranged["to"] == "2026-05-31"
    human = practice.ok("ledger", "balance").out
    assert "£15,300.00" in human and "£1,070.50" in human and "£14,229.50" in human


def test_one_word_for_income_and_expenses_keeps_both_apart(practice):
    income(practice, "500", category="training")
    expense(practice, "200", category="training")
    data = practice.ok("ledger", "balance", json=True).json
    assert data["income_by_category"] == {"training": 50_000}
    assert data["expenses_by_category"] == {"training": 20_000}
    assert data["by_category"] == {"training": 30_000}


def test_loans_are_not_income(practice, db):
    income(practice, "1000")
    entry = loan(db, 2_500_000)
    data = practice.ok("ledger", "balance", json=True).json
    assert data["income_pence"] == 100_000 and data["expenses_pence"] == 0
    assert data["net_pence"] == 100_000 and data["loans_pence"] == 2_500_000
    assert "loans" not in data["by_category"]
    listed = practice.ok("ledger", "list", json=True).json["entries"]
    assert [(e["id"], e["type"]) for e in listed] == [(1, "income"), (entry, "loan")]
    assert all(set(e) == ENTRY_KEYS for e in listed)
    assert "loans (not income)" in practice.ok("ledger", "balance").out


def test_balance_of_an_empty_ledger(practice):
    data = practice.ok("ledger", "balance", json=True).json
    assert (data["income_pence"], data["expenses_pence"], data["net_pence"]) == (0, 0, 0)
    assert data["by_category"] == {}


def test_balance_is_a_sql_aggregate_not_objects(practice, db):
    """`balance` asks the database for SUM ... GROUP BY; it never loads entries."""
    from sqlalchemy import event

    from swp.db import open_database
    from swp.services import ledger

    for n in range(5):
        income(practice, str(100 + n))
    statements = []
    database = open_database(db)

    @event.listens_for(database.engine, "before_cursor_execute")
    def _seen(conn, cursor, statement, parameters, *args):
        statements.append((statement, parameters))

    try:
        result = database.run(lambda s: ledger.balance(s), write=False)
    finally:
        database.dispose()
    assert result.income_pence == sum(100_00 + n * 100 for n in range(5))
    ledger_queries = [(s, p) for s, p in statements if "ledger_entry" in s]
    assert len(ledger_queries) == 1
    statement, parameters = ledger_queries[0]
    assert "sum(" in statement.lower() and "group by" in statement.lower()
    if not is_postgres(db):
        # the entries are read in the covering index's order and added up as they come: the
        # only sort is of the sums by day (the outer GROUP BY), never of the entries
        import sqlite3

        with closing(sqlite3.connect(db)) as connection:
            rows = list(connection.execute("EXPLAIN QUERY PLAN " + statement, parameters))
        plan = [row[3] for row in rows]  # (id, parent, _, detail)
        scans = [row for row in rows if row[3] == "SCAN ledger_entry USING COVERING INDEX ix_ledger_entry_date_cover"]
        sorts = [row for row in rows if row[3].startswith("USE TEMP B-TREE")]
        assert len(scans) == 1, plan
        assert [row[3] for row in sorts] == ["USE TEMP B-TREE FOR GROUP BY"], plan
        # the one sort is the outer query's, of the daily sums: not a step of the query that
        # reads the entries (one GROUP BY kind, category has both under the same parent)
        assert sorts[0][1] != scans[0][1], plan


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["income", "expense", "loan"]),
                                  st.sampled_from(["grants", "rent", "rent2", "training"]),
                                  st.integers(-5_000_000, 5_000_000).filter(bool)), max_size=30),
       bounds=st.tuples(st.none() | st.integers(0, 40), st.none() | st.integers(0, 40)),
       kinds=st.none() | st.sampled_from([("income", "expense"), ("loan",), ()]),
       kind_descending=st.booleans())
def test_category_totals_add_up_any_entries_over_any_range(practice, db, entries, bounds, kinds, kind_descending):
    """The totals by kind and category (added up by day first, then by category) are each
    category's entries in the range added one by one, in order of kind then category: many
    entries on one day, one on many days, reversals' negative amounts, open-ended ranges."""
    from datetime import UTC, date, datetime, timedelta

    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from swp.db import open_database
    from swp.models import LedgerEntry, table_of
    from swp.services import ledger

    start, end = sorted(bounds) if None not in bounds else bounds
    first = date(2025, 1, 1)

    def day(n: int | None) -> date | None:
        return None if n is None else first + timedelta(days=n)

    rows = [{"date": day(d), "kind": kind, "amount_pence": pence, "category": category,
             "debit": ledger.accounts(kind, category)[0], "credit": ledger.accounts(kind, category)[1],
             "recorded_at": datetime(2026, 1, 1, tzinfo=UTC)} for d, kind, category, pence in entries]
    database = open_database(db)
    try:
        with database.engine.connect() as connection, connection.begin() as transaction:
            if rows:
                connection.execute(insert(table_of(LedgerEntry)), rows)
            got = ledger.category_totals(Session(bind=connection), start=day(start), end=day(end),
                                         kinds=kinds, kind_descending=kind_descending)
            transaction.rollback()
    finally:
        database.dispose()
    want: dict[tuple[str, str], tuple[int, int]] = {}
    for d, kind, category, pence in entries:
        if (start is None or d >= start) and (end is None or d <= end) and (kinds is None or kind in kinds):
            total, count = want.get((kind, category), (0, 0))
            want[(kind, category)] = (total + pence, count + 1)
    order = sorted(sorted(want, key=lambda key: key[1]), key=lambda key: key[0], reverse=kind_descending)
    assert got == [(kind, category, *want[(kind, category)]) for kind, category in order]
    # Python ints, not PostgreSQL's numeric sums (a Decimal compares equal to an int)
    assert all(type(value) is int for row in got for value in row[2:]), got


# --- reversals ---------------------------------------------------------------------------

def test_reverse_appends_a_negated_entry_and_the_balance_nets_out(practice, db):
    income(practice, "12500")
    bad = expense(practice, "950", memo="entered twice")
    run = practice.ok("ledger", "reverse", str(bad), "--reason", "entered twice", as_="mo")
    assert run.out == "Reversed #2 with #3: -£950.00 expense rent on 2026-04-01.\n"
    entries = {e["id"]: e for e in practice.ok("ledger", "list", json=True).json["entries"]}
    assert entries[3] == {"id": 3, "date": "2026-04-01", "type": "expense", "amount_pence": -95000,
                          "category": "rent", "memo": "reversal of #2: entered twice",
                          "ref": None, "reverses": 2, "reversed_by": None}
    assert entries[2]["reversed_by"] == 3 and entries[2]["amount_pence"] == 95000
    data = practice.ok("ledger", "balance", json=True).json
    assert (data["income_pence"], data["expenses_pence"]) == (1_250_000, 0)
    original, reversal = query(
        db, "SELECT kind, debit, credit, amount_pence, reverses FROM ledger_entry WHERE id IN (2, 3) "
            "ORDER BY id")
    assert original[:3] == reversal[:3] and reversal[3] == -original[3] and reversal[4] == 2


def test_reverse_json_and_an_entry_number_with_hash(practice):
    income(practice, "10")
    assert practice.ok("ledger", "reverse", "#1", "--reason", "typo", as_="mo",
                       json=True).json == {"entry": 2, "reverses": 1}


def test_reverse_on_another_date(practice):
    income(practice, "10", date="2026-04-30")
    practice.ok("ledger", "reverse", "1", "--reason", "bounced", "--date", "2026-05-03", as_="mo")
    income(practice, "20", date="2026-04-30")
    practice.ok("ledger", "reverse", "3", "--reason", "bounced", "--date", "today", as_="mo")
    assert practice.ok("ledger", "list", "--from", "2026-06-30", json=True).json["entries"][0]["reverses"] == 3
    assert practice.ok("ledger", "list", "--from", "2026-05-01", json=True).json["entries"][0]["reverses"] == 1
    run = practice("ledger", "reverse", "1", "--reason", "again", "--date", "2026-04-01", as_="mo")
    assert run.code == 1  # already reversed, whatever the date


@pytest.mark.parametrize(("args", "code", "message"), [
    (["1"], 1, "swp: entry #1 was already reversed by #2\n"),
    (["2"], 1, "swp: entry #2 is itself the reversal of #1; to restore that entry, record it again\n"),
    (["99"], 1, "swp: no ledger entry #99\n"),
    (["abc"], 1, "swp: not an entry number: 'abc'; use the id from 'swp ledger list', e.g. 12\n"),
    (["0"], 1, "swp: not an entry number: '0'; use the id from 'swp ledger list', e.g. 12\n"),
    (["-3"], 2, "swp: No such option: -3 (see 'swp ledger reverse --help')\n"),  # the parser's answer
    (["--reason", "again", "--", "-3"], 1,
     "swp: not an entry number: '-3'; use the id from 'swp ledger list', e.g. 12\n"),
    (["3", "--reason", "  "], 1, 'swp: a reversal needs a reason (--reason), e.g. "entered twice"\n'),
    (["3", "--date", "2026-03-01"], 1,
     "swp: a reversal cannot be dated before the entry it reverses (2026-04-01)\n"),
    (["3", "--date", "2026-07-01"], 1, f"swp: 2026-07-01 {AFTER_TODAY}\n"),
])
def test_reverse_refusals_change_nothing(practice, db, args, code, message):
    income(practice, "10")
    practice.ok("ledger", "reverse", "1", "--reason", "typo", as_="mo")
    expense(practice, "5")
    if "--reason" not in args:
        args = [*args, "--reason", "again"]
    before = snapshot(db)
    events = len(audit_rows(db))
    run = practice("ledger", "reverse", *args, as_="mo")
    assert (run.code, run.err) == (code, message)
    assert snapshot(db) == before and len(audit_rows(db)) == events


def test_reverse_needs_a_reason_and_a_manager(practice, db):
    income(practice, "10")
    before = snapshot(db)
    run = practice("ledger", "reverse", "1", as_="mo")
    assert run.code == 2 and "Missing option '--reason'" in run.err
    run = practice("ledger", "reverse", "1", "--reason", "typo", as_="bea")
    assert run.code == 1
    assert run.err == "swp: reversing ledger entries needs --as a current manager; 'bea' is not one\n"
    assert snapshot(db) == before


def test_reversing_twice_is_refused_by_the_database_too(practice, db):
    income(practice, "10")
    practice.ok("ledger", "reverse", "1", "--reason", "typo", as_="mo")
    unique = "duplicate key value violates unique constraint" if is_postgres(db) else "UNIQUE"
    with pytest.raises(IntegrityError, match=unique):
        execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, "
                    "reverses, recorded_at) VALUES ('2026-04-30', 'income', -1000, 'contracts', "
                    "'assets:bank', 'income:contracts', 1, '2026-06-30 00:00:00')")


# --- closed periods ----------------------------------------------------------------------

def test_nothing_dated_in_a_closed_period_is_added_or_reversed(practice, db):
    income(practice, "1000", date="2025-06-30")
    close_period(db, "2025-26", "2025-04-01", "2026-03-31")
    before = snapshot(db)
    run = practice("ledger", "expense", "5", "--date", "2025-12-01", "--category", "rent", as_="mo")
    assert run.code == 1
    assert run.err == ("swp: 2025-12-01 is inside the closed period 2025-26 (2025-04-01 to "
                       "2026-03-31); corrections go into an open period\n")
    run = practice("ledger", "reverse", "1", "--reason", "late", as_="mo")
    assert run.code == 1
    assert run.err.startswith("swp: entry #1 is dated 2025-06-30, inside the closed period 2025-26")
    assert snapshot(db) == before
    income(practice, "5", date="2026-04-01")  # the open period takes corrections


def test_a_reversal_cannot_be_dated_into_a_closed_period(practice, db):
    close_period(db, "2026-q2", "2026-05-01", "2026-05-31")
    income(practice, "10", date="2026-04-30")
    before = snapshot(db)
    run = practice("ledger", "reverse", "1", "--reason", "x", "--date", "2026-05-02", as_="mo")
    assert run.code == 1 and "inside the closed period 2026-q2" in run.err
    assert snapshot(db) == before


def test_the_database_refuses_a_direct_insert_into_a_closed_period(practice, db):
    close_period(db, "2025-26", "2025-04-01", "2026-03-31")
    with pytest.raises(IntegrityError, match="closed period"):
        execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, "
                    "recorded_at) VALUES ('2025-05-01', 'income', 100, 'x', 'assets:bank', "
                    "'income:x', '2026-06-30 00:00:00')")


# --- append-only -------------------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entry SET amount_pence = 1 WHERE id = 1",
    "UPDATE ledger_entry SET memo = 'edited'",
    "DELETE FROM ledger_entry WHERE id = 1",
    "DELETE FROM ledger_entry",
])
def test_a_direct_update_or_delete_of_a_ledger_row_fails(practice, db, statement):
    income(practice, "10")
    before = snapshot(db)
    with pytest.raises(IntegrityError, match="ledger_entry is append-only"):
        execute(db, statement)
    assert snapshot(db) == before


# --- any sequence keeps the books balanced -----------------------------------------------

_commands = st.lists(
    st.one_of(
        st.tuples(st.just("income"), st.integers(1, 5_000_000), st.integers(1, 28),
                  st.sampled_from(["contracts", "grants", "training"])),
        st.tuples(st.just("expense"), st.integers(1, 5_000_000), st.integers(1, 28),
                  st.sampled_from(["rent", "salaries", "training"])),
        st.tuples(st.just("reverse"), st.integers(1, 12), st.none(), st.none()),
    ),
    min_size=1, max_size=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=_commands)
def test_any_sequence_keeps_debits_equal_to_credits_and_balance_equal_to_what_was_recorded(
        practice_template, tmp_path_factory, commands):
    from swp.db import open_database
    from swp.money import format_pence
    from swp.services import ledger

    db = str(tmp_path_factory.mktemp("seq") / "practice.db")
    swp = copy_practice(practice_template, db)
    kept: dict[int, tuple[str, str, int]] = {}  # entry id -> (kind, category, pence) still counted
    reversed_ids: set[int] = set()
    next_id = 1
    for kind, value, day, category in commands:
        if kind in ("income", "expense"):
            run = swp("ledger", kind, format_pence(value), "--date", f"2026-04-{day:02d}",
                      "--category", category, as_="mo", json=True)
            assert run.code == 0, run.err
            assert run.json["entry"] == next_id
            kept[next_id] = (kind, category, value)
            next_id += 1
        else:
            run = swp("ledger", "reverse", str(value), "--reason", "property", as_="mo")
            if value in kept:
                assert run.code == 0, run.err
                del kept[value]
                reversed_ids.add(value)
                next_id += 1
            else:  # unknown, already reversed, or itself a reversal
                assert run.code == 1 and run.err.startswith("swp: ")
    data = swp.ok("ledger", "balance", json=True).json
    income_total = sum(p for k, _, p in kept.values() if k == "income")
    expense_total = sum(p for k, _, p in kept.values() if k == "expense")
    assert data["income_pence"] == income_total
    assert data["expenses_pence"] == expense_total
    assert data["net_pence"] == income_total - expense_total
    assert sum(data["by_category"].values()) == data["net_pence"]
    for category in {c for _, c, _ in kept.values()}:
        want_in = sum(p for k, c, p in kept.values() if k == "income" and c == category)
        want_out = sum(p for k, c, p in kept.values() if k == "expense" and c == category)
        assert data["income_by_category"].get(category, 0) == want_in
        assert data["expenses_by_category"].get(category, 0) == want_out
    database = open_database(db)
    try:
        accounts = database.run(ledger.account_balances, write=False)
    finally:
        database.dispose()
    assert sum(d for d, _ in accounts.values()) == sum(c for _, c in accounts.values())
    bank_debits, bank_credits = accounts.get("assets:bank", (0, 0))
    assert bank_debits - bank_credits == income_total - expense_total
    listed = swp.ok("ledger", "list", json=True).json["entries"]
    assert len(listed) == next_id - 1
    assert {e["reverses"] for e in listed if e["reverses"]} == reversed_ids
