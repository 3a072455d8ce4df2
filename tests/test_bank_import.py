"""`swp ledger import` of what banks export: CSV profiles, a mapping file, OFX, QIF, CAMT.053;
rules, identities, hand-entry links, the running balance and balance assertions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import copy_practice, execute, is_postgres, query, snapshot

DATA = Path(__file__).resolve().parent / "data" / "bank"
RULES = str(DATA / "rules.toml")


def entries(db) -> list[tuple]:
    rows = query(db, "SELECT date, kind, amount_pence, category FROM ledger_entry ORDER BY date, id")
    return [(str(day), kind, pence, category) for day, kind, pence, category in rows]


THREE = [("2026-04-01", "income", 2000000, "contracts"),
         ("2026-04-02", "expense", 185000, "rent"),
         ("2026-04-15", "expense", 120050, "national-insurance")]


@pytest.mark.parametrize(("name", "fmt", "expected"), [
    ("starling.csv", "starling", THREE),  # BOM, CRLF, a trailing empty line
    ("lloyds.csv", "lloyds", THREE),  # apostrophe sort code, debit/credit columns, newest first
    ("natwest.csv", "natwest", THREE),  # a blank first line, spaces after commas, apostrophes
    ("barclays.csv", "barclays", THREE),  # tabs in the memo, no balance
    ("plain.csv", "plain", THREE[:2] + [("2026-04-13", "expense", 120050, "national-insurance")]),
    ("plain-in-out.csv", "plain-in-out", THREE[:2] + [("2026-04-13", "expense", 120050, "national-insurance")]),
    ("statement-v1.ofx", "ofx", THREE),
    ("statement-v2.ofx", "ofx", THREE[:2]),
    ("statement.qif", "qif", THREE[:2] + [("2026-04-13", "expense", 120050, "national-insurance")]),
    ("camt053.xml", "camt053", THREE[:2]),  # the pending entry is left out
])
def test_each_format_imports_with_rules(practice, db, name, fmt, expected):
    run = practice.ok("ledger", "import", str(DATA / name), "--rules", RULES, as_="mo", json=True)
    assert run.json["format"] == fmt
    assert run.json["added"] == len(expected) and run.json["skipped"] == 0
    assert entries(db) == expected
    again = practice.ok("ledger", "import", str(DATA / name), "--rules", RULES, as_="mo", json=True)
    assert again.json["added"] == 0 and again.json["skipped"] == len(expected)
    assert entries(db) == expected


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_example_statement_and_rules_of_the_readme(practice, db):
    """The README's tour: a Starling statement whose rent was entered by hand first and whose
    invoice was recorded by the contract; every line has a rule in the example rules file."""
    practice.ok("contract", "add", "LCC-1", "--authority", "Leeds City Council", "--value", "120000",
                "--start", "2026-04-01", "--end", "2027-03-31", "--outcome-percent", "20", as_="mo")
    practice.ok("contract", "invoice", "LCC-1", "8000", "--date", "2026-04-30", as_="mo")
    practice.ok("ledger", "expense", "950", "--date", "2026-04-01", "--category", "rent", as_="mo")
    run = practice.ok("ledger", "import", str(EXAMPLES / "starling-april.csv"),
                      "--rules", str(EXAMPLES / "bank-rules.toml"), as_="mo", json=True).json
    assert (run["format"], run["added"], run["linked_count"], run["uncategorised"]) == ("starling", 5, 2, 0)
    assert run["balance_days_checked"] == 6
    assert sorted(e[3] for e in entries(db)) == ["contracts", "national-insurance", "outcome-payments",
                                                 "pensions", "registration", "rent", "stationery"]


def test_the_worked_mapping_example_of_the_docs_reads_its_file(practice, db, tmp_path):
    """docs/ledger.md's mapping file, on the export it shows (written in Windows-1252)."""
    import re

    section = (DOCS / "ledger.md").read_text().split("### Any other CSV: a mapping file")[1]
    export, mapping = re.findall(r"```[a-z]*\n(.*?)```", section, re.S)[:2]
    source = tmp_path / "old-bank.csv"
    source.write_bytes(export.replace("\n", "\r\n").encode("cp1252"))
    (tmp_path / "old-bank.toml").write_text(mapping)
    run = practice.ok("ledger", "import", str(source), "--mapping", str(tmp_path / "old-bank.toml"),
                      "--rules", str(EXAMPLES / "bank-rules.toml"), "--uncategorised", "sundries",
                      as_="mo", json=True).json
    assert (run["added"], run["uncategorised"], run["balance_days_checked"]) == (3, 1, 3)
    assert entries(db) == [("2026-04-01", "income", 2000000, "contracts"), ("2026-04-02", "expense", 185000, "rent"),
                           ("2026-04-03", "expense", 1240, "sundries")]
    assert query(db, "SELECT memo FROM ledger_entry WHERE category = 'sundries'") == [("Café Nero Team meeting",)]


def test_monzo_split_money_in_and_out_and_transaction_ids(practice, db):
    run = practice.ok("ledger", "import", str(DATA / "monzo.csv"), "--rules", RULES, as_="mo", json=True)
    assert run.json["format"] == "monzo" and run.json["added"] == 3
    assert entries(db) == [("2026-04-01", "income", 2000000, "contracts"),
                           ("2026-04-03", "expense", 2340, "stationery"),
                           ("2026-04-14", "expense", 120050, "national-insurance")]
    refs = [r[0] for r in query(db, "SELECT ref FROM ledger_entry ORDER BY id")]
    assert refs == ["bank:tx_00009wBj1cGhA1", "bank:tx_00009wBj1cGhA2", "bank:tx_00009wBj1cGhA3"]


def test_profiles_are_listed_and_one_can_be_forced(practice, db):
    listed = practice.ok("ledger", "profiles", json=True).json["profiles"]
    assert {"starling", "monzo", "lloyds", "natwest", "barclays", "plain", "plain-in-out"} <= \
        {p["name"] for p in listed}
    run = practice.ok("ledger", "import", str(DATA / "plain.csv"), "--profile", "plain",
                      "--rules", RULES, as_="mo", json=True)
    assert run.json["added"] == 3
    bad = practice("ledger", "import", str(DATA / "plain.csv"), "--profile", "lloyds", as_="mo")
    assert bad.code == 1 and "Lloyds" in bad.err and "Transaction Date" in bad.err


def test_a_mapping_file_reads_another_banks_export_in_its_encoding(practice, db):
    run = practice.ok("ledger", "import", str(DATA / "odd.csv"), "--mapping", str(DATA / "odd-mapping.toml"),
                      "--rules", str(DATA / "rules-odd.toml"), as_="mo", json=True)
    assert run.json["added"] == 3 and run.json["balance_days_checked"] == 3
    assert entries(db)[-1] == ("2026-04-03", "expense", 1240, "meetings")
    memo = query(db, "SELECT memo FROM ledger_entry WHERE category = 'meetings'")[0][0]
    assert memo == "Café Nero Team meeting"


