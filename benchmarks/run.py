#!/usr/bin/env python3
"""swp's speed, each figure against a baseline measured in the same run on the same data.

    make bench                                   # the full run: 1,000,000 rows (several minutes)
    .venv/bin/python benchmarks/run.py --rows 50000     # a quick run
    .venv/bin/python benchmarks/run.py --json results.json

Figures (targets from issue 7; docs/performance.md has the numbers measured here):

- import: `swp ledger import` of an N-row CSV, and first of a smaller one (--small-rows, 100,000)
  (a real `python -m swp` process, start-up included)
  against a plain `csv` + `sqlite3.executemany` streaming import of the same file into a table of
  the same columns with one unique index, on the ref (and swp's pragmas), also a process.
  Target: within 2x; peak memory (max RSS of the swp process, from wait4) under 80 MiB.
- ledger balance and period close over the N entries: swp's own work (the service call in this
  process, connection and schema check included) against the best of several plain SQL
  GROUP BY queries over the same rows (the fastest counts). Target: within 2x.
- `swp --help` against `python -c "import typer"`. Target: within 3x.
- a database command (a whole `python -m swp ...` process) against `python -c "import typer,
  rich, sqlmodel, pydantic"` plus that command's own work measured in-process. Target: 1.1x.
- bank: `swp ledger import` of a 100,000-line Starling CSV with a 50-pattern rules file against
  `ledger import` of the same lines in swp's own CSV by swp as it was when bank files were asked
  for (BANK_ASKED, unpacked from git; the target's "today's ledger import"). Target: within 1.5x;
  memory under 100 MiB. Shown beside it: the same against this swp's own-format import.
- `swp ledger balance` over 100,000 entries against `hledger balance` on the same journal
  (the beancount export, with beancount-only lines dropped), if hledger is installed: time and
  peak memory (max RSS), each within 0.1x of hledger's.

Timings take turns: each of --repeat rounds runs swp and every baseline once, and each side's
best (minimum) round counts, so a busy moment of a shared machine falls on all sides alike. The
import runs once per side (it changes the database). Nothing here runs during `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-06-30"
PERIOD = ("2025-26", "2025-07-01", "2026-06-30")
MIB = 1024 * 1024

INCOME = ("contracts", "grants", "outcome-payments", "training-income")
EXPENSES = ("salaries", "rent", "training", "travel", "supervision", "insurance", "it", "stationery")


@dataclass
class Figure:
    name: str
    swp: float
    baseline: float | None
    unit: str  # "s", "MiB" (against a limit in MiB) or "xMiB" (memory against the baseline's)
    target: float  # the ratio (or, for "MiB", the MiB) not to exceed
    detail: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.swp / self.baseline

    @property
    def met(self) -> bool:
        if self.unit == "MiB":
            return self.swp < self.target
        return self.ratio is not None and self.ratio <= self.target


# --- processes and timing --------------------------------------------------------------------------

def env() -> dict[str, str]:
    """The environment of every process measured. Python may keep compiled bytecode, as it does on
    a user's computer: a machine (like this one) may set PYTHONDONTWRITEBYTECODE, and every
    process would then compile each module of swp again (about 0.1 s), which no installed swp does."""
    out = {k: v for k, v in os.environ.items()
           if k not in ("SWP_DB", "SWP_AS", "SWP_BUSY_TIMEOUT_MS", "PYTHONDONTWRITEBYTECODE")}
    out.update(SWP_TODAY=TODAY, PYTHONIOENCODING="utf-8")
    return out


def compiled(folder: Path) -> None:
    """Compile the swp package under `folder` once, as `pip install` does, before anything is
    timed (every side of a comparison runs compiled code)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder / "swp")], env=env(), check=True,
                   stdout=subprocess.DEVNULL)


def child(argv: list[str], *, cwd: Path = ROOT) -> tuple[float, int]:
    """Run a process; (wall seconds, its own max RSS in bytes). Fails loudly if it fails. `cwd`
    picks which swp `python -m swp` runs (this one, or an older one unpacked from git)."""
    seconds, rss, _cpu = child_cpu(argv, cwd=cwd)
    return seconds, rss


