"""The benchmarks compare like with like: the plain baseline import stores exactly what
`swp ledger import` stores, the hledger journal holds the same postings as the export, and the
bank figure's three imports store the same entries.
(Nothing here is timed: the figures come from `make bench`.)"""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import copy_practice

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("swp_bench", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["swp_bench"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def rows(db: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT date, kind, amount_pence, category, debit, credit, memo, ref, "
                            "reverses, contract_id FROM ledger_entry ORDER BY id").fetchall()
    finally:
        conn.close()


def test_the_baseline_import_stores_what_swp_stores(bench, practice_template, tmp_path):
    source = tmp_path / "bank.csv"
    bench.write_csv(source, 600)
    swp = copy_practice(practice_template, str(tmp_path / "swp.db"))
    swp.ok("ledger", "import", str(source), as_="mo")
    plain = bench.plain_table(practice_template, str(tmp_path / "plain.db"))
    subprocess.run([sys.executable, "-c", bench.BASELINE_IMPORT, plain, str(source)], check=True)
    assert len(rows(swp.db)) == 600
    assert rows(plain) == rows(swp.db)


def test_the_floor_writes_store_what_swp_stores_and_leave_its_schema_as_it_was(bench, practice_template, tmp_path):
    """The import's floor (swp's writes alone, on rows made before its clock starts) writes the
    rows swp's import writes, and makes again what it set aside."""
    source = tmp_path / "bank.csv"
    bench.write_csv(source, 600)
    swp = copy_practice(practice_template, str(tmp_path / "swp.db"))
    swp.ok("ledger", "import", str(source), as_="mo")

    def schema(db: str) -> list[tuple]:
        with closing(sqlite3.connect(db)) as conn:
            return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()

    for mode in ("rebuild", "keep"):
        floor = bench.copy_db(practice_template, str(tmp_path / f"floor-{mode}.db"))
        seconds = tmp_path / f"floor-{mode}.txt"
        subprocess.run([sys.executable, "-c", bench.FLOOR_WRITES, floor, str(source), mode, str(seconds)],
                       check=True)
        assert float(seconds.read_text()) > 0
        assert len(rows(floor)) == 600
        assert rows(floor) == rows(swp.db)
        assert schema(floor) == schema(practice_template)


def test_the_baseline_table_has_the_same_columns_and_one_unique_index(bench, practice_template, tmp_path):
    plain = bench.plain_table(practice_template, str(tmp_path / "plain.db"))
    conns = sqlite3.connect(practice_template), sqlite3.connect(plain)
    try:
        ours, theirs = (c.execute("PRAGMA table_info(ledger_entry)").fetchall() for c in conns)
        indexes = conns[1].execute("PRAGMA index_list(ledger_entry)").fetchall()
        unique = [conns[1].execute(f"PRAGMA index_info({i[1]})").fetchall() for i in indexes]
        others = conns[1].execute("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view') "
                                  "OR (type = 'table' AND name <> 'ledger_entry')").fetchall()
    finally:
        for c in conns:
            c.close()
    assert [(c[1], c[2], c[5]) for c in theirs] == [(c[1], c[2], c[5]) for c in ours]
    assert len(indexes) == 1 and indexes[0][2] == 1  # one index, unique
    assert [col[2] for col in unique[0]] == ["ref"]
    assert others == []


def test_the_plain_sql_baselines_give_swps_totals(bench, practice_template, tmp_path):
    source = tmp_path / "bank.csv"
    bench.write_csv(source, 300)
    swp = copy_practice(practice_template, str(tmp_path / "swp.db"))
    swp.ok("ledger", "import", str(source), as_="mo")
    balance = swp.ok("ledger", "balance", json=True).json
    for query in bench.BALANCE_SQL:
        conn = sqlite3.connect(swp.db)
        got = conn.execute(query).fetchall()
        conn.close()
        assert sum(r[2] for r in got if r[0] == "income") == balance["income_pence"]
        assert sum(r[2] for r in got if r[0] == "expense") == balance["expenses_pence"]
    _, period_start, period_end = bench.PERIOD
    for query in bench.CLOSE_SQL:
        conn = sqlite3.connect(swp.db)
        got = conn.execute(query, (period_start, period_end)).fetchall()
        conn.close()
        assert sum(r[3] for r in got) == 300


def test_the_hledger_journal_keeps_every_posting_and_drops_beancount_lines(bench, practice_template, tmp_path):
    source = tmp_path / "bank.csv"
    bench.write_csv(source, 40)
    swp = copy_practice(practice_template, str(tmp_path / "swp.db"))
    swp.ok("ledger", "import", str(source), as_="mo")
    beancount = tmp_path / "books.beancount"
    swp.ok("export", "beancount", "--output", str(beancount))
    journal = tmp_path / "books.journal"
    bench.to_hledger(beancount, journal)
    text = journal.read_text()
    assert "option " not in text and " open " not in text and "swp-id:" not in text
    postings = [line for line in text.splitlines() if line.startswith("  ")]
    assert len(postings) == 2 * 40
    assert all(line.split()[0][0].isupper() and line.rstrip().endswith("GBP") for line in postings)


def test_the_bank_baseline_of_then_imports_the_same_lines_as_this_swp(bench, tmp_path, practice_template):
    """The bank figure's baseline, swp as it was when bank files were asked for (unpacked from
    git and compiled), founds the same practice and stores the same entries from the same
    own-format file as this swp, and the bank file holds the same lines."""
    if subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{bench.BANK_ASKED}^{{commit}}"],
                      capture_output=True).returncode != 0:
        pytest.skip(f"no git history with {bench.BANK_ASKED} here")
    own, bank, rules = bench.write_bank_files(tmp_path, 300)
    then = bench.unpack(tmp_path, bench.BANK_ASKED, "then")
    assert list((then / "swp").rglob("*.pyc")), "the swp of then runs compiled, as this one does"
    stored = {}
    for side, cwd, args in (("then", then, [str(own)]), ("now", ROOT, [str(own)]),
                            ("bank", ROOT, [str(bank), "--rules", str(rules)])):
        db = str(tmp_path / f"{side}.db")
        if side == "then":  # founded by the swp of then, as the benchmark does
            bench.found(db, cwd=cwd, sandbox=False)
        else:  # the same five members, founded by this swp (the suite's template, copied)
            copy_practice(practice_template, db)
        bench.child(bench.swp(db, "ledger", "import", *args), cwd=cwd)
        conn = sqlite3.connect(db)
        try:
            stored[side] = conn.execute("SELECT date, kind, amount_pence, category, memo, ref FROM ledger_entry "
                                        "ORDER BY id").fetchall()
            members = conn.execute("SELECT handle FROM member ORDER BY handle").fetchall()
        finally:
            conn.close()
        assert members == [("ann",), ("bea",), ("cal",), ("mo",), ("sam",)]
    assert len(stored["then"]) == 300 and stored["then"] == stored["now"]
    assert [r[:4] for r in stored["bank"]] == [r[:4] for r in stored["now"]]
