"""The foundation: init, practice show, db upgrade, exit codes, one-line errors, --json."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from tests.conftest import audit_rows, execute, is_postgres, nothing_at, query, snapshot


def test_init_creates_a_private_database_with_the_founding_constitution(swp, db):
    run = swp.ok("init", "--sandbox", "Riverside", "--local-authority", "Leeds City Council",
                 "--set", "sharing.method=equal:50,hours:50", "--set", "sharing.reserve-percent=25")
    assert "Founded Riverside" in run.out
    if not is_postgres(db):  # a server's database has no file of its own
        assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    clauses = dict(query(db, "SELECT name, value FROM clause"))
    assert clauses["sharing.method"] == "equal:50,hours:50"
    assert clauses["sharing.reserve-percent"] == "25"
    assert clauses["no-share-issuance"] == "on"
    assert [e["command"] for e in audit_rows(db)] == ["init"]


def test_init_json(swp):
    run = swp.ok("init", "--sandbox", "Riverside", "--local-authority", "Leeds", json=True)
    assert run.json["practice"] == "Riverside"
    assert run.json["clauses"]["membership.max-members"] == "50"


def test_init_refuses_an_entrenched_clause_with_exit_3_and_creates_nothing(swp, db):
    run = swp("init", "--sandbox", "Riverside", "--local-authority", "Leeds", "--set", "asset-lock=off")
    assert run.code == 3
    assert run.err.strip() == ("swp: refused by clause asset-lock: asset-lock is entrenched: "
                               "no resolution can change it")
    assert nothing_at(db)


def test_init_refuses_unknown_clause_and_bad_value_with_exit_1(swp, db):
    run = swp("init", "--sandbox", "R", "--local-authority", "L", "--set", "membership.colour=blue")
    assert run.code == 1 and "no such clause: 'membership.colour'" in run.err
    run = swp("init", "--sandbox", "R", "--local-authority", "L", "--set", "sharing.method=equal:60,hours:30")
    assert run.code == 1 and "must add up to 100" in run.err
    run = swp("init", "--sandbox", "R", "--local-authority", "L", "--set", "membership.max-members=many")
    assert run.code == 1 and "not a whole number" in run.err
    run = swp("init", "--sandbox", "R", "--local-authority", "L", "--fiscal-year-start", "13-01")
    assert run.code == 1 and "no such day of the year" in run.err
    run = swp("init", "--sandbox", "R", "--local-authority", "L", "--fiscal-year-start", "02-29")
    assert (run.code, run.err) == (1, "swp: a financial year cannot start on 29 February, a day three years "
                                      "in four do not have (its year would end on 27 February in those "
                                      "years): start it on 03-01\n")
    assert nothing_at(db)


def test_init_twice_is_refused_and_keeps_the_practice(swp, db):
    swp.ok("init", "--sandbox", "Riverside", "--local-authority", "Leeds")
    before = snapshot(db)
    run = swp("init", "--sandbox", "Other", "--local-authority", "York")
    assert run.code == 1 and ("already holds a practice" if is_postgres(db) else "already exists") in run.err
    assert run.err.rstrip().endswith("; a practice is set up once")
    assert snapshot(db) == before


def test_practice_show(practice):
    run = practice.ok("practice", "show")
    assert "Riverside Social Work Practice" in run.out
    assert "5 of at most 50" in run.out
    assert "1/5" in run.out
    data = practice.ok("practice", "show", json=True).json
    assert data["members"] == 5 and data["practitioners"] == 3
    assert data["equal_say"] == "1/5" and data["reserve_pence"] == 0
    assert data["audit_events"] == 6 and len(data["audit_head"]) == 64


def test_commands_on_a_missing_database_exit_1_and_create_nothing(swp, db):
    run = swp("member", "list")
    assert run.code == 1
    assert run.err.startswith("swp: no practice at") and run.err.count("\n") == 1
    assert nothing_at(db)


@pytest.mark.sqlite_only  # files; a server's database with other tables: test_postgres.py
def test_a_file_that_is_not_sqlite_is_refused_untouched(swp, db):
    with open(db, "w") as handle:
        handle.write("date,amount\n2026-01-01,5\n")
    run = swp("member", "list")
    assert run.code == 1 and "not an swp database" in run.err
    with open(db) as handle:
        assert handle.read() == "date,amount\n2026-01-01,5\n"


@pytest.mark.sqlite_only
def test_another_programs_sqlite_file_is_refused_untouched(swp, db):
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
    before = open(db, "rb").read()
    run = swp("member", "list")
    assert run.code == 1 and "not an swp practice" in run.err
    assert open(db, "rb").read() == before


def test_a_newer_schema_is_refused_untouched(practice, db):
    execute(db, "UPDATE alembic_version SET version_num = '9999'")
    before = snapshot(db, skip=())
    run = practice("member", "list")
    assert run.code == 1 and "newer swp" in run.err
    run = practice("db", "upgrade")
    assert run.code == 1 and "newer swp" in run.err
    assert snapshot(db, skip=()) == before


def test_db_upgrade_on_a_current_database_changes_nothing(practice, db):
    before = snapshot(db, skip=())
    run = practice.ok("db", "upgrade")
    assert "up to date" in run.out
    assert snapshot(db, skip=()) == before


def test_known_revisions_match_the_migration_scripts():
    from alembic.script import ScriptDirectory

    from swp.db import HEAD_REVISION, KNOWN_REVISIONS, alembic_config

    scripts = ScriptDirectory.from_config(alembic_config(None))
    assert scripts.get_current_head() == HEAD_REVISION
    chain = [rev.revision for rev in scripts.walk_revisions()]
    assert list(reversed(chain)) == list(KNOWN_REVISIONS)


def test_usage_error_is_exit_2_with_one_line(practice):
    run = practice("member", "add", "zed")
    assert run.code == 2
    assert run.err.count("\n") == 1 and "Missing option" in run.err
    run = practice("frobnicate")
    assert run.code == 2 and "No such command" in run.err


def test_json_error_envelope(practice):
    run = practice("member", "show", "nobody", json=True)
    assert run.code == 1
    assert run.json == {"error": {"code": 1, "message": "no member with handle 'nobody'",
                                  "clause": None}}
    assert run.err == "swp: no member with handle 'nobody'\n"


def test_version(swp):
    run = swp.ok("--version")
    assert run.out.startswith("swp ")


@pytest.mark.sqlite_only  # PostgreSQL's connection settings: test_postgres.py
def test_connection_pragmas(db):
    from swp.db import Database, resolve
    from swp.services import practice

    practice.init(db, name="R", local_authority="L", fiscal_year_start="04-01", settings=[],
                  actor=None, args={}, sandbox=True)
    database = Database(resolve(db))
    with database.connect(write=False) as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")}
    database.dispose()
    assert pragmas == {"foreign_keys": 1, "journal_mode": "wal", "synchronous": 2,
                       "busy_timeout": 10000}


def test_the_fixed_choices_of_the_cli_are_the_domain_s():
    from swp import reports, rules
    from swp.cli.export import ExportFormat
    from swp.cli.governance import BodyKind, ProposalKind, VoteChoice
    from swp.cli.ledger import BankProfile
    from swp.cli.meetings import MeetingKind
    from swp.cli.partners import PartnerKind
    from swp.cli.sharing import StatementFormat
    from swp.importers import csvbank
    from swp.services import exporting, meetings, partners

    assert tuple(ProposalKind) == rules.PROPOSAL_KINDS
    assert tuple(BodyKind) == rules.BODY_KINDS
    assert tuple(VoteChoice) == rules.VOTE_CHOICES
    assert tuple(PartnerKind) == partners.PARTNER_KINDS
    assert tuple(MeetingKind) == meetings.KINDS
    assert tuple(StatementFormat) == (*reports.FORMATS, "payroll")
    assert tuple(ExportFormat) == exporting.FORMATS
    assert tuple(BankProfile) == tuple(p.name for p in csvbank.PROFILES)


def test_help_imports_no_database_or_validation_library():
    import subprocess
    import sys

    code = ("import sys; from swp.cli import app; "
            "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'pydantic', 'alembic', 'fpdf') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_listing_the_members_builds_only_the_tables_it_reads(practice, db):
    """A command imports its own noun's module and builds the table classes it uses (each
    costs start-up time): listing the members reads the register and the history's head, not
    the practice's own table, which every command's first check reads as plain SQL."""
    import subprocess
    import sys

    code = ("import sys; from swp.cli import main; sys.argv = ['swp', '--db', sys.argv[1], 'member', 'list']\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
            "print('CLI', sorted(m for m in sys.modules if m.startswith('swp.cli.')))\n"
            "print('MODELS', sorted(m for m in sys.modules if m.startswith('swp.models.')))\n"
            "print('WRITERS', [m for m in ('swp.files', 'swp.reports') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code, db], capture_output=True, text=True, check=True)
    assert "Ann Achebe" in out.stdout
    assert out.stdout.splitlines()[-3] == "CLI ['swp.cli._common', 'swp.cli.members']"  # no other noun's
    assert out.stdout.splitlines()[-2] == "MODELS ['swp.models.audit', 'swp.models.base', 'swp.models.member']"
    assert out.stdout.splitlines()[-1] == "WRITERS []"  # what writes files is imported by what writes them


def test_a_write_builds_only_the_tables_it_uses(practice, db):
    """Recording an entry writes the books and the signed history: its process builds the
    classes of those tables (and the ones they name), not the bank's, the meetings' or the
    members' page's, which no part of the write reads."""
    import subprocess
    import sys

    code = ("import sys; from swp.cli import main; sys.argv = ['swp', '--db', sys.argv[1], '--as', 'mo', "
            "'ledger', 'income', '100', '--category', 'contracts', '--date', '2026-04-01']\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
            "print('MODELS', sorted(m for m in sys.modules if m.startswith('swp.models.')))")
    out = subprocess.run([sys.executable, "-c", code, db], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == ("MODELS ['swp.models.audit', 'swp.models.base', 'swp.models.ledger', "
                                           "'swp.models.member', 'swp.models.period', 'swp.models.practice']")
    assert query(db, "SELECT count(*) FROM ledger_entry WHERE category = 'contracts' AND amount_pence = 10000")[0][0] >= 1


def test_an_unexpected_error_is_one_line_with_a_hint_and_a_trace_only_with_debug(
        practice, monkeypatch):
    from typer.testing import CliRunner

    from swp.cli import app
    from swp.services import members

    def broken(*args, **kwargs):
        raise ZeroDivisionError("the sky fell")

    monkeypatch.setattr(members, "list_members", broken)
    result = CliRunner().invoke(app, ["--db", practice.db, "member", "list"])
    assert result.exit_code == 1
    assert result.stderr == ("swp: unexpected error (ZeroDivisionError: the sky fell); run again "
                             "with --debug for the full trace, and please report it\n")
    assert "Traceback" not in result.stdout + result.stderr
    result = CliRunner().invoke(app, ["--db", practice.db, "--debug", "member", "list"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_python_dash_m_swp(practice):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "swp", "--db", practice.db, "member", "list",
                          "--json"], capture_output=True, text=True)
    # --json is a global option, accepted after the command too
    assert out.returncode == 0 and '"handle": "ann"' in out.stdout, out.stderr
    out = subprocess.run([sys.executable, "-m", "swp", "--db", practice.db, "--json", "member",
                          "list"], capture_output=True, text=True, env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert '"handle": "ann"' in out.stdout


def test_a_command_starts_without_garbage_collection_and_works_with_it(practice, tmp_path):
    """The `swp` command (and `python -m swp`) imports its libraries with Python's cyclic
    collector off, and turns it back on, with the start-up's objects frozen, when it opens its
    database: the command's own work (a million-line import, the members' page) collects its
    garbage as any program does. A program importing swp keeps its collector as it was."""
    import subprocess
    import sys
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["swp"] == "swp.startup:main"
    probe = ("import atexit, gc, sys\n"
             "seen = {}\n"
             "import swp.db\n"
             "made = swp.db.make_engine\n"
             "def spy(*args, **kwargs):\n"
             "    seen['before'] = gc.isenabled()\n"
             "    engine = made(*args, **kwargs)\n"
             "    seen['after'] = gc.isenabled()\n"
             "    return engine\n"
             "swp.db.make_engine = spy\n"
             "atexit.register(lambda: print('GC', seen, gc.isenabled(), gc.get_freeze_count() > 0))\n"
             "sys.argv = ['swp', '--db', sys.argv[1], *sys.argv[2:]]\n")
    entry = probe + "from swp.startup import main\nmain()\n"
    out = subprocess.run([sys.executable, "-c", entry, practice.db, "member", "list"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "Ann Achebe" in out.stdout, out.stderr
    assert out.stdout.splitlines()[-1] == "GC {'before': False, 'after': True} True True"
    # a command that opens no database stays without it to the end
    out = subprocess.run([sys.executable, "-c", entry, practice.db, "--version"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.splitlines()[-1] == "GC {} False False", out.stdout
    # swp's modules imported by another program: its collector is left as it was
    program = probe + "from swp.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
    out = subprocess.run([sys.executable, "-c", program, practice.db, "member", "list"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.splitlines()[-1] == "GC {'before': True, 'after': True} True False"


def test_python_dash_m_swp_starts_without_garbage_collection_too(practice):
    """`python -m swp` runs the same entry point as the `swp` script (swp.startup.main): its
    collector is off until the command opens its database, and on, with the start-up's objects
    frozen, once it has."""
    import subprocess
    import sys

    probe = ("import atexit, gc, runpy, sys\n"
             "atexit.register(lambda: print('GC', gc.isenabled(), gc.get_freeze_count() > 0))\n"
             "sys.argv = ['swp', *sys.argv[1:]]\n"
             "runpy.run_module('swp', run_name='__main__', alter_sys=True)\n")
    out = subprocess.run([sys.executable, "-c", probe, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.splitlines()[-1] == "GC False False", out.stdout + out.stderr
    out = subprocess.run([sys.executable, "-c", probe, "--db", practice.db, "member", "list"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "Ann Achebe" in out.stdout, out.stderr
    assert out.stdout.splitlines()[-1] == "GC True True", out.stdout


def test_a_command_group_alone_prints_its_help(swp):
    run = swp("member")
    assert run.code == 0 and "Usage: swp member" in run.out and "add" in run.out


def test_a_process_builds_only_the_command_it_runs_and_it_is_the_same_command():
    """`swp member list` builds the `member` group alone; its help, options and commands are
    those of the whole app's `member`, for every top-level command."""
    from typer.main import get_command

    from swp.cli import COMMANDS, app, app_for, command_named

    assert command_named(["--db", "x.db", "--as", "mo", "--json", "member", "list"]) == "member"
    assert command_named(["--key", "k", "vote", "1", "yes"]) == "vote"
    assert command_named(["--db=x.db", "--debug", "init"]) == "init"
    assert command_named(["--help"]) is None and command_named([]) is None
    assert app_for("no-such-command") is app
    whole = get_command(app)
    names = sorted(whole.commands)
    assert len(names) > 20
    assert sorted(COMMANDS) == names  # every command is mapped to its module, and only those
    for name in names:
        only = get_command(app_for(name))
        assert sorted(only.commands) == [name]
        ours, theirs = only.commands[name], whole.commands[name]
        assert ours.get_help(ours.make_context(name, [], resilient_parsing=True)) == \
            theirs.get_help(theirs.make_context(name, [], resilient_parsing=True))
        assert [p.name for p in ours.params] == [p.name for p in theirs.params]
        assert sorted(getattr(ours, "commands", {})) == sorted(getattr(theirs, "commands", {}))
    assert [p.name for p in only.params] == [p.name for p in whole.params]  # the global options


