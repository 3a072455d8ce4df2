#!/usr/bin/env python3
"""The members' page under load: 50 members voting at once, and how fast pages answer.

    .venv/bin/python benchmarks/web_load.py                      # SQLite, 1,000,000 entries
    .venv/bin/python benchmarks/web_load.py --rows 20000         # a quick run
    .venv/bin/python benchmarks/web_load.py --db postgresql+psycopg://ROLE@HOST/EMPTYDB

A practice with 50 members (49 practitioners and a manager) and N ledger entries (default
1,000,000; then a closed period over them) is served by `swp serve`'s application in its
own process on 127.0.0.1. Then:

1. every member enrols a passkey over HTTP, one after another (a software authenticator:
   tests/soft_authenticator.py);
2. all 50 at once cast a vote on one proposal, then all 50 at once change it, each vote
   confirmed with a passkey assertion over the member's request (who, the vote, the last
   event they saw, a nonce: not the event itself, so another member's vote recorded in
   between does not matter). Each member first asks for the options, then all confirm.
   Checked afterwards, in the database: no request answered with a server error, no vote
   lost, each member counted once, the tally as cast, no confirmation refused, and
   `swp audit verify` passes;
3. one member's home page and statement page: the first view (a closed period's totals are
   summed from the books then, and kept: swp.services.sharing.statements.ClosedBooks), then
   200 views each in turn: the median and the 95th percentile (target: under 100 ms).

The ledger's rows are written with plain SQL (test setup, not what is measured; a minute or
two for a million), then the period is closed with `swp period close`.

It is bounded (two votes per member, 400 page loads) and talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TODAY = "2026-06-30"
MEMBERS = 50


def swp(db: str, *args: str, actor: str | None = None) -> str:
    """One swp command, in this process (Typer's runner: no start-up cost per command)."""
    from typer.testing import CliRunner

    from swp.cli import app

    argv = ["--db", db, "--json"] + (["--as", actor] if actor else []) + list(args)
    run = CliRunner().invoke(app, argv, env={"SWP_TODAY": TODAY})
    if run.exit_code != 0:
        raise SystemExit(f"swp {' '.join(args)}: {run.stderr.strip()}")
    return run.stdout


def found(db: str, rows: int) -> int:
    swp(db, "init", "Load Test Practice", "--local-authority", "Leeds City Council", "--sandbox")
    for i in range(MEMBERS - 1):
        swp(db, "member", "add", f"m{i:02d}", "--name", f"Member {i:02d}", "--role", "practitioner",
            "--employed-since", "2024-04-01", "--hours", "37.5", "--pay", "35000",
            "--registration", f"SW2{i:05d}", actor="boss" if i > 1 else None)
        if i == 1:
            swp(db, "member", "add", "boss", "--name", "The Manager", "--role", "manager",
                "--employed-since", "2024-04-01", "--hours", "37.5", "--pay", "36000")
    swp(db, "ledger", "income", "100", "--date", "2025-04-01", "--category", "contracts", actor="boss")
    began = time.perf_counter()
    fill_ledger(db, rows - 1)
    print(f"  wrote {rows:,} entries in {time.perf_counter() - began:.1f} s")
    # a few entries in the open period, for the books page
    swp(db, "ledger", "expense", "250", "--date", "2026-05-01", "--category", "rent", actor="boss")
    began = time.perf_counter()
    swp(db, "period", "close", "2025-26", "--start", "2025-04-01", "--end", "2026-03-31", actor="boss")
    print(f"  closed 2025-26 in {time.perf_counter() - began:.1f} s")
    made = json.loads(swp(db, "proposal", "new", "--title", "Shorter weeks", "--kind", "ordinary",
                          "--amend", "sharing.reserve-percent=25", actor="m00"))
    return int(made["id"])


def entries(rows: int):
    """`rows` ledger rows spread over the 2025-26 year: a third expenses, the rest income."""
    start = date(2025, 4, 1)
    days = [(start + timedelta(days=d)).isoformat() for d in range(365)]
    at = "2026-04-01 09:00:00.000000"
    rng = random.Random(7)
    for n in range(rows):
        if n % 3:
            kind, category = "income", ("contracts", "grants")[rng.getrandbits(1)]
            debit, credit = "assets:bank", f"income:{category}"
        else:
            kind, category = "expense", ("rent", "travel", "it")[rng.randrange(3)]
            debit, credit = f"expenses:{category}", "assets:bank"
        yield (days[n * 365 // rows], kind, rng.randint(100, 99999), category, debit, credit, at)


def fill_ledger(db: str, rows: int) -> None:
    """Test setup, not what is measured: the ledger's rows written with plain SQL in one
    transaction (SQLite: executemany; PostgreSQL: COPY), the table's indexes and triggers in
    place. `swp ledger import` of the same rows takes minutes at a million (docs/performance.md)."""
    columns = "date, kind, amount_pence, category, debit, credit, recorded_at"
    if "://" not in db:
        import sqlite3

        conn = sqlite3.connect(db, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = OFF")  # no other connection is open; WAL again after
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("BEGIN IMMEDIATE")
            # the table's indexes are dropped and made again, exactly as they were: faster in bulk
            indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                   "AND tbl_name = 'ledger_entry' AND sql IS NOT NULL").fetchall()
            for name, _sql in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            rows_in = entries(rows)
            while batch := list(itertools.islice(rows_in, 10_000)):
                conn.executemany(f"INSERT INTO ledger_entry ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
            for _name, sql in indexes:
                conn.execute(sql)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(db).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY ledger_entry ({columns}) FROM STDIN") as copy:
            for row in entries(rows):
                copy.write_row(row)
        conn.execute("ANALYZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = """
import faulthandler, signal, sys, uvicorn
faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 PID: every thread's stack, on stderr
from swp.web.app import Config, create_app
db, origin, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app(Config(db=db, origin=origin, secure=False, signin_per_address=10_000))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def csrf(text: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', text).group(1)


class Member:
    def __init__(self, handle: str, base: str, origin: str, statuses: list[int]):
        import httpx2 as httpx

        from tests.soft_authenticator import SoftPasskey

        self.handle, self.statuses = handle, statuses
        self.http = httpx.Client(base_url=base, timeout=60)
        self.key = SoftPasskey(origin, "localhost")
        self.retries = 0  # confirmations refused because the history moved on meanwhile
        self.refusals: list[str] = []  # options the page refused, and why

    def _note(self, response):
        self.statuses.append(response.status_code)
        return response

    def enrol(self, path: str) -> None:
        """Make a passkey, then have it sign its own enrolment (made again after a 409, which
        the page answers only if the member confirmed something newer meanwhile)."""
        page = self._note(self.http.get(path))
        token = csrf(page.text)
        options = self._note(self.http.post(path + "/options", headers={"X-CSRF-Token": token})).json()
        made = self._note(self.http.post(path + "/verify", json={"credential": self.key.create(options)},
                                         headers={"X-CSRF-Token": token}))
        assert made.status_code == 200, made.text
        for _ in range(ATTEMPTS):
            done = self._note(self.http.post(path + "/confirm", json={"credential": self.key.get(made.json()["sign"])},
                                             headers={"X-CSRF-Token": token}))
            if done.status_code != 409:
                break
            self.retries += 1
            # the registration was checked; a fresh preview of the enrolment needs a new one
            options = self._note(self.http.post(path + "/options", headers={"X-CSRF-Token": token})).json()
            self.key = type(self.key)(self.key.origin, self.key.rp_id)
            made = self._note(self.http.post(path + "/verify", json={"credential": self.key.create(options)},
                                             headers={"X-CSRF-Token": token}))
        assert done.status_code == 200, done.text

    def vote(self, pid: int, choice: str, gate: threading.Barrier | None = None) -> int:
        """Vote, confirmed with the passkey over the member's request. With `gate`, every
        member has their options before anyone confirms (all asked at once, then all confirm
        at once). A 409 (nothing written: the page asks the member to confirm again) is
        counted and tried again; none is expected."""
        page = self._note(self.http.get(f"/proposals/{pid}"))
        token = csrf(page.text)
        status = 0
        for _ in range(ATTEMPTS):
            asked = self._note(self.http.post(f"/proposals/{pid}/vote/options", json={"choice": choice},
                                              headers={"X-CSRF-Token": token}))
            if gate is not None:
                gate.wait()
                gate = None
            if asked.status_code != 200:
                self.refusals.append(f"options {asked.status_code}: {asked.text[:120]}")
                status = asked.status_code
                if status >= 500:
                    continue  # counted as a server error; the member tries again
                return status
            done = self._note(self.http.post(f"/proposals/{pid}/vote", data={
                "csrf": token, "choice": choice, "assertion": json.dumps(self.key.get(asked.json()))}))
            status = done.status_code
            if status != 409:
                return status
            self.retries += 1
        return status


ATTEMPTS = 5  # confirmations a member tries before giving up (each refused one writes nothing)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", help="an empty PostgreSQL database (default: a SQLite file in a temp folder)")
    args = parser.parse_args()
    os.environ["SWP_TODAY"] = TODAY
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = args.db or str(folder / "load.db")
        print(f"setting up: {MEMBERS} members, {args.rows:,} entries, on {'PostgreSQL' if args.db else 'SQLite'}")
        pid = found(db, args.rows)
        handles = [f"m{i:02d}" for i in range(MEMBERS - 1)] + ["boss"]
        port = free_port()
        origin, base = f"http://localhost:{port}", f"http://127.0.0.1:{port}"
        # every member of the sandbox has a key: each invites themselves (a manager may not)
        links = {h: json.loads(swp(db, "member", "invite", h, "--url", origin, actor=h))["invitation"]["url"]
                 for h in handles}
        server = subprocess.Popen([sys.executable, "-c", SERVER, db, origin, str(port)],
                                  env={**os.environ, "SWP_TODAY": TODAY})
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            statuses: list[int] = []
            members = [Member(h, base, origin, statuses) for h in handles]
            with ThreadPoolExecutor(MEMBERS) as pool:
                for member in members:  # one after another: setup, not what is measured
                    member.enrol(links[member.handle][len(origin):])
                results = {}
                for round_, choose in (("cast", lambda i: ("yes", "no", "abstain")[i % 3]),
                                       ("changed", lambda i: ("no", "yes", "abstain")[i % 3])):
                    start, asked = threading.Barrier(MEMBERS), threading.Barrier(MEMBERS)

                    def one(pair, choose=choose, start=start, asked=asked):
                        i, member = pair
                        start.wait()
                        return member.vote(pid, choose(i), asked)
                    began = time.perf_counter()
                    codes = list(pool.map(one, enumerate(members)))
                    results[round_] = (codes, time.perf_counter() - began)
            expected = [("no", "yes", "abstain")[i % 3] for i in range(MEMBERS)]
            shown = json.loads(swp(db, "proposal", "show", str(pid)))
            latest = {v["member"]: v["choice"] for v in shown["votes"]}
            errors = [s for s in statuses if s >= 500]
            for round_, (codes, seconds) in results.items():
                print(f"  {MEMBERS} votes {round_} at once: {seconds:.2f} s, answers {sorted(set(codes))}")
            for refusal in sorted({r for m in members for r in m.refusals}):
                print(f"  refused: {refusal}")
            print(f"  server errors: {len(errors)} of {len(statuses)} requests; confirmations made again "
                  f"because another change was recorded meanwhile: {sum(m.retries for m in members)}")
            print(f"  votes counted: {shown['voters']} (members {MEMBERS}); tally yes {shown['yes']}, "
                  f"no {shown['no']}, abstain {shown['abstain']} (expected yes {expected.count('yes')}, "
                  f"no {expected.count('no')}, abstain {expected.count('abstain')})")
            ok = (not errors and shown["voters"] == MEMBERS
                  and latest == dict(zip(handles, expected, strict=True))
                  and all(v["version"] == 2 for v in shown["votes"]))
            print(f"  no vote lost, each member once: {'yes' if ok else 'NO'}")
            began = time.perf_counter()
            verified = json.loads(swp(db, "audit", "verify", "--full"))
            print(f"  swp audit verify --full: {'passes' if verified['ok'] else 'FAILS'} "
                  f"({verified.get('events')} events, {time.perf_counter() - began:.1f} s)")
            ok = ok and verified["ok"]

            reader = members[1]
            for name, path in (("home page", "/"), ("statement page", f"/statements/2025-26/{reader.handle}")):
                began = time.perf_counter()
                assert reader.http.get(path).status_code == 200
                print(f"  {name}: first view {(time.perf_counter() - began) * 1000:.0f} ms")
                times = []
                for _ in range(200):
                    began = time.perf_counter()
                    page = reader.http.get(path)
                    times.append((time.perf_counter() - began) * 1000)
                    assert page.status_code == 200, (path, page.status_code)
                print(f"  {name}: median {statistics.median(times):.1f} ms, p95 {percentile(times, 95):.1f} ms "
                      f"(target under 100 ms)")
            if not ok:
                raise SystemExit(1)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
