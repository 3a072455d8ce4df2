"""Partners that share administration costs: the split to the penny, the expense recorded,
the refusals, and that a partner gains no member, vote or claim on assets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import audit_rows, execute, query, snapshot

NORTHSIDE = "Northside Social Work Practice"


def agree_split(swp, name: str, percent: str = "100") -> None:
    """The members agree (an ordinary resolution, every member voting) the most of a shared
    cost the practice may carry with this partner; 100 lets every split below through."""
    pid = swp.ok("proposal", "new", "--title", f"Share costs with {name}", "--kind", "ordinary",
                 "--partner-split", f"{name}={percent}", as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal", "mo", "sam"):
        swp.ok("vote", str(pid), "yes", as_=handle)
    swp.ok("proposal", "close", str(pid), as_="ann")


@pytest.fixture
def partnered(practice):
    practice.ok("partner", "add", NORTHSIDE, "--kind", "mutual", as_="mo")
    agree_split(practice, NORTHSIDE)
    return practice


def shared_costs(db):
    """Every shared cost as stored, dates as ISO text (as SQLite keeps them) on either backend."""
    rows = query(db, "SELECT entry_id, partner_id, date, total_pence, our_percent, "
                     "our_pence, partner_pence, memo FROM shared_cost ORDER BY id")
    return [(entry, partner, str(day), *rest) for entry, partner, day, *rest in rows]


def expenses(db):
    return query(db, "SELECT id, kind, amount_pence, category, debit, credit, partner_id, "
                     "memo FROM ledger_entry ORDER BY id")


# --- partners ------------------------------------------------------------------------------


def test_add_and_list_partners(practice, db):
    run = practice.ok("partner", "add", NORTHSIDE, "--kind", "mutual", as_="mo")
    assert run.out == (f"Added partner {NORTHSIDE} (mutual): it shares costs, never "
                       "ownership.\n")
    data = practice.ok("partner", "add", "Leeds Payroll Services Ltd", "--kind", "company",
                       as_="mo", json=True).json
    assert data == {"partner": {"name": "Leeds Payroll Services Ltd", "kind": "company",
                                "asset_locked": False, "shared_costs": 0, "total_pence": 0,
                                "our_pence": 0, "partner_pence": 0}}
    listed = practice.ok("partner", "list", json=True).json["partners"]
    assert [(p["name"], p["kind"], p["asset_locked"]) for p in listed] == [
        ("Leeds Payroll Services Ltd", "company", False), (NORTHSIDE, "mutual", True)]
    assert [e["command"] for e in audit_rows(db)[-2:]] == ["partner add", "partner add"]


@pytest.mark.parametrize("kind", ["mutual", "charity", "cic", "local-authority", "company",
                                  "CIC"])
def test_every_kind_of_organisation_may_be_a_partner(practice, kind):
    data = practice.ok("partner", "add", "Partner", "--kind", kind, as_="mo", json=True).json
    assert data["partner"]["kind"] == kind.lower()


def test_a_partner_gains_no_member_vote_or_claim_on_assets(practice, db):
    def people_and_power():
        tables = snapshot(db)
        return {name: tables[name] for name in ("member", "member_fact", "vote", "proposal",
                                                "allocation", "period", "clause", "practice")}

    practice.ok("partner", "add", "Big Care Holdings plc", "--kind", "company", as_="mo")
    agree_split(practice, "Big Care Holdings plc")
    before = people_and_power()
    practice.ok("partner", "cost", "Big Care Holdings plc", "1000", "--date", "2026-05-31",
                "--our-percent", "50", "--memo", "Shared office", as_="mo")
    assert people_and_power() == before
    shown = practice.ok("practice", "show", json=True).json
    assert shown["members"] == 5 and shown["equal_say"] == "1/5"


def test_kind_members_is_not_a_kind_of_partner_exit_2(practice, db):
    before = snapshot(db)
    run = practice("partner", "add", "The Members", "--kind", "members", as_="mo")
    assert run.code == 2
    assert run.err == ("swp: Invalid value for '--kind': 'members' is not one of mutual, charity, "
                       "cic, local-authority, company (see 'swp partner add --help')\n")
    run = practice("partner", "add", "Acme", "--kind", "investor", as_="mo")
    assert run.code == 2
    assert run.err == ("swp: Invalid value for '--kind': 'investor' is not one of mutual, charity, "
                       "cic, local-authority, company (see 'swp partner add --help')\n")
    assert snapshot(db) == before


def test_a_duplicate_partner_is_exit_1(partnered, db):
    before = snapshot(db)
    run = partnered("partner", "add", NORTHSIDE.upper(), "--kind", "charity", as_="mo")
    assert run.code == 1
    assert run.err == f"swp: a partner named {NORTHSIDE!r} already exists\n"
    assert snapshot(db) == before


def test_managing_partners_needs_the_manager(practice, db):
    before = snapshot(db)
    run = practice("partner", "add", NORTHSIDE, "--kind", "mutual")
    assert run.code == 1
    assert run.err == "swp: managing partners needs --as a current manager (mo)\n"
    assert snapshot(db) == before


def test_partner_list_when_there_are_none(practice):
    assert "No partners yet" in practice.ok("partner", "list").out
    assert practice.ok("partner", "list", json=True).json == {"partners": []}


# --- shared costs --------------------------------------------------------------------------


def test_a_shared_cost_records_only_the_practices_part_as_an_expense(partnered, db):
    run = partnered.ok("partner", "cost", NORTHSIDE, "1200.01", "--date", "2026-05-31",
                       "--our-percent", "40", "--memo", "Payroll bureau, May", as_="mo")
    assert run.out == (f"Shared £1,200.01 with {NORTHSIDE} on 2026-05-31: our part £480.00 "
                       "(40%) recorded as expense #1 in shared-admin; their part £720.01 is "
                       "theirs to pay, not our cost.\n")
    assert expenses(db) == [(1, "expense", 48_000, "shared-admin", "expenses:shared-admin",
                             "assets:bank", 1, f"Payroll bureau, May (shared with {NORTHSIDE})")]
    assert shared_costs(db) == [(1, 1, "2026-05-31", 120_001, 40, 48_000, 72_001,
                                 "Payroll bureau, May")]
    assert audit_rows(db)[-1]["command"] == "partner cost"


def test_a_shared_cost_dated_after_today_is_refused(partnered, db):
    """The practice's part is an expense paid: dated by today at the latest."""
    before = snapshot(db)
    run = partnered("partner", "cost", NORTHSIDE, "1200", "--date", "2026-07-01", "--our-percent", "40",
                    "--memo", "Payroll bureau, July", as_="mo")
    assert (run.code, run.err) == (1, "swp: 2026-07-01 is after today (2026-06-30): the ledger "
                                      "records money once it is received or paid, never in advance\n")
    assert snapshot(db) == before
    partnered.ok("partner", "cost", NORTHSIDE, "1200", "--date", "2026-06-30", "--our-percent", "40",
                 "--memo", "Payroll bureau, June", as_="mo")