def test_the_practice_s_own_text_prints_as_written_not_as_rich_markup(swp, monkeypatch):
    """A name, a practice's name or a memo with square brackets or colons is printed as it
    was written: before, "Ann [/]" made `member list` fail with an unexpected error, and
    ":warning:" printed as an emoji."""
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that no name wraps
    swp.ok("init", "--sandbox", "Riverside [/bold] Practice", "--local-authority", "Leeds [b]")
    swp.ok("member", "add", "ann", "--name", "Ann [/] :warning: [red]Achebe", "--role", "practitioner",
           "--employed-since", "2024-04-01", "--hours", "37.5", "--pay", "40000",
           "--registration", "SW100001")
    listed = swp.ok("member", "list").out
    assert "Ann [/] :warning: [red]Achebe" in listed and "\u26a0" not in listed
    assert "Riverside [/bold] Practice" in swp.ok("practice", "show").out
    swp.ok("ledger", "income", "100", "--date", "2025-05-01", "--category", "contracts",
           "--memo", "invoice [/] :smile:", as_="ann")
    assert "invoice [/] :smile:" in swp.ok("ledger", "list").out


def test_the_snapshot_that_proves_a_refusal_changed_nothing_sees_every_change(practice, db):
    """Tests prove "nothing changed" by comparing snapshots: a snapshot must differ after a row
    is added, changed or removed in any table, and be the same again when it is put back."""
    before = snapshot(db)
    assert snapshot(db) == before
    assert len(before["member"]) == 5 and "audit_event" not in before
    assert "audit_event" in snapshot(db, skip=())
    execute(db, "UPDATE clause SET value = '49' WHERE name = 'membership.max-members'")
    changed = snapshot(db)
    assert changed != before and changed["member"] == before["member"]
    execute(db, "UPDATE clause SET value = '50' WHERE name = 'membership.max-members'")
    assert snapshot(db) == before
    (revision,), = query(db, "SELECT version_num FROM alembic_version")
    execute(db, "DELETE FROM alembic_version")
    assert snapshot(db)["alembic_version"] == [] != before["alembic_version"]
    execute(db, "INSERT INTO alembic_version (version_num) VALUES (:v)", params={"v": revision})
    assert snapshot(db) == before
    execute(db, "INSERT INTO partner (name, kind, created_at) VALUES ('Leeds Mind', 'charity', '2026-06-30 00:00:00')")
    added = snapshot(db)
    assert added["partner"] != before["partner"]
    if not is_postgres(db):  # SQLite: the same time written in another form is a change too
        execute(db, "UPDATE partner SET created_at = '2026-06-30 00:00:00.000000'")
        assert snapshot(db)["partner"] != added["partner"]


def test_the_snapshot_reads_the_tables_the_practice_uses_whatever_schema_comes_first(practice, db):
    """On PostgreSQL the practice's tables are found through the search path, whose first schema
    (current_schema()) need not hold them (a role's own "$user" schema, or a path that starts
    elsewhere): the snapshot must still read those tables, or every "nothing changed" holds
    trivially."""
    if not is_postgres(db):
        pytest.skip("SQLite has one schema")
    from sqlalchemy.engine import make_url

    execute(db, "CREATE SCHEMA scratch")
    elsewhere = make_url(db).update_query_dict({"options": "-csearch_path=scratch,public"})
    url = elsewhere.render_as_string(hide_password=False)
    before = snapshot(url)
    assert before == snapshot(db) and len(before["member"]) == 5
    execute(db, "UPDATE clause SET value = '49' WHERE name = 'membership.max-members'")
    assert snapshot(url) != before
