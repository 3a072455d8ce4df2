"""Shared fixtures: a temporary practice database and a runner that drives the real CLI."""

from __future__ import annotations

import json as jsonlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner

TODAY = "2026-06-30"  # tests pin "today" so that membership and periods are deterministic
BACKENDS = ("sqlite", "postgresql")  # the `db` fixture's parameters (PostgreSQL: see the end)


def _build_the_app_once() -> None:
    """Typer's CliRunner builds the whole command tree from the app's functions on every
    invoke (about 0.1 s, a third of a typical test command's time). The tree never changes
    during a test run, so build it once per test process and reuse it."""
    import typer.testing

    build = typer.testing._get_command
    built: dict[int, Any] = {}

    def once(app):
        if id(app) not in built:
            built[id(app)] = (app, build(app))
        return built[id(app)][1]

    typer.testing._get_command = once


_build_the_app_once()


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return jsonlib.loads(self.out)


class Swp:
    """Calls `swp` in-process through Typer's CliRunner against one database."""

    def __init__(self, db: str):
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, as_: str | None = None, json: bool = False,
                 input: str | None = None, env: dict[str, str] | None = None) -> Run:
        from swp.cli import app

        argv = ["--db", self.db]
        if as_:
            argv += ["--as", as_]
        if json:
            argv.append("--json")
        argv += [str(a) for a in args]
        result = self.runner.invoke(app, argv, input=input, env=env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        # an unexpected error is a bug: fail loudly instead of reading it as a refusal
        assert "unexpected error" not in result.stderr, result.stderr
        return Run(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, **kw: Any) -> Run:
        run = self(*args, **kw)
        assert run.code == 0, f"swp {' '.join(map(str, args))} -> {run.code}: {run.err}{run.out}"
        return run


def database_url(db: str) -> str:
    return db if "://" in db else f"sqlite:///{db}"


def snapshot(db: str, *, skip: tuple[str, ...] = ("audit_event",)) -> dict[str, list]:
    """Every row of every table (but `skip`), to prove that a refusal changed nothing.

    Each table's rows in one order of their own (by their text), as the database stores them:
    SQLite's values are read raw, so a value rewritten in another form also counts as a
    change. Read with plain queries, not SQLAlchemy's reflection of the schema, which made a
    snapshot take a tenth of a second and half of some test files' time."""
    if "://" not in db:
        import contextlib
        import sqlite3

        with contextlib.closing(sqlite3.connect(db)) as conn:
            names = [name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")]
            return {name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
                    for name in sorted(names) if name not in skip}
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            # the tables found through the search path (as reflection found them), not those of
            # current_schema() alone: its first schema may be another (a role's "$user" schema)
            names = conn.execute(text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' "
                "AND pg_table_is_visible(c.oid) AND n.nspname <> 'pg_catalog'")).scalars().all()
            return {name: sorted((tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr)
                    for name in sorted(names) if name not in skip}
    finally:
        engine.dispose()


def query(db: str, statement: str, params: dict[str, Any] | None = None) -> list[tuple]:
    """Read the database directly (SQLite or PostgreSQL), as another tool would; `:name`
    parameters."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url(db))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(statement), params or {})]
    finally:
        engine.dispose()


def execute(db: str, *statements: str, params: dict[str, Any] | None = None) -> None:
    """Write to the database directly, all `statements` in one transaction, as another tool
    would. A refusal by the database raises sqlalchemy.exc.IntegrityError on both backends.
    `DROP TRIGGER name ON table` is PostgreSQL's form; on SQLite `ON table` is left off."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url(db))
    try:
        with engine.begin() as conn:
            for statement in statements:
                if not db.startswith("postgresql") and statement.startswith("DROP TRIGGER"):
                    statement = statement.split(" ON ")[0]
                conn.execute(text(statement), params or {})
    finally:
        engine.dispose()


def nothing_at(db: str) -> bool:
    """Nothing was created: no file on SQLite; no table in the (empty) database on PostgreSQL."""
    if not db.startswith("postgresql"):
        return not os.path.exists(db)
    from sqlalchemy import create_engine, inspect

    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def migrate(db: str, revision: str, *, down: bool = False) -> None:
    """Upgrade (or, with `down`, downgrade) the practice at `db` to an Alembic revision."""
    from alembic import command

    from swp.db import alembic_config, open_database

    database = open_database(db)
    try:
        with database.connect(write=True) as conn, conn.begin():
            (command.downgrade if down else command.upgrade)(alembic_config(conn), revision)
    finally:
        database.dispose()


def audit_rows(db: str) -> list[dict]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url(db))
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in
                    conn.execute(text("SELECT * FROM audit_event ORDER BY seq"))]
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _pinned_environment(monkeypatch, tmp_path_factory):
    """Every test: today pinned (its practices are sandboxes), and a configuration folder of
    its own (SWP_HOME), so that keys and remembered audit heads never leak between tests."""
    monkeypatch.setenv("SWP_TODAY", TODAY)
    monkeypatch.setenv("SWP_HOME", str(tmp_path_factory.mktemp("swp-home")))
    for name in ("SWP_DB", "SWP_AS", "SWP_KEY", "SWP_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)


def forget_heads() -> None:
    """Forget the audit heads this test's swp remembered: a copy of a practice made over an
    earlier one (property tests) starts a new history for this user."""
    import shutil

    home = os.environ.get("SWP_HOME")
    if home:
        shutil.rmtree(os.path.join(home, "heads"), ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path) -> Iterator[str]:
    """A path (or URL) where a practice's database will be created: a file on SQLite, an
    empty database of its own on PostgreSQL (when SWP_TEST_POSTGRES_URL names a server; see
    the PostgreSQL section at the end of this file)."""
    if request.param == "sqlite":
        yield str(tmp_path / "practice.db")
        return
    server = request.getfixturevalue("pg_server")
    url = server.create()
    try:
        yield url
    finally:
        server.drop(url)


@pytest.fixture
def swp(db) -> Swp:
    return Swp(db)


@pytest.fixture
def practice(swp, request) -> Swp:
    """A founded practice with three practitioners, a staff member and a manager (mo).

    Once mo (the manager) is admitted, managing members needs --as mo.
    Founded once per session (per test process) and copied: a SQLite file by SQLite's backup
    API, on PostgreSQL a clone of a template database.
    """
    if is_postgres(swp.db):
        postgres_server().clone(_found_practice, swp.db)
        return swp
    return copy_practice(request.getfixturevalue("practice_template"), swp.db)


def _found_practice(swp: Swp) -> Swp:
    """What the `practice` fixture does (ann has a registration number)."""
    swp.ok("init", "--sandbox", "Riverside Social Work Practice", "--local-authority", "Leeds City Council")
    return admit_the_five(swp)


def admit_the_five(swp: Swp) -> Swp:
    """The `practice` fixture's members, admitted to a practice just founded."""
    swp.ok("member", "add", "ann", "--name", "Ann Achebe", "--role", "practitioner",
           "--employed-since", "2024-04-01", "--hours", "37.5", "--pay", "40000",
           "--registration", "SW100001")
    swp.ok("member", "add", "bea", "--name", "Bea Brown", "--role", "practitioner",
           "--employed-since", "2024-04-01", "--hours", "30", "--pay", "32000",
           "--registration", "SW100002")
    swp.ok("member", "add", "cal", "--name", "Cal Chen", "--role", "practitioner",
           "--employed-since", "2025-01-01", "--hours", "20", "--pay", "22000",
           "--registration", "SW100003")
    swp.ok("member", "add", "mo", "--name", "Mo Malik", "--role", "manager",
           "--employed-since", "2024-04-01", "--hours", "37.5", "--pay", "36000")
    swp.ok("member", "add", "sam", "--name", "Sam Singh", "--role", "staff",
           "--employed-since", "2025-06-01", "--hours", "16", "--pay", "12000", as_="mo")
    return swp


def pytest_report_header(config):
    return f"swp tests; SWP_TODAY pinned to {TODAY}; cwd {os.getcwd()}"


# --- added with the ledger: many fresh practices, cheaply -----------------------------------




@pytest.fixture(scope="session")
def practice_template(tmp_path_factory) -> str:
    """A practice like `practice`, founded once per session. Tests that need many fresh
    practices (property tests) copy it with `copy_practice` instead of founding each one."""
    path = str(tmp_path_factory.mktemp("template") / "practice.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWP_TODAY", TODAY)
        mp.delenv("SWP_DB", raising=False)
        mp.delenv("SWP_AS", raising=False)
        mp.setenv("SWP_HOME", tempfile.mkdtemp(prefix="swp-home-"))
        _found_practice(Swp(path))
    return path


def copy_practice(template: str | None, dest: str) -> Swp:
    """A consistent copy of a practice database (SQLite's backup API, WAL and all). When
    `dest` is a PostgreSQL database (the `db` fixture's), it becomes a clone of the same
    practice founded once on the server instead."""
    import sqlite3

    forget_heads()
    if is_postgres(dest):
        postgres_server().clone(_found_practice, dest)
        return Swp(dest)

    source, target = sqlite3.connect(template), sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return Swp(dest)


# --- PostgreSQL: the same tests against a server (docs/deployment.md, "Testing") -----------
#
# The `db` fixture is parametrised over BACKENDS, so every test that uses `db`, `swp` or
# `practice` runs on SQLite and, when SWP_TEST_POSTGRES_URL names a server, on PostgreSQL too
# (otherwise those variants are skipped, saying why). The URL's role needs CREATEDB: each test
# gets a fresh database of its own (`CREATE DATABASE ... TEMPLATE template0`), dropped after it;
# `practice` and `copy_practice` clone a template database founded once per session.
# A test that is about SQLite itself (sqlite3, files, pragmas) is marked `sqlite_only` and runs
# on SQLite alone. SWP_TEST_REQUIRE_POSTGRES=1 (set by .ci/run) turns a missing server into a
# failure instead of a skip, so CI cannot quietly test one backend.

POSTGRES_ENV = "SWP_TEST_POSTGRES_URL"
NO_SERVER = (f"PostgreSQL variant: no server ({POSTGRES_ENV} is not set; `make test-postgres` "
             "runs them against a throwaway one, see docs/deployment.md)")


def is_postgres(db: str | None) -> bool:
    return bool(db) and db.startswith("postgresql")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: about SQLite itself (files, sqlite3, "
                                       "pragmas); its PostgreSQL variant is not collected")
    config.addinivalue_line("markers", "postgresql: needs a PostgreSQL server (SWP_TEST_POSTGRES_URL)")


def pytest_collection_modifyitems(config, items):
    """Drop the PostgreSQL variant of tests marked `sqlite_only`; mark the rest `postgresql`
    so that `-m postgresql` / `-m "not postgresql"` pick one backend."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("db") if callspec is not None else None
        if backend == "postgresql":
            if item.get_closest_marker("sqlite_only"):
                dropped.append(item)
                continue
            item.add_marker(pytest.mark.postgresql)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say once, at the end, that the PostgreSQL variants did not run, and why."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if NO_SERVER in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} skipped: {NO_SERVER}")


class PostgresServer:
    """The server named by SWP_TEST_POSTGRES_URL: makes and drops one database per test.
    It keeps no state but the server's own (test modules import this file under two names)."""

    def __init__(self, url: str):
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.prefix = f"swp_t{os.getpid()}_"

    def _admin(self):
        import psycopg

        conninfo = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _name(self, url: str) -> str:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        assert name and name.startswith(self.prefix), url
        return name

    def create(self, template: str = "template0") -> str:
        import uuid

        name = f"{self.prefix}{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url_for(name)

    @staticmethod
    def _drop(conn, name: str) -> None:
        """Drop a database of ours. Plainly first: that also stops an autovacuum worker in it,
        which WITH (FORCE) may not do for a role that is not a superuser."""
        import psycopg

        try:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        except psycopg.errors.ObjectInUse:  # a connection a test left open
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop(self, url: str) -> None:
        with self._admin() as conn:
            self._drop(conn, self._name(url))

    def clone(self, found: Callable[[Swp], Swp], dest: str) -> None:
        """Make `dest` (a database of ours) a copy of the practice that `found` sets up,
        from a template database founded once per session."""
        template = f"{self.prefix}template{found.__name__}"
        with self._admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone()
        if not exists:
            url = self.create()
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SWP_TODAY", TODAY)
                mp.delenv("SWP_DB", raising=False)
                mp.delenv("SWP_AS", raising=False)
                mp.setenv("SWP_HOME", tempfile.mkdtemp(prefix="swp-home-"))
                found(Swp(url))
            with self._admin() as conn:
                conn.execute(f'ALTER DATABASE "{self._name(url)}" RENAME TO "{template}"')
        name = self._name(dest)
        with self._admin() as conn:
            self._drop(conn, name)
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def drop_all(self) -> None:
        with self._admin() as conn:
            names = [row[0] for row in conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (self.prefix,))]
            for name in names:
                self._drop(conn, name)


