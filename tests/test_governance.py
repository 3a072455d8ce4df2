"""The constitution, proposals and votes (SPEC sections 2, 8 and 9): rules show, proposal
new/list/show/close, vote, quorum and thresholds at their edges, and each effect."""

from __future__ import annotations

import pytest

from swp import rules
from tests.conftest import TODAY, audit_rows, snapshot
from tests.test_guard import open_proposal, query, refused

# the `practice` fixture: ann, bea, cal practitioners; mo manager; sam staff (5 members, so a
# quorum of 50% needs 3 voters)


def votes(swp, pid: int, **choices: str) -> None:
    for handle, choice in choices.items():
        swp.ok("vote", str(pid), choice, as_=handle)


AFTER_NOTICE = {"SWP_TODAY": "2026-07-15"}  # 14 clear days after proposals made on TODAY


def close(swp, pid: int, as_: str = "ann") -> dict:
    """Close once the notice period is over (the tallies below are not all settled early)."""
    return swp.ok("proposal", "close", str(pid), as_=as_, json=True, env=AFTER_NOTICE).json


def clause(db: str, name: str) -> str:
    return query(db, "SELECT value FROM clause WHERE name = :name", name=name)[0][0]


# --- rules show ------------------------------------------------------------------------------


def test_rules_show_lists_every_clause_with_its_kind(practice):
    data = practice.ok("rules", "show", json=True).json
    assert list(data) == ["clauses"]
    by_name = {c["name"]: c for c in data["clauses"]}
    assert set(by_name) == set(rules.CLAUSES)
    assert all(set(c) == {"name", "value", "entrenched", "changed_by"} for c in data["clauses"])
    assert by_name["asset-lock"] == {"name": "asset-lock", "value": "on", "entrenched": True,
                                     "changed_by": None}
    assert by_name["sharing.reserve-percent"] == {"name": "sharing.reserve-percent", "value": "20",
                                                  "entrenched": False, "changed_by": "ordinary"}
    assert by_name["membership.max-members"]["changed_by"] == "special"
    assert [c["name"] for c in data["clauses"]][:7] == [s.name for s in rules.ENTRENCHED]
    text = practice.ok("rules", "show").out
    assert "no-demutualisation" in text and "no resolution" in text


# --- proposals -------------------------------------------------------------------------------


def test_proposal_new_list_show(practice):
    run = practice.ok("proposal", "new", "--title", "Keep more", "--kind", "ordinary",
                      "--amend", "sharing.reserve-percent=25", as_="bea", json=True)
    pid = run.json["id"]
    assert pid == 1
    assert run.json["proposal"]["summary"] == "amend sharing.reserve-percent to 25"
    listed = practice.ok("proposal", "list", json=True).json["proposals"]
    assert [(p["id"], p["status"], p["proposed_by"]) for p in listed] == [(1, "open", "bea")]
    votes(practice, pid, ann="yes", bea="no")
    shown = practice.ok("proposal", "show", "1", json=True).json
    assert (shown["yes"], shown["no"], shown["abstain"], shown["voters"]) == (1, 1, 0, 2)
    assert (shown["members"], shown["quorum_needed"], shown["quorum_met"]) == (5, 3, False)
    assert shown["would_pass"] is False and shown["threshold_percent"] == 50
    assert [v["member"] for v in shown["votes"]] == ["ann", "bea"]
    text = practice.ok("proposal", "show", "1").out
    assert "yes 1, no 1, abstain 0" in text and "2 voted of 5 members; 3 needed" in text
    assert "Keep more" in practice.ok("proposal", "list").out
    assert practice.ok("proposal", "list", "--status", "passed", json=True).json == {"proposals": []}


def test_proposal_needs_exactly_one_action(practice):
    run = practice("proposal", "new", "--title", "t", "--kind", "special", as_="ann")
    assert run.code == 2 and "exactly one of" in run.err
    run = practice("proposal", "new", "--title", "t", "--kind", "special", "--expel", "sam",
                   "--dissolve", "--assets-to", "X", "--recipient-kind", "charity", as_="ann")
    assert run.code == 2 and "--expel and --dissolve" in run.err
    run = practice("proposal", "new", "--title", "t", "--kind", "special", "--merge-with", "X",
                   as_="ann")
    assert run.code == 2 and "--partner-kind" in run.err


