"""`swp ledger import`: a bank export goes in whole or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import audit_rows, copy_practice, database_url, execute, is_postgres, query, snapshot

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "riverside-ledger.csv"
HEADER = "date,type,amount,category,memo,ref\n"


@pytest.fixture(autouse=True, params=["here", "ahead"])
def reading(request, monkeypatch) -> Iterator[str]:
    """Every test here runs twice: with every file read in the importing process, and with
    every file read ahead by a second process (`swp.readahead`), as a long file is; there the
    second process must really be made, not left out in silence, and never outlive the import,
    however it ends."""
    import os

    from swp import readahead
    from swp.services import ledger

    if request.param == "here":
        monkeypatch.setattr(ledger, "READ_AHEAD_BYTES", 1 << 60)
    else:
        monkeypatch.setattr(ledger, "READ_AHEAD_BYTES", 0)

        def forked(items):
            made = readahead.read_ahead(items)
            assert made is not None, "no process was forked to read ahead"
            return made

        monkeypatch.setattr(ledger, "read_ahead", forked)
    yield request.param
    if request.param == "ahead":
        with pytest.raises(ChildProcessError):  # no process left behind (or its exit uncollected)
            os.waitpid(-1, os.WNOHANG)


def write(tmp_path, text: str, name: str = "bank.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def good_rows(n: int, start: int = 0) -> str:
    return "".join(
        f"2026-04-{1 + i % 28:02d},{'income' if i % 3 == 0 else 'expense'},{100 + i}.{i % 100:02d},"
        f"{'contracts' if i % 3 == 0 else 'rent'},row {i},R{i}\n" for i in range(start, start + n))


def entries(db) -> list[tuple]:
    """Every entry as stored, dates as ISO text (as SQLite keeps them) on either backend."""
    rows = query(db, "SELECT date, kind, amount_pence, category, memo, ref, debit, credit "
                     "FROM ledger_entry ORDER BY id")
    return [(str(day), *rest) for day, *rest in rows]


def test_the_sample_bank_export_imports_with_a_surplus(practice, db):
    run = practice.ok("ledger", "import", str(SAMPLE), as_="mo", json=True)
    summary = run.json
    assert summary["added"] == summary["rows"] > 150 and summary["skipped"] == 0
    assert summary["dry_run"] is False and len(summary["sha256"]) == 64
    balance = practice.ok("ledger", "balance", "--from", "2025-04-01", "--to", "2026-03-31",
                          json=True).json
    assert balance["net_pence"] > 0  # a surplus to share
    assert (balance["income_pence"], balance["expenses_pence"]) == (summary["income_pence"],
                                                                    summary["expenses_pence"])
    assert {"contracts", "outcome-payments"} <= set(balance["income_by_category"])
    assert {"rent", "salaries", "training"} <= set(balance["expenses_by_category"])
    dates = [e["date"] for e in practice.ok("ledger", "list", json=True).json["entries"]]
    assert min(dates) >= "2025-04-01" and max(dates) <= "2026-03-31"
    event = audit_rows(db)[-1]
    assert event["command"] == "ledger import" and summary["sha256"] in event["args"]


def test_import_summary_for_people(practice, tmp_path):
    path = write(tmp_path, HEADER + "2026-04-01,income,100,contracts,April,A1\n"
                 "2026-04-02,expense,40.50,rent,,A2\n")
    run = practice.ok("ledger", "import", path, as_="mo")
    assert run.out == ("Imported bank.csv: 2 rows; 2 added, 0 skipped (already in the books); "
                       "added income £100.00, expenses £40.50, net £59.50.\n")
    assert entries(practice.db) == [
        ("2026-04-01", "income", 10000, "contracts", "April", "A1", "assets:bank", "income:contracts"),
        ("2026-04-02", "expense", 4050, "rent", None, "A2", "expenses:rent", "assets:bank"),
    ]


def test_reimport_adds_nothing(practice, db):
    practice.ok("ledger", "import", str(SAMPLE), as_="mo")
    before = snapshot(db)
    again = practice.ok("ledger", "import", str(SAMPLE), as_="mo", json=True).json
    assert again["added"] == 0 and again["skipped"] == again["rows"]
    assert (again["income_pence"], again["expenses_pence"]) == (0, 0)
    assert snapshot(db) == before


def test_an_overlapping_export_adds_only_the_new_rows(practice, tmp_path):
    practice.ok("ledger", "import", write(tmp_path, HEADER + good_rows(10), "a.csv"), as_="mo")
    run = practice.ok("ledger", "import", write(tmp_path, HEADER + good_rows(15, start=5), "b.csv"),
                      as_="mo", json=True)
    assert (run.json["added"], run.json["skipped"]) == (10, 5)
    assert len(entries(practice.db)) == 20


def test_dry_run_writes_nothing_not_even_an_audit_event(practice, db):
    before = snapshot(db, skip=())
    run = practice.ok("ledger", "import", str(SAMPLE), "--dry-run", as_="mo", json=True)
    assert run.json["dry_run"] is True and run.json["added"] == run.json["rows"] > 150
    assert snapshot(db, skip=()) == before
    human = practice.ok("ledger", "import", str(SAMPLE), "--dry-run", as_="mo").out
    assert human.startswith("Dry run of riverside-ledger.csv:") and "Nothing was written." in human
    assert snapshot(db, skip=()) == before


def test_dry_run_reports_a_bad_row_too(practice, db, tmp_path):
    path = write(tmp_path, HEADER + good_rows(3) + "2026-04-31,income,5,contracts,,BAD\n")
    before = snapshot(db, skip=())
    run = practice("ledger", "import", path, "--dry-run", as_="mo")
    assert run.code == 1
    assert run.err == "swp: line 5: no such date: '2026-04-31' is not a day of the calendar\n"
    assert snapshot(db, skip=()) == before


def test_dry_run_counts_what_a_real_import_would_skip(practice, tmp_path):
    practice.ok("ledger", "import", write(tmp_path, HEADER + good_rows(4), "a.csv"), as_="mo")
    path = write(tmp_path, HEADER + good_rows(6) + good_rows(2), "b.csv")
    dry = practice.ok("ledger", "import", path, "--dry-run", as_="mo", json=True).json
    real = practice.ok("ledger", "import", path, as_="mo", json=True).json
    assert (dry["added"], dry["skipped"]) == (real["added"], real["skipped"]) == (2, 6)


BAD_ROWS = [
    ("2026-02-30,income,5,contracts,,X", "no such date: '2026-02-30' is not a day of the calendar"),
    ("30/04/2026,income,5,contracts,,X", "not a date: '30/04/2026'"),
    ("2026-04-01,refund,5,contracts,,X", "not a type: 'refund'; the type is income or expense"),
    ("2026-04-01,loan,5,loans,,X", "not a type: 'loan'"),
    ("2026-04-01,income,12.345,contracts,,X", "not an amount: '12.345'"),
    ("2026-04-01,income,-5,contracts,,X", "not an amount: '-5'"),
    ("2026-04-01,income,1e5,contracts,,X", "not an amount: '1e5'"),
    ("2026-04-01,income,,contracts,,X", "not an amount: ''"),
    ("2026-04-01,income,0,contracts,,X", "the amount must be more than zero"),
    ("2026-04-01,income,5,office rent,,X", "not a category: 'office rent'"),
    ("2026-04-01,income,5,contracts,,", "the ref is empty"),
    ("2026-04-01,income,5,contracts", "expected 6 fields (date,type,amount,category,memo,ref), found 4"),
    ("2026-04-01,income,5,contracts,,X,extra", "expected 6 fields"),
    ('2026-04-01,income,5,contracts,"unclosed,X', "not valid CSV"),
    ("2026-07-01,income,5,contracts,,X", "2026-07-01 is after today (2026-06-30): the ledger records "
                                         "money once it is received or paid, never in advance"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_a_bad_row_stops_the_import_with_its_line_and_reason(practice, db, tmp_path, row, reason):
    path = write(tmp_path, HEADER + good_rows(5) + row + "\n" + good_rows(3, start=5))
    before = snapshot(db)
    events = len(audit_rows(db))
    run = practice("ledger", "import", path, as_="mo")
    assert run.code == 1
    assert run.err.startswith(f"swp: line 7: {reason}"), run.err
    assert run.err.count("\n") == 1 and run.out == ""
    assert snapshot(db) == before and len(audit_rows(db)) == events


@pytest.mark.parametrize("good_before", [0, 3, 98, 99, 100, 1098, 1099, 1100, 1500])
def test_a_bad_row_after_a_memo_of_two_lines_and_blank_lines_is_named_by_its_own_line(
        practice, db, tmp_path, good_before):
    """A quoted memo may hold a line end: the row takes two lines of the file, and every line
    number after it counts both, in any batch of the import (the first batch is 100 rows, the
    next 1,000 each)."""
    from swp.services import ledger

    assert (ledger.FIRST_BATCH_ROWS, ledger.BATCH_ROWS) == (100, 1000)
    text = (HEADER + good_rows(good_before) + '2026-04-01,income,10.00,contracts,"two\nlines",TWO\n'
            + "\n , ,,,,\n" + "2026-04-01,income,5,office rent,,X\n" + good_rows(3, start=good_before))
    before = snapshot(db)
    run = practice("ledger", "import", write(tmp_path, text), as_="mo")
    assert run.code == 1
    assert run.err.startswith(f"swp: line {1 + good_before + 2 + 2 + 1}: not a category: 'office rent'"), run.err
    assert run.err.count("\n") == 1
    assert snapshot(db) == before


@pytest.mark.parametrize("good_before", [0, 98, 99, 100, 1098, 1099, 1100])
@pytest.mark.parametrize(("before", "row", "reason"), [
    ("", '2026-04-01,income,5,office rent,"a memo of\ntwo lines",X\n', "not a category: 'office rent'"),
    ("\n", "2026-04-01,income,5,office rent,,X\n", "not a category: 'office rent'"),
    ("\r\n\n", "2026-04-01,income,5,contracts,,\n", "the ref is empty"),
    ("\n", '2026-04-01,income,5,contracts,"unclosed,X\n', "not valid CSV"),
], ids=["bad-row-of-two-lines", "after-an-empty-line", "after-two-empty-lines", "csv-error-after-an-empty-line"])
def test_a_bad_row_is_named_by_its_first_line_when_it_spans_two_or_follows_an_empty_line(
        practice, db, tmp_path, good_before, before, row, reason):
    """A bad row is named by the line it starts on: a row whose quoted memo holds a line end
    by its first line (not its last), and a row right after an empty line (which the CSV
    reader gives as no cells at all) by its own line, at a batch's end too (the first batch is
    100 rows, the next 1,000 each)."""
    text = HEADER + good_rows(good_before) + before + row + good_rows(3, start=good_before)
    snap = snapshot(db)
    run = practice("ledger", "import", write(tmp_path, text), as_="mo")
    line = 1 + good_before + before.count("\n") + 1
    assert run.code == 1
    assert run.err.startswith(f"swp: line {line}: {reason}"), run.err
    assert snapshot(db) == snap


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(good_before=st.integers(0, 2500), bad=st.sampled_from(BAD_ROWS), blank_lines=st.integers(0, 2))
def test_a_bad_row_at_any_line_writes_nothing_and_names_the_line(
        practice_template, tmp_path_factory, good_before, bad, blank_lines):
    folder = tmp_path_factory.mktemp("bad")
    swp = copy_practice(practice_template, str(folder / "practice.db"))
    text = HEADER + "\n" * blank_lines + good_rows(good_before) + bad[0] + "\n" + good_rows(50, start=good_before)
    path = write(folder, text)
    before = snapshot(swp.db)
    run = swp("ledger", "import", path, as_="mo")
    line = 1 + blank_lines + good_before + 1
    assert run.code == 1
    assert run.err.startswith(f"swp: line {line}: {bad[1]}"), run.err
    assert snapshot(swp.db) == before


def test_a_row_dated_after_today_in_a_big_file_is_refused_with_its_line(practice, db, tmp_path):
    """A bank export never holds a day after it was made: a row dated later (2062 typed for
    2026) is refused, naming its line, in the middle of a file big enough to go in batches
    (the first batch row by row, the next ones a column at a time); nothing is written. Dated
    today, the same row goes in."""
    from swp.services import ledger

    assert ledger.BATCH_ROWS == 1000
    text = HEADER + good_rows(1500) + "{day},income,5.00,contracts,typo,F1\n" + good_rows(1000, start=1500)
    before, events = snapshot(db), len(audit_rows(db))
    for dry_run in ([], ["--dry-run"]):
        run = practice("ledger", "import", write(tmp_path, text.format(day="2062-01-01")), *dry_run, as_="mo")
        assert (run.code, run.out, run.err) == (
            1, "", "swp: line 1502: 2062-01-01 is after today (2026-06-30): the ledger records money "
                   "once it is received or paid, never in advance\n")
        assert snapshot(db) == before and len(audit_rows(db)) == events
    done = practice.ok("ledger", "import", write(tmp_path, text.format(day="2026-06-30")), as_="mo", json=True)
    assert done.json["added"] == 2501


def test_the_same_ref_with_different_values_is_an_error(practice, db, tmp_path):
    practice.ok("ledger", "import", write(tmp_path, HEADER + good_rows(3), "a.csv"), as_="mo")
    before = snapshot(db)
    changed = HEADER + good_rows(1, start=3) + "2026-04-02,expense,999.00,rent,row 1,R1\n"
    run = practice("ledger", "import", write(tmp_path, changed, "b.csv"), as_="mo")
    assert run.code == 1
    assert run.err == ("swp: line 3: ref 'R1' is already entry #2 (2026-04-02 expense £101.01 rent) "
                       "with different values (2026-04-02 expense £999.00 rent)\n")
    assert snapshot(db) == before


def test_a_ref_twice_in_one_file(practice, db, tmp_path):
    same = HEADER + "2026-04-01,income,5,contracts,x,D1\n" * 2
    run = practice.ok("ledger", "import", write(tmp_path, same, "same.csv"), as_="mo", json=True)
    assert (run.json["added"], run.json["skipped"]) == (1, 1)
    before = snapshot(db)
    differ = HEADER + "2026-04-01,income,5,contracts,x,D2\n2026-04-01,income,6,contracts,x,D2\n"
    run = practice("ledger", "import", write(tmp_path, differ, "differ.csv"), as_="mo")
    assert run.code == 1
    assert run.err == "swp: line 3: ref 'D2' is also on line 2 with different values\n"
    assert snapshot(db) == before


@pytest.mark.parametrize("second", [60, 99, 100, 150, 1099, 1100, 1500])
def test_a_ref_twice_in_one_file_is_named_by_both_lines_whatever_batches_they_fall_in(
        practice, db, tmp_path, second):
    """A ref again with other values is named with the line it was first on, whether the two
    rows fall in one batch or not (the first batch is 100 rows, the next 1,000 each): not as
    an entry already in the books, an entry the import made itself and never writes. The
    same ref again with the same values is skipped wherever it falls; and a ref that was in
    the books before the import is still named as that entry."""
    before = snapshot(db)
    events = len(audit_rows(db))
    differ = HEADER + good_rows(second) + "2026-04-11,income,5.00,contracts,x,R49\n" + good_rows(3, start=second)
    for dry_run in ((), ("--dry-run",)):
        run = practice("ledger", "import", write(tmp_path, differ, f"differ{second}.csv"), *dry_run, as_="mo")
        assert (run.code, run.out, run.err) == (
            1, "", f"swp: line {second + 2}: ref 'R49' is also on line 51 with different values\n")
    assert snapshot(db) == before and len(audit_rows(db)) == events
    odd = (HEADER.replace("\n", "\r\n") + good_rows(10) + '2026-04-01,income,10.00,contracts,"two\nlines",TWO\n'
           + "\n , ,,,,\n" + good_rows(second - 10, start=10) + "2026-04-11,income,5.00,contracts,x,R49\n")
    run = practice("ledger", "import", write(tmp_path, odd, f"odd{second}.csv"), as_="mo")
    assert (run.code, run.err) == (1, f"swp: line {second + 6}: ref 'R49' is also on line 55 with different values\n")
    same = HEADER + good_rows(second) + good_rows(1, start=49) + good_rows(3, start=second)
    run = practice.ok("ledger", "import", write(tmp_path, same, f"same{second}.csv"), as_="mo", json=True)
    assert (run.json["rows"], run.json["added"], run.json["skipped"]) == (second + 4, second + 3, 1)
    practice.ok("check")
    books = HEADER + good_rows(second + 10) + "2026-04-11,income,5.00,contracts,x,R49\n"
    run = practice("ledger", "import", write(tmp_path, books, f"books{second}.csv"), as_="mo")
    [(entry,)] = query(db, "SELECT id FROM ledger_entry WHERE ref = 'R49'")  # (PostgreSQL's ids skip those rolled back)
    assert (run.code, run.err) == (1, f"swp: line {second + 12}: ref 'R49' is already entry #{entry} (2026-04-22 "
                                      "expense £149.49 rent) with different values (2026-04-11 income £5.00 contracts)\n")


def test_a_ref_recorded_by_hand_with_other_values_blocks_the_row(practice, db, tmp_path):
    """Refs are unique per practice, whoever recorded them."""
    from datetime import date

    from swp.services import ledger
    from swp.services.uow import perform

    perform(db, lambda s: ledger.record(s, actor="mo", kind="income", amount_pence=500,
                                        day=date(2026, 4, 1), category="contracts", ref="INV-9"),
            write=True, command="test", args={}, actor="mo")
    run = practice("ledger", "import", write(tmp_path, HEADER + "2026-04-01,income,5,grants,,INV-9\n"),
                   as_="mo")
    assert run.code == 1 and "ref 'INV-9' is already entry #1" in run.err


def test_a_row_in_a_closed_period_is_refused_but_an_imported_one_is_skipped(practice, db, tmp_path):
    first = write(tmp_path, HEADER + "2025-06-01,income,5,contracts,,P1\n", "first.csv")
    practice.ok("ledger", "import", first, as_="mo")
    execute(db, "INSERT INTO period (label, start, \"end\", income_pence, expenses_pence, "
                "net_pence, reserve_pence, distributable_pence, method, fingerprint, closed_at) "
                "VALUES ('2025-26', '2025-04-01', '2026-03-31', 0, 0, 0, 0, 0, 'equal', 't', "
                "'2026-06-01 00:00:00')")
    again = practice.ok("ledger", "import", first, as_="mo", json=True).json
    assert (again["added"], again["skipped"]) == (0, 1)
    before = snapshot(db)
    late = write(tmp_path, HEADER + "2026-04-01,income,5,contracts,,P2\n2026-01-05,expense,5,rent,,P3\n")
    run = practice("ledger", "import", late, as_="mo")
    assert run.code == 1
    assert run.err == ("swp: line 3: 2026-01-05 is inside the closed period 2025-26 (2025-04-01 to "
                       "2026-03-31); corrections go into an open period\n")
    assert snapshot(db) == before


@pytest.mark.parametrize(("content", "message"), [
    (b"", "swp: line 1: the file is empty; the first line must be the header date,type,amount,category,memo,ref\n"),
    (b"date,type,amount,category,memo\n2026-04-01,income,5,x,y\n",
     "swp: line 1: the header must be date,type,amount,category,memo,ref (found date,type,amount,category,memo)\n"),
    (HEADER.encode(), "swp: the file has a header but no rows; nothing to import\n"),
    (HEADER.encode() + b"2026-04-01,income,5,contracts,caf\xe9,R1\n",
     "swp: line 2: not UTF-8 text; save the file as CSV UTF-8\n"),
])
def test_files_that_are_not_a_bank_export(practice, db, tmp_path, content, message):
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), as_="mo")
    assert (run.code, run.err) == (1, message)
    assert snapshot(db) == before


def test_a_header_of_another_shape_says_which_shapes_were_tried(practice, db, tmp_path):
    path = tmp_path / "file.csv"
    path.write_bytes(b"Date,Sum,Text\n")
    before = snapshot(db)
    run = practice("ledger", "import", str(path), as_="mo")
    assert run.code == 1
    assert run.err.startswith("swp: line 1: ") and "is not a shape swp knows" in run.err
    assert "date,type,amount,category,memo,ref" in run.err and "--mapping" in run.err
    assert snapshot(db) == before


def test_header_in_any_order_with_a_byte_order_mark_and_windows_line_ends(practice, tmp_path):
    text = "\ufeffRef, Memo ,Category,Amount,Type,Date\r\nW1,\"rent, May\",rent,\"£1,850.00\",Expense,2026-05-01\r\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("utf-8"))
    practice.ok("ledger", "import", str(path), as_="mo")
    assert entries(practice.db) == [("2026-05-01", "expense", 185000, "rent", "rent, May", "W1",
                                     "expenses:rent", "assets:bank")]


def test_a_missing_file_or_a_folder(practice, tmp_path):
    run = practice("ledger", "import", str(tmp_path / "nope.csv"), as_="mo")
    assert (run.code, run.err) == (1, f"swp: no such file: {tmp_path / 'nope.csv'}\n")
    run = practice("ledger", "import", str(tmp_path), as_="mo")
    assert run.code == 1 and "is a folder" in run.err


def test_importing_needs_a_manager(practice, db):
    before = snapshot(db)
    run = practice("ledger", "import", str(SAMPLE), as_="cal")
    assert run.code == 1
    assert run.err == "swp: importing ledger entries needs --as a current manager; 'cal' is not one\n"
    assert snapshot(db) == before


def test_the_service_reports_progress(practice, db, tmp_path):
    from swp.db import open_database
    from swp.services import ledger

    path = write(tmp_path, HEADER + good_rows(2500))
    seen: list[tuple[int, int]] = []
    database = open_database(db)
    try:
        summary = database.run(lambda s: ledger.import_csv(s, path, actor="mo",
                                                           progress=lambda d, t: seen.append((d, t))),
                               write=True)
    finally:
        database.dispose()
    size = Path(path).stat().st_size
    assert summary.added == 2500
    assert len(seen) >= 3 and seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_hundred_thousand_rows_import_in_one_transaction(practice, db, tmp_path):
    rows = 100_000
    path = tmp_path / "year.csv"
    income = expenses = 0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(HEADER)
        for i in range(rows):
            pence = 100 + i % 9_999
            kind = "income" if i % 4 == 0 else "expense"
            if kind == "income":
                income += pence
            else:
                expenses += pence
            handle.write(f"2025-{4 + i % 9:02d}-{1 + i % 28:02d},{kind},{pence // 100}.{pence % 100:02d},"
                         f"cat-{i % 17},entry {i},B{i:07d}\n")
    events = len(audit_rows(db))
    run = practice.ok("ledger", "import", str(path), as_="mo", json=True)
    assert run.json["added"] == rows
    assert len(audit_rows(db)) == events + 1  # one command, one transaction, one event
    balance = practice.ok("ledger", "balance", json=True).json
    assert (balance["income_pence"], balance["expenses_pence"]) == (income, expenses)


def test_a_big_import_sets_the_covering_index_and_the_period_lock_aside_and_makes_them_again(
        practice, db, tmp_path, monkeypatch):
    """An import larger than the books (on SQLite) drops the covering index and the trigger
    that refuses entries in a closed period for its rows, and makes both again before it
    commits; one that fails leaves them as they were. The import's own check of every row
    against the closed periods still refuses a row in one, and afterwards the database does."""
    from swp.services import ledger

    if is_postgres(db):
        pytest.skip("SQLite only: a server keeps its index and its trigger")
    monkeypatch.setattr(ledger, "REBUILD_BYTES", 0)  # every file counts as big
    schema = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'ledger_entry' ORDER BY name"
    kept = query(db, schema)
    assert {"ix_ledger_entry_date_cover", "ledger_entry_period_lock"} <= {name for _, name, _ in kept}
    before = snapshot(db)
    bad = write(tmp_path, HEADER + good_rows(40) + "2026-04-02,income,oops,grants,x,RX\n", "bad.csv")
    assert practice("ledger", "import", bad, as_="mo").code == 1
    assert query(db, schema) == kept and snapshot(db) == before
    practice.ok("ledger", "import", write(tmp_path, HEADER + good_rows(60)), as_="mo")
    assert query(db, schema) == kept and len(entries(db)) == 60
    plan = query(db, "EXPLAIN QUERY PLAN SELECT sum(amount_pence) FROM ledger_entry WHERE date >= '2026-04-01'")
    assert "ix_ledger_entry_date_cover" in str(plan)
    practice.ok("check")

    execute(db, "INSERT INTO period (label, start, \"end\", income_pence, expenses_pence, "
                "net_pence, reserve_pence, distributable_pence, method, fingerprint, closed_at) "
                "VALUES ('2024-25', '2024-04-01', '2025-03-31', 0, 0, 0, 0, 0, 'equal', 't', "
                "'2025-06-01 00:00:00')")
    before = snapshot(db)
    late = write(tmp_path, HEADER + "2026-04-01,income,5,contracts,,L1\n2025-01-05,expense,5,rent,,L2\n", "late.csv")
    run = practice("ledger", "import", late, as_="mo")
    assert (run.code, run.err) == (1, "swp: line 3: 2025-01-05 is inside the closed period 2024-25 "
                                      "(2024-04-01 to 2025-03-31); corrections go into an open period\n")
    assert query(db, schema) == kept and snapshot(db) == before
    with pytest.raises(Exception, match="closed period"):  # around swp: the database refuses it
        execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, "
                    "recorded_at) VALUES ('2025-01-05', 'income', 500, 'contracts', '1000', '4000', "
                    "'2026-04-01 00:00:00')")


@pytest.mark.parametrize("again", [5, 0])
def test_the_event_digest_is_the_stored_rows_digest(practice, db, tmp_path, monkeypatch, reading, again):
    """The event's digest of an import's rows (made as they are inserted, or by the process
    reading ahead as it sends them) is the digest of the rows as they are stored, read back
    one by one: over several batches, odd text (quotes, commas, non-ASCII, a backslash, a
    percent sign), empty memos, with and without rows skipped (`again`: rows given twice), and
    with an entry recorded by hand first. On SQLite the rows are not read back to make it,
    unless rows were skipped after being digested ahead."""
    import json

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from swp.models import LedgerEntry
    from swp.services import audit, ledger

    monkeypatch.setattr(ledger, "BATCH_ROWS", 7)
    practice.ok("ledger", "income", "12.00", "--category", "grants", "--date", "2026-04-01", as_="mo")
    memos = ['"quoted, with comma"', "café – ünïcode ✓", "back\\slash 100%", "", "tab\there", "   "]
    lines = [f"2026-{4 + i % 3:02d}-{1 + i % 28:02d},{'income' if i % 2 else 'expense'},"
             f"{1 + i}.{i % 100:02d},{'contracts' if i % 2 else 'rent'},{memos[i % len(memos)]},R{i}\n"
             for i in range(40)]
    path = write(tmp_path, HEADER + "".join(lines + lines[:again]))
    read_backs = []
    range_digest = audit.range_digest
    monkeypatch.setattr(audit, "range_digest", lambda *args: read_backs.append(args) or range_digest(*args))
    run = practice.ok("ledger", "import", path, as_="mo", json=True)
    assert (run.json["added"], run.json["skipped"]) == (40, again)
    if not is_postgres(db):
        assert len(read_backs) == (1 if again and reading == "ahead" else 0)
    payload = json.loads(audit_rows(db)[-1]["payload"])
    [span] = [span for name, body in payload if name == audit.ROWS_ACTION for span in body["ranges"]]
    engine = create_engine(database_url(db))
    try:
        with Session(engine) as session:
            read_back = audit.range_digest(session, LedgerEntry.__table__, span["first"], span["last"])
    finally:
        engine.dispose()
    assert span["count"] == 40 and span["last"] - span["first"] == 39
    assert (span["count"], span["digest"]) == read_back
    practice.ok("check")


@pytest.mark.parametrize("block", [16, 64, 1 << 16])
def test_a_line_that_is_not_utf8_is_named_after_the_good_lines_before_it(practice, db, tmp_path, monkeypatch, block):
    """The file is read in blocks of whole lines: whatever the block size, a bad byte is
    reported on its own line, a bad row before it first, and a lone carriage return stays
    inside its line (as the CSV reader would see it)."""
    from swp.importers import Lines

    monkeypatch.setattr(Lines, "BLOCK", block)
    before = snapshot(db)
    rows = good_rows(30).encode()
    bad_byte = b"2026-04-03,income,5,grants,caf\xe9,RX\n"
    path = tmp_path / "bank.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + rows + bad_byte + rows)
    run = practice("ledger", "import", str(path), as_="mo")
    assert (run.code, run.err) == (1, "swp: line 32: not UTF-8 text; save the file as CSV UTF-8\n")
    path.write_bytes(HEADER.encode() + rows + b"2026-04-03,income,oops,grants,x,RY\n" + bad_byte)
    run = practice("ledger", "import", str(path), as_="mo")
    assert run.code == 1 and run.err.startswith("swp: line 32: ") and "UTF-8" not in run.err
    path.write_bytes(HEADER.encode() + rows + b"2026-04-03,income,5,grants,a\rb,RZ\n")
    run = practice("ledger", "import", str(path), as_="mo")
    assert run.code == 1 and "line 32: not valid CSV" in run.err
    assert snapshot(db) == before
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + rows + "2026-04-03,income,5,grants,café,RX".encode())
    run = practice.ok("ledger", "import", str(path), as_="mo", json=True)
    assert run.json["added"] == 31
    assert entries(db)[-1][4:6] == ("café", "RX")


def test_a_row_between_streamed_rows_makes_the_range_read_back(practice, db):
    """Rows handed to the driver are digested as they go in only while they are the whole
    range; an entry recorded between two batches (in the same unit of work) sends the event
    back to reading the range, and the digest is still the stored rows'."""
    import json
    from datetime import date

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from swp.clock import now
    from swp.models import LedgerEntry
    from swp.services import audit, ledger
    from swp.services.uow import perform

    table = LedgerEntry.__table__

    def work(session):
        binders = audit.driver_binders(session, table, ledger.IMPORT_COLUMNS)
        stamp = now()

        def row(i):
            values = (date(2026, 4, 1 + i), "income", 100 + i, "grants", "assets:bank", "income:grants",
                      f"row {i}", f"S{i}", stamp)
            return tuple(bind(v) if bind else v for bind, v in zip(binders, values, strict=True))

        audit.bulk_insert(session, table, [row(0), row(1)], columns=ledger.IMPORT_COLUMNS)
        ledger.record(session, actor="mo", kind="income", amount_pence=500, day=date(2026, 4, 9),
                      category="contracts")
        session.flush()
        audit.bulk_insert(session, table, [row(2), row(3)], columns=ledger.IMPORT_COLUMNS)

    perform(db, work, write=True, command="test", args={}, actor="mo")
    payload = json.loads(audit_rows(db)[-1]["payload"])
    [span] = [span for name, body in payload if name == audit.ROWS_ACTION for span in body["ranges"]]
    engine = create_engine(database_url(db))
    try:
        with Session(engine) as session:
            read_back = audit.range_digest(session, table, span["first"], span["last"])
    finally:
        engine.dispose()
    assert (span["first"], span["last"], span["count"]) == (1, 5, 5)
    assert (span["count"], span["digest"]) == read_back


