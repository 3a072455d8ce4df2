"""The guard's blind spots, closed: one test per route a hostile insider would try, each
refused through the CLI (exit code, one line naming the clause, the data unchanged), and for
a route that can be written around swp with plain SQL, `swp check` reporting it."""

from __future__ import annotations

import pytest

from tests.conftest import audit_rows, execute, query, snapshot
from tests.test_guard import refused


def make_sam_a_practitioner(practice, voters: tuple[str, ...]) -> None:
    """ann proposes making sam (registered) a practitioner; `voters` vote yes; ann closes it."""
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "ordinary",
                      "--make-practitioner", "sam", "--registration", "SW200301", as_="ann",
                      json=True).json["id"]
    for handle in voters:
        practice.ok("vote", str(pid), "yes", as_=handle)
    practice.ok("proposal", "close", str(pid), as_="ann")


def checked(swp, clause: str, text: str) -> None:
    """`swp check` finds the problem (exit 4), naming its clause."""
    run = swp("check", json=True)
    assert run.code == 4, run.out + run.err
    problems = run.json["problems"]
    assert any(p["clause"] == clause and text in p["message"] for p in problems), problems


# --- company names in other forms and scripts -----------------------------------------------

@pytest.mark.parametrize("name, form", [
    ("Acme Care Co.", "co"), ("Acme SA", "sa"), ("Acme Care AG", "ag"),
    ("BlackRock", "brand"), ("AcmeCareLtd", "ltd"), ("Jo L.t.d.", "ltd"),
    ("\u0410\u0441m\u0435 Care Ltd", "ltd"),  # Cyrillic A, s, e
    ("\uff21\uff23\uff2d\uff25 \uff2c\uff34\uff24", "ltd"),  # full-width
    ("Acme Care S. A.", "sa"), ("Acme GmbH", "gmbh"),
])
def test_company_names_in_any_form_or_script_are_refused(practice, db, name, form):
    err = refused(practice, db, "member", "add", "acme", "--name", name, "--role", "staff",
                  "--employed-since", "2026-01-01", "--hours", "37.5", as_="mo",
                  clause="employees-only")
    assert form in err and "organisation" in err


def test_a_company_name_written_in_with_sql_is_reported(practice, db):
    execute(db, "UPDATE member SET name = 'ＡＣＭＥ ＬＴＤ' WHERE handle = 'sam'")
    checked(practice, "employees-only", "organisation")


# --- bounds that would make a clause meaningless ----------------------------------------------

@pytest.mark.parametrize("setting, clause", [
    ("membership.min-hours=0", "employees-only"),
    ("membership.min-hours=0.5", "employees-only"),
    ("membership.max-members=151", "membership.max-members"),
    ("membership.max-members=100000", "membership.max-members"),
])
def test_entrenched_floor_and_ceiling(practice, db, setting, clause):
    err = refused(practice, db, "proposal", "new", "--title", "t", "--kind", "special",
                  "--amend", setting, as_="ann", clause=clause)
    assert "entrenched" in err


def test_floor_and_ceiling_at_founding(swp, db):
    run = swp("init", "--sandbox", "P", "--local-authority", "Leeds City Council", "--set",
              "membership.min-hours=0")
    assert run.code == 3 and "employees-only" in run.err


def test_a_clause_beyond_its_bound_written_with_sql_is_reported(practice, db):
    execute(db, "UPDATE clause SET value = '0' WHERE name = 'membership.min-hours'")
    checked(practice, "employees-only", "entrenched floor")


# --- capital booked as income -----------------------------------------------------------------

@pytest.mark.parametrize("category", ["share-capital", "capital-contribution", "investment",
                                      "financing", "equity-injection"])
def test_capital_is_never_income(practice, db, category):
    err = refused(practice, db, "ledger", "income", "5000", "--date", "2026-06-01",
                  "--category", category, as_="mo", clause="no-share-issuance")
    assert "finance loan" in err


