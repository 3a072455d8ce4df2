"""Meetings: clear days' notice, the notice, attendance and quorum, votes at the meeting,
decisions with reasons, minutes; written resolutions."""

from __future__ import annotations

import os
import stat
from datetime import date, timedelta

import pytest
from conftest import audit_rows, query, snapshot
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from swp.dates import clear_days, earliest_after_notice

# --- clear days -------------------------------------------------------------------------------


def _plain_count(given: date, event: date) -> int:
    """Clear days counted one by one: every day after the notice and before the event."""
    count, day = 0, given + timedelta(days=1)
    while day < event:
        count, day = count + 1, day + timedelta(days=1)
    return count


@given(st.dates(min_value=date(1999, 12, 1), max_value=date(2101, 1, 31)),
       st.integers(min_value=1, max_value=400))
def test_clear_days_match_a_plain_day_count(given_on, gap):
    event = given_on + timedelta(days=gap)
    assert clear_days(given_on, event) == _plain_count(given_on, event)
    # the earliest lawful day leaves exactly that many clear days, and the day before it one fewer
    clear = _plain_count(given_on, event)
    earliest = earliest_after_notice(given_on, clear)
    assert earliest == event
    assert clear_days(given_on, earliest - timedelta(days=1)) == clear - 1


def test_clear_days_at_the_edges_across_month_ends_and_leap_days():
    d = date(2026, 6, 30)
    assert clear_days(d, d + timedelta(days=15)) == 14  # D+15: 14 clear days
    assert clear_days(d, d + timedelta(days=14)) == 13  # D+14: not enough
    assert earliest_after_notice(d, 14) == date(2026, 7, 15)
    assert clear_days(date(2028, 2, 14), date(2028, 3, 1)) == 15  # 29 February counts
    assert clear_days(date(2027, 2, 14), date(2027, 3, 1)) == 14
    assert earliest_after_notice(date(2028, 2, 20), 14) == date(2028, 3, 6)
    assert earliest_after_notice(date(2026, 12, 25), 14) == date(2027, 1, 9)


# --- calling a meeting ------------------------------------------------------------------------


def test_a_notice_too_short_is_refused_naming_the_earliest_lawful_date(practice):
    before = snapshot(practice.db)
    run = practice("meeting", "call", "--kind", "agm", "--date", "2026-07-14", "--place", "Office",
                   as_="mo")
    assert run.code == 1
    assert run.err == ("swp: a meeting on 2026-07-14 leaves 13 clear days' notice; "
                       "meetings.notice-days needs 14: the earliest lawful date is 2026-07-15\n")
    assert snapshot(practice.db) == before


def test_a_choice_outside_its_list_is_a_usage_error_exit_2(practice):
    before = snapshot(practice.db)
    run = practice("meeting", "call", "--kind", "annual", "--date", "2026-07-20", "--place", "Office",
                   as_="mo")
    assert run.code == 2 and "Invalid value for '--kind': 'annual' is not one of agm, general" in run.err
    run = practice("meeting", "notice", "1", "--format", "docx", as_="mo")
    assert run.code == 2 and "'docx' is not one of text, md, html, pdf" in run.err
    run = practice("meeting", "minutes", "1", "--format", "docx")
    assert run.code == 2 and "'docx' is not one of text, md, html, pdf" in run.err
    run = practice("meeting", "vote", "1", "1", "maybe", as_="ann")
    assert run.code == 2 and "'maybe' is not one of yes, no, abstain" in run.err
    assert snapshot(practice.db) == before


def test_a_meeting_in_the_past_is_refused(practice):
    before = snapshot(practice.db)
    run = practice("meeting", "call", "--kind", "general", "--date", "2026-06-29", "--place", "Office",
                   as_="mo")
    assert run.code == 1
    assert run.err == ("swp: 2026-06-29 is in the past (today is 2026-06-30); a meeting is called "
                       "for a future date\n")
    assert snapshot(practice.db) == before


