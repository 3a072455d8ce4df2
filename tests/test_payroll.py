"""Payroll: the payroll CSV, payroll ids, paying a period's shares, settling a former member's deficit."""

from __future__ import annotations

import csv
import io

from swp.money import format_pence
from tests.conftest import query, snapshot


def payable(db, label: str) -> int:
    return int(query(db, "SELECT SUM(a.payable_pence) FROM allocation a JOIN period p ON p.id = a.period_id "
                         "WHERE p.label = :label AND a.payable_pence > 0", {"label": label})[0][0])


def test_the_payroll_csv_reads_back_and_adds_up_to_the_payable_shares(lived, db, tmp_path):
    lived.ok("member", "update", "ann", "--payroll-id", "EMP-0001", "--ni-number", "ab 12 34 56 c", as_="mo")
    text = lived.ok("statement", "2026-q1", "--format", "payroll", "--pay-date", "2026-04-25", as_="mo").out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["member", "name", "payroll_id", "ni_number", "gross_profit_share",
                             "gross_profit_share_pence", "period", "pay_date"]
    ann = next(r for r in rows if r["member"] == "ann")
    assert (ann["payroll_id"], ann["ni_number"], ann["pay_date"]) == ("EMP-0001", "AB123456C", "2026-04-25")
    assert sum(int(r["gross_profit_share_pence"]) for r in rows) == payable(db, "2026-q1")
    assert all(r["period"] == "2026-q1" for r in rows)
    # each row's pounds are its pence, and the file written for the bureau is the same CSV
    assert all(r["gross_profit_share"] == f"{int(r['gross_profit_share_pence']) / 100:.2f}" for r in rows)
    members = query(db, "SELECT m.handle FROM allocation a JOIN period p ON p.id = a.period_id JOIN member m "
                        "ON m.id = a.member_id WHERE p.label = '2026-q1' AND a.payable_pence > 0 ORDER BY m.handle")
    assert sorted(r["member"] for r in rows) == [m for (m,) in members]
    out = tmp_path / "bureau" / "payroll-2026-q1.csv"
    lived.ok("statement", "2026-q1", "--format", "payroll", "--pay-date", "2026-04-25", "--output", str(out),
             as_="mo")
    with open(out, newline="", encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == rows


def test_a_loss_periods_payroll_file_says_that_nobody_is_paid(lived, db, tmp_path):
    lived.ok("ledger", "expense", "90000", "--date", "2026-05-01", "--category", "salaries", as_="mo")
    lived.ok("period", "close", "2026-q2", "--start", "2026-04-01", "--end", "2026-06-30", as_="mo")
    assert query(db, "SELECT COUNT(*) FROM allocation a JOIN period p ON p.id = a.period_id "
                     "WHERE p.label = '2026-q2' AND a.payable_pence > 0")[0][0] == 0
    shown = lived.ok("statement", "2026-q2", "--format", "payroll", as_="mo")
    assert list(csv.DictReader(io.StringIO(shown.out))) == []
    assert "No member has a payable share for 2026-q2" in shown.err
    out = tmp_path / "payroll-q2.csv"
    wrote = lived.ok("statement", "2026-q2", "--format", "payroll", "--output", str(out), as_="mo")
    assert "only its header" in wrote.out and "(0 members, £0.00)" in wrote.out
    assert out.read_text(encoding="utf-8").count("\n") == 1


def test_payroll_text_is_formula_safe():
    from datetime import date

    from swp.services.payroll import PayrollRow, render_payroll

    text = render_payroll([PayrollRow("ann", "=HYPERLINK(\"http://x\")", None, None, 12345, "2026-q1",
                                      date(2026, 4, 25))])
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["name"].startswith("'=") and row["gross_profit_share"] == "123.45"


def test_payroll_details_are_checked_and_kept_to_managers(lived, db):
    before = snapshot(db)
    bad = lived("member", "update", "ann", "--ni-number", "12345", as_="mo")
    assert bad.code == 1 and "national insurance" in bad.err
    who = lived("statement", "2026-q1", "--format", "payroll", as_="ann")
    assert who.code == 1 and "manager" in who.err
    assert snapshot(db) == before


def test_paying_a_period_clears_what_is_owed(lived, db):
    owed = payable(db, "2026-q1")
    assert lived.ok("ledger", "balance", json=True).json["shares_owed_pence"] == owed
    early = lived("period", "pay", "2026-q1", "--date", "2026-03-31", as_="mo")
    assert early.code == 1 and "after it ends" in early.err
    paid = lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo", json=True).json
    assert paid["total_pence"] == owed and paid["shares_owed_pence"] == 0
    assert lived.ok("ledger", "balance", json=True).json["shares_owed_pence"] == 0
    before = snapshot(db)
    again = lived("period", "pay", "2026-q1", "--date", "2026-04-26", as_="mo")
    assert again.code == 1 and "already paid" in again.err
    assert snapshot(db) == before
    text = lived.ok("statement", "2026-q1", "--format", "payroll", as_="mo").out
    assert {r["pay_date"] for r in csv.DictReader(io.StringIO(text))} == {"2026-04-25"}


def test_shares_are_not_paid_after_today(lived, db):
    """Their ledger entries record money paid: dated by today at the latest."""
    before = snapshot(db)
    run = lived("period", "pay", "2026-q1", "--date", "2026-07-01", as_="mo")
    assert (run.code, run.err) == (1, "swp: 2026-07-01 is after today (2026-06-30): the ledger "
                                      "records money once it is received or paid, never in advance\n")
    assert snapshot(db) == before
    assert lived.ok("period", "pay", "2026-q1", "--date", "2026-06-30", as_="mo", json=True).json["paid_on"] \
        == "2026-06-30"


def test_a_former_members_deficit_can_be_settled(lived, db, monkeypatch):
    lived.ok("ledger", "expense", "90000", "--date", "2026-05-01", "--category", "salaries", as_="mo")
    lived.ok("period", "close", "2026-q2", "--start", "2026-04-01", "--end", "2026-06-30", as_="mo")
    owed = -int(query(db, "SELECT a.carried_out_pence FROM allocation a JOIN member m ON m.id = a.member_id "
                          "JOIN period p ON p.id = a.period_id WHERE m.handle = 'sam' AND p.label = '2026-q2'")[0][0])
    assert owed > 0
    monkeypatch.setenv("SWP_TODAY", "2026-07-02")  # the settlements below are dated after the close
    current = lived("member", "settle", "ann", "10", "--date", "2026-07-01", as_="mo")
    assert current.code == 1 and "current member" in current.err
    too_much = lived("member", "settle", "sam", str(owed / 100 + 1), "--date", "2026-07-01", as_="mo")
    assert too_much.code == 1 and "owes" in too_much.err
    done = lived.ok("member", "settle", "sam", f"{owed / 100:.2f}", "--date", "2026-07-01",
                    as_="mo", json=True).json
    assert done["outstanding_pence"] == 0
    nothing = lived("member", "settle", "sam", "1", "--date", "2026-07-02", as_="mo")
    assert nothing.code == 1 and "owes nothing" in nothing.err


def test_the_bank_line_of_a_payment_recorded_by_period_pay_is_not_counted_again(lived, db, tmp_path):
    owed = payable(db, "2026-q1")
    lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo")
    statement = tmp_path / "april.csv"
    statement.write_text("Date,Description,Amount\n"
                         "20/04/2026,Leeds City Council,500.00\n"
                         f"24/04/2026,PAYROLL BUREAU PROFIT SHARES,-{owed // 100}.{owed % 100:02d}\n")
    rules = tmp_path / "rules.toml"
    rules.write_text('[rules]\n"Leeds" = "contracts"\n')
    before = len(query(db, "SELECT id FROM ledger_entry"))
    run = lived.ok("ledger", "import", str(statement), "--rules", str(rules), as_="mo", json=True).json
    assert (run["added"], run["counted_elsewhere"]) == (1, 1)
    assert len(query(db, "SELECT id FROM ledger_entry")) == before + 1


MONZO_HEADER = ("Transaction ID,Date,Time,Type,Name,Emoji,Category,Amount,Currency,Local amount,Local currency,"
                "Notes and #tags,Address,Receipt,Description,Category split,Money Out,Money In\n")


def _paid_twice(folder, owed: int, second: int):
    """A Monzo export whose transaction tx_9, the profit shares paid (`owed`), is on lines 2 and
    3 (`second` pence out)."""
    path = folder / "monzo.csv"
    path.write_text(MONZO_HEADER + "".join(
        f"tx_9,24/04/2026,10:00:00,Faster payment,PAYROLL BUREAU,,e,-{p / 100:.2f},GBP,,,,,,,,-{p / 100:.2f},\n"
        for p in (owed, second)))
    return path


def test_a_bank_id_counted_as_shares_paid_and_again_on_another_line_is_one_transaction(lived, db, tmp_path):
    """A line counted as shares paid is compared by its bank id like any other: the same
    transaction again is skipped (not added as an expense), and with another amount is refused."""
    owed = payable(db, "2026-q1")
    lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo")
    before = snapshot(db)
    run = lived("ledger", "import", str(_paid_twice(tmp_path, owed, owed - 1)), "--uncategorised", "sundries",
                as_="mo")
    assert (run.code, run.err) == (1, "swp: line 3: the bank's transaction 'tx_9' is also on line 2 "
                                      f"(2026-04-24 expense {format_pence(owed)}) with different values "
                                      f"(2026-04-24 expense {format_pence(owed - 1)})\n")
    assert snapshot(db) == before
    same = lived.ok("ledger", "import", str(_paid_twice(tmp_path, owed, owed)), "--uncategorised", "sundries",
                    as_="mo", json=True).json
    assert (same["rows"], same["counted_elsewhere"], same["skipped"], same["added"]) == (2, 1, 1, 0)


def test_member_update_records_one_kind_of_change_at_a_time(practice, db):
    """Facts, register addresses and payroll details are each recorded on their own."""
    before = snapshot(db)
    for extra in (["--effective", "2026-07-01", "--hours", "30"], ["--address", "1 Mill Lane"]):
        run = practice("member", "update", "ann", "--payroll-id", "P-001", *extra, as_="mo")
        assert run.code == 1
        assert run.err == ("swp: record a change of hours, pay or role, the register's addresses, "
                           "and payroll details each on their own\n")
    run = practice("member", "update", "ann", "--hours", "30", as_="mo")
    assert (run.code, run.err) == (1, "swp: --effective DATE is needed: the day the change takes effect\n")
    assert snapshot(db) == before


# --- the books an accountant gets: shares declared, paid, and deficits owed ----------------

def exported_accounts(swp) -> dict[str, int]:
    """Each account's balance in pence (debits positive) in the beancount export, checked by
    beancount's loader; the CSV and JSON exports must give the same balances."""
    import json
    from decimal import Decimal

    from beancount import loader

    from tests.test_export import beancount_totals

    entries, errors, _ = loader.load_string(swp.ok("export", "beancount").out)
    assert errors == [], [e.message for e in errors]
    beancount = {name: int(value * 100) for name, value in beancount_totals(entries).items()}
    assert sum(beancount.values()) == 0
    by_csv: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO(swp.ok("export", "csv").out)):
        pence = int(Decimal(row["amount"]) * 100)
        by_csv[row["debit"]] = by_csv.get(row["debit"], 0) + pence
        by_csv[row["credit"]] = by_csv.get(row["credit"], 0) - pence
    by_json: dict[str, int] = {}
    for entry in json.loads(swp.ok("export", "json").out)["entries"]:
        by_json[entry["debit"]] = by_json.get(entry["debit"], 0) + entry["amount_pence"]
        by_json[entry["credit"]] = by_json.get(entry["credit"], 0) - entry["amount_pence"]
    assert by_csv == by_json
    named = {"liabilities:profit-share-owed": "Liabilities:Profit-share-owed",
             "assets:deficits-owed": "Assets:Deficits-owed", "equity:profit-shares": "Equity:Profit-shares",
             "assets:bank": "Assets:Bank"}
    for account, name in named.items():
        assert by_csv.get(account, 0) == beancount.get(name, 0), account
    return beancount


