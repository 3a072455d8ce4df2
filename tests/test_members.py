"""The member register through the CLI: every command, every refusal, nothing changed."""

from __future__ import annotations

import pytest

from tests.conftest import audit_rows, snapshot

ADD = ("member", "add")


def refused(swp, db, *args, code: int, message: str, as_: str | None = "mo", audited: bool):
    """Run a command that must be refused; check exit code, message, data and audit log."""
    before = snapshot(db)
    events_before = len(audit_rows(db))
    run = swp(*args, as_=as_)
    assert run.code == code, run.err
    assert message in run.err
    assert run.err.count("\n") == 1 and run.err.startswith("swp: ")
    assert snapshot(db) == before
    events = audit_rows(db)
    if audited:
        assert len(events) == events_before + 1
        assert events[-1]["outcome"] == "refused" and message in events[-1]["detail"]
    else:
        assert len(events) == events_before
    return run


def test_add_list_show(practice):
    members = practice.ok("member", "list", json=True).json["members"]
    assert [m["handle"] for m in members] == ["ann", "bea", "cal", "mo", "sam"]
    ann = members[0]
    assert ann == {"handle": "ann", "name": "Ann Achebe", "role": "practitioner", "hours": "37.5",
                   "pay_pence": 4000000, "employed_since": "2024-04-01", "left_on": None,
                   "active": True}
    out = practice.ok("member", "list").out
    assert "Ann Achebe" in out and "£40,000.00" in out
    show = practice.ok("member", "show", "ann", json=True).json
    assert show["registration"] == "SW100001"
    assert show["history"] == [{"effective": "2024-04-01", "role": "practitioner",
                                "hours": "37.5", "pay_pence": 4000000}]


def test_update_keeps_history(practice):
    practice.ok("member", "update", "bea", "--effective", "2025-10-01", "--hours", "37.5",
                as_="mo")
    practice.ok("member", "update", "bea", "--effective", "2026-01-01", "--pay", "34,000",
                as_="mo")
    history = practice.ok("member", "show", "bea", json=True).json["history"]
    assert [(h["effective"], h["hours"], h["pay_pence"]) for h in history] == [
        ("2024-04-01", "30", 3200000), ("2025-10-01", "37.5", 3200000),
        ("2026-01-01", "37.5", 3400000)]


def test_leave_and_list_all(practice):
    run = practice.ok("member", "leave", "cal", "--date", "2026-05-31", "--reason", "moved",
                      as_="cal")
    assert "leaves on 2026-05-31" in run.out
    current = [m["handle"] for m in practice.ok("member", "list", json=True).json["members"]]
    assert "cal" not in current
    everyone = practice.ok("member", "list", "--all", json=True).json["members"]
    cal = next(m for m in everyone if m["handle"] == "cal")
    assert cal["left_on"] == "2026-05-31" and cal["active"] is False


def test_leaving_later_than_today_keeps_the_member_current(practice):
    practice.ok("member", "leave", "cal", "--date", "2026-12-31", as_="cal")
    current = [m["handle"] for m in practice.ok("member", "list", json=True).json["members"]]
    assert "cal" in current


def test_a_member_may_always_leave_even_losing_the_majority(practice, db):
    practice.ok("member", "leave", "bea", "--date", "2026-06-01", as_="bea")
    practice.ok("member", "leave", "cal", "--date", "2026-06-01", as_="cal")
    # ann alone is practitioner among ann, mo, sam: the majority is lost; only practitioners
    # can be admitted until it is restored
    refused(practice, db, *ADD, "zoe", "--name", "Zoe Zed", "--role", "staff",
            "--employed-since", "2026-06-01", "--hours", "20", code=3,
            message="refused by clause frontline-majority", audited=True)
    practice.ok(*ADD, "pat", "--name", "Pat Park", "--role", "practitioner", "--registration", "SW240008",
                "--employed-since", "2026-06-01", "--hours", "20", as_="mo")
    # a change that leaves the ratio as it was is not refused for the earlier loss
    practice.ok("member", "update", "sam", "--effective", "2026-06-15", "--hours", "20", as_="mo")
    practice.ok(*ADD, "quin", "--name", "Quin Q", "--role", "practitioner", "--registration", "SW240009",
                "--employed-since", "2026-06-01", "--hours", "20", as_="mo")
    # ann, pat, quin among ann, mo, sam, pat, quin: three of five, restored
    members = practice.ok("member", "list", json=True).json["members"]
    assert sum(m["role"] == "practitioner" for m in members) == 3 and len(members) == 5


