"""Partnerships: other organisations that share administration costs with the practice
(economies of scale without merging; SPEC section 10).

A partner is a name, a kind and the costs shared with it. It gains no member, no vote and no
claim on the practice's assets: nothing here touches the register, the votes or the reserve.
A merger with a partner is a governance proposal, judged by the takeover guard like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import col

from swp import rules
from swp.clock import now
from swp.errors import InputError, PreconditionError
from swp.models import LedgerEntry, Partner, SharedCost
from swp.money import allocate, format_pence
from swp.rules import ASSET_LOCKED_KINDS
from swp.services import ledger
from swp.services.contracts import find_named
from swp.services.roles import require_manager

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# The kinds of organisation a partner may be. `members` is a kind of *recipient* (the
# practice's own members, in a dissolution or merger proposal), not an organisation that can
# share costs, so it is refused here (exit 1).
PARTNER_KINDS = ("mutual", "charity", "cic", "local-authority", "company")
CATEGORY = "shared-admin"

# The keys of the split. allocate() breaks a tie (exactly half a penny each way) by key, and
# "our" sorts before "partner": the practice takes the odd penny, so a partner is never
# asked for more than its exact share rounded down on a tie.
OUR_KEY = "our"
PARTNER_KEY = "partner"


def split_cost(total_pence: int, our_percent: int) -> tuple[int, int]:
    """(ours, the partner's): `total_pence` split by the one largest-remainder split."""
    if not 0 <= our_percent <= 100:
        raise InputError(f"--our-percent must be from 0 to 100, not {our_percent}")
    parts = allocate(total_pence, {OUR_KEY: our_percent, PARTNER_KEY: 100 - our_percent})
    return parts[OUR_KEY], parts[PARTNER_KEY]


@dataclass(frozen=True)
class PartnerView:
    name: str
    kind: str
    shared_costs: int
    total_pence: int
    our_pence: int
    partner_pence: int

    @property
    def asset_locked(self) -> bool:
        return self.kind in ASSET_LOCKED_KINDS

    def as_json(self) -> dict[str, Any]:
        """The JSON adds asset_locked."""
        return {"name": self.name, "kind": self.kind, "asset_locked": self.asset_locked,
                "shared_costs": self.shared_costs, "total_pence": self.total_pence,
                "our_pence": self.our_pence, "partner_pence": self.partner_pence}


@dataclass(frozen=True)
class SharedCostView:
    entry: int
    partner: str
    date: date
    total_pence: int
    our_percent: int
    our_pence: int
    partner_pence: int
    memo: str


def check_kind(kind: str) -> str:
    value = (kind or "").strip().lower()
    if value == "members":
        raise InputError("a partner is an organisation that shares costs with the practice; "
                         "'members' is not one (it is a kind of recipient, for proposals)")
    if value not in PARTNER_KINDS:
        raise InputError(f"not a kind of partner: {kind!r}; one of {', '.join(PARTNER_KINDS)}")
    return value


def find_partner(session: Session, name: str) -> Partner:
    """The partner with this name (exact, then ignoring case), else NotFound (exit 1)."""
    return find_named(session, Partner, "name", name,
                      f"no partner named {name!r}; 'swp partner list' lists them")


def _view(partner: Partner, count: int = 0, total: int = 0, ours: int = 0,
          theirs: int = 0) -> PartnerView:
    return PartnerView(partner.name, partner.kind, count, total, ours, theirs)


def add(session: Session, *, actor: str | None, name: str, kind: str) -> PartnerView:
    """Record a partner organisation. It gains no member, vote or claim on assets."""
    require_manager(session, actor, "managing partners")
    name = " ".join((name or "").split())
    if not name:
        raise InputError("a partner needs a name")
    kind = check_kind(kind)
    taken = [p.name for p in session.execute(select(Partner)).scalars()
             if p.name.casefold() == name.casefold()]
    if taken:
        raise PreconditionError(f"a partner named {taken[0]!r} already exists")
    partner = Partner(name=name, kind=kind, created_at=now())
    session.add(partner)
    session.flush()
    return _view(partner)


def list_partners(session: Session) -> list[PartnerView]:
    """Every partner with the costs shared with it (a cost whose expense entry was reversed
    in the ledger no longer counts)."""
    partners = list(session.execute(select(Partner).order_by(col(Partner.name))).scalars())
    reversed_entries = select(col(LedgerEntry.reverses)).where(col(LedgerEntry.reverses).is_not(None))
    sums = {row.partner_id: row for row in session.execute(
        select(col(SharedCost.partner_id), func.count().label("n"),
               func.coalesce(func.sum(col(SharedCost.total_pence)), 0).label("total"),
               func.coalesce(func.sum(col(SharedCost.our_pence)), 0).label("ours"),
               func.coalesce(func.sum(col(SharedCost.partner_pence)), 0).label("theirs"))
        .where(col(SharedCost.entry_id).not_in(reversed_entries))
        .group_by(col(SharedCost.partner_id)))}
    views = []
    for partner in partners:
        row = sums.get(partner.id)
        views.append(_view(partner, row.n, int(row.total), int(row.ours), int(row.theirs))
                     if row else _view(partner))
    return views


def agreed_split(session: Session, partner_name: str) -> int | None:
    """The practice's percent of costs shared with this partner, as last agreed by a passed
    resolution (None if none was)."""
    from swp.models import Proposal

    row = session.execute(
        select(col(Proposal.value)).where(col(Proposal.action) == "amend",
                                          col(Proposal.clause) == "partner.split",
                                          col(Proposal.status) == "passed",
                                          col(Proposal.target) == partner_name)
        .order_by(col(Proposal.id).desc()).limit(1)).first()
    if row is None:
        return None
    assert row[0] is not None  # an amendment always has its value
    return int(row[0])


def cost(session: Session, *, actor: str | None, name: str, total_pence: int, day: date,
         our_percent: int, memo: str) -> SharedCostView:
    """Record a cost shared with a partner: the practice's part is an expense in
    `shared-admin`; the partner's part is kept beside it, never as the practice's cost."""
    require_manager(session, actor, "recording shared costs")
    percent = our_percent
    if not 0 <= percent <= 100:
        raise InputError(f"--our-percent must be from 0 to 100, not {percent!r}")
    if total_pence <= 0:
        raise InputError("the amount must be more than zero")
    memo = (memo or "").strip()
    if not memo:
        raise InputError("a shared cost needs a memo saying what it was (--memo)")
    partner = find_partner(session, name)
    assert partner.id is not None  # a stored partner
    rules.refuse(rules.split_violations(partner.name, agreed_split(session, partner.name),
                                        percent))
    ours, theirs = split_cost(total_pence, percent)
    if ours == 0:
        raise InputError(f"the practice's part of {format_pence(total_pence)} at {percent}% is "
                         f"{format_pence(0)}: nothing to record (the cost is {partner.name}'s)")
    recorded = ledger.record(session, actor=actor, kind="expense", amount_pence=ours, day=day,
                             category=CATEGORY, memo=f"{memo} (shared with {partner.name})",
                             partner_id=partner.id)
    session.add(SharedCost(entry_id=recorded.id, partner_id=partner.id, date=day,
                           total_pence=total_pence, our_percent=percent, our_pence=ours,
                           partner_pence=theirs, memo=memo))
    session.flush()
    return SharedCostView(recorded.id, partner.name, day, total_pence, percent, ours, theirs,
                          memo)