def test_a_mapping_file_with_mistakes_says_each_on_its_own_line(practice, db, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('date_format = "YY/DD"\nseparator = ";;"\ncolour = "blue"\n')
    before = snapshot(db)
    run = practice("ledger", "import", str(DATA / "odd.csv"), "--mapping", str(bad), as_="mo")
    assert run.code == 1
    first, *details = run.err.splitlines()
    assert first.startswith("swp: ") and str(bad) in first and "6 mistakes" in first
    assert len(details) == 6 and all(line.startswith("  ") for line in details)
    for word in ("colour", "date_format", "separator", "date:", "description:", "amount:"):
        assert sum(word in line for line in details) >= 1, word
    assert snapshot(db) == before


def test_a_value_of_the_wrong_kind_in_a_mapping_file_is_one_mistake(practice, db, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('date = "Posted"\ndescription = []\namount = "Amount"\nseparator = 5\nskip = "two"\n'
                   'decimal = 1\ndate_format = 3\ncurrency = 7\n')
    run = practice("ledger", "import", str(DATA / "odd.csv"), "--mapping", str(bad), as_="mo")
    assert run.code == 1
    first, *details = run.err.splitlines()
    assert "6 mistakes" in first
    assert sorted(line.split()[0] for line in details) == ["currency", "date_format", "decimal", "description:",
                                                          "separator", "skip"]


SHORT_MAPPING = 'date = "Date"\ndescription = "Description"\namount = "Amount"\n'


@pytest.mark.parametrize(("text", "skip", "why"), [
    ("Export of account 1234\nGenerated 2026-04-30\n", 2,
     "the file has 2 lines, too few for the 2 the mapping skips before the header (skip = 2) and the header "
     "after them"),
    ("Export of account 1234\n", 3,
     "the file has 1 line, too few for the 3 the mapping skips before the header (skip = 3) and the header "
     "after them"),
    ("Export of account 1234\nGenerated 2026-04-30\n\n\n", 2,
     "the file has no header: its 4 lines are the 2 the mapping skips (skip = 2) and blank lines"),
    ("", 2, "the file is empty"),
])
def test_a_file_too_short_for_the_lines_a_mapping_skips_says_so(practice, db, tmp_path, text, skip, why):
    path = tmp_path / "short.csv"
    path.write_text(text)
    mapping = tmp_path / "short.toml"
    mapping.write_text(f"skip = {skip}\n" + SHORT_MAPPING)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--mapping", str(mapping), "--uncategorised", "sundries",
                   as_="mo")
    assert (run.code, run.err) == (1, f"swp: {path}: {why}\n")
    assert snapshot(db) == before


@pytest.mark.parametrize(("money", "key"), [
    ('amount = "Amount"\n', "amount"),
    ('money_in = "Paid in"\nmoney_out = "Paid out"\n', "money_in"),
    ('money_in = "Paid in"\nmoney_out = "Paid out"\n', "money_out"),
])
def test_a_mapping_whose_balance_names_a_money_column_is_refused(practice, db, tmp_path, money, key):
    """The running balance read as the amount (or the other way round) would be checked against
    itself, or read as money moved: the mapping is refused naming both keys."""
    column = {"amount": "Amount", "money_in": "Paid in", "money_out": "Paid out"}[key]
    path = tmp_path / "bank.csv"
    path.write_text("Date,Description,Amount,Paid in,Paid out\n01/04/2026,Leeds City Council,20.00,20.00,\n")
    mapping = tmp_path / "bank.toml"
    mapping.write_text('date = "Date"\ndescription = "Description"\n' + money
                       + f'balance = "{column.upper()}"\n')  # any case names the same column
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--mapping", str(mapping), "--uncategorised", "sundries",
                   as_="mo")
    assert (run.code, run.err) == (1, f"swp: {mapping}: 1 mistake in the mapping file (see 'Any other CSV: a "
                                      "mapping file' in docs/ledger.md):\n"
                                      f"  {key} and balance both name the column '{column}'; each is a column of "
                                      "its own\n")
    assert snapshot(db) == before


def test_a_profile_and_a_mapping_together_are_refused(practice, db, tmp_path):
    """Both say how to read the file's columns; neither is taken over the other."""
    mapping = tmp_path / "plain.toml"
    mapping.write_text(SHORT_MAPPING)
    before = snapshot(db)
    run = practice("ledger", "import", str(DATA / "plain.csv"), "--profile", "plain", "--mapping", str(mapping),
                   "--rules", RULES, as_="mo")
    assert (run.code, run.err) == (1, "swp: --profile and --mapping both say how to read a CSV file's columns: "
                                      "give one of them\n")
    assert snapshot(db) == before


