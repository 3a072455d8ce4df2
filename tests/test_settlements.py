"""A former member's deficit settled or written off by resolution, on their statement; share
payments and settlements as ledger entries (never income or expense)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy.exc import IntegrityError

from tests.conftest import Swp, execute, is_postgres, migrate, query, snapshot

LATER = "2026-07-20"  # after the second quarter, which the deficit tests close


def sam_owes(lived, db) -> int:
    """The lived-in practice with a loss-making second quarter: sam (left on 30 June) carries a
    deficit out of it. Returns what sam owes, in pence."""
    lived.ok("ledger", "expense", "90000", "--date", "2026-05-01", "--category", "salaries", as_="mo")
    lived.ok("period", "close", "2026-q2", "--start", "2026-04-01", "--end", "2026-06-30", as_="mo")
    owed = -allocation_of(db, "sam", "2026-q2")[3]
    assert owed > 0
    return owed


def allocation_of(db, handle: str, label: str) -> tuple[int, int, int, int]:
    """A member's allocation of a period: (share, carried in, payable, carried out), in pence."""
    row = query(db, "SELECT a.amount_pence, a.carried_in_pence, a.payable_pence, a.carried_out_pence "
                    "FROM allocation a JOIN member m ON m.id = a.member_id JOIN period p ON p.id = a.period_id "
                    "WHERE m.handle = :handle AND p.label = :label", {"handle": handle, "label": label})[0]
    return row[0], row[1], row[2], row[3]


def rows_an_older_swp_left(db) -> None:
    """A profit payment and a settlement written with plain SQL, as swp left them before it
    recorded either in the ledger (the revision that makes their ledger entries is undone)."""
    execute(db, "INSERT INTO profit_payment (period_id, member_id, amount_pence, paid_on, recorded_at) "
                "SELECT p.id, m.id, 1234, '2026-04-25', '2026-04-25 12:00:00' FROM period p, member m "
                "WHERE p.label = '2026-q1' AND m.handle = 'ann'",
            "INSERT INTO deficit_settlement (member_id, amount_pence, kind, settled_on, recorded_at) "
            "SELECT m.id, 500, 'settled', '2026-06-30', '2026-06-30 12:00:00' FROM member m "
            "WHERE m.handle = 'sam'")


def pass_(lived, proposal: int) -> dict:
    """Every current member votes yes, then the proposal is closed."""
    for handle in ("ann", "bea", "cal", "mo"):
        lived.ok("vote", str(proposal), "yes", as_=handle)
    return lived.ok("proposal", "close", str(proposal), as_="ann", json=True).json


def pounds(pence: int) -> str:
    return f"{pence // 100}.{pence % 100:02d}"


def money(pence: int) -> str:
    return f"£{pence // 100:,}.{pence % 100:02d}"


# --- writing a deficit off by resolution -------------------------------------------------------


def test_a_write_off_resolution_records_it_and_the_statement_shows_it(lived, db, monkeypatch):
    owed = sam_owes(lived, db)
    monkeypatch.setenv("SWP_TODAY", LATER)
    lived.ok("member", "settle", "sam", "10", "--date", "2026-07-10", as_="mo")
    part = 2500
    made = lived.ok("proposal", "new", "--title", "Forgive Sam", "--kind", "ordinary",
                    "--write-off", "sam", "--amount", pounds(part), as_="ann", json=True).json
    assert made["proposal"]["action"] == "write-off"
    assert made["proposal"]["summary"] == f"write off sam's deficit ({money(part)})"
    closed = pass_(lived, made["id"])
    assert closed["status"] == "passed"
    assert closed["effect"] == (f"{money(part)} of sam's deficit written off; "
                                f"{money(owed - 1000 - part)} still owed")
    rows = query(db, "SELECT kind, amount_pence, settled_on, proposal_id FROM deficit_settlement "
                     "ORDER BY id")
    assert [tuple(map(str, r)) for r in rows] == [
        ("settled", "1000", "2026-07-10", "None"), ("written-off", str(part), LATER, str(made["id"]))]
    # a write-off moves no money: only the settlement is in the ledger
    assert query(db, "SELECT kind, amount_pence FROM ledger_entry WHERE kind IN "
                     "('share-payment', 'settlement')") == [("settlement", 1000)]

    # the statement of sam's last period, in every format
    st = lived.ok("statement", "2026-q2", "--member", "sam", as_="mo", json=True).json
    st = st["statements"][0] if "statements" in st else st
    assert st["carried_out_pence"] == -owed
    assert st["deficit_settlements"] == [
        {"on": "2026-07-10", "kind": "settled", "pence": 1000, "resolution": None},
        {"on": LATER, "kind": "written-off", "pence": part, "resolution": made["id"]}]
    assert st["deficit_outstanding_pence"] == -(owed - 1000 - part)
    text = lived.ok("statement", "2026-q2", "--member", "sam", as_="mo").out
    assert "Deficit settled on 2026-07-10" in text
    assert f"Deficit written off by resolution #{made['id']} on {LATER}" in text
    still = next(line for line in text.splitlines() if "Deficit carried forward after these" in line)
    assert still.split()[-1] == "-" + money(owed - 1000 - part)
    assert f"the members forgave {money(part)} of your deficit by resolution #{made['id']}" in text
    rows = list(csv.DictReader(io.StringIO(
        lived.ok("statement", "2026-q2", "--member", "sam", "--format", "csv", as_="mo").out)))
    items = {r["item"]: r["pence"] for r in rows if r["section"] == "share"}
    assert items["deficit_settled.2026-07-10"] == "1000"
    assert items[f"deficit_written_off.{LATER}"] == str(part)
    assert items["deficit_outstanding"] == str(-(owed - 1000 - part))
    html = lived.ok("statement", "2026-q2", "--member", "sam", "--format", "html", as_="mo").out
    assert f"Deficit written off by resolution #{made['id']}" in html


