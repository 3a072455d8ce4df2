"""`swp backup`: a verified copy of a live practice database.

How a backup is taken (SQLite):

1. The destination is checked first (folder exists, not a folder, not a symbolic link, not the
   database itself, not an existing file unless `force`).
2. A read-only connection to the practice opens one read transaction. Inside it swp notes what
   the database holds (every table's row count and highest rowid, the ledger's total, the audit
   log's last event and hash, the schema revision), then copies every page with SQLite's online
   backup API (`sqlite3.Connection.backup`), all in one step, into a new private (0600) temporary
   file beside the destination. Never a file copy: a copy of a WAL database taken while someone
   writes can be torn; the backup API copies one consistent snapshot (committed transactions
   only), and writers are not blocked meanwhile (WAL).
3. The copy is switched to a rollback journal (a single self-contained file), then opened
   read-only and verified: `PRAGMA integrity_check` must say `ok`, and its content summary must
   equal the live one noted in step 2.
4. Only then does it get its name (a hard link, or a rename with `force`); the folder is fsync'd.
   On any failure the temporary file is removed and nothing is left behind.

A backup changes nothing in the practice (so it is not an audit event, and it works on a
read-only database). PostgreSQL practices are backed up with `pg_dump` (docs/operations.md).
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from swp import files
from swp.db import Target, busy_timeout_ms, resolve
from swp.dberrors import translate
from swp.dbfile import check_file
from swp.errors import DatabaseError, PreconditionError

PG_DUMP_HINT = ("swp backup copies a SQLite practice; for a PostgreSQL practice use pg_dump, "
                "e.g. pg_dump --format=custom --file=PATH DATABASE_URL (see docs/operations.md)")


@dataclass(frozen=True)
class Content:
    """What a database holds, in brief: enough to tell a faithful copy from a different one."""

    schema: str | None
    tables: dict[str, int]  # table -> row count
    last_rowids: dict[str, int]  # table -> highest rowid (0 when empty)
    ledger_total_pence: int
    audit_seq: int
    audit_head: str | None

    def differences(self, other: Content) -> list[str]:
        out = []
        if self.schema != other.schema:
            out.append(f"schema {self.schema} vs {other.schema}")
        for name in sorted(set(self.tables) | set(other.tables)):
            mine, theirs = self.tables.get(name), other.tables.get(name)
            if mine != theirs:
                out.append(f"{name}: {mine} rows vs {theirs}")
            elif self.last_rowids.get(name) != other.last_rowids.get(name):
                out.append(f"{name}: last row {self.last_rowids.get(name)} vs {other.last_rowids.get(name)}")
        if self.ledger_total_pence != other.ledger_total_pence:
            out.append("ledger totals differ")
        if (self.audit_seq, self.audit_head) != (other.audit_seq, other.audit_head):
            out.append(f"audit head #{self.audit_seq} vs #{other.audit_seq}")
        return out


@dataclass(frozen=True)
class BackupResult:
    source: str
    path: str
    bytes: int
    content: Content
    integrity: str
    seconds: float

    def as_json(self) -> dict[str, Any]:
        """The JSON spreads the content out, says verified and rounds the seconds."""
        return {"source": self.source, "backup": self.path, "bytes": self.bytes,
                "integrity": self.integrity, "verified": True,
                "schema": self.content.schema, "tables": dict(self.content.tables),
                "ledger_total_pence": self.content.ledger_total_pence,
                "audit_seq": self.content.audit_seq, "audit_head": self.content.audit_head,
                "seconds": round(self.seconds, 3)}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def content(conn: sqlite3.Connection) -> Content:
    """Summarise an open SQLite connection's database (inside the caller's transaction)."""
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    tables: dict[str, int] = {}
    last: dict[str, int] = {}
    for name in names:
        count, top = conn.execute(f"SELECT count(*), coalesce(max(rowid), 0) FROM {_quoted(name)}").fetchone()
        tables[name], last[name] = int(count), int(top)
    schema = None
    if "alembic_version" in tables:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        schema = row[0] if row else None
    total = 0
    if "ledger_entry" in tables:
        total = int(conn.execute("SELECT coalesce(sum(amount_pence), 0) FROM ledger_entry").fetchone()[0])
    seq, head = 0, None
    if "audit_event" in tables:
        row = conn.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
        if row:
            seq, head = int(row[0]), row[1]
    return Content(schema, tables, last, total, seq, head)


def _connect_ro(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, isolation_level=None,
                           timeout=busy_timeout_ms() / 1000)
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
    return conn


def backup(db: str | None, dest: str, *, force: bool = False) -> BackupResult:
    """Copy the practice at `db` to `dest` with SQLite's online backup API, then verify it."""
    target: Target = resolve(db)
    if not target.is_sqlite or target.path is None:
        raise PreconditionError(PG_DUMP_HINT)
    check_file(target)
    path = files.check_path(dest, force=force)
    files.refuse_database(path, target.path)  # as check_path does for the command line's
    started = time.perf_counter()
    temp = files.temp_beside(path)
    try:
        live = _copy(target.path, Path(temp))
        integrity, copied = _verify(Path(temp))
        if integrity != "ok":
            raise DatabaseError(f"the backup failed SQLite's integrity check ({integrity}); "
                                "nothing was kept")
        different = live.differences(copied)
        if different:
            raise DatabaseError(f"the backup does not match the live database ({'; '.join(different[:3])}); "
                                "nothing was kept")
        size = os.path.getsize(temp)
        files.publish(temp, path, force=force)
    finally:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
    return BackupResult(target.display, str(path), size, live, integrity,
                        time.perf_counter() - started)


def _copy(source: Path, temp: Path) -> Content:
    """One read transaction on the live database: note its content, copy every page."""
    try:
        src = _connect_ro(source)
    except sqlite3.Error as exc:
        raise translate(exc) from None
    try:
        dst = sqlite3.connect(str(temp), isolation_level=None)
        try:
            src.execute("BEGIN")
            live = content(src)  # the read transaction starts here: the copy is this snapshot
            src.backup(dst)  # pages=-1: every page in one step, inside the same snapshot
            src.execute("COMMIT")
            mode = dst.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            if mode != "delete":
                raise DatabaseError(f"the backup could not leave WAL mode (journal={mode})")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise translate(exc) from None
    finally:
        src.close()
    try:
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise files.os_error(exc, temp) from None
    return live


def _verify(path: Path) -> tuple[str, Content]:
    try:
        conn = _connect_ro(path)
        try:
            rows = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
            conn.execute("BEGIN")
            copied = content(conn)
            conn.execute("COMMIT")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise translate(exc) from None
    return ("ok" if rows == ["ok"] else "; ".join(rows[:3])), copied