def test_another_encoding_is_refused_without_a_mapping_naming_the_line(practice, db, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("Date,Description,Amount\n01/04/2026,Cafe,-2.00\n14/04/2026,Caf\xe9,-3.00\n"
                     .encode("latin-1"))
    run = practice("ledger", "import", str(path), "--uncategorised", "sundries", as_="mo")
    assert run.code == 1 and "line 3" in run.err and "encoding" in run.err
    assert entries(db) == []


def test_an_unknown_shape_says_what_it_tried_and_how_to_map_it(practice, db, tmp_path):
    path = tmp_path / "weird.csv"
    path.write_text("When,What,How much\n01/04/2026,x,1.00\n")
    run = practice("ledger", "import", str(path), as_="mo")
    assert run.code == 1
    assert "starling" in run.err and "monzo" in run.err and "--mapping" in run.err and "OFX" in run.err


@pytest.mark.parametrize(("name", "head", "what"), [
    ("statement.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "a PDF"),
    ("statement.xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "a spreadsheet"),
    ("statement.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel spreadsheet"),
])
def test_a_pdf_or_spreadsheet_is_refused_saying_what_to_download(practice, db, tmp_path, name, head, what):
    path = tmp_path / name
    path.write_bytes(head)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), as_="mo")
    assert run.code == 1 and run.err.startswith(f"swp: {path} is {what}") and "as CSV" in run.err
    assert run.err.count("\n") == 1
    assert snapshot(db) == before


def test_an_unknown_header_is_shown_without_control_characters(practice, db, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"When\x00,What\x1b[31m,How much\n01/04/2026,x,1.00\n")
    run = practice("ledger", "import", str(path), as_="mo")
    assert run.code == 1 and "(header: When?,What?[31m,How much)" in run.err


def test_dates_in_two_orders_are_refused_and_ambiguous_files_read_day_first(practice, db, tmp_path):
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("Date,Description,Amount\n13/04/2026,a,1.00\n04/14/2026,b,2.00\n")
    run = practice("ledger", "import", str(mixed), "--uncategorised", "sundries", as_="mo")
    assert run.code == 1 and "line 2" in run.err and "line 3" in run.err and "two orders" in run.err
    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_text("Date,Description,Amount\n01/04/2026,a,1.00\n02/04/2026,b,2.00\n")
    run = practice.ok("ledger", "import", str(ambiguous), "--uncategorised", "sundries", as_="mo", json=True)
    assert run.json["date_order"] == "DD/MM"
    assert [e[0] for e in entries(db)] == ["2026-04-01", "2026-04-02"]


def test_a_line_in_another_currency_is_refused_naming_it(practice, db, tmp_path):
    text = (DATA / "monzo.csv").read_text().replace("-23.40,GBP,-23.40,GBP", "-23.40,EUR,-20.00,EUR")
    path = tmp_path / "monzo.csv"
    path.write_text(text)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--rules", RULES, as_="mo")
    assert run.code == 1 and "line 3" in run.err and "EUR" in run.err
    assert snapshot(db) == before


def edited(source: Path, old: str, new: str, folder: Path) -> Path:
    """A copy of a sample bank file in `folder` with its first `old` made `new` (which must be there)."""
    text = source.read_text()
    assert old in text
    path = folder / source.name
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(("name", "old", "new", "where"), [
    ("statement-v1.ofx", "<CURDEF>GBP", "<CURDEF>EUR", "transaction 1"),
    ("camt053.xml", 'Ccy="GBP">1850.00', 'Ccy="EUR">1850.00', "entry 2"),
])
def test_ofx_and_camt_in_another_currency_are_refused_naming_the_transaction(practice, db, tmp_path,
                                                                             name, old, new, where):
    path = edited(DATA / name, old, new, tmp_path)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--rules", RULES, as_="mo")
    assert run.code == 1 and run.err.startswith(f"swp: {where}") and "EUR" in run.err
    assert snapshot(db) == before


@pytest.mark.parametrize(("old", "new", "message"), [
    (">1850.00<", ">-1850.00<", "entry 2: the amount -1850.00 is signed; in CAMT.053 an amount is unsigned "
                                "and CdtDbtInd says which way it went"),
    ("<CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK", "<CdtDbtInd>XXXX</CdtDbtInd><Sts>BOOK",
     "entry 2: CdtDbtInd is 'XXXX'; it must be CRDT (money in) or DBIT (money out)"),
    ("<CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK", "<Sts>BOOK",
     "entry 2: CdtDbtInd is None; it must be CRDT (money in) or DBIT (money out)"),
    ('<Amt Ccy="GBP">1850.00', "<Amt>1850.00", "entry 2: the amount names no currency (Ccy)"),
])
def test_a_camt_entry_whose_direction_or_currency_is_not_plain_is_refused(practice, db, tmp_path, old, new, message):
    """A negative amount on a debit was turned into income, a CdtDbtInd other than CRDT or DBIT
    read as money in, and an amount with no currency as pounds."""
    path = edited(DATA / "camt053.xml", old, new, tmp_path)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--rules", RULES, as_="mo")
    assert (run.code, run.err) == (1, f"swp: {message}\n")
    assert snapshot(db) == before


@pytest.mark.parametrize(("name", "old", "new", "where"), [
    ("statement-v1.ofx", "<TRNAMT>-1850.00", "<TRNAMT>-1850.005", "transaction 2"),
    ("statement-v2.ofx", "<TRNAMT>-1850.00", "<TRNAMT>-1850.005", "transaction 2"),
    ("camt053.xml", ">1850.00<", ">1850.005<", "entry 2"),  # CAMT's amounts are unsigned
    ("statement.qif", "T-1,850.00", "T-1,850.005", "line 12"),  # where its transaction starts
])
def test_a_bad_amount_in_ofx_qif_or_camt_is_named_where_it_is(practice, db, tmp_path, name, old, new, where):
    path = edited(DATA / name, old, new, tmp_path)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--rules", RULES, as_="mo")
    amount = "1850.005" if name.endswith(".xml") else "-1850.005"
    assert (run.code, run.err) == (1, f"swp: {where}: the amount {amount} has more than two decimal places\n")
    assert snapshot(db) == before


@pytest.mark.parametrize("amount", ["-12,50", "(40.00)", "1e3", "abc5", "0x10", "-12.50abc", "1,2345", ""])
@pytest.mark.parametrize("end", ["\n", "\r"])
def test_a_qif_amount_that_is_not_a_plain_number_is_refused_naming_its_line(practice, db, tmp_path, amount, end):
    """quiffen keeps only the digits, points and minus signs of an amount: `-12,50` was read
    as £1,250.00 out, `(40.00)` as £40.00 in, `1e3` as £13.00. A file whose lines end with a
    lone carriage return is read the same way."""
    path = tmp_path / "eu.qif"
    lines = ["!Type:Bank", "D01/04/2026", "T-3.00", "PPret", "^", "D02/04/2026", f"T{amount}", "PCafe", "^"]
    path.write_text(end.join(lines) + end, newline="")
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--uncategorised", "sundries", as_="mo")
    assert (run.code, run.err) == (1, f"swp: line 7: not an amount: {amount!r}\n")
    assert snapshot(db) == before


def test_plain_qif_amounts_are_read_as_written(practice, db, tmp_path):
    path = tmp_path / "plain.qif"
    path.write_text("!Type:Bank\nD01/04/2026\nT-12.50\nPPret\n^\nD02/04/2026\nT1,234.56\nPLCC\n^\n"
                    "D03/04/2026\nU40\nT40\nPLCC\n^\nD04/04/2026\nT+5.5\nPLCC\n^\n")
    practice.ok("ledger", "import", str(path), "--uncategorised", "sundries", as_="mo")
    assert entries(db) == [("2026-04-01", "expense", 1250, "sundries"), ("2026-04-02", "income", 123456, "sundries"),
                           ("2026-04-03", "income", 4000, "sundries"), ("2026-04-04", "income", 550, "sundries")]


@pytest.mark.parametrize(("name", "old", "new", "message"), [
    ("statement-v1.ofx", "<TRNAMT>-1850.00", "<TRNAMT>-1.85e3", "transaction 2: not an amount: '-1.85E+3'"),
    ("statement-v2.ofx", "<TRNAMT>-1850.00", "<TRNAMT>-1.85E3", "transaction 2: not an amount: '-1.85E+3'"),
    ("camt053.xml", ">1850.00<", ">1.85e3<", "entry 2: not an amount: '1.85e3'"),
])
def test_an_ofx_or_camt_amount_with_an_exponent_is_refused(practice, db, tmp_path, name, old, new, message):
    """As in a CSV, `1e3` is not an amount: ofxtools and Python's Decimal read it as 1000."""
    path = edited(DATA / name, old, new, tmp_path)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--rules", RULES, as_="mo")
    assert (run.code, run.err) == (1, f"swp: {message}\n")
    assert snapshot(db) == before


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_a_qif_file_not_in_utf8_is_refused_naming_the_line(practice, db, tmp_path, end):
    path = tmp_path / "latin.qif"
    path.write_bytes("!Type:Bank\nD01/04/2026\nT-3.00\nPCaf\xe9 Nero\n^\n".replace("\n", end).encode("latin-1"))
    run = practice("ledger", "import", str(path), "--uncategorised", "sundries", as_="mo")
    assert run.code == 1 and run.err.startswith("swp: line 4: not utf-8 text")
    assert entries(db) == []


def test_a_hand_entry_linked_to_an_ofx_transaction_is_named_by_its_place(practice, db):
    practice.ok("ledger", "expense", "1850", "--date", "2026-04-03", "--category", "rent", as_="mo")
    run = practice.ok("ledger", "import", str(DATA / "statement-v1.ofx"), "--rules", RULES, as_="mo")
    assert "Transaction 2 linked to entry #1 (entered by hand), not added again." in run.out
    assert len(entries(db)) == 3


def test_unmatched_lines_are_listed_and_nothing_is_written(practice, db, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[rules]\n"Leeds City Council" = "contracts"\n')
    before = snapshot(db)
    run = practice("ledger", "import", str(DATA / "starling.csv"), "--rules", str(rules), as_="mo")
    assert run.code == 1
    assert "2 lines match no rule" in run.err and "HMRC NI APR" in run.err
    assert "--uncategorised" in run.err
    assert snapshot(db) == before
    ok = practice.ok("ledger", "import", str(DATA / "starling.csv"), "--rules", str(rules),
                     "--uncategorised", "sundries", as_="mo", json=True)
    assert ok.json["uncategorised"] == 2
    assert [e[3] for e in entries(db)] == ["contracts", "sundries", "sundries"]


def test_one_unmatched_line_is_counted_in_the_singular(practice, db, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[rules]\n"Leeds City Council" = "contracts"\n"Holbeck" = "rent"\n')
    before = snapshot(db)
    run = practice("ledger", "import", str(DATA / "starling.csv"), "--rules", str(rules), as_="mo")
    assert run.code == 1 and run.err.startswith("swp: 1 line matches no rule, so nothing was written:\n")
    assert snapshot(db) == before
    ok = practice.ok("ledger", "import", str(DATA / "starling.csv"), "--rules", str(rules),
                     "--uncategorised", "sundries", as_="mo")
    assert "1 line matched no rule and went to the --uncategorised category." in ok.out


def test_dry_run_shows_a_table_and_writes_nothing(practice, db):
    before = snapshot(db)
    run = practice.ok("ledger", "import", str(DATA / "starling.csv"), "--rules", RULES, "--dry-run", as_="mo")
    assert "What would be recorded" in run.out and "national-insurance" in run.out
    assert "Nothing was written" in run.out
    assert snapshot(db) == before


@pytest.mark.parametrize("earlier_first", [True, False])
def test_overlapping_statements_in_either_order_add_nothing_twice(practice, db, tmp_path, earlier_first):
    lines = ["Date,Description,Amount,Balance"]
    balance = 0
    rows = []
    for day, desc, pence in [(1, "Leeds City Council", 500000), (2, "Coffee", -300), (2, "Coffee", -300),
                             (3, "Holbeck rent", -185000), (4, "Coffee", -300), (5, "Leeds City Council", 1000)]:
        balance += pence
        rows.append(f"{day:02d}/04/2026,{desc},{pence / 100:.2f},{balance / 100:.2f}")
    earlier = tmp_path / "earlier.csv"  # days 1 to 3
    later = tmp_path / "later.csv"  # days 2 to 5: two whole days in common
    earlier.write_text("\n".join(lines + rows[:4]) + "\n")
    later.write_text("\n".join(lines + rows[1:]) + "\n")
    rules = tmp_path / "rules.toml"
    rules.write_text('[rules]\n"Leeds" = "contracts"\n"Coffee" = "meetings"\n"Holbeck" = "rent"\n')
    expected = [("2026-04-01", "income", 500000, "contracts"), ("2026-04-02", "expense", 300, "meetings"),
                ("2026-04-02", "expense", 300, "meetings"), ("2026-04-03", "expense", 185000, "rent"),
                ("2026-04-04", "expense", 300, "meetings"), ("2026-04-05", "income", 1000, "contracts")]
    one, two = (earlier, later) if earlier_first else (later, earlier)
    first = practice.ok("ledger", "import", str(one), "--rules", str(rules), as_="mo", json=True)
    assert first.json["added"] == (4 if earlier_first else 5)
    second = practice.ok("ledger", "import", str(two), "--rules", str(rules), as_="mo", json=True)
    assert second.json["skipped"] == 3  # the two coffees of the 2nd and the rent of the 3rd
    assert second.json["added"] == (2 if earlier_first else 1)
    assert second.json["balance_days_checked"] == (4 if earlier_first else 3)
    assert entries(db) == expected
    again = practice.ok("ledger", "import", str(one), "--rules", str(rules), as_="mo", json=True)
    assert again.json["added"] == 0 and entries(db) == expected


def test_overlapping_statements_the_other_way_round(practice, db, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[rules]\n"Leeds" = "contracts"\n"Holbeck" = "rent"\n"HMRC" = "national-insurance"\n')
    later = tmp_path / "later.csv"
    text = (DATA / "plain.csv").read_text().splitlines()
    later.write_text("\n".join([text[0], *text[2:]]) + "\n")
    practice.ok("ledger", "import", str(later), "--rules", str(rules), as_="mo")
    run = practice.ok("ledger", "import", str(DATA / "plain.csv"), "--rules", str(rules), as_="mo", json=True)
    assert run.json["added"] == 1 and run.json["skipped"] == 2
    assert len(entries(db)) == 3


def test_a_hand_entry_and_its_bank_line_are_linked_not_doubled(practice, db):
    practice.ok("ledger", "expense", "1850", "--date", "2026-03-31", "--category", "rent",
                "--memo", "April rent, paid early", as_="mo")
    run = practice.ok("ledger", "import", str(DATA / "starling.csv"), "--rules", RULES, as_="mo")
    assert "Line 3 linked to entry #1" in run.out
    assert [e[1:] for e in entries(db)].count(("expense", 185000, "rent")) == 1
    assert len(entries(db)) == 3
    assert query(db, "SELECT entry_id FROM bank_link") == [(1,)]
    again = practice.ok("ledger", "import", str(DATA / "starling.csv"), "--rules", RULES, as_="mo", json=True)
    assert again.json["added"] == 0 and again.json["skipped"] == 3 and again.json["linked_count"] == 0


MONZO_HEADER = ("Transaction ID,Date,Time,Type,Name,Emoji,Category,Amount,Currency,Local amount,Local currency,"
                "Notes and #tags,Address,Receipt,Description,Category split,Money Out,Money In\n")


def _monzo_twice(folder: Path, second: str) -> Path:
    """A Monzo export whose transaction tx_1 is on lines 2 (£3.00 out) and 3 (`second`)."""
    path = folder / "monzo.csv"
    path.write_text(MONZO_HEADER + "tx_1,01/04/2026,10:00:00,Card,Pret,,e,-3.00,GBP,,,,,,,,-3.00,\n"
                    f"tx_1,01/04/2026,10:00:00,Card,Pret,,e,{second},GBP,,,,,,,,{second},\n")
    return path


@pytest.mark.parametrize(("by_hand", "batch"), [(False, 1000), (True, 1000), (True, 1)])
def test_a_bank_id_twice_in_one_file_with_different_values_is_refused_naming_both_lines(
        practice, db, tmp_path, monkeypatch, by_hand, batch):
    """The second line was skipped as already in the books. The first line may be linked to an
    entry entered by hand, and read in an earlier batch of rows: it is compared all the same."""
    monkeypatch.setattr("swp.services.banking.BATCH_ROWS", batch)
    if by_hand:
        practice.ok("ledger", "expense", "3", "--date", "2026-04-01", "--category", "food", as_="mo")
    before = snapshot(db)
    run = practice("ledger", "import", str(_monzo_twice(tmp_path, "-4.00")), "--uncategorised", "sundries",
                   as_="mo")
    assert (run.code, run.err) == (1, "swp: line 3: the bank's transaction 'tx_1' is also on line 2 "
                                      "(2026-04-01 expense £3.00) with different values (2026-04-01 expense £4.00)\n")
    assert snapshot(db) == before


def test_a_bank_id_linked_to_a_hand_entry_comes_again_with_other_values_is_refused(practice, db, tmp_path):
    """A line an earlier import linked to an entry entered by hand is compared like any other:
    the same id with another amount in a later file was skipped as already in the books."""
    practice.ok("ledger", "expense", "3", "--date", "2026-04-01", "--category", "food", as_="mo")
    first = tmp_path / "april.csv"
    first.write_text(MONZO_HEADER + "tx_1,01/04/2026,10:00:00,Card,Pret,,e,-3.00,GBP,,,,,,,,-3.00,\n")
    assert practice.ok("ledger", "import", str(first), "--uncategorised", "sundries", as_="mo",
                       json=True).json["linked_count"] == 1
    again = practice.ok("ledger", "import", str(first), "--uncategorised", "sundries", as_="mo", json=True)
    assert (again.json["added"], again.json["skipped"]) == (0, 1)  # the same line: nothing added
    later = tmp_path / "may.csv"
    later.write_text(MONZO_HEADER + "tx_1,01/04/2026,10:00:00,Card,Pret,,e,-4.00,GBP,,,,,,,,-4.00,\n")
    before = snapshot(db)
    run = practice("ledger", "import", str(later), "--uncategorised", "sundries", as_="mo")
    assert (run.code, run.err) == (1, "swp: line 2: the bank's transaction 'tx_1' is already entry #1 "
                                      "(2026-04-01 expense £3.00) with different values (2026-04-01 expense £4.00)\n")
    assert snapshot(db) == before


def test_an_ofx_fitid_twice_with_different_values_is_refused_naming_both_transactions(practice, db, tmp_path):
    path = edited(DATA / "statement-v1.ofx", "<FITID>2026041501", "<FITID>2026040201", tmp_path)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--rules", RULES, as_="mo")
    assert (run.code, run.err) == (1, "swp: transaction 3: the bank's transaction '2026040201' is also on "
                                      "transaction 2 (2026-04-02 expense £1,850.00) with different values "
                                      "(2026-04-15 expense £1,200.50)\n")
    assert snapshot(db) == before


def test_a_bank_id_twice_in_one_file_with_the_same_values_is_one_entry(practice, db, tmp_path):
    run = practice.ok("ledger", "import", str(_monzo_twice(tmp_path, "-3.00")), "--uncategorised", "sundries",
                      as_="mo", json=True)
    assert (run.json["rows"], run.json["added"], run.json["skipped"]) == (2, 1, 1)
    assert entries(db) == [("2026-04-01", "expense", 300, "sundries")]


def _monzo_ids(folder: Path, *lines: tuple[str, str]) -> Path:
    """A Monzo export of one line per (transaction id, amount), all on 1 April 2026."""
    path = folder / "monzo.csv"
    path.write_text(MONZO_HEADER + "".join(f"{tx},01/04/2026,10:00:00,Card,Pret,,e,{amount},GBP,,,,,,,,{amount},\n"
                                           for tx, amount in lines))
    return path


@pytest.mark.parametrize(("amounts", "batch", "first", "then"), [
    (("0.00", "-3.00"), 1000, "£0.00", "£3.00"),
    (("0.00", "-3.00"), 1, "£0.00", "£3.00"),  # the line of no amount was read in an earlier batch
    (("-3.00", "0.00"), 1000, "£3.00", "£0.00"),
])
def test_a_bank_id_on_a_line_of_no_amount_and_on_another_line_is_refused(
        practice, db, tmp_path, monkeypatch, amounts, batch, first, then):
    """A line of no amount is no entry, but its bank id is one transaction all the same."""
    monkeypatch.setattr("swp.services.banking.BATCH_ROWS", batch)
    path = _monzo_ids(tmp_path, *(("tx_1", amount) for amount in amounts))
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--uncategorised", "sundries", as_="mo")
    assert (run.code, run.err) == (1, f"swp: line 3: the bank's transaction 'tx_1' is also on line 2 "
                                      f"(2026-04-01 expense {first}) with different values (2026-04-01 expense {then})\n")
    assert snapshot(db) == before


def test_a_bank_id_on_two_lines_of_no_amount_is_one_line(practice, db, tmp_path):
    path = _monzo_ids(tmp_path, ("tx_1", "0.00"), ("tx_1", "0.00"), ("tx_2", "-3.00"))
    run = practice.ok("ledger", "import", str(path), "--uncategorised", "sundries", as_="mo", json=True)
    assert (run.json["rows"], run.json["zero"], run.json["skipped"], run.json["added"]) == (3, 1, 1, 1)


def test_a_balance_that_stops_matching_names_the_line_and_writes_nothing(practice, db, tmp_path):
    text = (DATA / "starling.csv").read_text(encoding="utf-8-sig").replace("21949.50", "21900.00")
    path = tmp_path / "starling.csv"
    path.write_text(text)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--rules", RULES, as_="mo")
    assert run.code == 1 and "line 4" in run.err and "2026-04-15" in run.err and "£21,900.00" in run.err
    assert "Nothing was written" in run.err
    assert snapshot(db) == before


def test_reconcile_records_an_assertion_that_check_keeps_checking(practice, db):
    practice.ok("ledger", "import", str(DATA / "starling.csv"), "--rules", RULES, as_="mo")
    before = snapshot(db)
    wrong = practice("ledger", "reconcile", "--balance", "21949.50", "--date", "2026-04-30", as_="mo")
    assert wrong.code == 1 and "£16,949.50" in wrong.err
    assert snapshot(db) == before
    practice.ok("ledger", "income", "5000", "--date", "2026-03-01", "--category", "opening-balance", as_="mo")
    practice.ok("ledger", "reconcile", "--balance", "21949.50", "--date", "2026-04-30", as_="mo")
    listed = practice.ok("ledger", "reconcile", json=True).json["assertions"]
    assert listed == [{"id": 1, "date": "2026-04-30", "balance_pence": 2194950,
                       "books_pence": 2194950, "holds": True}]
    practice.ok("check")
    practice.ok("ledger", "expense", "10", "--date", "2026-04-20", "--category", "sundries", as_="mo")
    check = practice("check")
    assert check.code == 4 and "2026-04-30" in check.out + check.err


def _identities(lines):
    from swp.importers import Identities

    identify = Identities()
    return [identify(line) for line in lines]


@pytest.mark.parametrize("newest_first", [False, True])
def test_overlapping_whole_day_statements_give_the_same_identities(newest_first):
    """Property: however a run of days is cut into two overlapping statements (each covering
    whole days), the identities of each statement's lines are those of the same lines read in
    one statement, so importing both, in either order, adds every line once."""
    from datetime import date, timedelta

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from swp.importers import BankLine

    line = st.tuples(st.integers(0, 4), st.sampled_from([-300, -185000, 2000000, 300]),
                     st.sampled_from(["Coffee", "Rent", "LCC"]))

    @settings(max_examples=200, deadline=None)
    @given(st.lists(line, min_size=1, max_size=30), st.data())
    def check(raw, data):
        raw = sorted(raw, key=lambda r: r[0], reverse=newest_first)
        lines = [BankLine(n, date(2026, 4, 1) + timedelta(days=d), p, text)
                 for n, (d, p, text) in enumerate(raw, 2)]
        whole = _identities(lines)
        assert len(set(whole)) == len(whole)  # identical lines on one day stay apart
        days = sorted({ln.date for ln in lines}, reverse=newest_first)
        cut = data.draw(st.integers(0, len(days) - 1))
        back = data.draw(st.integers(0, cut))
        first = [ln for ln in lines if ln.date in days[:cut + 1]]
        second = [ln for ln in lines if ln.date in days[back:]]
        known = dict(zip([id(ln) for ln in lines], whole, strict=True))
        assert _identities(first) == [known[id(ln)] for ln in first]
        assert _identities(second) == [known[id(ln)] for ln in second]
        assert set(_identities(first)) | set(_identities(second)) == set(whole)

    check()


def test_rules_are_for_bank_files_not_swps_own_csv(practice, db):
    sample = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    before = snapshot(db)
    run = practice("ledger", "import", str(sample), "--rules", RULES, as_="mo")
    assert run.code == 1 and "own CSV carries its categories" in run.err
    assert snapshot(db) == before


@pytest.mark.parametrize(("pattern", "why"), [
    ("x(", "missing ), unterminated subpattern at position 1"),
    ("x{99999999999}", "the repetition number is too large"),
    ("x{1,4294967296}", "the repetition number is too large"),
    ("(" * 1000 + "x" + ")" * 1000, "groups nested too deeply"),
])
def test_a_rule_that_is_not_a_regular_expression_is_refused(practice, db, tmp_path, pattern, why):
    """A pattern Python cannot compile, because of its syntax, a repeat count too large or
    groups nested too deeply, is a mistake in the rules file. Nothing changes."""
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[rules]\n"re:{pattern}" = "sundries"\n')
    before = snapshot(db)
    run = practice("ledger", "import", str(DATA / "plain.csv"), "--profile", "plain", "--rules",
                   str(rules), "--dry-run", as_="mo")
    assert (run.code, run.out) == (1, "")
    assert run.err == (f"swp: {rules}: 1 mistake in the rules file:\n"
                       f"  're:{pattern}': not a regular expression ({why})\n")
    assert snapshot(db) == before


@pytest.mark.parametrize("day", ["31/12/9999", "31/12/1899"])
def test_a_bank_line_dated_outside_the_years_swp_takes_is_refused(practice, db, tmp_path, day):
    """A line of year 9999 stopped the import with an unexpected error (the balance check
    looks some days past the last line). Nothing changes."""
    path = tmp_path / "far.csv"
    path.write_text(f"Date,Description,Amount,Balance\n01/04/2026,Leeds City Council,100.00,100.00\n"
                    f"{day},Leeds City Council,100.00,200.00\n")
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--profile", "plain", "--uncategorised", "contracts",
                   as_="mo")
    iso = "-".join(reversed(day.split("/")))
    assert (run.code, run.out) == (1, "")
    assert run.err == f"swp: line 3: date out of range: {iso}; swp takes dates from 1900-01-01 to 2999-12-31\n"
    assert snapshot(db) == before


@pytest.mark.parametrize("day", ["01/07/2026", "01/01/2062"])
def test_a_bank_line_dated_after_today_is_refused(practice, db, tmp_path, day):
    """A bank file is made on or before today: a line dated later (a wrong date order, a typo)
    is refused with its line, whether or not it would become an entry. Nothing changes."""
    path = tmp_path / "statement.csv"
    path.write_text("Date,Description,Amount,Balance\n29/06/2026,Leeds City Council,100.00,100.00\n"
                    f"30/06/2026,Leeds City Council,100.00,200.00\n{day},Leeds City Council,100.00,300.00\n")
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--profile", "plain", "--uncategorised", "contracts",
                   as_="mo")
    iso = "-".join(reversed(day.split("/")))
    assert (run.code, run.out) == (1, "")
    assert run.err == (f"swp: line 4: {iso} is after today (2026-06-30): the ledger records money once "
                       "it is received or paid, never in advance\n")
    assert snapshot(db) == before
    path.write_text(path.read_text().rsplit("\n", 2)[0] + "\n")  # to today: taken
    run = practice.ok("ledger", "import", str(path), "--profile", "plain", "--uncategorised", "contracts",
                      as_="mo", json=True)
    assert run.json["added"] == 2


@pytest.mark.parametrize(("written", "read"), [("01/04/26", "2026-04-01"), ("01/04/27", "2027-04-01"),
                                               ("01/04/28", "1928-04-01"), ("01/04/99", "1999-04-01")])
def test_a_two_digit_year_is_never_more_than_a_year_ahead(written, read):
    """`01/04/99` was read as 2099-04-01 (today pinned to 2026-06-30)."""
    from swp.importers import DateReader

    assert DateReader("DD/MM")(written, 2).isoformat() == read


def test_a_date_not_written_as_the_mapping_says_is_refused(practice, db, tmp_path):
    """date_format = "YYYY-MM-DD" read 01.04.2026 as 1 April, by the UK's order, silently."""
    mapping = tmp_path / "bank.toml"
    mapping.write_text('date = "D"\ndescription = "X"\namount = "A"\ndate_format = "YYYY-MM-DD"\n')
    path = tmp_path / "bank.csv"
    path.write_text("D,X,A\n2026-04-02,Rent,-5.00\n01.04.2026,Cafe,-1.00\n")
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--mapping", str(mapping), "--uncategorised", "sundries", as_="mo")
    assert (run.code, run.err) == (1, "swp: line 3: the date '01.04.2026' is not written YYYY-MM-DD, as the "
                                      "mapping's date_format says\n")
    assert snapshot(db) == before


BANK_HEADERS = [
    "Date,Description,Amount,Balance", "Date,Description,Money in,Money out",
    "Date,Counter Party,Reference,Type,Amount (GBP),Balance (GBP),Spending Category",
    "Transaction Date,Transaction Type,Sort Code,Account Number,Transaction Description,Debit Amount,Credit Amount,Balance",
    "Number,Date,Account,Amount,Subcategory,Memo", "OFXHEADER:100", "!Type:Bank",
    '<?xml version="1.0"?><Document><BkToCstmrStmt>',
]


def test_any_bank_file_gives_a_summary_or_one_swp_error(practice_template, tmp_path_factory):
    """Fuzz: whatever the bytes under a bank header, the import ends in a summary or an SwpError
    (exit 1), never a crash, and leaves the books as they were."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from swp.db import open_database
    from swp.errors import SwpError
    from swp.services import banking

    path = str(tmp_path_factory.mktemp("bankfuzz") / "practice.db")
    copy_practice(practice_template, path)
    database = open_database(path)
    rules = tmp_path_factory.getbasetemp() / "fuzz-rules.toml"
    rules.write_text('[rules]\n"a" = "contracts"\n')
    cell = st.one_of(st.sampled_from(["01/04/2026", "13/04/2026", "04/13/2026", "2026-04-01", "-12.50",
                                      "1,234.56", "£5", "(3.00)", "GBP", "EUR", "", "'30-12-34", "a b"]),
                     st.text(max_size=8))

    class Undo(Exception):
        pass

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(BANK_HEADERS), st.lists(st.lists(cell, max_size=8), max_size=6),
           st.sampled_from(["\n", "\r\n"]), st.booleans())
    def check(header, rows, end, dry_run):
        text = end.join([header, *(",".join(r) for r in rows)]) + end
        target = tmp_path_factory.getbasetemp() / "fuzz-bank.csv"
        target.write_bytes(text.encode("utf-8", "replace"))
        outcome = None
        try:
            with database.transaction(write=True) as session:
                try:
                    outcome = banking.import_bank(session, str(target), actor="mo", rules=str(rules),
                                                  uncategorised="sundries", dry_run=dry_run)
                except SwpError as exc:
                    outcome = exc
                raise Undo
        except Undo:
            pass
        if isinstance(outcome, SwpError):
            assert outcome.message.strip() and outcome.exit_code == 1
        else:
            assert outcome.added + outcome.skipped + outcome.linked_count + outcome.zero \
                + outcome.counted_elsewhere == outcome.rows

    try:
        check()
    finally:
        database.dispose()


def test_the_memory_of_a_bank_import_does_not_grow_with_the_file(practice_template, tmp_path):
    """The Python heap's peak while importing (profile, rules, identities, links looked for,
    running balance checked) is the same for 1,000 lines as for 4,000 over the same days: lines
    are read, checked and written a batch at a time, and only per-day facts are kept."""
    import gc
    import tracemalloc
    from datetime import date, timedelta

    from swp.db import open_database
    from swp.services import banking

    rules = tmp_path / "rules.toml"
    rules.write_text("[rules]\n" + "".join(f'"payee{i} " = "cat{i % 7}"\n' for i in range(50)))

    class Undo(Exception):
        pass

    def peak(lines: int) -> int:
        path = tmp_path / f"starling-{lines}.csv"
        balance = 0
        with open(path, "w", encoding="utf-8") as out:
            out.write("Date,Counter Party,Reference,Type,Amount (GBP),Balance (GBP),Spending Category\n")
            for n in range(lines):
                day = date(2026, 4, 1) + timedelta(days=n * 30 // lines)
                pence = ((n % 4000 + 1) * 100 + n % 100) * (-1 if n % 3 == 0 else 1)
                balance += pence
                out.write(f"{day:%d/%m/%Y},payee{n % 50} ,REF{n:08d},FASTER PAYMENT,{pence / 100:.2f},"
                          f"{balance / 100:.2f},GENERAL\n")
        target = str(tmp_path / f"practice-{lines}.db")
        copy_practice(practice_template, target)
        database = open_database(target)
        try:
            with database.transaction(write=True) as session:  # warm: modules, statements
                banking.books_bank_balance(session, date(2026, 4, 1))
            gc.collect()  # the collector's count starts at nought each time, whatever ran before
            tracemalloc.start()
            try:
                with database.transaction(write=True) as session:
                    summary = banking.import_bank(session, str(path), actor="mo", rules=str(rules))
                    assert summary.added == lines and summary.balance_days == 30
                    raise Undo
            except Undo:
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            database.dispose()

    peak(1000)  # once first, so that what a process allocates once is not counted below
    small, large = peak(1000), peak(4000)
    # What grows is a day's occurrence counts (about 90 bytes for each distinct line of the day
    # being read: here 3,000 more lines on the same 30 days, some 270 KiB), dropped at the next
    # day. Keeping anything for every line of the file fails it: each identity kept (some 110
    # bytes a line) adds 330 KiB more, and remembering every description's rule match (as a
    # cache of 4,096 did, below that many lines) added 370 KiB.
    assert large - small < 384 * 1024, (small, large)


def _long_starling(lines: int, bad_at: int | None = None) -> bytes:
    """A Starling export of `lines` lines after its header (with the bank's BOM); the line
    `bad_at` of the file (counting the header as 1) has a Windows-1252 é in its counterparty."""
    out = [b"\xef\xbb\xbfDate,Counter Party,Reference,Type,Amount (GBP),Balance (GBP),Spending Category\n"]
    for n in range(lines):
        payee = b"Caf\xe9 Nero" if n + 2 == bad_at else b"Leeds City Council"
        out.append(b"01/04/2026," + payee + b",INV %d,FASTER PAYMENT,1.00,%d.00,INCOME\n" % (n, n + 1))
    return b"".join(out)


@pytest.mark.parametrize("block", [16, 64, 1 << 14])
def test_a_csv_line_not_in_the_files_encoding_is_named_whatever_the_block_read(practice, db, tmp_path,
                                                                             monkeypatch, block):
    """A bank CSV is decoded a block of whole lines at a time: a bad byte is still named on its
    own line (after the good lines before it), and nothing is imported."""
    from swp.importers import Lines

    monkeypatch.setattr(Lines, "BLOCK", block)
    path = tmp_path / "starling.csv"
    path.write_bytes(_long_starling(400, bad_at=302))
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--rules", RULES, as_="mo")
    assert (run.code, run.err) == (1, "swp: line 302: not utf-8 text; if the bank wrote it in another "
                                      "encoding, say which in a mapping file (encoding = \"cp1252\")\n")
    assert snapshot(db) == before


@pytest.mark.parametrize("block", [16, 1 << 14])
def test_the_recorded_digest_of_a_bank_csv_is_the_whole_files(practice, db, tmp_path, monkeypatch, block):
    """The SHA-256 the import records is the file's, byte for byte: the reader hashes each block
    it decodes, and what it did not reach (a file with no line end at its last line too)."""
    import hashlib
    import json

    from swp.importers import Lines

    monkeypatch.setattr(Lines, "BLOCK", block)
    path = tmp_path / "starling.csv"
    path.write_bytes(_long_starling(300).rstrip(b"\n"))
    practice.ok("ledger", "import", str(path), "--rules", RULES, as_="mo")
    (payload,) = query(db, "SELECT payload FROM audit_event WHERE action = 'ledger.imported'")[0]
    recorded = {p["sha256"] for name, p in json.loads(payload) if name == "ledger.imported"}
    assert recorded == {hashlib.sha256(path.read_bytes()).hexdigest()}
    assert len(entries(db)) == 300


def test_a_mapping_with_three_description_columns_joins_them_in_order(practice, db, tmp_path):
    """A description may be several columns: each line's are joined with one space, in the
    mapping's order, whatever their order in the file; an empty one is left out."""
    (tmp_path / "three.toml").write_text('date = "Day"\ndescription = ["Payee", "Ref", "Note"]\n'
                                         'amount = "Sum"\n')
    source = tmp_path / "three.csv"
    source.write_text("Note,Day,Sum,Ref,Payee\nApril,01/04/2026,20000.00,INV 412,Leeds City Council\n"
                      ",02/04/2026,-1850.00,RENT,Holbeck Works\n")
    run = practice.ok("ledger", "import", str(source), "--mapping", str(tmp_path / "three.toml"),
                      "--rules", RULES, as_="mo", json=True).json
    assert run["added"] == 2
    memos = query(db, "SELECT memo FROM ledger_entry ORDER BY id")
    assert memos == [("Leeds City Council INV 412 April",), ("Holbeck Works RENT",)]



def _mac_starling(lines: int) -> bytes:
    """A Starling export of `lines` lines whose lines end with a lone carriage return (as Excel
    for Mac's "CSV (Macintosh)" writes them): no line feed in the whole file."""
    rows = ["Date,Counter Party,Reference,Type,Amount (GBP),Balance (GBP),Spending Category"]
    rows += [f"01/04/2026,Leeds City Council,INV {n},FASTER PAYMENT,1.00,{n + 1}.00,INCOME" for n in range(lines)]
    return ("\r".join(rows) + "\r").encode()


@pytest.mark.parametrize(("lines", "block"), [(3, None), (14_000, 16)])
def test_a_csv_file_without_line_feeds_is_refused_naming_line_1(practice, db, tmp_path, monkeypatch, lines, block):
    """Telling swp's own CSV from a bank's reads the first line; a first line the CSV reader
    refuses (a lone carriage return inside it) is not swp's own, and the bank reader names the
    line, rather than the command stopping with an unexpected error. To the block reader such
    a file is one long line: the blocks read are gathered and joined once (adding each block to
    the bytes before it copied the line again at every block: at 16 KiB blocks a 30 MB file took
    5 s before it was refused, against 0.1 s read line by line); with blocks of 16 bytes, a file
    of some 70,000 such blocks is refused as any other. Nothing changes."""
    from swp.importers import Lines

    if block is not None:
        monkeypatch.setattr(Lines, "BLOCK", block)
    path = tmp_path / "starling-mac.csv"
    path.write_bytes(_mac_starling(lines))
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--rules", RULES, as_="mo")
    assert run.code == 1
    assert run.err == ("swp: line 1: not valid CSV: a carriage return inside an unquoted field (a file whose "
                       "lines end with a lone carriage return, as an old Mac's do, reads so): save it as "
                       "\"CSV UTF-8\" and import that\n"), run.err
    assert snapshot(db) == before


@pytest.mark.parametrize("block", [1, 7, 16, 1 << 14])
def test_the_block_reader_gives_each_line_whole_and_hashes_every_byte(block, monkeypatch):
    """Lines longer than a block, a line with no line feed at all, a lone carriage return and a
    last line without its line feed come out as they are in the file, whatever the block; the
    digest is the whole file's, whether or not the reading reached its end."""
    import hashlib
    import io

    from swp.importers import Lines

    monkeypatch.setattr(Lines, "BLOCK", block)
    data = b"\xef\xbb\xbfheader\n" + b"x" * 100 + b"\r" + b"y" * 50 + b"\n\n" + "caf\u00e9".encode() + b"\nlast"
    reader = Lines(io.BytesIO(data), problem="not UTF-8 text")
    assert list(reader) == ["header\n", "x" * 100 + "\r" + "y" * 50 + "\n", "\n", "caf\u00e9\n", "last"]
    assert reader.whole_digest() == hashlib.sha256(data).hexdigest()
    partly = Lines(io.BytesIO(data), problem="not UTF-8 text")
    lines = iter(partly)
    assert next(lines) == "header\n"
    assert partly.whole_digest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "cp500", "idna"])