def outstanding_deficits(db) -> int:
    """What members owe for deficits: each member's latest carried-out deficit, less settlements
    and write-offs."""
    latest = query(db, "SELECT a.member_id, a.carried_out_pence FROM allocation a JOIN period p "
                       "ON p.id = a.period_id ORDER BY p.\"end\"")
    owed = -sum(dict((m, int(c)) for m, c in latest).values())
    settled = int(query(db, "SELECT COALESCE(SUM(amount_pence), 0) FROM deficit_settlement")[0][0])
    return owed - settled


def test_the_export_shows_the_shares_owed_from_the_close_until_they_are_paid(lived, db):
    owed = payable(db, "2026-q1")
    assert owed > 0
    books = exported_accounts(lived)
    assert -books["Liabilities:Profit-share-owed"] == owed == \
        lived.ok("ledger", "balance", json=True).json["shares_owed_pence"]
    text = lived.ok("export", "beancount").out
    end = query(db, "SELECT \"end\" FROM period WHERE label = '2026-q1'")[0][0]
    assert f"{end} * \"profit shares of 2026-q1 declared, payable to members\"" in text
    lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo")
    books = exported_accounts(lived)
    assert books.get("Liabilities:Profit-share-owed", 0) == 0
    assert lived.ok("ledger", "balance", json=True).json["shares_owed_pence"] == 0


