"""`swp check` (SPEC sections 3, 6, 9), and defence in depth: a write with another tool
(plain SQL on the database, SQLite or PostgreSQL) that would break a rule is refused by the
database itself, or found by `swp check` (exit 4) with every problem listed."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.conftest import Swp, query
from tests.test_governance import close, votes
from tests.test_guard import execute as sql
from tests.test_guard import is_postgres, open_proposal


def problems(swp: Swp) -> list[dict]:
    run = swp("check", json=True)
    assert run.code == 4, f"swp check -> {run.code}: {run.err}{run.out}"
    data = run.json
    assert data["ok"] is False and data["error"]["code"] == 4
    assert run.err.startswith(f"swp: check found {len(data['problems'])} problem(s): ")
    assert run.err.count("\n") == 1
    # every edit these tests make with plain SQL is also a row no signed event reproduces
    # ('signed-rows', pinned by test_forgery.py); here: what the other checks find
    return [p for p in data["problems"] if p["check"] != "signed-rows"]


def busy(practice: Swp) -> Swp:
    """The practice with a little of everything: books, a loan, votes, closed proposals."""
    practice.ok("ledger", "income", "12000", "--date", "2026-04-10", "--category", "contracts",
                as_="mo")
    practice.ok("ledger", "expense", "2000", "--date", "2026-04-20", "--category", "rent", as_="mo")
    practice.ok("finance", "loan", "Triodos Bank", "25000", "--date", "2026-05-01", as_="mo")
    passed = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    votes(practice, passed, ann="yes", bea="no", cal="yes", mo="abstain")
    votes(practice, passed, bea="yes")
    close(practice, passed)
    failed = open_proposal(practice, "--kind", "special", "--merge-with", "Eastside SWP",
                           "--partner-kind", "mutual", "--register", "31045R")
    votes(practice, failed, ann="no", bea="no", cal="yes")
    close(practice, failed)
    open_proposal(practice, "--kind", "special", "--expel", "sam")
    return practice


def test_check_is_clean_on_a_working_practice(practice, db):
    busy(practice)
    run = practice.ok("check")
    assert run.out.startswith("All clear: ")
    data = practice.ok("check", json=True).json
    assert data["ok"] is True and data["problems"] == []
    checks = ["constitution", "membership", "shares", "defences", "votes", "proposals", "ledger",
              "loans", "bank", "periods", "audit", "statutory", "signed-rows", "admissions", "keys"]
    sqlite_checks = ["integrity", "foreign-keys"]
    if is_postgres(db):
        assert (data["checks"], data["skipped"]) == (checks, sqlite_checks)
    else:
        assert (data["checks"], data["skipped"]) == (checks + sqlite_checks, [])


def test_check_writes_nothing(practice, db):
    from tests.conftest import snapshot

    before = snapshot(db, skip=())
    practice.ok("check")
    assert snapshot(db, skip=()) == before


def test_check_reads_the_books_as_rows_and_the_imported_ones_only_through_their_range(practice, db):
    """Over a big ledger `swp check` keeps memory flat: it never makes an object of a ledger
    entry, and reads the rows an import wrote only to recompute that import's digest."""
    from pathlib import Path

    from sqlalchemy import event

    from swp.db import open_database
    from swp.models import LedgerEntry
    from swp.services import check

    ledger = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    practice.ok("ledger", "income", "10", "--date", "2025-04-01", "--category", "grants", as_="mo")
    practice.ok("ledger", "import", str(ledger), as_="mo")
    [(imported,)] = query(db, "SELECT count(*) FROM ledger_entry WHERE ref IS NOT NULL")
    assert imported > 100
    made: list[object] = []
    read: list[str] = []
    database = open_database(db)

    def _made(target, _context):
        made.append(target)

    @event.listens_for(database.engine, "before_cursor_execute")
    def _read(conn, cursor, statement, *args):
        read.append(statement)

    event.listen(LedgerEntry, "load", _made)
    try:
        report = database.run(check.run, write=False)
    finally:
        event.remove(LedgerEntry, "load", _made)
        database.dispose()
    assert not report.problems
    assert made == []
    # every query of whole entries asks for a range of ids (the rows outside the import), or a NULL id
    whole = [s for s in read if "ledger_entry.recorded_at" in s]
    assert whole and all(re.search(r"FROM ledger_entry\s+WHERE ledger_entry\.id ([<>]|IS NULL)", s) for s in whole), whole