def test_a_mapping_naming_an_encoding_that_is_not_one_byte_a_letter_is_refused(practice, db, tmp_path,
                                                                              encoding):
    """The CSV reader splits lines at the byte of a line feed: an encoding that writes letters or
    line ends otherwise (UTF-16, as Excel's "Unicode Text" saves; EBCDIC) is a mistake in the
    mapping, said before the file is read, not a file read wrongly; so is IDNA (host names),
    which cannot even stand in for a letter it cannot write. Nothing changes."""
    mapping = tmp_path / "wide.toml"
    mapping.write_text(f'date = "Date"\ndescription = "Description"\namount = "Amount"\nencoding = "{encoding}"\n')
    path = tmp_path / "wide.csv"
    path.write_bytes("Date,Description,Amount\n01/04/2026,Leeds City Council,20000.00\n".encode(encoding))
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--mapping", str(mapping), "--rules", RULES, as_="mo")
    assert run.code == 1
    first, *details = run.err.splitlines()
    assert "1 mistake in the mapping file" in first
    assert [line.strip() for line in details] == [
        f"encoding {encoding!r} does not write plain letters, digits and line ends one byte each, as swp "
        "reads a CSV file; save the export as CSV UTF-8 (or in cp1252, latin-1 and the like) and import that"]
    assert snapshot(db) == before


