"""The profit-share statement: one frozen data object, built by swp.services.sharing.statements
from a closed period, and printed by one writer per format (text, md, html, pdf, csv, json).

Money is integer pence throughout; `Decimal` appears only when a writer prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from swp.money import format_pence

BASIS_NAMES = {
    "equal": "equal shares",
    "hours": "contracted hours",
    "pay": "annual pay",
    "service": "years of service",
}
# What one unit of weight is, per basis (a weight is the sum over the days counted).
WEIGHT_UNITS = {
    "equal": "days",
    "hours": "weekly hours (in hundredths) x days",
    "pay": "annual pay (in pence) x days",
    "service": "(whole years + 1) x days",
}


@dataclass(frozen=True)
class Line:
    category: str
    pence: int


@dataclass(frozen=True)
class BasisRow:
    """One slice of the pool and the member's part of it."""

    basis: str
    percent: int
    slice_pence: int
    weight: int
    total_weight: int
    part_pence: int


@dataclass(frozen=True)
class HistoryRow:
    """A stretch of the member's days in the period with the facts then in force."""

    start: date
    end: date
    days: int
    role: str
    hours_hundredths: int
    pay_pence: int
    service: int


def share_basis_points(amount: int, pool: int) -> int:
    """amount / pool in hundredths of a percent, rounded half away from zero (0 if no pool)."""
    if pool == 0:
        return 0
    num, den = abs(amount) * 10000, abs(pool)
    value = (2 * num + den) // (2 * den)
    return value if (amount >= 0) == (pool > 0) else -value


def percent_text(basis_points: int) -> str:
    sign = "-" if basis_points < 0 else ""
    whole, part = divmod(abs(basis_points), 100)
    return f"{sign}{whole}.{part:02d}%"


@dataclass(frozen=True)
class SettlementRow:
    """Part of the deficit carried forward, settled (paid in) or written off by a resolution
    after the period."""

    on: date
    kind: str  # settled | written-off
    pence: int
    resolution: int | None = None

    @property
    def label(self) -> str:
        if self.kind == "written-off":
            return f"Deficit written off by resolution #{self.resolution} on {self.on.isoformat()}"
        return f"Deficit settled on {self.on.isoformat()}"


