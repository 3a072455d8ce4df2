"""The registers of members and officers, and the addresses they hold (personal data)."""

from __future__ import annotations

import csv
import io
import os
import stat

from conftest import execute, snapshot
from pypdf import PdfReader


def _words(path) -> str:
    if str(path).endswith(".pdf"):
        text = "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)
    else:
        text = open(path, encoding="utf-8").read()
    return " ".join(text.replace("\\", "").split())


def test_a_member_records_their_own_address_and_sees_what_the_register_holds(practice):
    practice.ok("member", "update", "ann", "--address", "1 High Street, Leeds LS1 1AA",
                "--email", "ann@example.org", "--email-purposes", "notices,statements", as_="ann")
    shown = practice.ok("member", "show", "ann", as_="ann", json=True).json["register"]
    assert shown == {"address": "1 High Street, Leeds LS1 1AA", "email": "ann@example.org",
                     "email_purposes": ["notices", "statements"]}
    human = practice.ok("member", "show", "ann", as_="ann").out
    assert "1 High Street, Leeds LS1 1AA" in human and "notices, statements" in human
    assert practice.ok("member", "show", "ann", as_="mo", json=True).json["register"] == shown
    # another member, or no one named, does not see ann's addresses
    assert practice.ok("member", "show", "ann", as_="bea", json=True).json["register"] is None
    assert "1 High Street" not in practice.ok("member", "show", "ann").out


def test_an_empty_address_or_email_clears_it(practice):
    practice.ok("member", "update", "ann", "--address", "1 High Street", "--email", "ann@example.org",
                as_="ann")
    practice.ok("member", "update", "ann", "--address", "", as_="ann")
    register = practice.ok("member", "show", "ann", as_="ann", json=True).json["register"]
    assert (register["address"], register["email"]) == (None, "ann@example.org")
    practice.ok("member", "update", "ann", "--email", "  ", as_="ann")
    register = practice.ok("member", "show", "ann", as_="ann", json=True).json["register"]
    assert (register["address"], register["email"]) == (None, None)


def test_another_members_address_needs_a_manager(practice):
    before = snapshot(practice.db)
    run = practice("member", "update", "bea", "--address", "2 Low Street", as_="ann")
    assert run.code == 1
    assert run.err == ("swp: recording another member's address needs --as a current manager; "
                       "'ann' is not one\n")
    assert snapshot(practice.db) == before
    practice.ok("member", "update", "bea", "--address", "2 Low Street", as_="mo")


def test_an_address_with_control_characters_is_refused(practice):
    before = snapshot(practice.db)
    for bad in ("1 High St\nLeeds", "1 High St\x1b[31m", "x\x00y"):
        run = practice("member", "update", "ann", "--address", bad, as_="ann")
        assert run.code == 1, bad
        assert "holds a control character" in run.err
    run = practice("member", "update", "ann", "--email", "not an email", as_="ann")
    assert run.code == 1 and run.err == "swp: not an email address: 'not an email'\n"
    run = practice("member", "update", "ann", "--email-purposes", "notices", as_="ann")
    assert run.code == 1 and "has no email" in run.err
    assert snapshot(practice.db) == before


def test_member_lists_omit_addresses_unless_asked(practice):
    practice.ok("member", "update", "ann", "--address", "1 High Street", "--email",
                "ann@example.org", as_="ann")
    plain = practice.ok("member", "list", json=True).json["members"]
    assert all("address" not in m and "email" not in m for m in plain)
    full = practice.ok("member", "list", "--with-addresses", json=True).json["members"]
    ann = next(m for m in full if m["handle"] == "ann")
    assert (ann["address"], ann["email"]) == ("1 High Street", "ann@example.org")


def _history(practice):
    """dee joins on 2026-04-01; cal's last day is 2026-03-31 and bea's is 2026-04-01."""
    practice.ok("member", "add", "dee", "--name", "Dee Okafor", "--role", "practitioner",
                "--employed-since", "2026-04-01", "--hours", "30", "--registration", "SW200001",
                as_="mo")
    practice.ok("member", "add", "eve", "--name", "Eve Evans", "--role", "practitioner",
                "--employed-since", "2026-04-02", "--hours", "30", "--registration", "SW200002",
                as_="mo")
    execute(practice.db, "UPDATE member SET left_on = '2026-03-31' WHERE handle = 'cal'",
            "UPDATE member SET left_on = '2026-04-01' WHERE handle = 'bea'")
    practice.ok("member", "update", "ann", "--address", "1 High Street, Leeds", "--email",
                "ann@example.org", "--email-purposes", "notices", as_="ann")
    return practice


def _csv_rows(text: str) -> dict[str, dict]:
    return {row["name"]: row for row in csv.DictReader(io.StringIO(text))}


def test_the_register_as_at_a_past_date_follows_the_member_history(practice):
    _history(practice)
    rows = {r["handle"]: r for r in practice.ok("register", "members", "--as-at", "2026-04-01",
                                                 as_="mo", json=True).json["rows"]}
    assert sorted(rows) == ["ann", "bea", "cal", "dee", "mo", "sam"]  # eve joins the day after
    assert rows["dee"]["admitted"] == "2026-04-01" and rows["dee"]["ceased"] is None
    assert rows["bea"]["ceased"] == "2026-04-01"  # her last day is the day itself
    assert rows["cal"]["ceased"] == "2026-03-31"
    assert all(r["shares_held"] == "none" for r in rows.values())
    earlier = {r["handle"]: r for r in practice.ok("register", "members", "--as-at", "2026-03-31",
                                                    as_="mo", json=True).json["rows"]}
    assert "dee" not in earlier and earlier["bea"]["ceased"] is None
    assert earlier["cal"]["ceased"] == "2026-03-31"