def test_a_shared_cost_in_json(partnered):
    data = partnered.ok("partner", "cost", "northside social work practice", "£1,000.01",
                        "--date", "2026-05-31", "--our-percent", "50", "--memo", "Office",
                        as_="mo", json=True).json
    assert data == {"entry": 1, "partner": NORTHSIDE, "date": "2026-05-31",
                    "total_pence": 100_001, "our_percent": 50, "our_pence": 50_001,
                    "partner_pence": 50_000, "memo": "Office"}


@pytest.mark.parametrize("amount, percent, ours, theirs", [
    ("1200.01", "40", 48_000, 72_001),    # 48000.4 / 72000.6: the larger remainder wins
    ("1200.01", "60", 72_001, 48_000),
    ("0.05", "50", 3, 2),                 # a tie: the practice takes the odd penny
    ("0.05", "10", 1, 4),                 # 0.5 / 4.5 is a tie too: the practice's penny
    ("1000.01", "50", 50_001, 50_000),
    ("0.10", "33", 3, 7),                 # 3.3 / 6.7
    ("0.02", "99", 2, 0),                 # 1.98 / 0.02: the whole of it is ours
    ("333.33", "100", 33_333, 0),
    ("999999.99", "1", 1_000_000, 98_999_999),  # 999999.9999 rounds up
])
def test_the_split_of_a_shared_cost_to_the_penny(partnered, db, amount, percent, ours, theirs):
    data = partnered.ok("partner", "cost", NORTHSIDE, amount, "--date", "2026-05-31",
                        "--our-percent", percent, "--memo", "m", as_="mo", json=True).json
    assert (data["our_pence"], data["partner_pence"]) == (ours, theirs)
    assert ours + theirs == data["total_pence"]
    assert expenses(db)[-1][2] == ours