# --- refusals by the takeover guard (exit 3, audited) -------------------------------------

@pytest.mark.parametrize("args,message", [
    (("--name", "Acme Care Ltd", "--role", "practitioner", "--registration", "SW240010"),
     "refused by clause employees-only: 'Acme Care Ltd' is an organisation"),
    (("--name", "Northgate Holdings plc", "--role", "practitioner", "--registration", "SW240011"),
     "refused by clause employees-only"),
    (("--name", "Ivy Investor", "--role", "investor"),
     "refused by clause employees-only: role 'investor' is not an employee role"),
    (("--name", "Val Volunteer", "--role", "volunteer"), "refused by clause employees-only"),
])
def test_admitting_a_non_employee_or_organisation_is_refused(practice, db, args, message):
    refused(practice, db, *ADD, "x1", *args, "--employed-since", "2026-01-01", "--hours", "37.5",
            code=3, message=message, audited=True)


def test_admitting_below_the_minimum_hours_is_refused(practice, db):
    refused(practice, db, *ADD, "low", "--name", "Lou Low", "--role", "practitioner", "--registration", "SW240012",
            "--employed-since", "2026-01-01", "--hours", "7.99", code=3,
            message="below the minimum of 8", audited=True)
    practice.ok(*ADD, "low", "--name", "Lou Low", "--role", "practitioner", "--registration", "SW240013",
                "--employed-since", "2026-01-01", "--hours", "8", as_="mo")


def test_admitting_someone_whose_employment_has_not_begun_is_refused(practice, db):
    """A member is a member from their first day of employment: a manager could otherwise
    admit a bloc of "future employees" who vote today."""
    refused(practice, db, *ADD, "zed", "--name", "Zed Zee", "--role", "practitioner", "--registration", "SW240031",
            "--employed-since", "2026-07-01", "--hours", "30", code=3, audited=True,
            message="zed's employment begins on 2026-07-01, after 2026-06-30: only employees can be "
                    "members; admit them on or after their first day")
    practice.ok(*ADD, "zed", "--name", "Zed Zee", "--role", "practitioner", "--registration", "SW240031",
                "--employed-since", "2026-06-30", "--hours", "30", as_="mo")  # their first day: admitted


def test_a_member_whose_membership_has_not_begun_has_no_vote(practice, db):
    """One admitted before swp refused it (or written around swp) cannot vote before their first
    day of employment."""
    from tests.conftest import execute

    practice.ok("proposal", "new", "--title", "t", "--kind", "ordinary", "--amend",
                "sharing.reserve-percent=25", as_="ann")
    execute(db, "DROP TRIGGER IF EXISTS member_not_transferable ON member",
            "UPDATE member SET employed_since = '2026-07-01' WHERE handle = 'bea'")
    before = snapshot(db)
    run = practice("vote", "1", "yes", as_="bea")
    assert (run.code, run.err) == (3, "swp: refused by clause one-member-one-vote: bea's membership begins "
                                      "on 2026-07-01 (their first day of employment); only members vote\n")
    assert snapshot(db) == before
    run = practice("proposal", "new", "--title", "t2", "--kind", "ordinary", "--amend",
                   "sharing.reserve-percent=30", as_="bea")
    assert run.err == ("swp: proposing: bea's membership begins on 2026-07-01 (their first day of "
                       "employment)\n")
    assert run.code == 1 and snapshot(db) == before


