"""The constitution, resolutions and votes (SPEC sections 2, 6 and 8).

A proposal amends an amendable clause, expels a member, writes off a former member's deficit,
re-enrols a member's lost key, or decides a merger or a dissolution.
Any current member may propose, vote and close. Votes are append-only: a changed vote is a
new row with the next version, and only each member's latest vote counts. Closing counts the
latest votes of the members current on the day, applies quorum and threshold
(`rules.decide`), and applies a passed proposal's effect in the same transaction.

The takeover guard (`swp.rules`) is asked before anything is written, both when a proposal is
made and again when it is closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, func, select
from sqlmodel import col

from swp import rules
from swp.clock import now, today
from swp.errors import InputError, NotFound, PermissionDenied, PreconditionError, RuleViolation
from swp.models import Clause, Member, PasskeyCredential, Proposal, Vote
from swp.services import audit
from swp.services.practice import get_practice, load_clauses
from swp.services.roles import current_members, find_member, latest_facts, require_member
from swp.services.sharing.closing import last_closed_end
from swp.text import plain_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# --- the constitution ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClauseView:
    name: str
    value: str
    entrenched: bool
    changed_by: str | None
    meaning: str

    def as_json(self) -> dict[str, Any]:
        """The JSON leaves out the meaning."""
        return {"name": self.name, "value": self.value, "entrenched": self.entrenched,
                "changed_by": self.changed_by}


def clauses(session: Session) -> list[ClauseView]:
    """Every clause as stored: entrenched first, then amendable, in the order of SPEC section 2."""
    order = {name: i for i, name in enumerate(rules.CLAUSES)}
    rows = sorted(session.execute(select(Clause)).scalars(),
                  key=lambda c: (order.get(c.name, len(order)), c.name))
    return [ClauseView(c.name, c.value, bool(c.entrenched), c.changed_by,
                       rules.CLAUSES[c.name].meaning if c.name in rules.CLAUSES else "")
            for c in rows]


# --- proposals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteView:
    member: str
    choice: str
    version: int
    cast_on: date


@dataclass(frozen=True)
class ProposalView:
    id: int
    title: str
    kind: str
    action: str
    clause: str | None
    value: str | None
    target: str | None
    target_kind: str | None
    proposed_by: str | None
    created_at: datetime
    status: str
    closed_on: date | None
    tally: rules.Tally
    quorum_met: bool | None
    members: int | None  # current members (open proposals: now)
    quorum_needed: int | None
    threshold_percent: int | None
    would_pass: bool | None  # open proposals: the result if it were closed now
    votes: tuple[VoteView, ...] = field(default_factory=tuple)
    proposed_on: date | None = None
    target_register: str | None = None  # merge/dissolve: the other body's register entry
    may_close_on: date | None = None  # open: the first day it may close however votes stand
    may_close_now: bool | None = None  # open: notice over, or no remaining vote could change it

    @property
    def summary(self) -> str:
        text = describe(self.action, self.clause, self.value, self.target, self.target_kind)
        return text + (f", {self.target_register}" if self.target_register else "")

    def as_json(self) -> dict[str, Any]:
        """The JSON spreads the tally out and adds the summary."""
        return {
            "id": self.id, "title": self.title, "kind": self.kind, "action": self.action,
            "clause": self.clause, "value": self.value, "target": self.target,
            "target_kind": self.target_kind, "summary": self.summary,
            "proposed_by": self.proposed_by, "created_at": self.created_at.isoformat(),
            "status": self.status,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "yes": self.tally.yes, "no": self.tally.no, "abstain": self.tally.abstain,
            "voters": self.tally.voters, "members": self.members,
            "quorum_needed": self.quorum_needed, "quorum_met": self.quorum_met,
            "threshold_percent": self.threshold_percent, "would_pass": self.would_pass,
            "votes": list(self.votes),
            "proposed_on": self.proposed_on.isoformat() if self.proposed_on else None,
            "register": self.target_register,
            "may_close_on": self.may_close_on.isoformat() if self.may_close_on else None,
            "may_close_now": self.may_close_now,
        }


def describe(action: str, clause: str | None, value: str | None, target: str | None,
             target_kind: str | None) -> str:
    if action == "amend" and clause == "member.role":
        return f"make {target} a practitioner (registration {value})"
    if action == "amend" and clause == "partner.split":
        return f"agree that the practice pays {value}% of costs shared with {target}"
    if action == "amend" and clause == "practice.local-authority":
        return f"make {value} the practice's own local authority"
    if action == "amend" and clause == "member.admit":
        return f"admit {target} as {value}"
    if action == "amend" and clause == "member.left":
        return f"record that {target}'s employment ends on {value}"
    if action == "amend":
        return f"amend {clause} to {value}"
    if action == "expel":
        return f"expel {target}"
    if action == "re-enrol":
        from swp.identity import fingerprint

        try:
            key = fingerprint(value or "")
        except ValueError:  # not hex: refused by the checks, but still shown
            key = value or "?"
        return f"re-enrol {target}'s key: enrol key {key} in place of the one they lost"
    if action == "merge":
        return f"merge with {target} ({target_kind})"
    if action == "write-off":
        from swp.money import format_pence

        amount = "in full" if value is None else format_pence(int(value))
        return f"write off {target}'s deficit ({amount})"
    return f"dissolve, residual assets to {target} ({target_kind})"


def _get(session: Session, proposal_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"no proposal #{proposal_id}; 'swp proposal list' lists them")
    return proposal


def _kind(kind: str) -> str:
    value = (kind or "").strip().lower()
    if value not in rules.PROPOSAL_KINDS:
        raise InputError(f"not a kind of resolution: {kind!r}; ordinary or special")
    return value


def _current_roster(session: Session, on: date) -> tuple[list[Member], list[rules.Person]]:
    members = current_members(session, on)
    facts = latest_facts(session, [cast(int, m.id) for m in members])  # stored members: ids are set
    people = [rules.Person(m.handle, m.name, facts[m.id].role, facts[m.id].hours_hundredths,
                           m.employed_since, m.left_on, registration=m.registration)
              for m in members if m.id in facts]
    return members, people


def proposed_on(proposal: Proposal) -> date:
    """The practice's date a proposal was made (older proposals: the day of created_at)."""
    return proposal.proposed_on or proposal.created_at.date()


