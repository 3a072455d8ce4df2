"""Profit-share statements: every format carries the same figures, which add up to the pool;
the PDF is one readable page per member; files are written safely; who may see what."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader

from swp.money import format_pence
from tests.conftest import database_url, snapshot


def tamper(db: str, table: str, trigger: str, sql: str) -> None:
    """Change a closed period's books behind swp's back: drop the guard, then write."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url(db))
    try:
        with engine.begin() as conn:
            on = f" ON {table}" if engine.dialect.name == "postgresql" else ""
            conn.execute(text(f"DROP TRIGGER {trigger}{on}"))
            conn.execute(text(sql))
    finally:
        engine.dispose()

Q1 = ("--start", "2026-01-01", "--end", "2026-03-31")
STATEMENT_KEYS = {"member", "period", "amount_pence", "share_percent", "fingerprint"}
HANDLES = ("ann", "bea", "cal", "mo", "sam")


@pytest.fixture
def closed(practice):
    """The conftest practice (equal shares) with an hours change and a closed first quarter."""
    practice.ok("member", "update", "bea", "--effective", "2026-02-01", "--hours", "37.5", as_="mo")
    for kind, amount, day, category in [("income", "20000", "2026-01-20", "contracts"),
                                        ("income", "2500.55", "2026-03-10", "outcome-payments"),
                                        ("expense", "3000", "2026-02-01", "rent"),
                                        ("expense", "499.99", "2026-03-01", "training")]:
        practice.ok("ledger", kind, amount, "--date", day, "--category", category, as_="mo")
    practice.ok("period", "close", "2026-Q1", *Q1, as_="mo")
    return practice


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def html_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    return " ".join(parser.parts)


def pdf_text(path) -> tuple[int, str]:
    reader = PdfReader(str(path))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_json_keys_and_the_amounts_add_up_to_the_pool(closed):
    one = closed.ok("statement", "2026-Q1", "--member", "ann", as_="mo", json=True).json
    assert STATEMENT_KEYS <= set(one)
    assert one["member"] == "ann" and one["period"] == "2026-Q1" and len(one["fingerprint"]) == 64
    every = closed.ok("statement", "2026-Q1", as_="mo", json=True).json
    assert set(every) == {"statements"}
    assert [s["member"] for s in every["statements"]] == list(HANDLES)
    assert every["statements"][0] == one
    period = closed.ok("period", "list", json=True).json["periods"][0]
    assert sum(s["amount_pence"] for s in every["statements"]) == period["distributable_pence"]
    assert {s["fingerprint"] for s in every["statements"]} == {period["fingerprint"]}
    assert abs(sum(s["share_percent"] for s in every["statements"]) - 100) < 0.05
    for s in every["statements"]:
        assert s["income_by_category"] == {"contracts": 2_000_000, "outcome-payments": 250_055}
        assert s["expenses_by_category"] == {"rent": 300_000, "training": 49_999}
        assert s["fingerprint_verified"] is True
        assert sum(b["part_pence"] for b in s["basis"]) == s["amount_pence"]


def test_every_format_shows_the_same_figures(closed, tmp_path):
    data = {s["member"]: s for s in closed.ok("statement", "2026-Q1", as_="mo", json=True).json["statements"]}
    for fmt in ("text", "md", "html", "pdf", "csv", "json"):
        folder = tmp_path / fmt
        run = closed.ok("statement", "2026-Q1", "--format", fmt, "--output", str(folder), as_="mo")
        assert "Wrote 5 statements" in run.out
        assert sorted(os.listdir(folder)) == sorted(f"2026-Q1-{h}.{'txt' if fmt == 'text' else fmt}"
                                                    for h in HANDLES)
        for handle, figures in data.items():
            path = folder / f"2026-Q1-{handle}.{'txt' if fmt == 'text' else fmt}"
            if fmt == "json":
                assert json.loads(path.read_text()) == figures
                continue
            if fmt == "csv":
                rows = {(r["section"], r["item"]): r for r in csv.DictReader(io.StringIO(path.read_text()))}
                assert {r["member"] for r in rows.values()} == {handle}
                assert int(rows[("share", "amount")]["pence"]) == figures["amount_pence"]
                assert int(rows[("income", "outcome-payments")]["pence"]) == 250_055
                assert int(rows[("income", "contracts")]["pence"]) == 2_000_000
                assert int(rows[("result", "distributable")]["pence"]) == figures["distributable_pence"]
                assert int(rows[("share", "year_to_date")]["pence"]) == figures["year_to_date_pence"]
                assert rows[("statement", "fingerprint")]["value"] == figures["fingerprint"]
                continue
            if fmt == "pdf":
                pages, text = pdf_text(path)
                assert pages == 1
            elif fmt == "html":
                text = html_text(path.read_text())
            else:
                text = path.read_text()
            for needed in (format_pence(figures["amount_pence"]), format_pence(figures["distributable_pence"]),
                           "outcome-payments", format_pence(250_055), "contracts", format_pence(2_000_000),
                           format_pence(figures["year_to_date_pence"]), figures["fingerprint"],
                           f"{figures['share_percent']:.2f}%", figures["name"], "2026-Q1"):
                assert needed in text, (fmt, handle, needed)