def test_capital_is_never_income_in_an_import(practice, db, tmp_path):
    csv = tmp_path / "bank.csv"
    csv.write_text("date,type,amount,category,memo,ref\n"
                   "2026-06-01,income,100,contracts,fees,r1\n"
                   "2026-06-02,income,50000,investment,from Acme,r2\n")
    before = snapshot(db)
    run = practice("ledger", "import", str(csv), as_="mo")
    assert run.code == 3, run.err
    assert run.err.startswith("swp: refused by clause no-share-issuance: line 3:"), run.err
    assert run.err.count("\n") == 1
    assert snapshot(db) == before


def test_capital_income_written_with_sql_is_reported(practice, db):
    execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, "
                "recorded_at) VALUES ('2026-06-01', 'income', 100, 'investment', 'assets:bank', "
                "'income:investment', '2026-06-01 00:00:00')")
    checked(practice, "no-share-issuance", "investment")


# --- closing the future -----------------------------------------------------------------------

def test_a_period_ending_after_today_cannot_be_closed(practice, db):
    practice.ok("ledger", "income", "100", "--date", "2026-06-01", "--category", "contracts",
                as_="mo")
    before = snapshot(db)
    run = practice("period", "close", "2026-27", "--start", "2026-04-01", "--end", "2027-03-31",
                   as_="mo")
    assert run.code == 1, run.err
    assert "after today" in run.err and run.err.count("\n") == 1
    assert snapshot(db) == before


def test_a_period_closed_in_advance_with_sql_is_reported(practice, db):
    execute(db, "INSERT INTO period (label, start, \"end\", income_pence, expenses_pence, "
                "net_pence, reserve_pence, distributable_pence, method, fingerprint, closed_at) "
                "VALUES ('2026-27', '2026-04-01', '2027-03-31', 0, 0, 0, 0, 0, 'equal', 'x', "
                "'2026-06-30 09:00:00')")
    run = practice("check", json=True)
    assert run.code == 4
    assert any(p["check"] == "periods" and "closed on 2026-06-30, before it ended" in p["message"]
               for p in run.json["problems"]), run.json


# --- the manager ends practitioners' memberships alone ----------------------------------------

def test_a_manager_cannot_end_another_members_membership(practice, db):
    err = refused(practice, db, "member", "leave", "cal", "--date", "2026-06-30", as_="mo",
                  clause="one-member-one-vote")
    assert "--expel cal" in err


def test_a_member_resigns_for_themselves_even_backdated(practice, db):
    practice.ok("member", "leave", "cal", "--date", "2026-05-31", "--reason", "moved", as_="cal")
    assert practice.ok("member", "show", "cal", json=True).json["member"]["left_on"] == "2026-05-31"


def test_the_founding_window_does_not_reopen_when_the_manager_leaves(practice, db):
    practice.ok("member", "leave", "mo", "--date", "2026-06-01", as_="mo")
    before = snapshot(db)
    run = practice("member", "add", "eve", "--name", "Eve Evans", "--role", "manager",
                   "--employed-since", "2026-06-01", "--hours", "37.5")
    assert run.code == 1 and "founding is over" in run.err and run.err.count("\n") == 1
    assert snapshot(db) == before