@pytest.mark.parametrize("args,message", [
    (["--kind", "special", "--amend", "sharing.colour=blue"], "no such clause"),
    (["--kind", "special", "--amend", "sharing.reserve-percent=lots"], "not a whole number"),
    (["--kind", "special", "--amend", "sharing.reserve-percent=20"], "already 20"),
    (["--kind", "special", "--expel", "zed"], "no member with handle 'zed'"),
])
def test_bad_proposals_exit_1_and_change_nothing(practice, db, args, message):
    before = snapshot(db, skip=())
    run = practice("proposal", "new", "--title", "t", *args, as_="ann")
    assert run.code == 1 and message in run.err and run.err.count("\n") == 1
    assert snapshot(db, skip=()) == before


@pytest.mark.parametrize("title,message", [
    ("Keep\n25%", "the title (--title) holds a control character ('\\n'); write it on one line"),
    ("\x1b[2JKeep 25%", "the title (--title) holds a control character ('\\x1b'); write it on one line"),
    ("Keep \u202e%52", "the title (--title) holds a character that reorders the text as it is shown (U+202E); write it without"),
    ("   ", "a proposal needs a title (--title)"),
])
def test_a_title_on_more_than_one_line_or_that_reorders_itself_is_refused(practice, db, title, message):
    before = snapshot(db, skip=())
    run = practice("proposal", "new", "--title", title, "--kind", "ordinary",
                   "--amend", "sharing.reserve-percent=25", as_="ann")
    assert (run.code, run.err) == (1, f"swp: {message}\n")
    assert snapshot(db, skip=()) == before


@pytest.mark.parametrize("args,message", [
    (["--kind", "urgent", "--amend", "sharing.reserve-percent=25"],
     "Invalid value for '--kind': 'urgent' is not one of ordinary, special"),
    (["--kind", "special", "--merge-with", "X", "--partner-kind", "club"],
     "Invalid value for '--partner-kind': 'club' is not one of mutual, charity, cic, "
     "local-authority, company, members"),
    (["--kind", "special", "--dissolve", "--assets-to", "X", "--recipient-kind", "club"],
     "Invalid value for '--recipient-kind': 'club' is not one of mutual, charity, cic, "
     "local-authority, company, members"),
])
def test_a_choice_outside_its_list_is_a_usage_error_exit_2(practice, db, args, message):
    before = snapshot(db, skip=())
    run = practice("proposal", "new", "--title", "t", *args, as_="ann")
    assert run.code == 2 and message in run.err and run.err.count("\n") == 1
    assert snapshot(db, skip=()) == before
    run = practice("proposal", "list", "--status", "lapsed")
    assert run.code == 2 and "'lapsed' is not one of open, passed, failed" in run.err
    # case and surrounding spaces do not matter, as before
    assert practice.ok("proposal", "list", "--status", " Open ", json=True).json == {"proposals": []}


def test_an_ordinary_proposal_cannot_amend_a_special_clause_exit_1(practice, db):
    before = snapshot(db, skip=())
    run = practice("proposal", "new", "--title", "Grow", "--kind", "ordinary", "--amend",
                   "membership.max-members=60", as_="ann")
    assert run.code == 1
    assert run.err == ("swp: amending membership.max-members needs a special resolution; this one "
                       "is ordinary (propose it with --kind special)\n")
    assert snapshot(db, skip=()) == before
    # expulsion, merger and dissolution always need a special resolution
    run = practice("proposal", "new", "--title", "t", "--kind", "ordinary", "--expel", "sam",
                   as_="ann")
    assert run.code == 1 and "needs a special resolution" in run.err


def test_a_special_proposal_may_amend_an_ordinary_clause(practice, db):
    pid = open_proposal(practice, "--kind", "special", "--amend", "sharing.reserve-percent=30")
    votes(practice, pid, ann="yes", bea="yes", cal="yes")
    assert close(practice, pid)["status"] == "passed"
    assert clause(db, "sharing.reserve-percent") == "30"