def test_the_pdf_is_one_page_per_member_and_shows_the_amount(closed, tmp_path):
    ann = closed.ok("statement", "2026-Q1", "--member", "ann", as_="mo", json=True).json
    target = tmp_path / "ann.pdf"
    closed.ok("statement", "2026-Q1", "--member", "ann", "--format", "pdf", "--output", str(target), as_="mo")
    pages, text = pdf_text(target)
    assert pages == 1
    assert f"Your allocation {format_pence(ann['amount_pence'])}" in text
    assert "Ann Achebe (ann)" in text and "Income: outcome-payments" in text
    everyone = tmp_path / "all.pdf"
    closed.ok("statement", "2026-Q1", "--format", "pdf", "--output", str(everyone), as_="mo")
    pages, text = pdf_text(everyone)
    assert pages == 5
    assert all(f"({h})" in text for h in HANDLES)
    reader = PdfReader(str(target))
    assert "ann" in reader.metadata.title


def test_printing_to_stdout(closed):
    text = closed.ok("statement", "2026-Q1", "--member", "bea", as_="mo").out
    assert "Profit-share statement for Bea Brown (bea)" in text
    assert "2026-02-01" in text and "37.5" in text  # the hours change shows in her days
    every = closed.ok("statement", "2026-Q1", "--format", "md", as_="mo").out
    assert every.count("# Profit-share statement") == 5
    html = closed.ok("statement", "2026-Q1", "--format", "html", as_="mo").out
    assert html.startswith("<!DOCTYPE html>") and html.count('<section class="statement">') == 5
    assert "@page" in html and "page-break-after" in html
    rows = list(csv.DictReader(io.StringIO(closed.ok("statement", "2026-Q1", "--format", "csv", as_="mo").out)))
    # the pool: net 1,900,056 less the 20% reserve (380,011)
    assert sum(int(r["pence"]) for r in rows if (r["section"], r["item"]) == ("share", "amount")) == 1_520_045
    run = closed("statement", "2026-Q1", "--format", "pdf", as_="mo")
    assert run.code == 1 and "add --output PATH" in run.err
    run = closed("statement", "2026-Q1", "--format", "docx", as_="mo")
    assert run.code == 2 and ("'docx' is not one of text, md, html, pdf, csv, json, payroll"
                              in run.err)


def test_files_are_private_atomic_and_never_overwritten_without_force(closed, tmp_path, db):
    folder = tmp_path / "out"
    closed.ok("statement", "2026-Q1", "--format", "html", "--output", f"{folder}/", as_="mo")
    target = folder / "2026-Q1-ann.html"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not [name for name in os.listdir(folder) if name.endswith(".tmp")]
    target.write_text("kept")
    run = closed("statement", "2026-Q1", "--format", "html", "--output", str(folder), as_="mo")
    assert run.code == 1 and "already exists; pass --force" in run.err
    assert target.read_text() == "kept"
    (folder / "2026-Q1-bea.html").unlink()
    run = closed("statement", "2026-Q1", "--format", "html", "--output", str(folder), as_="mo")
    assert run.code == 1 and not (folder / "2026-Q1-bea.html").exists()  # all or nothing
    closed.ok("statement", "2026-Q1", "--format", "html", "--output", str(folder), "--force", as_="mo")
    assert target.read_text().startswith("<!DOCTYPE html>")
    one = tmp_path / "ann.txt"
    closed.ok("statement", "2026-Q1", "--member", "ann", "--output", str(one), as_="mo")
    run = closed("statement", "2026-Q1", "--member", "ann", "--output", str(one), as_="mo")
    assert run.code == 1 and "already exists" in run.err
    # a missing folder is made (it once was refused with "no such folder")
    closed.ok("statement", "2026-Q1", "--member", "ann", "--output", str(tmp_path / "no" / "x.txt"), as_="mo")
    assert "Profit-share statement" in (tmp_path / "no" / "x.txt").read_text()
    closed.ok("statement", "2026-Q1", "--format", "md", "--output", str(tmp_path / "a" / "b") + "/",
              as_="mo")
    assert len(os.listdir(tmp_path / "a" / "b")) == 5
    # an existing folder with --member gets the default name inside it
    closed.ok("statement", "2026-Q1", "--member", "cal", "--format", "json", "--output", str(tmp_path), as_="mo")
    assert json.loads((tmp_path / "2026-Q1-cal.json").read_text())["member"] == "cal"