@pytest.mark.parametrize("encoding", ["rot13", "hex", "zlib", "base64"])
def test_a_mapping_naming_a_codec_that_is_not_of_text_is_refused(practice, db, tmp_path, encoding):
    """Python knows rot13, hex, zlib and base64 as codecs, but they turn text into text or bytes
    into bytes: a mistake in the mapping, as an unknown encoding is. Nothing changes."""
    mapping = tmp_path / "codec.toml"
    mapping.write_text(f'date = "D"\ndescription = "X"\namount = "A"\nencoding = "{encoding}"\n')
    path = tmp_path / "z.csv"
    path.write_text("D,X,A\n01/04/2026,x,-1\n")
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--mapping", str(mapping), "--dry-run", as_="mo")
    assert (run.code, run.out) == (1, "")
    assert run.err == (f"swp: {mapping}: 1 mistake in the mapping file (see 'Any other CSV: a mapping "
                       f"file' in docs/ledger.md):\n  encoding {encoding!r} is not a text encoding "
                       "(e.g. utf-8, cp1252, latin-1)\n")
    assert snapshot(db) == before


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "latin-1"])
def test_a_mapping_naming_a_one_byte_a_letter_encoding_reads_the_file(practice, db, tmp_path, encoding):
    mapping = tmp_path / "narrow.toml"
    mapping.write_text(f'date = "Date"\ndescription = "Description"\namount = "Amount"\nencoding = "{encoding}"\n')
    path = tmp_path / "narrow.csv"
    path.write_bytes("Date,Description,Amount\n01/04/2026,Leeds City Council Café,20000.00\n".encode(encoding))
    run = practice.ok("ledger", "import", str(path), "--mapping", str(mapping), "--rules", RULES, as_="mo",
                      json=True).json
    assert run["added"] == 1
    assert query(db, "SELECT memo FROM ledger_entry") == [("Leeds City Council Café",)]


