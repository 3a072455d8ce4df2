"""The takeover guard, SPEC section 6: one test per item, each refused with exit 3, a one-line
message naming the clause, no change to the practice's data, and a `refused` audit event."""

from __future__ import annotations

import pytest

from tests.conftest import TODAY, Swp, audit_rows, database_url, snapshot


def is_postgres(db: str) -> bool:
    return db.startswith("postgresql")


def query(db: str, statement: str, **params) -> list[tuple]:
    """Read the database directly (SQLite or PostgreSQL), as another tool would."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url(db))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(statement), params)]
    finally:
        engine.dispose()


def execute(db: str, *statements: str) -> None:
    """Write to the database directly, in one transaction, as another tool would.

    `DROP TRIGGER name ON table` is written in PostgreSQL's form; on SQLite the `ON table`
    is dropped."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url(db))
    try:
        with engine.begin() as conn:
            for statement in statements:
                if not is_postgres(db) and statement.startswith("DROP TRIGGER"):
                    statement = statement.split(" ON ")[0]
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def refused(swp: Swp, db: str, *args: str, clause: str, as_: str | None = None) -> str:
    """Run a command that the guard must refuse; check every promise of SPEC section 6."""
    before = snapshot(db)
    events = len(audit_rows(db))
    run = swp(*args, as_=as_)
    assert run.code == 3, f"swp {' '.join(args)} -> {run.code}: {run.err}{run.out}"
    assert run.err.startswith(f"swp: refused by clause {clause}: "), run.err
    assert run.err.count("\n") == 1, run.err
    assert snapshot(db) == before, "a refusal changed the practice's data"
    rows = audit_rows(db)
    assert len(rows) == events + 1
    assert rows[-1]["outcome"] == "refused"
    assert rows[-1]["detail"] == run.err.strip()[len("swp: "):]
    assert " ".join(args).startswith(rows[-1]["command"] + " ") or " ".join(args) == rows[-1]["command"]
    return run.err


def open_proposal(swp: Swp, *args: str, as_: str = "ann") -> int:
    return swp.ok("proposal", "new", "--title", "t", *args, as_=as_, json=True).json["id"]


# --- 1. shares -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["issue", "sell", "transfer"])
def test_item_1_no_shares_of_any_class_are_issued_sold_or_transferred(practice, db, command):
    err = refused(practice, db, "shares", command, "1000", "--class", "A", "--to", "Acme Care Ltd",
                  clause="no-share-issuance", as_="mo")
    assert "no share capital of any kind" in err
    events = audit_rows(db)
    assert '"1000"' in events[-1]["args"] and '"--class"' in events[-1]["args"]


def test_item_1_shares_issue_is_refused_with_any_arguments_or_none(practice, db):
    refused(practice, db, "shares", "issue", clause="no-share-issuance")
    refused(practice, db, "shares", "issue", "--preference", "--votes=10", clause="no-share-issuance")
    run = practice("--json", "shares", "issue", "1")
    assert run.code == 3
    assert run.json["error"]["clause"] == "no-share-issuance"


def test_item_1_shares_are_refused_even_without_a_practice(swp, db):
    run = swp("shares", "issue", "1000")
    assert run.code == 3 and "no-share-issuance" in run.err


# --- 2. admissions -----------------------------------------------------------------------------


@pytest.mark.parametrize("name,role,hours,clause", [
    ("Acme Care Ltd", "practitioner", "37.5", "employees-only"),
    ("Northgate Holdings plc", "staff", "37.5", "employees-only"),
    ("Ivy Investor", "investor", "37.5", "employees-only"),
    ("Val Volunteer", "volunteer", "10", "employees-only"),
    ("Tim Tiny", "practitioner", "7.5", "employees-only"),
])
def test_item_2_admitting_a_non_employee_an_organisation_or_below_the_minimum_hours(
        practice, db, name, role, hours, clause):
    err = refused(practice, db, "member", "add", "zed", "--name", name, "--role", role,
                  "--employed-since", "2026-01-01", "--hours", hours, clause=clause, as_="mo")
    assert "zed" in err or name in err or role in err