_GOOD = {  # texts for each column of swp's CSV as a batch checked a column at a time has them
    "date": ["2025-05-01", "2025-06-30"],
    "type": ["income", "expense"],
    "amount": ["1.00", "12.5", "40", "20000000.00"],
    "category": ["contracts", "grants", "rent"],
    "memo": ["", "  ", "a memo", " café, ünïcode ", '"quoted"'],
    "ref": ["R1", " R2 ", "R3", "R4"],
}
_OTHER = {  # and texts that only the row-by-row check takes (or refuses)
    "date": ["2025-13-01", "1/5/2025", "", "2025-02-30", "2025-07-01"],
    "type": ["Income", " expense", "loan", "x"],
    "amount": ["0.00", "20000000.01", "1,234.50", "£5", "-3", "1e3", "abc", "1\n2", "3\n"],
    "category": ["Rent", "bad cat!", "", "sundries"],
    "ref": ["", "  "],
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(*(st.sampled_from(v) for v in _GOOD.values())), min_size=1, max_size=12),
       other=st.none() | st.tuples(st.integers(0, 11), st.sampled_from(sorted(_OTHER)), st.data()),
       order=st.permutations(range(6)), warm=st.booleans())
def test_a_batch_checked_a_column_at_a_time_is_the_batch_checked_row_by_row(practice, rows, other, order, warm):
    """An import checks a batch a column at a time when every row is plainly written and its
    dates and categories were met before (`warm`: the rows were seen before, all but one
    `other` cell); that gives exactly what checking each row gives, and any other batch is
    left to the row-by-row check (which names the bad row)."""
    from swp.db import open_database
    from swp.errors import InputError
    from swp.services import ledger

    header = [ledger.IMPORT_HEADER[i] for i in order]
    positions = ledger._header_positions(header)
    seen = [(n + 2, [list(row)[i] for i in order]) for n, row in enumerate(rows)]
    batch = [(line, list(cells)) for line, cells in seen]
    if other is not None:
        at, column, data = other
        at %= len(rows)
        batch[at][1][order.index(ledger.IMPORT_HEADER.index(column))] = data.draw(st.sampled_from(_OTHER[column]))
    database = open_database(practice.db)
    try:
        with database.transaction(write=False) as session:
            importer = ledger._Importer(session, periods=[])
            if warm:  # the dates and categories met in earlier batches
                for line, cells in seen:
                    importer.parse(cells, positions, line)
            fast = importer.parse_many([cells for _, cells in batch], positions)
            try:
                slow = [importer.parse(cells, positions, line) for line, cells in batch]
            except InputError:
                slow = None
    finally:
        database.dispose()
    assert (fast is not None) == (warm and other is None)
    if fast is not None:
        assert fast == slow


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["income", "expense"]), st.integers(1, 10**6),
                               st.sampled_from(["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8"])),
                     min_size=1, max_size=8),
       periods=st.lists(st.tuples(st.integers(-5, 45), st.integers(0, 10)), max_size=2))