def test_check_accepts_period_arithmetic_that_adds_up(practice, db):
    # surplus, then a deficit met partly from the reserve, then a surplus set against it
    mo = {"as_": "mo"}
    practice.ok("ledger", "income", "1000", "--date", "2026-01-10", "--category", "contracts", **mo)
    practice.ok("ledger", "expense", "200", "--date", "2026-01-20", "--category", "rent", **mo)
    practice.ok("ledger", "expense", "1000", "--date", "2026-02-20", "--category", "rent", **mo)
    practice.ok("ledger", "income", "500", "--date", "2026-03-20", "--category", "contracts", **mo)
    member_ids = "(SELECT id FROM member WHERE handle IN ('ann', 'bea', 'cal', 'mo', 'sam'))"
    sql(db, *period_rows(1, "2026-01", "2026-01-01", "2026-01-31", 100000, 20000, 16000, 64000),
        f"INSERT INTO allocation (period_id, member_id, amount_pence, carried_in_pence, "
        f"payable_pence, carried_out_pence, basis) SELECT 1, id, 12800, 0, 12800, 0, '{{}}' "
        f"FROM member WHERE id IN {member_ids}",
        *period_rows(2, "2026-02", "2026-02-01", "2026-02-28", 0, 100000, -16000, -84000),
        f"INSERT INTO allocation (period_id, member_id, amount_pence, carried_in_pence, "
        f"payable_pence, carried_out_pence, basis) SELECT 2, id, -16800, 0, 0, -16800, '{{}}' "
        f"FROM member WHERE id IN {member_ids}",
        *period_rows(3, "2026-03", "2026-03-01", "2026-03-31", 50000, 0, 10000, 40000),
        f"INSERT INTO allocation (period_id, member_id, amount_pence, carried_in_pence, "
        f"payable_pence, carried_out_pence, basis) SELECT 3, id, 8000, -16800, 0, -8800, '{{}}' "
        f"FROM member WHERE id IN {member_ids}")
    # the arithmetic holds; only the missing closes in the audit log give these rows away
    found = problems(practice)
    assert [(p["check"], p["message"]) for p in found] == [
        ("periods", f"period {label} has no close in the audit log to check its fingerprint "
                    "against") for label in ("2026-01", "2026-02", "2026-03")]


def period_rows(pid: int, label: str, start: str, end: str, income: int, expenses: int,
                reserve: int, distributable: int) -> list[str]:
    return [f"INSERT INTO period (id, label, start, \"end\", income_pence, expenses_pence, "
            f"net_pence, reserve_pence, distributable_pence, method, fingerprint, closed_at) "
            f"VALUES ({pid}, '{label}', '{start}', '{end}', {income}, {expenses}, "
            f"{income - expenses}, {reserve}, {distributable}, 'equal', 'x', "
            f"'2026-06-01 00:00:00.000000')"]


def test_check_is_clean_after_swp_closes_periods(practice):
    from swp.cli import app

    if "period" not in {g.name for g in app.registered_groups}:
        pytest.skip("period close is not built yet")
    mo = {"as_": "mo"}
    practice.ok("ledger", "income", "1000", "--date", "2026-01-10", "--category", "contracts", **mo)
    practice.ok("ledger", "expense", "200.01", "--date", "2026-01-20", "--category", "rent", **mo)
    practice.ok("period", "close", "q1", "--start", "2026-01-01", "--end", "2026-01-31", **mo)
    practice.ok("ledger", "expense", "1500", "--date", "2026-02-20", "--category", "rent", **mo)
    practice.ok("period", "close", "q2", "--start", "2026-02-01", "--end", "2026-02-28", **mo)
    practice.ok("member", "leave", "sam", "--date", "2026-03-10", as_="sam")
    practice.ok("ledger", "income", "500", "--date", "2026-03-20", "--category", "contracts", **mo)
    practice.ok("period", "close", "q3", "--start", "2026-03-01", "--end", "2026-03-31", **mo)
    practice.ok("check")


def test_check_reports_a_lost_majority_after_a_member_leaves(practice):
    # SPEC 6, item 10: a member may always leave; check then reports the lost majority
    practice.ok("member", "leave", "cal", "--date", "2026-06-01", as_="cal")
    found = problems(practice)
    assert [(p["check"], p["clause"]) for p in found] == [("membership", "frontline-majority")]
    assert "practitioners are 2 of 4 members" in found[0]["message"]
    run = practice("check")
    assert run.code == 4 and "frontline-majority" in run.out


# --- writes the database refuses ---------------------------------------------------------

