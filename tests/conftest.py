"""Shared fixtures: a temporary practice database and a runner that drives the real CLI."""

from __future__ import annotations

import json as jsonlib
import os
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner

TODAY = "2026-06-30"  # tests pin "today" so that membership and periods are deterministic


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
    """Every row of every table (but `skip`), to prove that a refusal changed nothing."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(database_url(db))
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {
                name: [tuple(row) for row in conn.execute(
                    select(table).order_by(*table.primary_key.columns or table.columns))]
                for name, table in sorted(meta.tables.items()) if name not in skip
            }
    finally:
        engine.dispose()


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
def _pinned_environment(monkeypatch):
    monkeypatch.setenv("SWP_TODAY", TODAY)
    for name in ("SWP_DB", "SWP_AS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db(tmp_path) -> str:
    """A path (or URL) where a practice's database will be created."""
    return str(tmp_path / "practice.db")


@pytest.fixture
def swp(db) -> Swp:
    return Swp(db)


@pytest.fixture
def practice(swp) -> Swp:
    """A founded practice with three practitioners, a staff member and a manager (mo).

    Once mo (the manager) is admitted, managing members needs --as mo.
    """
    swp.ok("init", "Riverside Social Work Practice", "--local-authority", "Leeds City Council")
    swp.ok("member", "add", "ann", "--name", "Ann Achebe", "--role", "practitioner",
           "--employed-since", "2024-04-01", "--hours", "37.5", "--pay", "40000",
           "--registration", "SW100001")
    swp.ok("member", "add", "bea", "--name", "Bea Brown", "--role", "practitioner",
           "--employed-since", "2024-04-01", "--hours", "30", "--pay", "32000")
    swp.ok("member", "add", "cal", "--name", "Cal Chen", "--role", "practitioner",
           "--employed-since", "2025-01-01", "--hours", "20", "--pay", "22000")
    swp.ok("member", "add", "mo", "--name", "Mo Malik", "--role", "manager",
           "--employed-since", "2024-04-01", "--hours", "37.5", "--pay", "36000")
    swp.ok("member", "add", "sam", "--name", "Sam Singh", "--role", "staff",
           "--employed-since", "2025-06-01", "--hours", "16", "--pay", "12000", as_="mo")
    return swp


def pytest_report_header(config):
    return f"swp tests; SWP_TODAY pinned to {TODAY}; cwd {os.getcwd()}"


# --- added with the ledger: many fresh practices, cheaply -----------------------------------

def _found_riverside(swp: Swp) -> Swp:
    """The same practice as the `practice` fixture (five members, manager mo)."""
    swp.ok("init", "Riverside Social Work Practice", "--local-authority", "Leeds City Council")
    for handle, name, role, since, hours, pay in (
            ("ann", "Ann Achebe", "practitioner", "2024-04-01", "37.5", "40000"),
            ("bea", "Bea Brown", "practitioner", "2024-04-01", "30", "32000"),
            ("cal", "Cal Chen", "practitioner", "2025-01-01", "20", "22000"),
            ("mo", "Mo Malik", "manager", "2024-04-01", "37.5", "36000"),
            ("sam", "Sam Singh", "staff", "2025-06-01", "16", "12000")):
        swp.ok("member", "add", handle, "--name", name, "--role", role, "--employed-since", since,
               "--hours", hours, "--pay", pay, as_="mo" if handle == "sam" else None)
    return swp


@pytest.fixture(scope="session")
def practice_template(tmp_path_factory) -> str:
    """A practice like `practice`, founded once per session. Tests that need many fresh
    practices (property tests) copy it with `copy_practice` instead of founding each one."""
    path = str(tmp_path_factory.mktemp("template") / "practice.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWP_TODAY", TODAY)
        mp.delenv("SWP_DB", raising=False)
        mp.delenv("SWP_AS", raising=False)
        _found_riverside(Swp(path))
    return path


def copy_practice(template: str, dest: str) -> Swp:
    """A consistent copy of a practice database (SQLite's backup API, WAL and all)."""
    import sqlite3

    source, target = sqlite3.connect(template), sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return Swp(dest)