def test_a_big_bank_import_sets_the_period_lock_aside_and_still_refuses_a_closed_period(
        practice, db, monkeypatch):
    """A bank file bigger than the books (on SQLite) sets the covering index and the period
    lock aside for its rows, as `ledger import` of swp's own CSV does: a line dated inside a
    closed period is still refused (nothing written, the schema as it was), a good file leaves
    the index and the trigger as they were, and afterwards the database refuses such a row."""
    from swp.services import ledger

    if is_postgres(db):
        pytest.skip("SQLite only: a server keeps its index and its trigger")
    monkeypatch.setattr(ledger, "REBUILD_BYTES", 0)
    monkeypatch.setattr(ledger, "REBUILD_SHARE", 1)
    schema = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'ledger_entry' ORDER BY name"
    kept = query(db, schema)
    assert {"ix_ledger_entry_date_cover", "ledger_entry_period_lock"} <= {name for _, name, _ in kept}
    practice.ok("ledger", "import", str(DATA / "starling.csv"), "--rules", RULES, as_="mo")
    assert query(db, schema) == kept and len(entries(db)) == 3

    execute(db, "INSERT INTO period (label, start, \"end\", income_pence, expenses_pence, "
                "net_pence, reserve_pence, distributable_pence, method, fingerprint, closed_at) "
                "VALUES ('2026-04', '2026-04-01', '2026-04-30', 0, 0, 0, 0, 0, 'equal', 't', "
                "'2026-05-01 00:00:00')")
    before = snapshot(db)
    run = practice("ledger", "import", str(DATA / "monzo.csv"), "--rules", RULES, as_="mo")
    assert run.code == 1 and "inside the closed period 2026-04" in run.err, run.err
    assert query(db, schema) == kept and snapshot(db) == before
    with pytest.raises(Exception, match="closed period"):  # around swp: the database refuses it
        execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, "
                    "recorded_at) VALUES ('2026-04-05', 'income', 500, 'contracts', '1000', '4000', "
                    "'2026-05-01 00:00:00')")