def test_partner_list_totals_the_shared_costs(partnered):
    for amount, percent in (("1200.01", "40"), ("0.05", "50"), ("300", "100")):
        partnered.ok("partner", "cost", NORTHSIDE, amount, "--date", "2026-05-31",
                     "--our-percent", percent, "--memo", "m", as_="mo")
    listed = partnered.ok("partner", "list", json=True).json["partners"]
    assert listed == [{"name": NORTHSIDE, "kind": "mutual", "asset_locked": True,
                       "shared_costs": 3, "total_pence": 150_006, "our_pence": 78_003,
                       "partner_pence": 72_003}]
    out = partnered.ok("partner", "list").out
    assert "£1,500.06" in out and "£780.03" in out and "£720.03" in out


def test_a_reversed_shared_cost_no_longer_counts(partnered, db):
    partnered.ok("partner", "cost", NORTHSIDE, "100", "--date", "2026-05-31",
                 "--our-percent", "40", "--memo", "entered twice", as_="mo")
    partnered.ok("partner", "cost", NORTHSIDE, "100", "--date", "2026-05-31",
                 "--our-percent", "40", "--memo", "office", as_="mo")
    execute(  # the reversal, as the ledger writes it
        db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, memo, "
            "reverses, partner_id, recorded_at) SELECT date, kind, -amount_pence, category, "
            "debit, credit, 'reversal', id, partner_id, recorded_at FROM ledger_entry "
            "WHERE id = 1")
    listed = partnered.ok("partner", "list", json=True).json["partners"][0]
    assert (listed["shared_costs"], listed["our_pence"], listed["partner_pence"]) == \
        (1, 4_000, 6_000)


@pytest.mark.parametrize("percent, message", [
    ("101", "swp: --our-percent must be from 0 to 100, not '101'"),
    ("-5", "swp: --our-percent must be from 0 to 100, not '-5'"),
    ("40.5", "swp: --our-percent must be a whole percentage from 0 to 100, not '40.5'"),
    ("forty", "swp: --our-percent must be a whole percentage from 0 to 100, not 'forty'"),
    ("0", f"swp: the practice's part of £1,200.01 at 0% is £0.00: nothing to record (the cost "
          f"is {NORTHSIDE}'s)"),
])
def test_a_percentage_outside_0_to_100_is_exit_1_and_changes_nothing(partnered, db, percent,
                                                                      message):
    before = snapshot(db)
    events = len(audit_rows(db))
    run = partnered("partner", "cost", NORTHSIDE, "1200.01", "--date", "2026-05-31",
                    "--our-percent", percent, "--memo", "m", as_="mo")
    assert run.code == 1
    assert run.err == message + "\n"
    assert snapshot(db) == before
    assert len(audit_rows(db)) == events


def test_a_percentage_may_be_written_with_a_percent_sign(partnered):
    data = partnered.ok("partner", "cost", NORTHSIDE, "10", "--date", "2026-05-31",
                        "--our-percent", "25%", "--memo", "m", as_="mo", json=True).json
    assert (data["our_percent"], data["our_pence"]) == (25, 250)


def test_an_unknown_partner_is_exit_1(partnered, db):
    before = snapshot(db)
    run = partnered("partner", "cost", "Southside", "100", "--date", "2026-05-31",
                    "--our-percent", "50", "--memo", "m", as_="mo")
    assert run.code == 1
    assert run.err == "swp: no partner named 'Southside'; 'swp partner list' lists them\n"
    assert snapshot(db) == before


def test_a_shared_cost_needs_a_memo_and_the_manager(partnered, db):
    before = snapshot(db)
    run = partnered("partner", "cost", NORTHSIDE, "100", "--date", "2026-05-31",
                    "--our-percent", "50", "--memo", " ", as_="mo")
    assert run.code == 1
    assert run.err == "swp: a shared cost needs a memo saying what it was (--memo)\n"
    run = partnered("partner", "cost", NORTHSIDE, "100", "--date", "2026-05-31",
                    "--our-percent", "50", "--memo", "m", as_="bea")
    assert run.code == 1
    assert run.err == "swp: recording shared costs needs --as a current manager; 'bea' is not one\n"
    assert snapshot(db) == before


@given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=0, max_value=100))
def test_the_split_always_adds_up_and_is_within_a_penny_of_exact(total, percent):
    from swp.services.partners import split_cost

    ours, theirs = split_cost(total, percent)
    assert ours + theirs == total
    assert ours >= 0 and theirs >= 0
    exact_ours = total * percent  # in hundredths of a penny
    assert abs(ours * 100 - exact_ours) < 100
    if exact_ours % 100 == 50:  # a tie: the practice takes the odd penny
        assert ours * 100 == exact_ours + 50