def test_item_2_admitting_anyone_past_the_member_cap(swp, db):
    swp.ok("init", "--sandbox", "Small", "--local-authority", "Leeds", "--set", "membership.max-members=3")
    for handle in ("ann", "bea", "cal"):
        swp.ok("member", "add", handle, "--name", handle.title(), "--role", "practitioner",
            "--registration", f"SW2{len(handle)}{sum(map(ord, handle)):05d}",
               "--employed-since", "2024-01-01", "--hours", "30")
    err = refused(swp, db, "member", "add", "dee", "--name", "Dee", "--role", "practitioner",
                  "--registration", "SW250001",
                  "--employed-since", "2024-01-01", "--hours", "30", clause="membership.max-members")
    assert "cap of 3" in err


# --- 3. transfers ------------------------------------------------------------------------------


def test_item_3_a_membership_cannot_be_transferred(practice, db):
    err = refused(practice, db, "member", "transfer", "ann", "--to", "Acme Care Ltd",
                  clause="non-transferable", as_="mo")
    assert "cannot be transferred" in err
    refused(practice, db, "member", "transfer", "bea", "--to", "cal", clause="non-transferable",
            as_="bea")


# --- 4. one member, one vote ---------------------------------------------------------------


def test_item_4_a_vote_by_an_unknown_handle_is_a_typo_not_a_refusal(practice, db):
    """An unknown handle is a slip (exit 1, not logged as a refusal); only a known outsider's
    vote, a former member's, is refused by the constitution (the next test)."""
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    before, events = snapshot(db), len(audit_rows(db))
    run = practice("vote", str(pid), "yes", as_="zed")
    assert run.code == 1 and run.err == "swp: no member with handle 'zed'\n"
    run = practice("vote", str(pid), "yes", as_="annn")
    assert run.code == 1 and "did you mean 'ann'?" in run.err
    assert snapshot(db) == before and len(audit_rows(db)) == events


def test_item_4_a_vote_by_a_former_member(practice, db):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    practice.ok("member", "leave", "cal", "--date", "2026-06-29", as_="cal")
    err = refused(practice, db, "vote", str(pid), "yes", clause="one-member-one-vote", as_="cal")
    assert "left the practice on 2026-06-29" in err


def test_item_4_a_weighted_vote(practice, db):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    err = refused(practice, db, "vote", str(pid), "yes", "--weight", "3",
                  clause="one-member-one-vote", as_="ann")
    assert "exactly one vote" in err


def test_item_4_a_proxy_vote(practice, db):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    err = refused(practice, db, "vote", str(pid), "yes", "--for", "bea",
                  clause="one-member-one-vote", as_="ann")
    assert "no proxy" in err


def test_item_4_a_second_vote_replaces_the_first_and_is_never_counted_twice(practice, db):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    practice.ok("vote", str(pid), "yes", as_="ann")
    practice.ok("vote", str(pid), "yes", as_="ann")
    practice.ok("vote", str(pid), "no", as_="ann")
    shown = practice.ok("proposal", "show", str(pid), json=True).json
    assert (shown["yes"], shown["no"], shown["voters"]) == (0, 1, 1)
    assert shown["votes"] == [{"member": "ann", "choice": "no", "version": 3, "cast_on": TODAY}]
    assert query(db, "SELECT version, choice FROM vote ORDER BY version") == [
        (1, "yes"), (2, "yes"), (3, "no")]


# --- 5. entrenched clauses -----------------------------------------------------------------


@pytest.mark.parametrize("clause", ["no-share-issuance", "employees-only", "non-transferable",
                                    "one-member-one-vote", "frontline-majority", "asset-lock",
                                    "no-demutualisation"])
def test_item_5_proposing_to_amend_an_entrenched_clause(practice, db, clause):
    err = refused(practice, db, "proposal", "new", "--title", "Open up", "--kind", "special",
                  "--amend", f"{clause}=off", clause=clause, as_="ann")
    assert f"{clause} is entrenched" in err


# --- 6. demutualisation --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["company", "members", "local-authority"])
def test_item_6_merging_with_a_company_or_members(practice, db, kind):
    err = refused(practice, db, "proposal", "new", "--title", "Join Acme", "--kind", "special",
                  "--merge-with", "Acme Care", "--partner-kind", kind,
                  clause="no-demutualisation", as_="ann")
    assert f"Acme Care ({kind})" in err


