"""The takeover guard under a random life of the practice: a Hypothesis state machine whose
rules are honest actions (admit, leave, change role, propose, make a member a practitioner,
vote, close, borrow) and
hostile ones (issue shares, admit an organisation or a non-employee, transfer, amend an
entrenched clause, merge with a company, dissolve to the members, a loan with control; a
manager ending practitioners' memberships, relabelling roles, snap-closing, booking capital as
income, lopsided partner splits, company names in other scripts and forms); and a forger who
holds the database file but no member's key and writes with plain SQL (a vote, a member, an
open proposal edited, money moved in the ledger or the allocations, an unsigned event, the log
cut short or an event erased and the chain recomputed): on a copy of the practice as it stands,
each forgery is named, row or event, by `swp check` or `swp audit verify`.

A small model predicts each command's exit code; after every step the database must agree
with the model, no outsider is a member, no share exists, each member's vote counts once,
the entrenched clauses are unchanged, no resolution passed while practitioners were not a
majority unless it restored the majority, and `swp check` is clean (or, after a member left
and took the majority with them, reports exactly that)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from swp import rules
from swp.services.audit import GENESIS, ROWS_ACTION, canonical, event_hash
from tests.conftest import TODAY, Swp, audit_rows, execute, query, snapshot

YESTERDAY = "2026-06-29"
INDEX = st.integers(min_value=0, max_value=10_000)
AMENDMENTS = {  # clause -> (values to try, kind it needs)
    "sharing.reserve-percent": (["10", "25", "30"], "ordinary"),
    "membership.max-members": (["3", "6", "12"], "special"),
    "membership.min-hours": (["8", "12", "20"], "special"),
    "governance.quorum-percent": (["30", "50", "75"], "special"),
}


@dataclass
class Person:
    role: str
    hours: int  # hundredths
    left_on: str | None = None
    voted: bool = False

    @property
    def current(self) -> bool:
        return self.left_on is None or self.left_on >= TODAY


@dataclass
class Motion:
    kind: str
    action: str
    clause: str | None = None
    value: str | None = None
    target: str | None = None
    open: bool = True
    votes: dict[str, str] = field(default_factory=dict)


FOUNDERS = (("ann", "practitioner"), ("bea", "practitioner"), ("cal", "practitioner"),
            ("mo", "manager"))


def found_practice(db: str) -> None:
    """The practice each run starts from: three practitioners and a manager, a cap of 8, and a
    closed first quarter (a ledger entry and allocations, for the forger to change)."""
    swp = Swp(db)
    swp.ok("init", "--sandbox", "Guarded SWP", "--local-authority", "Leeds", "--set", "membership.max-members=8")
    for number, (handle, role) in enumerate(FOUNDERS):
        swp.ok("member", "add", handle, "--name", handle.title(), "--role", role,
               "--employed-since", "2024-01-01", "--hours", "30",  # the manager comes last
               *(("--registration", f"SW29000{number}") if role == "practitioner" else ()))
    swp.ok("partner", "add", "Acme Care Ltd", "--kind", "company", as_="mo")
    swp.ok("ledger", "income", "2000", "--date", "2024-02-01", "--category", "contracts", as_="mo")
    swp.ok("period", "close", "2024-q1", "--start", "2024-01-01", "--end", "2024-03-31", as_="mo")


class Practice(RuleBasedStateMachine):
    template: str | None = None  # a founded practice to copy (set by the test)

    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="swp-guard-")
        self.db = str(Path(self.dir) / "practice.db")
        if self.template is None:
            found_practice(self.db)
        else:
            source, target = sqlite3.connect(self.template), sqlite3.connect(self.db)
            source.backup(target)
            source.close()
            target.close()
        self.swp = Swp(self.db)
        self.clauses = {spec.name: spec.default for spec in rules.CLAUSES.values()}
        self.clauses["membership.max-members"] = "8"
        self.people = {handle: Person(role, 3000) for handle, role in FOUNDERS}
        self.motions: dict[int, Motion] = {}
        self.effective = 0  # days after 2025-01-01 of the next change of role
        self.passed_while_lost: list[int] = []  # resolutions passed while the majority was lost
        self.copies = 0  # the forger's copies of the practice
        self.registrations = 0  # numbers given to members made practitioners

    def teardown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- the model ------------------------------------------------------------------------

    def current(self) -> list[str]:
        return sorted(h for h, p in self.people.items() if p.current)

    def manager(self) -> str | None:
        """Who acts for the practice: its manager; with none any more (the founding is over),
        a current member."""
        managers = [h for h in self.current() if self.people[h].role == "manager"]
        return managers[0] if managers else (self.current() or [None])[0]

    def has_manager(self) -> bool:
        return any(self.people[h].role == "manager" for h in self.current())

    def frontline_in_the_database(self) -> tuple[int, bool]:
        """How many practitioners there are, and whether they are more than half of the current
        members, as the database has them (not the model): what the invariant on resolutions
        is judged by."""
        conn = sqlite3.connect(self.db)
        try:
            roles = [r[0] for r in conn.execute(
                "SELECT f.role FROM member m JOIN member_fact f ON f.member_id = m.id WHERE "
                "(m.left_on IS NULL OR m.left_on >= ?) AND f.effective = (SELECT MAX(effective) "
                "FROM member_fact WHERE member_id = m.id)", (TODAY,))]
        finally:
            conn.close()
        return roles.count("practitioner"), not roles or self.majority(roles)

    def majority(self, roles: list[str]) -> bool:
        return sum(r == "practitioner" for r in roles) * 2 > len(roles)

    def roles(self) -> list[str]:
        return [self.people[h].role for h in self.current()]

    def pick(self, handles: list[str], i: int) -> str:
        return handles[i % len(handles)]

    def expect(self, run, code: int, what: str) -> None:
        assert run.code == code, f"{what}: expected exit {code}, got {run.code}: {run.err}{run.out}"

    def refused(self, *args: str, clause: str, as_: str | None = None) -> None:
        before = snapshot(self.db)
        run = self.swp(*args, as_=as_)
        self.expect(run, 3, " ".join(args))
        assert f"refused by clause {clause}" in run.err
        assert snapshot(self.db) == before
        assert audit_rows(self.db)[-1]["outcome"] == "refused"

    # --- honest actions ---------------------------------------------------------------------

    @rule(role=st.sampled_from(["practitioner", "practitioner", "staff", "manager"]),
          hours=st.sampled_from(["4", "8", "16", "37.5"]))
    def admit(self, role, hours):
        handle = f"p{len(self.people)}"
        hundredths = rules.parse_hours(hours)
        roster = self.roles()
        refused = (hundredths < rules.parse_hours(self.clauses["membership.min-hours"])
                   or len(roster) + 1 > int(self.clauses["membership.max-members"])
                   or (role != "practitioner" and not self.majority([*roster, role]))
                   # the founding is over: with no manager, admitting needs a resolution
                   or not self.has_manager())
        registration = ("--registration", f"SW3{len(self.people):05d}") \
            if role == "practitioner" else ()
        run = self.swp("member", "add", handle, "--name", f"Person {handle}", "--role", role,
                       "--employed-since", "2024-01-01", "--hours", hours, *registration,
                       as_=self.manager())
        self.expect(run, 3 if refused else 0, f"admit {role} {hours}h")
        if not refused:
            # practitioners held their majority at every admission (or were being restored
            # to it by the practitioner admitted)
            assert role == "practitioner" or self.majority(self.roles() + [role])
            self.people[handle] = Person(role, hundredths)

    @precondition(lambda self: self.current())
    @rule(i=INDEX)
    def leave(self, i):
        handle = self.pick([h for h in self.current() if self.people[h].left_on is None] or [""], i)
        if not handle:
            return
        person = self.people[handle]
        # a member who has voted leaves today (their last vote stands); others left yesterday
        on = TODAY if person.voted else YESTERDAY
        self.expect(self.swp("member", "leave", handle, "--date", on, as_=handle), 0,
                    f"{handle} resigns")
        person.left_on = on

    @precondition(lambda self: self.current())
    @rule(i=INDEX, role=st.sampled_from(["practitioner", "staff", "manager"]))
    def change_role(self, i, role):
        handles = [h for h in self.current() if self.people[h].left_on is None]
        if not handles:
            return
        handle = self.pick(handles, i)
        person = self.people[handle]
        after = [self.people[h].role if h != handle else role for h in self.current()]
        refused = (person.role == "practitioner" and role != "practitioner"
                   and not self.majority(after)) or \
            (role == "practitioner" and person.role != "practitioner")  # needs a resolution
        self.effective += 1
        day = f"2025-{1 + (self.effective - 1) // 28:02d}-{1 + (self.effective - 1) % 28:02d}"
        run = self.swp("member", "update", handle, "--effective", day, "--role", role,
                       as_=self.manager())
        self.expect(run, 3 if refused else 0, f"{handle} {person.role} -> {role}")
        if not refused:
            person.role = role

    @precondition(lambda self: self.current())
    @rule(i=INDEX, clause=st.sampled_from(sorted(AMENDMENTS)), j=INDEX,
          kind=st.sampled_from(["ordinary", "special"]))
    def propose_amendment(self, i, clause, j, kind):
        proposer = self.pick(self.current(), i)
        values, needed = AMENDMENTS[clause]
        value = values[j % len(values)]
        code = 0
        if self.clauses[clause] == value or (needed == "special" and kind == "ordinary"):
            code = 1
        elif self.amendment_breaks(clause, value):
            code = 3
        run = self.swp("proposal", "new", "--title", "t", "--kind", kind, "--amend",
                       f"{clause}={value}", as_=proposer, json=code == 0)
        self.expect(run, code, f"propose {clause}={value} ({kind})")
        if code == 0:
            self.motions[run.json["id"]] = Motion(kind, "amend", clause, value)

    def amendment_breaks(self, clause: str, value: str) -> bool:
        if clause == "membership.min-hours":
            return any(self.people[h].hours < rules.parse_hours(value) for h in self.current())
        if clause == "membership.max-members":
            return int(value) < len(self.current())
        return False

    def expulsion_breaks(self, target: str) -> bool:
        if target not in self.current() or self.people[target].role != "practitioner":
            return False
        rest = [self.people[h].role for h in self.current() if h != target]
        return bool(rest) and not self.majority(rest)

    @precondition(lambda self: len(self.current()) > 1)
    @rule(i=INDEX, j=INDEX, kind=st.sampled_from(["ordinary", "special"]))
    def propose_expulsion(self, i, j, kind):
        proposer = self.pick(self.current(), i)
        target = self.pick(self.current(), j)
        code = 1 if kind == "ordinary" else 3 if self.expulsion_breaks(target) else 0
        run = self.swp("proposal", "new", "--title", "t", "--kind", kind, "--expel", target,
                       as_=proposer, json=code == 0)
        self.expect(run, code, f"propose expelling {target} ({kind})")
        if code == 0:
            self.motions[run.json["id"]] = Motion(kind, "expel", target=target)

    @precondition(lambda self: self.current())
    @rule(i=INDEX, j=INDEX, kind=st.sampled_from(["ordinary", "special"]))
    def propose_making_a_practitioner(self, i, j, kind):
        """What restores a lost majority: a member made a practitioner by resolution."""
        proposer = self.pick(self.current(), i)
        target = self.pick(sorted(self.people), j)
        person = self.people[target]
        code = 1 if (person.role == "practitioner" or not person.current) else 0
        self.registrations += 1
        run = self.swp("proposal", "new", "--title", "t", "--kind", kind, "--make-practitioner",
                       target, "--registration", f"SW4{self.registrations:05d}", as_=proposer,
                       json=code == 0)
        self.expect(run, code, f"propose making {target} a practitioner ({kind})")
        if code == 0:
            self.motions[run.json["id"]] = Motion(kind, "practitioner", target=target)

    @precondition(lambda self: self.motions)
    @rule(i=INDEX, j=INDEX, choice=st.sampled_from(["yes", "yes", "no", "abstain"]))
    def vote(self, i, j, choice):
        pid = self.pick(sorted(self.motions), i)
        voter = self.pick(sorted(self.people) + ["zed"], j)
        motion = self.motions[pid]
        if voter == "zed":  # no such member: a typo, exit 1, nothing written
            before = snapshot(self.db)
            run = self.swp("vote", str(pid), choice, as_=voter)
            self.expect(run, 1, f"vote {pid} {choice} as zed")
            assert run.err.startswith("swp: no member with handle 'zed'")
            assert snapshot(self.db) == before
            return
        if not self.people[voter].current:
            self.refused("vote", str(pid), choice, clause="one-member-one-vote", as_=voter)
            return
        run = self.swp("vote", str(pid), choice, as_=voter)
        self.expect(run, 0 if motion.open else 1, f"{voter} votes on #{pid}")
        if motion.open:
            motion.votes[voter] = choice
            self.people[voter].voted = True

    @precondition(lambda self: self.motions and self.current())
    @rule(i=INDEX, j=INDEX)
    def close(self, i, j):
        pid = self.pick(sorted(self.motions), i)
        closer = self.pick(self.current(), j)
        motion = self.motions[pid]
        if not motion.open:
            self.expect(self.swp("proposal", "close", str(pid), as_=closer), 1, "close again")
            return
        current = self.current()
        counted = [c for h, c in motion.votes.items() if h in current]
        yes, no = counted.count("yes"), counted.count("no")
        quorum = max(2, -(-int(self.clauses["governance.quorum-percent"]) * len(current) // 100))
        if motion.kind == "ordinary":
            threshold = yes * 100 > int(self.clauses["governance.ordinary-percent"]) * (yes + no)
        else:
            threshold = yes * 100 >= int(self.clauses["governance.special-percent"]) * (yes + no)
        passed = len(counted) >= quorum and yes + no > 0 and threshold
        counts = rules.Tally(yes, no, counted.count("abstain"))
        # a snap close: the others may still vote, and the notice period is not over (an
        # expulsion waits for every member, the one expelled among them)
        everyone = len(counted) == len(current)
        if not (everyone or (motion.action != "expel" and rules.result_is_settled(
                self.clauses, motion.kind, counts, len(current)))):
            self.refused("proposal", "close", str(pid), clause="governance.notice-days",
                         as_=closer)
            return
        restores = motion.action == "practitioner"
        if passed and not restores and not self.majority(self.roles()):
            self.refused("proposal", "close", str(pid), clause="frontline-majority", as_=closer)
            return
        if passed and restores and self.people[motion.target].left_on is not None:
            # the member has left (or is leaving): nobody to make a practitioner
            self.expect(self.swp("proposal", "close", str(pid), as_=closer), 1,
                        f"close #{pid}: {motion.target} has left")
            return
        if passed and restores and self.people[motion.target].role == "practitioner":
            self.expect(self.swp("proposal", "close", str(pid), as_=closer), 1,
                        f"close #{pid}: {motion.target} is a practitioner already")
            return
        breaks = passed and (
            (motion.action == "amend" and self.amendment_breaks(motion.clause, motion.value))
            or (motion.action == "expel" and self.expulsion_breaks(motion.target)))
        if breaks:  # the guard, asked again at the close, refuses; the proposal stays open
            self.refused("proposal", "close", str(pid), clause="frontline-majority"
                         if motion.action == "expel" else
                         "employees-only" if motion.clause == "membership.min-hours"
                         else "membership.max-members", as_=closer)
            return
        practitioners_before, majority_before = self.frontline_in_the_database()
        run = self.swp("proposal", "close", str(pid), as_=closer, json=True)
        self.expect(run, 0, f"close #{pid}")
        assert run.json["status"] == ("passed" if passed else "failed"), (run.json, motion)
        assert (run.json["yes"], run.json["no"]) == (yes, no)
        motion.open = False
        # judged by the database, not by the model: what passed while the majority was lost
        # (restoring: it made a member a practitioner)
        if run.json["status"] == "passed" and not majority_before and \
                self.frontline_in_the_database()[0] <= practitioners_before:
            self.passed_while_lost.append(pid)
        if passed and restores:
            self.people[motion.target].role = "practitioner"
        if passed and motion.action == "amend":
            self.clauses[motion.clause] = motion.value
        if passed and motion.action == "expel":
            target = self.people[motion.target]
            if target.current and (target.left_on is None or target.left_on > TODAY):
                target.left_on = TODAY

    @precondition(lambda self: self.current())  # once everyone has left, nobody may act at all
    @rule(amount=st.sampled_from(["1000", "25,000.50", "£250000"]))
    def borrow(self, amount):
        run = self.swp("finance", "loan", "Triodos Bank", amount, "--date", "2026-05-01",
                       as_=self.manager())
        self.expect(run, 0, "a plain loan")

    # --- hostile actions ----------------------------------------------------------------------

    @rule(command=st.sampled_from(["issue", "sell", "transfer"]))
    def issue_shares(self, command):
        self.refused("shares", command, "1000", "--to", "Acme Care Ltd", clause="no-share-issuance")

    @precondition(lambda self: self.current())  # once everyone has left, nobody may act at all
    @rule(name=st.sampled_from(["Acme Care Ltd", "Northgate Holdings plc", "Bluebird Capital LLP"]),
          role=st.sampled_from(["practitioner", "manager"]))
    def admit_an_organisation(self, name, role):
        self.refused("member", "add", "acme", "--name", name, "--role", role,
                     "--employed-since", "2024-01-01", "--hours", "37.5",
                     clause="employees-only", as_=self.manager())

    @precondition(lambda self: self.current())  # once everyone has left, nobody may act at all
    @rule(role=st.sampled_from(["investor", "shareholder", "volunteer"]))
    def admit_a_non_employee(self, role):
        self.refused("member", "add", "ivy", "--name", "Ivy Ives", "--role", role,
                     "--employed-since", "2024-01-01", "--hours", "37.5",
                     clause="employees-only", as_=self.manager())

    @precondition(lambda self: self.current())
    @rule(i=INDEX)
    def transfer(self, i):
        self.refused("member", "transfer", self.pick(self.current(), i), "--to", "Acme Care Ltd",
                     clause="non-transferable", as_=self.manager())

    @precondition(lambda self: self.current())
    @rule(i=INDEX, clause=st.sampled_from([s.name for s in rules.ENTRENCHED]),
          kind=st.sampled_from(["ordinary", "special"]))
    def amend_an_entrenched_clause(self, i, clause, kind):
        self.refused("proposal", "new", "--title", "t", "--kind", kind, "--amend", f"{clause}=off",
                     clause=clause, as_=self.pick(self.current(), i))

    @precondition(lambda self: self.current())
    @rule(i=INDEX, kind=st.sampled_from(["company", "members"]))
    def merge_with_a_company(self, i, kind):
        self.refused("proposal", "new", "--title", "t", "--kind", "special", "--merge-with",
                     "Acme Care Group", "--partner-kind", kind, clause="no-demutualisation",
                     as_=self.pick(self.current(), i))

    @precondition(lambda self: self.current())
    @rule(i=INDEX, kind=st.sampled_from(["members", "company"]))
    def dissolve_to_the_members(self, i, kind):
        self.refused("proposal", "new", "--title", "t", "--kind", "special", "--dissolve",
                     "--assets-to", "Ourselves", "--recipient-kind", kind, clause="asset-lock",
                     as_=self.pick(self.current(), i))

    @precondition(lambda self: self.current())
    @rule(i=INDEX, j=INDEX)
    def end_someone_elses_membership(self, i, j):
        target = self.pick([h for h in self.current() if self.people[h].left_on is None] or [""], i)
        actor = self.pick(self.current(), j)
        if not target or target == actor:
            return
        self.refused("member", "leave", target, "--date", YESTERDAY, clause="one-member-one-vote",
                     as_=actor)

    @precondition(lambda self: self.current())
    @rule(i=INDEX)
    def relabel_as_practitioner(self, i):
        handles = [h for h in self.current() if self.people[h].role != "practitioner"
                   and self.people[h].left_on is None]
        if not handles:
            return
        self.effective += 1
        day = f"2025-{1 + (self.effective - 1) // 28:02d}-{1 + (self.effective - 1) % 28:02d}"
        self.refused("member", "update", self.pick(handles, i), "--effective", day, "--role",
                     "practitioner", clause="frontline-majority", as_=self.manager())

    @precondition(lambda self: self.current())
    @rule(category=st.sampled_from(["share-capital", "capital-contribution", "investment",
                                    "financing", "equity"]))
    def book_capital_as_income(self, category):
        self.refused("ledger", "income", "50000", "--date", "2026-05-01", "--category", category,
                     clause="no-share-issuance", as_=self.manager())

    @precondition(lambda self: self.current())
    @rule(percent=st.sampled_from(["60", "100"]))
    def lopsided_partner_split(self, percent):
        self.refused("partner", "cost", "Acme Care Ltd", "1000", "--date", "2026-05-01",
                     "--our-percent", percent, "--memo", "their costs", clause="asset-lock",
                     as_=self.manager())

    @precondition(lambda self: self.current())
    @rule(name=st.sampled_from(["\u0410cme Care Ltd", "\uff21\uff23\uff2d\uff25 \uff2c\uff34\uff24",
                                "AcmeCareLtd", "Acme S.A.", "Jo L.t.d.", "BlackRock",
                                "Acme Care AG"]))
    def admit_a_company_in_disguise(self, name):
        self.refused("member", "add", "acme", "--name", name, "--role", "staff",
                     "--employed-since", "2024-01-01", "--hours", "37.5",
                     clause="employees-only", as_=self.manager())

    @rule(flag=st.sampled_from(["--voting-rights", "--board-seat", "--equity-conversion",
                                "--profit-share"]))
    def loan_with_control(self, flag):
        clause = {"--voting-rights": "one-member-one-vote", "--board-seat": "no-demutualisation",
                  "--equity-conversion": "no-share-issuance", "--profit-share": "asset-lock"}[flag]
        self.refused("finance", "loan", "Vulture Capital", "500000", "--date", "2026-05-01", flag,
                     clause=clause, as_=self.manager())

    # --- a forger: the database file, no member's key ---------------------------------------
    #
    # A forgery makes every later `swp check` fail, so each one is made on a copy of the
    # practice as it stands (SQLite's backup API), and the run goes on with the legitimate
    # database, which must still pass `swp check`. This machine runs on SQLite only (it copies
    # files and reads them with sqlite3, and is not parametrised over backends);
    # tests/test_forgery.py makes the same attacks on PostgreSQL too.

    def forged_copy(self) -> str:
        """A copy of the practice where the forger works: a path of its own, so that what a
        member's swp remembers of it (its audit head) is its own too."""
        self.copies += 1
        path = str(Path(self.dir) / f"forged-{self.copies}.db")
        source, target = sqlite3.connect(self.db), sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return path

    def found_by_check(self, db: str, *names: str) -> None:
        """`swp check` exits 4 and names each of `names` (a row, or the event that breaks the
        chain)."""
        run = Swp(db)("check", json=True)
        assert run.code == 4, f"swp check passed a forgery: {run.out}{run.err}"
        messages = "\n".join(p["message"] for p in run.json["problems"])
        for name in names:
            assert name in messages, f"swp check does not name {name!r}:\n{messages}"

    def found_by_verify(self, db: str, name: str, env: dict[str, str] | None = None) -> None:
        run = Swp(db)("audit", "verify", env=env)
        assert run.code == 4, f"swp audit verify passed a forgery: {run.out}{run.err}"
        assert name in run.err, f"swp audit verify does not name {name!r}: {run.err}"

    def seen_by_a_member(self, db: str) -> None:
        """A member's swp reads the copy before the forger acts (and it verifies): from then on
        it remembers the head it saw, as it would have on the real file."""
        run = Swp(db)("audit", "verify")
        assert run.code == 0, f"the copy does not verify before the forgery: {run.err}"

    @staticmethod
    def one_id(db: str, statement: str, params: dict | None = None) -> int:
        return query(db, statement, params)[0][0]

    def forge_member(self, db: str, role: str, with_key: bool) -> tuple[int, int]:
        """A member and their role, hours and pay, written with plain SQL (the forger may also
        enrol a public key of their own in the member's row)."""
        n = self.copies
        execute(db, "INSERT INTO member (handle, name, employed_since, admitted_at, registration, "
                    "public_key) VALUES (:h, 'Eve Evans', '2024-01-01', :at, :reg, :key)",
                "INSERT INTO member_fact (member_id, effective, role, hours_hundredths, pay_pence) "
                "SELECT id, '2024-01-01', :role, 3750, 4000000 FROM member WHERE handle = :h",
                params={"h": f"eve{n}", "at": f"{TODAY} 10:00:00.000000", "role": role,
                        "reg": f"SW2{n:05d}" if role == "practitioner" else None,
                        "key": f"{n:064x}" if with_key else None})
        member = self.one_id(db, "SELECT id FROM member WHERE handle = :h", {"h": f"eve{n}"})
        fact = self.one_id(db, "SELECT MAX(id) FROM member_fact WHERE member_id = :m", {"m": member})
        return member, fact

    def append_unsigned(self, db: str, **changes) -> dict:
        """The next audit event, chained on and hashed, but signed by nobody (no key)."""
        last = audit_rows(db)[-1]
        event = {**last, "seq": last["seq"] + 1, "prev_hash": last["hash"], "outcome": "ok",
                 "detail": None, "signature": None, "key_fingerprint": None, **changes}
        event["hash"] = event_hash(event)
        execute(db, f"INSERT INTO audit_event ({', '.join(event)}) "
                    f"VALUES ({', '.join(':' + k for k in event)})", params=event)
        return event

    @rule(data=st.data())
    def forge_a_row(self, data):
        """Plain SQL on a record of an act: `swp check` names the row, written around swp or
        changed after its signed event."""
        from sqlalchemy.exc import IntegrityError

        attacks = ["member", "ledger_entry", "allocation"]
        if self.motions:
            attacks.append("vote")
        if any(m.open for m in self.motions.values()):
            attacks.append("proposal")
        attack = data.draw(st.sampled_from(attacks), label="attack")
        db = self.forged_copy()
        if attack == "vote":  # a vote for a member, quietly if the triggers let it through
            pid = self.pick(sorted(self.motions), data.draw(INDEX, label="proposal"))
            voter = self.pick(sorted(self.people), data.draw(INDEX, label="voter"))
            params = {"p": pid, "c": data.draw(st.sampled_from(["yes", "no", "abstain"])),
                      "at": f"{TODAY} 10:00:00.000000", "on": TODAY,
                      "m": self.one_id(db, "SELECT id FROM member WHERE handle = :h", {"h": voter})}
            insert = ("INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) "
                      "SELECT :p, :m, 1 + COALESCE(MAX(version), 0), :c, :at, :on FROM vote "
                      "WHERE proposal_id = :p AND member_id = :m")
            try:
                execute(db, insert, params=params)
            except IntegrityError:  # a closed proposal or a former member: drop what refuses it
                execute(db, "DROP TRIGGER vote_open_only ON vote",
                        "DROP TRIGGER vote_members_only ON vote", insert, params=params)
            vote = self.one_id(db, "SELECT MAX(id) FROM vote")
            self.found_by_check(db, f"vote row {vote} was written around swp")
        elif attack == "member":
            member, fact = self.forge_member(
                db, data.draw(st.sampled_from(["practitioner", "staff", "manager"]), label="role"),
                data.draw(st.booleans(), label="with a key"))
            self.found_by_check(db, f"member row {member} was written around swp",
                                f"member_fact row {fact} was written around swp")
        elif attack == "proposal":  # an open proposal edited after the votes
            pid = self.pick(sorted(p for p, m in self.motions.items() if m.open),
                            data.draw(INDEX, label="proposal"))
            column = data.draw(st.sampled_from(["title", "value", "kind"]), label="column")
            value = {"title": "Pay the manager more", "value": "99",
                     "kind": "ordinary" if self.motions[pid].kind == "special" else "special"}[column]
            execute(db, "DROP TRIGGER proposal_immutable ON proposal",
                    f"UPDATE proposal SET {column} = :v WHERE id = :p", params={"v": value, "p": pid})
            self.found_by_check(db, f"proposal row {pid} was changed after its signed event ({column})")
        elif attack == "allocation":  # money moved between two closed allocations, total kept
            ids = [r[0] for r in query(db, "SELECT id FROM allocation ORDER BY id")]
            give = self.pick(ids, data.draw(INDEX, label="from"))
            take = self.pick([i for i in ids if i != give], data.draw(INDEX, label="to"))
            pence = data.draw(st.integers(min_value=1, max_value=40_000), label="pence")
            execute(db, "DROP TRIGGER allocation_append_only_update ON allocation",
                    "UPDATE allocation SET amount_pence = amount_pence - :d WHERE id = :a",
                    "UPDATE allocation SET amount_pence = amount_pence + :d WHERE id = :b",
                    params={"d": pence, "a": give, "b": take})
            self.found_by_check(db, f"allocation row {give} was changed after its signed event",
                                f"allocation row {take} was changed after its signed event")
        else:  # a ledger entry changed
            entry = self.pick([r[0] for r in query(db, "SELECT id FROM ledger_entry ORDER BY id")],
                              data.draw(INDEX, label="entry"))
            column, value = data.draw(st.sampled_from(
                [("amount_pence", 1), ("amount_pence", 9_999_999), ("category", "grants"),
                 ("date", "2024-03-31")]), label="change")
            execute(db, "DROP TRIGGER ledger_entry_append_only_update ON ledger_entry",
                    f"UPDATE ledger_entry SET {column} = :v WHERE id = :e",
                    params={"v": value, "e": entry})
            self.found_by_check(db, f"ledger_entry row {entry} was changed after its signed event "
                                    f"({column})")
        os.remove(db)

    @rule(data=st.data())
    def forge_the_log(self, data):
        """Plain SQL on the audit log: `swp audit verify` names the event (or says that the
        history a member saw is gone)."""
        attack = data.draw(st.sampled_from(["unsigned", "cut short", "erased and rechained"]),
                           label="attack")
        db = self.forged_copy()
        if attack == "unsigned":  # an event chained on but signed by nobody, maybe covering rows
            actor = self.pick(self.current() or ["mo"], data.draw(INDEX, label="actor"))
            action = data.draw(st.sampled_from(["vote.cast", "member.admitted", "proposal.closed",
                                                ROWS_ACTION]), label="action")
            payload = "[]"
            if data.draw(st.booleans(), label="covering a forged member"):
                # the event records the forged rows as swp would, so that the signed-rows check
                # finds an event for them: only the signature is missing
                payload = canonical([[ROWS_ACTION, {"rows": self.rows_as_swp_records(
                    db, *self.forge_member(db, "staff", False))}]])
            event = self.append_unsigned(db, actor=actor, action=action, payload=payload)
            self.found_by_verify(db, f"event {event['seq']}: it is not signed")
            self.found_by_check(db, f"the audit chain is broken at event {event['seq']}")
        else:
            self.seen_by_a_member(db)
            rows = audit_rows(db)
            head = rows[-1]["seq"]
            if attack == "cut short":
                # the last events deleted; then, maybe, as many unsigned refusals chained on in
                # their place (a refusal by a non-member is the one event logged unsigned)
                cut = data.draw(st.integers(min_value=1, max_value=3), label="events cut")
                execute(db, "DROP TRIGGER audit_event_append_only_delete ON audit_event",
                        "DELETE FROM audit_event WHERE seq > :s", params={"s": head - cut})
                if data.draw(st.booleans(), label="refilled"):
                    for _ in range(cut):
                        self.append_unsigned(db, actor="zed", outcome="refused", action=None,
                                             payload=None, detail="refused by clause one-member-one-vote")
                    assert audit_rows(db)[-1]["seq"] == head
            else:
                # an event erased and every later one renumbered and rehashed: the chain links,
                # but the first signed event after the gap no longer matches its signature
                erased = self.pick([r["seq"] for r in rows[:-1]], data.draw(INDEX, label="erased"))
                statements = ["DROP TRIGGER audit_event_append_only_update ON audit_event",
                              "DROP TRIGGER audit_event_append_only_delete ON audit_event",
                              f"DELETE FROM audit_event WHERE seq = {erased}"]
                params: dict = {}
                previous = rows[erased - 2]["hash"] if erased > 1 else GENESIS
                for i, row in enumerate(rows[erased:]):
                    row = dict(row, seq=row["seq"] - 1, prev_hash=previous)
                    row["hash"] = previous = event_hash(row)
                    statements.append(f"UPDATE audit_event SET seq = :s{i}, prev_hash = :p{i}, "
                                      f"hash = :h{i} WHERE seq = {row['seq'] + 1}")
                    params.update({f"s{i}": row["seq"], f"p{i}": row["prev_hash"],
                                   f"h{i}": row["hash"]})
                execute(db, *statements, params=params)
                signed = [r["seq"] - 1 for r in rows[erased:] if r["signature"] is not None]
                if signed:  # a member whose swp never saw this practice's head
                    self.found_by_verify(db, f"event {signed[0]}:",
                                         env={"SWP_HOME": str(Path(self.dir) / "another-member")})
            # the member who saw the head: the history was rolled back or rewritten
            self.found_by_verify(db, f"you last saw event {head} ")
        os.remove(db)

    @staticmethod
    def rows_as_swp_records(db: str, member_id: int, fact_id: int) -> list[dict]:
        """The rows as a signed event of swp would record them (swp's own code, which the
        forger has too)."""
        from sqlalchemy import create_engine
        from sqlmodel import Session

        from swp.models import Member, MemberFact
        from swp.services.audit import row_key, row_values

        engine = create_engine(f"sqlite:///{db}")
        try:
            with Session(engine) as session:
                return [{"table": obj.__tablename__, "key": row_key(obj), "values": row_values(obj)}
                        for obj in (session.get(Member, member_id), session.get(MemberFact, fact_id))]
        finally:
            engine.dispose()

    # --- after every step ---------------------------------------------------------------------

    @invariant()
    def the_database_agrees_and_no_outsider_has_control(self):
        conn = sqlite3.connect(self.db)
        try:
            rows = conn.execute(
                "SELECT m.handle, m.name, f.role, f.hours_hundredths FROM member m JOIN member_fact f "
                "ON f.member_id = m.id WHERE (m.left_on IS NULL OR m.left_on >= ?) AND f.effective = "
                "(SELECT MAX(effective) FROM member_fact WHERE member_id = m.id)", (TODAY,)).fetchall()
            clauses = dict(conn.execute("SELECT name, value FROM clause"))
            entrenched = conn.execute("SELECT name, value, entrenched FROM clause WHERE entrenched")
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            counted = conn.execute(
                "SELECT proposal_id, member_id, COUNT(*), MAX(version) FROM vote "
                "GROUP BY proposal_id, member_id").fetchall()
            entrenched = sorted(entrenched)
        finally:
            conn.close()
        # the register is the model's: no one got in or stayed that should not have
        assert sorted(r[0] for r in rows) == self.current()
        assert {r[0]: r[2] for r in rows} == {h: self.people[h].role for h in self.current()}
        # no outsider: people, employees, at the minimum hours
        minimum = rules.parse_hours(clauses["membership.min-hours"])
        for _handle, name, role, hours in rows:
            assert not rules.looks_like_organisation(name)
            assert role in rules.EMPLOYEE_ROLES and hours >= minimum
        assert len(rows) <= int(clauses["membership.max-members"])
        # no shares
        assert not [t for t in tables if "share" in t.split("_") or "shares" in t.split("_")]
        # one vote per member per proposal: numbered 1..n, only the latest counts
        assert all(n == top for _, _, n, top in counted)
        # entrenched clauses unchanged
        assert entrenched == sorted((s.name, "on", 1) for s in rules.ENTRENCHED)
        assert {k: clauses[k] for k in self.clauses} == self.clauses
        # no resolution passed while practitioners were not a majority (as the database had
        # them at the close), unless it restored the majority
        assert self.passed_while_lost == [], self.passed_while_lost

    @invariant()
    def swp_check_is_clean(self):
        run = self.swp("check", json=True)
        if self.majority(self.roles()) or not self.current():
            assert run.code == 0, run.out
        else:  # a member left and took the majority with them: reported, nothing else
            assert run.code == 4
            assert {(p["check"], p["clause"]) for p in run.json["problems"]} == {
                ("membership", "frontline-majority")}


def test_the_guard_holds_through_a_random_life_of_the_practice(monkeypatch, tmp_path):
    # build the Click command tree once, not on every one of the machine's many invocations
    import functools

    import typer.testing

    monkeypatch.setattr(typer.testing, "_get_command",
                        functools.lru_cache(maxsize=None)(typer.testing._get_command))
    # modest by default (every step runs the real CLI and `swp check`); for a longer hunt:
    # SWP_STATEFUL_EXAMPLES=200 .venv/bin/python -m pytest tests/test_guard_stateful.py
    examples = int(os.environ.get("SWP_STATEFUL_EXAMPLES", "10"))
    template = str(tmp_path / "founded.db")
    found_practice(template)
    monkeypatch.setattr(Practice, "template", template)
    run_state_machine_as_test(Practice, settings=settings(
        max_examples=examples, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
