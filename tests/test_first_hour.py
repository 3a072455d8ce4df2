"""The first hour with swp, as a business manager and a social worker who are not programmers
would try it from the README: a scripted first hour, and one test per friction removed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import Swp

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "examples" / "riverside-ledger.csv"


def found_riverside(swp: Swp, *seed: str) -> Swp:
    """The demo's key steps: a practice, its five members, a bank year imported. `seed`:
    ("--seed", TEXT) to make its keys as the demo does."""
    swp.ok("init", "--sandbox", *seed, "Riverside Social Work Practice", "--local-authority",
           "Leeds City Council", "--set", "sharing.method=equal:50,hours:50")
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


# --- the first hour, as a business manager would spend it -----------------------------------

def test_the_first_hour(monkeypatch, tmp_path):
    """Found a practice, add members, import a bank year, preview by name, close with the
    confirmation a terminal gets, and read a statement at 80 columns."""
    from swp.cli import sharing as sharing_cli

    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    swp = found_riverside(Swp(str(tmp_path / "first-hour.db")))
    assert "1 April" in swp.ok("practice", "show").out
    preview = swp.ok("period", "preview", "2025-26", env={"COLUMNS": "80"}).out
    assert "£50,273.30" in preview and "nothing changed" in preview
    monkeypatch.setattr(sharing_cli, "_at_terminal", lambda: True)
    closed = swp("period", "close", "2025-26", "--as", "mo", input="y\n")
    assert closed.code == 0 and "Close 2025-26" in closed.out and "closed and locked" in closed.out
    statement = swp.ok("statement", "2025-26", as_="cal", env={"COLUMNS": "80"}).out
    assert all(len(line) <= 80 for line in statement.splitlines())
    assert "Your share: half of the pool" in " ".join(statement.split())
    assert "£5,807.96" in statement


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
    swp = found_riverside(Swp(str(tmp_path / f"{name}.db")), "--seed", "riverside-demo")
    swp.ok("period", "close", "2025-26", "--start", "2025-04-01", "--end", "2026-03-31",
           as_="mo")
    out = tmp_path / name
    swp.ok("statement", "2025-26", "--format", "pdf", "--output", f"{out}/", as_="mo")
    swp.ok("statement", "2025-26", "--format", "html", "--output", f"{out}/", as_="mo")
    seen: dict[str, str | bytes] = {
        "text": swp.ok("statement", "2025-26", "--member", "cal", as_="mo").out,
        "list": swp.ok("period", "list").out,
        "head": swp.ok("audit", "verify", json=True).out,
        "show": swp.ok("practice", "show").out,
        "keys": swp.ok("member", "show", "cal", as_="mo").out,
    }
    for path in sorted(out.iterdir()):
        seen[path.name] = path.read_bytes()
    return seen


def test_the_demo_prints_the_same_every_run(tmp_path, monkeypatch):
    """Founded with --seed as the demo is, and run on the same pinned days, two runs give the
    same statements byte for byte: the same fingerprint, audit head and keys."""
    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    first, second = _closed_year(tmp_path, "one"), _closed_year(tmp_path, "two")
    assert first.keys() == second.keys() and len(first) == 5 + 10
    for key in first:
        assert first[key] == second[key], key
    assert re.search(r"Closed\s+(2026-04-30|30 April 2026)", first["text"])
    assert re.search(r"Fingerprint\s+[0-9a-f]{64}", str(first["text"]))
    # an unseeded sandbox makes keys of its own
    def key(swp: Swp) -> str:
        return swp.ok("member", "show", "cal", as_="mo", json=True).json["key_fingerprint"]

    assert key(found_riverside(Swp(str(tmp_path / "other.db")))) != key(Swp(str(tmp_path / "one.db")))


def test_the_demo_founds_its_sandbox_with_a_seed():
    demo = (ROOT / "examples" / "demo.sh").read_text()
    assert re.search(r"^say swp init --sandbox --seed \S+ ", demo, re.M)


def test_a_seed_is_for_a_sandbox_only(swp, monkeypatch):
    monkeypatch.delenv("SWP_TODAY")
    run = swp("init", "--seed", "x", "Riverside", "--local-authority", "Leeds City Council")
    assert run.code == 1 and run.err == ("swp: --seed is for a sandbox only (swp init --sandbox "
                                         "--seed TEXT): a real practice's keys are its members' own\n")
    assert not Path(swp.db).exists()


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
        if path == ("serve",):  # runs the members' page until stopped; the same parsing serves it
            continue
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
        swp.ok("meeting", "call", "--kind", "agm", "--date", "2026-05-15", "--place",
               "Riverside office", as_="mo")
        swp.ok("member", "update", "ann", "--address", "12 Water Lane, Leeds LS11 5QN",
               "--email", "ann@example.org", "--email-purposes", "notices,statements", as_="mo")
    return path


TABLES = [
    ("member", "list"), ("member", "show", "cal"), ("ledger", "list"), ("ledger", "balance"),
    ("period", "list"), ("period", "preview", "--start", "2025-04-01", "--end", "2026-03-31"),
    ("contract", "list"), ("contract", "show", "LCC-2026-01"), ("rules", "show"),
    ("proposal", "list"), ("proposal", "show", "1"), ("finance", "loans"), ("partner", "list"),
    ("audit", "log"), ("practice", "show"), ("calendar",), ("meeting", "list"),
    ("meeting", "show", "1"), ("ledger", "profiles"), ("register", "members"),
    ("register", "officers"), ("statement", "2025-26", "--member", "cal"),
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


# --- 5. irreversible steps: confirmation at a terminal, and no entry left unshared by mistake --

def test_close_asks_at_a_terminal_and_a_no_changes_nothing(monkeypatch, tmp_path):
    from swp.cli import sharing as sharing_cli
    from tests.conftest import snapshot

    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    swp = found_riverside(Swp(str(tmp_path / "r.db")))
    monkeypatch.setattr(sharing_cli, "_at_terminal", lambda: True)
    before = snapshot(swp.db)
    run = swp("period", "close", "2025-26", as_="mo", input="n\n")
    assert run.code == 1 and "not closed; nothing changed" in run.err
    assert "Close 2025-26 (2025-04-01 to 2026-03-31)?" in run.out
    assert "£50,273.30" in run.out  # the summary is shown before the question
    assert snapshot(swp.db) == before
    run = swp("period", "close", "2025-26", as_="mo", input="y\n")
    assert run.code == 0 and "closed and locked" in run.out
    assert swp.ok("period", "list", json=True).json["periods"][0]["label"] == "2025-26"


def test_close_with_yes_or_json_or_off_a_terminal_never_asks(monkeypatch, tmp_path):
    from swp.cli import sharing as sharing_cli

    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    swp = found_riverside(Swp(str(tmp_path / "r.db")))
    monkeypatch.setattr(sharing_cli, "_at_terminal", lambda: True)
    run = swp("period", "close", "2025-Q3", "--yes", as_="mo")  # no input: it must not ask
    assert run.code == 1 and "--leave-unshared" in run.err  # (April to June: never shared)
    run = swp("period", "close", "2025-26", as_="mo", json=True)
    assert run.code == 0 and run.json["label"] == "2025-26"


def test_a_first_period_after_the_first_entry_is_refused_unless_left_unshared(monkeypatch,
                                                                             tmp_path):
    from tests.conftest import snapshot

    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    swp = found_riverside(Swp(str(tmp_path / "r.db")))
    before = snapshot(swp.db)
    run = swp("period", "close", "2025-11", as_="mo")
    assert run.code == 1 and run.err.count("\n") == 1
    assert "dated before 2025-11-01 (the first on 2025-04-01)" in run.err
    assert "--leave-unshared" in run.err and snapshot(swp.db) == before
    swp.ok("period", "close", "2025-11", "--leave-unshared", as_="mo")
    report = swp.ok("check", json=True).json
    assert report["ok"] and "no period will ever share them" in report["notices"][0]
    assert "no period will ever share them" in swp.ok("check").out
    # October can no longer be closed after November: periods follow one another
    run = swp("period", "close", "2025-10", as_="mo")
    assert run.code == 1 and "periods follow one another" in run.err


# --- 7. periods by name; today and yesterday; formats in --help ---------------------------

@pytest.mark.parametrize(("name", "start", "end"), [
    ("2026-04", "2026-04-01", "2026-04-30"), ("2024-02", "2024-02-01", "2024-02-29"),
    ("2026-Q1", "2026-01-01", "2026-03-31"), ("2025-q4", "2025-10-01", "2025-12-31"),
    ("2025-26", "2025-04-01", "2026-03-31"), ("2026", "2026-01-01", "2026-12-31"),
])
def test_period_names_give_their_dates(name, start, end):
    from swp.dates import period_dates

    first, last = period_dates(name, "04-01")
    assert (first.isoformat(), last.isoformat()) == (start, end)


def test_a_financial_year_follows_the_practice_year_start():
    from swp.dates import period_dates

    first, last = period_dates("2025-26", "01-06")
    assert (first.isoformat(), last.isoformat()) == ("2025-01-06", "2026-01-05")
    assert period_dates("2025-27", "04-01") is None and period_dates("Spring", "04-01") is None


def test_preview_and_close_by_name(monkeypatch, tmp_path):
    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    swp = found_riverside(Swp(str(tmp_path / "r.db")))
    by_name = swp.ok("period", "preview", "2025-26", json=True).json
    by_dates = swp.ok("period", "preview", "--start", "2025-04-01", "--end", "2026-03-31",
                      json=True).json
    assert by_name["distributable_pence"] == by_dates["distributable_pence"] == 5027330
    run = swp("period", "preview", "Spring")
    assert run.code == 1 and "2026-Q1" in run.err and "--start" in run.err
    swp.ok("period", "close", "2025-26", as_="mo")
    swp.ok("ledger", "income", "1000", "--date", "yesterday", "--category", "grants", as_="mo")
    swp.ok("period", "close", "2026-04", "--end", "today", "--start", "2026-04-01", as_="mo")
    assert [p["end"] for p in swp.ok("period", "list", json=True).json["periods"]] == \
        ["2026-03-31", "2026-04-30"]


def test_today_and_yesterday_are_dates(practice):
    practice.ok("ledger", "expense", "5", "--date", "yesterday", "--category", "stationery",
                as_="mo")
    practice.ok("ledger", "expense", "6", "--date", "today", "--category", "stationery", as_="mo")
    dates = [e["date"] for e in practice.ok("ledger", "list", json=True).json["entries"]]
    assert dates[-2:] == ["2026-06-29", "2026-06-30"]


def test_every_date_and_amount_option_says_its_format():
    import typer

    from swp.cli import app

    def walk(command, path):
        for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
            yield from walk(sub, (*path, name))
        for param in getattr(command, "params", ()):
            yield path, param

    for path, param in walk(typer.main.get_command(app), ()):
        meta = getattr(param, "metavar", None)
        if meta in ("DATE", "AMOUNT"):
            text = (param.help or "").lower()
            assert "yyyy-mm-dd" in text or "£" in text or "pounds" in text, (path, param.name)


def test_the_year_start_reads_1_april(practice):
    assert "1 April" in practice.ok("practice", "show").out


# --- 6. a person's own things ----------------------------------------------------------------

def test_a_member_sees_their_own_statement_and_record_with_as_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    swp = found_riverside(Swp(str(tmp_path / "r.db")))
    swp.ok("period", "close", "2025-26", as_="mo")
    own = swp.ok("statement", "2025-26", as_="cal", json=True).json
    assert own["member"] == "cal"
    assert swp.ok("statement", "2025-26", as_="cal").out.count("Profit-share statement") == 1
    assert len(swp.ok("statement", "2025-26", as_="mo", json=True).json["statements"]) == 5
    assert swp.ok("member", "show", as_="ann", json=True).json["member"]["handle"] == "ann"
    run = swp("member", "show")
    assert run.code == 1 and "--as HANDLE" in run.err


# --- 8. statements in words, every category in every format, rendered to pictures -------------

def _statements(tmp_path: Path, monkeypatch) -> tuple[Swp, Path]:
    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    swp = found_riverside(Swp(str(tmp_path / "r.db")))
    swp.ok("period", "close", "2025-26", as_="mo")
    out = tmp_path / "statements"
    out.mkdir()
    for fmt in ("pdf", "html"):
        swp.ok("statement", "2025-26", "--member", "cal", "--format", fmt, "--output",
               str(out / f"cal.{fmt}"), as_="mo")
    return swp, out


def test_a_statement_explains_the_share_in_words(monkeypatch, tmp_path):
    swp, out = _statements(tmp_path, monkeypatch)
    text = " ".join(swp.ok("statement", "2025-26", as_="cal").out.split())
    assert ("Your share: half of the pool is split equally by days as a member (you: 212 of "
            "1,611 member-days)") in text
    assert "half of the pool is split by contracted hours (you: 22.5 hours a week for 212 days)" \
        in text
    assert "paid to you through payroll" in text and "taxed as pay" in text
    assert "30 April 2026" in text
    html = (out / "cal.html").read_text()
    assert "Your share: half of the pool" in html and "taxed as pay" in html


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(str(path)).pages)


def test_the_pdf_lists_every_expense_category(monkeypatch, tmp_path):
    swp, out = _statements(tmp_path, monkeypatch)
    statement = swp.ok("statement", "2025-26", "--member", "cal", as_="mo", json=True).json
    assert len(statement["expenses_by_category"]) == 18
    text = _pdf_text(out / "cal.pdf")
    for category in (*statement["expenses_by_category"], *statement["income_by_category"]):
        assert category in text, category
    assert "other categories" not in text


def _tool(name: str) -> str | None:
    import shutil

    found = shutil.which(name)
    if found is None and os.environ.get("CI") == "true":
        pytest.fail(f"{name} is missing in CI (.ci/run installs it)")
    if found is None:
        pytest.skip(f"{name} is not installed (Debian: poppler-utils / chromium)")
    return found


def _not_blank(png: Path) -> None:
    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
        low, high = grey.getextrema()
        dark = sum(grey.histogram()[:128])
    assert high - low > 100 and dark > 1000, f"{png} looks blank"


def test_the_demo_pdf_renders_to_pages_that_are_not_blank(monkeypatch, tmp_path):
    import subprocess

    pdftoppm = _tool("pdftoppm")
    _, out = _statements(tmp_path, monkeypatch)
    subprocess.run([pdftoppm, "-png", "-r", "60", str(out / "cal.pdf"), str(tmp_path / "page")],
                   check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    for page in pages:
        _not_blank(page)


def test_the_demo_html_renders_to_a_page_that_is_not_blank(monkeypatch, tmp_path):
    import subprocess

    chromium = _tool("chromium")
    _, out = _statements(tmp_path, monkeypatch)
    png = tmp_path / "html.png"
    subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--disable-gpu", f"--screenshot={png}", "--window-size=900,1600",
                    (out / "cal.html").as_uri()], check=True, timeout=120,
                   capture_output=True)
    _not_blank(png)


# --- 9. small things ---------------------------------------------------------------------------

def test_the_docs_stand_alone():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text()
        assert not re.search(r"SPEC section|(?<!shares )\bissue [0-9]+\b|the spec(ification)? is silent", text,
                             re.I), page.name


def test_an_article_reads_properly():
    from swp.dates import parse_date
    from swp.errors import InputError

    with pytest.raises(InputError, match="not an employment date"):
        parse_date("soon", what="employment date")


def test_the_top_level_help_starts_with_where_to_begin(swp):
    from swp.cli import app

    out = swp.runner.invoke(app, ["--help"]).stdout
    first = next(line.strip() for line in out.splitlines()[1:] if line.strip())
    assert first == "New practice? `swp init`; already set up? `swp practice show`."


def test_one_row_is_one_row(practice, tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("date,type,amount,category,memo,ref\n2026-05-01,income,10,grants,,G-1\n")
    run = practice.ok("ledger", "import", str(one), as_="mo")
    assert ": 1 row; 1 added" in run.out and "1 rows" not in run.out


@pytest.mark.sqlite_only
def test_every_command_that_writes_a_file_makes_its_folder(practice, tmp_path):
    import stat

    written = {
        "backup": ("backup", str(tmp_path / "backups" / "2026" / "r.db")),
        "export": ("export", "csv", "--output", str(tmp_path / "accounts" / "2026" / "l.csv")),
        "register": ("register", "members", "--format", "pdf", "--output",
                     str(tmp_path / "registers" / "2026" / "members.pdf")),
    }
    for args in written.values():
        practice.ok(*args, as_="mo")
        target = Path(args[-1])
        assert stat.S_IMODE(target.stat().st_mode) == 0o600, args
        assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700, args


def test_no_help_shows_a_programmers_type():
    """Every command's --help reads TEXT, HANDLE, DATE, AMOUNT, NUMBER or PATH, never Typer's
    `<str>`, `<int range>`, `<float>` or `<path>`."""
    import typer
    from typer.testing import CliRunner

    from swp.cli import app

    def walk(command, path):
        yield path
        for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
            yield from walk(sub, (*path, name))

    paths = list(walk(typer.main.get_command(app), ()))
    assert len(paths) > 50
    runner = CliRunner()
    for path in paths:
        run = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert run.exit_code == 0, path
        found = re.findall(r"<(?:str|int|float|path|bool|text|datetime|list|tuple|uuid)\b[^>]*>",
                           run.stdout, re.I)
        assert not found, (" ".join(path), found)
        usage = next(line for line in run.stdout.splitlines() if line.startswith("Usage:"))
        assert not re.search(r"\{[A-Z_]+\}|\[\[", usage), usage  # HANDLE, not {HANDLE}
    money = runner.invoke(app, ["ledger", "income", "--help"], env={"COLUMNS": "100"}).stdout
    assert re.search(r"^\s+AMOUNT\s+e\.g\. 12500", money, re.M)
    assert re.search(r"^\s+--date DATE\b", money, re.M)
    assert re.search(r"^\s+HANDLE\s+Short name", runner.invoke(app, ["member", "add", "--help"]).stdout,
                     re.M)


def test_the_readme_import_of_a_missing_bank_file_says_the_file_is_missing(practice):
    """A bank file a new user has not downloaded yet is named as missing."""
    run = practice("ledger", "import", "statement.csv", "--rules", str(ROOT / "examples" /
                   "bank-rules.toml"), "--dry-run", as_="mo")
    assert (run.code, run.err) == (1, "swp: no such file: statement.csv\n")


def test_the_readme_imports_a_bank_file_that_comes_with_swp():
    """The tour's bank import names files that exist in the repository (tests/test_bank_import.py
    imports them as the tour does)."""
    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("## A short tour"):]
    line = next(line for line in tour.splitlines() if " ledger import " in line)
    files = re.findall(r"\bexamples/\S+", line)
    assert len(files) == 2 and all((ROOT / f).is_file() for f in files), line


def test_one_of_anything_is_one(practice):
    """Counts read properly: '1 unsigned refusal', an agenda with nothing on it."""
    assert practice("shares", "issue", "1000", "--to", "Acme Care Ltd").code == 3
    verified = practice.ok("audit", "verify").out
    assert re.search(r", 1 unsigned refusal[.;]", verified) and "refusals" not in verified
    called = practice.ok("meeting", "call", "--kind", "general", "--date", "2026-07-15",
                         "--place", "Riverside office", as_="mo").out
    assert "(nothing on the agenda yet)" in called and "item(s)" not in called


def test_a_loss_reads_as_one_and_every_format_carries_the_same_words(swp, tmp_path):
    """The worked example's April: dan's part of the loss, in the same sentences in every
    format (text, md, html, pdf, csv, json), with what happens if he leaves owing it, and a
    surplus's 'paid through payroll, taxed as pay' the same way."""
    import csv
    import html
    import io
    import json

    from tests.test_sharing_examples import close_through_may, setup_riverside

    setup_riverside(swp)
    close_through_may(swp)

    def said(label: str, member: str) -> dict[str, str]:
        seen = {}
        for fmt in ("text", "md", "html", "pdf", "csv", "json"):
            target = tmp_path / f"{label}-{member}.{fmt}"
            swp.ok("statement", label, "--member", member, "--format", fmt, "--output",
                   str(target), as_="mo")
            if fmt == "pdf":
                text = _pdf_text(target)
            elif fmt == "json":
                text = " ".join(json.loads(target.read_text())["in_words"])
            elif fmt == "csv":
                rows = csv.DictReader(io.StringIO(target.read_text()))
                text = " ".join(r["value"] for r in rows if r["section"] == "in_words")
            else:
                text = html.unescape(target.read_text())
            seen[fmt] = " ".join(text.split())
        return seen

    sentences = swp.ok("statement", "2026-04", "--member", "dan", as_="mo", json=True).json["in_words"]
    assert sentences[0].startswith("The practice made a loss of £8,000.00 in this period; your "
                                   "part of it is £201.66, set against your future shares")
    assert "If you leave before it is made up, it stays recorded as owed" in sentences[0]
    for label, member in (("2026-04", "dan"), ("2026-05", "ann")):
        words = swp.ok("statement", label, "--member", member, as_="mo", json=True).json["in_words"]
        for fmt, text in said(label, member).items():
            for sentence in words:
                assert " ".join(sentence.split()) in text, (label, fmt, sentence)
    assert any("taxed as pay" in s for s in words)


def test_a_sandbox_rehearsing_a_later_day_can_go_on_without_swp_today(swp, monkeypatch):
    """A sandbox's real clock is pinned with SWP_TODAY, but never goes back: a rehearsal of a
    day after the machine's, then a command on the machine's own day, still works."""
    from tests.conftest import audit_rows

    monkeypatch.setenv("SWP_TODAY", "2099-01-05")
    swp.ok("init", "--sandbox", "--seed", "x", "Riverside", "--local-authority", "Leeds City Council")
    monkeypatch.delenv("SWP_TODAY")
    swp.ok("member", "add", "ann", "--name", "Ann Achebe", "--role", "practitioner",
           "--employed-since", "2024-04-01", "--hours", "37.5", "--registration", "SW200001")
    first, second = audit_rows(swp.db)[-2:]
    assert first["real_at"] == second["real_at"] == "2099-01-05T12:00:00.000000+00:00"
    swp.ok("audit", "verify")