def test_the_export_shows_the_deficits_members_owe(lived, db, monkeypatch):
    lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo")
    lived.ok("ledger", "expense", "90000", "--date", "2026-05-01", "--category", "salaries", as_="mo")
    lived.ok("period", "close", "2026-q2", "--start", "2026-04-01", "--end", "2026-06-30", as_="mo")
    deficits = outstanding_deficits(db)
    assert deficits > 0
    books = exported_accounts(lived)
    assert books["Assets:Deficits-owed"] == deficits
    assert books.get("Liabilities:Profit-share-owed", 0) == 0  # a deficit period declares no shares
    # the deficits charged came out of the profit shares account: its balance is what was
    # declared payable less the deficits charged
    declared = payable(db, "2026-q1")
    assert books["Equity:Profit-shares"] == declared - deficits
    sam = -int(query(db, "SELECT a.carried_out_pence FROM allocation a JOIN member m ON m.id = a.member_id "
                         "JOIN period p ON p.id = a.period_id WHERE m.handle = 'sam' AND p.label = '2026-q2'")[0][0])
    from tests.test_settlements import LATER, pass_

    monkeypatch.setenv("SWP_TODAY", LATER)  # after the second quarter: sam pays, then is forgiven
    lived.ok("member", "settle", "sam", "10", "--date", "2026-07-01", as_="mo")
    books = exported_accounts(lived)
    assert books["Assets:Deficits-owed"] == deficits - 1000 == outstanding_deficits(db)
    # the rest of sam's deficit written off by resolution: no money moves, but sam no longer owes it
    made = lived.ok("proposal", "new", "--title", "Forgive Sam", "--kind", "ordinary",
                    "--write-off", "sam", as_="ann", json=True).json
    assert pass_(lived, made["id"])["status"] == "passed"
    books = exported_accounts(lived)
    assert books["Assets:Deficits-owed"] == deficits - sam == outstanding_deficits(db)
    text = lived.ok("export", "beancount").out
    assert f"{LATER} * \"deficit of sam written off\"" in text