REFUSED = [
    ("UPDATE clause SET value = 'off' WHERE name = 'asset-lock'", "entrenched clause cannot be changed"),
    ("UPDATE clause SET entrenched = FALSE WHERE name = 'no-share-issuance'", "entrenched clause cannot be changed"),
    ("UPDATE clause SET entrenched = TRUE WHERE name = 'sharing.method'", "entrenched clause cannot be changed"),
    ("DELETE FROM clause WHERE name = 'no-demutualisation'", "never deleted|cannot be removed"),
    ("DELETE FROM clause WHERE name = 'sharing.method'", "never deleted"),
    ("INSERT INTO member_fact (member_id, effective, role, hours_hundredths, pay_pence) "
     "VALUES (1, '2026-07-01', 'investor', 3750, 0)", "employee_roles_only|CHECK constraint"),
    ("INSERT INTO member_fact (member_id, effective, role, hours_hundredths, pay_pence) "
     "VALUES (1, '2026-07-01', 'practitioner', 100, 0)", "below the minimum weekly hours"),
    ("UPDATE member SET handle = 'acme' WHERE handle = 'ann'", "cannot be transferred"),
    ("UPDATE member SET employed_since = '2020-01-01' WHERE handle = 'ann'", "cannot be transferred"),
    ("UPDATE member SET left_on = NULL WHERE handle = 'cal'", "cannot be transferred or revived"),
    ("UPDATE member SET left_on = '2027-01-01' WHERE handle = 'cal'", "cannot be transferred or revived"),
    ("DELETE FROM member WHERE handle = 'sam'", "never deleted"),
    ("UPDATE member SET left_on = '2026-06-29' WHERE handle = 'ann'",
     "the member voted after that leaving date"),
    ("INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) SELECT 1, id, 1, "
     "'yes', '2026-06-30 10:00:00', '2026-06-30' FROM member WHERE handle = 'cal'",
     "a former member, or one whose membership has not begun, has no vote"),
    ("INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) SELECT 1, id, 1, "
     "'yes', '2025-01-01 10:00:00', '2025-01-01' FROM member WHERE handle = 'sam'",
     "a former member, or one whose membership has not begun, has no vote"),
    ("INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) SELECT 1, id, 1, "
     "'yes', '2026-06-30 10:00:00', '2026-06-30' FROM member WHERE handle = 'ann'",
     "a changed vote replaces the last one|UNIQUE"),
    ("INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) SELECT 1, id, 5, "
     "'yes', '2026-06-30 10:00:00', '2026-06-30' FROM member WHERE handle = 'ann'",
     "a changed vote replaces the last one"),
    ("UPDATE vote SET choice = 'no'", "append-only"),
    ("DELETE FROM vote", "append-only"),
    ("INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) SELECT 2, id, 1, "
     "'yes', '2026-06-30 10:00:00', '2026-06-30' FROM member WHERE handle = 'bea'",
     "the proposal is closed"),
    ("UPDATE proposal SET yes = 10, status = 'passed' WHERE id = 2", "a closed proposal cannot be changed"),
    ("DELETE FROM proposal WHERE id = 1", "never deleted"),
    ("INSERT INTO proposal (title, kind, action, clause, value, created_at, status) VALUES "
     "('t', 'special', 'amend', 'one-member-one-vote', 'off', '2026-06-30 10:00:00', 'open')",
     "an entrenched clause cannot be amended"),
    ("UPDATE proposal SET clause = 'asset-lock', value = 'off' WHERE id = 1",
     "an entrenched clause cannot be amended"),
    ("INSERT INTO proposal (title, kind, action, target, target_kind, created_at, status) VALUES "
     "('t', 'special', 'merge', 'Acme', 'company', '2026-06-30 10:00:00', 'open')", "asset-locked body"),
    ("INSERT INTO proposal (title, kind, action, target, target_kind, created_at, status) VALUES "
     "('t', 'special', 'dissolve', 'Us', 'members', '2026-06-30 10:00:00', 'open')", "asset-locked body"),
    ("UPDATE proposal SET action = 'merge', target = 'Acme', target_kind = 'company' WHERE id = 1",
     "asset-locked body"),
    ("UPDATE ledger_entry SET amount_pence = 1", "append-only"),
    ("DELETE FROM audit_event", "append-only"),
]


@pytest.mark.parametrize("statement,error", REFUSED, ids=[s[:60] for s, _ in REFUSED])
def test_the_database_refuses_a_direct_write_that_breaks_a_rule(practice, db, statement, error):
    from tests.conftest import snapshot

    practice.ok("ledger", "income", "100", "--date", "2026-04-10", "--category", "fees", as_="mo")
    open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    practice.ok("vote", "1", "yes", as_="ann")
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=30")
    close(practice, pid)
    practice.ok("member", "leave", "cal", "--date", "2026-06-01", as_="cal")
    from sqlalchemy.exc import DBAPIError

    before = snapshot(db, skip=())
    with pytest.raises(DBAPIError, match=error):
        sql(db, statement)
    assert snapshot(db, skip=()) == before