def resolved_value(session: Session, clause: str, value: str | None, target: str | None,
                   on: date) -> str:
    """Check a resolution on something that is not a clause (rules.RESOLVED); return the value
    in its canonical form."""
    from swp.rules import parse_percent
    from swp.services.partners import find_partner

    value = (value or "").strip()
    if clause == "practice.local-authority":
        if not value:
            raise InputError("name the local authority (--amend practice.local-authority=NAME)")
        if value.casefold() == get_practice(session).local_authority.casefold():
            raise PreconditionError(f"{value} is already the practice's local authority")
        return value
    if clause == "partner.split":
        partner = find_partner(session, target or "")
        if partner.name != target:
            raise InputError(f"name the partner as registered: {partner.name!r}")
        return str(parse_percent(value, "the split"))
    if clause == "member.admit":
        return _admission_value(session, target or "", value)
    if clause == "member.left":
        return _end_of_employment_value(session, target or "", value, on)
    # member.role: make a current member a practitioner, with their registration
    member = find_member(session, target)
    if member.left_on is not None and member.left_on < on:
        raise PreconditionError(f"{target} left the practice on {member.left_on}")
    registration = rules.registration_number(value)
    if registration is None:
        raise RuleViolation("frontline-majority",
                            f"{value!r} is not a Social Work England registration in its published "
                            "form (SW followed by digits, e.g. SW123456)")
    _, roster = _current_roster(session, on)
    person = next((p for p in roster if p.handle == target), None)
    if person is not None and person.role == "practitioner":
        raise PreconditionError(f"{target} is already a practitioner")
    others = [p for p in roster if p.handle != target]
    rules.refuse(rules.registration_violations(
        [*others, rules.Person(target or "", member.name, "practitioner", 0, None,
                               registration=registration)]))
    return registration


