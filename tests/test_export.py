"""`swp export`: books an accountant's tools accept, with the same totals as `ledger balance`."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import copy_practice, is_postgres, snapshot

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "riverside-ledger.csv"


def books(swp, db):
    """A small but awkward set of books: reversals, a loan, memos full of punctuation."""
    from tests.test_ledger import loan

    swp.ok("ledger", "income", "12500", "--date", "2026-04-30", "--category", "contracts",
           "--memo", 'April "invoice" \\ LCC', as_="mo")
    swp.ok("ledger", "expense", "950", "--date", "2026-04-01", "--category", "rent",
           "--memo", "=HYPERLINK(\"http://evil\")", as_="mo")
    swp.ok("ledger", "expense", "120.55", "--date", "2026-04-02", "--category", "training",
           "--memo", "+1 course; -2 refund; @cmd", as_="mo")
    swp.ok("ledger", "reverse", "2", "--reason", "paid twice", as_="mo")
    swp.ok("ledger", "income", "300", "--date", "2026-05-01", "--category", "training",
           "--memo", "line one\nline two\ttabbed", as_="mo")
    loan(db, 2_500_000, lender="Triodos Bank; Leeds branch")


def beancount_totals(entries) -> dict[str, Decimal]:
    from beancount.core import data

    totals: dict[str, Decimal] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                assert posting.units.currency == "GBP"
                totals[posting.account] = totals.get(posting.account, Decimal(0)) + posting.units.number
    return totals


def check_beancount(text: str, balance: dict) -> None:
    """beancount's own loader (what bean-check runs) accepts it, and its totals are swp's."""
    from beancount import loader

    entries, errors, _options = loader.load_string(text)
    assert errors == [], [e.message for e in errors]
    totals = beancount_totals(entries)
    pence = {name: int(value * 100) for name, value in totals.items()}
    income = -sum(v for k, v in pence.items() if k.startswith("Income:"))
    expenses = sum(v for k, v in pence.items() if k.startswith("Expenses:"))
    assert income == balance["income_pence"]
    assert expenses == balance["expenses_pence"]
    assert income - expenses == balance["net_pence"]
    for category, value in balance["income_by_category"].items():
        assert -pence[f"Income:{category[0].upper()}{category[1:]}"] == value
    for category, value in balance["expenses_by_category"].items():
        assert pence[f"Expenses:{category[0].upper()}{category[1:]}"] == value
    assert sum(pence.values()) == 0  # every transaction balances
    assert -sum(v for k, v in pence.items() if k.startswith("Liabilities:Loans:")) == balance["loans_pence"]
    # the profit shares declared by closing periods and not yet paid (zero when none were)
    assert -pence.get("Liabilities:Profit-share-owed", 0) == balance["shares_owed_pence"]


def test_beancount_export_loads_with_no_errors_and_the_same_totals(practice, db):
    books(practice, db)
    text = practice.ok("export", "beancount").out
    balance = practice.ok("ledger", "balance", json=True).json
    assert balance["loans_pence"] == 2_500_000
    check_beancount(text, balance)
    assert 'option "operating_currency" "GBP"' in text
    assert "Liabilities:Loans:Triodos-Bank-Leeds-branch" in text
    assert 'reverses: "2"' in text


def test_the_sample_year_passes_bean_check(practice, db, tmp_path):
    practice.ok("ledger", "import", str(SAMPLE), as_="mo")
    out = tmp_path / "riverside.beancount"
    run = practice.ok("export", "beancount", "--output", str(out))
    assert run.out == f"Exported {len(SAMPLE.read_text().splitlines()) - 1} entries as beancount to {out}.\n"
    check = subprocess.run([str(Path(sys.executable).parent / "bean-check"), str(out)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    balance = practice.ok("ledger", "balance", json=True).json
    check_beancount(out.read_text(), balance)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(memo=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() and not s.startswith("-")),
       pence=st.integers(1, 10**9))
def test_any_memo_and_amount_round_trip_through_beancount(practice_template, tmp_path_factory, memo, pence):
    from swp.money import format_pence

    swp = copy_practice(practice_template, str(tmp_path_factory.mktemp("bean") / "practice.db"))
    swp.ok("ledger", "expense", format_pence(pence), "--date", "2026-04-01", "--category",
           "training", "--memo", memo, as_="mo")
    text = swp.ok("export", "beancount").out
    check_beancount(text, swp.ok("ledger", "balance", json=True).json)
    from beancount import loader

    entries, _, _ = loader.load_string(text)
    narration = [e for e in entries if hasattr(e, "narration")][0].narration
    expected = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in memo.strip())
    assert " ".join(narration.split()) == " ".join(expected.split())


def test_csv_export_neutralises_formulas_and_keeps_amounts_numeric(practice, db):
    books(practice, db)
    text = practice.ok("export", "csv").out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["id", "date", "type", "amount", "category", "memo", "ref", "reverses",
                             "debit", "credit"]
    memos = {int(r["id"]): r["memo"] for r in rows}
    assert memos[2] == "'=HYPERLINK(\"http://evil\")"
    assert memos[3] == "'+1 course; -2 refund; @cmd"
    assert memos[1] == 'April "invoice" \\ LCC'
    for row in rows:
        for column in ("type", "category", "memo", "ref", "debit", "credit"):
            assert not row[column].lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
        Decimal(row["amount"])  # a plain number, never quoted
        assert not row["amount"].startswith("'")
    amounts = {int(r["id"]): r["amount"] for r in rows}
    assert amounts[2] == "950.00" and amounts[4] == "-950.00" and amounts[3] == "120.55"
    balance = practice.ok("ledger", "balance", json=True).json
    income = sum(Decimal(r["amount"]) for r in rows if r["type"] == "income")
    expenses = sum(Decimal(r["amount"]) for r in rows if r["type"] == "expense")
    assert int(income * 100) == balance["income_pence"]
    assert int(expenses * 100) == balance["expenses_pence"]


@pytest.mark.parametrize(("text", "expected"), [
    ("=1+1", "'=1+1"), ("+44 113", "'+44 113"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\nx"), ("\nx", "'\nx"), ("  =1", "'  =1"), ("rent", "rent"), ("", ""), (None, ""),
    ("April\r=cmd", "April\n=cmd"), ("a\r\nb", "a\nb"),
    ("a=b", "a=b"), (3, "3"), (-3, "'-3"),
])
def test_neutralise(text, expected):
    from swp.reports.spreadsheet import neutralise

    assert neutralise(text) == expected


def test_json_export(practice, db):
    books(practice, db)
    data = json.loads(practice.ok("export", "json").out)
    assert data["practice"] == {"name": "Riverside Social Work Practice",
                                "local_authority": "Leeds City Council"}
    assert data["balance"] == practice.ok("ledger", "balance", json=True).json
    assert len(data["entries"]) == 6
    assert data["entries"][0] == {"id": 2, "date": "2026-04-01", "type": "expense",
                                  "amount_pence": 95000, "category": "rent",
                                  "memo": "=HYPERLINK(\"http://evil\")", "ref": None,
                                  "reverses": None, "debit": "expenses:rent",
                                  "credit": "assets:bank"}
    assert sum(e["amount_pence"] for e in data["entries"] if e["type"] == "income") == \
        data["balance"]["income_pence"]


def test_exports_of_an_empty_ledger(practice):
    from beancount import loader

    assert json.loads(practice.ok("export", "json").out)["entries"] == []
    assert practice.ok("export", "csv").out == "id,date,type,amount,category,memo,ref,reverses,debit,credit\n"
    _, errors, _ = loader.load_string(practice.ok("export", "beancount").out)
    assert errors == []


@pytest.mark.parametrize("fmt", ["beancount", "csv", "json"])
def test_output_is_written_whole_and_never_clobbered(practice, db, tmp_path, fmt):
    books(practice, db)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / f"books.{fmt}"
    stdout = practice.ok("export", fmt).out
    run = practice.ok("export", fmt, "--output", str(target), json=True)
    assert run.json == {"format": fmt, "output": str(target), "entries": 6}
    assert target.read_text() == stdout
    target.write_text("the accountant's notes")
    before = snapshot(db, skip=())
    run = practice("export", fmt, "--output", str(target))
    assert (run.code, run.err) == (1, f"swp: {target} already exists; pass --force to replace it\n")
    assert target.read_text() == "the accountant's notes"
    assert snapshot(db, skip=()) == before  # exporting is a read: no audit event either
    practice.ok("export", fmt, "--output", str(target), "--force")
    assert target.read_text() == stdout
    assert os.listdir(folder) == [target.name]  # no temporary files left behind


def test_output_to_a_missing_folder_or_a_folder(practice, tmp_path):
    # a missing folder is made (it once was refused with "no such folder")
    practice.ok("export", "csv", "--output", str(tmp_path / "no" / "such.csv"))
    assert (tmp_path / "no" / "such.csv").read_text().strip()
    assert stat.S_IMODE(os.stat(tmp_path / "no" / "such.csv").st_mode) == 0o600
    run = practice("export", "csv", "--output", str(tmp_path / "no" / "such.csv" / "x.csv"))
    assert (run.code, run.err) == (1, f"swp: {tmp_path / 'no' / 'such.csv'} is a file, not a folder\n")
    run = practice("export", "csv", "--output", str(tmp_path), "--force")
    assert run.code == 1 and "is a folder" in run.err


def test_a_failed_export_leaves_no_file(practice, db, tmp_path, monkeypatch):
    from swp.services import exporting

    books(practice, db)

    def broken(session, out):
        from swp.errors import DatabaseError

        out.write("half a file")
        raise DatabaseError("the disk is full; nothing was written")

    monkeypatch.setattr(exporting, "write_csv", broken)
    folder = tmp_path / "out"
    folder.mkdir()
    run = practice("export", "csv", "--output", str(folder / "books.csv"))
    assert (run.code, run.err) == (1, "swp: the disk is full; nothing was written\n")
    assert os.listdir(folder) == []


def test_an_unknown_format_is_a_usage_error(practice):
    run = practice("export", "xlsx")
    assert run.code == 2 and "'xlsx' is not one of beancount, csv, json" in run.err


def test_json_mode_without_output_carries_the_export(practice, db):
    books(practice, db)
    data = practice.ok("export", "csv", json=True).json
    assert data["format"] == "csv" and data["output"] is None and data["entries"] == 6
    assert data["content"] == practice.ok("export", "csv").out


def test_beancount_account_names():
    from swp.services.exporting import AccountNames

    names = AccountNames()
    assert names("assets:bank") == "Assets:Bank"
    assert names("income:outcome-payments") == "Income:Outcome-payments"
    assert names("expenses:2025-fees") == "Expenses:2025-fees"
    assert names("liabilities:loans:Café Crédit") == "Liabilities:Loans:Cafe-Credit"  # letters kept
    assert names("liabilities:loans:Café_Crédit") == "Liabilities:Loans:Cafe-Credit-2"
    assert names("liabilities:loans:Triodos: Bank") == "Liabilities:Loans:Triodos-Bank"  # one lender
    assert names("liabilities:loans:銀行") == "Liabilities:Loans:X"
    assert names("liabilities:loans:x") == "Liabilities:Loans:X-2"
    assert names("reserve") == "Equity:Reserve:General"
    assert names("assets:bank") == "Assets:Bank"


def test_closed_periods_declare_their_shares_in_every_export(lived, db):
    """Shares are declared on a period's last day and owed until paid; csv and json carry the
    same declaration as beancount."""
    from tests.conftest import query

    balance = lived.ok("ledger", "balance", json=True).json
    assert balance["shares_owed_pence"] > 0
    check_beancount(lived.ok("export", "beancount").out, balance)
    end, payable = query(db, "SELECT p.\"end\", SUM(a.payable_pence) FROM period p JOIN allocation a "
                             "ON a.period_id = p.id WHERE p.label = '2026-q1' GROUP BY p.\"end\"")[0]
    declared = {"id": None, "date": str(end), "type": "declaration", "amount_pence": int(payable),
                "category": "profit-share", "memo": "profit shares of 2026-q1 declared, payable to members",
                "ref": "swp:declared:2026-q1", "reverses": None, "debit": "equity:profit-shares",
                "credit": "liabilities:profit-share-owed"}
    data = json.loads(lived.ok("export", "json").out)
    assert [e for e in data["entries"] if e["type"] == "declaration"] == [declared]
    rows = [r for r in csv.DictReader(io.StringIO(lived.ok("export", "csv").out)) if r["type"] == "declaration"]
    assert rows == [{"id": "", "date": str(end), "type": "declaration", "amount": f"{int(payable) / 100:.2f}",
                     "category": "profit-share", "memo": declared["memo"], "ref": declared["ref"],
                     "reverses": "", "debit": "equity:profit-shares",
                     "credit": "liabilities:profit-share-owed"}]
    lived.ok("period", "pay", "2026-q1", "--date", "2026-04-25", as_="mo")
    paid = lived.ok("ledger", "balance", json=True).json
    assert paid["shares_owed_pence"] == 0
    check_beancount(lived.ok("export", "beancount").out, paid)


def test_a_carriage_return_in_a_memo_stays_inside_its_cell(practice, db):
    """A memo holding a carriage return is written with a line break, which the CSV quotes: left
    as it was it was not quoted, and a spreadsheet began a new row there whose first cell was the
    formula after it."""
    practice.ok("ledger", "income", "100", "--date", "2026-04-01", "--category", "contracts",
                "--memo", "April\r=cmd|' /C calc'!A0", as_="mo")
    text = practice.ok("export", "csv").out
    assert '"April\n=cmd|\' /C calc\'!A0"' in text and "\r" not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2 and rows[1][5] == "April\n=cmd|' /C calc'!A0"
    for row in rows:
        assert not any(cell.lstrip(" ").startswith(("=", "+", "@")) for cell in row)


@pytest.mark.parametrize(("args", "companion"), [
    (["export", "csv", "--force", "--output"], ""),
    (["export", "json", "--force", "-o"], ""),
    (["register", "members", "--force", "-o"], ""),
    (["register", "officers", "--format", "pdf", "--force", "-o"], "-wal"),
    (["statement", "2026-q1", "--member", "ann", "--format", "pdf", "--force", "-o"], ""),
    (["backup", "--force"], "-shm"),
])
def test_no_output_replaces_the_practices_own_database(lived, db, args, companion):
    """--force replaces an existing file, but never the practice's database (nor its -wal or
    -shm file): `export csv -o "$SWP_DB" --force` wrote CSV over the live books."""
    if is_postgres(db):
        pytest.skip("a SQLite file only: a server's database is no file here")
    target = db + companion
    before, raw = snapshot(db), Path(db).read_bytes()
    run = lived(*args, target, as_="mo")
    assert (run.code, run.out) == (1, "")
    assert run.err == (f"swp: {target} is the practice's own database (or its -wal or -shm file); "
                       "write to another file\n")
    assert Path(db).read_bytes() == raw and snapshot(db) == before


def test_no_output_replaces_the_database_under_another_name(lived, db, tmp_path):
    if is_postgres(db):
        pytest.skip("a SQLite file only")
    other = tmp_path / "books.csv"
    os.link(db, other)  # the same file by another name
    before = snapshot(db)
    run = lived("export", "csv", "--output", str(other), "--force")
    assert run.code == 1 and run.err.startswith(f"swp: {other} is the practice's own database")
    assert snapshot(db) == before
    lived.ok("export", "csv", "--output", str(tmp_path / "books-2.csv"))