# --- writes only `swp check` can find --------------------------------------------------------

MEMBER = ("INSERT INTO member (handle, name, employed_since, admitted_at) VALUES "
          "('{h}', '{n}', '2024-01-01', '2026-01-01 00:00:00.000000')")
FACT = ("INSERT INTO member_fact (member_id, effective, role, hours_hundredths, pay_pence) "
        "SELECT id, '2024-01-01', '{r}', 3000, 0 FROM member WHERE handle = '{h}'")
ENTRY = ("INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, reverses, "
         "recorded_at) VALUES ('2026-05-02', '{k}', {a}, '{c}', '{d}', '{cr}', {rev}, "
         "'2026-05-02 00:00:00.000000')")
VOTE = ("INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) SELECT "
        "{p}, id, {v}, 'yes', '2026-06-30 10:00:00.000000', '{on}' FROM member WHERE handle = '{h}'")

REPORTED = [
    ("an organisation admitted",
     [MEMBER.format(h="acme", n="Acme Care Ltd"), "UPDATE member SET registration = 'SW299001' WHERE handle = 'acme'",
      FACT.format(h="acme", r="practitioner")],
     "membership", "employees-only", "'Acme Care Ltd' is an organisation"),
    ("a member with no role or hours",
     [MEMBER.format(h="ivy", n="Ivy Investor")], "membership", "employees-only",
     "ivy has no role or hours recorded"),
    ("the majority given away",
     [s for h in ("s1", "s2") for s in (MEMBER.format(h=h, n=h), FACT.format(h=h, r="staff"))],
     "membership", "frontline-majority", "practitioners are 3 of 7 members"),
    ("an amendable clause changed without a resolution",
     ["UPDATE clause SET value = '0' WHERE name = 'sharing.reserve-percent'"],
     "constitution", "sharing.reserve-percent", "founded as 20 and no resolution has amended it"),
    ("the cap lowered without a resolution",
     ["UPDATE clause SET value = '3' WHERE name = 'membership.max-members'"],
     "membership", "membership.max-members", "5 members, above the cap of 3"),
    ("a clause with a bad value",
     ["UPDATE clause SET value = 'lots' WHERE name = 'governance.special-percent'"],
     "constitution", "governance.special-percent", "holds a bad value"),
    ("an invented clause",
     ["INSERT INTO clause VALUES ('membership.investors', 'on', FALSE, 'ordinary')"],
     "constitution", "membership.investors", "unknown clause"),
    ("an entrenched clause changed behind the trigger's back",
     ["DROP TRIGGER clause_entrenched_update ON clause",
      "UPDATE clause SET value = 'off' WHERE name = 'no-demutualisation'"],
     "constitution", "no-demutualisation", "the entrenched clause no-demutualisation was changed"),
    ("a share register",
     ["CREATE TABLE share_register (id INTEGER PRIMARY KEY, holder TEXT, class TEXT)"],
     "shares", "no-share-issuance", "a table 'share_register'"),
    ("a share count",
     ["ALTER TABLE member ADD COLUMN shares INTEGER"],
     "shares", "no-share-issuance", "a column member.shares"),
    ("a lender's board seat",
     ["ALTER TABLE loan ADD COLUMN board_seat INTEGER"],
     "shares", "no-share-issuance", "a column loan.board_seat"),
    ("share capital in the books",
     [ENTRY.format(k="income", a=100000, c="share-capital", d="assets:bank",
                   cr="income:share-capital", rev="NULL")],
     "shares", "no-share-issuance", "income is booked under 'share-capital': 'share-capital' names capital"),
    ("share capital in the books, not as income",
     [ENTRY.format(k="expense", a=100, c="share-issue", d="expenses:share-issue", cr="assets:bank",
                   rev="NULL")],
     "shares", "no-share-issuance", "the ledger uses 'share-issue' and 'expenses:share-issue'"),
    ("a loan taken as income",
     [ENTRY.format(k="income", a=100000, c="loans", d="assets:bank", cr="income:loans", rev="NULL")],
     "loans", "asset-lock", "records borrowed money as income"),
    ("a loan with no terms",
     [ENTRY.format(k="loan", a=100000, c="loans", d="assets:bank", cr="liabilities:loans:X",
                   rev="NULL")],
     "loans", None, "is a loan with no loan terms recorded"),
    ("loan terms with no money",
     ["INSERT INTO loan (lender, amount_pence, date) VALUES ('Shadow Capital', 500000, '2026-05-01')"],
     "loans", None, "loan #1 from Shadow Capital is not in the ledger"),
    ("an entry crediting the wrong account",
     [ENTRY.format(k="income", a=5000, c="fees", d="assets:bank", cr="liabilities:x", rev="NULL")],
     "ledger", None, "not the accounts a income uses"),
    ("a loan crediting the profit shares owed",
     [ENTRY.format(k="loan", a=100000, c="loans", d="assets:bank", cr="liabilities:profit-share-owed",
                   rev="NULL")],
     "ledger", None, "not the accounts a loan uses"),
    ("a negative entry that reverses nothing",
     [ENTRY.format(k="income", a=-5000, c="fees", d="assets:bank", cr="income:fees", rev="NULL")],
     "ledger", None, "is negative (-5000 pence) but reverses nothing"),
    ("a reversal that does not undo its entry",
     [ENTRY.format(k="income", a=-10, c="contracts", d="assets:bank", cr="income:contracts", rev=1)],
     "ledger", None, "reverses #1 but does not undo it exactly"),
    ("a closed result with invented votes",
     ["DROP TRIGGER proposal_made_open ON proposal",
      "INSERT INTO proposal (title, kind, action, clause, value, created_at, status, closed_at, "
      "closed_on, yes, no, abstain, quorum_met) VALUES ('t', 'ordinary', 'amend', "
      "'sharing.reserve-percent', '1', '2026-06-30 10:00:00', 'passed', '2026-06-30 11:00:00', "
      "'2026-06-30', 4, 0, 0, TRUE)"],
     "votes", "one-member-one-vote", "records yes 4, no 0, abstain 0, but its members' votes count yes 0"),
    ("a passed result without a quorum",
     ["DROP TRIGGER proposal_made_open ON proposal",
      "INSERT INTO proposal (title, kind, action, target, created_at, status, closed_at, closed_on, "
      "yes, no, abstain, quorum_met) VALUES ('t', 'special', 'expel', 'nobody', "
      "'2026-06-30 10:00:00', 'passed', '2026-06-30 11:00:00', '2026-06-30', 0, 0, 0, FALSE)"],
     "proposals", "one-member-one-vote", "recorded as passed without a quorum"),
    ("a merger nobody voted for",
     ["UPDATE practice SET status = 'merging', status_detail = 'with Acme plc'"],
     "proposals", "no-demutualisation", "recorded as 'merging' without a passed resolution"),
    ("a former member's vote behind the trigger's back",
     ["DROP TRIGGER vote_members_only ON vote", VOTE.format(p=1, v=1, on="2026-06-30", h="cal")],
     "votes", "one-member-one-vote", "cal voted on proposal #1 on 2026-06-30, after leaving on 2026-06-01"),
    ("a vote cast before the voter's membership began",
     ["DROP TRIGGER vote_members_only ON vote", VOTE.format(p=1, v=1, on="2025-12-30", h="dee")],
     "votes", "one-member-one-vote",
     "dee voted on proposal #1 on 2025-12-30, before their membership began on 2026-01-01"),
    ("a second vote behind the trigger's back",
     ["DROP TRIGGER vote_next_version ON vote", VOTE.format(p=1, v=3, on="2026-06-30", h="ann")],
     "votes", "one-member-one-vote", "ann has 2 votes on proposal #1 numbered 1 to 3"),
    ("a period that does not add up",
     period_rows(1, "q", "2026-04-01", "2026-04-30", 12000_00, 0, 0, 12000_00),
     "periods", None, "allocations add up to 0, not the distributable 1200000"),
    ("a period whose books changed",
     period_rows(1, "q", "2026-04-01", "2026-04-30", 999, 0, 0, 999),
     "periods", None, "its entries now add up to 1200000 and 0"),
    ("profit to someone who had left",
     period_rows(1, "q", "2026-07-01", "2026-07-31", 0, 0, 0, 0)
     + ["DROP TRIGGER allocation_members_only ON allocation",
        "INSERT INTO allocation (period_id, member_id, amount_pence, carried_in_pence, payable_pence, "
        "carried_out_pence, basis) SELECT 1, id, 0, 0, 0, 0, '{}' FROM member WHERE handle = 'cal'"],
     "periods", "asset-lock", "cal was allocated 0 but was not a member on any day of it"),
    ("an expelled member still on the register",
     ["DROP TRIGGER member_not_transferable ON member", "UPDATE member SET left_on = NULL WHERE handle = 'sam'"],
     "proposals", None, "sam was expelled by resolution #2 on 2026-07-15 but is still a member"),
    ("a rewritten audit event",
     ["DROP TRIGGER audit_event_append_only_update ON audit_event", "UPDATE audit_event SET actor = 'x' WHERE seq = 2"],
     "audit", None, "the audit chain is broken at event 2"),
]