def test_a_batch_taken_whole_is_the_batch_gone_through_row_by_row(practice, rows, periods):
    """A batch with no ref twice and no day in a closed period is taken whole; it gives what
    going through it row by row gives, and any other batch is gone through row by row."""
    from datetime import date, timedelta

    from swp.db import open_database
    from swp.errors import InputError
    from swp.services import ledger

    first = date(2026, 4, 1)
    batch = [(n + 2, (first + timedelta(days=d), kind, pence, "contracts", None),
              ((first + timedelta(days=d)).isoformat(), kind, pence, "contracts", "a", "b", None, ref, "t"))
             for n, (d, kind, pence, ref) in enumerate(rows)]
    database = open_database(practice.db)
    try:
        with database.transaction(write=False) as session:
            importer = ledger._Importer(session, periods=[
                (first + timedelta(days=s), first + timedelta(days=s + length), f"p{s}") for s, length in periods])

            def outcome(sort, *args):
                try:
                    return sort(*args, {})
                except InputError as exc:
                    return exc.message

            lines, keys, rows = (list(column) for column in zip(*batch, strict=True))
            assert list(map(ledger._key, rows)) == keys  # (what a row must match, from the row as bound)
            assert (outcome(importer._sorted, lines, rows, importer.whole(rows))
                    == outcome(importer._sorted_row_by_row, batch))
    finally:
        database.dispose()


