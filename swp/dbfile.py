"""Recognising a practice's SQLite file before opening it, and creating a new one.

`check_file` refuses, before anything touches it, a file swp cannot or must not open: a missing
file or folder, a folder, a file that is not SQLite, a damaged (truncated) copy, or another
program's database. It reads only the file's header and, read-only, its list of tables, so
nothing (not even a -wal or -shm file) is created beside a file it refuses. A PostgreSQL target
has no file and passes. `create_file` makes the empty file `swp init` and `swp db copy` fill,
readable by its owner only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from swp.errors import DatabaseError

if TYPE_CHECKING:
    from swp.db import Target

SQLITE_HEADER = b"SQLite format 3\x00"


def _is_sqlite_file(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(16) == SQLITE_HEADER


def _is_truncated(path: Path) -> bool:
    """Is the file shorter than its own header says (a damaged copy)? Read from the header
    alone, so that nothing (not even a -wal or -shm file) is created beside a damaged file.
    Not judged while a -wal file holds frames: a checkpoint cut short by a crash can leave the
    file short until SQLite replays the WAL, which it does on the next open."""
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return False
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100:
        return True
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96] and pages > 0  # the size field is kept up to date
    return valid and path.stat().st_size < pages * page_size


def check_file(target: Target, *, creating: bool = False) -> None:
    """Refuse, before touching anything, a database swp cannot or must not open."""
    if target.path is None:
        return
    path = target.path
    if not path.parent.is_dir():
        raise DatabaseError(f"no such folder: {path.parent}")
    if creating:
        if path.exists() and path.stat().st_size > 0 and not _is_empty_sqlite(path):
            raise DatabaseError(f"{path} already exists; a practice is set up once")
        return
    if not path.exists():
        raise DatabaseError(f"no practice at {path}: set one up with 'swp init', or pass --db")
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a database")
    try:
        if path.stat().st_size == 0 or not _is_sqlite_file(path):
            raise DatabaseError(f"{path} is not an swp database (not an SQLite file)")
        if _is_truncated(path):
            raise DatabaseError(f"{path} is damaged (shorter than it should be); restore the last "
                                "backup (docs/operations.md)")
    except PermissionError:
        raise DatabaseError(f"cannot read {path}: permission denied") from None
    if not _has_swp_schema(path):
        raise DatabaseError(f"{path} is not an swp practice (another program's database?)")


def _has_swp_schema(path: Path) -> bool:
    """Look, read-only and changing nothing (not even the journal mode), for swp's schema."""
    import sqlite3
    from urllib.parse import quote

    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    except sqlite3.Error:
        raise DatabaseError(f"cannot open {path}") from None
    try:
        row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                           "AND name IN ('alembic_version', 'practice')").fetchall()
        return len(row) == 2
    except sqlite3.DatabaseError:
        raise DatabaseError(f"{path} is not an swp database (damaged or not SQLite)") from None
    finally:
        conn.close()


def _is_empty_sqlite(path: Path) -> bool:
    """An SQLite file with nothing in it at all: what an `swp init` killed before its one
    transaction committed leaves behind. `swp init` may use it; anything else is refused."""
    import sqlite3
    from urllib.parse import quote

    try:
        if path.is_dir() or not _is_sqlite_file(path):
            return False
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    except (OSError, sqlite3.Error):
        return False
    try:
        tables: int = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        return tables == 0
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def create_file(path: Path) -> None:
    """Create an empty SQLite file readable by its owner only (0600)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    os.close(fd)
    os.chmod(path, 0o600)