# SQLite lets these through (foreign keys are off unless a connection asks; a column's type
# is only a hint); PostgreSQL refuses them outright
SQLITE_REPORTED = [
    ("a vote by nobody",
     ["INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) VALUES "
      "(1, 999, 1, 'yes', '2026-06-30 10:00:00.000000', '2026-06-30')"],
     "foreign-keys", None, "vote row"),
    ("a date nobody can read",
     ["DROP TRIGGER member_not_transferable ON member",
      "UPDATE member SET employed_since = 'last spring' WHERE handle = 'bea'"],
     "membership", None, "could not be checked"),
]


@pytest.mark.parametrize("setup,check,clause,message", [r[1:] for r in SQLITE_REPORTED],
                         ids=[r[0] for r in SQLITE_REPORTED])
def test_check_finds_what_sqlite_lets_through(practice, db, setup, check, clause, message):
    if is_postgres(db):
        from sqlalchemy.exc import DBAPIError

        with pytest.raises(DBAPIError):
            sql(db, *setup)
        return
    test_check_finds_what_got_past_the_database(practice, db, setup, check, clause, message)


@pytest.mark.parametrize("setup,check,clause,message", [r[1:] for r in REPORTED],
                         ids=[r[0] for r in REPORTED])
def test_check_finds_what_got_past_the_database(practice, db, setup, check, clause, message):
    practice.ok("ledger", "income", "12000", "--date", "2026-04-10", "--category", "contracts",
                as_="mo")
    open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    practice.ok("vote", "1", "yes", as_="ann")
    practice.ok("member", "add", "dee", "--name", "Dee Dunn", "--role", "practitioner", "--registration", "SW240028",
                "--employed-since", "2026-01-01", "--hours", "30", as_="mo")
    practice.ok("member", "leave", "cal", "--date", "2026-06-01", as_="cal")
    expel = open_proposal(practice, "--kind", "special", "--expel", "sam")
    votes(practice, expel, ann="yes", bea="yes", dee="yes")
    close(practice, expel)
    practice.ok("check")
    sql(db, *setup)
    found = problems(practice)
    matching = [p for p in found if p["check"] == check and message in p["message"]]
    assert matching, found
    assert matching[0]["clause"] == clause