def test_importing_swps_own_csv_builds_no_bank_tables(practice, db, tmp_path):
    """A file in swp's own CSV is told from a bank's by its header alone: its import does not
    import the bank-file service, whose table classes (bank links, balance assertions...) each
    cost start-up time; a bank file's import does."""
    import subprocess
    import sys

    code = ("import sys; from swp.cli import main; sys.argv = ['swp', '--db', sys.argv[1], '--as', 'mo', "
            "'ledger', 'import', sys.argv[2]]\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
            "print('BANK', 'swp.services.banking' in sys.modules, 'swp.models.banking' in sys.modules)")
    own = write(tmp_path, HEADER + good_rows(3))
    out = subprocess.run([sys.executable, "-c", code, db, own], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "BANK False False"
    starling = write(tmp_path, "Date,Counter Party,Reference,Type,Amount (GBP),Balance (GBP),Spending Category,Notes\n"
                               "31/03/2026,Leeds City Council,INV 1,FASTER PAYMENT,100.00,100.00,INCOME,\n",
                     name="starling.csv")
    out = subprocess.run([sys.executable, "-c", code.replace("sys.argv[2]]", "sys.argv[2], '--uncategorised', 'contracts']"),
                          db, starling], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "BANK True True"


def test_the_collector_is_off_while_the_rows_go_in_and_as_it_was_after_however_the_import_ends(
        practice, db, tmp_path, monkeypatch):
    """An import turns Python's cyclic garbage collector off while its rows go in
    (`startup.without_collection`) and leaves it as it found it afterwards: after an import
    that succeeds, one refused halfway (a bad row in a later batch, a line that is not valid
    CSV) and one that fails unexpectedly (an error from the database, say), whether the
    collector was on or off before."""
    import gc

    from swp.db import open_database
    from swp.services import ledger

    seen: list[bool] = []
    settle = ledger._Importer.settle

    def spy(self, *batch):
        seen.append(gc.isenabled())
        return settle(self, *batch)

    monkeypatch.setattr(ledger._Importer, "settle", spy)
    monkeypatch.setattr(ledger, "BATCH_ROWS", 10)
    was = gc.isenabled()
    try:
        for n, enabled in enumerate((True, False)):
            start = 1000 * n
            (gc.enable if enabled else gc.disable)()
            practice.ok("ledger", "import", write(tmp_path, HEADER + good_rows(25, start=start)), as_="mo")
            assert len(seen) == 3 and not any(seen) and gc.isenabled() is enabled
            for bad, reason in (("2026-04-01,income,5,office rent,,X\n", "not a category"),
                                ('2026-04-01,income,5,contracts,"unclosed,X\n', "not valid CSV")):
                seen.clear()
                run = practice("ledger", "import",
                               write(tmp_path, HEADER + good_rows(15, start=start + 100) + bad), as_="mo")
                assert run.code == 1 and run.err.startswith(f"swp: line 17: {reason}"), run.err
                assert len(seen) == 2 and not any(seen) and gc.isenabled() is enabled

            def fail(self, fresh):
                raise RuntimeError("the disk is full")

            with monkeypatch.context() as patch:
                patch.setattr(ledger._Importer, "_insert", fail)
                database = open_database(practice.db)
                try:
                    with pytest.raises(RuntimeError), database.transaction(write=True) as session:
                        ledger.import_csv(session, write(tmp_path, HEADER + good_rows(25, start=start + 200)),
                                          actor="mo")
                finally:
                    database.dispose()
            assert gc.isenabled() is enabled
            seen.clear()
    finally:
        (gc.enable if was else gc.disable)()


def test_a_reader_process_that_dies_fails_the_import_and_writes_nothing(practice, db, tmp_path, monkeypatch, reading):
    """The process reading ahead is killed halfway (out of memory, say): the import fails
    (an unexpected error: it is not the file's fault) and nothing of it stays in the books."""
    import os

    from swp.db import open_database
    from swp.services import ledger

    if reading == "here":
        pytest.skip("only a file read ahead has a second process")
    digested = ledger._digested

    def dying(*args):
        items = digested(*args)
        yield next(items)
        os._exit(9)

    monkeypatch.setattr(ledger, "_digested", dying)
    monkeypatch.setattr(ledger, "BATCH_ROWS", 10)
    path = write(tmp_path, HEADER + good_rows(50))
    before = snapshot(db)
    database = open_database(db)
    try:
        with pytest.raises(RuntimeError, match="reading the file ahead stopped before its end"):
            database.run(lambda s: ledger.import_csv(s, path, actor="mo"), write=True)
    finally:
        database.dispose()
    assert snapshot(db) == before


def test_a_file_read_ahead_is_imported_as_one_read_here(practice, db, tmp_path, monkeypatch, reading):
    """The same file, with rows the second process cannot take a column at a time (blank
    lines, a memo of two lines, a type in capitals) and rows already in the books, gives the
    same entries, summary and event whether it is read here or ahead; and check finds the
    books sound."""
    from swp.services import ledger

    monkeypatch.setattr(ledger, "BATCH_ROWS", 16)
    practice.ok("ledger", "import", write(tmp_path, HEADER + good_rows(20), "first.csv"), as_="mo")
    odd = ("2026-04-03,INCOME,5.00,contracts,\"two\nlines\",Q1\n\n   \n"
           "2026-04-04,expense,6,rent,  spaced  ,Q2\n")
    path = write(tmp_path, HEADER + good_rows(30, start=10) + odd + good_rows(40, start=100))
    run = practice.ok("ledger", "import", path, as_="mo", json=True).json
    assert (run["rows"], run["added"], run["skipped"]) == (72, 62, 10)
    stored = entries(db)
    assert [entry[5] for entry in stored] == [f"R{i}" for i in range(40)] + ["Q1", "Q2"] + [f"R{i}" for i in range(100, 140)]
    assert stored[40:42] == [
        ("2026-04-03", "income", 500, "contracts", "two\nlines", "Q1", "assets:bank", "income:contracts"),
        ("2026-04-04", "expense", 600, "rent", "spaced", "Q2", "expenses:rent", "assets:bank")]
    assert (run["income_pence"], run["expenses_pence"]) == (
        sum(e[2] for e in stored[20:] if e[1] == "income"), sum(e[2] for e in stored[20:] if e[1] == "expense"))
    practice.ok("check")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.one_of(st.just(None), st.lists(
           st.sampled_from(["a", "", " ", "x y", "two\nlines", "cr\r\nlf", "q\"uote", "c,omma", "\n"]),
           min_size=1, max_size=4)), max_size=14),
       end=st.sampled_from(["\n", "\r\n"]), size=st.integers(1, 5))
