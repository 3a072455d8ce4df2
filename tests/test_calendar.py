"""The statutory calendar: AGM intervals, the annual return, and `swp check` on overdue items."""

from __future__ import annotations

from datetime import date

from conftest import execute, snapshot
from hypothesis import given
from hypothesis import strategies as st

from swp.services.calendar import add_months, agm_due, year_end_after, year_ends

DEFAULTS = {"meetings.first-agm-months": "18", "meetings.agm-interval-months": "15"}


def test_the_first_agm_is_due_18_months_after_registration_then_15_after_the_last():
    assert agm_due(date(2026, 1, 15), None, DEFAULTS) == date(2027, 7, 15)
    assert agm_due(date(2026, 8, 31), None, DEFAULTS) == date(2028, 2, 29)  # leap February
    assert agm_due(date(2026, 1, 15), date(2027, 6, 30), DEFAULTS) == date(2028, 9, 30)
    assert agm_due(date(2026, 1, 15), date(2027, 11, 30), DEFAULTS) == date(2029, 2, 28)
    shorter = {**DEFAULTS, "meetings.agm-interval-months": "12"}
    assert agm_due(date(2026, 1, 15), date(2027, 6, 30), shorter) == date(2028, 6, 30)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
       st.integers(min_value=0, max_value=240))
def test_adding_months_keeps_the_day_or_takes_the_months_last(day, months):
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day == day.day or (later.day < day.day and
                                    add_months(later.replace(day=1), 1).toordinal() - 1 ==
                                    later.toordinal())


def test_year_ends_follow_the_fiscal_year_start():
    assert year_end_after(date(2026, 6, 30), "04-01") == date(2027, 3, 31)
    assert year_end_after(date(2027, 3, 31), "04-01") == date(2027, 3, 31)
    assert year_end_after(date(2026, 6, 30), "01-01") == date(2026, 12, 31)
    assert year_ends(date(2026, 3, 31), "04-01", date(2028, 3, 31)) == \
        [date(2027, 3, 31), date(2028, 3, 31)]


def _registered(practice, day: str) -> None:
    execute(practice.db, f"UPDATE practice SET founded_at = '{day} 09:00:00.000000'")


def test_a_practice_new_to_swp_is_never_overdue_at_once(practice):
    items = practice.ok("calendar", json=True).json["items"]
    assert not any(i["overdue"] for i in items)
    assert practice.ok("check").code == 0


def test_the_calendar_lists_what_is_due_oldest_first(practice):
    _registered(practice, "2025-04-10")
    practice.ok("contract", "add", "LCC-9", "--authority", "Leeds City Council", "--value", "1000",
                "--start", "2026-01-01", "--end", "2026-08-31", as_="mo")
    practice.ok("proposal", "new", "--title", "Keep more", "--kind", "ordinary", "--amend",
                "sharing.reserve-percent=25", "--written", as_="ann")
    practice.ok("proposal", "new", "--title", "Room to grow", "--kind", "special", "--amend",
                "membership.max-members=60", as_="ann")
    practice.ok("meeting", "call", "--kind", "general", "--date", "2026-07-20", "--place", "Office",
                as_="mo")
    items = practice.ok("calendar", json=True).json["items"]
    due = [(i["due"], i["kind"]) for i in items]
    assert due == sorted(due)
    assert ("2026-10-10", "agm") in due  # 18 months from registration
    assert ("2026-09-25", "agm-notice") in due  # 14 clear days before it
    assert ("2026-08-31", "contract") in due
    assert ("2026-07-27", "written") in due  # the last day to sign; it lapses on 2026-07-28
    assert ("2026-07-20", "meeting") in due and ("2026-07-20", "proposal") in due
    assert ("2026-10-31", "annual-return") in due  # year ended 2026-03-31, + 7 months
    assert not any(i["overdue"] for i in items)


def test_check_reports_an_overdue_agm_and_annual_return(practice):
    _registered(practice, "2024-06-01")
    run = practice("check", json=True)
    assert run.code == 4
    problems = [p for p in run.json["problems"] if p["check"] == "statutory"]
    assert [p["clause"] for p in problems] == ["reporting.annual-return-months",
                                              "meetings.first-agm-months"]
    assert "overdue since 2025-10-31: annual return and accounts for the year ended 2025-03-31" \
        in problems[0]["message"]
    assert problems[1]["message"].startswith("overdue since 2025-12-01: annual general meeting")
    human = practice.ok("calendar").out
    assert "OVERDUE" in human
    # the return is recorded as filed: only the meeting is left
    practice.ok("calendar", "filed", "--year-end", "2025-03-31", "--on", "2025-10-20", as_="mo")
    problems = [p for p in practice("check", json=True).json["problems"] if p["check"] == "statutory"]
    assert [p["clause"] for p in problems] == ["meetings.first-agm-months"]


def test_holding_the_agm_moves_the_next_one_15_months_on(practice):
    _registered(practice, "2025-02-10")
    practice.ok("meeting", "call", "--kind", "agm", "--date", "2026-07-15", "--place", "Office",
                as_="mo")
    practice.ok("meeting", "notice", "1", as_="mo")
    day = {"SWP_TODAY": "2026-07-15"}
    practice.ok("meeting", "open", "1", "--present", "ann,bea,mo", as_="mo", env=day)
    practice.ok("meeting", "close", "1", as_="mo", env=day)
    items = practice.ok("calendar", json=True, env=day).json["items"]
    assert ("2027-10-15", "agm") in [(i["due"], i["kind"]) for i in items]


def test_a_filing_must_be_for_a_real_year_end(practice):
    _registered(practice, "2024-06-01")
    before = snapshot(practice.db)
    run = practice("calendar", "filed", "--year-end", "2025-04-30", as_="mo")
    assert run.code == 1 and "is not a financial year end" in run.err
    run = practice("calendar", "filed", "--year-end", "2027-03-31", as_="mo")
    assert run.code == 1 and "has not ended yet" in run.err
    run = practice("calendar", "filed", "--year-end", "2025-03-31", as_="ann")
    assert run.code == 1 and "needs --as a current manager" in run.err
    assert snapshot(practice.db) == before