# --- 7. the asset lock ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["members", "company", "local-authority"])
def test_item_7_dissolving_with_assets_going_anywhere_but_an_asset_locked_body(practice, db, kind):
    err = refused(practice, db, "proposal", "new", "--title", "Wind up", "--kind", "special",
                  "--dissolve", "--assets-to", "Ourselves", "--recipient-kind", kind,
                  clause="asset-lock", as_="ann")
    assert "only to a mutual, charity or cic" in err


# --- 8. external finance -------------------------------------------------------------------


@pytest.mark.parametrize("flag,clause", [
    ("--voting-rights", "one-member-one-vote"),
    ("--board-seat", "no-demutualisation"),
    ("--equity-conversion", "no-share-issuance"),
    ("--profit-share", "asset-lock"),
])
def test_item_8_finance_carrying_control_is_refused_and_nothing_is_written(practice, db, flag,
                                                                           clause):
    err = refused(practice, db, "finance", "loan", "Vulture Capital", "250000", "--date",
                  "2026-05-01", flag, clause=clause, as_="mo")
    assert "lender" in err or "loan" in err


def test_item_8_a_plain_loan_is_accepted_as_a_liability(practice, db):
    run = practice.ok("finance", "loan", "Triodos Bank", "25,000", "--date", "2026-05-01",
                      "--rate", "4.5", as_="mo", json=True)
    assert run.json["amount_pence"] == 2_500_000 and run.json["rate_basis_points"] == 450
    assert query(db, "SELECT kind, amount_pence, debit, credit FROM ledger_entry") == [
        ("loan", 2_500_000, "assets:bank", "liabilities:loans:Triodos Bank")]
    assert query(db, "SELECT lender, amount_pence, rate_basis_points FROM loan") == [
        ("Triodos Bank", 2_500_000, 450)]
    balance = practice.ok("ledger", "balance", as_="mo", json=True).json
    assert (balance["income_pence"], balance["net_pence"]) == (0, 0)  # not income
    assert "Triodos Bank" in practice.ok("finance", "loans").out


def test_a_loan_recorded_by_mistake_is_undone_by_reversing_its_entry_and_listed_as_reversed(practice, db):
    """Its terms stay (every record does); `finance loans` names the reversal, the balance no
    longer counts the loan, and `swp check` finds nothing wrong."""
    practice.ok("finance", "loan", "Triodos Bank", "25,000", "--date", "2026-05-01", as_="mo")
    practice.ok("finance", "loan", "Unity Trust", "5,000", "--date", "2026-05-02", as_="mo")
    entry = query(db, "SELECT entry_id FROM loan WHERE lender = 'Triodos Bank'")[0][0]
    reversal = practice.ok("ledger", "reverse", str(entry), "--reason", "entered twice", as_="mo",
                           json=True).json["entry"]
    listed = {v["lender"]: v for v in practice.ok("finance", "loans", json=True).json["loans"]}
    assert (listed["Triodos Bank"]["entry"], listed["Triodos Bank"]["reversed_by"]) == (entry, reversal)
    assert listed["Unity Trust"]["reversed_by"] is None
    table = practice.ok("finance", "loans").out
    assert "reversal" in table and f"{reversal}" in table.split("Triodos Bank")[1].splitlines()[0]
    assert practice.ok("ledger", "balance", json=True).json["loans_pence"] == 500_000
    assert practice.ok("check").code == 0


@pytest.mark.parametrize("args,message", [
    (["Bank", "1000", "--date", "2026-05-01", "--rate", "lots"], "not an interest rate"),
    (["Bank", "1000", "--date", "2026-05-01", "--rate", "150"], "above 100%"),
    (["Bank", "1000.123", "--date", "2026-05-01"], "not an amount"),
    (["Bank", "1000", "--date", "May"], "not a date"),
    (["  ", "1000", "--date", "2026-05-01"], "needs its lender"),
])
def test_a_loan_with_bad_terms_is_exit_1_and_writes_nothing(practice, db, args, message):
    before = snapshot(db, skip=())
    run = practice("finance", "loan", *args, as_="mo")
    assert run.code == 1 and message in run.err
    assert snapshot(db, skip=()) == before