def test_with_no_manager_an_admission_needs_a_resolution(practice, db):
    practice.ok("member", "leave", "mo", "--date", "2026-06-29", as_="mo")
    eve = ("member", "add", "eve", "--name", "Eve Evans", "--role", "manager",
           "--employed-since", "2026-06-01", "--hours", "37.5")
    err = refused(practice, db, *eve, as_="ann", clause="one-member-one-vote")
    assert "--admit eve --role manager" in err
    pid = practice.ok("proposal", "new", "--title", "Eve to manage", "--kind", "ordinary",
                      "--admit", "eve", "--role", "manager", as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal"):
        practice.ok("vote", str(pid), "yes", as_=handle)  # 3 of 4: settled
    assert "admit eve as manager" in practice.ok("proposal", "close", str(pid), as_="ann").out
    # the role agreed, and no other
    refused(practice, db, "member", "add", "eve", "--name", "Eve Evans", "--role", "staff",
            "--employed-since", "2026-06-01", "--hours", "37.5", as_="sam",
            clause="one-member-one-vote")
    practice.ok(*eve, as_="sam")
    practice.ok("check")
    # with a manager again, the manager admits
    practice.ok("member", "add", "dee", "--name", "Dee Dunn", "--role", "practitioner",
                "--registration", "SW100009", "--employed-since", "2026-06-01", "--hours", "30",
                as_="eve")


def test_an_admission_agreed_for_an_outsider_role_is_refused(practice, db):
    refused(practice, db, "proposal", "new", "--title", "t", "--kind", "ordinary", "--admit",
            "ivy", "--role", "investor", as_="ann", clause="employees-only")


def test_a_recorded_end_of_employment_ends_the_membership(practice, db):
    run = practice("proposal", "new", "--title", "t", "--kind", "ordinary", "--end-employment",
                   "sam=2026-07-31", as_="ann")
    assert run.code == 1 and "needs a special resolution" in run.err
    run = practice("proposal", "new", "--title", "t", "--kind", "special", "--end-employment",
                   "sam=2026-06-01", as_="ann")  # backdated: only sam may do that
    assert run.code == 1 and "only sam may give a leaving date in the past" in run.err
    pid = practice.ok("proposal", "new", "--title", "Sam's contract ends", "--kind", "special",
                      "--end-employment", "sam=2026-07-31", as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal", "mo"):
        practice.ok("vote", str(pid), "yes", as_=handle)
    # 4 of 5 yes settles a special resolution, but sam has the full notice
    err = refused(practice, db, "proposal", "close", str(pid), as_="ann",
                  clause="governance.notice-days")
    assert "ending a membership or re-enrolling a member's key waits the full notice" in err
    assert practice.ok("proposal", "show", str(pid), json=True).json["may_close_now"] is False
    closed = practice.ok("proposal", "close", str(pid), as_="ann", json=True,
                         env={"SWP_TODAY": "2026-07-15"}).json
    assert closed["status"] == "passed"
    assert closed["effect"] == "sam's employment ends: membership ends on 2026-07-31"
    assert query(db, "SELECT leave_reason FROM member WHERE handle = 'sam'") == [
        (f"employment ended, recorded by resolution #{pid}",)]
    assert practice.ok("member", "show", "sam", json=True).json["member"]["left_on"] == "2026-07-31"
    practice.ok("check", env={"SWP_TODAY": "2026-07-15"})


def test_an_expulsion_waits_the_full_notice_unless_everyone_has_voted(practice, db):
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "special", "--expel", "sam",
                      as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal", "mo"):
        practice.ok("vote", str(pid), "yes", as_=handle)
    refused(practice, db, "proposal", "close", str(pid), as_="ann",
            clause="governance.notice-days")
    practice.ok("vote", str(pid), "no", as_="sam")  # sam has had his say: it may close now
    assert practice.ok("proposal", "close", str(pid), as_="ann", json=True).json["status"] == "passed"


def test_an_expulsion_closed_early_with_sql_is_reported(practice, db):
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "special", "--expel", "sam",
                      as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal", "mo"):
        practice.ok("vote", str(pid), "yes", as_=handle)
    execute(db, f"UPDATE proposal SET status = 'passed', closed_on = '2026-06-30', yes = 4, "
                f"no = 0, abstain = 0, quorum_met = true WHERE id = {pid}",
            "UPDATE member SET left_on = '2026-06-30', leave_reason = 'expelled' "
            "WHERE handle = 'sam'")
    checked(practice, "governance.notice-days", f"proposal #{pid}")


def test_a_membership_ended_with_sql_is_reported(practice, db):
    execute(db, "UPDATE member SET left_on = '2026-06-01' WHERE handle = 'cal'")
    run = practice("check", json=True)
    assert run.code == 4, run.out
    cal = query(db, "SELECT id FROM member WHERE handle = 'cal'")[0][0]
    assert any(p["check"] == "signed-rows" and f"member row {cal} was changed after its signed "
               "event (left_on)" in p["message"] for p in run.json["problems"]), run.json


# --- snap votes ----------------------------------------------------------------------------------

def test_a_snap_close_before_the_others_can_vote_is_refused(practice, db):
    pid = practice.ok("proposal", "new", "--title", "Pay us more", "--kind", "special",
                      "--amend", "sharing.method=pay", as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal"):
        practice.ok("vote", str(pid), "yes", as_=handle)
    err = refused(practice, db, "proposal", "close", str(pid), as_="ann",
                  clause="governance.notice-days")
    assert "2026-07-15" in err
    shown = practice.ok("proposal", "show", str(pid), json=True).json
    assert shown["may_close_on"] == "2026-07-15" and shown["may_close_now"] is False
    assert "may close" in practice.ok("proposal", "show", str(pid)).out
    # once everyone has voted it may close at once
    practice.ok("vote", str(pid), "no", as_="mo")
    practice.ok("vote", str(pid), "no", as_="sam")
    assert practice.ok("proposal", "close", str(pid), as_="ann", json=True).json["status"] == "failed"


def test_a_settled_result_may_close_early_and_after_notice_anything(practice, db):
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "ordinary", "--amend",
                      "sharing.reserve-percent=25", as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal"):
        practice.ok("vote", str(pid), "yes", as_=handle)  # 3 of 5 yes: two noes cannot undo it
    assert practice.ok("proposal", "close", str(pid), as_="ann", json=True).json["status"] == "passed"
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "ordinary", "--amend",
                      "sharing.reserve-percent=30", as_="ann", json=True).json["id"]
    later = {"SWP_TODAY": "2026-07-15"}
    assert practice.ok("proposal", "close", str(pid), as_="ann", json=True,
                       env=later).json["status"] == "failed"


def test_a_snap_close_written_with_sql_is_reported(practice, db):
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "special", "--amend",
                      "sharing.method=pay", as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal"):
        practice.ok("vote", str(pid), "yes", as_=handle)
    execute(db, f"UPDATE proposal SET status = 'passed', closed_on = '2026-06-30', yes = 3, "
                f"no = 0, abstain = 0, quorum_met = true WHERE id = {pid}",
            "UPDATE clause SET value = 'pay' WHERE name = 'sharing.method'")
    checked(practice, "governance.notice-days", f"proposal #{pid}")


# --- governance while the frontline majority is lost ---------------------------------------------

def _lose_the_majority(practice):
    for handle in ("bea", "cal"):
        practice.ok("member", "leave", handle, "--date", "2026-06-29", as_=handle)
    # ann alone is a practitioner among ann, mo, sam


def test_only_restoring_the_majority_may_pass_while_it_is_lost(practice, db):
    _lose_the_majority(practice)
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "ordinary", "--amend",
                      "sharing.reserve-percent=0", as_="mo", json=True).json["id"]
    for handle in ("ann", "mo", "sam"):
        practice.ok("vote", str(pid), "yes", as_=handle)
    refused(practice, db, "proposal", "close", str(pid), as_="mo", clause="frontline-majority")
    # making sam a practitioner (he registered) restores it, and may pass
    make_sam_a_practitioner(practice, ("ann", "mo", "sam"))
    assert practice.ok("member", "show", "sam", json=True).json["member"]["role"] == "practitioner"
    practice.ok("proposal", "close", str(pid), as_="mo")


def test_a_resolution_passed_while_the_majority_was_lost_is_reported(practice, db):
    _lose_the_majority(practice)
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "ordinary", "--amend",
                      "sharing.reserve-percent=0", as_="mo", json=True).json["id"]
    for handle in ("ann", "mo", "sam"):
        practice.ok("vote", str(pid), "yes", as_=handle)
    execute(db, f"UPDATE proposal SET status = 'passed', closed_on = '2026-06-30', yes = 3, "
                f"no = 0, abstain = 0, quorum_met = true WHERE id = {pid}",
            "UPDATE clause SET value = '0' WHERE name = 'sharing.reserve-percent'")
    checked(practice, "frontline-majority", f"proposal #{pid} passed")