def _admission_value(session: Session, handle: str, role: str) -> str:
    """Agreeing to admit a newcomer: a free handle and an employee's role."""
    from swp.services.members import check_handle
    from swp.services.roles import OUTSIDER_ROLES, check_role

    check_handle(handle)
    role = role.strip().lower()
    check_role(role)
    if role in OUTSIDER_ROLES:
        raise RuleViolation("employees-only",
                            f"role {role!r} is not an employee role ({', '.join(rules.EMPLOYEE_ROLES)}); "
                            "only employees can be members")
    taken = session.execute(select(Member).where(col(Member.handle) == handle)).scalar_one_or_none()
    if taken is not None:
        raise PreconditionError(f"the handle {handle!r} is taken (by {taken.name}); "
                                "a membership is never reused or inherited")
    return role


def _end_of_employment_value(session: Session, handle: str, value: str, on: date) -> str:
    """Recording the end of a member's employment: a current member, and a day not before
    today (a leaving date is never backdated but by the member themselves)."""
    from swp.dates import parse_date

    member = find_member(session, handle)
    if member.left_on is not None and member.left_on < on:
        raise PreconditionError(f"{handle} already left the practice on {member.left_on}")
    ended = parse_date(value, what="the end of employment")
    if ended < on:
        raise InputError(f"{ended} is before today ({on}): only {handle} may give a leaving "
                         f"date in the past (swp --as {handle} member leave {handle})")
    return ended.isoformat()


def _check_effect(session: Session, *, kind: str, action: str, clause: str | None, value: str | None,
                  target: str | None, target_kind: str | None, on: date) -> str | None:
    """Every check a proposal's effect must pass, now: raises, or returns the canonical value
    of an amendment. Used when a proposal is made and again when it passes."""
    rules.refuse(rules.proposal_violations(action=action, clause=clause, target=target,
                                           target_kind=target_kind))
    needed = rules.kind_needed(action, clause)
    if not rules.kind_suffices(kind, needed):
        what = f"amending {clause}" if action == "amend" and clause not in rules.RESOLVED \
            else describe(action, clause, value, target, target_kind)
        raise PreconditionError(f"{what} needs a {needed} resolution; this one is {kind} "
                                f"(propose it with --kind {needed})")
    _, roster = _current_roster(session, on)
    if action == "amend" and clause in rules.RESOLVED:
        if clause == "practice.local-authority" and (value or "").strip().casefold() == \
                get_practice(session).local_authority.casefold():
            return value
        if clause == "member.left":  # at the close the day may have come: it ends then
            member = session.execute(select(Member).where(col(Member.handle) == target)).scalar_one_or_none()
            if member is not None and member.left_on is not None and member.left_on <= on:
                return value  # already gone: nothing left to do
            rules.refuse(rules.expulsion_violations(roster, target or ""))
            return _end_of_employment_value(session, target or "", max(value or "", on.isoformat()), on)
        return resolved_value(session, clause, value, target, on)
    if action == "amend":
        assert clause is not None and value is not None
        canonical = rules.clause_value(clause, value)
        current = load_clauses(session)
        rules.refuse(rules.amendment_violations(current, roster, clause, canonical))
        return canonical
    if action == "expel":
        rules.refuse(rules.expulsion_violations(roster, target or ""))
        return None
    if action == "write-off":
        return None
    if action == "re-enrol":
        reenrol_check(session, target, value, on)
        return None
    practice = get_practice(session)
    if practice.status != "active":
        raise PreconditionError(f"the practice has already decided: {practice.status} "
                                f"({practice.status_detail})")
    return None


