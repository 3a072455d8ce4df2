"""Driver errors as one line each: what went wrong and what the user can do, never a traceback.

SQLite's and PostgreSQL's messages are matched by a phrase each (a busy database, a full or
failing disk, a read-only or damaged file, a serialization failure); a PostgreSQL connection
that failed names the server and the reason. Anything else is "the database refused the
change" with the driver's first line.
"""

from __future__ import annotations

from swp.errors import DatabaseError

_MESSAGES = (
    ("database is locked", "the database is busy: another swp command (or program) is writing "
                           "to it and did not finish within {busy}; nothing was written, try again"),
    ("database table is locked", "the database is busy: another swp command (or program) is "
                                 "writing to it; nothing was written, try again"),
    ("database or disk is full", "the disk is full; nothing was written"),
    ("disk i/o error", "the disk failed while writing; nothing was written"),
    ("readonly database", "the database is read-only; nothing was written"),
    ("unable to open database", "cannot open the database file (swp needs to read it and to "
                                "create its -wal and -shm files in the same folder)"),
    ("database disk image is malformed", "the database file is damaged; restore the last backup "
                                         "(docs/operations.md)"),
    ("file is not a database", "the file is not an swp database"),
    ("file is encrypted or is not a database", "the file is not an swp database"),
    # PostgreSQL
    ("canceling statement due to lock timeout", "the database is busy: another swp command (or "
                                                "program) is writing to it and did not finish "
                                                "within {busy}; nothing was written, try again"),
    ("could not serialize access", "the database is busy: other commands kept changing the same "
                                   "records; nothing was written, try again"),
    ("deadlock detected", "the database is busy: other commands kept changing the same records; "
                          "nothing was written, try again"),
    ("no space left on device", "the server's disk is full; nothing was written"),
    ("read-only transaction", "the database is read-only; nothing was written"),
)


def _connection_problem(text: str) -> str | None:
    """libpq's 'connection to server at "host", port N failed: reason' as one line."""
    import re

    first = text.splitlines()[0] if text else ""
    if "connection to server" not in first and not first.startswith("connection failed"):
        return None
    found = re.search(r'connection to server (?:at "([^"]*)"(?: \([^)]*\))?, port (\d+)|on socket '
                      r'"([^"]*)") failed: (.*)', first)
    if not found:
        return f"cannot connect to the database server: {first.removeprefix('connection failed: ')}"
    where = f"{found[1]}, port {found[2]}" if found[1] is not None else f"socket {found[3]}"
    reason = found[4].replace("FATAL:", "").strip()
    if re.search(r'database ".*" does not exist', reason):
        reason += " (create it first: docs/deployment.md)"
    return f"cannot connect to the database server ({where}): {reason}"


def _waited() -> str:
    from swp.db import BUSY_TIMEOUT_MS, busy_timeout_ms  # swp.db imports this module

    try:
        ms = busy_timeout_ms()
    except DatabaseError:
        ms = BUSY_TIMEOUT_MS
    return f"{ms / 1000:g} s"


def translate(exc: Exception) -> DatabaseError:
    """Turn a driver error into one clear line."""
    text = str(getattr(exc, "orig", exc)).strip()
    connection = _connection_problem(text)
    if connection is not None:
        return DatabaseError(connection)
    lowered = text.lower()
    for needle, message in _MESSAGES:
        if needle in lowered:
            return DatabaseError(message.format(busy=_waited()))
    first = text.splitlines()[0] if text else type(exc).__name__
    return DatabaseError(f"the database refused the change: {first}")