def test_a_longer_notice_clause_moves_the_earliest_date(practice):
    practice.ok("proposal", "new", "--title", "Longer notice", "--kind", "special", "--amend",
                "meetings.notice-days=21", as_="ann")
    for who in ("ann", "bea", "cal", "mo", "sam"):
        practice.ok("vote", "1", "yes", as_=who)
    practice.ok("proposal", "close", "1", as_="ann", env={"SWP_TODAY": "2026-07-15"})
    run = practice("meeting", "call", "--kind", "agm", "--date", "2026-08-01", "--place", "Office",
                   as_="mo", env={"SWP_TODAY": "2026-07-15"})
    assert run.code == 1 and "the earliest lawful date is 2026-08-06" in run.err
    practice.ok("meeting", "call", "--kind", "agm", "--date", "2026-08-06", "--place", "Office",
                as_="mo", env={"SWP_TODAY": "2026-07-15"})


def test_notice_days_cannot_be_cut_below_the_law(practice):
    run = practice("proposal", "new", "--title", "Hurry", "--kind", "special", "--amend",
                   "meetings.notice-days=3", as_="ann")
    assert run.code == 1 and "out of range (14 to 90)" in run.err


def test_an_address_or_place_with_control_characters_is_refused(practice):
    before = snapshot(practice.db)
    run = practice("meeting", "call", "--kind", "agm", "--date", "2026-07-20", "--place",
                   "Office\x1b[2J", as_="mo")
    assert run.code == 1 and "control character" in run.err
    assert snapshot(practice.db) == before


# --- the whole lifecycle -----------------------------------------------------------------------

DAY = {"SWP_TODAY": "2026-07-15"}
LATER = {"SWP_TODAY": "2026-07-16"}


def _text(db, statement) -> list[tuple]:
    """Rows with every value as text (dates come back as text on SQLite, as dates on PostgreSQL)."""
    return [tuple(str(v) for v in row) for row in query(db, statement)]


def _pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def _read(path) -> str:
    """A document read back, as plain words: lower case, Markdown's escapes and line breaks
    gone."""
    text = _pdf_text(path) if str(path).endswith(".pdf") else open(path, encoding="utf-8").read()
    return " ".join(text.replace("\\", "").lower().split())


def _private(path) -> bool:
    return stat.S_IMODE(os.stat(path).st_mode) == 0o600


def _called(practice):
    practice.ok("proposal", "new", "--title", "Room to grow", "--kind", "special", "--amend",
                "membership.max-members=60", as_="ann")
    run = practice.ok("meeting", "call", "--kind", "agm", "--date", "2026-07-15", "--place",
                      "Riverside office", "--online", "https://meet.example.org/agm", as_="mo",
                      json=True)
    assert run.json["meeting"]["agenda"][0]["proposal"] == 1
    return practice


def test_the_notice_in_every_format_and_the_day_notice_was_given(practice, tmp_path):
    _called(practice)
    for fmt, ext in (("text", "txt"), ("md", "md"), ("html", "html"), ("pdf", "pdf")):
        target = tmp_path / f"notice.{ext}"
        practice.ok("meeting", "notice", "1", "--format", fmt, "--output", str(target), as_="mo")
        text = _read(target)
        assert _private(target)
        for needed in ("Notice of Annual general meeting #1", "2026-07-15", "Riverside office",
                       "Room to grow", "membership.max-members to 60", "How to vote", "Quorum",
                       "quorate with 3 members present", "14 clear days"):
            assert needed.lower() in text, (fmt, needed)
    assert _text(practice.db, "SELECT notice_given_on FROM meeting") == [("2026-06-30",)]
    notices = [r for r in audit_rows(practice.db) if r["command"] == "meeting notice"]
    assert len(notices) == 4 and notices[0]["at"]


def test_notice_given_too_late_is_refused(practice):
    _called(practice)
    before = snapshot(practice.db)
    run = practice("meeting", "notice", "1", as_="mo", env={"SWP_TODAY": "2026-07-01"})
    assert run.code == 1
    assert "notice given today is too short" in run.err and "2026-07-16" in run.err
    assert snapshot(practice.db) == before


