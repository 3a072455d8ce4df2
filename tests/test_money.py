"""Money and dates as users type them (SPEC section 4), and a schema with no float anywhere."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swp.dates import parse_date
from swp.errors import InputError
from swp.money import AMOUNT_HELP, MAX_PENCE, format_pence, parse_amount
from tests.conftest import database_url, snapshot

GOOD_AMOUNTS = [
    ("12500", 1_250_000),
    ("12500.5", 1_250_050),
    ("12,500.50", 1_250_050),
    ("£12,500.50", 1_250_050),
    ("£950", 95_000),
    ("0.01", 1),
    ("1,000,000", 100_000_000),
    (" 42.10 ", 4_210),
    ("20,000,000.00", MAX_PENCE),
]

BAD_AMOUNTS = [
    "12.345",  # three decimal places
    "0.001",
    "-5",  # signs
    "+5",
    "-£5",
    "£-5",
    "1e5",  # exponents
    "1E3",
    "12500e0",
    "",  # empty
    "   ",
    "ten",  # words
    "twelve pounds",
    "NaN",
    "Infinity",
    "12,50",  # commas that are not thousands separators
    "1,2345",
    ",500",
    "12.",
    ".5",
    "12 500",
    "12_500",
    "£ 12",
    "$12",
    "12£",
    "١٢٣",  # digits of other scripts
    "１２",
    "0x10",
]


@pytest.mark.parametrize(("text", "pence"), GOOD_AMOUNTS)
def test_good_amounts_parse_to_exact_pence(text, pence):
    assert parse_amount(text) == pence


@pytest.mark.parametrize("text", BAD_AMOUNTS)
def test_bad_amounts_are_refused_saying_what_a_valid_one_looks_like(text):
    with pytest.raises(InputError) as caught:
        parse_amount(text)
    assert AMOUNT_HELP in caught.value.message


def test_zero_is_refused_unless_allowed():
    with pytest.raises(InputError, match="more than zero"):
        parse_amount("0.00")
    assert parse_amount("0", allow_zero=True) == 0


def test_amounts_above_the_cap_are_refused():
    with pytest.raises(InputError, match="too large"):
        parse_amount("20,000,000.01")
    with pytest.raises(InputError, match="too large"):
        parse_amount("9" * 5000)  # no int() of a huge string either


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=MAX_PENCE))
def test_formatted_amounts_parse_back(pence):
    assert parse_amount(format_pence(pence)) == pence
    assert parse_amount(format_pence(pence, symbol=False).replace(",", "")) == pence


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=12))
def test_any_text_is_either_an_exact_amount_or_an_input_error(text):
    try:
        pence = parse_amount(text)
    except InputError:
        return
    assert isinstance(pence, int) and 0 < pence <= MAX_PENCE


GOOD_DATES = [("2026-04-01", (2026, 4, 1)), ("2024-02-29", (2024, 2, 29)), (" 2025-12-31 ", (2025, 12, 31))]
BAD_DATES = [
    ("2026-02-30", "no such date"),  # impossible days
    ("2025-02-29", "no such date"),
    ("2026-13-01", "no such date"),
    ("2026-04-31", "no such date"),
    ("0000-01-01", "no such date"),
    ("2026-4-1", "not a date"),  # not ISO
    ("01/04/2026", "not a date"),
    ("2026/04/01", "not a date"),
    ("20260401", "not a date"),
    ("tomorrow", "not a date"),  # today and yesterday are words swp knows
    ("", "not a date"),
    ("２０２６-04-01", "not a date"),
]


@pytest.mark.parametrize(("text", "parts"), GOOD_DATES)
def test_good_dates(text, parts):
    assert parse_date(text).timetuple()[:3] == parts


@pytest.mark.parametrize(("text", "message"), BAD_DATES)
def test_bad_dates_are_refused(text, message):
    with pytest.raises(InputError, match=message):
        parse_date(text)


@pytest.mark.parametrize("text", ["12.345", "-5", "+5", "1e5", "", "ten", "12,50"])
def test_the_cli_refuses_bad_amounts_with_exit_1_and_changes_nothing(practice, db, text):
    before = snapshot(db)
    run = practice("ledger", "income", text, "--date", "2026-04-01", "--category", "contracts",
                   as_="mo")
    assert run.code == 1
    assert run.err == f"swp: not an amount: {text!r}; {AMOUNT_HELP}\n"
    assert run.out == ""
    assert snapshot(db) == before


@pytest.mark.parametrize(("text", "message"), [
    ("2026-02-30", "swp: no such date: '2026-02-30' is not a day of the calendar\n"),
    ("30/02/2026", "swp: not a date: '30/02/2026'; dates are written YYYY-MM-DD, e.g. 2026-04-01\n"),
])
def test_the_cli_refuses_bad_dates_with_exit_1_and_changes_nothing(practice, db, text, message):
    before = snapshot(db)
    run = practice("ledger", "expense", "950", "--date", text, "--category", "rent", as_="mo")
    assert run.code == 1 and run.err == message
    assert snapshot(db) == before


@pytest.mark.parametrize("text", ["12500", "12500.5", "12,500.50", "£12,500.50"])
def test_the_cli_records_each_good_amount_in_pence(practice, text):
    practice.ok("ledger", "income", text, "--date", "2026-04-01", "--category", "contracts",
                as_="mo")
    entries = practice.ok("ledger", "list", json=True).json["entries"]
    assert [e["amount_pence"] for e in entries] == [parse_amount(text)]


def test_no_float_or_numeric_column_anywhere(practice, db):
    """Every table, as the migrations built it: money and everything else is never a float."""
    from sqlalchemy import Float, Integer, Numeric, create_engine, inspect

    engine = create_engine(database_url(db))
    try:
        inspector = inspect(engine)
        tables = inspector.get_table_names()
        assert "ledger_entry" in tables and "period" in tables
        bad, money_not_integer = [], []
        for table in tables:
            for column in inspector.get_columns(table):
                kind = column["type"]
                declared = str(kind).upper()
                if isinstance(kind, (Float, Numeric)) or any(
                        word in declared for word in ("REAL", "FLOAT", "DOUBLE", "NUMERIC", "DECIMAL")):
                    bad.append(f"{table}.{column['name']} {declared}")
                if column["name"].endswith("_pence") and not isinstance(kind, Integer):
                    money_not_integer.append(f"{table}.{column['name']} {declared}")
    finally:
        engine.dispose()
    assert bad == []
    assert money_not_integer == []


def test_models_declare_no_float_or_numeric_column():
    from sqlalchemy import Float, Numeric

    from swp.models import metadata

    bad = [f"{table.name}.{column.name}" for table in metadata().tables.values()
           for column in table.columns if isinstance(column.type, (Float, Numeric))]
    assert bad == []


def test_every_table_model_is_listed_where_swp_models_finds_it():
    """Each table class in swp/models/ is named in `swp.models.HOME` with its module, so that
    `from swp.models import X` and `metadata()` (the schema check, copying a practice) know it;
    and every table of the schema has its class."""
    import ast
    from pathlib import Path

    from swp import models

    folder = Path(models.__file__).parent
    declared = {}
    for path in sorted(folder.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and any(
                    k.arg == "table" for k in node.keywords):
                declared[node.name] = path.stem
    assert declared == models.HOME
    assert {models.table_of(m).name for m in models.all_models()} == set(models.metadata().tables)