def reenrol_check(session: Session, handle: str | None, public_key: str | None, on: date) -> Member:
    """A lost key is re-enrolled for a current member, with a well-formed public key that is
    not already enrolled (theirs or anyone's)."""
    from swp.identity import PUBLIC_KEY_HEX, fingerprint

    member = find_member(session, handle)
    if member.left_on is not None and member.left_on < on:
        raise PreconditionError(f"{handle} left the practice on {member.left_on}; a former member "
                                "enrols no key")
    key = public_key or ""
    if len(key) != PUBLIC_KEY_HEX or any(c not in "0123456789abcdef" for c in key):
        raise InputError("not a public key: give the 64 hex digits 'swp key new' prints, or its file")
    if member.public_key == key:
        raise PreconditionError(f"{fingerprint(key)} is already {handle}'s enrolled key")
    other = session.execute(select(col(Member.handle)).where(col(Member.public_key) == key,
                                                             col(Member.handle) != handle)).scalar()
    if other is not None:
        raise PreconditionError(f"{fingerprint(key)} is {other}'s enrolled key, not a new key for "
                                f"{handle}")
    return member


def propose(session: Session, *, actor: str | None, title: str, kind: str, action: str,
            clause: str | None = None, value: str | None = None, target: str | None = None,
            target_kind: str | None = None, register: str | None = None,
            written: bool = False, amount_pence: int | None = None) -> ProposalView:
    """Make a proposal, if the constitution allows what it proposes (else exit 3). A written
    resolution (`written`) is signed by voting and lapses (swp.services.written). A write-off
    is of `amount_pence` (None: all the former member owes at the close)."""
    kind = _kind(kind)
    if action not in rules.PROPOSAL_ACTIONS:
        raise InputError(f"not an action: {action!r}")
    title = plain_text(title, "the title (--title)") or ""
    if not title:
        raise InputError("a proposal needs a title (--title)")
    target_register = None
    if action == "amend":
        clause = (clause or "").strip()
        # unknown clause or bad value: exit 1; entrenched: exit 3, before anything else
        if clause not in rules.RESOLVED:
            value = rules.clause_value(clause, value or "")
            target = None
    elif action in ("merge", "dissolve"):
        target = (target or "").strip()
        if not target:
            raise InputError("name the other body (--merge-with or --assets-to)")
        target_kind = (target_kind or "").strip().lower()
        rules.refuse(rules.proposal_violations(action=action, target=target,
                                               target_kind=target_kind))
        target_register = rules.register_entry(target_kind, register)
    proposer = require_member(session, actor, "proposing")
    on = today()
    if action == "amend" and clause in rules.RESOLVED:
        value = resolved_value(session, clause, value, target, on)
    elif action == "amend":
        assert clause is not None
        current = load_clauses(session).get(clause)
        if current == value:
            raise PreconditionError(f"{clause} is already {value}")
    if action == "expel":
        target = (target or "").strip()
        member = find_member(session, target)
        if member.left_on is not None and member.left_on < on:
            raise PreconditionError(f"{target} already left the practice on {member.left_on}")
    if action == "re-enrol":
        target = (target or "").strip()
        value = (value or "").strip().lower()
    if action == "write-off":
        from swp.services.payroll import write_off_check

        target = (target or "").strip()
        value = None if amount_pence is None else str(amount_pence)  # stored in pence
        write_off_check(session, target, amount_pence)
    value = _check_effect(session, kind=kind, action=action, clause=clause, value=value,
                          target=target, target_kind=target_kind, on=on) or value
    proposal = Proposal(title=title.strip(), kind=kind, action=action, clause=clause,
                        value=value, target=target, target_kind=target_kind,
                        proposed_by=proposer.handle, created_at=now(), status="open",
                        proposed_on=on, target_register=target_register)
    if written:
        from swp.services.written import lapses_on

        proposal.written, proposal.lapses_on = True, lapses_on(load_clauses(session), on)
    session.add(proposal)
    session.flush()
    return _view(session, proposal, with_votes=False)