# --- roles and kinds that are only declared ------------------------------------------------------

def test_a_practitioner_needs_a_registration(practice, db):
    for registration in (None, "12345", "SWX1", "SW100001"):  # SW100001 is ann's
        extra = () if registration is None else ("--registration", registration)
        refused(practice, db, "member", "add", "dee", "--name", "Dee Dunn", "--role",
                "practitioner", "--employed-since", "2026-01-01", "--hours", "30", *extra,
                as_="mo", clause="frontline-majority")


def test_relabelling_staff_as_a_practitioner_needs_a_resolution(practice, db):
    err = refused(practice, db, "member", "update", "sam", "--effective", "2026-06-30", "--role",
                  "practitioner", as_="mo", clause="frontline-majority")
    assert "--make-practitioner sam" in err


def test_a_practitioner_without_registration_written_with_sql_is_refused_or_reported(practice, db):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        execute(db, "INSERT INTO member_fact (member_id, effective, role, hours_hundredths, "
                    "pay_pence) SELECT id, '2026-06-30', 'practitioner', 1600, 0 FROM member "
                    "WHERE handle = 'sam'")
    execute(db, "UPDATE member SET registration = NULL WHERE handle = 'bea'")
    checked(practice, "frontline-majority", "bea is a practitioner without")


def test_staff_relabelled_a_practitioner_with_sql_is_reported(practice, db):
    execute(db, "UPDATE member SET registration = 'SW200301' WHERE handle = 'sam'",
            "INSERT INTO member_fact (member_id, effective, role, hours_hundredths, pay_pence) "
            "SELECT id, '2026-06-29', 'practitioner', 1600, 0 FROM member WHERE handle = 'sam'")
    checked(practice, "frontline-majority",
            "sam became a practitioner on 2026-06-29 without a resolution")