STARLING_HEADER = "Date,Counter Party,Reference,Type,Amount (GBP),Balance (GBP),Spending Category\n"
LLOYDS_HEADER = ("Transaction Date,Transaction Type,Sort Code,Account Number,Transaction Description,"
                 "Debit Amount,Credit Amount,Balance\n")


@pytest.mark.parametrize(("text", "message"), [
    (STARLING_HEADER + "01/04/2026,Pret,x,CARD,--12.00,,EATING_OUT\n", "line 2: not an amount: '--12.00'"),
    (STARLING_HEADER + "01/04/2026,Pret,x,CARD,+-12.00,,EATING_OUT\n", "line 2: not an amount: '+-12.00'"),
    (STARLING_HEADER + "01/04/2026,Pret,x,CARD,(-12.00),,EATING_OUT\n", "line 2: not an amount: '(-12.00)'"),
    (LLOYDS_HEADER + "01/04/2026,DEB,30-00-00,123,PRET,10.00,5.00,\n",
     "line 2: both money in (5.00) and money out (10.00) are filled; a line is one or the other"),
    ("Date,Description,Money in,Money out\n01/04/2026,Refund,-5.00,\n",
     "line 2: money in is negative (-5.00); money in is written without a sign"),
    (MONZO_HEADER + "tx_1,01/04/2026,10:00:00,Card,Pret,,e,-3.00,GBP,,,,,,,,,5.00\n",
     "line 2: the amount (-3.00) and money in (5.00) disagree"),
])
def test_an_amount_whose_direction_is_said_twice_or_two_ways_is_refused(practice, db, tmp_path, text, message):
    """`--12.00` went in as a £12 expense, `(-12.00)` as £12 income; a line with both money in
    and money out filled was netted; a negative money in became income; and Monzo's amount was
    not compared with its money in or out columns."""
    path = tmp_path / "bank.csv"
    path.write_text(text)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--uncategorised", "sundries", as_="mo")
    assert (run.code, run.err) == (1, f"swp: {message}\n")
    assert snapshot(db) == before


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_utf16_file_is_refused_saying_how_to_save_it(practice, db, tmp_path, encoding):
    """The hint was to name the encoding in a mapping file, which refuses UTF-16: a dead end."""
    path = tmp_path / "bank.csv"
    path.write_text("Date,Description,Money in,Money out\n01/04/2026,Refund,5.00,\n", encoding=encoding)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--uncategorised", "sundries", as_="mo")
    assert (run.code, run.err) == (1, f"swp: {path} is saved as UTF-16 or UTF-32 text (as Excel's \"Unicode "
                                      "Text\" is), which swp does not read: save it as \"CSV UTF-8\" and import that\n")
    assert snapshot(db) == before