def test_who_may_see_statements(closed, db):
    run = closed("statement", "2026-Q1")
    assert run.code == 1 and "needs --as a current manager" in run.err
    own = closed.ok("statement", "2026-Q1", "--member", "cal", as_="cal", json=True).json
    assert own["member"] == "cal"
    run = closed("statement", "2026-Q1", "--member", "ann", as_="cal")
    assert run.code == 1 and "may see only their own" in run.err
    # --as alone: a member's own statement
    assert closed.ok("statement", "2026-Q1", as_="cal", json=True).json["member"] == "cal"


def test_unknown_periods_and_members(closed):
    run = closed("statement", "2025-Q4", as_="mo")
    assert run.code == 1 and "no closed period labelled '2025-Q4'; closed periods: 2026-Q1" in run.err
    run = closed("statement", "2026-Q1", "--member", "zed", as_="mo")
    assert run.code == 1 and "no member with handle 'zed'" in run.err
    closed.ok("member", "add", "zed", "--name", "Zed Zola", "--role", "practitioner", "--registration", "SW240029",
              "--employed-since", "2026-05-01", "--hours", "20", as_="mo")
    run = closed("statement", "2026-Q1", "--member", "zed", as_="mo")
    assert run.code == 1 and "zed has no allocation in 2026-Q1" in run.err


def test_year_to_date_runs_from_the_start_of_the_financial_year(practice):
    for day in ("2026-03-15", "2026-04-15", "2026-05-15"):
        practice.ok("ledger", "income", "500", "--date", day, "--category", "contracts", as_="mo")
    practice.ok("period", "close", "2026-Q1", *Q1, as_="mo")
    practice.ok("period", "close", "2026-04", "--start", "2026-04-01", "--end", "2026-04-30", as_="mo")
    practice.ok("period", "close", "2026-05", "--start", "2026-05-01", "--end", "2026-05-31", as_="mo")
    q1 = practice.ok("statement", "2026-Q1", "--member", "ann", as_="mo", json=True).json
    may = practice.ok("statement", "2026-05", "--member", "ann", as_="mo", json=True).json
    assert q1["year_start"] == "2025-04-01" and q1["year_to_date_pence"] == 8_000
    assert may["year_start"] == "2026-04-01" and may["year_to_date_pence"] == 16_000  # April and May only


def test_a_statement_refuses_books_that_no_longer_match_the_fingerprint(closed, db):
    closed.ok("statement", "2026-Q1", "--member", "ann", as_="mo")
    tamper(db, "ledger_entry", "ledger_entry_append_only_update",
           "UPDATE ledger_entry SET amount_pence = 1 WHERE category = 'rent'")
    before = snapshot(db)
    run = closed("statement", "2026-Q1", "--member", "ann", as_="mo")
    assert run.code == 4 and "no longer match the fingerprint of period 2026-Q1" in run.err
    assert snapshot(db) == before


def test_names_beyond_latin_1_print_in_the_pdf_as_written(swp, tmp_path):
    swp.ok("init", "--sandbox", "Riverside", "--local-authority", "Leeds")
    swp.ok("member", "add", "lu", "--name", "Łucja Wróbel-Ștefănescu", "--role", "practitioner",
           "--registration", "SW240030", "--employed-since", "2025-01-01", "--hours", "30")
    # with no manager, any member may keep the books, signing with their key: --as
    swp.ok("ledger", "income", "100", "--date", "2026-02-01", "--category", "grants", as_="lu")
    swp.ok("period", "close", "2026-Q1", *Q1, as_="lu")
    target = tmp_path / "lu.pdf"
    run = swp.ok("statement", "2026-Q1", "--member", "lu", "--format", "pdf", "--output", str(target))
    assert run.err == ""  # no warning of a letter the font lacks
    _, text = pdf_text(target)
    assert "Łucja Wróbel-Ștefănescu (lu)" in text and "£80.00" in text
    assert "Łucja Wróbel-Ștefănescu" in swp.ok("statement", "2026-Q1", "--member", "lu").out