def _latest_votes(session: Session, proposal_id: int) -> list[tuple[Member, Vote]]:
    """Each member's latest vote on the proposal (the highest version counts)."""
    latest = (select(col(Vote.member_id), func.max(col(Vote.version)).label("version"))
              .where(col(Vote.proposal_id) == proposal_id).group_by(col(Vote.member_id)).subquery())
    rows = session.execute(
        select(Member, Vote)
        .join(latest, (latest.c.member_id == col(Vote.member_id)) & (latest.c.version == col(Vote.version)))
        .join(Member, col(Member.id) == col(Vote.member_id))
        .where(col(Vote.proposal_id) == proposal_id)
        .order_by(col(Member.handle))
    ).all()
    return [(m, v) for m, v in rows]


def _counted(session: Session, proposal_id: int, on: date) -> list[tuple[Member, Vote]]:
    """The latest votes of the members who are members on `on` (a former member's vote lapses)."""
    return [(m, v) for m, v in _latest_votes(session, proposal_id)
            if m.left_on is None or m.left_on >= on]


def _view(session: Session, proposal: Proposal, *, with_votes: bool) -> ProposalView:
    assert proposal.id is not None  # a stored proposal
    votes: tuple[VoteView, ...] = ()
    if with_votes:
        votes = tuple(VoteView(m.handle, v.choice, v.version, v.cast_on)
                      for m, v in _latest_votes(session, proposal.id))
    if proposal.status == "open":
        on = today()
        counted = _counted(session, proposal.id, on)
        counts = rules.tally(v.choice for _, v in counted)
        electorate = len(current_members(session, on))
        current = load_clauses(session)
        outcome = rules.decide(current, proposal.kind, counts, electorate)
        return ProposalView(proposal.id, proposal.title, proposal.kind, proposal.action,
                            proposal.clause, proposal.value, proposal.target,
                            proposal.target_kind, proposal.proposed_by, proposal.created_at,
                            proposal.status, None, counts, outcome.quorum_met, electorate,
                            outcome.quorum_needed, outcome.percent, outcome.passed, votes,
                            proposed_on(proposal), proposal.target_register,
                            rules.earliest_close(current, proposed_on(proposal)),
                            on >= rules.earliest_close(current, proposed_on(proposal))
                            or rules.may_close_early(current, proposal.kind, counts, electorate,
                                                     ending=rules.ends_membership(proposal.action,
                                                                                  proposal.clause)))
    counts = rules.Tally(proposal.yes or 0, proposal.no or 0, proposal.abstain or 0)
    return ProposalView(proposal.id, proposal.title, proposal.kind, proposal.action,
                        proposal.clause, proposal.value, proposal.target, proposal.target_kind,
                        proposal.proposed_by, proposal.created_at, proposal.status,
                        proposal.closed_on, counts, bool(proposal.quorum_met), None, None, None,
                        None, votes, proposed_on(proposal), proposal.target_register)


def list_proposals(session: Session, *, status: str | None = None) -> list[ProposalView]:
    query = select(Proposal).order_by(col(Proposal.id))
    if status is not None:
        if status not in ("open", "passed", "failed"):
            raise InputError(f"not a status: {status!r}; open, passed or failed")
        query = query.where(col(Proposal.status) == status)
    return [_view(session, p, with_votes=False) for p in session.execute(query).scalars()]


def show(session: Session, proposal_id: int) -> ProposalView:
    return _view(session, _get(session, proposal_id), with_votes=True)


# --- votes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteCast:
    proposal: int
    member: str
    choice: str
    version: int
    replaced: str | None  # the member's previous choice, when this is a changed vote


