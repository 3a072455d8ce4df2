"""`swp db copy --to URL` (issue 8): a practice with its whole history, from SQLite to
PostgreSQL and back (and to another database of the same kind), in one transaction on the
target; every row, id and audit event the same; verified before it commits; refusals change
nothing on either side.

The PostgreSQL variants need a server (SWP_TEST_POSTGRES_URL; see tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import Swp, execute, is_postgres, nothing_at, query, snapshot, sqlite_copy_of

# Read commands whose JSON must be the same on the copy as on the practice.
READS = [
    ("practice", "show"), ("member", "list", "--all"), ("member", "show", "bea"),
    ("ledger", "list"), ("ledger", "balance"), ("period", "list"), ("proposal", "list"),
    ("proposal", "show", "1"), ("contract", "list"), ("partner", "list"), ("rules", "show"),
    ("audit", "log"), ("audit", "verify"), ("statement", "2026-q1"), ("check",),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    """An empty place to copy to: a new SQLite file, or an empty PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "copy.db")
        return
    server = request.getfixturevalue("pg_server")
    url = server.create()
    try:
        yield url
    finally:
        server.drop(url)


def reads(swp: Swp) -> dict:
    out = {}
    for args in READS:
        run = swp(*args, json=True, as_="mo")
        assert run.code == 0, f"{args}: {run.err}"
        out[args] = run.json
    # which of the engine's own storage checks ran depends on the backend (SQLite's alone)
    out[("check",)] = {k: out[("check",)][k] for k in ("ok", "problems")}
    return out


def test_a_copy_reads_the_same_and_carries_on(lived, target):
    before = reads(lived)
    run = lived.ok("db", "copy", "--to", target, json=True)
    copy = Swp(target)
    assert reads(copy) == before  # every command reads the same on the copy
    assert run.json["tables"] == {name: count for name, count in
                                  ((t, query(target, f"SELECT count(*) FROM {t}")[0][0])
                                   for t in run.json["tables"])}
    assert run.json["audit_events"] == before[("audit", "verify")]["events"] == len(
        before[("audit", "log")]["events"])
    assert run.json["audit_head"] == before[("practice", "show")]["audit_head"]
    # the copy carries on where the practice stopped: the next ids, the next audit event
    entry = copy.ok("ledger", "expense", "10", "--date", "2026-06-02", "--category", "rent",
                    as_="mo", json=True).json["entry"]
    assert entry == 1 + max(e["id"] for e in before[("ledger", "list")]["entries"])
    proposal = copy.ok("proposal", "new", "--title", "t", "--kind", "ordinary", "--amend",
                       "sharing.reserve-percent=30", as_="ann", json=True).json["id"]
    assert proposal == 5
    copy.ok("vote", str(proposal), "yes", as_="bea")
    verify = copy.ok("audit", "verify", json=True).json
    assert {k: verify[k] for k in ("ok", "events", "first_bad")} == {
        "ok": True, "events": before[("audit", "verify")]["events"] + 3, "first_bad": None}
    copy.ok("check")
    # the guards hold on the copy as on the original
    run = copy("ledger", "income", "5", "--date", "2026-02-02", "--category", "grants", as_="mo")
    assert run.code == 1 and "closed period 2026-q1" in run.err
    assert lived.ok("audit", "verify", "--full", json=True).json == before[("audit", "verify")]  # untouched


def test_sqlite_to_postgresql_and_back_is_the_same_database(history_template, tmp_path, pg_server):
    from swp.db import resolve

    original = sqlite_copy_of(history_template, str(tmp_path / "original.db"))
    url = pg_server.create()
    try:
        run = original.ok("db", "copy", "--to", url)
        assert run.out.startswith(f"Copied {original.db} to {resolve(url).display}: ")  # no password
        assert "the audit chain verifies" in run.out
        Swp(url).ok("audit", "verify")
        back = str(tmp_path / "back.db")
        Swp(url).ok("db", "copy", "--to", back)
    finally:
        pg_server.drop(url)
    # row for row, id for id, every table and the audit log, as the original
    assert snapshot(back, skip=()) == snapshot(original.db, skip=())
    Swp(back).ok("audit", "verify")