def postgres_server() -> PostgresServer | None:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    return PostgresServer(url) if url else None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server to test against, or a skip (a failure under
    SWP_TEST_REQUIRE_POSTGRES=1) when there is none."""
    server = postgres_server()
    if server is None:
        if os.environ.get("SWP_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"SWP_TEST_REQUIRE_POSTGRES=1 but {POSTGRES_ENV} is not set")
        pytest.skip(NO_SERVER)
    try:
        server._admin().close()
    except Exception as exc:  # noqa: BLE001 - say which server and why, once
        pytest.fail(f"{POSTGRES_ENV} is set but the server cannot be reached: {exc}")
    try:
        yield server
    finally:
        server.drop_all()


# --- a practice with a history: every kind of record swp keeps (test_copy, test_postgres) --

def live_a_little(swp: Swp) -> Swp:
    """The `practice` fixture's practice, then half a year of everything swp records: entries
    and a reversal, a contract with an invoice and an outcome payment, a shared cost, a loan,
    a closed quarter with allocations, proposals passed (with a changed vote), failed and open,
    a changed member fact, a member who left, and a refusal in the audit log."""
    return live_on(_found_practice(swp))


# the lived practice's one open proposal ("Shorter weeks"), after the partner split, "Keep
# more back" and "Join Eastside"
LIVED_OPEN_PROPOSAL = 4


def live_on(swp: Swp) -> Swp:
    """What live_a_little does after founding the practice."""
    mo = {"as_": "mo"}
    swp.ok("ledger", "income", "12000", "--date", "2026-01-10", "--category", "contracts", **mo)
    swp.ok("ledger", "expense", "3000", "--date", "2026-02-01", "--category", "rent", **mo)
    swp.ok("ledger", "income", "500", "--date", "2026-02-15", "--category", "grants",
           "--memo", "entered twice", **mo)
    swp.ok("ledger", "reverse", "3", "--reason", "entered twice", **mo)
    swp.ok("contract", "add", "LCC-1", "--authority", "Leeds City Council", "--value", "120000",
           "--start", "2026-01-01", "--end", "2026-12-31", "--outcome-percent", "20", **mo)
    swp.ok("contract", "invoice", "LCC-1", "8000", "--date", "2026-03-01", **mo)
    swp.ok("contract", "outcome", "LCC-1", "1000", "--date", "2026-03-15", "--measure",
           "placements stable", **mo)
    swp.ok("partner", "add", "Northside SWP", "--kind", "mutual", **mo)
    split = swp.ok("proposal", "new", "--title", "Share the bureau", "--kind", "ordinary",
                   "--partner-split", "Northside SWP=40", as_="ann", json=True).json["id"]
    for handle in ("ann", "bea", "cal", "mo", "sam"):
        swp.ok("vote", str(split), "yes", as_=handle)
    swp.ok("proposal", "close", str(split), as_="ann")
    swp.ok("partner", "cost", "Northside SWP", "1200.01", "--date", "2026-03-20",
           "--our-percent", "40", "--memo", "payroll bureau", **mo)
    swp.ok("finance", "loan", "Triodos Bank", "25000", "--date", "2026-03-25", **mo)
    swp.ok("period", "close", "2026-q1", "--start", "2026-01-01", "--end", "2026-03-31", **mo)
    swp.ok("member", "update", "bea", "--effective", "2026-05-01", "--hours", "32", **mo)
    passed = swp.ok("proposal", "new", "--title", "Keep more back", "--kind", "ordinary",
                    "--amend", "sharing.reserve-percent=25", as_="ann", json=True).json["id"]
    for handle, choice in (("ann", "yes"), ("bea", "no"), ("cal", "yes"), ("bea", "yes")):
        swp.ok("vote", str(passed), choice, as_=handle)
    swp.ok("proposal", "close", str(passed), as_="ann")
    failed = swp.ok("proposal", "new", "--title", "Join Eastside", "--kind", "special",
                    "--merge-with", "Eastside SWP", "--partner-kind", "mutual", "--register", "31045R",
                    as_="bea",
                    json=True).json["id"]
    for handle, choice in (("ann", "no"), ("bea", "yes"), ("cal", "abstain"), ("mo", "no")):
        swp.ok("vote", str(failed), choice, as_=handle)
    swp.ok("proposal", "close", str(failed), as_="bea")
    still_open = swp.ok("proposal", "new", "--title", "Shorter weeks", "--kind", "special",
                        "--amend", "membership.min-hours=10", as_="cal", json=True).json["id"]
    assert still_open == LIVED_OPEN_PROPOSAL
    swp.ok("vote", str(still_open), "yes", as_="cal")
    swp.ok("member", "leave", "sam", "--date", "2026-06-30", "--reason", "moved away", as_="sam")
    assert swp("shares", "issue", "1000", "--to", "Acme Care Ltd", **mo).code == 3
    swp.ok("ledger", "income", "700", "--date", "2026-06-01", "--category", "grants", **mo)
    return swp


@pytest.fixture(scope="session")
def history_template(tmp_path_factory) -> str:
    """The lived-in practice on SQLite, made once; tests copy the file."""
    path = str(tmp_path_factory.mktemp("history") / "practice.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWP_TODAY", TODAY)
        mp.delenv("SWP_DB", raising=False)
        mp.delenv("SWP_AS", raising=False)
        mp.setenv("SWP_HOME", tempfile.mkdtemp(prefix="swp-home-"))
        live_a_little(Swp(path))
    return path


def sqlite_copy_of(template: str, dest: str) -> Swp:
    """A copy of a SQLite practice file (SQLite's backup API)."""
    import sqlite3

    forget_heads()
    source, target = sqlite3.connect(template), sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return Swp(dest)


@pytest.fixture
def lived(history_template, db, tmp_path) -> Swp:
    """The lived-in practice at `db` (either backend: on PostgreSQL, copied there by
    `swp db copy` from the SQLite one, which test_sqlite_to_postgresql_and_back checks)."""
    if not is_postgres(db):
        return sqlite_copy_of(history_template, db)
    source = sqlite_copy_of(history_template, str(tmp_path / "source.db"))
    source.ok("db", "copy", "--to", db)
    return Swp(db)


# --- a real practice (not a sandbox), each member with a home folder of their own -------------

FOUNDER = ("--role", "practitioner", "--employed-since", "2024-04-01", "--hours", "37.5",
           "--pay", "40000")


@pytest.fixture
def real(swp, tmp_path, monkeypatch):
    """A real practice (not a sandbox): no SWP_TODAY; each person has their own home folder."""
    monkeypatch.delenv("SWP_TODAY", raising=False)
    homes = {h: str(tmp_path / f"home-{h}") for h in ("ann", "bea", "cal", "mo", "dee")}

    def as_(handle: str, *args: str, env: dict | None = None, **kw):
        return swp(*args, as_=handle, env={"SWP_HOME": homes[handle], **(env or {})}, **kw)

    swp.ok("init", "Real SWP", "--local-authority", "Leeds")
    for handle, reg in (("ann", "SW200001"), ("bea", "SW200002"), ("cal", "SW200003")):
        run = as_(handle, "key", "new", "--no-passphrase")
        assert run.code == 0, run.err
        assert "swp-ed25519 " in run.out
        run = swp("member", "add", handle, "--name", handle.title(), *FOUNDER, "--registration", reg,
                  env={"SWP_HOME": homes[handle]})
        assert run.code == 0, run.err
    assert as_("mo", "key", "new", "--no-passphrase").code == 0
    run = swp("member", "add", "mo", "--name", "Mo", "--role", "manager", "--employed-since",
              "2024-04-01", "--hours", "37.5", env={"SWP_HOME": homes["mo"]})
    assert run.code == 0, run.err
    swp.as_ = as_
    swp.homes = homes
    return swp