def test_the_pdf_statement_shows_a_write_off(lived, db, monkeypatch, tmp_path):
    sam_owes(lived, db)
    monkeypatch.setenv("SWP_TODAY", LATER)
    made = lived.ok("proposal", "new", "--title", "Forgive Sam", "--kind", "ordinary",
                    "--write-off", "sam", as_="ann", json=True).json
    pass_(lived, made["id"])
    out = tmp_path / "sam.pdf"
    lived.ok("statement", "2026-q2", "--member", "sam", "--format", "pdf", "--output", str(out), as_="mo")
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(str(out)).pages)
    assert f"Deficit written off by resolution #{made['id']}" in " ".join(text.split())


def test_a_whole_write_off_leaves_nothing_owed(lived, db, monkeypatch):
    owed = sam_owes(lived, db)
    monkeypatch.setenv("SWP_TODAY", LATER)
    made = lived.ok("proposal", "new", "--title", "Forgive Sam", "--kind", "ordinary",
                    "--write-off", "sam", as_="ann", json=True).json
    assert made["proposal"]["summary"] == "write off sam's deficit (in full)"
    # sam pays some of it while the resolution is open: the rest is written off at the close
    lived.ok("member", "settle", "sam", "10", "--date", "2026-07-15", as_="mo")
    assert pass_(lived, made["id"])["effect"].startswith(f"{money(owed - 1000)} of sam's deficit")
    st = lived.ok("statement", "2026-q2", "--member", "sam", as_="mo", json=True).json
    st = st["statements"][0] if "statements" in st else st
    assert st["deficit_outstanding_pence"] == 0
    nothing = lived("member", "settle", "sam", "1", "--date", "2026-07-21", as_="mo")
    assert nothing.code == 1 and "owes nothing" in nothing.err
    assert lived("check").code == 0


def test_a_failed_write_off_writes_nothing_off(lived, db, monkeypatch):
    sam_owes(lived, db)
    monkeypatch.setenv("SWP_TODAY", LATER)
    made = lived.ok("proposal", "new", "--title", "Forgive Sam", "--kind", "ordinary",
                    "--write-off", "sam", as_="ann", json=True).json
    for handle in ("ann", "bea", "cal", "mo"):
        lived.ok("vote", str(made["id"]), "no", as_=handle)
    assert lived.ok("proposal", "close", str(made["id"]), as_="ann", json=True).json["status"] == "failed"
    assert query(db, "SELECT count(*) FROM deficit_settlement")[0][0] == 0


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--write-off", "ann"], 1, "swp: ann is a current member: a current member's deficit is set "
                                "against their next shares, not written off\n"),
    (["--write-off", "nobody"], 1, "swp: no member 'nobody'\n"),
    (["--write-off", "sam", "--amount", "99999"], 1, "swp: sam owes £"),
    (["--write-off", "sam", "--amount", "-5"], 1, "swp: not an amount: '-5'"),
    (["--expel", "cal", "--amount", "5"], 2, "--amount goes with --write-off"),
    (["--write-off", "sam", "--expel", "cal"], 2, "give exactly one of --amend, --expel, --write-off"),
])
def test_write_off_proposals_that_are_refused(lived, db, monkeypatch, args, code, message):
    sam_owes(lived, db)
    monkeypatch.setenv("SWP_TODAY", LATER)
    before = snapshot(db)
    run = lived("proposal", "new", "--title", "Forgive", "--kind", "ordinary", *args, as_="ann")
    assert run.code == code
    assert message in run.err
    if code == 1:
        assert run.err.count("\n") == 1
    assert snapshot(db) == before


def test_no_write_off_for_a_former_member_who_owes_nothing(lived, db, monkeypatch):
    """sam left owing nothing (no loss-making period yet)."""
    monkeypatch.setenv("SWP_TODAY", LATER)
    before = snapshot(db)
    run = lived("proposal", "new", "--title", "Forgive", "--kind", "ordinary", "--write-off", "sam",
                as_="ann")
    assert (run.code, run.err) == (1, "swp: sam owes nothing: no outstanding deficit to write off\n")
    outsider = lived("proposal", "new", "--title", "Forgive", "--kind", "ordinary",
                     "--write-off", "sam", as_="sam")
    assert outsider.code in (1, 3) and outsider.err.count("\n") == 1
    assert snapshot(db) == before


# --- payments and settlements in the ledger ----------------------------------------------------


def test_share_payments_and_settlements_are_ledger_entries_and_the_books_stay_clean(lived, db, monkeypatch):
    owed = sam_owes(lived, db)
    payable = int(query(db, "SELECT SUM(a.payable_pence) FROM allocation a JOIN period p ON "
                            "p.id = a.period_id WHERE p.label = '2026-q1'")[0][0])
    monkeypatch.setenv("SWP_TODAY", LATER)
    lived.ok("period", "pay", "2026-q1", "--date", "2026-07-02", as_="mo")
    lived.ok("member", "settle", "sam", pounds(owed), "--date", "2026-07-03", as_="mo")
    listed = lived.ok("ledger", "list", "--from", "2026-07-01", json=True).json
    entries = listed["entries"] if isinstance(listed, dict) else listed
    kinds = [(e["type"], e["amount_pence"]) for e in entries]
    assert sum(p for k, p in kinds if k == "share-payment") == payable
    assert ("settlement", owed) in kinds
    accounts = dict(query(db, "SELECT debit, SUM(amount_pence) FROM ledger_entry WHERE kind = 'share-payment' "
                              "GROUP BY debit"))
    assert accounts == {"liabilities:profit-share-owed": payable}
    # neither is income or expense
    balance = lived.ok("ledger", "balance", "--from", "2026-07-01", json=True).json
    assert (balance["income_pence"], balance["expenses_pence"], balance["loans_pence"]) == (0, 0, 0)
    # in the exports
    exported = lived.ok("export", "csv").out
    assert "share-payment" in exported and "settlement" in exported
    beancount = lived.ok("export", "beancount").out
    assert "Liabilities:Profit-share-owed" in beancount and "Assets:Deficits-owed" in beancount
    # and the books are as they should be
    check = lived("check")
    assert check.code == 0, check.out


def test_a_payment_does_not_change_a_periods_pool(lived, db, monkeypatch):
    monkeypatch.setenv("SWP_TODAY", "2026-09-30")
    before = lived.ok("period", "preview", "--start", "2026-04-01", "--end", "2026-06-30", json=True).json
    lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo")
    after = lived.ok("period", "preview", "--start", "2026-04-01", "--end", "2026-06-30", json=True).json
    assert after == before
    assert query(db, "SELECT count(*) FROM ledger_entry WHERE kind = 'share-payment' "
                     "AND date = '2026-04-25'")[0][0] > 0