def test_a_practitioner_made_by_resolution_is_not_reported(practice, db):
    make_sam_a_practitioner(practice, ("ann", "bea", "cal"))
    practice.ok("check")


@pytest.mark.parametrize("args, clause", [
    (("--merge-with", "Acme Care Holdings plc", "--partner-kind", "mutual", "--register", "1234R"),
     "no-demutualisation"),
    (("--dissolve", "--assets-to", "Mo Malik Capital Ltd", "--recipient-kind", "charity",
      "--register", "1123456"), "asset-lock"),
    (("--merge-with", "Eastside SWP", "--partner-kind", "charity", "--register", "ABC"),
     "asset-lock"),
    (("--merge-with", "Eastside Care", "--partner-kind", "cic", "--register", "09876543"),
     "no-demutualisation"),
])
def test_a_body_is_named_by_its_register_and_no_company_passes_as_asset_locked(practice, db,
                                                                             args, clause):
    refused(practice, db, "proposal", "new", "--title", "t", "--kind", "special", *args,
            as_="ann", clause=clause)


def test_the_register_is_shown_on_the_proposal(practice):
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "special", "--merge-with",
                      "Eastside SWP", "--partner-kind", "mutual", "--register", "31045r",
                      as_="ann", json=True).json["id"]
    shown = practice.ok("proposal", "show", str(pid), json=True).json
    assert shown["register"] == "FCA mutuals register 31045R"
    assert "FCA mutuals register 31045R" in practice.ok("proposal", "show", str(pid)).out


# --- partner cost splits ---------------------------------------------------------------------------

def _partner(practice):
    practice.ok("partner", "add", "Acme Care Ltd", "--kind", "company", as_="mo")


def test_a_cost_split_with_no_agreed_split_is_refused(practice, db):
    _partner(practice)
    refused(practice, db, "partner", "cost", "Acme Care Ltd", "1000", "--date", "2026-06-01",
            "--our-percent", "100", "--memo", "their rent", as_="mo", clause="asset-lock")


