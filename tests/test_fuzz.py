"""Fuzzing what users and their spreadsheets type: the amount and date parsers and the CSV
importer end in a value or in swp's own error (SwpError), never in any other exception."""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from swp.dates import parse_date, parse_month_day
from swp.errors import SwpError
from swp.money import MAX_PENCE, format_pence, parse_amount
from tests.conftest import copy_practice

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# text that looks like an amount, nearly: digits, separators, signs, currency, odd spaces
amountish = st.text(alphabet="0123456789.,£$-+ eE_\u00a0\u0661\uff11\n\t", max_size=24)
dateish = st.text(alphabet="0123456789-/ T:.Z+\n\u0662", max_size=24)


@given(st.one_of(st.text(), amountish, st.from_regex(r"£?[0-9,]{0,15}(\.[0-9]{0,4})?", fullmatch=True)))
@FUZZ
@example("£12,500.50")
@example("1e5")
@example("９９")
@example("0.00")
@example("20000000.01")
@example("٣")
def test_parse_amount_gives_pence_or_swp_error(text):
    for allow_zero in (False, True):
        try:
            pence = parse_amount(text, allow_zero=allow_zero)
        except SwpError as exc:
            assert exc.message and "\n" not in exc.message.strip()
            continue
        assert isinstance(pence, int) and not isinstance(pence, bool)
        assert (0 if allow_zero else 1) <= pence <= MAX_PENCE
        assert parse_amount(format_pence(pence), allow_zero=allow_zero) == pence


@given(st.integers(min_value=1, max_value=MAX_PENCE))
@settings(max_examples=200, deadline=None)
def test_every_amount_swp_prints_reads_back(pence):
    assert parse_amount(format_pence(pence)) == pence
    assert parse_amount(format_pence(pence, symbol=False)) == pence


@given(st.one_of(st.text(), dateish, st.dates().map(date.isoformat)))
@FUZZ
@example("2026-02-29")
@example("2024-02-29")
@example("0000-01-01")
@example("2026-1-1")
@example("2026-01-01T00:00")
@example("２０２６-01-01")
@example(" TODAY ")
@example("Yesterday")
def test_parse_date_gives_a_date_or_swp_error(text):
    try:
        day = parse_date(text)
    except SwpError as exc:
        assert exc.message and "\n" not in exc.message.strip()
        return
    assert isinstance(day, date)
    word = text.strip().lower()
    if word in ("today", "yesterday"):  # the relative words, in any case (by swp's clock)
        from datetime import timedelta

        from swp.clock import today

        assert day == today() - timedelta(days=1 if word == "yesterday" else 0)
    else:
        assert day.isoformat() == text.strip()


@given(st.one_of(st.text(max_size=8), st.from_regex(r"[0-9]{2}-[0-9]{2}", fullmatch=True)))
@FUZZ
def test_parse_month_day_gives_a_value_or_swp_error(text):
    try:
        value = parse_month_day(text)
    except SwpError:
        return
    assert len(value) == 5


# --- the CSV importer ----------------------------------------------------------------------------

HEADER = "date,type,amount,category,memo,ref"

