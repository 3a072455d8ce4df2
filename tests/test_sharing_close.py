"""Previewing and closing periods: JSON keys, refusals, roles, probation, blends, the reserve,
and the one-pass weights against a plain day-by-day count."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swp.dates import anniversary, years_completed
from swp.services.sharing.workout import History, work_out
from tests.conftest import audit_rows, snapshot

Q1 = ("--start", "2026-01-01", "--end", "2026-03-31")
PERIOD_KEYS = {"label", "start", "end", "income_pence", "expenses_pence", "net_pence",
               "reserve_pence", "distributable_pence", "method", "allocations"}


def books(swp, rows=(("income", "20000", "2026-01-20", "contracts"),
                     ("income", "2500", "2026-03-10", "outcome-payments"),
                     ("expense", "3000", "2026-02-01", "rent"))) -> None:
    for kind, amount, day, category in rows:
        swp.ok("ledger", kind, amount, "--date", day, "--category", category, as_="mo")


def test_preview_and_close_json_keys_and_preview_changes_nothing(practice, db):
    books(practice)
    before, events = snapshot(db), len(audit_rows(db))
    preview = practice.ok("period", "preview", *Q1, json=True).json
    assert PERIOD_KEYS <= set(preview)
    assert snapshot(db) == before and len(audit_rows(db)) == events
    assert preview["start"] == "2026-01-01" and preview["end"] == "2026-03-31"
    assert (preview["income_pence"], preview["expenses_pence"], preview["net_pence"]) == (2_250_000, 300_000, 1_950_000)
    assert preview["reserve_pence"] == 390_000 and preview["distributable_pence"] == 1_560_000
    assert preview["method"] == "equal"
    for allocation in preview["allocations"]:
        assert {"member", "amount_pence"} <= set(allocation)
        assert isinstance(allocation["amount_pence"], int)
    # everyone was a member all quarter: 1,560,000 / 5 = 312,000 each
    assert {a["member"]: a["amount_pence"] for a in preview["allocations"]} == {
        "ann": 312_000, "bea": 312_000, "cal": 312_000, "mo": 312_000, "sam": 312_000}

    closed = practice.ok("period", "close", "2026-Q1", *Q1, as_="mo", json=True).json
    assert PERIOD_KEYS <= set(closed) and closed["label"] == "2026-Q1"
    assert closed["allocations"] == preview["allocations"]
    event = audit_rows(db)[-1]
    assert event["command"] == "period close" and event["actor"] == "mo"
    assert json.loads(event["args"]) == {"label": "2026-Q1", "start": "2026-01-01", "end": "2026-03-31"}
    human = practice.ok("period", "list").out
    assert "2026-Q1" in human and "£3,900.00" in human


def test_human_preview_shows_the_pool_and_each_member(practice):
    books(practice)
    out = practice.ok("period", "preview", *Q1).out
    assert "nothing changed" in out and "£15,600.00" in out and "£3,120.00" in out
    for handle in ("ann", "bea", "cal", "mo", "sam"):
        assert handle in out


def test_closing_needs_a_manager(practice, db):
    books(practice)
    before = snapshot(db)
    run = practice("period", "close", "2026-Q1", *Q1)
    assert run.code == 1 and "needs --as a current manager" in run.err
    run = practice("period", "close", "2026-Q1", *Q1, as_="ann")
    assert run.code == 1 and "'ann' is not one" in run.err
    assert snapshot(db) == before


@pytest.mark.parametrize("args, says", [
    (("--start", "2026-03-31", "--end", "2026-01-01"), "starts (2026-03-31) after it ends"),
    (("--start", "2026-02-30", "--end", "2026-03-31"), "no such start date"),
    (("--start", "last week", "--end", "2026-03-31"), "not a start date"),
])
def test_bad_dates_are_refused(practice, args, says):
    run = practice("period", "preview", *args)
    assert run.code == 1 and says in run.err


def test_bad_labels_methods_and_empty_periods_are_refused(practice, db):
    books(practice)
    before = snapshot(db)
    for label in ("../etc", "a b", "", "x" * 41):
        run = practice("period", "close", label, *Q1, as_="mo")
        assert run.code == 1 and "not a period label" in run.err
    run = practice("period", "preview", *Q1, "--method", "equal:60,hours:30")
    assert run.code == 1 and "must add up to 100" in run.err
    for command in (("period", "preview"), ("period", "close", "2025-Q4")):
        run = practice(*command, "--start", "2025-10-01", "--end", "2025-12-31", as_="mo")
        assert run.code == 1 and "no income or expenses are dated from 2025-10-01 to 2025-12-31" in run.err
    assert snapshot(db) == before


def test_a_surplus_with_nobody_to_share_it_is_refused(swp, db):
    swp.ok("init", "--sandbox", "Riverside", "--local-authority", "Leeds")
    swp.ok("member", "add", "ann", "--name", "Ann Achebe", "--role", "practitioner", "--registration", "SW240001",
           "--employed-since", "2026-04-01", "--hours", "37.5")
    swp.ok("ledger", "income", "1000", "--date", "2026-02-01", "--category", "grants", as_="ann")
    before = snapshot(db)
    run = swp("period", "close", "2026-Q1", *Q1, json=True, as_="ann")
    assert run.code == 1
    assert "nobody was a member on any day from 2026-01-01 to 2026-03-31" in run.err
    assert "£800.00" in run.err  # the pool after the 20% reserve
    assert run.json["error"]["code"] == 1
    assert snapshot(db) == before


def test_a_pay_slice_when_no_pay_is_recorded_is_refused(swp):
    swp.ok("init", "--sandbox", "Riverside", "--local-authority", "Leeds", "--set", "sharing.method=equal:50,pay:50")
    swp.ok("member", "add", "ann", "--name", "Ann Achebe", "--role", "practitioner", "--registration", "SW240002",
           "--employed-since", "2025-01-01", "--hours", "37.5")
    swp.ok("ledger", "income", "1000", "--date", "2026-02-01", "--category", "grants", as_="ann")
    run = swp("period", "preview", *Q1)
    assert run.code == 1 and "the pay slice of £400.00 cannot be shared" in run.err
    equal = swp.ok("period", "preview", *Q1, "--method", "equal", json=True).json
    assert equal["allocations"] == [{**equal["allocations"][0], "amount_pence": 80_000}]


def test_probation_days_delay_the_share(swp):
    swp.ok("init", "--sandbox", "Riverside", "--local-authority", "Leeds", "--set", "membership.probation-days=31")
    swp.ok("member", "add", "ann", "--name", "Ann Achebe", "--role", "practitioner", "--registration", "SW240003",
           "--employed-since", "2025-01-01", "--hours", "37.5")
    swp.ok("member", "add", "bea", "--name", "Bea Brown", "--role", "practitioner", "--registration", "SW240004",
           "--employed-since", "2026-01-01", "--hours", "37.5")
    swp.ok("member", "add", "cal", "--name", "Cal Chen", "--role", "practitioner", "--registration", "SW240005",
           "--employed-since", "2026-03-15", "--hours", "37.5")  # probation outlasts the period
    swp.ok("ledger", "income", "1500", "--date", "2026-02-01", "--category", "grants", as_="ann")
    data = swp.ok("period", "close", "2026-Q1", *Q1, json=True, as_="ann").json
    days = {a["member"]: a["days"] for a in data["allocations"]}
    assert days == {"ann": 90, "bea": 59}  # bea from 2026-02-01; cal not at all
    assert {a["member"]: a["amount_pence"] for a in data["allocations"]} == {"ann": 72_483, "bea": 47_517}
    assert sum(a["amount_pence"] for a in data["allocations"]) == data["distributable_pence"] == 120_000


def test_a_three_way_blend_and_service(swp):
    swp.ok("init", "--sandbox", "Riverside", "--local-authority", "Leeds",
           "--set", "sharing.method=equal:34,hours:33,service:33", "--set", "sharing.reserve-percent=0")
    swp.ok("member", "add", "ann", "--name", "Ann Achebe", "--role", "practitioner", "--registration", "SW240006",
           "--employed-since", "2020-02-29", "--hours", "37.5")
    swp.ok("member", "add", "bea", "--name", "Bea Brown", "--role", "practitioner", "--registration", "SW240007",
           "--employed-since", "2025-02-15", "--hours", "20")
    swp.ok("ledger", "income", "1000.01", "--date", "2026-02-01", "--category", "grants", as_="ann")
    data = swp.ok("period", "preview", *Q1, json=True).json
    assert data["reserve_pence"] == 0 and data["distributable_pence"] == 100_001
    assert [(s["basis"], s["slice_pence"]) for s in data["slices"]] == [
        ("equal", 34_001), ("hours", 33_000), ("service", 33_000)]
    weights = {a["member"]: a["weights"]["service"] for a in data["allocations"]}
    # ann: 5 years completed until her 6th anniversary (2026-03-01 in a common year), then 6
    # bea: 0 years until 2026-02-15, then 1
    assert weights == {"ann": 59 * 6 + 31 * 7, "bea": 45 * 1 + 45 * 2}
    assert sum(a["amount_pence"] for a in data["allocations"]) == 100_001


def test_break_even_and_a_deficit_bigger_than_the_reserve_then_recovery(practice):
    books(practice, [("income", "1000", "2026-01-10", "contracts"), ("expense", "1000", "2026-01-11", "rent")])
    even = practice.ok("period", "close", "2026-Q1", *Q1, as_="mo", json=True).json
    assert even["net_pence"] == 0 and even["reserve_pence"] == 0 and even["distributable_pence"] == 0
    assert {a["amount_pence"] for a in even["allocations"]} == {0}
    books(practice, [("expense", "1000.03", "2026-04-10", "rent")])
    deficit = practice.ok("period", "close", "2026-04", "--start", "2026-04-01", "--end", "2026-04-30",
                          as_="mo", json=True).json
    assert deficit["reserve_pence"] == 0 and deficit["distributable_pence"] == -100_003
    amounts = {a["member"]: a["amount_pence"] for a in deficit["allocations"]}
    assert amounts == {"ann": -20_001, "bea": -20_001, "cal": -20_001, "mo": -20_000, "sam": -20_000}
    # a small surplus does not cover it: nothing payable, the rest carried
    books(practice, [("income", "125", "2026-05-10", "contracts")])
    may = practice.ok("period", "close", "2026-05", "--start", "2026-05-01", "--end", "2026-05-31",
                      as_="mo", json=True).json
    assert may["distributable_pence"] == 10_000
    for a in may["allocations"]:
        assert a["amount_pence"] == 2_000 and a["payable_pence"] == 0
        assert a["carried_out_pence"] == a["carried_in_pence"] + 2_000
    # a big one clears it and pays the rest
    books(practice, [("income", "1250", "2026-06-10", "contracts")])
    june = practice.ok("period", "close", "2026-06", "--start", "2026-06-01", "--end", "2026-06-30",
                       as_="mo", json=True).json
    for a in june["allocations"]:
        assert a["amount_pence"] == 20_000 and a["carried_out_pence"] == 0
        assert a["payable_pence"] == 20_000 + a["carried_in_pence"]
    assert {a["member"]: a["payable_pence"] for a in june["allocations"]} == {
        "ann": 1_999, "bea": 1_999, "cal": 1_999, "mo": 2_000, "sam": 2_000}


def test_a_deficit_smaller_than_the_reserve_is_met_from_it_alone(practice):
    books(practice)
    practice.ok("period", "close", "2026-Q1", *Q1, as_="mo")  # 3,900.00 into the reserve
    books(practice, [("expense", "1000", "2026-04-10", "rent")])
    april = practice.ok("period", "close", "2026-04", "--start", "2026-04-01", "--end", "2026-04-30",
                        as_="mo", json=True).json
    assert april["reserve_pence"] == -100_000 and april["distributable_pence"] == 0
    assert all(a["amount_pence"] == 0 and a["carried_out_pence"] == 0 for a in april["allocations"])
    assert practice.ok("period", "list", json=True).json["reserve_pence"] == 290_000
    assert practice.ok("practice", "show", json=True).json["reserve_pence"] == 290_000


def test_reversed_entries_net_out_and_loans_are_not_income(practice):
    books(practice)
    entries = practice.ok("ledger", "list", json=True, as_="mo").json["entries"]
    rent = next(e for e in entries if e["category"] == "rent")
    practice.ok("ledger", "reverse", str(rent["id"]), "--reason", "paid by the landlord's error", as_="mo")
    data = practice.ok("period", "preview", *Q1, json=True).json
    assert data["expenses_pence"] == 0 and data["expenses_by_category"] == {"rent": 0}
    assert data["income_pence"] == 2_250_000


# --- the one-pass weights against a day-by-day count ---------------------------------------

def _naive(history: History, start: date, end: date, probation: int) -> dict[str, int]:
    totals = {"equal": 0, "hours": 0, "pay": 0, "service": 0}
    day = start
    while day <= end:
        member = (history.employed_since + timedelta(days=probation) <= day
                  and (history.left_on is None or day <= history.left_on))
        if member:
            facts = [f for f in history.facts if f[0] <= day] or history.facts[:1]
            _, _, hours, pay = facts[-1]
            totals["equal"] += 1
            totals["hours"] += hours
            totals["pay"] += pay
            totals["service"] += years_completed(history.employed_since, day) + 1
        day += timedelta(days=1)
    return totals


days_st = st.integers(min_value=0, max_value=2000)
BASE = date(2022, 1, 1)


@settings(max_examples=150, deadline=None)
@given(since=days_st, left=st.one_of(st.none(), st.integers(min_value=0, max_value=900)),
       changes=st.lists(st.tuples(st.integers(min_value=1, max_value=900),
                                  st.integers(min_value=800, max_value=4000),
                                  st.integers(min_value=0, max_value=9_000_000)),
                        max_size=4, unique_by=lambda c: c[0]),
       start=days_st, length=st.integers(min_value=0, max_value=500),
       probation=st.integers(min_value=0, max_value=120))
def test_weights_from_history_ranges_equal_a_day_by_day_count(since, left, changes, start, length,
                                                              probation):
    employed = BASE + timedelta(days=since)
    facts = [(employed, "practitioner", 3750, 4_000_000)]
    for offset, hours, pay in sorted(changes):
        facts.append((employed + timedelta(days=offset), "practitioner", hours, pay))
    history = History(1, "ann", "Ann", employed,
                      None if left is None else employed + timedelta(days=left), facts)
    first = BASE + timedelta(days=start)
    last = first + timedelta(days=length)
    # a period with nothing to share: the weights and segments are worked out all the same
    worked = work_out(start=first, end=last, label=None, method={"equal": 100}, reserve_percent=0,
                      probation_days=probation, entries=0, categories=(), reserve_before_pence=0,
                      histories=[history], owed={})
    shares = {share.member: share for share in worked.shares}
    segments = shares["ann"].segments if "ann" in shares else ()
    weights = shares["ann"].weights if "ann" in shares else {"equal": 0, "hours": 0, "pay": 0, "service": 0}
    assert weights == _naive(history, first, last, probation)
    for earlier, later in zip(segments, segments[1:], strict=False):
        assert later.start == earlier.end + timedelta(days=1)


def test_anniversaries_of_29_february():
    since = date(2020, 2, 29)
    assert anniversary(since, 1) == date(2021, 3, 1)
    assert anniversary(since, 4) == date(2024, 2, 29)
    assert years_completed(since, date(2021, 2, 28)) == 0
    assert years_completed(since, date(2021, 3, 1)) == 1
    assert years_completed(since, date(2019, 1, 1)) == 0


def test_the_guard_refuses_a_share_not_backed_by_membership_days():
    """SPEC section 6, item 9, in the domain code (the weights make it unreachable in practice)."""
    from swp.errors import RuleViolation
    from swp.services.sharing.workout import Share, guard_distribution

    history = History(1, "ann", "Ann", date(2026, 3, 1), None, [(date(2026, 3, 1), "practitioner", 3750, 0)])
    honest = Share("ann", "Ann", 31, {"equal": 31}, {"equal": 100}, 100, 0, 100, 0, ())
    guard_distribution(date(2026, 1, 1), date(2026, 3, 31), 0, [honest], {"ann": history})
    padded = Share("ann", "Ann", 90, {"equal": 90}, {"equal": 100}, 100, 0, 100, 0, ())
    with pytest.raises(RuleViolation) as refused:
        guard_distribution(date(2026, 1, 1), date(2026, 3, 31), 0, [padded], {"ann": history})
    assert refused.value.clause == "asset-lock" and "31 days" in refused.value.message
    outsider = Share("acme", "Acme Ltd", 0, {"equal": 0}, {"equal": 100}, 100, 0, 100, 0, ())
    with pytest.raises(RuleViolation, match="not a member of the practice"):
        guard_distribution(date(2026, 1, 1), date(2026, 3, 31), 0, [outsider], {"ann": history})
