"""Written resolutions: a proposal that members sign by voting instead of deciding at a
meeting. It passes the moment the needed share of ALL current members (not of those voting)
has voted yes, and lapses once `governance.written-days` days have run from the day it was
proposed (that day is the first: with 28, a resolution proposed on the 1st may be signed up to
the 28th and lapses on the 29th).
"""

from __future__ import annotations

from datetime import date, timedelta

from swp import rules
from swp.errors import PreconditionError


def written_days(clauses) -> int:
    return int(clauses.get("governance.written-days", "28"))


def lapses_on(clauses, proposed_on: date) -> date:
    """The first day a written resolution proposed on `proposed_on` can no longer be signed."""
    return proposed_on + timedelta(days=written_days(clauses))


def yes_needed(clauses, kind: str, electorate: int) -> int:
    """The fewest yes votes, out of all `electorate` members, that pass it: ordinary, yes from
    MORE than governance.ordinary-percent of all members; special, AT LEAST
    governance.special-percent of them. Never fewer than one."""
    if kind == "ordinary":
        percent = int(clauses.get("governance.ordinary-percent", "50"))
        return max(1, percent * electorate // 100 + 1)
    percent = int(clauses.get("governance.special-percent", "75"))
    return max(1, -(-percent * electorate // 100))


def outcome(clauses, proposal, counts: rules.Tally, electorate: int, on: date) -> rules.Outcome:
    """The result of a written resolution closed on `on`: passed once enough have signed;
    failed once it has lapsed; refused (still open for signatures) in between."""
    needed = yes_needed(clauses, proposal.kind, electorate)
    percent = int(clauses.get("governance.ordinary-percent" if proposal.kind == "ordinary"
                              else "governance.special-percent", "50"))
    passed = counts.yes >= needed
    if not passed and proposal.lapses_on is not None and on < proposal.lapses_on:
        raise PreconditionError(f"written resolution #{proposal.id} is open for signatures until "
                                f"{proposal.lapses_on - timedelta(days=1)}: it passes when {needed} of "
                                f"the {electorate} members have voted yes ({counts.yes} so far), "
                                f"and lapses on {proposal.lapses_on}")
    return rules.Outcome(True, needed, passed, percent, passed)


def before_vote(proposal, on: date) -> None:
    if proposal.lapses_on is not None and on >= proposal.lapses_on:
        raise PreconditionError(f"written resolution #{proposal.id} lapsed on {proposal.lapses_on}; "
                                f"'swp --as HANDLE proposal close {proposal.id}' records it as failed")


def after_vote(session, proposal, actor: str, on: date):
    """Close (and apply) the resolution on the vote that reaches the threshold; None if not yet."""
    from swp.services import governance
    from swp.services.practice import load_clauses
    from swp.services.roles import current_members

    counts = rules.tally(v.choice for _, v in governance._counted(session, proposal.id, on))
    electorate = len(current_members(session, on))
    if counts.yes < yes_needed(load_clauses(session), proposal.kind, electorate):
        return None
    return governance.close(session, actor=actor, proposal_id=proposal.id)
