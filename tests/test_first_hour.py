"""The first hour with swp, as a business manager and a social worker who are not programmers
would try it from the README: a scripted first hour, and one test per friction removed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Swp

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "examples" / "riverside-ledger.csv"


def found_riverside(swp: Swp) -> Swp:
    """The demo's key steps: a practice, its five members, a bank year imported."""
    swp.ok("init", "Riverside Social Work Practice", "--local-authority", "Leeds City Council",
           "--set", "sharing.method=equal:50,hours:50")
    swp.ok("member", "add", "ann", "--name", "Ann Achebe", "--role", "practitioner",
           "--employed-since", "2024-04-01", "--hours", "37.5", "--pay", "41000",
           "--registration", "SW200001")
    swp.ok("member", "add", "bea", "--name", "Bea Brown", "--role", "practitioner",
           "--employed-since", "2024-04-01", "--hours", "30", "--pay", "33000",
           "--registration", "SW200002")
    swp.ok("member", "add", "cal", "--name", "Cal Chen", "--role", "practitioner",
           "--employed-since", "2025-09-01", "--hours", "22.5", "--pay", "24000",
           "--registration", "SW200003")
    swp.ok("member", "add", "mo", "--name", "Mo Malik", "--role", "manager",
           "--employed-since", "2024-04-01", "--hours", "37.5", "--pay", "36000")
    swp.ok("member", "add", "sam", "--name", "Sam Singh", "--role", "staff",
           "--employed-since", "2025-06-01", "--hours", "16", "--pay", "12500", as_="mo")
    swp.ok("ledger", "import", str(LEDGER), as_="mo")
    return swp


# --- 1. swp on the PATH -------------------------------------------------------------------

def test_readme_says_how_to_get_swp_on_the_path_before_the_first_bare_swp():
    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("## A short tour"):]
    first_swp = re.search(r"^swp ", tour, re.M).start()
    before = tour[:first_swp]
    assert ". .venv/bin/activate" in before and "pipx install ." in before


def test_make_demo_ends_by_saying_how_to_get_swp():
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile[makefile.index("\ndemo:"):]
    demo = demo[:demo.index("\n\n")]
    assert "activate" in demo and "pipx install ." in demo


# --- 10. the demo is reproducible ---------------------------------------------------------

def _closed_year(tmp_path: Path, name: str) -> dict[str, str | bytes]:
    swp = found_riverside(Swp(str(tmp_path / f"{name}.db")))
    swp.ok("period", "close", "2025-26", "--start", "2025-04-01", "--end", "2026-03-31",
           as_="mo")
    out = tmp_path / name
    swp.ok("statement", "2025-26", "--format", "pdf", "--output", f"{out}/", as_="mo")
    swp.ok("statement", "2025-26", "--format", "html", "--output", f"{out}/", as_="mo")
    seen: dict[str, str | bytes] = {
        "text": swp.ok("statement", "2025-26", "--member", "cal", as_="mo").out,
        "list": swp.ok("period", "list").out,
        "head": swp.ok("audit", "verify", json=True).out,
    }
    for path in sorted(out.iterdir()):
        seen[path.name] = path.read_bytes()
    return seen


@pytest.mark.sqlite_only
def test_the_demo_prints_the_same_every_run(tmp_path, monkeypatch):
    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    first, second = _closed_year(tmp_path, "one"), _closed_year(tmp_path, "two")
    assert first.keys() == second.keys() and len(first) == 3 + 10
    for key in first:
        assert first[key] == second[key], key
    assert re.search(r"Closed\s+(2026-04-30|30 April 2026)", first["text"])


# --- 2. global options anywhere on the line -----------------------------------------------

def _leaf_commands():
    import typer

    from swp.cli import app

    def walk(command, path):
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                yield from walk(sub, (*path, name))
        else:
            yield path

    return list(walk(typer.main.get_command(app), ()))


def test_global_options_after_every_command(practice):
    """Every command accepts --json, --as X and --db X after it (and --as=X, --db=X)."""
    import json

    leaves = _leaf_commands()
    assert len(leaves) > 40
    runner = practice.runner
    from swp.cli import app

    for path in leaves:
        for tail in (["--json", "--as", "mo", "--db", practice.db],
                     ["--as=mo", "--db=" + practice.db, "--json"]):
            result = runner.invoke(app, [*path, *tail])
            assert "No such option" not in result.stderr, (path, result.stderr)
            assert "Got unexpected extra argument" not in result.stderr, (path, result.stderr)
            if result.exit_code == 0 and path != ("export",) and "export" not in path:
                json.loads(result.stdout)  # --json took effect


def test_global_options_at_the_end_take_effect(practice):
    from swp.cli import app

    run = practice.runner.invoke(app, ["ledger", "balance", "--db", practice.db, "--json"])
    assert run.exit_code == 0 and run.stdout.lstrip().startswith("{")
    run = practice.runner.invoke(app, ["rules", "show", "--json", "--db", practice.db])
    assert run.exit_code == 0 and run.stdout.lstrip().startswith("{")
    practice.ok("proposal", "new", "--title", "Keep more", "--kind", "ordinary",
                "--amend", "sharing.reserve-percent=25", as_="ann")
    run = practice("vote", "1", "yes", "--as", "bea")
    assert run.code == 0 and "bea votes yes" in run.out


def test_a_value_that_looks_like_a_global_option_is_left_alone(practice):
    practice.ok("ledger", "expense", "12", "--date", "2026-04-02", "--category", "stationery",
                "--memo", "--json", as_="mo")
    entries = practice.ok("ledger", "list", json=True).json
    assert "--json" in str(entries)
    # after `--`, nothing is an option
    run = practice("member", "show", "--", "--json", as_="mo")
    assert run.code == 1 and "--json" in run.err