def test_a_meeting_opens_only_on_its_day_after_notice_with_a_quorum(practice):
    _called(practice)
    run = practice("meeting", "open", "1", "--present", "ann,bea,mo", as_="mo", env=DAY)
    assert run.code == 1 and "no notice of meeting #1 was given" in run.err
    practice.ok("meeting", "notice", "1", as_="mo")
    before = snapshot(practice.db)
    run = practice("meeting", "open", "1", "--present", "ann,bea,mo", as_="mo")
    assert run.code == 1 and "is on 2026-07-15, not today (2026-06-30)" in run.err
    run = practice("meeting", "open", "1", "--present", "ann", "--online", "bea", as_="mo", env=DAY)
    assert run.code == 1
    assert run.err == ("swp: not quorate: 2 present of the 3 needed (5 members); the meeting "
                       "cannot open\n")
    assert snapshot(practice.db) == before
    practice.ok("meeting", "open", "1", "--present", "ann,mo", "--online", "bea", as_="mo", env=DAY)
    assert query(practice.db, "SELECT m.handle, a.mode FROM attendance a JOIN member m "
                              "ON m.id = a.member_id ORDER BY m.handle") == \
        [("ann", "person"), ("bea", "online"), ("mo", "person")]


def _opened(practice):
    _called(practice)
    practice.ok("meeting", "notice", "1", as_="mo")
    practice.ok("meeting", "open", "1", "--present", "ann,mo", "--online", "bea,cal", as_="mo",
                env=DAY)
    return practice


def test_a_vote_by_someone_not_attending_is_refused(practice):
    _opened(practice)
    before = snapshot(practice.db)
    run = practice("meeting", "vote", "1", "1", "yes", as_="sam", env=DAY)
    assert run.code == 1
    assert run.err.startswith("swp: sam is not recorded as attending meeting #1")
    assert snapshot(practice.db) == before
    practice.ok("meeting", "attend", "1", "sam", "--online", as_="mo", env=DAY)
    practice.ok("meeting", "vote", "1", "1", "yes", as_="sam", env=DAY)


def test_minutes_of_a_meeting_not_yet_closed_are_refused(practice):
    _opened(practice)
    run = practice("meeting", "minutes", "1")
    assert run.code == 1
    assert run.err == ("swp: meeting #1 is not closed yet (open); minutes are written after the "
                       "close\n")


def test_each_decision_needs_its_reason(practice):
    _opened(practice)
    before = snapshot(practice.db)
    run = practice("meeting", "close", "1", as_="mo", env=DAY)
    assert run.code == 1 and run.err == 'swp: each decision needs its reason: add --reason 1="..."\n'
    assert snapshot(practice.db) == before


def test_the_meeting_decides_and_the_minutes_say_so_in_every_format(practice, tmp_path):
    _opened(practice)
    for who in ("ann", "bea", "cal", "mo"):
        practice.ok("meeting", "vote", "1", "1", "yes", as_=who, env=DAY)
    run = practice.ok("meeting", "close", "1", "--reason", "1=members want room to grow",
                      as_="mo", env=DAY, json=True)
    item = run.json["meeting"]["agenda"][0]
    assert (item["decision"], item["reason"]) == ("passed", "members want room to grow")
    assert query(practice.db, "SELECT value FROM clause WHERE name = 'membership.max-members'") == [("60",)]
    seq, head = query(practice.db, "SELECT audit_seq, audit_head FROM meeting")[0]
    assert (seq, head) == tuple(query(practice.db, "SELECT seq, hash FROM audit_event "
                                                   "ORDER BY seq DESC LIMIT 1 OFFSET 1")[0])
    for fmt, ext in (("text", "txt"), ("md", "md"), ("html", "html"), ("pdf", "pdf")):
        target = tmp_path / f"minutes.{ext}"
        practice.ok("meeting", "minutes", "1", "--format", fmt, "--output", str(target), env=LATER)
        assert _private(target)
        text = _read(target)
        for needed in ("Minutes of the Annual general meeting #1", "Ann Achebe", "Bea Brown",
                       "online", "in person", "Room to grow", "yes 4, no 0, abstain 0",
                       "Decision: passed", "members want room to grow", head[:20]):
            assert needed.lower() in text, (fmt, needed)
    run = practice("meeting", "minutes", "1", "--format", "pdf")
    assert run.code == 1 and "add --output PATH" in run.err