def test_admitting_past_the_cap_is_refused(swp, db):
    swp.ok("init", "--sandbox", "Tiny", "--local-authority", "Leeds", "--set", "membership.max-members=3")
    for handle in ("a1", "a2", "a3"):
        swp.ok(*ADD, handle, "--name", f"Person {handle}", "--role", "practitioner",
            "--registration", f"SW2{len(handle)}{sum(map(ord, handle)):05d}",
               "--employed-since", "2025-01-01", "--hours", "30")
    refused(swp, db, *ADD, "a4", "--name", "Person a4", "--role", "practitioner", "--registration", "SW240015",
            "--employed-since", "2025-01-01", "--hours", "30", code=3, as_=None,
            message="refused by clause membership.max-members: the practice is at its cap of 3",
            audited=True)


def test_founding_must_admit_practitioners_first(swp, db):
    swp.ok("init", "--sandbox", "New", "--local-authority", "Leeds")
    refused(swp, db, *ADD, "mo", "--name", "Mo Malik", "--role", "manager",
            "--employed-since", "2025-01-01", "--hours", "30", code=3, as_=None,
            message="refused by clause frontline-majority", audited=True)


def test_an_admission_that_makes_practitioners_exactly_half_is_refused(practice, db):
    # three practitioners among five; a sixth non-practitioner would make it 3 of 6: not more
    refused(practice, db, *ADD, "dan", "--name", "Dan Dee", "--role", "staff",
            "--employed-since", "2026-01-01", "--hours", "20", code=3,
            message="would leave 3 practitioners among 6 members", audited=True)


def test_role_change_to_lose_the_majority_is_refused(practice, db):
    # ann, bea, cal are practitioners among five: turning one into staff leaves 2 of 5
    refused(practice, db, "member", "update", "cal", "--effective", "2026-07-01",
            "--role", "staff", code=3, message="refused by clause frontline-majority",
            audited=True)


def test_role_change_to_a_non_employee_role_is_refused(practice, db):
    refused(practice, db, "member", "update", "sam", "--effective", "2026-07-01",
            "--role", "director", code=3, message="refused by clause employees-only",
            audited=True)


def test_hours_below_the_minimum_are_refused(practice, db):
    refused(practice, db, "member", "update", "sam", "--effective", "2026-07-01",
            "--hours", "4", code=3, message="below the minimum of 8", audited=True)


def test_transfer_is_always_refused(practice, db):
    refused(practice, db, "member", "transfer", "ann", "--to", "bea", code=3,
            message="refused by clause non-transferable", audited=True)
    refused(practice, db, "member", "transfer", "ann", "--to", "Acme Care Ltd", code=3,
            message="refused by clause non-transferable", as_=None, audited=True)


# --- bad input and preconditions (exit 1, not audited) -----------------------------------

@pytest.mark.parametrize("args,message", [
    (("ann2", "--name", "A", "--role", "practitioner", "--registration", "SW240016", "--employed-since", "2026-02-30",
      "--hours", "10"), "no such employment date: '2026-02-30'"),
    (("ann2", "--name", "A", "--role", "practitioner", "--registration", "SW240017", "--employed-since", "1/2/2026",
      "--hours", "10"), "dates are written YYYY-MM-DD"),
    (("ann2", "--name", "A", "--role", "practitioner", "--registration", "SW240018", "--employed-since", "2026-01-01",
      "--hours", "ten"), "not a number of weekly hours"),
    (("ann2", "--name", "A", "--role", "practitioner", "--registration", "SW240019", "--employed-since", "2026-01-01",
      "--hours", "200"), "a week has 168 hours"),
    (("ann2", "--name", "A", "--role", "practitioner", "--registration", "SW240020", "--employed-since", "2026-01-01",
      "--hours", "10", "--pay", "-5"), "not an amount"),
    (("Ann Two", "--name", "A", "--role", "practitioner",
        "--registration", "SW240021", "--employed-since", "2026-01-01",
      "--hours", "10"), "not a handle"),
    (("ann", "--name", "Another Ann", "--role", "practitioner", "--registration", "SW240022", "--employed-since",
      "2026-01-01", "--hours", "10"), "the handle 'ann' is taken"),
    (("gus", "--name", "Gus \x1b[31mSmith", "--role", "practitioner", "--registration", "SW240023",
      "--employed-since", "2026-01-01", "--hours", "10"), "the name (--name) holds a control character ('\\x1b')"),
    (("gus", "--name", "Gus\nSmith", "--role", "practitioner", "--registration", "SW240024",
      "--employed-since", "2026-01-01", "--hours", "10"), "the name (--name) holds a control character ('\\n')"),
    (("gus", "--name", "Gus \u202ehtimS", "--role", "practitioner", "--registration", "SW240025",
      "--employed-since", "2026-01-01", "--hours", "10"),
     "the name (--name) holds a character that reorders the text as it is shown (U+202E)"),
    (("gus", "--name", "Gus\u2028Smith", "--role", "practitioner", "--registration", "SW240026",
      "--employed-since", "2026-01-01", "--hours", "10"), "the name (--name) holds a control character ('\\u2028')"),
    (("gus", "--name", "Gus \u200fSmith", "--role", "practitioner", "--registration", "SW240027",
      "--employed-since", "2026-01-01", "--hours", "10"),
     "the name (--name) holds a character that reorders the text as it is shown (U+200F)"),
])
def test_bad_admissions_exit_1(practice, db, args, message):
    refused(practice, db, *ADD, *args, code=1, message=message, audited=False)