def test_a_split_beyond_the_agreed_part_is_refused(practice, db):
    _partner(practice)
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "ordinary", "--partner-split",
                      "Acme Care Ltd=40", as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal", "mo", "sam"):
        practice.ok("vote", str(pid), "yes", as_=handle)
    practice.ok("proposal", "close", str(pid), as_="ann")
    practice.ok("partner", "cost", "Acme Care Ltd", "1000", "--date", "2026-06-01",
                "--our-percent", "40", "--memo", "bureau", as_="mo")
    err = refused(practice, db, "partner", "cost", "Acme Care Ltd", "1000", "--date", "2026-06-02",
                  "--our-percent", "100", "--memo", "their rent", as_="mo", clause="asset-lock")
    assert "40%" in err


def test_a_lopsided_split_written_with_sql_is_refused(practice, db):
    from sqlalchemy.exc import IntegrityError

    _partner(practice)
    with pytest.raises(IntegrityError):
        execute(db, "INSERT INTO shared_cost (partner_id, date, total_pence, our_percent, "
                    "our_pence, partner_pence) SELECT id, '2026-06-01', 100, 100, 100, 0 FROM "
                    "partner")


# --- edits that nothing checked -------------------------------------------------------------------

def test_an_open_proposal_cannot_be_edited(practice, db):
    from sqlalchemy.exc import IntegrityError

    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "special", "--amend",
                      "membership.max-members=60", as_="ann", json=True).json["id"]
    with pytest.raises(IntegrityError):
        execute(db, f"UPDATE proposal SET value = '150' WHERE id = {pid}")
    with pytest.raises(IntegrityError):
        execute(db, "INSERT INTO proposal (title, kind, action, clause, value, created_at, "
                    "status, closed_on) VALUES ('t', 'special', 'amend', 'sharing.method', "
                    "'pay', '2026-06-30 00:00:00', 'passed', '2026-06-30')")