def vote(session: Session, *, actor: str | None, proposal_id: int, choice: str, weight: int = 1,
         for_handle: str | None = None) -> VoteCast:
    """Cast (or change) the acting member's one vote on an open proposal."""
    choice = (choice or "").strip().lower()
    if choice not in rules.VOTE_CHOICES:
        raise InputError(f"not a vote: {choice!r}; yes, no or abstain")
    if actor is None:
        raise PermissionDenied("voting needs --as HANDLE, a current member")
    proposal = _get(session, proposal_id)
    assert proposal.id is not None  # a stored proposal
    on = today()
    member = session.execute(select(Member).where(col(Member.handle) == actor)).scalar_one_or_none()
    if member is None:  # a slip of the keyboard, not an outsider's vote
        from swp.services.roles import no_such_member

        raise no_such_member(session, actor)
    person = None if member is None else rules.Person(
        member.handle, member.name, "", 0, member.employed_since, member.left_on)
    rules.refuse(rules.vote_violations(actor, person, on=on, weight=weight, for_handle=for_handle))
    assert member is not None
    assert member.id is not None  # a stored member
    if proposal.status != "open":
        raise PreconditionError(f"proposal #{proposal.id} is closed ({proposal.status}); "
                                "votes can be changed only until the close")
    previous = session.execute(
        select(Vote).where(col(Vote.proposal_id) == proposal.id, col(Vote.member_id) == member.id)
        .order_by(col(Vote.version).desc()).limit(1)
    ).scalar_one_or_none()
    version = 1 if previous is None else previous.version + 1
    if proposal.written:
        from swp.services import written

        written.before_vote(proposal, on)
    session.add(Vote(proposal_id=proposal.id, member_id=member.id, version=version,
                     choice=choice, cast_at=now(), cast_on=on))
    session.flush()
    if proposal.written:
        written.after_vote(session, proposal, actor, on)
    return VoteCast(proposal.id, member.handle, choice, version,
                    previous.choice if previous is not None else None)


# --- closing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Closed:
    id: int
    status: str  # passed | failed
    tally: rules.Tally
    quorum_met: bool
    quorum_needed: int
    members: int
    threshold_percent: int
    summary: str
    effect: str | None  # what was done, for a passed proposal

    def as_json(self) -> dict[str, Any]:
        """The JSON spreads the tally out and leaves out the summary."""
        return {"id": self.id, "status": self.status, "yes": self.tally.yes,
                "no": self.tally.no, "abstain": self.tally.abstain,
                "quorum_met": self.quorum_met, "quorum_needed": self.quorum_needed,
                "members": self.members, "threshold_percent": self.threshold_percent,
                "effect": self.effect}


def close(session: Session, *, actor: str | None, proposal_id: int) -> Closed:
    """Count the votes and decide; a passed proposal's effect is applied in this transaction.

    Every check comes first (the guard is asked again: the practice may have changed since the
    proposal was made); only then is anything written.
    """
    require_member(session, actor, "closing a proposal")
    proposal = _get(session, proposal_id)
    assert proposal.id is not None  # a stored proposal
    if proposal.status != "open":
        raise PreconditionError(f"proposal #{proposal.id} is already closed ({proposal.status})")
    on = today()
    clauses = load_clauses(session)
    counted = _counted(session, proposal.id, on)
    counts = rules.tally(v.choice for _, v in counted)
    electorate = len(current_members(session, on))
    outcome = rules.decide(clauses, proposal.kind, counts, electorate)
    if proposal.written:
        from swp.services import written

        outcome = written.outcome(clauses, proposal, counts, electorate, on)

    # checks, before any write
    rules.refuse(rules.notice_violations(clauses, proposal.kind, counts, electorate,
                                         proposed_on(proposal), on,
                                         ending=rules.ends_membership(proposal.action,
                                                                      proposal.clause)))
    value = None
    expelled: Member | None = None
    if outcome.passed:
        _, roster = _current_roster(session, on)
        rules.refuse(rules.frontline_close_violations(roster, proposal.action, proposal.clause,
                                                      proposal.value))
        value = _check_effect(session, kind=proposal.kind, action=proposal.action,
                              clause=proposal.clause, value=proposal.value,
                              target=proposal.target, target_kind=proposal.target_kind, on=on)
        if proposal.action == "write-off":
            _write_off_day(session, on, written=bool(proposal.written))
        if proposal.action == "expel":
            expelled = session.execute(
                select(Member).where(col(Member.handle) == proposal.target)).scalar_one_or_none()
            if expelled is not None and expelled.left_on is not None and expelled.left_on <= on:
                expelled = None  # already gone (or going today): nothing left to do
            counted_to = (last_closed_end(session, cast(int, expelled.id))  # a stored member: its id is set
                          if expelled is not None else None)
            if counted_to is not None and counted_to > on:
                raise PreconditionError(f"{proposal.target} was counted as a member to {counted_to} "
                                        "in a closed period; close this proposal on or after it")

    # writes
    proposal.status = "passed" if outcome.passed else "failed"
    proposal.closed_at = now()
    proposal.closed_on = on
    proposal.yes, proposal.no, proposal.abstain = counts.yes, counts.no, counts.abstain
    proposal.quorum_met = outcome.quorum_met
    session.add(proposal)
    effect = None
    if outcome.passed:
        effect = _apply(session, proposal, value, expelled, on)
    session.flush()
    return Closed(proposal.id, proposal.status, counts, outcome.quorum_met,
                  outcome.quorum_needed, electorate, outcome.percent,
                  describe(proposal.action, proposal.clause, proposal.value, proposal.target,
                           proposal.target_kind), effect)