def test_each_row_is_named_by_the_line_it_starts_on_however_the_batch_is_read(rows, end, size, reading):
    """A batch is read whole from the CSV reader, then each row's line is worked out (one
    line, and one more per line end in its quoted cells), blank rows left out: the lines are
    those the reader counts row by row, whatever the batch size, line ends and quoting."""
    import csv
    import io
    import itertools

    from swp.services import ledger

    if reading == "ahead":
        pytest.skip("no file is read")
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator=end)
    for row in rows:
        if row is None:
            text.write(end)  # a blank line
        else:
            writer.writerow(row)
    content = text.getvalue()
    expected = []
    reader = csv.reader(io.StringIO(content, newline="\n"), strict=True)
    before = 0
    for cells in reader:
        if (cells and cells[0] and not cells[0].isspace()) or "".join(cells).strip():
            expected.append((before + 1, cells))
        before = reader.line_num
    got = []
    reader = csv.reader(io.StringIO(content, newline="\n"), strict=True)
    before = 0
    while table := list(itertools.islice(reader, size)):
        lines, kept, before = ledger._lines_of(table, before, reader.line_num - before)
        assert before == reader.line_num
        got += list(zip(lines, kept, strict=True))
    assert got == expected


def test_a_long_file_imports_when_the_process_ignores_sigchld(practice, db, tmp_path, monkeypatch, reading):
    """swp started by a program that ignores SIGCHLD (an ignored signal stays ignored across
    exec) has its children collected by the system: a long file imports as it does anywhere
    else, not as an unexpected error once every row is in."""
    import signal

    from swp import readahead
    from swp.services import ledger

    if reading == "here":
        pytest.skip("only a file read ahead has a second process")
    monkeypatch.setattr(ledger, "read_ahead", readahead.read_ahead)  # forked where it is safe, or not at all
    path = write(tmp_path, HEADER + good_rows(2500))
    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        run = practice("ledger", "import", path, as_="mo", json=True)
    finally:
        signal.signal(signal.SIGCHLD, before)
    assert run.code == 0, run.err
    assert (run.json["added"], run.json["skipped"]) == (2500, 0)
    practice.ok("check")