cells = {
    "date": st.one_of(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 6, 30)).map(date.isoformat),
                      dateish, st.just("")),
    "type": st.one_of(st.sampled_from(["income", "expense", "INCOME", " expense ", "loan", "refund", ""]),
                      st.text(max_size=6)),
    "amount": st.one_of(st.integers(1, 10**6).map(str), amountish,
                        st.from_regex(r"£?[0-9]{1,3}(,[0-9]{3})*(\.[0-9]{1,3})?", fullmatch=True)),
    "category": st.one_of(st.sampled_from(["contracts", "rent", "x" * 41, "Rent", "r e n t", "-x"]),
                          st.text(alphabet=string.ascii_lowercase + "-_ 0", max_size=12)),
    "memo": st.text(max_size=30),
    "ref": st.one_of(st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=0, max_size=6),
                     st.just("dup")),
}


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\n\r') else cell


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.one_of(st.just(HEADER), st.just("\ufeff" + HEADER),
                            st.just("ref,memo,category,amount,type,date"), st.just("date,type,amount"),
                            st.text(max_size=40)))
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.integers(0, 9)) == 0:
            rows.append(draw(st.text(max_size=40)))  # a line of anything
            continue
        values = [draw(cells[name]) for name in HEADER.split(",")]
        if draw(st.booleans()):
            values = values[: draw(st.integers(0, 7))] + [draw(st.text(max_size=5))] * draw(st.integers(0, 2))
        rows.append(",".join(_quote(v) for v in values))
    text = "\n".join([header, *rows]) + draw(st.sampled_from(["", "\n", "\r\n", "\n\n"]))
    data = text.encode("utf-8", "surrogatepass") if draw(st.booleans()) else text.encode("utf-8", "replace")
    if draw(st.integers(0, 5)) == 0:  # invalid UTF-8, NUL bytes, a stray quote
        data += draw(st.sampled_from([b"\xff\xfe", b"\x00", b'\n2026-01-01,income,5,x,"open,r9', b"\r"]))
    return data


class _Undo(Exception):
    """Raised to roll the import's transaction back after each example."""


@pytest.fixture(scope="module")
def fuzz_db(practice_template, tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("fuzz") / "practice.db")
    copy_practice(practice_template, path)
    return path


@pytest.fixture(scope="module")
def fuzz_database(fuzz_db):
    from swp.db import open_database

    database = open_database(fuzz_db)
    yield database
    database.dispose()


@given(data=csv_files(), dry_run=st.booleans())
@settings(FUZZ, max_examples=150)
@example(data=f"{HEADER}\n2026-01-01,income,5,grants,,r1\n2026-01-01,income,6,grants,,r1\n".encode(), dry_run=False)
@example(data=f"{HEADER}\n2026-01-01,income,5,grants,\"unclosed,r1\n".encode(), dry_run=False)
@example(data=f"{HEADER}\n2026-01-01,income,5,grants,nul\x00here,r1\n".encode(), dry_run=False)
@example(data=b"\xff\xfe" + HEADER.encode("utf-16-le"), dry_run=False)
@example(data=b"", dry_run=True)
def test_the_csv_importer_gives_a_summary_or_swp_error(fuzz_database, tmp_path_factory, data, dry_run):
    from swp.services import ledger

    path = tmp_path_factory.getbasetemp() / "fuzz-input.csv"
    path.write_bytes(data)
    outcome = None
    try:
        with fuzz_database.transaction(write=True) as session:
            try:
                outcome = ledger.import_csv(session, str(path), actor="mo", dry_run=dry_run)
            except SwpError as exc:
                outcome = exc
            raise _Undo  # roll back: every example starts from the same books
    except _Undo:
        pass
    if isinstance(outcome, SwpError):
        assert outcome.message.strip() and outcome.exit_code == 1
    else:
        assert outcome.rows >= 1 and outcome.added + outcome.skipped == outcome.rows
        assert outcome.dry_run == dry_run


@given(st.text(max_size=20), st.text(max_size=14))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_amount_or_date_at_the_command_line_is_a_result_or_one_line(fuzz_db, amount, day):
    """Through the real CLI: exit 0, 1 or 2 and never an unexpected error (the Swp helper
    fails the test on one); nothing is kept (each run's database is thrown away)."""
    from tests.conftest import Swp

    assume("\x00" not in amount + day)
    swp = Swp(fuzz_db)
    run = swp("--json", "ledger", "balance", "--from", day)
    assert run.code in (0, 1, 2)
    run = swp("period", "preview", "--start", day, "--end", "2026-06-30")
    assert run.code in (0, 1, 2)
    if run.code:
        assert run.err.count("\n") == 1
    run = swp("ledger", "expense", amount, "--date", "2026-07-01", "--category", "fuzz", "--memo",
              "x", as_="ann")  # not a manager: refused after the amount and date are read
    assert run.code in (1, 2) and run.err.count("\n") == 1