# --- written resolutions ------------------------------------------------------------------------


def test_a_written_resolution_passes_on_the_vote_that_reaches_the_share_of_all_members(practice):
    practice.ok("proposal", "new", "--title", "Keep more", "--kind", "ordinary", "--amend",
                "sharing.reserve-percent=25", "--written", as_="ann")
    # ordinary: yes from more than 50% of ALL 5 members, so 3; votes against do not count down
    practice.ok("vote", "1", "yes", as_="ann")
    practice.ok("vote", "1", "no", as_="sam")
    practice.ok("vote", "1", "yes", as_="bea")
    assert query(practice.db, "SELECT status FROM proposal") == [("open",)]
    run = practice("proposal", "close", "1", as_="ann")
    assert run.code == 1 and "passes when 3 of the 5 members have voted yes (2 so far)" in run.err
    practice.ok("vote", "1", "yes", as_="cal")
    assert query(practice.db, "SELECT status, yes, no FROM proposal") == [("passed", 3, 1)]
    assert query(practice.db, "SELECT value FROM clause WHERE name = 'sharing.reserve-percent'") == \
        [("25",)]
    run = practice("vote", "1", "no", as_="mo")
    assert run.code != 0  # closed: no more signatures


def test_a_special_written_resolution_needs_three_quarters_of_all_members(practice):
    practice.ok("proposal", "new", "--title", "Bigger", "--kind", "special", "--amend",
                "membership.max-members=60", "--written", as_="ann")
    for who in ("ann", "bea", "cal"):
        practice.ok("vote", "1", "yes", as_=who)
    assert query(practice.db, "SELECT status FROM proposal") == [("open",)]  # 3 of 5 < 75%
    practice.ok("vote", "1", "yes", as_="mo")  # 4 of 5 = 80%
    assert query(practice.db, "SELECT status FROM proposal") == [("passed",)]


def test_a_written_resolution_lapses_on_day_29(practice):
    practice.ok("proposal", "new", "--title", "Keep more", "--kind", "ordinary", "--amend",
                "sharing.reserve-percent=25", "--written", as_="ann")  # day 1: 2026-06-30
    assert _text(practice.db, "SELECT lapses_on FROM proposal WHERE written") == [("2026-07-28",)]
    practice.ok("vote", "1", "yes", as_="ann", env={"SWP_TODAY": "2026-07-27"})  # day 28
    before = snapshot(practice.db)
    run = practice("vote", "1", "yes", as_="bea", env={"SWP_TODAY": "2026-07-28"})  # day 29
    assert run.code == 1
    assert run.err.startswith("swp: written resolution #1 lapsed on 2026-07-28")
    assert snapshot(practice.db) == before
    practice.ok("proposal", "close", "1", as_="ann", env={"SWP_TODAY": "2026-07-28"})
    assert query(practice.db, "SELECT status FROM proposal") == [("failed",)]


def test_written_resolutions_are_not_put_on_a_meetings_agenda(practice):
    practice.ok("proposal", "new", "--title", "Keep more", "--kind", "ordinary", "--amend",
                "sharing.reserve-percent=25", "--written", as_="ann")
    run = practice.ok("meeting", "call", "--kind", "general", "--date", "2026-07-20", "--place",
                      "Office", as_="mo", json=True)
    assert run.json["meeting"]["agenda"] == []


# --- an existing practice upgraded -----------------------------------------------------------

NEW_CLAUSES = {"meetings.notice-days": "14", "meetings.first-agm-months": "18",
               "meetings.agm-interval-months": "15", "governance.written-days": "28",
               "reporting.annual-return-months": "7"}