# --- 3. nothing that matters is cut off in a table at 80 columns ----------------------------

WHOLE = re.compile(r"-?£[0-9,]+\.[0-9]{2}|\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b")


@pytest.fixture(scope="module")
def riverside_year(tmp_path_factory) -> str:
    """The demo's practice with its year closed, a contract, a loan and a proposal."""
    path = str(tmp_path_factory.mktemp("riverside") / "riverside.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWP_TODAY", "2026-04-30")
        swp = found_riverside(Swp(path))
        swp.ok("period", "close", "2025-26", "--start", "2025-04-01", "--end", "2026-03-31",
               as_="mo")
        swp.ok("contract", "add", "LCC-2026-01", "--authority", "Leeds City Council",
               "--value", "240000", "--start", "2026-04-01", "--end", "2027-03-31",
               "--outcome-percent", "10", "--description", "Support for children in care",
               as_="mo")
        swp.ok("contract", "invoice", "LCC-2026-01", "18000", "--date", "2026-04-30", as_="mo")
        swp.ok("finance", "loan", "Triodos Bank", "25000", "--date", "2026-04-20", as_="mo")
        swp.ok("proposal", "new", "--title", "Keep 25% in the reserve", "--kind", "ordinary",
               "--amend", "sharing.reserve-percent=25", as_="ann")
        swp.ok("vote", "1", "yes", as_="bea")
    return path


TABLES = [
    ("member", "list"), ("member", "show", "cal"), ("ledger", "list"), ("ledger", "balance"),
    ("period", "list"), ("period", "preview", "--start", "2025-04-01", "--end", "2026-03-31"),
    ("contract", "list"), ("contract", "show", "LCC-2026-01"), ("rules", "show"),
    ("proposal", "list"), ("proposal", "show", "1"), ("finance", "loans"), ("partner", "list"),
    ("audit", "log"), ("practice", "show"),
]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("command", TABLES, ids=[" ".join(c) for c in TABLES])
def test_every_table_at_80_columns_keeps_every_amount_and_date_whole(riverside_year, command,
                                                                     monkeypatch):
    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    swp = Swp(riverside_year)
    wide = swp.ok(*command, as_="mo", env={"COLUMNS": "200"}).out
    narrow = swp.ok(*command, as_="mo", env={"COLUMNS": "80"}).out
    assert narrow.strip()
    for line in narrow.splitlines():
        assert len(line.rstrip()) <= 80, line
    for token in set(WHOLE.findall(wide)):
        assert token in narrow, f"{token} cut at 80 columns:\n{narrow}"
    for handle in ("ann", "bea", "cal", "mo", "sam"):
        if re.search(rf"\b{handle}\b", wide):
            assert re.search(rf"\b{handle}\b", narrow), handle


# --- 4. slips are typos (exit 1 with a suggestion), not constitutional refusals --------------

def _unaudited(practice, *args, as_=None):
    from tests.conftest import audit_rows, snapshot

    before, events = snapshot(practice.db), len(audit_rows(practice.db))
    run = practice(*args, as_=as_)
    assert run.code == 1, run.err
    assert run.err.count("\n") == 1
    assert snapshot(practice.db) == before and len(audit_rows(practice.db)) == events
    return run.err


def test_a_mistyped_voter_is_told_the_nearest_handle(practice):
    practice.ok("proposal", "new", "--title", "t", "--kind", "ordinary",
                "--amend", "sharing.reserve-percent=25", as_="ann")
    err = _unaudited(practice, "vote", "1", "yes", as_="annn")
    assert err == "swp: no member with handle 'annn'; did you mean 'ann'?\n"
    err = _unaudited(practice, "vote", "1", "yes", as_="Ann")
    assert "did you mean 'ann'? (handles are case-sensitive)" in err


def test_a_mistyped_manager_or_member_is_told_the_nearest_handle(practice):
    err = _unaudited(practice, "ledger", "expense", "5", "--date", "2026-04-02",
                     "--category", "stationery", as_="Mo")
    assert "did you mean 'mo'? (handles are case-sensitive)" in err
    err = _unaudited(practice, "member", "show", "bee", as_="mo")
    assert "no member with handle 'bee'; did you mean 'bea'?" in err


def test_an_unknown_role_is_a_typo_with_the_roles_to_choose_from(practice):
    err = _unaudited(practice, "member", "add", "dee", "--name", "Dee Dale", "--role",
                     "social worker", "--employed-since", "2026-01-05", "--hours", "30",
                     "--registration", "SW200009", as_="mo")
    assert "not a role: 'social worker'" in err and "did you mean 'practitioner'?" in err
    err = _unaudited(practice, "member", "add", "dee", "--name", "Dee Dale", "--role",
                     "practioner", "--employed-since", "2026-01-05", "--hours", "30",
                     "--registration", "SW200009", as_="mo")
    assert "did you mean 'practitioner'?" in err


@pytest.mark.parametrize("role", ["investor", "shareholder", "company", "volunteer"])
def test_a_role_naming_a_non_employee_is_still_refused(practice, role):
    from tests.conftest import audit_rows

    run = practice("member", "add", "dee", "--name", "Dee Dale", "--role", role,
                   "--employed-since", "2026-01-05", "--hours", "30", as_="mo")
    assert run.code == 3 and "refused by clause employees-only" in run.err
    assert audit_rows(practice.db)[-1]["outcome"] == "refused"