def test_recording_a_loan_needs_the_manager(practice):
    run = practice("finance", "loan", "Bank", "1000", "--date", "2026-05-01", as_="ann")
    assert run.code == 1 and "needs --as a current manager" in run.err


# --- 9. profit only to members -------------------------------------------------------------


def test_item_9_the_database_refuses_an_allocation_to_someone_not_a_member_on_the_days(practice, db):
    # the period close is the sharing engineer's command; the database refuses the route
    # around it, and `swp check` reports anything that got past (tests/test_check.py)
    from sqlalchemy.exc import DBAPIError

    practice.ok("member", "leave", "cal", "--date", "2025-12-31", as_="cal")
    execute(db, "INSERT INTO period (label, start, \"end\", income_pence, expenses_pence, "
                "net_pence, reserve_pence, distributable_pence, method, fingerprint, closed_at) "
                "VALUES ('q1', '2026-01-01', '2026-03-31', 0, 0, 0, 0, 0, 'equal', 'x', "
                "'2026-04-01 00:00:00')")
    before = snapshot(db)
    with pytest.raises(DBAPIError, match="profit goes only to members"):
        execute(db, "INSERT INTO allocation (period_id, member_id, amount_pence, carried_in_pence, "
                    "payable_pence, carried_out_pence, basis) SELECT p.id, m.id, 100, 0, 100, 0, "
                    "'{}' FROM member m, period p WHERE m.handle = 'cal'")
    assert snapshot(db) == before


def test_item_9_a_period_close_shares_only_among_members_on_the_days_counted(practice):
    from swp.cli import app

    if "period" not in {g.name for g in app.registered_groups}:
        pytest.skip("period close is not built yet")
    practice.ok("member", "leave", "cal", "--date", "2025-12-31", as_="cal")
    practice.ok("ledger", "income", "10000", "--date", "2026-01-15", "--category", "contracts",
                as_="mo")
    data = practice.ok("period", "close", "2026-01", "--start", "2026-01-01", "--end",
                       "2026-01-31", as_="mo", json=True).json
    assert sorted(a["member"] for a in data["allocations"]) == ["ann", "bea", "mo", "sam"]


# --- 10. the frontline majority ------------------------------------------------------------


def test_item_10_an_admission_that_would_leave_practitioners_at_half(swp, db):
    swp.ok("init", "--sandbox", "R", "--local-authority", "Leeds")
    swp.ok("member", "add", "ann", "--name", "Ann", "--role", "practitioner", "--registration", "SW240034",
           "--employed-since", "2024-01-01", "--hours", "30")
    err = refused(swp, db, "member", "add", "sam", "--name", "Sam", "--role", "staff",
                  "--employed-since", "2024-01-01", "--hours", "30", clause="frontline-majority")
    assert "1 practitioners among 2 members" in err


def test_item_10_a_role_change_that_would_leave_practitioners_at_half(practice, db):
    # ann, bea, cal practitioners; mo manager; sam staff: 3 of 5
    err = refused(practice, db, "member", "update", "cal", "--effective", "2026-07-01",
                  "--role", "staff", clause="frontline-majority", as_="mo")
    assert "2 practitioners among 5 members" in err


def test_item_10_an_expulsion_that_would_leave_practitioners_at_half(practice, db):
    err = refused(practice, db, "proposal", "new", "--title", "Out", "--kind", "special",
                  "--expel", "cal", clause="frontline-majority", as_="mo")
    assert "expelling cal" in err


# --- 11. contracts with the practice's own authority ---------------------------------------


def test_item_11_a_contract_with_another_authority(practice, db):
    err = refused(practice, db, "contract", "add", "YK-1", "--authority", "York Council",
                  "--value", "100000", "--start", "2026-04-01", "--end", "2027-03-31",
                  clause="contracts.own-authority-only", as_="mo")
    assert "York Council" in err
    practice.ok("contract", "add", "LC-1", "--authority", "leeds city council", "--value",
                "100000", "--start", "2026-04-01", "--end", "2027-03-31", as_="mo")