def test_the_json_keys(lived, target):
    data = lived.ok("db", "copy", "--to", target, json=True).json
    assert list(data) == ["from", "to", "tables", "rows", "audit_events", "audit_head",
                          "income_pence", "expenses_pence", "net_pence", "loans_pence",
                          "reserve_pence", "verified"]
    assert data["rows"] == sum(data["tables"].values())
    assert list(data["tables"])[:3] == ["practice", "member", "member_fact"]
    assert data["verified"] == ["rows", "audit", "balance", "reserve"]
    balance = lived.ok("ledger", "balance", json=True).json
    assert (data["income_pence"], data["expenses_pence"], data["net_pence"]) == (
        balance["income_pence"], balance["expenses_pence"], balance["net_pence"])


def test_a_new_sqlite_copy_is_private(lived, tmp_path):
    import os
    import stat

    dest = tmp_path / "private.db"
    lived.ok("db", "copy", "--to", str(dest))
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600


# --- refusals: exit 1 or 4, one line, nothing changed on either side -----------------------


def refused(swp: Swp, to: str, code: int, says: str) -> str:
    before = snapshot(swp.db, skip=())
    run = swp("db", "copy", "--to", to)
    assert run.code == code, f"{run.code}: {run.err}{run.out}"
    assert run.err.startswith("swp: ") and run.err.count("\n") == 1, run.err
    assert says in run.err, run.err
    assert snapshot(swp.db, skip=()) == before
    return run.err


def test_a_target_that_holds_a_practice_is_refused(lived, target):
    Swp(target).ok("init", "--sandbox", "Other", "--local-authority", "York")
    before = snapshot(target, skip=())
    refused(lived, target, 1, "already exists" if not is_postgres(target) else "is not empty")
    assert snapshot(target, skip=()) == before


def test_a_server_database_with_other_tables_is_refused(lived, pg_server):
    url = pg_server.create()
    try:
        execute(url, "CREATE TABLE photos (id integer PRIMARY KEY)")
        refused(lived, url, 1, "is not empty; swp db copy needs an empty database")
        assert query(url, "SELECT table_name FROM information_schema.tables "
                          "WHERE table_schema = 'public'") == [("photos",)]
    finally:
        pg_server.drop(url)


def test_the_practice_cannot_be_copied_onto_itself(lived):
    refused(lived, lived.db, 1, "own database")


def test_a_broken_audit_chain_is_not_copied(lived, target):
    execute(lived.db, "DROP TRIGGER audit_event_append_only_update ON audit_event",
            "UPDATE audit_event SET actor = 'eve' WHERE seq = 3")
    refused(lived, target, 4, "audit chain is broken at event 3")
    assert nothing_at(target)


def test_tables_swp_does_not_know_are_not_left_behind(lived, target):
    execute(lived.db, "CREATE TABLE share_register (id integer PRIMARY KEY, holder text)")
    refused(lived, target, 1, "tables swp does not know (share_register)")
    assert nothing_at(target)


def test_a_copy_that_does_not_verify_is_rolled_back(lived, target, monkeypatch):
    from swp.services import copy

    real = copy._differences
    monkeypatch.setattr(copy, "_differences", lambda source, made: [*real(source, made), "a test"])
    err = refused(lived, target, 4, "the copy does not match the practice, so nothing was written")
    assert err.rstrip().endswith(": a test")  # nothing but the planted problem
    assert nothing_at(target)


def test_a_server_that_cannot_be_reached_is_one_line(lived):
    err = refused(lived, "postgresql+psycopg://swp@127.0.0.1:1/riverside", 1,
                  "cannot connect to the database server (127.0.0.1, port 1)")
    assert "Traceback" not in err


def test_to_is_required(lived):
    run = lived("db", "copy")
    assert run.code == 2 and "--to" in run.err