def test_every_format_of_the_registers_reads_back(practice, tmp_path):
    _history(practice)
    for fmt, ext in (("text", "txt"), ("csv", "csv"), ("pdf", "pdf"), ("md", "md"),
                     ("html", "html")):
        target = tmp_path / f"members.{ext}"
        practice.ok("register", "members", "--as-at", "2026-04-01", "--format", fmt, "--output",
                    str(target), as_="mo")
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        if fmt == "csv":
            rows = _csv_rows(target.read_text(encoding="utf-8"))
            assert sorted(rows) == ["Ann Achebe", "Bea Brown", "Cal Chen", "Dee Okafor",
                                    "Mo Malik", "Sam Singh"]
            assert rows["Ann Achebe"]["postal address"] == "1 High Street, Leeds"
            assert rows["Ann Achebe"]["email may be used for"] == "notices"
            assert (rows["Bea Brown"]["ceased"], rows["Dee Okafor"]["admitted"]) == \
                ("2026-04-01", "2026-04-01")
            assert rows["Mo Malik"]["postal address"] == ""
            assert {r["shares held"] for r in rows.values()} == {"none"}
            continue
        text = "".join(_words(target).split())  # a PDF table cell may wrap anywhere
        for needed in ("Register of members as at 2026-04-01", "Ann Achebe", "1 High Street, Leeds",
                       "ann@example.org", "Dee Okafor", "2026-03-31", "no share capital"):
            assert "".join(needed.split()) in text, (fmt, needed)
        assert "EveEvans" not in text
    for fmt, ext in (("text", "txt"), ("csv", "csv"), ("pdf", "pdf"), ("md", "md"),
                     ("html", "html")):
        target = tmp_path / f"officers.{ext}"
        practice.ok("register", "officers", "--format", fmt, "--output", str(target), as_="mo")
        text = "".join(_words(target).split())
        assert "MoMalik" in text and "manager" in text and "2024-04-01" in text
        assert "AnnAchebe" not in text


def test_a_register_pdf_holds_an_address_or_a_name_too_long_for_one_page(practice, tmp_path):
    address = "12 Water Lane, " * 100  # 1,500 characters: more lines than a page holds
    name = "Dee " + "Okafor " * 1070  # 7,494 characters
    practice.ok("member", "update", "mo", "--address", address, as_="mo")
    practice.ok("member", "add", "dee", "--name", name, "--role", "practitioner", "--registration",
                "SW100009", "--employed-since", "2024-04-01", "--hours", "30", "--pay", "30000", as_="mo")
    before = snapshot(practice.db)
    for register in ("members", "officers"):
        target = tmp_path / f"{register}.pdf"
        run = practice("register", register, "--format", "pdf", "--output", str(target), as_="mo")
        assert (run.code, run.err, run.out) == \
            (0, "", f"Wrote the register of {register} (pdf) to {target}.\n")
        text = _words(target)
        assert len(PdfReader(str(target)).pages) > 1
        words = text.split()  # the cell goes on in the rows below: no word is lost
        assert (words.count("Water"), words.count("Lane,")) == (100, 100)
        if register == "members":
            assert words.count("Okafor") == 1070
    assert snapshot(practice.db) == before


def test_the_registers_need_a_manager(practice):
    run = practice("register", "members", as_="ann")
    assert run.code == 1 and "needs --as a current manager" in run.err
    run = practice("register", "members", "--format", "pdf", as_="mo")
    assert run.code == 1 and "add --output PATH" in run.err
    run = practice("register", "officers", "--format", "xlsx", as_="mo")
    assert run.code == 2 and "'xlsx' is not one of text, csv, pdf, md, html" in run.err
    assert practice.ok("register", "officers", "--format", " CSV ", as_="mo").out.startswith(
        "section,name,office,postal address,from,to\n")


def test_the_officers_register_follows_role_changes(practice):
    practice.ok("member", "update", "sam", "--effective", "2026-05-01", "--role", "manager", as_="mo")
    rows = practice.ok("register", "officers", as_="mo", json=True).json["rows"]
    assert [(r["handle"], r["from"], r["to"]) for r in rows] == \
        [("mo", "2024-04-01", None), ("sam", "2026-05-01", None)]
    rows = practice.ok("register", "officers", "--as-at", "2026-04-30", as_="mo", json=True).json["rows"]
    assert [r["handle"] for r in rows] == ["mo"]


def test_a_members_own_statement_shows_what_the_register_holds(practice, tmp_path):
    practice.ok("member", "update", "ann", "--address", "1 High Street, Leeds", "--email",
                "ann@example.org", "--email-purposes", "statements", as_="ann")
    practice.ok("ledger", "income", "1000", "--date", "2026-01-20", "--category", "contracts",
                as_="mo")
    practice.ok("period", "close", "2026-Q1", "--start", "2026-01-01", "--end", "2026-03-31",
                as_="mo")
    held = practice.ok("statement", "2026-Q1", "--member", "ann", "--format", "json",
                       as_="ann").json["register"]
    assert held["Postal address"] == "1 High Street, Leeds" and held["Shares held"] == "none"
    assert held["Email may be used for"] == "statements"
    for fmt, ext in (("text", "txt"), ("md", "md"), ("html", "html"), ("csv", "csv"),
                     ("pdf", "pdf")):
        target = tmp_path / f"ann.{ext}"
        practice.ok("statement", "2026-Q1", "--member", "ann", "--format", fmt, "--output",
                    str(target), as_="ann")
        text = "".join(_words(target).split())
        assert "1HighStreet,Leeds" in text and "ann@example.org" in text, fmt
    assert len(PdfReader(str(tmp_path / "ann.pdf")).pages) == 1