def _write_off_day(session: Session, on: date, *, written: bool) -> None:
    """A write-off is dated the day its proposal closes. A period closed since closes record which
    settlements they counted takes it as recorded after its close, whatever its day; but not one
    closed before, which counted by date: on a day inside such a period (its last day, when it
    was closed that day), neither it nor a later period would take the write-off off what the
    member owes. Refused then."""
    from swp.services.ledger import closed_period_containing

    closed = closed_period_containing(session, on)
    if closed is not None and closed.settlements_upto is None:
        raise PreconditionError(f"a write-off is dated the day its proposal closes, and {on} is inside "
                                f"the closed period {closed.label} ({closed.start} to {closed.end}); "
                                + (f"cast the vote that passes this written resolution after {closed.end}"
                                   if written else f"close this proposal after {closed.end}"))


def _apply(session: Session, proposal: Proposal, value: str | None, expelled: Member | None,
           on: date) -> str:
    if proposal.action == "amend" and proposal.clause == "practice.local-authority":
        practice = get_practice(session)
        old = practice.local_authority
        practice.local_authority = proposal.value or ""
        session.add(practice)
        return f"the practice's local authority changed from {old} to {practice.local_authority}"
    if proposal.action == "amend" and proposal.clause == "partner.split":
        return f"the practice pays {proposal.value}% of costs shared with {proposal.target}"
    if proposal.action == "amend" and proposal.clause == "member.role":
        return _make_practitioner(session, proposal, on)
    if proposal.action == "amend" and proposal.clause == "member.admit":
        return (f"the members agree to admit {proposal.target} as {proposal.value}: a current "
                f"member records the admission (swp --as HANDLE member add {proposal.target} "
                f"--role {proposal.value} ...)")
    if proposal.action == "amend" and proposal.clause == "member.left":
        return _end_employment(session, proposal, value or proposal.value or "", on)
    if proposal.action == "amend":
        clause = session.get(Clause, proposal.clause)
        if clause is None or clause.entrenched:  # pragma: no cover - refused by the checks
            raise RuleViolation(proposal.clause or "?", "an entrenched clause cannot be changed")
        old = clause.value
        clause.value = value or proposal.value or ""
        session.add(clause)
        return f"{proposal.clause} changed from {old} to {clause.value}"
    if proposal.action == "expel":
        if expelled is None:
            return f"{proposal.target} had already left; nothing to do"
        _end_membership(session, expelled, on, f"expelled by resolution #{proposal.id}")
        return f"{expelled.handle} expelled: membership ends on {on}"
    if proposal.action == "re-enrol":
        return _reenrol(session, proposal, on)
    if proposal.action == "write-off":
        from swp.services.payroll import write_off

        assert proposal.id is not None  # a stored proposal
        return write_off(session, handle=proposal.target or "",
                         amount_pence=None if proposal.value is None else int(proposal.value),
                         proposal_id=proposal.id, on=on)
    practice = get_practice(session)
    if proposal.action == "merge":
        practice.status = "merging"
        practice.status_detail = (f"merger with {proposal.target} ({proposal.target_kind}) "
                                  f"decided by resolution #{proposal.id} on {on}")
    else:
        practice.status = "dissolving"
        practice.status_detail = (f"dissolution decided by resolution #{proposal.id} on {on}; "
                                  f"residual assets to {proposal.target} ({proposal.target_kind})")
    session.add(practice)
    return practice.status_detail


