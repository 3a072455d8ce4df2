"""The guard's blind spots, closed: one test per route a hostile insider would try, each
refused through the CLI (exit code, one line naming the clause, the data unchanged), and for
a route that can be written around swp with plain SQL, `swp check` reporting it."""

from __future__ import annotations

import pytest

from tests.conftest import execute, snapshot
from tests.test_guard import refused


def checked(swp, clause: str, text: str) -> None:
    """`swp check` finds the problem (exit 4), naming its clause."""
    run = swp("check", json=True)
    assert run.code == 4, run.out + run.err
    problems = run.json["problems"]
    assert any(p["clause"] == clause and text in p["message"] for p in problems), problems


# --- company names in other forms and scripts -----------------------------------------------

@pytest.mark.parametrize("name, form", [
    ("Acme Care Co.", "co"), ("Acme SA", "sa"), ("Acme Care AG", "ag"),
    ("BlackRock", "brand"), ("AcmeCareLtd", "ltd"), ("Jo L.t.d.", "ltd"),
    ("\u0410\u0441m\u0435 Care Ltd", "ltd"),  # Cyrillic A, s, e
    ("\uff21\uff23\uff2d\uff25 \uff2c\uff34\uff24", "ltd"),  # full-width
    ("Acme Care S. A.", "sa"), ("Acme GmbH", "gmbh"),
])
def test_company_names_in_any_form_or_script_are_refused(practice, db, name, form):
    err = refused(practice, db, "member", "add", "acme", "--name", name, "--role", "staff",
                  "--employed-since", "2026-01-01", "--hours", "37.5", as_="mo",
                  clause="employees-only")
    assert form in err and "organisation" in err


def test_a_company_name_written_in_with_sql_is_reported(practice, db):
    execute(db, "UPDATE member SET name = 'ＡＣＭＥ ＬＴＤ' WHERE handle = 'sam'")
    checked(practice, "employees-only", "organisation")


# --- bounds that would make a clause meaningless ----------------------------------------------

@pytest.mark.parametrize("setting, clause", [
    ("membership.min-hours=0", "employees-only"),
    ("membership.min-hours=0.5", "employees-only"),
    ("membership.max-members=151", "membership.max-members"),
    ("membership.max-members=100000", "membership.max-members"),
])
def test_entrenched_floor_and_ceiling(practice, db, setting, clause):
    err = refused(practice, db, "proposal", "new", "--title", "t", "--kind", "special",
                  "--amend", setting, as_="ann", clause=clause)
    assert "entrenched" in err


def test_floor_and_ceiling_at_founding(swp, db):
    run = swp("init", "P", "--local-authority", "Leeds City Council", "--set",
              "membership.min-hours=0")
    assert run.code == 3 and "employees-only" in run.err


def test_a_clause_beyond_its_bound_written_with_sql_is_reported(practice, db):
    execute(db, "UPDATE clause SET value = '0' WHERE name = 'membership.min-hours'")
    checked(practice, "employees-only", "entrenched floor")


# --- capital booked as income -----------------------------------------------------------------

@pytest.mark.parametrize("category", ["share-capital", "capital-contribution", "investment",
                                      "financing", "equity-injection"])
def test_capital_is_never_income(practice, db, category):
    err = refused(practice, db, "ledger", "income", "5000", "--date", "2026-06-01",
                  "--category", category, as_="mo", clause="no-share-issuance")
    assert "finance loan" in err


def test_capital_is_never_income_in_an_import(practice, db, tmp_path):
    csv = tmp_path / "bank.csv"
    csv.write_text("date,type,amount,category,memo,ref\n"
                   "2026-06-01,income,100,contracts,fees,r1\n"
                   "2026-06-02,income,50000,investment,from Acme,r2\n")
    before = snapshot(db)
    run = practice("ledger", "import", str(csv), as_="mo")
    assert run.code == 3, run.err
    assert run.err.startswith("swp: refused by clause no-share-issuance: line 3:"), run.err
    assert run.err.count("\n") == 1
    assert snapshot(db) == before


def test_capital_income_written_with_sql_is_reported(practice, db):
    execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, "
                "recorded_at) VALUES ('2026-06-01', 'income', 100, 'investment', 'assets:bank', "
                "'income:investment', '2026-06-01 00:00:00')")
    checked(practice, "no-share-issuance", "investment")


# --- closing the future -----------------------------------------------------------------------

def test_a_period_ending_after_today_cannot_be_closed(practice, db):
    practice.ok("ledger", "income", "100", "--date", "2026-06-01", "--category", "contracts",
                as_="mo")
    before = snapshot(db)
    run = practice("period", "close", "2026-27", "--start", "2026-04-01", "--end", "2027-03-31",
                   as_="mo")
    assert run.code == 1, run.err
    assert "after today" in run.err and run.err.count("\n") == 1
    assert snapshot(db) == before