def test_a_letter_the_pdf_font_lacks_prints_as_its_nearest_or_a_question_mark():
    from swp.reports.pdf import printable

    assert printable("Łucja Ngô Thị Hồng Ελένη Жанна £1.00 – ’") == "Łucja Ngô Thị Hồng Ελένη Жанна £1.00 – ’"
    # the font has no Chinese letters; a full-width letter or a letter of two has its plain letters
    assert printable("李 Wei Ａ ǅ") == "? Wei A Dž"
    assert printable("two\nlines") == "two\nlines"
    # accents typed as marks of their own (as text pasted from some computers comes) are put on
    # their letters, and a tab is a space: nothing the font lacks
    assert printable("Lo\u0308we\tZoe\u0301") == "Löwe Zoé"


def test_fingerprint_problems_for_swp_check(closed, db):
    from swp.db import open_database
    from swp.services.sharing.closing import fingerprint_problems

    database = open_database(db)
    try:
        assert database.run(fingerprint_problems, write=False) == []
        tamper(db, "period", "period_append_only_update",
               "UPDATE period SET distributable_pence = distributable_pence + 1")
        problems = database.run(fingerprint_problems, write=False)
    finally:
        database.dispose()
    assert len(problems) == 1 and "period 2026-Q1" in problems[0]


def test_contract_income_and_outcome_payments_appear_apart(practice, tmp_path):
    practice.ok("contract", "add", "LCC-7", "--authority", "Leeds City Council", "--value", "100000",
                "--start", "2026-01-01", "--end", "2026-12-31", "--outcome-percent", "20", as_="mo")
    practice.ok("contract", "invoice", "LCC-7", "8000", "--date", "2026-01-31", as_="mo")
    practice.ok("contract", "outcome", "LCC-7", "1500", "--date", "2026-03-31",
                "--measure", "placements stable for 6 months", as_="mo")
    practice.ok("period", "close", "2026-Q1", *Q1, as_="mo")
    data = practice.ok("statement", "2026-Q1", "--member", "ann", as_="mo", json=True).json
    assert data["income_by_category"] == {"contracts": 800_000, "outcome-payments": 150_000}
    practice.ok("statement", "2026-Q1", "--member", "ann", "--format", "pdf", "--output",
                str(tmp_path / "ann.pdf"), as_="mo")
    _, text = pdf_text(tmp_path / "ann.pdf")
    assert "Income: contracts £8,000.00" in text and "Income: outcome-payments £1,500.00" in text


def test_hostile_output_paths(closed, tmp_path):
    run = closed("statement", "2026-Q1", "--output", f"{tmp_path}/a\x00b", as_="mo")
    assert run.code == 1 and "NUL byte" in run.err
    (tmp_path / "real").mkdir()
    (tmp_path / "link.txt").symlink_to(tmp_path / "real" / "target.txt")
    run = closed("statement", "2026-Q1", "--member", "ann", "--output", str(tmp_path / "link.txt"), "--force", as_="mo")
    assert run.code == 1 and "symbolic link" in run.err
    assert not (tmp_path / "real" / "target.txt").exists()
    everyone = tmp_path / "all.md"
    closed.ok("statement", "2026-Q1", "--format", "md", "--output", str(everyone), as_="mo")
    assert everyone.read_text().count("# Profit-share statement") == 5


def test_a_markdown_statement_shows_a_members_own_text_as_written(practice):
    """A name or address with HTML or Markdown of its own is shown as text: the statement's
    Markdown wrote `<script>` and `**bold**` as they were (the registers' Markdown escaped them)."""
    practice.ok("member", "add", "dee", "--name", "Dee <script>alert(1)</script> *Dunn*", "--role",
                "practitioner", "--registration", "SW240041", "--employed-since", "2026-01-01",
                "--hours", "30", as_="mo")
    practice.ok("member", "update", "dee", "--address", "# 1 <b>Mill</b> Lane", as_="mo")
    practice.ok("ledger", "income", "1000", "--date", "2026-02-01", "--category", "contracts", as_="mo")
    practice.ok("period", "close", "2026-Q1", *Q1, as_="mo")
    md = practice.ok("statement", "2026-Q1", "--member", "dee", "--format", "md", as_="mo").out
    assert "<script>" not in md and "<b>" not in md
    assert "Dee &lt;script>alert(1)&lt;/script> \\*Dunn\\*" in md
    assert "\\# 1 &lt;b>Mill&lt;/b> Lane" in md
    assert "**Total income**" in md  # swp's own emphasis kept