def test_proposing_voting_and_closing_need_as_a_current_member(practice, db):
    run = practice("proposal", "new", "--title", "t", "--kind", "ordinary", "--amend",
                   "sharing.reserve-percent=25")
    assert run.code == 1 and "needs --as HANDLE, a current member" in run.err
    run = practice("proposal", "new", "--title", "t", "--kind", "ordinary", "--amend",
                   "sharing.reserve-percent=25", as_="zed")
    assert run.code == 1 and "'zed' is not a member" in run.err
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    run = practice("vote", str(pid), "yes")
    assert run.code == 1 and "voting needs --as" in run.err
    run = practice("proposal", "close", str(pid))
    assert run.code == 1 and "closing a proposal needs --as" in run.err
    practice.ok("member", "leave", "cal", "--date", "2026-06-01", as_="cal")
    run = practice("proposal", "close", str(pid), as_="cal")
    assert run.code == 1 and "left the practice on 2026-06-01" in run.err
    # any current member may close, not only the proposer or a manager
    assert close(practice, pid, as_="sam")["status"] == "failed"


def test_vote_choices_and_unknown_proposals(practice):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    run = practice("vote", str(pid), "maybe", as_="ann")
    assert run.code == 2 and "'maybe' is not one of yes, no, abstain" in run.err
    run = practice("vote", "99", "yes", as_="ann")
    assert run.code == 1 and "no proposal #99" in run.err
    run = practice("proposal", "show", "99")
    assert run.code == 1 and "no proposal #99" in run.err
    run = practice.ok("vote", str(pid), "YES", as_="ann", json=True)
    assert run.json == {"proposal": pid, "member": "ann", "choice": "yes", "version": 1,
                        "replaced": None}


def test_a_closed_proposal_takes_no_votes_and_cannot_be_closed_again(practice, db):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    close(practice, pid)
    before = snapshot(db, skip=())
    run = practice("vote", str(pid), "yes", as_="bea")
    assert run.code == 1 and "is closed (failed)" in run.err
    run = practice("proposal", "close", str(pid), as_="bea")
    assert run.code == 1 and "already closed" in run.err
    assert snapshot(db, skip=()) == before


# --- quorum and thresholds -----------------------------------------------------------------


def test_close_json_keys(practice):
    pid = open_proposal(practice, "--kind", "special", "--amend", "membership.max-members=60")
    votes(practice, pid, ann="yes", bea="yes", cal="yes", mo="no")
    data = close(practice, pid)
    assert {k: data[k] for k in ("id", "status", "yes", "no", "abstain", "quorum_met")} == {
        "id": pid, "status": "passed", "yes": 3, "no": 1, "abstain": 0, "quorum_met": True}


def test_special_passes_at_exactly_75_percent(practice, db):
    pid = open_proposal(practice, "--kind", "special", "--amend", "membership.max-members=60")
    votes(practice, pid, ann="yes", bea="yes", cal="yes", mo="no")  # 3 of 4: exactly 75%
    assert close(practice, pid)["status"] == "passed"
    assert clause(db, "membership.max-members") == "60"


def test_special_fails_just_under_its_percent(swp, db):
    # with special-percent 61, 3 yes of 5 (60%) is just under
    swp.ok("init", "--sandbox", "R", "--local-authority", "Leeds", "--set", "governance.special-percent=61")
    for number, handle in enumerate(("ann", "bea", "cal", "dee", "eve")):
        swp.ok("member", "add", handle, "--name", handle.title(), "--role", "practitioner",
               "--employed-since", "2024-01-01", "--hours", "30", "--registration",
               f"SW20000{number}")
    pid = open_proposal(swp, "--kind", "special", "--amend", "membership.max-members=60")
    votes(swp, pid, ann="yes", bea="yes", cal="yes", dee="no", eve="no")
    data = close(swp, pid)
    assert (data["status"], data["yes"], data["no"], data["quorum_met"]) == ("failed", 3, 2, True)
    assert clause(db, "membership.max-members") == "50"