def test_a_former_members_handle_is_never_reused(practice, db):
    practice.ok("member", "leave", "sam", "--date", "2026-06-01", as_="sam")
    refused(practice, db, *ADD, "sam", "--name", "Sam Second", "--role", "practitioner", "--registration", "SW240023",
            "--employed-since", "2026-06-15", "--hours", "20", code=1,
            message="never reused or inherited", audited=False)


def test_managing_members_needs_a_manager(practice, db):
    args = (*ADD, "pat", "--name", "Pat Park", "--role", "practitioner", "--registration", "SW240024",
            "--employed-since", "2026-01-01", "--hours", "20")
    refused(practice, db, *args, as_=None, code=1,
            message="managing members needs --as a current manager (mo)", audited=False)
    refused(practice, db, *args, as_="ann", code=1,
            message="'ann' is not one", audited=False)
    refused(practice, db, "member", "leave", "ann", "--date", "2026-06-30", as_=None, code=1,
            message="leaving needs --as ann", audited=False)


@pytest.mark.parametrize("args,message", [
    (("member", "update", "ann", "--effective", "2026-07-01"), "nothing to change"),
    (("member", "update", "ann", "--effective", "2024-01-01", "--hours", "20"),
     "before ann was employed"),
    (("member", "update", "ann", "--effective", "2024-04-01", "--hours", "20"),
     "already has a change effective on 2024-04-01"),
    (("member", "update", "nobody", "--effective", "2026-07-01", "--hours", "20"),
     "no member with handle 'nobody'"),
    (("member", "leave", "ann", "--date", "2020-01-01"), "before ann was employed"),
    (("member", "leave", "nobody", "--date", "2026-06-01"), "no member with handle 'nobody'"),
    (("member", "show", "nobody"), "no member with handle 'nobody'"),
])
def test_bad_updates_exit_1(practice, db, args, message):
    refused(practice, db, *args, code=1, message=message, audited=False)


def test_changes_must_come_in_date_order_and_not_after_leaving(practice, db):
    practice.ok("member", "update", "ann", "--effective", "2026-03-01", "--hours", "30", as_="mo")
    refused(practice, db, "member", "update", "ann", "--effective", "2026-02-01", "--hours", "20",
            code=1, message="record changes in date order", audited=False)
    practice.ok("member", "leave", "ann", "--date", "2026-06-01", as_="ann")
    refused(practice, db, "member", "update", "ann", "--effective", "2026-07-01", "--hours", "20",
            code=1, message="a former member cannot change", audited=False)
    refused(practice, db, "member", "leave", "ann", "--date", "2026-06-20", code=1,
            message="already left on 2026-06-01", audited=False)


def test_database_refuses_a_non_employee_role_written_directly(practice, db):
    from sqlalchemy.exc import IntegrityError

    from tests.conftest import execute

    with pytest.raises(IntegrityError, match="employee_roles_only"):
        execute(db, "INSERT INTO member_fact (member_id, effective, role, hours_hundredths,"
                    " pay_pence) VALUES (1, '2026-07-01', 'investor', 3000, 0)")