def test_a_later_profit_sets_the_deficits_brought_forward_against_the_shares(lived, db, monkeypatch):
    lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo")
    lived.ok("ledger", "expense", "90000", "--date", "2026-05-01", "--category", "salaries", as_="mo")
    lived.ok("period", "close", "2026-q2", "--start", "2026-04-01", "--end", "2026-06-30", as_="mo")
    monkeypatch.setenv("SWP_TODAY", "2026-10-05")
    lived.ok("ledger", "income", "200000", "--date", "2026-08-01", "--category", "contracts", as_="mo")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    carried_in = -int(query(db, "SELECT SUM(a.carried_in_pence) FROM allocation a JOIN period p "
                                "ON p.id = a.period_id WHERE p.label = '2026-q3'")[0][0])
    assert carried_in > 0  # current members' deficits of the second quarter, paid off by the third's shares
    books = exported_accounts(lived)
    assert books["Assets:Deficits-owed"] == outstanding_deficits(db)
    assert -books["Liabilities:Profit-share-owed"] == payable(db, "2026-q3") == \
        lived.ok("ledger", "balance", json=True).json["shares_owed_pence"]
    assert '2026-09-30 * "deficits brought forward set against shares of 2026-q3"' in \
        lived.ok("export", "beancount").out


def test_a_share_payment_or_a_settlement_is_not_reversed_alone(lived, db, monkeypatch):
    """Each is written with its own record (the payment, the settlement), which a reversal of
    the entry would leave standing: `swp check` would then find the books at odds with the
    records. Refused (exit 1), nothing changed, as the entry's record cannot be undone."""
    lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo")
    lived.ok("ledger", "expense", "90000", "--date", "2026-05-01", "--category", "salaries", as_="mo")
    lived.ok("period", "close", "2026-q2", "--start", "2026-04-01", "--end", "2026-06-30", as_="mo")
    monkeypatch.setenv("SWP_TODAY", "2026-07-02")
    lived.ok("member", "settle", "sam", "10", "--date", "2026-07-01", as_="mo")
    entries = {kind: entry for kind, entry in query(
        db, "SELECT kind, max(id) FROM ledger_entry WHERE kind IN ('share-payment', 'settlement') GROUP BY kind")}
    before = snapshot(db)
    payment = lived("ledger", "reverse", str(entries["share-payment"]), "--reason", "paid twice", as_="mo")
    assert payment.code == 1
    assert payment.err == (f"swp: entry #{entries['share-payment']} is a profit-share payment, recorded with "
                           "the payment by 'swp period pay': it stands with that record, and reversed alone "
                           "it would leave the books at odds with it\n")
    settled = lived("ledger", "reverse", str(entries["settlement"]), "--reason", "bounced", as_="mo")
    assert settled.code == 1
    assert settled.err.startswith(f"swp: entry #{entries['settlement']} is a former member's deficit "
                                  "settlement, recorded with it by 'swp member settle'")
    assert snapshot(db) == before
    assert lived.ok("check").code == 0


