"""Contracts with the local authority: the authority guard, invoices against the base part,
outcome payments against the outcome part, and the figures `contract list` shows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import audit_rows, execute, query, snapshot

LA = "Leeds City Council"


def add_contract(swp, ref="LCC-1", value="120000", outcome="20", start="2026-04-01",
                 end="2027-03-31", authority=LA):
    return swp.ok("contract", "add", ref, "--authority", authority, "--value", value,
                  "--start", start, "--end", end, "--outcome-percent", outcome,
                  "--description", "Support for children in care", as_="mo")


# --- adding a contract -------------------------------------------------------------------


def test_add_a_contract_with_an_outcome_part(practice, db):
    run = add_contract(practice)
    assert "Added contract LCC-1 with Leeds City Council" in run.out
    assert "base £96,000.00" in run.out and "£24,000.00 (20%) paid by outcomes" in run.out
    data = practice.ok("contract", "show", "LCC-1", json=True).json
    assert data["contract"] == {
        "ref": "LCC-1", "authority": LA, "value_pence": 12_000_000,
        "start": "2026-04-01", "end": "2027-03-31", "outcome_percent": 20,
        "description": "Support for children in care",
        "base_pence": 9_600_000, "outcome_pence": 2_400_000,
        "invoiced_pence": 0, "invoice_left_pence": 9_600_000,
        "outcome_received_pence": 0, "outcome_at_risk_pence": 2_400_000,
        "days_left": 274, "status": "running",
    }
    assert data["entries"] == []
    assert audit_rows(db)[-1]["command"] == "contract add"
    assert audit_rows(db)[-1]["outcome"] == "ok"


def test_the_authority_is_compared_ignoring_case_and_kept_in_the_practices_spelling(practice):
    add_contract(practice, authority="  leeds CITY council ")
    data = practice.ok("contract", "list", json=True).json
    assert data["contracts"][0]["authority"] == LA


def test_a_contract_with_another_authority_is_refused_with_exit_3(practice, db):
    before = snapshot(db)
    run = practice("contract", "add", "YORK-1", "--authority", "City of York Council",
                   "--value", "50000", "--start", "2026-04-01", "--end", "2027-03-31", as_="mo")
    assert run.code == 3
    assert run.err == ("swp: refused by clause contracts.own-authority-only: 'City of York "
                       "Council' is not the practice's own local authority (Leeds City Council)\n")
    assert snapshot(db) == before
    last = audit_rows(db)[-1]
    assert last["outcome"] == "refused" and last["command"] == "contract add"
    assert last["actor"] == "mo" and "contracts.own-authority-only" in last["detail"]


def test_the_refusal_names_the_clause_in_json(practice):
    run = practice("contract", "add", "YORK-1", "--authority", "York", "--value", "1",
                   "--start", "2026-04-01", "--end", "2027-03-31", as_="mo", json=True)
    assert run.code == 3
    assert run.json["error"]["clause"] == "contracts.own-authority-only"
    assert run.json["error"]["code"] == 3


def test_another_authority_is_accepted_when_own_authority_only_is_off(swp, db):
    swp.ok("init", "--sandbox", "Riverside", "--local-authority", LA,
           "--set", "contracts.own-authority-only=off")
    run = swp.ok("contract", "add", "YORK-1", "--authority", "City of York Council",
                 "--value", "50000", "--start", "2026-04-01", "--end", "2027-03-31")
    assert "with City of York Council" in run.out
    assert swp.ok("contract", "list", json=True).json["contracts"][0]["authority"] == \
        "City of York Council"


@pytest.mark.parametrize("args, message", [
    (["--outcome-percent", "101"], "swp: --outcome-percent must be from 0 to 100, not '101'"),
    (["--outcome-percent", "-1"], "swp: --outcome-percent must be from 0 to 100, not '-1'"),
    (["--outcome-percent", "12.5"],
     "swp: --outcome-percent must be a whole percentage from 0 to 100, not '12.5'"),
    (["--outcome-percent", "lots"],
     "swp: --outcome-percent must be a whole percentage from 0 to 100, not 'lots'"),
    (["--end", "2026-03-31"], "swp: the contract ends (2026-03-31) before it starts (2026-04-01)"),
    (["--value", "0"], "swp: the amount must be more than zero: '0'"),  # money.py's words
    (["--authority", " "], "swp: a contract needs the local authority it is with (--authority)"),
])
def test_bad_contract_input_is_exit_1_and_changes_nothing(practice, db, args, message):
    base = {"--authority": LA, "--value": "1000", "--start": "2026-04-01",
            "--end": "2027-03-31"}
    argv = ["contract", "add", "LCC-9"]
    for key, value in base.items():
        if key not in args:
            argv += [key, value]
    argv += args
    before = snapshot(db)
    events = len(audit_rows(db))
    run = practice(*argv, as_="mo")
    assert run.code == 1
    assert run.err.startswith(message) and run.err.count("\n") == 1  # one line, on stderr
    assert snapshot(db) == before
    assert len(audit_rows(db)) == events


def test_a_duplicate_reference_is_exit_1(practice, db):
    add_contract(practice)
    before = snapshot(db)
    run = practice("contract", "add", "lcc-1", "--authority", LA, "--value", "1",
                   "--start", "2026-04-01", "--end", "2026-05-01", as_="mo")
    assert run.code == 1
    assert run.err == "swp: a contract with reference 'LCC-1' already exists\n"
    assert snapshot(db) == before


def test_managing_contracts_needs_the_manager(practice, db):
    before = snapshot(db)
    run = practice("contract", "add", "LCC-1", "--authority", LA, "--value", "1",
                   "--start", "2026-04-01", "--end", "2026-05-01")
    assert run.code == 1
    assert run.err == "swp: managing contracts needs --as a current manager (mo)\n"
    run = practice("contract", "add", "LCC-1", "--authority", LA, "--value", "1",
                   "--start", "2026-04-01", "--end", "2026-05-01", as_="ann")
    assert run.code == 1 and "'ann' is not one" in run.err
    assert snapshot(db) == before


# --- invoices and outcome payments ---------------------------------------------------------


def test_invoices_and_outcome_payments_are_income_linked_to_the_contract(practice, db):
    add_contract(practice)
    run = practice.ok("contract", "invoice", "LCC-1", "8000", "--date", "2026-04-30",
                      "--memo", "April", as_="mo", json=True)
    assert run.json == {"entry": 1, "contract": "LCC-1", "amount_pence": 800_000,
                        "date": "2026-04-30", "measure": None, "invoiced_pence": 800_000,
                        "invoice_left_pence": 8_800_000, "outcome_received_pence": 0,
                        "outcome_at_risk_pence": 2_400_000}
    run = practice.ok("contract", "outcome", "LCC-1", "£6,000.50", "--date", "2026-06-30",
                      "--measure", "placements stable at 6 months", as_="mo")
    assert run.out == ("Outcome payment £6,000.50 on LCC-1 for 'placements stable at 6 months' "
                       "(entry #2); received £6,000.50 of £24,000.00, £17,999.50 still at risk.\n")
    rows = query(db, "SELECT kind, amount_pence, category, debit, credit, contract_id, "
                     "measure, memo FROM ledger_entry ORDER BY id")
    assert rows == [
        ("income", 800_000, "contracts", "assets:bank", "income:contracts", 1, None, "April"),
        ("income", 600_050, "outcome-payments", "assets:bank", "income:outcome-payments", 1,
         "placements stable at 6 months", None),
    ]
    assert [e["command"] for e in audit_rows(db)[-2:]] == ["contract invoice", "contract outcome"]


def test_contract_list_figures_after_a_mix_of_invoices_and_outcome_payments(practice):
    add_contract(practice)  # 120,000: base 96,000, outcome 24,000
    add_contract(practice, ref="LCC-2", value="30000.03", outcome="0", start="2025-04-01",
                 end="2026-03-31")
    add_contract(practice, ref="LCC-3", value="10000", outcome="100", start="2026-07-01",
                 end="2026-12-31")
    for ref, kind, amount, when in [
        ("LCC-1", "invoice", "8000", "2026-04-30"),
        ("LCC-2", "invoice", "30000.03", "2026-03-31"),
        ("LCC-1", "outcome", "4000.01", "2026-05-15"),
        ("LCC-1", "invoice", "8000.99", "2026-05-31"),
        ("LCC-1", "outcome", "1999.99", "2026-06-30"),
    ]:  # (LCC-3 starts tomorrow: nothing is received under it yet)
        extra = ["--measure", "stable placements"] if kind == "outcome" else []
        practice.ok("contract", kind, ref, amount, "--date", when, *extra, as_="mo")
    data = practice.ok("contract", "list", json=True).json
    figures = {c["ref"]: (c["value_pence"], c["invoiced_pence"], c["invoice_left_pence"],
                          c["outcome_received_pence"], c["outcome_at_risk_pence"],
                          c["days_left"], c["status"]) for c in data["contracts"]}
    assert figures == {
        "LCC-1": (12_000_000, 1_600_099, 7_999_901, 600_000, 1_800_000, 274, "running"),
        "LCC-2": (3_000_003, 3_000_003, 0, 0, 0, 0, "ended"),
        "LCC-3": (1_000_000, 0, 0, 0, 1_000_000, 184, "not started"),
    }
    assert [c["ref"] for c in data["contracts"]] == ["LCC-2", "LCC-1", "LCC-3"]  # by start
    assert (data["value_pence"], data["invoiced_pence"], data["invoice_left_pence"],
            data["outcome_received_pence"], data["outcome_at_risk_pence"]) == \
        (16_000_003, 4_600_102, 7_999_901, 600_000, 2_800_000)
    table = practice.ok("contract", "list").out
    lcc1 = next(line for line in table.splitlines() if "LCC-1" in line)
    for text in ("£120,000.00", "£16,000.99", "£79,999.01", "£6,000.00", "£18,000.00", "274"):
        assert text in lcc1
    assert "ended" in next(line for line in table.splitlines() if "LCC-2" in line)
    total = next(line for line in table.splitlines() if "total" in line)
    assert "£160,000.03" in total and "£28,000.00" in total


@pytest.mark.parametrize("args", [
    ["contract", "invoice", "LCC-1", "8000"],
    ["contract", "outcome", "LCC-1", "4000", "--measure", "stable placements"],
    ["ledger", "income", "8000", "--category", "contracts", "--contract", "LCC-1"],
])
def test_contract_money_dated_after_today_is_refused(practice, db, args):
    """Money received under a contract is recorded once it is received, as any income."""
    add_contract(practice)
    before = snapshot(db)
    run = practice(*args, "--date", "2026-07-01", as_="mo")
    assert (run.code, run.out, run.err) == (
        1, "", "swp: 2026-07-01 is after today (2026-06-30): the ledger records money once it is "
               "received or paid, never in advance\n")
    assert snapshot(db) == before
    practice.ok(*args, "--date", "2026-06-30", as_="mo")


def test_invoicing_past_the_base_part_is_exit_1_saying_what_is_left(practice, db):
    add_contract(practice)
    practice.ok("contract", "invoice", "LCC-1", "90000", "--date", "2026-04-30", as_="mo")
    before = snapshot(db)
    run = practice("contract", "invoice", "LCC-1", "6000.01", "--date", "2026-05-31", as_="mo")
    assert run.code == 1
    assert run.err == ("swp: invoicing £6,000.01 would take contract LCC-1 past its base part "
                       "of £96,000.00 (invoiced so far £90,000.00); £6,000.00 is left to "
                       "invoice\n")
    assert snapshot(db) == before
    # exactly what is left is accepted
    practice.ok("contract", "invoice", "LCC-1", "6000", "--date", "2026-05-31", as_="mo")
    run = practice("contract", "invoice", "LCC-1", "0.01", "--date", "2026-05-31", as_="mo")
    assert run.code == 1 and "£0.00 is left to invoice" in run.err


def test_claiming_outcomes_past_the_outcome_part_is_exit_1_saying_what_is_left(practice, db):
    add_contract(practice)
    practice.ok("contract", "outcome", "LCC-1", "20000", "--date", "2026-05-31",
                "--measure", "m1", as_="mo")
    before = snapshot(db)
    run = practice("contract", "outcome", "LCC-1", "4000.01", "--date", "2026-06-01",
                   "--measure", "m2", as_="mo")
    assert run.code == 1
    assert run.err == ("swp: an outcome payment of £4,000.01 would take contract LCC-1 past "
                       "its outcome part of £24,000.00 (received so far £20,000.00); "
                       "£4,000.00 is left to claim\n")
    assert snapshot(db) == before


def test_a_contract_without_an_outcome_part_takes_no_outcome_payment(practice, db):
    add_contract(practice, outcome="0")
    before = snapshot(db)
    run = practice("contract", "outcome", "LCC-1", "1", "--date", "2026-05-31",
                   "--measure", "m", as_="mo")
    assert run.code == 1 and "past its outcome part of £0.00" in run.err
    assert snapshot(db) == before


def test_invoices_and_outcomes_are_capped_separately(practice):
    add_contract(practice, value="100", outcome="40")  # base 60, outcome 40
    practice.ok("contract", "outcome", "LCC-1", "40", "--date", "2026-05-31", "--measure", "m",
                as_="mo")
    run = practice("contract", "invoice", "LCC-1", "60.01", "--date", "2026-05-31", as_="mo")
    assert run.code == 1 and "£60.00 is left to invoice" in run.err
    practice.ok("contract", "invoice", "LCC-1", "60", "--date", "2026-05-31", as_="mo")


@pytest.mark.parametrize("command", [
    ["contract", "invoice", "NOPE", "10", "--date", "2026-05-31"],
    ["contract", "outcome", "NOPE", "10", "--date", "2026-05-31", "--measure", "m"],
    ["contract", "show", "NOPE"],
])
def test_an_unknown_contract_is_exit_1(practice, db, command):
    add_contract(practice)
    before = snapshot(db)
    run = practice(*command, as_="mo")
    assert run.code == 1
    assert run.err == "swp: no contract with reference 'NOPE'; 'swp contract list' lists them\n"
    assert snapshot(db) == before


def test_a_contract_reference_is_found_ignoring_case(practice):
    add_contract(practice)
    practice.ok("contract", "invoice", "lcc-1", "10", "--date", "2026-05-31", as_="mo")
    assert practice.ok("contract", "show", "Lcc-1", json=True).json["contract"]["ref"] == "LCC-1"


def test_an_invoice_before_the_contract_starts_is_exit_1_but_after_it_ends_is_accepted(
        practice, db):
    add_contract(practice, start="2025-04-01", end="2026-03-31")
    before = snapshot(db)
    run = practice("contract", "invoice", "LCC-1", "10", "--date", "2025-03-31", as_="mo")
    assert run.code == 1
    assert run.err == ("swp: an invoice dated 2025-03-31 is before contract LCC-1 starts "
                       "(2025-04-01)\n")
    run = practice("contract", "outcome", "LCC-1", "10", "--date", "2025-03-31",
                   "--measure", "m", as_="mo")
    assert run.code == 1 and "an outcome payment dated 2025-03-31 is before" in run.err
    assert snapshot(db) == before
    # final invoices in arrears, and outcomes measured after the end, are normal
    practice.ok("contract", "invoice", "LCC-1", "10", "--date", "2026-04-15", as_="mo")
    practice.ok("contract", "outcome", "LCC-1", "10", "--date", "2026-06-30", "--measure", "m",
                as_="mo")


def test_an_outcome_payment_needs_a_measure(practice, db):
    add_contract(practice)
    before = snapshot(db)
    run = practice("contract", "outcome", "LCC-1", "10", "--date", "2026-05-31",
                   "--measure", "  ", as_="mo")
    assert run.code == 1
    assert run.err == "swp: an outcome payment needs the measure it was paid for (--measure)\n"
    run = practice("contract", "outcome", "LCC-1", "10", "--date", "2026-05-31", as_="mo")
    assert run.code == 2 and "--measure" in run.err
    assert snapshot(db) == before


def test_payments_need_the_manager(practice, db):
    add_contract(practice)
    before = snapshot(db)
    run = practice("contract", "invoice", "LCC-1", "10", "--date", "2026-05-31", as_="ann")
    assert run.code == 1 and "managing contracts needs --as a current manager" in run.err
    assert snapshot(db) == before


def _reverse_directly(db, entry_id, *, copy_contract):
    """A reversal as the ledger writes it: the opposite amount with `reverses` set."""
    [row] = query(db, "SELECT date, kind, amount_pence, category, debit, credit, "
                      "contract_id FROM ledger_entry WHERE id = :id", {"id": entry_id})
    day, kind, amount, category, debit, credit, contract_id = row
    execute(db,
            "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, "
            "memo, reverses, contract_id, recorded_at) VALUES (:day, :kind, :amount, :category, "
            ":debit, :credit, :memo, :reverses, :contract_id, '2026-06-30 00:00:00')",
            params=dict(day=day, kind=kind, amount=-amount, category=category, debit=debit,
                        credit=credit, memo="reversal", reverses=entry_id,
                        contract_id=contract_id if copy_contract else None))


@pytest.mark.parametrize("copy_contract", [True, False])
def test_reversed_invoices_and_outcomes_free_their_part_again(practice, db, copy_contract):
    add_contract(practice, value="100", outcome="40")  # base 60, outcome 40
    practice.ok("contract", "invoice", "LCC-1", "60", "--date", "2026-05-01", as_="mo")
    practice.ok("contract", "outcome", "LCC-1", "40", "--date", "2026-05-01", "--measure", "m",
                as_="mo")
    _reverse_directly(db, 1, copy_contract=copy_contract)
    _reverse_directly(db, 2, copy_contract=copy_contract)
    data = practice.ok("contract", "show", "LCC-1", json=True).json
    assert data["contract"]["invoiced_pence"] == 0
    assert data["contract"]["outcome_received_pence"] == 0
    assert [(e["id"], e["amount_pence"], e["category"], e["reverses"])
            for e in data["entries"]] == [(1, 6000, "contracts", None),
                                          (2, 4000, "outcome-payments", None),
                                          (3, -6000, "contracts", 1),
                                          (4, -4000, "outcome-payments", 2)]
    practice.ok("contract", "invoice", "LCC-1", "60", "--date", "2026-05-02", as_="mo")
    practice.ok("contract", "outcome", "LCC-1", "40", "--date", "2026-05-02", "--measure", "m",
                as_="mo")
    run = practice("contract", "invoice", "LCC-1", "0.01", "--date", "2026-05-02", as_="mo")
    assert run.code == 1


def test_contract_list_when_there_are_none(practice):
    assert "No contracts yet" in practice.ok("contract", "list").out
    assert practice.ok("contract", "list", json=True).json == {
        "contracts": [], "value_pence": 0, "invoiced_pence": 0, "invoice_left_pence": 0,
        "outcome_received_pence": 0, "outcome_at_risk_pence": 0}


def test_contract_show_lists_the_entries(practice):
    add_contract(practice)
    practice.ok("contract", "invoice", "LCC-1", "8000", "--date", "2026-04-30", as_="mo")
    practice.ok("contract", "outcome", "LCC-1", "6000", "--date", "2026-06-30",
                "--measure", "stable placements", as_="mo")
    out = practice.ok("contract", "show", "LCC-1").out
    for text in ("Contract LCC-1", "£96,000.00 (80%)", "£24,000.00 (20%)", "274 (running)",
                 "stable placements", "outcome-payments", "£18,000.00"):
        assert text in out


# --- the split of the value ----------------------------------------------------------------


@pytest.mark.parametrize("value, percent, base, outcome", [
    (12_000_000, 20, 9_600_000, 2_400_000),
    (100_001, 50, 50_001, 50_000),      # a tie: the base part takes the penny
    (120_001, 40, 72_001, 48_000),      # 72000.6 and 48000.4: the larger remainder wins
    (1, 99, 0, 1),
    (7, 0, 7, 0),
    (7, 100, 0, 7),
])
def test_the_value_splits_into_base_and_outcome_to_the_penny(value, percent, base, outcome):
    from swp.services.contracts import split_value

    assert split_value(value, percent) == (base, outcome)


@given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=0, max_value=100))
def test_base_and_outcome_always_add_up_to_the_value(value, percent):
    from swp.services.contracts import split_value

    base, outcome = split_value(value, percent)
    assert base + outcome == value
    assert abs(outcome * 100 - value * percent) <= 100  # within a penny of exact


# --- hooks for the ledger (`ledger income --contract`) and `swp check` ----------------------


def _in_practice(db, fn, *, write=False):
    from swp.db import open_database

    database = open_database(db)
    try:
        return database.run(fn, write=write)
    finally:
        database.dispose()


def test_link_income_applies_the_same_caps_as_the_contract_commands(practice, db):
    from datetime import date

    from swp.errors import InputError, NotFound, PreconditionError
    from swp.services.contracts import link_income

    add_contract(practice, value="100", outcome="40")  # base 60, outcome 40
    may = date(2026, 5, 1)

    def link(**kw):
        args = {"ref": "lcc-1", "category": "contracts", "amount_pence": 6000, "day": may}
        return _in_practice(db, lambda s: link_income(s, **{**args, **kw}))

    assert link() == 1
    assert link(category="outcome-payments", amount_pence=4000, measure="m") == 1
    with pytest.raises(PreconditionError, match="£60.00 is left to invoice"):
        link(amount_pence=6001)
    with pytest.raises(PreconditionError, match="£40.00 is left to claim"):
        link(category="outcome-payments", amount_pence=4001, measure="m")
    with pytest.raises(InputError, match="needs the measure"):
        link(category="outcome-payments", amount_pence=1)
    with pytest.raises(InputError, match="must be in the category contracts or "
                                         "outcome-payments, not 'grants'"):
        link(category="grants")
    with pytest.raises(InputError, match="before contract LCC-1 starts"):
        link(day=date(2026, 3, 31))
    with pytest.raises(NotFound):
        link(ref="NOPE")


def test_violations_reports_contracts_with_another_authority_while_the_clause_is_on(swp, db):
    from swp.services.contracts import violations

    swp.ok("init", "--sandbox", "Riverside", "--local-authority", LA,
           "--set", "contracts.own-authority-only=off")
    swp.ok("contract", "add", "YORK-1", "--authority", "City of York Council", "--value", "1",
           "--start", "2026-04-01", "--end", "2027-03-31")
    swp.ok("contract", "add", "LCC-1", "--authority", LA, "--value", "1",
           "--start", "2026-04-01", "--end", "2027-03-31")
    assert _in_practice(db, violations) == []
    # as a passed special resolution would
    execute(db, "UPDATE clause SET value = 'on' WHERE name = 'contracts.own-authority-only'")
    found = _in_practice(db, violations)
    assert [(v.clause, v.message) for v in found] == [
        ("contracts.own-authority-only",
         "contract YORK-1: 'City of York Council' is not the practice's own local authority "
         "(Leeds City Council)")]


def test_ledger_income_with_contract_links_the_entry_within_the_caps(practice, db):
    add_contract(practice, value="100", outcome="40")  # base 60, outcome 40
    run = practice.ok("ledger", "income", "60", "--date", "2026-05-01", "--category",
                      "contracts", "--contract", "LCC-1", json=True, as_="mo")
    entry = run.json["entry"]
    practice.ok("ledger", "income", "40", "--date", "2026-05-02", "--category",
                "outcome-payments", "--contract", "LCC-1", "--measure", "placements held",
                as_="mo")
    assert query(db, "SELECT contract_id FROM ledger_entry WHERE id = :id", {"id": entry}) == [(1,)]
    shown = practice.ok("contract", "show", "LCC-1", json=True).json["contract"]
    assert shown["invoiced_pence"] == 6000 and shown["outcome_received_pence"] == 4000
    for args, message in [
        (("0.01", "--category", "contracts"), "£0.00 is left to invoice"),
        (("1", "--category", "grants"), "must be in the category contracts or outcome-payments"),
        (("1", "--category", "contracts", "--contract", "NOPE"), "no contract"),
    ]:
        extra = () if "--contract" in args else ("--contract", "LCC-1")
        before = snapshot(db)
        run = practice("ledger", "income", args[0], "--date", "2026-05-03", *args[1:], *extra,
                       as_="mo")
        assert run.code == 1 and message in run.err, run.err
        assert snapshot(db) == before
    run = practice("ledger", "income", "5", "--date", "2026-05-03", "--category", "grants",
                   "--measure", "x", as_="mo")
    assert run.code == 1 and "--measure goes with --contract" in run.err