def test_the_books_bank_account_counts_a_payment_once(lived, db, monkeypatch):
    from datetime import date

    from swp.db import open_database
    from swp.services.banking import books_bank_balance

    def bank(on: str) -> int:
        return open_database(db).run(lambda s: books_bank_balance(s, date.fromisoformat(on)), write=False)

    before = bank("2026-04-30")
    payable = int(query(db, "SELECT SUM(a.payable_pence) FROM allocation a JOIN period p ON "
                            "p.id = a.period_id WHERE p.label = '2026-q1'")[0][0])
    lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo")
    assert bank("2026-04-30") == before - payable


# --- the revision that widens the two CHECK constraints ------------------------------------


def _revision_before() -> str:
    """The revision this one follows (re-chained when branches merge)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "swp" / "migrations" / "versions" / "0018_settlements.py"
    spec = importlib.util.spec_from_file_location("swp_revision_0018", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.down_revision


def _schema(db: str) -> set:
    if is_postgres(db):
        return set(query(db, "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"))
    return set(query(db, "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'index')"))


def test_the_revision_keeps_every_row_trigger_and_index_and_brings_payments_into_the_ledger(lived, db):
    """Down to the revision before and up again, on the lived-in practice: the rebuilt tables
    keep their rows, triggers and indexes (and other tables' triggers that name them), and a
    payment and a settlement recorded before the revision get their ledger entries."""
    skip = ("audit_event", "alembic_version")
    migrate(db, "0018", down=True)  # the later revisions undone first (they have tests of their own)
    schema, rows = _schema(db), snapshot(db, skip=skip)
    migrate(db, _revision_before(), down=True)
    assert _schema(db) == schema and snapshot(db, skip=skip) == rows
    # recorded before this revision: no ledger entries of their own
    rows_an_older_swp_left(db)
    migrate(db, "0018")
    assert _schema(db) == schema
    migrate(db, "head")
    assert query(db, "SELECT kind, amount_pence, debit, credit, ref FROM ledger_entry WHERE kind = 'share-payment'") \
        == [("share-payment", 1234, "liabilities:profit-share-owed", "assets:bank", "swp:share:2026-q1:ann")]
    assert query(db, "SELECT kind, amount_pence, debit, credit, ref FROM ledger_entry WHERE kind = 'settlement'") \
        == [("settlement", 500, "assets:bank", "assets:deficits-owed", "swp:settlement:1")]
    # the guards still hold on the rebuilt tables
    with pytest.raises(IntegrityError, match="append-only"):
        execute(db, "UPDATE ledger_entry SET amount_pence = 1 WHERE kind = 'share-payment'")
    with pytest.raises(IntegrityError, match="closed period"):
        execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, recorded_at) "
                    "VALUES ('2026-02-01', 'income', 5, 'grants', 'assets:bank', 'income:grants', '2026-02-01')")
    with pytest.raises(IntegrityError, match="closed proposal|cannot be changed once made"):  # 0012's too
        execute(db, "UPDATE proposal SET title = 'x' WHERE status = 'passed'")
    with pytest.raises(IntegrityError, match="never deleted"):
        execute(db, "DELETE FROM proposal")
    with pytest.raises(IntegrityError):
        execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, recorded_at) "
                    "VALUES ('2026-08-01', 'gift', 5, 'grants', 'assets:bank', 'income:grants', '2026-08-01')")
    assert query(db, "SELECT count(*) FROM vote")[0][0] > 0
    # this practice signs every change: the payment and settlement written above with plain SQL
    # (as an older swp would have left them), and the entries the revision made of them, are
    # reported as written around swp, and nothing else is
    check = Swp(db)("check", json=True)
    assert check.code == 4, check.out
    found = sorted((p["check"], p["message"].split(":")[0]) for p in json.loads(check.out)["problems"])
    entries = [r[0] for r in query(db, "SELECT id FROM ledger_entry WHERE kind IN ('share-payment', "
                                       "'settlement') ORDER BY id")]
    assert found == sorted([("signed-rows", f"ledger_entry row {i} was written around swp") for i in entries]
                           + [("signed-rows", "profit_payment row 1 was written around swp"),
                              ("signed-rows", "deficit_settlement row 1 was written around swp")])


def test_swp_db_upgrade_records_the_entries_the_revision_writes_in_its_signed_event(lived, db):
    """The same upgrade through `swp db upgrade`, as a signed practice does it: its event
    records (as ranges) the ledger entries the revision wrote, so `swp check` finds them
    signed; only the rows written with plain SQL are reported."""
    from tests.conftest import audit_rows

    migrate(db, "0018", down=True)
    migrate(db, _revision_before(), down=True)
    rows_an_older_swp_left(db)
    done = lived.ok("db", "upgrade", as_="mo", json=True).json
    assert done["changed"] and done["from"] == _revision_before()
    event = audit_rows(db)[-1]
    assert event["actor"] == "mo" and event["signature"] and event["action"] == "schema.upgraded"
    entries = [r[0] for r in query(db, "SELECT id FROM ledger_entry WHERE kind IN ('share-payment', "
                                       "'settlement') ORDER BY id")]
    ranges = [span for name, body in json.loads(event["payload"]) if name == "rows.written"
              for span in body["ranges"]]
    assert [(r["table"], r["first"], r["last"], r["count"]) for r in ranges] == \
        [("ledger_entry", entries[0], entries[-1], 2)]
    lived.ok("audit", "verify")
    check = lived("check", json=True)
    assert check.code == 4, check.out
    assert sorted(p["message"] for p in check.json["problems"]) == [
        "deficit_settlement row 1 was written around swp: no signed event records it",
        "profit_payment row 1 was written around swp: no signed event records it"]
    # an entry the revision wrote, edited afterwards, is named like any other signed row
    execute(db, "DROP TRIGGER ledger_entry_append_only_update ON ledger_entry",
            f"UPDATE ledger_entry SET memo = 'edited' WHERE id = {entries[0]}")
    messages = [p["message"] for p in lived("check", json=True).json["problems"]]
    assert f"ledger_entry rows {entries[0]} to {entries[-1]} were changed after their signed import " \
           "(now 2 rows; the import wrote 2)" in messages


def test_refused_payments_and_settlements_write_no_ledger_entry(lived, db, monkeypatch):
    owed = sam_owes(lived, db)
    monkeypatch.setenv("SWP_TODAY", LATER)
    before = snapshot(db)
    for args, message in (
            (["member", "settle", "sam", "10", "--date", "2026-05-01"],
             "swp: 2026-05-01 is inside the closed period 2026-q2 (2026-04-01 to 2026-06-30); "
             "corrections go into an open period\n"),
            (["member", "settle", "sam", pounds(owed + 1), "--date", "2026-07-10"],
             f"swp: sam owes {money(owed)}; {money(owed + 1)} is more\n"),
            (["member", "settle", "ann", "10", "--date", "2026-07-10"],
             "swp: ann is a current member: a current member's deficit is set against their next "
             "shares\n"),
            (["period", "pay", "2026-q1", "--date", "2026-05-01"],
             "swp: 2026-05-01 is inside the closed period 2026-q2 (2026-04-01 to 2026-06-30); "
             "corrections go into an open period\n")):
        run = lived(*args, as_="mo")
        assert (run.code, run.err) == (1, message), args
    assert snapshot(db) == before


def test_a_deficit_settled_before_the_leavers_last_period_closes_is_not_taken_again(lived, db, monkeypatch):
    """ann carries a deficit out of a loss-making quarter, leaves in the next one and pays it
    all in before that quarter closes: its surplus pays her share for the days she worked,
    with nothing set against a deficit she no longer owes, and `swp check` agrees."""
    sam_owes(lived, db)
    ann_owed = -allocation_of(db, "ann", "2026-q2")[3]
    assert ann_owed > 0
    monkeypatch.setenv("SWP_TODAY", "2026-07-10")
    lived.ok("member", "leave", "ann", "--date", "2026-07-05", as_="ann")
    lived.ok("member", "settle", "ann", pounds(ann_owed), "--date", "2026-07-08", as_="mo")
    lived.ok("ledger", "income", "200000", "--date", "2026-07-09", "--category", "contracts", as_="mo")
    monkeypatch.setenv("SWP_TODAY", "2026-10-01")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    amount, carried_in, payable, carried_out = allocation_of(db, "ann", "2026-q3")
    assert amount > 0 and (carried_in, payable, carried_out) == (0, amount, 0)
    assert lived.ok("check", json=True).json["problems"] == []
    statement = lived.ok("statement", "2026-q3", "--member", "ann", "--json", as_="mo").json
    assert statement["deficit_settlements"] == [] and statement["deficit_outstanding_pence"] == 0
    assert statement["deficit_settled_before_close"] == [
        {"on": "2026-07-08", "kind": "settled", "pence": ann_owed, "resolution": None}]
    text = lived.ok("statement", "2026-q3", "--member", "ann", as_="mo").out
    assert "Deficit settled on 2026-07-08, before the close" in text and "before this period was closed" in text
    rows = list(csv.reader(io.StringIO(
        lived.ok("statement", "2026-q3", "--member", "ann", "--format", "csv", as_="mo").out)))
    assert ["ann", "share", "deficit_settled_before_close.2026-07-08", pounds(ann_owed), str(ann_owed)] in rows
    # the quarter that carried the deficit forward no longer lists it: the next one brought it in
    q2 = lived.ok("statement", "2026-q2", "--member", "ann", "--json", as_="mo").json
    assert q2["deficit_settlements"] == [] and q2["deficit_settled_before_close"] == []
    nothing = lived("member", "settle", "ann", "1", "--date", "2026-10-01", as_="mo")
    assert nothing.code == 1 and "owes nothing" in nothing.err


def test_a_write_off_closed_on_the_last_day_of_a_period_closed_that_day_counts_after_it(lived, db, monkeypatch):
    """A write-off is dated the day its proposal closes. On the last day of a period closed that
    same day it is dated inside that period, but recorded after its close: the close did not
    count it, so it comes off what the period carries out, and ann owes nothing."""
    sam_owes(lived, db)
    monkeypatch.setenv("SWP_TODAY", "2026-07-10")
    lived.ok("member", "leave", "ann", "--date", "2026-07-05", as_="ann")
    made = lived.ok("proposal", "new", "--title", "Forgive Ann", "--kind", "ordinary",
                    "--write-off", "ann", as_="mo", json=True).json
    for handle in ("bea", "cal", "mo"):
        lived.ok("vote", str(made["id"]), "yes", as_=handle)
    lived.ok("ledger", "expense", "200000", "--date", "2026-07-09", "--category", "salaries", as_="mo")
    monkeypatch.setenv("SWP_TODAY", "2026-09-30")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    owed = -allocation_of(db, "ann", "2026-q3")[3]
    closed = lived.ok("proposal", "close", str(made["id"]), as_="mo", json=True).json
    assert closed["effect"] == f"{money(owed)} of ann's deficit written off; £0.00 still owed"
    assert query(db, "SELECT settlements_upto FROM period WHERE label = '2026-q3'") == [(0,)]
    assert lived.ok("check", json=True).json["problems"] == []
    assert "owes nothing" in lived("member", "settle", "ann", "1", "--date", "2026-10-01", as_="mo").err
    q3 = lived.ok("statement", "2026-q3", "--member", "ann", "--json", as_="mo").json
    assert q3["deficit_settled_before_close"] == [] and q3["deficit_outstanding_pence"] == 0
    assert q3["deficit_settlements"] == [
        {"on": "2026-09-30", "kind": "written-off", "pence": owed, "resolution": made["id"]}]


def leaver_owes(lived, db, monkeypatch) -> int:
    """ann carries a deficit out of the second quarter and leaves on 5 July; the third quarter
    makes a surplus. Returns what she owes, in pence."""
    sam_owes(lived, db)
    owed = -allocation_of(db, "ann", "2026-q2")[3]
    monkeypatch.setenv("SWP_TODAY", "2026-07-10")
    lived.ok("member", "leave", "ann", "--date", "2026-07-05", as_="ann")
    lived.ok("ledger", "income", "200000", "--date", "2026-07-09", "--category", "contracts", as_="mo")
    return owed


def ann_carries_out(lived, start: str, end: str) -> int:
    """The deficit ann would carry out of the period from start to end, by its preview."""
    shown = lived.ok("period", "preview", "--start", start, "--end", end, json=True).json
    return next(a["carried_out_pence"] for a in shown["allocations"] if a["member"] == "ann")


def test_a_quarter_closes_after_a_leaver_paid_in_after_it_ended_and_counts_the_payment(lived, db, monkeypatch):
    """ann pays all she owes on 1 October, after the third quarter ends and before it is closed
    on 2 October. The close counts every settlement recorded before it, whatever its date: her
    share of the quarter is set against nothing, and all of it is payable."""
    owed = leaver_owes(lived, db, monkeypatch)
    monkeypatch.setenv("SWP_TODAY", "2026-10-02")
    lived.ok("member", "settle", "ann", pounds(owed), "--date", "2026-10-01", as_="mo")
    previewed = lived.ok("period", "preview", "--start", "2026-07-01", "--end", "2026-09-30", json=True).json
    assert "close_refused" not in previewed
    shown = lived.ok("period", "preview", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo").out
    assert "would be refused" not in shown
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    amount, carried_in, payable, carried_out = allocation_of(db, "ann", "2026-q3")
    assert amount > 0 and (carried_in, payable, carried_out) == (0, amount, 0)
    ann = next(a for a in previewed["allocations"] if a["member"] == "ann")
    assert (ann["carried_in_pence"], ann["payable_pence"]) == (0, amount)  # as the preview said
    assert query(db, "SELECT settlements_upto FROM period WHERE label = '2026-q3'") == [(1,)]
    assert lived.ok("check", json=True).json["problems"] == []
    lived.ok("audit", "verify")
    statement = lived.ok("statement", "2026-q3", "--member", "ann", "--json", as_="mo").json
    assert statement["deficit_settled_before_close"] == [
        {"on": "2026-10-01", "kind": "settled", "pence": owed, "resolution": None}]
    assert statement["deficit_settlements"] == [] and statement["deficit_outstanding_pence"] == 0
    assert statement["carried_in_pence"] == 0 and statement["payable_pence"] == amount
    text = lived.ok("statement", "2026-q3", "--member", "ann", as_="mo").out
    assert "Deficit settled on 2026-10-01, before the close" in text
    nothing = lived("member", "settle", "ann", "1", "--date", "2026-10-02", as_="mo")
    assert nothing.code == 1 and "owes nothing" in nothing.err


def test_a_settlement_recorded_after_the_close_counts_after_it_even_on_the_same_day(lived, db, monkeypatch):
    """On 2 October the third quarter is closed, then ann pays part of her deficit the same day
    (in a sandbox both are recorded at noon: the order they were recorded in tells them apart).
    The close did not count it: it comes off what the quarter carries out, on the statement's
    lines after "Deficit carried forward", and `member settle` and `swp check` agree."""
    owed = leaver_owes(lived, db, monkeypatch)
    monkeypatch.setenv("SWP_TODAY", "2026-10-02")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    lived.ok("member", "settle", "ann", "5000", "--date", "2026-10-02", as_="mo")
    amount, carried_in, payable, carried_out = allocation_of(db, "ann", "2026-q3")
    assert (carried_in, payable, carried_out) == (-owed, 0, amount - owed)
    assert query(db, "SELECT settlements_upto FROM period WHERE label = '2026-q3'") == [(0,)]
    assert query(db, "SELECT p.closed_at = s.recorded_at FROM period p, deficit_settlement s "
                     "WHERE p.label = '2026-q3'") in ([(1,)], [(True,)])
    still = owed - amount - 500000
    assert still > 0
    assert lived.ok("check", json=True).json["problems"] == []
    statement = lived.ok("statement", "2026-q3", "--member", "ann", "--json", as_="mo").json
    assert statement["deficit_settlements"] == [
        {"on": "2026-10-02", "kind": "settled", "pence": 500000, "resolution": None}]
    assert statement["deficit_settled_before_close"] == [] and statement["deficit_outstanding_pence"] == -still
    more = lived("member", "settle", "ann", pounds(still + 1), "--date", "2026-10-02", as_="mo")
    assert (more.code, more.err.strip()) == (1, f"swp: ann owes {money(still)}; {money(still + 1)} is more")


def test_a_what_if_preview_counts_a_payment_made_after_the_period_ended(lived, db, monkeypatch):
    """ann pays £14,000 on 1 October: a preview by any method takes it off what she brings in,
    as the close does."""
    owed = leaver_owes(lived, db, monkeypatch)
    monkeypatch.setenv("SWP_TODAY", "2026-10-02")
    lived.ok("member", "settle", "ann", "14000", "--date", "2026-10-01", as_="mo")
    span = ("--start", "2026-07-01", "--end", "2026-09-30")
    for method in ("pay", "equal"):
        shown = lived.ok("period", "preview", *span, "--method", method, json=True).json
        ann = next(a for a in shown["allocations"] if a["member"] == "ann")
        assert ann["carried_in_pence"] == -(owed - 1400000) and "close_refused" not in shown
    lived.ok("period", "close", "2026-q3", *span, as_="mo")
    assert allocation_of(db, "ann", "2026-q3")[1] == -(owed - 1400000)


def test_a_preview_of_a_closed_period_does_not_say_a_close_would_be_refused_for_a_settlement(
        lived, db, monkeypatch):
    """After the third quarter is closed over a part payment on 1 October, previewing it again
    (it overlaps the closed one: a close would be refused for that) brings in the deficit it
    carried out; no note says a close would be refused for the payment, nor sends the manager
    to a period ending on or after 1 October."""
    leaver_owes(lived, db, monkeypatch)
    monkeypatch.setenv("SWP_TODAY", "2026-10-02")
    lived.ok("member", "settle", "ann", "13000", "--date", "2026-10-01", as_="mo")
    span = ("--start", "2026-07-01", "--end", "2026-09-30")
    lived.ok("period", "close", "2026-q3", *span, as_="mo")
    before = snapshot(db)
    again = lived.ok("period", "preview", *span, json=True).json
    assert "close_refused" not in again
    refused = lived("period", "close", "2026-q3-again", *span, as_="mo")
    assert (refused.code, refused.err.strip()) == (
        1, "swp: 2026-07-01 to 2026-09-30 overlaps the closed period 2026-q3 (2026-07-01 to "
           "2026-09-30); periods never overlap")
    assert snapshot(db) == before


def test_close_at_a_terminal_asks_and_counts_a_payment_made_after_the_period_ended(lived, db, monkeypatch):
    """At a terminal, the close shows the preview (ann's payment of 1 October already taken off
    what she brings in), asks, and closes."""
    from swp.cli import sharing as sharing_cli

    owed = leaver_owes(lived, db, monkeypatch)
    monkeypatch.setenv("SWP_TODAY", "2026-10-02")
    lived.ok("member", "settle", "ann", pounds(owed), "--date", "2026-10-01", as_="mo")
    monkeypatch.setattr(sharing_cli, "_at_terminal", lambda: True)
    closed = lived("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30",
                   as_="mo", input="y\n")
    assert closed.code == 0, closed.err
    shown = " ".join(closed.out.split())
    assert "would be refused" not in shown and "Close 2026-q3" in shown
    assert allocation_of(db, "ann", "2026-q3")[1] == 0


def test_a_write_off_passed_after_a_period_ends_and_before_it_closes_counts_in_the_close(lived, db, monkeypatch):
    """A write-off passed on 1 October, before the third quarter is closed, is taken off what ann
    brings in."""
    owed = leaver_owes(lived, db, monkeypatch)
    made = lived.ok("proposal", "new", "--title", "Forgive Ann", "--kind", "ordinary",
                    "--write-off", "ann", as_="mo", json=True).json
    for handle in ("bea", "cal", "mo"):
        lived.ok("vote", str(made["id"]), "yes", as_=handle)
    monkeypatch.setenv("SWP_TODAY", "2026-10-01")
    lived.ok("proposal", "close", str(made["id"]), as_="mo")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    amount, carried_in, payable, carried_out = allocation_of(db, "ann", "2026-q3")
    assert (carried_in, payable, carried_out) == (0, amount, 0)
    statement = lived.ok("statement", "2026-q3", "--member", "ann", "--json", as_="mo").json
    assert statement["deficit_settled_before_close"] == [
        {"on": "2026-10-01", "kind": "written-off", "pence": owed, "resolution": made["id"]}]
    assert lived.ok("check", json=True).json["problems"] == []


def test_a_leaver_cannot_settle_with_a_later_date(lived, db, monkeypatch):
    """A settlement dated after today is refused, as every ledger entry is (a close counts it
    once it is recorded, whatever its date, so a later date would only misstate the day)."""
    owed = leaver_owes(lived, db, monkeypatch)
    before = snapshot(db)
    refused = lived("member", "settle", "ann", pounds(owed), "--date", "2026-12-01", as_="mo")
    assert (refused.code, refused.err.strip()) == (
        1, "swp: 2026-12-01 is after today (2026-07-10): the ledger records money once it is "
           "received or paid, never in advance")
    assert snapshot(db) == before
    lived.ok("member", "settle", "ann", "10", "--date", "2026-07-10", as_="mo")


def test_a_part_settled_after_a_period_ends_counts_in_its_close(lived, db, monkeypatch):
    """ann pays part of her deficit on 1 October, before the third quarter is closed: the close
    takes it off what she brings in, and the statement, `member settle` and `swp check` agree."""
    owed = leaver_owes(lived, db, monkeypatch)
    monkeypatch.setenv("SWP_TODAY", "2026-10-02")
    lived.ok("member", "settle", "ann", "5000", "--date", "2026-10-01", as_="mo")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    amount, carried_in, payable, carried_out = allocation_of(db, "ann", "2026-q3")
    assert (carried_in, payable, carried_out) == (500000 - owed, 0, amount + 500000 - owed)
    still = owed - amount - 500000
    assert still > 0
    assert lived.ok("check", json=True).json["problems"] == []
    statement = lived.ok("statement", "2026-q3", "--member", "ann", "--json", as_="mo").json
    assert statement["deficit_settled_before_close"] == [
        {"on": "2026-10-01", "kind": "settled", "pence": 500000, "resolution": None}]
    assert statement["deficit_settlements"] == [] and statement["deficit_outstanding_pence"] == -still
    more = lived("member", "settle", "ann", pounds(still + 1), "--date", "2026-10-02", as_="mo")
    assert (more.code, more.err.strip()) == (1, f"swp: ann owes {money(still)}; {money(still + 1)} is more")


def test_a_write_off_passed_before_the_leavers_last_period_closes_is_taken_off_what_it_brings_in(
        lived, db, monkeypatch):
    """The members forgive half of ann's deficit on 20 July, while the quarter she left in is
    open: that quarter brings in only the other half, and every statement format, `member
    settle` and `swp check` agree."""
    owed = leaver_owes(lived, db, monkeypatch)
    half = owed // 2
    made = lived.ok("proposal", "new", "--title", "Forgive half", "--kind", "ordinary", "--write-off", "ann",
                    "--amount", pounds(half), as_="mo", json=True).json
    for handle in ("bea", "cal", "mo"):
        lived.ok("vote", str(made["id"]), "yes", as_=handle)
    monkeypatch.setenv("SWP_TODAY", "2026-07-20")
    lived.ok("proposal", "close", str(made["id"]), as_="mo")
    monkeypatch.setenv("SWP_TODAY", "2026-10-01")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    amount, carried_in, payable, carried_out = allocation_of(db, "ann", "2026-q3")
    assert carried_in == half - owed and carried_out == min(0, amount + carried_in)
    assert payable == max(0, amount + carried_in)
    assert lived.ok("check", json=True).json["problems"] == []
    statement = lived.ok("statement", "2026-q3", "--member", "ann", "--json", as_="mo").json
    assert statement["deficit_settled_before_close"] == [
        {"on": "2026-07-20", "kind": "written-off", "pence": half, "resolution": made["id"]}]
    assert statement["deficit_outstanding_pence"] == carried_out
    text = lived.ok("statement", "2026-q3", "--member", "ann", as_="mo").out
    assert f"Deficit written off by resolution #{made['id']} on 2026-07-20, before the close" in text
    rows = list(csv.reader(io.StringIO(
        lived.ok("statement", "2026-q3", "--member", "ann", "--format", "csv", as_="mo").out)))
    assert ["ann", "share", "deficit_written_off_before_close.2026-07-20", pounds(half), str(half)] in rows
    assert ["ann", "share", "deficit_written_off_before_close.2026-07-20.resolution", str(made["id"]), ""] in rows
    more = lived("member", "settle", "ann", pounds(-carried_out + 1), "--date", "2026-10-01", as_="mo")
    assert (more.code, more.err.strip()) == (
        1, f"swp: ann owes {money(-carried_out)}; {money(-carried_out + 1)} is more")


def test_the_vote_that_passes_a_written_write_off_on_the_last_day_of_a_period_closed_that_day(
        lived, db, monkeypatch):
    """A written resolution closes on the vote that passes it: cast on the last day of a period
    closed that day, after the close, the write-off counts after that period."""
    owed = leaver_owes(lived, db, monkeypatch)
    monkeypatch.setenv("SWP_TODAY", "2026-09-29")
    made = lived.ok("proposal", "new", "--title", "Forgive Ann", "--kind", "ordinary", "--write-off", "ann",
                    "--written", as_="mo", json=True).json
    lived.ok("vote", str(made["id"]), "yes", as_="bea")
    monkeypatch.setenv("SWP_TODAY", "2026-09-30")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    lived.ok("vote", str(made["id"]), "yes", as_="cal")
    rows = query(db, "SELECT kind, settled_on, proposal_id FROM deficit_settlement")
    assert [tuple(map(str, r)) for r in rows] == [("written-off", "2026-09-30", str(made["id"]))]
    assert allocation_of(db, "ann", "2026-q3")[1] == -owed
    assert lived.ok("check", json=True).json["problems"] == []
    assert "owes nothing" in lived("member", "settle", "ann", "1", "--date", "2026-10-01", as_="mo").err


# --- periods closed before closes recorded what they counted ------------------------------------


def practice_made_at_0023(name: str, db: str, tmp_path) -> Swp:
    """A practice file made by the swp of schema 0023 (tests/data/pre-0024.py says how),
    upgraded by `swp db upgrade` (signed), at `db` (on PostgreSQL, copied there afterwards)."""
    import shutil
    from pathlib import Path

    source = Path(__file__).resolve().parent / "data" / name
    path = str(tmp_path / "old.db") if is_postgres(db) else db
    shutil.copy(source, path)
    old = Swp(path)
    assert old.ok("db", "upgrade", as_="mo", json=True).json["changed"]
    if is_postgres(db):
        old.ok("db", "copy", "--to", db)
    return Swp(db)


def test_periods_closed_before_the_order_was_recorded_keep_counting_by_date(db, tmp_path, monkeypatch):
    """Upgraded, the quarters an earlier swp closed say nothing of what they counted (NULL) and
    keep their meaning: ann's £5,000 of 1 October, recorded before the third quarter was closed
    but dated after it, still comes off what that quarter carries out. `audit verify` and `swp
    check` pass; a write-off on the last day of a period closed that day by date is still
    refused (nothing changed) and goes through the next day; the next close records its count."""
    monkeypatch.setenv("SWP_TODAY", "2026-12-31")
    swp = practice_made_at_0023("pre-0024.db", db, tmp_path)
    assert query(db, "SELECT label, settlements_upto FROM period ORDER BY start") == [
        ("2026-q1", None), ("2026-q2", None), ("2026-q3", None), ("2026-q4", None)]
    swp.ok("audit", "verify")
    assert swp.ok("check", json=True).json["problems"] == []
    amount, carried_in, payable, carried_out = allocation_of(db, "ann", "2026-q3")
    owed = -allocation_of(db, "ann", "2026-q2")[3]
    assert carried_in == -owed and carried_out == amount - owed
    statement = swp.ok("statement", "2026-q3", "--member", "ann", "--json", as_="mo").json
    assert statement["deficit_settled_before_close"] == []
    assert statement["deficit_settlements"] == [
        {"on": "2026-10-01", "kind": "settled", "pence": 500000, "resolution": None}]
    assert statement["deficit_outstanding_pence"] == carried_out + 500000
    still = -(carried_out + 500000)
    more = swp("member", "settle", "ann", pounds(still + 1), "--date", "2026-12-31", as_="mo")
    assert (more.code, more.err.strip()) == (1, f"swp: ann owes {money(still)}; {money(still + 1)} is more")
    # sam's write-off, on the last day of the fourth quarter, closed that day by date
    proposal = query(db, "SELECT id FROM proposal WHERE action = 'write-off'")[0][0]
    before = snapshot(db)
    refused = swp("proposal", "close", str(proposal), as_="mo")
    assert (refused.code, refused.err) == (
        1, "swp: a write-off is dated the day its proposal closes, and 2026-12-31 is inside the closed "
           "period 2026-q4 (2026-10-01 to 2026-12-31); close this proposal after 2026-12-31\n")
    assert snapshot(db) == before
    monkeypatch.setenv("SWP_TODAY", "2027-01-01")
    sam_owed = -allocation_of(db, "sam", "2026-q2")[3]
    closed = swp.ok("proposal", "close", str(proposal), as_="mo", json=True).json
    assert closed["effect"] == f"{money(sam_owed - 1000)} of sam's deficit written off; £0.00 still owed"
    # ann pays the rest, then a quarter is closed by the new rule
    swp.ok("member", "settle", "ann", pounds(still), "--date", "2027-01-01", as_="mo")
    swp.ok("ledger", "income", "1000", "--date", "2027-01-01", "--category", "grants", as_="mo")
    monkeypatch.setenv("SWP_TODAY", "2027-04-01")
    swp.ok("period", "close", "2027-q1", "--start", "2027-01-01", "--end", "2027-03-31", as_="mo")
    assert query(db, "SELECT settlements_upto FROM period WHERE label = '2027-q1'") == [(4,)]
    swp.ok("audit", "verify")
    assert swp.ok("check", json=True).json["problems"] == []
    q3 = swp.ok("statement", "2026-q3", "--member", "ann", "--json", as_="mo").json
    assert q3["deficit_outstanding_pence"] == 0 and q3["deficit_settled_before_close"] == []


def test_check_finds_a_period_closed_over_a_deficit_settled_after_it_ended(db, tmp_path, monkeypatch):
    """A practice whose earlier swp closed the third quarter after ann had paid, on a day after
    it ended, all she owed: her share was set against the deficit again. `swp check` says so."""
    monkeypatch.setenv("SWP_TODAY", "2026-10-02")
    swp = practice_made_at_0023("pre-0024-lost.db", db, tmp_path)
    owed = query(db, "SELECT amount_pence FROM deficit_settlement")[0][0]
    amount = allocation_of(db, "ann", "2026-q3")[0]
    problems = [p["message"] for p in swp("check", json=True).json["problems"]]
    assert problems == [
        "period 2026-q3 (2026-07-01 to 2026-09-30): ann settled (or had written off) "
        f"{owed} of their deficit from 2026-10-01, after the period ended and before it was closed, "
        f"and their share of it was set against that deficit again: {amount} of it was lost"]


@pytest.mark.parametrize(("value", "message"), [
    ("0", "period 2026-q3 (2026-07-01 to 2026-09-30): ann brings in a deficit of 0, but carried {owed} "
          "out of their last period"),
    # taken away, the count reads as a close that counted by date (as before swp recorded it)
    ("NULL", "period 2026-q3 (2026-07-01 to 2026-09-30): ann brings in a deficit of 0, but carried {owed} "
             "out of their last period"),
    ("7", "period 2026-q3 (2026-07-01 to 2026-09-30) says its close counted deficit settlements up to #7, "
          "but the last one recorded is #1"),
    ("-1", "period 2026-q3 (2026-07-01 to 2026-09-30) says its close counted deficit settlements up to #-1, "
           "fewer than none"),
])
def test_check_finds_a_changed_count_of_settlements(lived, db, monkeypatch, value, message):
    """What a close counted, changed around swp: the period's signed row, its fingerprint and
    what its allocations bring in no longer agree with it."""
    owed = leaver_owes(lived, db, monkeypatch)
    monkeypatch.setenv("SWP_TODAY", "2026-10-02")
    lived.ok("member", "settle", "ann", pounds(owed), "--date", "2026-10-01", as_="mo")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    execute(db, "DROP TRIGGER period_append_only_update ON period",
            f"UPDATE period SET settlements_upto = {value} WHERE label = '2026-q3'")
    problems = [p["message"] for p in lived("check", json=True).json["problems"]]
    assert message.format(owed=-owed) in problems
    assert "period 2026-q3 (2026-07-01 to 2026-09-30) no longer matches its fingerprint: something it " \
           "covers changed after the close" in problems
    row = query(db, "SELECT id FROM period WHERE label = '2026-q3'")[0][0]
    assert f"period row {row} was changed after its signed event (settlements_upto)" in problems


def test_check_orders_a_close_and_the_settlements_by_the_audit_log_not_by_the_clock(lived, db, monkeypatch):
    """Which settlements a close counted is checked against the order of the signed events that
    recorded them (the machines' clocks may disagree): a count changed to leave out one recorded
    before the close, or to take in one recorded after it, is named with both events."""
    owed = leaver_owes(lived, db, monkeypatch)
    monkeypatch.setenv("SWP_TODAY", "2026-10-02")
    lived.ok("member", "settle", "ann", pounds(owed // 2), "--date", "2026-10-01", as_="mo")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    lived.ok("member", "settle", "ann", "100", "--date", "2026-10-02", as_="mo")
    assert query(db, "SELECT settlements_upto FROM period WHERE label = '2026-q3'") == [(1,)]
    # every moment of a pinned day is noon: the clocks cannot tell these three apart
    assert len(set(query(db, "SELECT recorded_at FROM deficit_settlement UNION ALL SELECT closed_at FROM period "
                             "WHERE label = '2026-q3'"))) == 1
    events = dict(query(db, "SELECT action, seq FROM audit_event WHERE action IN ('period.closed')"))
    close = events["period.closed"]
    name = "period 2026-q3 (2026-07-01 to 2026-09-30)"
    for value, expected in (
            ("0", rf"{re.escape(name)} says its close counted deficit settlements up to #0, but #1 was "
                  rf"recorded before the close \(event (\d+), the close's {close}\)"),
            ("2", rf"{re.escape(name)} says its close counted deficit settlement #2, which was recorded "
                  rf"after the close \(event (\d+), the close's {close}\)")):
        execute(db, "DROP TRIGGER IF EXISTS period_append_only_update ON period",
                f"UPDATE period SET settlements_upto = {value} WHERE label = '2026-q3'")
        problems = [p["message"] for p in lived("check", json=True).json["problems"]]
        matched = [m for m in map(re.compile(expected).fullmatch, problems) if m]
        assert len(matched) == 1, problems
        assert (int(matched[0].group(1)) < close) == (value == "0")


def test_revision_0024_is_not_undone_while_a_close_counted_a_settlement_dated_after_its_period(
        lived, db, monkeypatch):
    """Undone, an older swp would read the third quarter by date and count ann's payment of 1
    October twice over: refused, nothing changed. (Undone and done again where it may be, each
    period takes back what its close's signed event says it counted: the revision tests above.)"""
    owed = leaver_owes(lived, db, monkeypatch)
    monkeypatch.setenv("SWP_TODAY", "2026-10-02")
    lived.ok("member", "settle", "ann", pounds(owed), "--date", "2026-10-01", as_="mo")
    lived.ok("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30", as_="mo")
    before = snapshot(db, skip=())
    with pytest.raises(RuntimeError, match="1 deficit settlement\\(s\\) count in a period other than"):
        migrate(db, "0023", down=True)
    assert snapshot(db, skip=()) == before
    marks = query(db, "SELECT label, settlements_upto FROM period ORDER BY start")
    assert marks == [("2026-q1", 0), ("2026-q2", 0), ("2026-q3", 1)]