@pytest.mark.parametrize("text", [
    "!Type:Invoice\nD01/04/2026\nT(40.00)\nPRent refund\n^\n",  # a register quiffen reads too
    "!Type:Bank\n!Option:AutoSwitch\nD01/04/2026\nT(40.00)\nPRent\n^\n",  # a flag quiffen skips
    "!Type:Bank\nD01/04/2026\n!Type:Cat\nT(40.00)\nPRent\n^\n",  # a header inside a section: dropped
    "!Type:Bank\nD02/04/2026\nT-3.00\nPPret\n^\nD01/04/2026\nT(40.00)\nPRent\n^\n",  # the header before
])
def test_every_qif_amount_quiffen_reads_is_checked_first(practice, db, tmp_path, text):
    """The check found a register by other rules than quiffen's: an Invoice register, a section
    after an !Option line, or a !Type line inside a section let `(40.00)` through, read by
    quiffen as £40 of income."""
    path = tmp_path / "bank.qif"
    path.write_text(text)
    before = snapshot(db)
    run = practice("ledger", "import", str(path), "--uncategorised", "sundries", as_="mo")
    line = text.splitlines().index("T(40.00)") + 1
    assert (run.code, run.err) == (1, f"swp: line {line}: not an amount: '(40.00)'\n")
    assert snapshot(db) == before