# Every measured process is started by a small launcher process of its own, never by this
# script: Linux carries the starting process's peak memory over to the child it starts (the
# child is made as a copy, or a borrower, of the parent's memory before it runs its program),
# so a process started by this script, once it has imported swp to time commands in-process,
# would be reported at least as big as this script (here, about 90 MiB).
LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    request = json.loads(line)
    started = time.perf_counter()
    proc = subprocess.Popen(request["argv"], env=request["env"], cwd=request["cwd"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    print(json.dumps([seconds, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime,
                      os.waitstatus_to_exitcode(status), err]), flush=True)
"""
_launcher: subprocess.Popen | None = None


def launcher() -> subprocess.Popen:
    """The launcher, started once, while this script is still small (before it imports swp)."""
    global _launcher
    if _launcher is None:
        _launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
    return _launcher


def child_cpu(argv: list[str], *, cwd: Path = ROOT) -> tuple[float, int, float]:
    """Run a process (through the launcher); (wall seconds, its own max RSS in bytes, its CPU
    seconds: user + system, which a machine busy with other work inflates far less than the
    wall clock)."""
    proc = launcher()
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"argv": argv, "env": env(), "cwd": str(cwd)}) + "\n")
    proc.stdin.flush()
    seconds, rss, cpu, code, err = json.loads(proc.stdout.readline())
    if code != 0:
        raise SystemExit(f"benchmark step failed ({code}): {' '.join(argv)}\n{err}")
    return seconds, rss, cpu  # Linux reports KiB: the launcher gives bytes


def swp(db: str, *args: str, actor: str | None = "mo") -> list[str]:
    argv = [sys.executable, "-m", "swp", "--db", db]
    if actor:
        argv += ["--as", actor]
    return argv + list(args)


def copy_db(source: str, dest: str) -> str:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dest + suffix):
            os.unlink(dest + suffix)
    src, dst = sqlite3.connect(source), sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    os.chmod(dest, 0o600)
    return dest


# --- data -------------------------------------------------------------------------------------------

def found(db: str, *, cwd: Path = ROOT, sandbox: bool = True) -> None:
    """The Riverside practice of the tests: five members, manager mo (by the swp in `cwd`; an
    swp from before sandboxes founds an ordinary practice)."""
    child(swp(db, "init", *(["--sandbox"] if sandbox else []), "Riverside Social Work Practice",
              "--local-authority", "Leeds City Council", actor=None), cwd=cwd)
    members = (("ann", "practitioner", "2024-04-01", "37.5", "40000", "SW100001"),
               ("bea", "practitioner", "2024-04-01", "30", "32000", "SW100002"),
               ("cal", "practitioner", "2025-01-01", "20", "22000", "SW100003"),
               ("mo", "manager", "2024-04-01", "37.5", "36000", None),
               ("sam", "staff", "2025-06-01", "16", "12000", None))
    for handle, role, since, hours, pay, registration in members:
        child(swp(db, "member", "add", handle, "--name", handle.title(), "--role", role,
                  "--employed-since", since, "--hours", hours, "--pay", pay,
                  *(["--registration", registration] if registration else []),
                  actor="mo" if handle == "sam" else None), cwd=cwd)


def write_csv(path: Path, rows: int) -> None:
    """`rows` bank lines spread over the 2025-26 year: a third expenses, the rest income."""
    first = date.fromisoformat(PERIOD[1])
    days = [(first + timedelta(days=d)).isoformat() for d in range(365)]
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("date,type,amount,category,memo,ref\n")
        lines = []
        for n in range(rows):
            if n % 3 == 0:
                kind, category = "expense", EXPENSES[n % len(EXPENSES)]
            else:
                kind, category = "income", INCOME[n % len(INCOME)]
            lines.append(f"{days[n % 365]},{kind},{n % 4000 + 1}.{n % 100:02d},{category},"
                         f"entry {n} for {category},R{n:08d}\n")
            if len(lines) == 10_000:
                out.writelines(lines)
                lines = []
        out.writelines(lines)


def plain_table(practice: str, dest: str) -> str:
    """The plain import's database: a table named and typed like swp's `ledger_entry` (the same
    columns, NOT NULL and the integer primary key) with one unique index, on `ref`, and nothing
    else: no other index, constraint, foreign key or trigger."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dest + suffix):
            os.unlink(dest + suffix)
    src = sqlite3.connect(f"file:{practice}?mode=ro", uri=True)
    try:
        columns = src.execute("PRAGMA table_info(ledger_entry)").fetchall()
    finally:
        src.close()
    parts = [f'"{name}" {kind}' + (" PRIMARY KEY" if pk else " NOT NULL" if notnull else "")
             for _cid, name, kind, notnull, _default, pk in columns]
    conn = sqlite3.connect(dest)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"CREATE TABLE ledger_entry ({', '.join(parts)})")
        conn.execute("CREATE UNIQUE INDEX plain_ref ON ledger_entry (ref)")
        conn.commit()
    finally:
        conn.close()
    os.chmod(dest, 0o600)
    return dest


# swp's pragmas (the plain table's connection), the time every row is recorded at, the insert
_PLAIN_CONNECT = r"""
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = FULL")
conn.execute("PRAGMA foreign_keys = ON")
conn.execute("PRAGMA cache_size = -1024")
now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
sql = ("INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, memo, ref, "
       "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
"""
# a CSV row's cells (day, kind, amount, category, memo, ref) made into the row that goes in
_PLAIN_ROW = r"""        whole, _, part = amount.partition(".")
        pence = int(whole) * 100 + int(part.ljust(2, "0"))
        if kind == "income":
            debit, credit = "assets:bank", "income:" + category
        else:
            debit, credit = "expenses:" + category, "assets:bank"
        row = (day, kind, pence, category, debit, credit, memo or None, ref, now)
"""
# The plain import the issue names: csv + sqlite3.executemany, streaming, one transaction, into a
# table of the same columns with one unique index (on the ref) and the same pragmas as swp's
# connections (plain_table). The only checks are the ones SQLite makes.
BASELINE_IMPORT = r"""
import csv, sqlite3, sys
from datetime import datetime, timezone
db, path = sys.argv[1], sys.argv[2]
""" + _PLAIN_CONNECT + r"""conn.execute("BEGIN IMMEDIATE")
with open(path, newline="", encoding="utf-8") as handle:
    reader = csv.reader(handle)
    next(reader)
    batch = []
    for day, kind, amount, category, memo, ref in reader:
""" + _PLAIN_ROW + r"""        batch.append(row)
        if len(batch) == 1000:
            conn.executemany(sql, batch)
            batch = []
    if batch:
        conn.executemany(sql, batch)
conn.execute("COMMIT")
conn.close()
"""

# The floor of any import into swp's books, whatever its Python: the writes swp's import makes,
# on rows already made. Into a copy of the practice, with swp's pragmas: the covering index and
# the closed-period trigger set aside and made again when the file is big enough for swp to do so
# (argv: "rebuild" or "keep"), a savepoint around each batch as swp's first batches have (100
# rows, then 1,000 each), one transaction. The rows are made (as BASELINE_IMPORT makes them) before the clock starts;
# the seconds of the writes alone go to the file named last.
FLOOR_WRITES = r"""
import csv, sqlite3, sys, time
from datetime import datetime, timezone
db, path, mode, out = sys.argv[1:5]
""" + _PLAIN_CONNECT + r"""rows = []
with open(path, newline="", encoding="utf-8") as handle:
    reader = csv.reader(handle)
    next(reader)
    for day, kind, amount, category, memo, ref in reader:
""" + _PLAIN_ROW + r"""        rows.append(row)
started = time.perf_counter()
conn.execute("BEGIN IMMEDIATE")
aside = []
if mode == "rebuild":
    aside = [row[0] for row in conn.execute(
        "SELECT sql FROM sqlite_master WHERE name IN ('ix_ledger_entry_date_cover', 'ledger_entry_period_lock')")]
    conn.execute("DROP INDEX ix_ledger_entry_date_cover")
    conn.execute("DROP TRIGGER ledger_entry_period_lock")
at, size = 0, 100
while at < len(rows):
    conn.execute("SAVEPOINT batch")
    conn.executemany(sql, rows[at:at + size])
    conn.execute("RELEASE batch")
    at, size = at + size, 1000
for statement in aside:
    conn.execute(statement)
conn.execute("COMMIT")
seconds = time.perf_counter() - started
conn.close()
with open(out, "w") as handle:
    handle.write(repr(seconds))
"""
# swp's start-up as the floor counts it: the stack's imports with the collector off, as swp starts
STACK_WITHOUT_COLLECTOR = [sys.executable, "-c", "import gc; gc.disable(); import typer, rich, sqlmodel, pydantic"]

# Plain SQL over the same rows: every way worth trying; the fastest one is the baseline.
BALANCE_SQL = (
    "SELECT kind, category, sum(amount_pence), count(*) FROM ledger_entry GROUP BY kind, category",
    "SELECT kind, category, sum(amount_pence), count(*) FROM ledger_entry "
    "INDEXED BY ix_ledger_entry_date_cover GROUP BY kind, category",
    "SELECT kind, category, sum(amount_pence), count(*) FROM ledger_entry NOT INDEXED "
    "GROUP BY kind, category",
    # by day first, in the covering index's order (as swp adds up), then by category
    "SELECT kind, category, sum(s), sum(n) FROM (SELECT kind, category, sum(amount_pence) AS s, "
    "count(*) AS n FROM ledger_entry GROUP BY date, kind, category) GROUP BY kind, category",
)
CLOSE_SQL = tuple(  # (the range goes on the first GROUP BY: the two-step query's inner one)
    q.replace("GROUP BY", "WHERE date >= ? AND date <= ? AND kind IN ('income', 'expense') GROUP BY", 1)
    for q in BALANCE_SQL
)


def plain_once(db: str, query: str, params: tuple = ()) -> tuple[float, list]:
    """One plain query, connection included (like swp's own work): (seconds, rows)."""
    started = time.perf_counter()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(query, params).fetchall()
    finally:
        conn.close()
    return time.perf_counter() - started, rows


def turns(repeat: int, **sides) -> dict[str, float]:
    """Each side's best time over `repeat` rounds; every round runs every side once, in turn,
    so that a busy moment of the (shared) machine falls on all sides alike."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, fn in sides.items():
            times[name].append(fn())
    return {name: min(values) for name, values in times.items()}


# --- swp in this process -----------------------------------------------------------------------------

class _Undo(Exception):
    pass


def inproc_once(db: str, work, *, write: bool = False) -> float:
    """`work(session)` in one transaction (rolled back when it writes), connection and
    schema check included: seconds."""
    from swp.db import open_database

    database = open_database(db)
    started = time.perf_counter()
    elapsed = 0.0
    try:
        with database.transaction(write=write) as session:
            work(session)
            elapsed = time.perf_counter() - started
            if write:
                raise _Undo
    except _Undo:
        pass
    finally:
        database.dispose()
    return elapsed


# --- figures ---------------------------------------------------------------------------------------

def bench_import(work: Path, practice: str, rows: int, rounds: int = 3) -> tuple[list[Figure], str]:
    """The import and its plain baseline, taking turns for `rounds` rounds (each into a fresh
    copy, the side going first alternating), the fastest round of each side counting: a minute
    of a shared machine's load falls on both sides alike, as it did not when each ran once."""
    source = work / "bank.csv"
    started = time.perf_counter()
    write_csv(source, rows)
    print(f"  wrote {rows:,} rows ({source.stat().st_size / MIB:.0f} MiB) in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    base_runs: list[tuple[float, int, float]] = []
    swp_runs: list[tuple[float, int, float]] = []
    bigs: list[str] = []

    def plain() -> None:
        plain_db = plain_table(practice, str(work / "plain.db"))
        base_runs.append(child_cpu([sys.executable, "-c", BASELINE_IMPORT, plain_db, str(source)]))

    def ours() -> None:
        for earlier in bigs:  # room on the disk: only the last round's books are kept
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(earlier + suffix):
                    os.unlink(earlier + suffix)
        # a fresh copy under the same name would look like a rolled-back history
        big = copy_db(practice, str(work / f"big-{rows}-{len(bigs)}.db"))
        bigs.append(big)
        swp_runs.append(child_cpu(swp(big, "ledger", "import", str(source))))
        count = sqlite3.connect(big).execute("SELECT count(*) FROM ledger_entry").fetchone()[0]
        assert count == rows, (count, rows)

    from swp.services.ledger import REBUILD_BYTES, REBUILD_SHARE

    # the floor (FLOOR_WRITES): swp's start-up and swp's writes, without the rows' Python; the
    # index and trigger set aside when swp sets them aside (`ledger.set_aside_for_import`)
    floor_writes: list[float] = []
    floor_stack: list[float] = []
    size = source.stat().st_size
    with contextlib.closing(sqlite3.connect(practice)) as conn:
        entries = conn.execute("SELECT count(*) FROM ledger_entry").fetchone()[0]
    mode = "rebuild" if size >= REBUILD_BYTES and size // REBUILD_SHARE >= entries else "keep"

    def floor() -> None:
        dest, out = copy_db(practice, str(work / "floor.db")), work / "floor.txt"
        child([sys.executable, "-c", FLOOR_WRITES, dest, str(source), mode, str(out)])
        floor_writes.append(float(out.read_text()))
        floor_stack.append(child(STACK_WITHOUT_COLLECTOR)[0])
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(dest + suffix):
                os.unlink(dest + suffix)

    for turn in range(max(1, rounds)):
        for side in ((plain, ours, floor) if turn % 2 == 0 else (ours, plain, floor)):
            side()
    base_s, _, base_cpu = min(base_runs)
    swp_s, _, swp_cpu = min(swp_runs)
    stack_s, writes_s = min(floor_stack), min(floor_writes)
    base_rss, swp_rss = max(r[1] for r in base_runs), max(r[1] for r in swp_runs)
    spread = ", ".join(f"{s / b:.2f}x" for (s, _, _), (b, _, _) in zip(swp_runs, base_runs, strict=True))
    figures = [
        Figure(f"ledger import, {rows:,} rows", swp_s, base_s, "s", 2.0,
               f"{rows / swp_s:,.0f} rows/s vs {rows / base_s:,.0f} rows/s (csv + sqlite3.executemany); "
               f"CPU {swp_cpu:.2f} s vs {base_cpu:.2f} s ({swp_cpu / base_cpu:.2f}x); best of {len(swp_runs)} "
               f"rounds each, taking turns (round by round: {spread})"),
        Figure(f"  peak memory of the import of {rows:,} rows (max RSS)", swp_rss / MIB, base_rss / MIB, "MiB", 80.0,
               "target: under 80 MiB (the largest of the rounds); baseline column: the plain import's"),
        Figure("  its floor: swp's start-up + swp's writes, no line read", stack_s + writes_s, None, "s", 2.0,
               f"{stack_s:.3f} s + {writes_s:.3f} s = {stack_s + writes_s:.3f} s, "
               f"{(stack_s + writes_s) / base_s:.2f}x the plain import (FLOOR_WRITES)"),
    ]
    return figures, bigs[-1]


def bench_queries(big: str, rows: int, repeat: int) -> list[Figure]:
    from swp.services import ledger
    from swp.services.sharing import closing

    label, start, end = PERIOD
    start_d, end_d = date.fromisoformat(start), date.fromisoformat(end)
    figures = []

    plain = {f"sql{i}": (lambda q=q: plain_once(big, q)[0]) for i, q in enumerate(BALANCE_SQL)}
    best_of = turns(repeat, swp=lambda: inproc_once(big, lambda s: ledger.balance(s)), **plain)
    fastest = min(plain, key=best_of.get)
    query = BALANCE_SQL[int(fastest[3:])]
    result = _balance(big)
    assert result["entries"] == sum(r[3] for r in plain_once(big, query)[1])
    figures.append(Figure(f"ledger balance over {rows:,} entries (own work)", best_of["swp"],
                          best_of[fastest], "s", 2.0, f"baseline: {_short(query)}"))

    plain = {f"sql{i}": (lambda q=q: plain_once(big, q, (start, end))[0]) for i, q in enumerate(CLOSE_SQL)}
    best_of = turns(repeat, swp=lambda: inproc_once(
        big, lambda s: closing.close(s, actor="mo", label=label, start=start_d, end=end_d), write=True),
        **plain)
    fastest = min(plain, key=best_of.get)
    figures.append(Figure(f"period close over {rows:,} entries (own work)", best_of["swp"],
                          best_of[fastest], "s", 2.0, f"baseline: {_short(CLOSE_SQL[int(fastest[3:])])}"))
    return figures


def _balance(db: str) -> dict:
    out = subprocess.run(swp(db, "--json", "ledger", "balance", actor=None), env=env(), cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _short(query: str) -> str:
    if " AS s, " in query:  # the two-step query: its inner GROUP BY (and range), then the outer one
        return query.split("FROM ledger_entry ", 1)[1].rsplit(") GROUP BY kind", 1)[0] + ", then GROUP BY kind, category"
    return query.replace("SELECT kind, category, sum(amount_pence), count(*) FROM ledger_entry", "GROUP BY").split(" GROUP BY kind")[0]


def warm_command(db: str | None, *args: str, app=None):
    """A function timing a command's own work: the whole command run in this process once its
    modules are imported (parsing, the service, rendering; output to /dev/null). `app`: another
    Typer app than swp's (benchmarks/least_app.py's)."""
    from typer.main import get_command

    if app is None:
        from swp.cli import app
    command = get_command(app)
    argv = (["--db", db] if db else []) + list(args)

    def once() -> float:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            started = time.perf_counter()
            code = command.main(args=argv, standalone_mode=False)
            elapsed = time.perf_counter() - started
        if code:
            raise SystemExit(f"{' '.join(argv)} failed in-process ({code})")
        return elapsed

    once()  # imports what the command needs
    return once


STACK = [sys.executable, "-c", "import typer, rich, sqlmodel, pydantic"]


def bench_startup(practice: str, big: str | None, rows: int, repeat: int) -> list[Figure]:
    figures = []
    best_of = turns(repeat, swp=lambda: child([sys.executable, "-m", "swp", "--help"])[0],
                    typer=lambda: child([sys.executable, "-c", "import typer"])[0])
    figures.append(Figure("swp --help", best_of["swp"], best_of["typer"], "s", 3.0,
                          'baseline: python -c "import typer"'))

    commands = [("swp member list", practice, ("member", "list")),
                ("swp ledger balance, small books", practice, ("ledger", "balance")),
                ("swp --json audit verify, small books", practice, ("--json", "audit", "verify"))]
    if big is not None:
        commands.append((f"swp --json ledger balance, {rows:,} entries", big, ("--json", "ledger", "balance")))
    for name, db, args in commands:
        best_of = turns(repeat,
                        whole=lambda db=db, args=args: child([sys.executable, "-m", "swp", "--db", db, *args])[0],
                        stack=lambda: child(STACK)[0],
                        work=warm_command(db, *args))
        stack_s, work = best_of["stack"], best_of["work"]
        figures.append(Figure(f"{name} (whole process)", best_of["whole"], stack_s + work, "s", 1.1,
                              f'baseline: python -c "import typer, rich, sqlmodel, pydantic" ({stack_s:.3f} s) '
                              f"+ the command's own work in-process ({work:.3f} s)"))
    # for scale: the least a database command can be on this stack (benchmarks/least_app.py),
    # against the same kind of baseline (its own work measured the same way)
    least = [sys.executable, str(ROOT / "benchmarks" / "least_app.py"), "--db", practice, "member", "list"]
    best_of = turns(repeat, whole=lambda: child(least)[0], stack=lambda: child(STACK)[0],
                    work=warm_command(practice, "member", "list", app=least_app()))
    figures.append(Figure("for scale: the stack's least `member list` (whole process)", best_of["whole"],
                          best_of["stack"] + best_of["work"], "s", 1.1,
                          "one Typer command, one SQLModel table, a Rich table (benchmarks/least_app.py); "
                          f"own work {best_of['work']:.3f} s"))
    return figures


def least_app():
    """benchmarks/least_app.py's Typer app, imported from its file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("least_app", ROOT / "benchmarks" / "least_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


_META = re.compile(r"  [a-z][a-z0-9-]*: ")


def to_hledger(beancount: Path, journal: Path) -> None:
    """The beancount export as an hledger journal: the same transactions and postings, without
    beancount's own directives (option, open) and metadata lines (`  swp-id: "12"`)."""
    with open(beancount, encoding="utf-8") as src, open(journal, "w", encoding="utf-8") as out:
        for line in src:
            if line.startswith(("option ", ";")) or line[10:16] == " open " or _META.match(line):
                continue
            out.write(line)


def hledger_totals(hledger: str, journal: Path) -> dict[str, int]:
    """hledger's top-level account totals in pence (Income negative, as in any journal)."""
    out = subprocess.run([hledger, "-f", str(journal), "balance", "--depth", "1", "-N"],
                         capture_output=True, text=True, check=True).stdout
    totals = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "GBP":
            totals[parts[2]] = round(float(parts[0].replace(",", "")) * 100)
    return totals


def bench_hledger(work: Path, practice: str, rows: int, repeat: int) -> list[Figure]:
    hledger = shutil.which("hledger")
    if hledger is None:
        return [Figure(f"ledger balance vs hledger, {rows:,} entries", 0.0, None, "s", 1.0,
                       "skipped: hledger is not installed (apt-get install hledger)")]
    source = work / "hledger.csv"
    write_csv(source, rows)
    db = copy_db(practice, str(work / "hledger.db"))
    child(swp(db, "ledger", "import", str(source)))
    beancount = work / "books.beancount"
    child(swp(db, "export", "beancount", "--output", str(beancount), actor=None))
    journal = work / "books.journal"
    to_hledger(beancount, journal)
    peak = {"swp": 0, "hledger": 0}

    def run(side: str, argv: list[str]) -> float:
        seconds, rss = child(argv)
        peak[side] = max(peak[side], rss)
        return seconds

    best_of = turns(repeat, swp=lambda: run("swp", swp(db, "ledger", "balance", actor=None)),
                    hledger=lambda: run("hledger", [hledger, "-f", str(journal), "balance"]))
    swp_s, hledger_s = best_of["swp"], best_of["hledger"]
    # the same books: hledger's Income and Expenses totals are swp's
    totals, ours = hledger_totals(hledger, journal), _balance(db)
    assert -totals.get("Income", 0) == ours["income_pence"], (totals, ours)
    assert totals.get("Expenses", 0) == ours["expenses_pence"], (totals, ours)
    version = subprocess.run([hledger, "--version"], capture_output=True, text=True).stdout.strip()
    return [Figure(f"swp ledger balance vs hledger balance, {rows:,} entries (whole processes)", swp_s,
                   hledger_s, "s", 0.1, f"{version}; the same journal (swp export beancount); same totals"),
            Figure("  peak memory of the balance vs hledger's (max RSS)", peak["swp"] / MIB,
                   peak["hledger"] / MIB, "xMiB", 0.1, "the largest of each side's runs")]


# --- report ----------------------------------------------------------------------------------------

def _ratio(f: Figure) -> str:
    """The ratio as its target is written: a target under 1 (0.1x) with three decimals, so that a
    ratio just under it is not shown as equal to it."""
    return f"{f.ratio:.3f}x" if f.target < 1 else f"{f.ratio:.2f}x"


def report(figures: list[Figure]) -> str:
    lines = [f"{'figure':<62} {'swp':>10} {'baseline':>10} {'ratio':>7} {'target':>9}  result"]
    for f in figures:
        if f.baseline is None:
            lines.append(f"{f.name:<62} {'':>10} {'':>10} {'':>7} {'':>9}  {f.detail}")
            continue
        if f.unit == "xMiB":
            lines.append(f"{f.name:<62} {f.swp:>8.1f} M {f.baseline:>8.1f} M {_ratio(f):>7} {'<=' + format(f.target, 'g') + 'x':>9}  "
                         f"{'met' if f.met else 'NOT MET'}")
        elif f.unit == "MiB":
            lines.append(f"{f.name:<62} {f.swp:>8.1f} M {f.baseline:>8.1f} M {'':>7} {'<' + format(f.target, 'g') + ' MiB':>9}  "
                         f"{'met' if f.met else 'NOT MET'}")
        else:
            target = f"<={f.target:g}x"
            lines.append(f"{f.name:<62} {f.swp:>8.3f} s {f.baseline:>8.3f} s {_ratio(f):>7} {target:>9}  "
                         f"{'met' if f.met else 'NOT MET'}")
        if f.detail and f.baseline is not None:
            lines.append(f"    {f.detail}")
    return "\n".join(lines)


# two digits each, so that no payee's pattern is part of another's ("HMRC 2" was part of "HMRC
# 22", whose lines the rules then put in HMRC 2's category: not the own-format file's lines)
PAYEES = tuple(f"{name} {n:02d}" for n, name in enumerate(
    ("Leeds City Council", "Holbeck Works", "HMRC", "Nest Pensions", "Ryman", "BT Business",
     "Yorkshire Water", "Northern Powergrid", "Zurich Insurance", "Social Work England") * 5))


def write_bank_files(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    """The same `rows` bank lines twice: in swp's own CSV, and as Starling exports them (DD/MM/YYYY,
    signed amounts, a running balance), with a rules file of 50 patterns (one per payee)."""
    first = date.fromisoformat(PERIOD[1])
    own, bank, rules = folder / "own.csv", folder / "starling.csv", folder / "rules.toml"
    categories = {payee: (INCOME if n % 3 else EXPENSES)[n % 4] for n, payee in enumerate(PAYEES)}
    balance = 0
    with open(own, "w", encoding="utf-8", newline="") as a, open(bank, "w", encoding="utf-8", newline="") as b:
        a.write("date,type,amount,category,memo,ref\n")
        b.write("Date,Counter Party,Reference,Type,Amount (GBP),Balance (GBP),Spending Category\n")
        for n in range(rows):
            day = first + timedelta(days=n * 365 // rows)
            payee = PAYEES[n % len(PAYEES)]
            income = (n % len(PAYEES)) % 3 != 0
            pence = (n % 4000 + 1) * 100 + n % 100
            balance += pence if income else -pence
            memo = f"{payee} REF{n:08d}"
            kind = "income" if income else "expense"
            a.write(f"{day.isoformat()},{kind},{pence // 100}.{pence % 100:02d},{categories[payee]},{memo},R{n:08d}\n")
            b.write(f"{day:%d/%m/%Y},{payee},REF{n:08d},FASTER PAYMENT,{'' if income else '-'}{pence // 100}.{pence % 100:02d},"
                    f"{'-' if balance < 0 else ''}{abs(balance) // 100}.{abs(balance) % 100:02d},GENERAL\n")
    rules.write_text("[rules]\n" + "".join(f'"{p}" = "{c}"\n' for p, c in categories.items()))
    return own, bank, rules


# The swp that bank files were asked of: the commit their work started from. Its own-format
# import is the "ledger import of today" that the bank import's target was set against.
BANK_ASKED = "4863fa9"


def unpack(work: Path, rev: str, name: str) -> Path:
    """swp's package as it was at `rev`, unpacked from git into `work/name` and compiled."""
    folder = work / name
    folder.mkdir()
    got = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "swp"], capture_output=True)
    if got.returncode != 0:  # a copy without git's history (a source archive, a shallow clone)
        raise SystemExit(f"this baseline is swp as it was at {rev}, taken from git, which has no such "
                         f"commit here: {got.stderr.decode(errors='replace').strip()}")
    archive = got.stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    compiled(folder)
    return folder


def bench_bank(work: Path, practice: str, rows: int, repeat: int = 3) -> list[Figure]:
    """The bank import against swp's own-format import of the same lines: as swp imports them
    now, and as swp imported them when bank files were asked for (the swp of BANK_ASKED, on a
    practice it founded itself). All three take turns, each round into a fresh copy of its
    practice; each side's best round counts (its time, and its peak memory)."""
    own, bank, rules = write_bank_files(work, rows)
    then = unpack(work, BANK_ASKED, "then")
    then_practice = str(work / "then-practice.db")
    found(then_practice, cwd=then, sandbox=False)
    rss: dict[str, list[int]] = {"own": [], "bank": [], "then": []}

    def into_copy(side: str, source: str, *args: str, cwd: Path = ROOT) -> float:
        # a new file each round: swp remembers the last event it saw in each practice file, and
        # a fresh copy under the same name would look like a rolled-back history
        db = copy_db(source, str(work / f"{side}-{len(rss[side])}.db"))
        seconds, peak = child(swp(db, "ledger", "import", *args), cwd=cwd)
        count = sqlite3.connect(db).execute("SELECT count(*) FROM ledger_entry").fetchone()[0]
        assert count == rows, (side, count, rows)
        rss[side].append(peak)
        os.unlink(db)
        return seconds

    best_of = turns(repeat, own=lambda: into_copy("own", practice, str(own)),
                    bank=lambda: into_copy("bank", practice, str(bank), "--rules", str(rules)),
                    then=lambda: into_copy("then", then_practice, str(own), cwd=then))
    rounds = f"best of {repeat} rounds each, taking turns"
    return [
        Figure(f"bank CSV import (Starling profile, 50 rules, balance checked), {rows:,} lines", best_of["bank"],
               best_of["then"], "s", 1.5, f"baseline: the own-format import of the same lines by swp as it was "
                                          f"when bank files were asked for ({BANK_ASKED}); {rounds}"),
        Figure("  the same, against swp's own-format import now", best_of["bank"], best_of["own"], "s", 1.5,
               f"baseline: the own-format import of the same lines by this swp; {rounds}"),
        Figure("  peak memory of the bank import (max RSS)", max(rss["bank"]) / MIB, max(rss["own"]) / MIB, "MiB",
               100.0, "target: under 100 MiB (the largest of the rounds); baseline column: the own-format import's"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to import (default 1,000,000)")
    parser.add_argument("--small-rows", type=int, default=100_000,
                        help="rows of the smaller import, before the main one (default 100,000; 0: none)")
    parser.add_argument("--hledger-rows", type=int, default=100_000,
                        help="entries for the hledger comparison (default 100,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing; the best counts")
    parser.add_argument("--import-rounds", type=int, default=3,
                        help="rounds of the import and its baseline, taking turns (default 3)")
    parser.add_argument("--bank-rows", type=int, default=100_000,
                        help="bank lines for the bank-file comparison (default 100,000)")
    parser.add_argument("--only", choices=("import", "startup", "hledger", "bank"), action="append",
                        help="run only these parts (import includes balance and close)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    parts = set(args.only or ("import", "startup", "hledger", "bank"))
    os.environ.update(SWP_TODAY=TODAY)
    for name in ("SWP_DB", "SWP_AS", "SWP_BUSY_TIMEOUT_MS"):
        os.environ.pop(name, None)

    launcher()  # before anything is imported or measured here (see LAUNCHER)
    work = Path(tempfile.mkdtemp(prefix="swp-bench-"))
    print(f"swp benchmarks: {platform.python_implementation()} {platform.python_version()}, SQLite "
          f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs, {platform.machine()}; work in {work}",
          file=sys.stderr)
    figures: list[Figure] = []
    try:
        compiled(ROOT)
        practice = str(work / "practice.db")
        found(practice)
        big = None
        if "import" in parts and 0 < args.small_rows != args.rows:
            print(f"- import of {args.small_rows:,} rows", file=sys.stderr)
            small_figures, small = bench_import(work, practice, args.small_rows, args.import_rounds)
            figures += small_figures
            for suffix in ("", "-wal", "-shm"):  # room on the disk for the main import
                if os.path.exists(small + suffix):
                    os.unlink(small + suffix)
        if "import" in parts:
            print(f"- import of {args.rows:,} rows, then balance and close", file=sys.stderr)
            found_figures, big = bench_import(work, practice, args.rows, args.import_rounds)
            figures += found_figures
            figures += bench_queries(big, args.rows, min(args.repeat, 3))
        if "startup" in parts:
            print("- start-up", file=sys.stderr)
            figures += bench_startup(practice, big, args.rows, args.repeat)
        if "hledger" in parts:
            rows = min(args.hledger_rows, args.rows) if "import" in parts else args.hledger_rows
            print(f"- hledger, {rows:,} entries", file=sys.stderr)
            figures += bench_hledger(work, practice, rows, min(args.repeat, 3))
        if "bank" in parts:
            print(f"- bank CSV import, {args.bank_rows:,} lines", file=sys.stderr)
            figures += bench_bank(work, practice, args.bank_rows, min(args.repeat, 3))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(report(figures))
    if args.json:
        Path(args.json).write_text(json.dumps([dict(asdict(f), ratio=f.ratio,
                                                    met=f.met if f.baseline is not None else None)
                                               for f in figures],
                                              indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