def test_check_finds_an_entry_dated_after_today_until_it_is_reversed(practice, db):
    """swp refuses an entry dated after today; the database cannot (today moves), so one
    written around swp is reported, by `swp check` on the days before it. Reversed on its own
    day (the mistake undone), it is no longer reported."""
    practice.ok("ledger", "income", "12000", "--date", "2026-04-10", "--category", "contracts", as_="mo")
    practice.ok("check")
    sql(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, recorded_at) "
            "VALUES ('2062-01-01', 'income', 10000, 'fees', 'assets:bank', 'income:fees', "
            "'2026-06-30 12:00:00.000000')")
    assert [(p["check"], p["message"]) for p in problems(practice)] == [
        ("ledger", "entry #2 (income) is dated 2062-01-01, after today (2026-06-30): the ledger "
                   "records money once it is received or paid, never in advance; reverse it (on its "
                   "own day, as a reversal is unless told otherwise) and record it on the day the "
                   "money moved")]
    run = practice("check", env={"SWP_TODAY": "2062-01-01"})  # on its day: no longer after today
    assert "dated 2062-01-01" not in run.out + run.err
    later = practice("ledger", "reverse", "2", "--reason", "2062 for 2026", "--date", "2062-01-02", as_="mo")
    assert (later.code, later.err) == (1, "swp: 2062-01-02 is after today (2026-06-30): the ledger records "
                                          "money once it is received or paid, never in advance\n")
    done = practice.ok("ledger", "reverse", "2", "--reason", "2062 for 2026", as_="mo", json=True).json
    assert done == {"entry": 3, "reverses": 2}
    assert query(db, "SELECT date FROM ledger_entry WHERE id = 3") in ([("2062-01-01",)], [(date(2062, 1, 1),)])
    assert [p for p in problems(practice) if p["check"] == "ledger"] == []
    # tomorrow has a day's grace: the machine that recorded it may be where that day has begun
    sql(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, recorded_at) "
            "VALUES ('2026-07-01', 'income', 100, 'fees', 'assets:bank', 'income:fees', "
            "'2026-06-30 23:30:00.000000')")
    assert [p for p in problems(practice) if p["check"] == "ledger"] == []
    sql(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, recorded_at) "
            "VALUES ('2026-07-02', 'income', 100, 'fees', 'assets:bank', 'income:fees', "
            "'2026-06-30 23:30:00.000000')")
    assert [p["message"][:62] for p in problems(practice) if p["check"] == "ledger"] == [
        "entry #5 (income) is dated 2026-07-02, after today (2026-06-30"]