def test_db_upgrade_gives_an_existing_practice_the_new_clauses_with_their_defaults(tmp_path, monkeypatch):
    from datetime import UTC, datetime

    from conftest import Swp
    from sqlalchemy import create_engine, text

    from swp import rules
    from swp.db import migrate

    db = str(tmp_path / "old.db")
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:  # a practice founded by an swp whose schema stops at 0001
        migrate(conn, "0001")
        conn.execute(text("INSERT INTO practice (id, name, local_authority, fiscal_year_start, "
                          "founded_at, status) VALUES (1, 'Old', 'Leeds', '04-01', :at, 'active')"),
                     {"at": datetime(2026, 1, 5, tzinfo=UTC)})
        for spec in rules.CLAUSES.values():
            if spec.name not in NEW_CLAUSES:
                conn.execute(text("INSERT INTO clause (name, value, entrenched, changed_by) "
                                  "VALUES (:n, :v, :e, :c)"),
                             {"n": spec.name, "v": spec.default, "e": spec.entrenched,
                              "c": spec.changed_by})
    engine.dispose()
    monkeypatch.delenv("SWP_TODAY")  # a real practice (not a sandbox): its clock is the machine's
    swp = Swp(db)
    swp.ok("db", "upgrade")
    held = {c["name"]: c["value"] for c in swp.ok("rules", "show", json=True).json["clauses"]}
    assert {name: held[name] for name in NEW_CLAUSES} == NEW_CLAUSES
    checked = swp("check", json=True).json  # at the real date: only the statutory calendar may be due
    assert {p["check"] for p in checked["problems"]} <= {"statutory"}, checked["problems"]


def test_a_practice_with_meetings_copies_whole(practice, tmp_path):
    from conftest import Swp

    _opened(practice)
    for who in ("ann", "bea", "cal", "mo"):
        practice.ok("meeting", "vote", "1", "1", "yes", as_=who, env=DAY)
    practice.ok("meeting", "close", "1", "--reason", "1=room to grow", as_="mo", env=DAY)
    practice.ok("member", "update", "ann", "--address", "1 High Street", as_="ann")
    copy = str(tmp_path / "copy.db")
    practice.ok("db", "copy", "--to", copy)
    assert Swp(copy).ok("meeting", "show", "1", json=True).json == \
        practice.ok("meeting", "show", "1", json=True).json


# --- ids as typed ------------------------------------------------------------------------------

TOO_BIG = "9223372036854775808"  # 2**63: more than a database integer holds
NOT_A_MEETING = f"swp: not a meeting number: '{TOO_BIG}'; use the id from 'swp meeting list', e.g. 1\n"


@pytest.mark.parametrize(("args", "message"), [
    (["show", TOO_BIG], NOT_A_MEETING),
    (["notice", TOO_BIG], NOT_A_MEETING),
    (["open", TOO_BIG, "--present", "ann,bea,mo"], NOT_A_MEETING),
    (["attend", TOO_BIG, "sam"], NOT_A_MEETING),
    (["vote", TOO_BIG, "1", "yes"], NOT_A_MEETING),
    (["vote", "1", "99999999999999999999", "yes"],
     "swp: not a proposal number: '99999999999999999999'; use the id from 'swp proposal list', e.g. 1\n"),
    (["close", TOO_BIG, "--reason", "1=why"], NOT_A_MEETING),
    (["minutes", TOO_BIG], NOT_A_MEETING),
    (["show", "x"], "swp: not a meeting number: 'x'; use the id from 'swp meeting list', e.g. 1\n"),
])
def test_a_meeting_id_too_big_for_the_database_is_refused_as_input(practice, args, message):
    _opened(practice)
    before, events = snapshot(practice.db), len(audit_rows(practice.db))
    run = practice("meeting", *args, as_="mo", env=DAY)
    assert (run.code, run.err) == (1, message)
    assert snapshot(practice.db) == before and len(audit_rows(practice.db)) == events