def _reenrol(session: Session, proposal: Proposal, on: date) -> str:
    """Enrol the resolution's key for the member, in place of the one they lost (which signs
    nothing from now on). The event is signed by the member who closes; `swp audit verify`
    accepts the enrolment because this same event records the resolution passed."""
    from swp.identity import fingerprint

    member = reenrol_check(session, proposal.target, proposal.value, on)
    old = member.key_fingerprint
    member.public_key = proposal.value
    member.key_fingerprint = fingerprint(proposal.value or "")
    session.add(member)
    # the member's passkeys go with the lost key: whoever enrolled one (on a link the member
    # may never have seen) signs nothing more; the member enrols a new one on their own invitation
    session.execute(delete(PasskeyCredential).where(col(PasskeyCredential.member_id) == member.id))
    session.flush()
    audit.act(session, "key.reenrolled", {"handle": member.handle, "public_key": member.public_key,
                                          "proposal": proposal.id, "replaces": old})
    return (f"{member.handle}'s key {member.key_fingerprint} is enrolled"
            + (f"; their old key {old} signs nothing from now on" if old else ""))


def _end_employment(session: Session, proposal: Proposal, value: str, on: date) -> str:
    """The membership ends with the employment, on the day recorded (or today, if that day
    has come), as a resignation would."""
    member = session.execute(select(Member).where(col(Member.handle) == proposal.target)).scalar_one()
    if member.left_on is not None and member.left_on <= on:
        return f"{member.handle} had already left; nothing to do"
    ended = date.fromisoformat(value)
    counted_to = last_closed_end(session, cast(int, member.id))
    if counted_to is not None and ended < counted_to:
        raise PreconditionError(f"{member.handle} was counted as a member to {counted_to} in a "
                                "closed period; close this proposal on or after it")
    _end_membership(session, member, ended, f"employment ended, recorded by resolution #{proposal.id}")
    return f"{member.handle}'s employment ends: membership ends on {ended}"


def _end_membership(session: Session, member: Member, on: date, reason: str) -> None:
    """A resolution ends a membership on `on` (an expulsion, a recorded end of employment)."""
    member.left_on = on
    member.leave_reason = reason
    session.add(member)
    audit.act(session, "member.left", {"handle": member.handle, "left_on": on, "reason": reason})


def _make_practitioner(session: Session, proposal: Proposal, on: date) -> str:
    from swp.services.members import update

    member = session.execute(select(Member).where(col(Member.handle) == proposal.target)).scalar_one()
    member.registration = proposal.value
    session.add(member)
    session.flush()
    update(session, actor=None, handle=member.handle, effective=on, role="practitioner",
           by_resolution=True)
    return f"{member.handle} is a practitioner from {on} (registration {proposal.value})"


# --- shares ----------------------------------------------------------------------------------


def shares(action: str) -> None:
    """Always refused: the practice has no share capital of any kind (SPEC section 6, item 1)."""
    raise RuleViolation("no-share-issuance",
                        f"the practice has no share capital of any kind; no share can be {action}, "
                        "so no one can buy control of it")