def test_check_lists_every_problem_at_once(practice, db):
    sql(db, "CREATE TABLE shares (id INTEGER PRIMARY KEY)",
        "UPDATE practice SET status = 'dissolving'",
        MEMBER.format(h="acme", n="Acme Holdings"), FACT.format(h="acme", r="staff"),
        "DROP TRIGGER audit_event_append_only_update ON audit_event",
        "UPDATE audit_event SET command = 'x' WHERE seq = 3")
    found = problems(practice)
    assert {p["check"] for p in found} >= {"shares", "proposals", "membership", "audit"}
    assert len(found) >= 4
    run = practice("check")
    assert run.code == 4
    for p in found:
        assert p["check"] in run.out
    every = practice("check", json=True).json["problems"]  # with the signed-rows ones
    assert len(every) > len(found)
    assert run.err.startswith(f"swp: check found {len(every)} problem(s)")


def test_one_capital_entry_is_one_shares_problem(practice, db):
    """Its category and its account both name share capital: reported once, for the entry."""
    sql(db, ENTRY.format(k="income", a=5000, c="share-capital", d="assets:bank",
                         cr="income:share-capital", rev="NULL"))
    shares = [p for p in problems(practice) if p["check"] == "shares"]
    assert [(p["clause"], p["message"].split(":")[0]) for p in shares] == [
        ("no-share-issuance", "income is booked under 'share-capital'")], shares


@pytest.mark.parametrize(("name", "names_shares"), [
    ("share-capital", True), ("shares", True), ("expenses:share-issue", True), ("assets:share", True),
    ("equity:reserve", True), ("stock", True), ("equities", True), ("stockholder-loans", True),
    ("shared-admin", False), ("profit-share", False), ("liabilities:profit-share-owed", False),
    ("income:contracts", False), ("assets:bank", False),
])
def test_a_ledger_name_naming_shares(name, names_shares):
    from swp import rules

    assert rules.names_shares(name) is names_shares


def test_an_early_close_stays_valid_after_a_later_admission(practice):
    """A special resolution closed early, 4 of the 5 members for it (the fifth could not change
    it): a member admitted afterwards was not on the roll that day, so it is no snap vote."""
    special = open_proposal(practice, "--kind", "special", "--merge-with", "Eastside SWP",
                            "--partner-kind", "mutual", "--register", "31045R")
    votes(practice, special, ann="yes", bea="yes", cal="yes", mo="yes")
    assert practice.ok("proposal", "close", str(special), as_="ann", json=True).json["status"] == "passed"
    practice.ok("check")
    practice.ok("member", "add", "dee", "--name", "Dee Dunn", "--role", "practitioner",
                "--registration", "SW240028", "--employed-since", "2026-07-01", "--hours", "30",
                as_="mo", env={"SWP_TODAY": "2026-07-01"})
    run = practice("check", env={"SWP_TODAY": "2026-07-01"})
    assert run.code == 0, run.out + run.err


def test_check_names_every_defence_dropped_around_swp(practice, db):
    """A trigger, the unique index of reversals and the covering index, dropped with the
    database file: each is named by the defences check, even before anything they refused has
    been written."""
    practice.ok("check")
    sql(db, "DROP TRIGGER ledger_entry_period_lock ON ledger_entry",
        "DROP INDEX ix_ledger_entry_reverses", "DROP INDEX ix_ledger_entry_date_cover")
    found = {p["message"] for p in problems(practice) if p["check"] == "defences"}
    assert found == {
        "the trigger ledger_entry_period_lock on ledger_entry is missing: the database no longer "
        "refuses what it guarded (restore it with a backup, or ask who dropped it)",
        "the unique index ix_ledger_entry_reverses on ledger_entry is missing: the database no "
        "longer refuses a second row it refused (restore it with a backup, or ask who dropped it)",
        "the index ix_ledger_entry_date_cover on ledger_entry is missing: what reads ledger_entry "
        "by it is slow (restore it with a backup, or ask who dropped it)"}