def test_special_at_two_thirds_fails_under_the_default_75(practice, db):
    pid = open_proposal(practice, "--kind", "special", "--amend", "membership.max-members=60")
    votes(practice, pid, ann="yes", bea="yes", cal="no")
    assert close(practice, pid)["status"] == "failed"


def test_ties_fail_for_both_kinds(practice, db):
    ordinary = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    special = open_proposal(practice, "--kind", "special", "--amend", "membership.max-members=60")
    for pid in (ordinary, special):
        votes(practice, pid, ann="yes", bea="yes", cal="no", mo="no")
    assert close(practice, ordinary)["status"] == "failed"
    assert close(practice, special)["status"] == "failed"
    assert clause(db, "sharing.reserve-percent") == "20"


def test_ordinary_passes_with_more_than_half(practice, db):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    votes(practice, pid, ann="yes", bea="yes", cal="no")
    data = close(practice, pid)
    assert (data["status"], data["yes"], data["no"]) == ("passed", 2, 1)
    assert clause(db, "sharing.reserve-percent") == "25"


def test_abstentions_count_toward_quorum_only(practice, db):
    # without the abstentions 1 voter of 5 is no quorum; with them it is, and 1 yes of 1
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    practice.ok("vote", str(pid), "yes", as_="ann")
    assert practice.ok("proposal", "show", str(pid), json=True).json["quorum_met"] is False
    votes(practice, pid, bea="abstain", cal="abstain")
    data = close(practice, pid)
    assert (data["status"], data["yes"], data["no"], data["abstain"], data["quorum_met"]) == (
        "passed", 1, 0, 2, True)
    # abstentions do not count against: 1 yes, 1 no, 3 abstain is a tie, and fails
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=30")
    votes(practice, pid, ann="yes", bea="no", cal="abstain", mo="abstain", sam="abstain")
    assert close(practice, pid)["status"] == "failed"


def test_only_abstentions_pass_nothing(practice):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    votes(practice, pid, ann="abstain", bea="abstain", cal="abstain")
    data = close(practice, pid)
    assert (data["status"], data["quorum_met"]) == ("failed", True)


def test_no_quorum_fails_even_if_all_say_yes(practice):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    votes(practice, pid, ann="yes", bea="yes")  # 2 of 5, quorum needs 3
    data = close(practice, pid)
    assert (data["status"], data["yes"], data["quorum_met"]) == ("failed", 2, False)


