"""The takeover guard under a random life of the practice: a Hypothesis state machine whose
rules are honest actions (admit, leave, change role, propose, vote, close, borrow) and
hostile ones (issue shares, admit an organisation or a non-employee, transfer, amend an
entrenched clause, merge with a company, dissolve to the members, a loan with control; a
manager ending practitioners' memberships, relabelling roles, snap-closing, booking capital as
income, lopsided partner splits, company names in other scripts and forms).

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
from tests.conftest import TODAY, Swp, audit_rows, snapshot

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
    """The practice each run starts from: three practitioners and a manager, a cap of 8."""
    swp = Swp(db)
    swp.ok("init", "--sandbox", "Guarded SWP", "--local-authority", "Leeds", "--set", "membership.max-members=8")
    for number, (handle, role) in enumerate(FOUNDERS):
        swp.ok("member", "add", handle, "--name", handle.title(), "--role", role,
               "--employed-since", "2024-01-01", "--hours", "30",  # the manager comes last
               *(("--registration", f"SW29000{number}") if role == "practitioner" else ()))
    swp.ok("partner", "add", "Acme Care Ltd", "--kind", "company", as_="mo")


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
                   or (role != "practitioner" and not self.majority([*roster, role])))
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

    @precondition(lambda self: self.motions)
    @rule(i=INDEX, j=INDEX, choice=st.sampled_from(["yes", "yes", "no", "abstain"]))
    def vote(self, i, j, choice):
        pid = self.pick(sorted(self.motions), i)
        voter = self.pick(sorted(self.people) + ["zed"], j)
        motion = self.motions[pid]
        if voter == "zed" or not self.people[voter].current:
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
        if not rules.result_is_settled(self.clauses, motion.kind, counts, len(current)):
            # a snap close: the others may still vote, and the notice period is not over
            self.refused("proposal", "close", str(pid), clause="governance.notice-days",
                         as_=closer)
            return
        if passed and not self.majority(self.roles()):
            self.refused("proposal", "close", str(pid), clause="frontline-majority", as_=closer)
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
        run = self.swp("proposal", "close", str(pid), as_=closer, json=True)
        self.expect(run, 0, f"close #{pid}")
        assert run.json["status"] == ("passed" if passed else "failed"), (run.json, motion)
        assert (run.json["yes"], run.json["no"]) == (yes, no)
        motion.open = False
        if passed and not self.majority(self.roles()):
            self.passed_while_lost.append(pid)
        if passed and motion.action == "amend":
            self.clauses[motion.clause] = motion.value
        if passed and motion.action == "expel":
            target = self.people[motion.target]
            if target.current and (target.left_on is None or target.left_on > TODAY):
                target.left_on = TODAY

    @rule(amount=st.sampled_from(["1000", "25,000.50", "£250000"]))
    def borrow(self, amount):
        run = self.swp("finance", "loan", "Triodos Bank", amount, "--date", "2026-05-01",
                       as_=self.manager())
        self.expect(run, 0, "a plain loan")

    # --- hostile actions ----------------------------------------------------------------------

    @rule(command=st.sampled_from(["issue", "sell", "transfer"]))
    def issue_shares(self, command):
        self.refused("shares", command, "1000", "--to", "Acme Care Ltd", clause="no-share-issuance")

    @rule(name=st.sampled_from(["Acme Care Ltd", "Northgate Holdings plc", "Bluebird Capital LLP"]),
          role=st.sampled_from(["practitioner", "manager"]))
    def admit_an_organisation(self, name, role):
        self.refused("member", "add", "acme", "--name", name, "--role", role,
                     "--employed-since", "2024-01-01", "--hours", "37.5",
                     clause="employees-only", as_=self.manager())

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
        # no resolution passed while practitioners were not a majority (none here restores it)
        assert self.passed_while_lost == []

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
