"""`swp backup PATH`: SQLite's online backup API, a private file, verified before it is named;
and restoring one, as docs/operations.md describes."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import threading

import pytest

from tests.conftest import Swp, audit_rows, snapshot

# `swp backup` copies a SQLite file; a PostgreSQL practice is pointed to pg_dump (tested below
# without a server)
pytestmark = pytest.mark.sqlite_only


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def entries(db: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT id, date, kind, amount_pence, category FROM ledger_entry ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.fixture
def books(practice):
    for n in range(1, 6):
        practice.ok("ledger", "income", f"{n}00", "--date", f"2026-04-0{n}", "--category", "grants", as_="mo")
    practice.ok("ledger", "expense", "50", "--date", "2026-04-06", "--category", "rent", as_="mo")
    return practice


def test_backup_is_private_verified_and_equal_to_the_live_database(books, db, tmp_path):
    target = tmp_path / "backups" / "riverside.db"
    target.parent.mkdir()
    run = books.ok("backup", str(target), json=True)
    result = run.json
    assert result["verified"] is True and result["integrity"] == "ok"
    assert result["tables"]["ledger_entry"] == 6 and result["ledger_total_pence"] == 155_000
    assert result["audit_seq"] == len(audit_rows(db))
    assert result["audit_head"] == audit_rows(db)[-1]["hash"]
    assert mode(target) == 0o600
    # a single self-contained file (no WAL), with exactly the live content
    assert os.listdir(target.parent) == ["riverside.db"]
    assert snapshot(str(target), skip=()) == snapshot(db, skip=())
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert "verified" in books.ok("backup", str(tmp_path / "second.db")).out


def test_backup_and_restore_round_trip(books, db, tmp_path):
    """Back up, carry on working, then restore as docs/operations.md says: the practice is
    exactly as it was at the backup, and passes swp check and swp audit verify."""
    backup = tmp_path / "monday.db"
    books.ok("backup", str(backup))
    at_backup = snapshot(db, skip=())
    books.ok("ledger", "income", "999", "--date", "2026-05-01", "--category", "grants", as_="mo")
    books.ok("ledger", "reverse", "1", "--reason", "entered twice", as_="mo")
    assert snapshot(db, skip=()) != at_backup

    # restore: check a copy of the backup, then put it in place of the database and its
    # -wal and -shm files (no swp command running)
    restored = tmp_path / "restored.db"
    shutil.copyfile(backup, restored)
    os.chmod(restored, 0o600)
    check = Swp(str(restored))
    check.ok("check")
    check.ok("audit", "verify")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.replace(db + suffix, str(tmp_path / f"damaged.db{suffix}"))
    os.replace(restored, db)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(str(restored) + suffix):
            os.unlink(str(restored) + suffix)

    assert snapshot(db, skip=()) == at_backup
    # this user saw later events: swp stops until they accept the restore
    run = books("check")
    assert run.code == 4 and "the history was rolled back or rewritten" in run.err
    books.ok("audit", "accept-restore")
    books.ok("check")
    books.ok("audit", "verify")
    books.ok("ledger", "income", "1", "--date", "2026-05-02", "--category", "grants", as_="mo")
    assert len(entries(db)) == 7


def test_an_existing_file_is_replaced_only_with_force(books, db, tmp_path):
    target = tmp_path / "b.db"
    target.write_bytes(b"an older backup")
    run = books("backup", str(target))
    assert (run.code, run.err) == (1, f"swp: {target} already exists; pass --force to replace it\n")
    assert target.read_bytes() == b"an older backup"
    books.ok("backup", str(target), "--force")
    assert snapshot(str(target), skip=()) == snapshot(db, skip=()) and mode(target) == 0o600
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []


@pytest.mark.parametrize("which", ["self", "wal", "symlink", "file-as-folder", "folder", "nul"])
def test_refused_destinations_change_nothing(books, db, tmp_path, which):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    dest = {"self": db, "wal": db + "-wal", "symlink": str(tmp_path / "link.db"),
            "file-as-folder": str(victim / "b.db"), "folder": str(tmp_path),
            "nul": str(tmp_path / "b\x00.db")}[which]
    if which == "symlink":
        os.symlink(victim, dest)
    before = snapshot(db, skip=())
    listing = sorted(os.listdir(tmp_path))
    run = books("backup", dest, "--force")
    assert run.code == 1 and run.err.startswith("swp: ") and run.err.count("\n") == 1, run.err
    assert snapshot(db, skip=()) == before
    assert sorted(os.listdir(tmp_path)) == listing
    assert victim.read_text() == "keep"


def test_a_missing_folder_is_created(books, db, tmp_path):
    """`swp backup DIR/FILE` makes DIR (and any folder on the way, each private) when missing."""
    target = tmp_path / "backups" / "2026" / "riverside.db"
    books.ok("backup", str(target))
    assert snapshot(str(target), skip=()) == snapshot(db, skip=()) and mode(target) == 0o600
    assert mode(tmp_path / "backups") == mode(target.parent) == 0o700
    assert os.listdir(target.parent) == ["riverside.db"]


def test_a_postgresql_practice_is_pointed_to_pg_dump(tmp_path):
    swp = Swp("postgresql+psycopg://swp@localhost:1/practice")
    run = swp("backup", str(tmp_path / "b.db"))
    assert run.code == 1 and "pg_dump" in run.err and run.err.count("\n") == 1
    assert os.listdir(tmp_path) == []


def test_no_practice_no_backup(swp, tmp_path):
    run = swp("backup", str(tmp_path / "b.db"))
    assert run.code == 1 and "no practice at" in run.err
    assert not (tmp_path / "b.db").exists()


def test_a_backup_taken_while_another_writer_is_mid_transaction_has_only_committed_data(books, db, tmp_path):
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, "
                       "recorded_at) VALUES ('2026-05-05', 'income', 777, 'grants', 'assets:bank', "
                       "'income:grants', '2026-05-05 00:00:00')")
        books.ok("backup", str(tmp_path / "during.db"))  # not blocked by the writer
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    assert entries(str(tmp_path / "during.db")) == entries(db)


def test_a_backup_is_consistent_while_entries_keep_arriving(books, db, tmp_path):
    """Writers commit all the time during the backups; each backup is one consistent snapshot
    (its ledger and its audit log agree, its integrity check passes)."""
    stop = threading.Event()

    def write():
        conn = sqlite3.connect(db, isolation_level=None, timeout=10)
        try:
            n = 0
            while not stop.is_set():
                n += 1
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, "
                             "credit, recorded_at) VALUES ('2026-05-06', 'income', ?, 'grants', "
                             "'assets:bank', 'income:grants', '2026-05-06 00:00:00')", (n,))
                conn.execute("COMMIT")
        finally:
            conn.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for i in range(3):
            books.ok("backup", str(tmp_path / f"b{i}.db"))
    finally:
        stop.set()
        thread.join()
    for i in range(3):
        rows = entries(str(tmp_path / f"b{i}.db"))
        added = [r for r in rows if r[1] == "2026-05-06"]
        # the writer's entries 1..k, with no gap: a snapshot, not a torn copy
        assert sorted(r[3] for r in added) == list(range(1, len(added) + 1))


def test_a_backup_that_does_not_verify_is_not_kept(books, db, tmp_path, monkeypatch):
    from swp.services import backup as service

    real = service.content
    calls = []

    def drifting(conn):
        found = real(conn)
        calls.append(found)
        if len(calls) == 2:  # the copy's summary
            tables = dict(found.tables, ledger_entry=found.tables["ledger_entry"] - 1)
            return service.Content(found.schema, tables, found.last_rowids, found.ledger_total_pence,
                                    found.audit_seq, found.audit_head)
        return found

    monkeypatch.setattr(service, "content", drifting)
    out = tmp_path / "out"
    out.mkdir()
    run = books("backup", str(out / "b.db"))
    assert run.code == 1 and "does not match the live database" in run.err
    assert "ledger_entry: 6 rows vs 5" in run.err
    assert os.listdir(out) == []


def test_a_full_disk_during_the_backup_is_one_line_and_leaves_nothing(books, db, tmp_path, monkeypatch):
    from swp.services import backup as service

    real_connect = sqlite3.connect

    def tiny_disk(*args, **kw):
        conn = real_connect(*args, **kw)
        target = str(args[0]) if args else ""
        if target.endswith(".tmp"):  # the backup being written: allow it 2 pages
            conn.execute("PRAGMA max_page_count = 2")
        return conn

    monkeypatch.setattr(service.sqlite3, "connect", tiny_disk)
    out = tmp_path / "out"
    out.mkdir()
    run = books("backup", str(out / "b.db"))
    assert (run.code, run.err) == (1, "swp: the disk is full; nothing was written\n")
    assert os.listdir(out) == []


def test_backup_of_a_read_only_database(books, db, tmp_path):
    """A backup changes nothing, so it works on a read-only practice file."""
    from tests.test_reliability import restricted_run

    backup_folder = tmp_path / "out"
    backup_folder.mkdir()
    os.chmod(db, 0o444)
    try:
        run = restricted_run(["--db", db, "backup", str(backup_folder / "b.db")])
    finally:
        os.chmod(db, 0o600)
    assert run.returncode == 0, run.stderr
    assert snapshot(str(backup_folder / "b.db"), skip=()) == snapshot(db, skip=())