def test_quorum_is_never_fewer_than_two(swp, db):
    swp.ok("init", "--sandbox", "R", "--local-authority", "Leeds", "--set", "governance.quorum-percent=1")
    for number, handle in enumerate(("ann", "bea", "cal")):
        swp.ok("member", "add", handle, "--name", handle.title(), "--role", "practitioner",
               "--employed-since", "2024-01-01", "--hours", "30", "--registration",
               f"SW20001{number}")
    pid = open_proposal(swp, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    swp.ok("vote", str(pid), "yes", as_="ann")
    assert close(swp, pid)["quorum_met"] is False
    pid = open_proposal(swp, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    votes(swp, pid, ann="yes", bea="yes")
    assert close(swp, pid)["status"] == "passed"


def test_a_former_members_vote_lapses_at_the_close(practice, db):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    votes(practice, pid, ann="yes", cal="no", sam="no")
    practice.ok("member", "leave", "sam", "--date", TODAY, as_="sam")  # his last day: today
    tomorrow = AFTER_NOTICE  # after his last day, and after the notice period
    shown = practice.ok("proposal", "show", str(pid), json=True, env=tomorrow).json
    assert (shown["yes"], shown["no"], shown["members"]) == (1, 1, 4)
    data = practice.ok("proposal", "close", str(pid), as_="ann", json=True, env=tomorrow).json
    assert (data["yes"], data["no"], data["status"]) == (1, 1, "failed")
    # recorded votes stay (append-only); the former member simply is not counted
    assert query(db, "SELECT COUNT(*) FROM vote") == [(3,)]


def test_a_member_leaving_today_still_votes_today(practice):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    practice.ok("member", "leave", "sam", "--date", TODAY, as_="sam")
    practice.ok("vote", str(pid), "yes", as_="sam")
    votes(practice, pid, ann="yes", bea="no", cal="abstain", mo="abstain")
    data = practice.ok("proposal", "close", str(pid), as_="ann", json=True).json  # all voted
    assert (data["yes"], data["no"], data["status"]) == (2, 1, "passed")


def test_a_changed_vote_counts_once_as_the_latest(practice):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    run = practice.ok("vote", str(pid), "yes", as_="bea")
    assert "bea votes yes" in run.out
    run = practice.ok("vote", str(pid), "no", as_="bea")
    assert "changed from yes" in run.out
    votes(practice, pid, ann="yes", cal="no")
    data = close(practice, pid)
    assert (data["yes"], data["no"], data["status"]) == (1, 2, "failed")


# --- effects ---------------------------------------------------------------------------------


def test_a_passed_amendment_changes_the_clause_in_the_same_transaction(practice, db):
    pid = open_proposal(practice, "--kind", "special", "--amend", "sharing.method=equal:50,hours:50")
    votes(practice, pid, ann="yes", bea="yes", cal="yes", mo="yes")  # settled: sam cannot undo it
    run = practice.ok("proposal", "close", str(pid), as_="bea")
    assert "sharing.method changed from equal to equal:50,hours:50" in run.out
    assert clause(db, "sharing.method") == "equal:50,hours:50"
    assert audit_rows(db)[-1]["command"] == "proposal close"
    practice.ok("check")


def test_amendment_values_are_stored_canonically(practice, db):
    pid = open_proposal(practice, "--kind", "special", "--amend", "membership.min-hours=10.50")
    assert practice.ok("proposal", "show", str(pid), json=True).json["value"] == "10.5"


def test_an_amendment_that_would_put_members_in_breach_is_refused(practice, db):
    # sam works 16 hours: a minimum of 20 would make him a member below it
    refused(practice, db, "proposal", "new", "--title", "t", "--kind", "special", "--amend",
            "membership.min-hours=20", clause="employees-only", as_="ann")
    refused(practice, db, "proposal", "new", "--title", "t", "--kind", "special", "--amend",
            "membership.max-members=4", clause="membership.max-members", as_="ann")


def test_the_guard_is_asked_again_at_the_close(practice, db):
    pid = open_proposal(practice, "--kind", "special", "--amend", "membership.max-members=5")
    practice.ok("member", "add", "dee", "--name", "Dee Dunn", "--role", "practitioner",
                "--employed-since", "2026-01-01", "--hours", "30", "--registration", "SW200201",
                as_="mo")
    votes(practice, pid, ann="yes", bea="yes", cal="yes", mo="yes", sam="yes", dee="yes")
    # six members now: a cap of 5 would be broken the moment it passed
    err = refused(practice, db, "proposal", "close", str(pid), clause="membership.max-members",
                  as_="ann")
    assert "below the 6 members" in err
    assert practice.ok("proposal", "show", str(pid), json=True).json["status"] == "open"
    # the members may still vote it down and close it
    votes(practice, pid, ann="no", bea="no", cal="no")
    assert close(practice, pid)["status"] == "failed"


def test_expelling_a_member_ends_their_membership_on_the_close_date(practice, db):
    pid = open_proposal(practice, "--kind", "special", "--expel", "sam")
    votes(practice, pid, ann="yes", bea="yes", cal="yes", sam="no", mo="yes")
    data = practice.ok("proposal", "close", str(pid), as_="ann", json=True).json  # all voted
    assert data["status"] == "passed" and data["effect"] == f"sam expelled: membership ends on {TODAY}"
    member = practice.ok("member", "show", "sam", json=True).json["member"]
    assert member["left_on"] == TODAY
    assert query(db, "SELECT leave_reason FROM member WHERE handle = 'sam'") == [
        (f"expelled by resolution #{pid}",)]
    practice.ok("check")


def test_an_expulsion_that_fails_changes_no_membership(practice, db):
    pid = open_proposal(practice, "--kind", "special", "--expel", "sam")
    votes(practice, pid, ann="yes", bea="no", cal="no")
    assert close(practice, pid)["status"] == "failed"
    assert practice.ok("member", "show", "sam", json=True).json["member"]["left_on"] is None


def test_a_former_member_cannot_be_expelled(practice):
    practice.ok("member", "leave", "sam", "--date", "2026-05-31", as_="sam")
    run = practice("proposal", "new", "--title", "t", "--kind", "special", "--expel", "sam",
                   as_="ann")
    assert run.code == 1 and "already left" in run.err


@pytest.mark.parametrize("kind, name, register", [("mutual", "Eastside SWP", "31045R"),
                                                  ("charity", "Eastside SWP", "1123456"),
                                                  ("cic", "Eastside SWP CIC", "09876543")])
def test_a_merger_with_an_asset_locked_body_is_recorded_as_decided(practice, db, kind, name,
                                                                    register):
    pid = open_proposal(practice, "--kind", "special", "--merge-with", name,
                        "--partner-kind", kind, "--register", register)
    votes(practice, pid, ann="yes", bea="yes", cal="yes", mo="yes")
    practice.ok("proposal", "close", str(pid), as_="ann")  # settled: sam cannot undo it
    shown = practice.ok("practice", "show", json=True).json
    assert shown["status"] == "merging"
    detail = query(db, "SELECT status_detail FROM practice")[0][0]
    assert detail == f"merger with {name} ({kind}) decided by resolution #{pid} on {TODAY}"
    # a second merger or a dissolution cannot be proposed once one is decided
    run = practice("proposal", "new", "--title", "t", "--kind", "special", "--dissolve",
                   "--assets-to", "Shelter", "--recipient-kind", "charity", "--register",
                   "263710", as_="ann")
    assert run.code == 1 and "already decided" in run.err
    practice.ok("check")


def test_a_dissolution_to_a_charity_is_recorded_as_decided(practice, db):
    pid = open_proposal(practice, "--kind", "special", "--dissolve", "--assets-to",
                        "Leeds Children's Charity", "--recipient-kind", "charity",
                        "--register", "1123456")
    votes(practice, pid, ann="yes", bea="yes", cal="yes", mo="yes")
    run = practice.ok("proposal", "close", str(pid), as_="mo")
    assert "residual assets to Leeds Children's Charity (charity)" in run.out
    assert practice.ok("practice", "show", json=True).json["status"] == "dissolving"
    practice.ok("check")


def test_a_failed_merger_changes_nothing(practice, db):
    pid = open_proposal(practice, "--kind", "special", "--merge-with", "Eastside SWP",
                        "--partner-kind", "mutual", "--register", "31045R")
    votes(practice, pid, ann="yes", bea="no", cal="no")
    close(practice, pid)
    assert practice.ok("practice", "show", json=True).json["status"] == "active"


# --- the pure rules behind it ----------------------------------------------------------------

DEFAULTS = {spec.name: spec.default for spec in rules.CLAUSES.values()}


@pytest.mark.parametrize("yes,no,abstain,members,kind,passed", [
    (300, 100, 0, 400, "special", True),    # exactly 75%
    (299, 100, 0, 399, "special", False),   # 74.94%: just under
    (3, 1, 0, 4, "special", True),
    (2, 1, 0, 3, "special", False),
    (2, 2, 0, 4, "ordinary", False),        # a tie fails
    (51, 49, 0, 100, "ordinary", True),
    (50, 50, 0, 100, "ordinary", False),
    (1, 0, 2, 5, "ordinary", True),         # abstentions make the quorum
    (1, 0, 0, 5, "ordinary", False),        # no quorum
    (0, 0, 5, 5, "special", False),         # only abstentions
    (1, 0, 0, 1, "ordinary", False),        # never fewer than 2 voters
])
def test_decide(yes, no, abstain, members, kind, passed):
    outcome = rules.decide(DEFAULTS, kind, rules.Tally(yes, no, abstain), members)
    assert outcome.passed is passed


def test_quorum_needed_rounds_up():
    assert rules.quorum_needed(DEFAULTS, 5) == 3
    assert rules.quorum_needed(DEFAULTS, 4) == 2
    assert rules.quorum_needed(DEFAULTS, 1) == 2
    assert rules.quorum_needed({**DEFAULTS, "governance.quorum-percent": "100"}, 7) == 7
    assert rules.quorum_needed({**DEFAULTS, "governance.quorum-percent": "34"}, 3) == 2


def test_kind_needed():
    assert rules.kind_needed("amend", "sharing.reserve-percent") == "ordinary"
    assert rules.kind_needed("amend", "membership.max-members") == "special"
    assert {rules.kind_needed(a) for a in ("expel", "merge", "dissolve")} == {"special"}
    assert rules.kind_suffices("special", "ordinary") and not rules.kind_suffices("ordinary", "special")


def test_a_leaving_date_before_the_members_last_vote_is_refused(practice, db):
    # otherwise the record would show a former member's vote
    from tests.conftest import snapshot

    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    practice.ok("vote", str(pid), "yes", as_="sam")
    before = snapshot(db, skip=())
    run = practice("member", "leave", "sam", "--date", "2026-06-01", as_="sam")
    assert run.code == 1
    assert run.err == ("swp: sam voted on 2026-06-30; the leaving date must be on or after it "
                       "(a vote is never taken back by leaving)\n")
    assert snapshot(db, skip=()) == before
    practice.ok("member", "leave", "sam", "--date", TODAY, as_="sam")


# --- ids as typed ------------------------------------------------------------------------------

TOO_BIG = "9223372036854775808"  # 2**63: more than a database integer holds


@pytest.mark.parametrize(("args", "message"), [
    (["proposal", "show", TOO_BIG],
     f"not a proposal number: '{TOO_BIG}'; use the id from 'swp proposal list', e.g. 1"),
    (["proposal", "close", "99999999999999999999"],
     "not a proposal number: '99999999999999999999'; use the id from 'swp proposal list', e.g. 1"),
    (["vote", TOO_BIG, "yes"],
     f"not a proposal number: '{TOO_BIG}'; use the id from 'swp proposal list', e.g. 1"),
    (["proposal", "show", "abc"], "not a proposal number: 'abc'; use the id from 'swp proposal list', e.g. 1"),
    (["proposal", "show", "0"], "not a proposal number: '0'; use the id from 'swp proposal list', e.g. 1"),
    (["audit", "log", "--limit", "99999999999999999999"],
     "--limit takes a number of events (0: all), not '99999999999999999999'"),
    (["audit", "log", "--limit", "-1"], "--limit takes a number of events (0: all), not '-1'"),
])
def test_an_id_or_count_too_big_for_the_database_is_refused_as_input(practice, db, args, message):
    open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    before, events = snapshot(db), len(audit_rows(db))
    run = practice(*args, as_="ann")
    assert (run.code, run.err) == (1, f"swp: {message}\n")
    assert snapshot(db) == before and len(audit_rows(db)) == events


@pytest.mark.parametrize("command", [["proposal", "show"], ["proposal", "close"], ["vote"]])
def test_a_negative_proposal_id_is_an_unknown_option_or_after_dashes_a_bad_id(practice, db, command):
    """`-5` looks like an option to the command-line parser, which answers before swp reads
    any id (exit 2, a usage error); after `--` it is an id, refused as every bad id is."""
    open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    tail = ["yes"] if command == ["vote"] else []
    before, events = snapshot(db), len(audit_rows(db))
    run = practice(*command, "-5", *tail, as_="ann")
    assert (run.code, run.err) == (2, f"swp: No such option: -5 (see 'swp {' '.join(command)} --help')\n")
    run = practice(*command, "--", "-5", *tail, as_="ann")
    assert (run.code, run.err) == (1, "swp: not a proposal number: '-5'; use the id from "
                                      "'swp proposal list', e.g. 1\n")
    assert snapshot(db) == before and len(audit_rows(db)) == events


def test_a_proposal_id_may_be_written_with_its_hash(practice):
    pid = open_proposal(practice, "--kind", "ordinary", "--amend", "sharing.reserve-percent=25")
    assert practice.ok("proposal", "show", f"#{pid}", json=True).json["id"] == pid
    assert len(practice.ok("audit", "log", "--limit", "1", json=True).json["events"]) == 1
