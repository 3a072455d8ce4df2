"""The practice's database this command works on, as `--db` (or SWP_DB) named it: set once by
the command line, read by swp.files so that no file swp writes (an export, a register, a
statement, a backup) replaces it. Imports nothing, as the command line sets it for every
command."""

from __future__ import annotations

named: list[str | None] = []  # [--db as given, None for the default]; empty: no command line


def name(db: str | None) -> None:
    named[:] = [db]