def test_check_names_the_indexes_of_a_loans_and_a_shared_costs_entry_when_dropped(practice, db):
    """A fresh practice has the indexes of `loan.entry_id` and `shared_cost.entry_id` (check is
    clean); dropped around swp, each is named like any other index the schema should have."""
    assert practice.ok("check", json=True).json["problems"] == []
    sql(db, "DROP INDEX ix_loan_entry_id", "DROP INDEX ix_shared_cost_entry_id")
    found = {p["message"] for p in problems(practice) if p["check"] == "defences"}
    assert found == {
        f"the index ix_{table}_entry_id on {table} is missing: what reads {table} by it is slow "
        "(restore it with a backup, or ask who dropped it)" for table in ("loan", "shared_cost")}


def test_check_names_a_unique_index_replaced_by_a_plain_one_of_the_same_name(practice, db):
    """The index that lets an entry be reversed only once, dropped and made again without
    UNIQUE under its own name: the name is there, the refusal is not, and check says so."""
    practice.ok("check")
    sql(db, "DROP INDEX ix_ledger_entry_reverses",
        "CREATE INDEX ix_ledger_entry_reverses ON ledger_entry (reverses)")
    found = {p["message"] for p in problems(practice) if p["check"] == "defences"}
    assert found == {"ledger_entry.reverses is no longer unique: the database no longer refuses "
                     "two rows with the same value (restore it with a backup, or ask who dropped it)"}


def test_check_names_a_column_that_is_no_longer_unique(practice, db):
    """A column declared unique without a name of its own (a partner's name here; a member's
    handle, an entry's ref, a period's label alike) made not unique around swp: PostgreSQL by
    dropping the constraint it named, SQLite by making the table again without it."""
    practice.ok("check")
    if is_postgres(db):
        sql(db, "ALTER TABLE partner DROP CONSTRAINT partner_name_key")
    else:
        ddl = sql_value(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'partner'")
        assert ", \n\tUNIQUE (name)\n" in ddl
        guard = sql_value(db, "SELECT sql FROM sqlite_master WHERE name = 'partner_no_delete'")
        sql(db, "CREATE TEMP TABLE hold AS SELECT * FROM partner", "DROP TABLE partner",
            ddl.replace(", \n\tUNIQUE (name)\n", "\n"), "INSERT INTO partner SELECT * FROM temp.hold",
            "DROP TABLE temp.hold", guard)
    found = {p["message"] for p in problems(practice) if p["check"] == "defences"}
    assert found == {"partner.name is no longer unique: the database no longer refuses two rows "
                     "with the same value (restore it with a backup, or ask who dropped it)"}


def sql_value(db: str, query: str) -> str:
    from tests.conftest import query as read

    return read(db, query)[0][0]


def test_check_finds_the_indexes_where_the_tables_are_found(practice, db):
    """On PostgreSQL the tables are found through the search path; the first schema on it
    (current_schema()) need not hold them: a role with a schema of its own, as PostgreSQL's
    guide suggests for each user ("$user" comes first on the default path), or a path that
    starts with another schema. No index is then reported missing that is there, and what is
    wrong in the practice's own schema (a dropped index, a column no longer unique, a share
    register) is still found."""
    if not is_postgres(db):
        pytest.skip("SQLite has one schema")
    from sqlalchemy.engine import make_url

    sql(db, "CREATE SCHEMA scratch")
    url = make_url(db).update_query_dict({"options": "-csearch_path=scratch,public"})
    elsewhere = Swp(url.render_as_string(hide_password=False))
    assert elsewhere.ok("check", json=True).json["problems"] == []
    sql(db, "DROP INDEX ix_ledger_entry_date_cover", "ALTER TABLE partner DROP CONSTRAINT partner_name_key",
        "CREATE TABLE share_register (id INTEGER PRIMARY KEY, holder TEXT, class TEXT)")
    every = problems(elsewhere)
    assert any(p["check"] == "shares" and "a table 'share_register'" in p["message"] for p in every), every
    found = {p["message"] for p in every if p["check"] == "defences"}
    assert found == {"the index ix_ledger_entry_date_cover on ledger_entry is missing: what reads "
                     "ledger_entry by it is slow (restore it with a backup, or ask who dropped it)",
                     "partner.name is no longer unique: the database no longer refuses two rows "
                     "with the same value (restore it with a backup, or ask who dropped it)"}