@dataclass(frozen=True)
class Statement:
    practice: str
    local_authority: str
    period: str
    start: date
    end: date
    closed_on: date
    closed_by: str | None
    member: str
    name: str
    income: tuple[Line, ...]
    expenses: tuple[Line, ...]
    income_pence: int
    expenses_pence: int
    net_pence: int
    reserve_pence: int  # > 0 put into the reserve; < 0 drawn from it for a deficit
    reserve_balance_pence: int  # the general reserve after this period
    distributable_pence: int
    method: str
    days: int
    probation_days: int
    basis: tuple[BasisRow, ...]
    history: tuple[HistoryRow, ...]
    amount_pence: int
    carried_in_pence: int
    payable_pence: int
    carried_out_pence: int
    year_start: date
    year_to_date_pence: int
    fingerprint: str
    fingerprint_verified: bool | None
    register: tuple[tuple[str, str], ...] = ()  # what the register of members holds about them
    audit_head: str = ""  # SEQ:HASH of the audit log when the statement was issued
    sandbox: bool = False  # issued by a sandbox practice: not a real statement
    key_fingerprint: str | None = None  # the key enrolled in the member's name
    settlements: tuple[SettlementRow, ...] = ()  # of the deficit carried forward, after its close counted
    # of the deficit the period brought in, before its close (already taken off it)
    settled_before: tuple[SettlementRow, ...] = ()

    def identity_lines(self) -> list[str]:
        """The audit head (a witness to keep) and the member's enrolled key; a sandbox says so."""
        lines = ["Audit head when issued (keep it: 'swp audit verify --witness' checks it):",
                 f"  {self.audit_head}",
                 f"Key enrolled for {self.member}: {self.key_fingerprint or 'none'}"]
        if self.sandbox:
            lines.insert(0, "SANDBOX: a practice for trying swp out, not a real statement")
        return lines

    @property
    def outstanding_pence(self) -> int:
        """The deficit still carried forward (<= 0) after the settlements and write-offs."""
        return min(0, self.carried_out_pence + sum(s.pence for s in self.settlements))

    # --- derived figures, the same for every writer ---

    @property
    def share_basis_points(self) -> int:
        return share_basis_points(self.amount_pence, self.distributable_pence)

    @property
    def share_percent(self) -> str:
        """e.g. '13.04%'."""
        return percent_text(self.share_basis_points)

    @property
    def is_deficit(self) -> bool:
        return self.net_pence < 0

    @property
    def title(self) -> str:
        return f"Profit-share statement: {self.name} ({self.member}), period {self.period}"

    @property
    def verification(self) -> str:
        if self.fingerprint_verified is True:
            return "matches the books as closed"
        if self.fingerprint_verified is False:
            return "DOES NOT MATCH the books: something covered by it changed after the close"
        return "cannot be checked: the close is not in the audit log"

    def result_lines(self) -> list[tuple[str, int]]:
        """The practice's result for the period, as (label, pence) rows after the categories."""
        rows = [("Net surplus" if self.net_pence >= 0 else "Net deficit", self.net_pence)]
        if self.net_pence >= 0:
            rows.append(("Put into the general reserve (asset-locked)", self.reserve_pence))
            rows.append(("Distributable pool", self.distributable_pence))
        else:
            rows.append(("Met from the general reserve", -self.reserve_pence))
            rows.append(("Deficit shared among members", self.distributable_pence))
        rows.append(("General reserve after this period", self.reserve_balance_pence))
        return rows

    def share_lines(self) -> list[tuple[str, str]]:
        """The member's share, as (label, printed value) rows."""
        return [
            ("Share of the pool", self.share_percent),
            ("Your allocation", format_pence(self.amount_pence)),
            *((f"{s.label}, before the close", format_pence(s.pence)) for s in self.settled_before),
            ("Deficit brought forward", format_pence(self.carried_in_pence)),
            ("Payable to you now", format_pence(self.payable_pence)),
            ("Deficit carried forward", format_pence(self.carried_out_pence)),
            *((s.label, format_pence(s.pence)) for s in self.settlements),
            *((("Deficit carried forward after these", format_pence(self.outstanding_pence)),)
              if self.settlements else ()),
            (f"Year to date (from {self.year_start.isoformat()})", format_pence(self.year_to_date_pence)),
        ]

    def in_words(self) -> list[str]:
        """The statement in sentences, the same in every format: how the share was worked out,
        a deficit as a loss, and when and how the share is paid. (Weights and hundredths of
        hours stay in the tables and the JSON, for checking.)"""
        from swp.dates import day_words
        from swp.rules import format_hours

        def fraction(percent: int) -> str:
            return {100: "all", 50: "half", 25: "a quarter", 75: "three quarters"}.get(
                percent, f"{percent}%")

        hours = sorted({h.hours_hundredths for h in self.history})
        pays = sorted({h.pay_pence for h in self.history})
        parts = []
        for b in self.basis:
            of_pool = f"{fraction(b.percent)} of the pool"
            if b.basis == "equal":
                parts.append(f"{of_pool} is split equally by days as a member (you: {b.weight:,} "
                             f"of {b.total_weight:,} member-days), {format_pence(b.part_pence)}")
            elif b.basis == "hours":
                said = (f"{format_hours(hours[0])} hours a week" if len(hours) == 1
                        else "your weekly hours as they changed")
                parts.append(f"{of_pool} is split by contracted hours (you: {said} for "
                             f"{self.days:,} days), {format_pence(b.part_pence)}")
            elif b.basis == "pay":
                said = (f"{format_pence(pays[0])} a year" if len(pays) == 1
                        else "your pay as it changed")
                parts.append(f"{of_pool} is split by annual pay (you: {said} for "
                             f"{self.days:,} days), {format_pence(b.part_pence)}")
            else:
                parts.append(f"{of_pool} is split by years of service, counted each day "
                             f"(you: {self.days:,} days), {format_pence(b.part_pence)}")
        words = []
        if self.is_deficit:
            mine = format_pence(-self.amount_pence) if self.amount_pence < 0 else "£0.00"
            words.append(f"The practice made a loss of {format_pence(-self.net_pence)} in this "
                         f"period; your part of it is {mine}, set against your future shares "
                         "(it is never taken from your pay). If you leave before it is made up, "
                         "it stays recorded as owed, and the practice decides whether to recover "
                         "or forgive it.")
        else:
            words.append(f"The practice made a surplus of {format_pence(self.net_pence)}; "
                         f"{format_pence(self.reserve_pence)} of it was kept in the general "
                         f"reserve and {format_pence(self.distributable_pence)} shared among "
                         "the members.")
        if parts:
            words.append("Your share: " + "; ".join(parts) + ": "
                         f"{format_pence(self.amount_pence)} in all.")
        if self.payable_pence > 0:
            words.append(f"{format_pence(self.payable_pence)} is paid to you through payroll, "
                         f"with the first pay run after the period was closed on "
                         f"{day_words(self.closed_on)}. It is taxed as pay: income tax and "
                         "National Insurance are taken through PAYE, as for your salary.")
        else:
            words.append("Nothing is payable to you for this period.")
        for s in self.settled_before:
            if s.kind == "written-off":
                words.append(f"On {day_words(s.on)}, before this period was closed, the members forgave "
                             f"{format_pence(s.pence)} of your deficit by resolution #{s.resolution}: "
                             "the deficit brought forward is what was left.")
            else:
                words.append(f"On {day_words(s.on)}, before this period was closed, you paid in "
                             f"{format_pence(s.pence)} of your deficit: the deficit brought forward "
                             "is what was left.")
        for s in self.settlements:
            if s.kind == "written-off":
                words.append(f"On {day_words(s.on)} the members forgave {format_pence(s.pence)} of "
                             f"your deficit by resolution #{s.resolution}.")
            else:
                words.append(f"On {day_words(s.on)} you paid in {format_pence(s.pence)} of your "
                             "deficit.")
        if self.settlements:
            words.append(f"The deficit you still owe is {format_pence(-self.outstanding_pence)}.")
        return words

    def as_json(self) -> dict[str, Any]:
        """The JSON writes the lines, basis and history as objects, and adds the share and what is owed."""
        return {
            "member": self.member,
            "name": self.name,
            "period": self.period,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "practice": self.practice,
            "local_authority": self.local_authority,
            "closed_on": self.closed_on.isoformat(),
            "closed_by": self.closed_by,
            "income_pence": self.income_pence,
            "expenses_pence": self.expenses_pence,
            "income_by_category": {line.category: line.pence for line in self.income},
            "expenses_by_category": {line.category: line.pence for line in self.expenses},
            "net_pence": self.net_pence,
            "reserve_pence": self.reserve_pence,
            "reserve_balance_pence": self.reserve_balance_pence,
            "distributable_pence": self.distributable_pence,
            "method": self.method,
            "days": self.days,
            "probation_days": self.probation_days,
            "basis": [{"basis": b.basis, "percent": b.percent, "slice_pence": b.slice_pence,
                       "weight": b.weight, "total_weight": b.total_weight,
                       "part_pence": b.part_pence} for b in self.basis],
            "history": [{"from": h.start.isoformat(), "to": h.end.isoformat(), "days": h.days,
                         "role": h.role, "hours_hundredths": h.hours_hundredths,
                         "pay_pence": h.pay_pence, "service": h.service} for h in self.history],
            "amount_pence": self.amount_pence,
            "share_percent": self.share_basis_points / 100,
            "carried_in_pence": self.carried_in_pence,
            "payable_pence": self.payable_pence,
            "carried_out_pence": self.carried_out_pence,
            "deficit_settlements": list(self.settlements),
            "deficit_settled_before_close": list(self.settled_before),
            "deficit_outstanding_pence": self.outstanding_pence,
            "year_start": self.year_start.isoformat(),
            "year_to_date_pence": self.year_to_date_pence,
            "fingerprint": self.fingerprint,
            "fingerprint_verified": self.fingerprint_verified,
            "register": dict(self.register),
            "audit_head": self.audit_head,
            "sandbox": self.sandbox,
            "key_fingerprint": self.key_fingerprint,
            "in_words": self.in_words(),
        }