def test_check_finds_a_payments_or_a_settlements_reversal_written_around_swp(lived, db, monkeypatch):
    """The reversals `swp ledger reverse` refuses, written with SQL around swp: `swp check`
    finds the books at odds with the payments and settlements recorded (the database does not
    refuse such a row: `swp db copy` writes every row through its guards, and a practice may
    hold one written by an earlier swp, which allowed it)."""
    from tests.conftest import execute
    from tests.test_check import problems

    lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo")
    lived.ok("ledger", "expense", "90000", "--date", "2026-05-01", "--category", "salaries", as_="mo")
    lived.ok("period", "close", "2026-q2", "--start", "2026-04-01", "--end", "2026-06-30", as_="mo")
    monkeypatch.setenv("SWP_TODAY", "2026-07-02")
    lived.ok("member", "settle", "sam", "10", "--date", "2026-07-01", as_="mo")
    assert lived.ok("check").code == 0
    paid = int(query(db, "SELECT sum(amount_pence) FROM profit_payment")[0][0])
    for kind in ("share-payment", "settlement"):
        execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, memo, "
                    "reverses, recorded_at) SELECT '2026-07-02', kind, -amount_pence, category, debit, "
                    "credit, 'reversed around swp', id, recorded_at FROM ledger_entry WHERE id = "
                    f"(SELECT max(id) FROM ledger_entry WHERE kind = '{kind}')")
    last = int(query(db, "SELECT amount_pence FROM ledger_entry WHERE kind = 'share-payment' "
                         "AND reverses IS NOT NULL")[0][0])
    found = {p["message"] for p in problems(lived) if p["check"] == "ledger"}
    assert f"profit shares paid add up to {paid} pence, but the ledger's share payments to {paid + last}" in found
    assert "deficits settled add up to 1000 pence, but the ledger's settlements to 0" in found