def test_the_local_authority_changes_only_by_special_resolution(practice, db):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        execute(db, "UPDATE practice SET local_authority = 'Bradford Council'")
    run = practice("proposal", "new", "--title", "t", "--kind", "ordinary", "--amend",
                   "practice.local-authority=Bradford Council", as_="ann")
    assert run.code == 1 and "special" in run.err
    pid = practice.ok("proposal", "new", "--title", "t", "--kind", "special", "--amend",
                      "practice.local-authority=Bradford Council", as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal", "mo", "sam"):
        practice.ok("vote", str(pid), "yes", as_=handle)
    practice.ok("proposal", "close", str(pid), as_="ann")
    assert practice.ok("practice", "show", json=True).json["local_authority"] == "Bradford Council"
    practice.ok("check")


def test_a_dropped_trigger_is_reported(practice, db):
    execute(db, "DROP TRIGGER proposal_immutable ON proposal",
            "DROP TRIGGER member_fact_append_only_update ON member_fact")
    run = practice("check", json=True)
    assert run.code == 4
    messages = [p["message"] for p in run.json["problems"]]
    assert any("proposal_immutable" in m for m in messages), messages
    assert any("member_fact_append_only_update" in m for m in messages), messages


# --- the guard's revision, down and up again on either backend ----------------------------------

def _triggers(db: str) -> set[str]:
    if db.startswith("postgresql"):
        return {r[0] for r in query(db, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    return {r[0] for r in query(db, "SELECT name FROM sqlite_master WHERE type = 'trigger'")}


def test_the_guard_revision_upgrades_a_practice_and_on_postgresql_goes_down_again(db):
    """The revision that closes the guard's blind spots, run on a practice whose schema stops
    just before it (SQLite or PostgreSQL): the notice clause at its default, its triggers,
    refusing; on PostgreSQL undone and made again; and on to the newest revision."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import IntegrityError

    from swp.db import migrate
    from swp.services.check import _migration
    from tests.conftest import database_url

    guards = {name for name, *_ in _migration("0012_guard.py").guards(
        "postgresql" if db.startswith("postgresql") else "sqlite")}
    engine = create_engine(database_url(db))
    try:
        with engine.begin() as conn:
            migrate(conn, "0013")
            conn.execute(text("INSERT INTO practice (id, name, local_authority, fiscal_year_start, "
                              "founded_at, status) VALUES (1, 'Old', 'Leeds', '04-01', :at, "
                              "'active')"), {"at": datetime(2026, 1, 5, tzinfo=UTC)})
            conn.execute(text("INSERT INTO proposal (title, kind, action, clause, value, "
                              "created_at, status) VALUES ('t', 'special', 'amend', "
                              "'membership.max-members', '60', :at, 'open')"),
                         {"at": datetime(2026, 1, 6, tzinfo=UTC)})
        assert not guards & _triggers(db)
        with engine.begin() as conn:
            migrate(conn, "0012")
        assert guards <= _triggers(db)
        assert query(db, "SELECT value FROM clause WHERE name = 'governance.notice-days'") == [("14",)]
        with pytest.raises(IntegrityError):
            execute(db, "UPDATE proposal SET value = '150'")
        with pytest.raises(IntegrityError):
            execute(db, "UPDATE practice SET local_authority = 'Bradford Council'")
        if db.startswith("postgresql"):
            # (on SQLite this revision's downgrade cannot rebuild the proposal table while the
            # first schema's vote triggers name it; revisions are frozen, so it stays so)
            with engine.begin() as conn:
                from alembic import command

                from swp.db import alembic_config

                command.downgrade(alembic_config(conn), "0013")
            assert not guards & _triggers(db)
            execute(db, "UPDATE practice SET local_authority = 'Bradford Council'")  # unguarded
        with engine.begin() as conn:
            migrate(conn, "head")
        assert guards <= _triggers(db)
        with pytest.raises(IntegrityError):
            execute(db, "UPDATE proposal SET value = '150'")
    finally:
        engine.dispose()


def test_an_admission_forged_past_the_authority_rule_is_reported(practice, db, monkeypatch):
    """With no current manager, ann admits zed alone, in a unit of work signed by herself with
    the authority rule bypassed: `swp check` and `swp audit verify` both name the event."""
    from swp import rules

    practice.ok("member", "leave", "mo", "--date", "2026-06-29", as_="mo")
    monkeypatch.setattr(rules, "admission_authority_violations", lambda *a, **k: [])
    practice.ok("member", "add", "zed", "--name", "Zed Zane", "--role", "staff",
                "--employed-since", "2026-06-01", "--hours", "37.5", as_="ann")
    monkeypatch.undo()
    seq = audit_rows(db)[-1]["seq"]
    why = (f"event {seq}: it admits zed as staff when the practice had no current manager, "
           "without a passed resolution to admit them in that role")
    run = practice("check", json=True)
    assert run.code == 4
    assert why in [p["message"] for p in run.json["problems"]]
    run = practice("audit", "verify")
    assert run.code == 4 and why in run.err


def test_admissions_by_a_manager_and_on_a_resolution_verify(practice, db):
    practice.ok("member", "leave", "mo", "--date", "2026-06-29", as_="mo")
    pid = practice.ok("proposal", "new", "--title", "Eve to manage", "--kind", "ordinary",
                      "--admit", "eve", "--role", "manager", as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal"):
        practice.ok("vote", str(pid), "yes", as_=handle)
    practice.ok("proposal", "close", str(pid), as_="ann")
    practice.ok("member", "add", "eve", "--name", "Eve Evans", "--role", "manager",
                "--employed-since", "2026-06-01", "--hours", "37.5", as_="sam")
    practice.ok("check")
    practice.ok("audit", "verify")
    practice.ok("member", "add", "dee", "--name", "Dee Dunn", "--role", "practitioner",
                "--registration", "SW100009", "--employed-since", "2026-06-01", "--hours", "30",
                as_="eve")
    practice.ok("audit", "verify")
