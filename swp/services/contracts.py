"""Contracts with the local authority, and the income they bring (SPEC sections 6.11 and 10).

A contract has a value and dates, and may tie part of its value to outcomes
(`outcome_percent`). Its value is split into a **base part** (invoiced as the work is done,
category `contracts`) and an **outcome part** (paid only when a measure is met, category
`outcome-payments`), by the one largest-remainder split, so the parts add up to the value to
the penny. Invoices may not exceed the base part in total, outcome payments may not exceed
the outcome part; reversals of either reduce its total again (ledger amounts are signed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import select
from sqlmodel import col

from swp import rules
from swp.clock import now, today
from swp.errors import InputError, NotFound, PreconditionError
from swp.models import Contract, LedgerEntry
from swp.money import allocate, format_pence
from swp.services import ledger
from swp.services.practice import get_practice, load_clauses
from swp.services.roles import require_manager

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

INVOICE_CATEGORY = "contracts"
OUTCOME_CATEGORY = "outcome-payments"
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")


def check_ref(ref: str) -> str:
    value = (ref or "").strip()
    if not _REF.match(value):
        raise InputError(f"not a contract reference: {ref!r}; use 1-40 letters, digits, "
                         ". _ / - (e.g. LCC-2026-01)")
    return value


def split_value(value_pence: int, outcome_percent: int) -> tuple[int, int]:
    """(base, outcome): the value split by the one largest-remainder split.

    A tie (a half penny each way) gives the penny to the base part (`base` sorts first).
    """
    parts = allocate(value_pence, {"base": 100 - outcome_percent, "outcome": outcome_percent})
    return parts["base"], parts["outcome"]


@dataclass(frozen=True)
class ContractView:
    ref: str
    authority: str
    value_pence: int
    start: date
    end: date
    outcome_percent: int
    description: str | None
    base_pence: int
    outcome_pence: int
    invoiced_pence: int
    outcome_received_pence: int
    on: date  # "today", for days left and status

    @property
    def invoice_left_pence(self) -> int:
        return self.base_pence - self.invoiced_pence

    @property
    def outcome_at_risk_pence(self) -> int:
        return self.outcome_pence - self.outcome_received_pence

    @property
    def days_left(self) -> int:
        """Days from today to the last day of the contract (0 on its last day and after)."""
        return max(0, (self.end - self.on).days)

    @property
    def status(self) -> str:
        if self.on < self.start:
            return "not started"
        if self.on > self.end:
            return "ended"
        return "running"

    def as_json(self) -> dict[str, Any]:
        """The JSON adds the figures worked out from the fields (what is left, days, status)."""
        return {
            "ref": self.ref, "authority": self.authority, "value_pence": self.value_pence,
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "outcome_percent": self.outcome_percent, "description": self.description,
            "base_pence": self.base_pence, "outcome_pence": self.outcome_pence,
            "invoiced_pence": self.invoiced_pence,
            "invoice_left_pence": self.invoice_left_pence,
            "outcome_received_pence": self.outcome_received_pence,
            "outcome_at_risk_pence": self.outcome_at_risk_pence,
            "days_left": self.days_left, "status": self.status,
        }


@dataclass(frozen=True)
class ContractEntry:
    id: int
    date: date
    category: str
    amount_pence: int
    measure: str | None
    memo: str | None
    reverses: int | None


@dataclass(frozen=True)
class Payment:
    """An invoice or outcome payment just recorded, with the contract as it now stands."""

    entry: int
    amount_pence: int
    date: date
    measure: str | None
    contract: ContractView


_Row = TypeVar("_Row")


def find_named(session: Session, model: type[_Row], attribute: str, text: str, missing: str) -> _Row:
    """The row of `model` whose `attribute` is `text` as typed (exact, then ignoring case when
    one row alone matches), else NotFound(missing) (exit 1): how a contract is found by its
    reference and a partner by its name."""
    wanted = (text or "").strip()
    column = getattr(model, attribute)
    row = session.execute(select(model).where(column == wanted)).scalar_one_or_none()
    if row is None:
        matches = [r for r in session.execute(select(model)).scalars()
                   if getattr(r, attribute).casefold() == wanted.casefold()]
        if len(matches) == 1:
            row = matches[0]
    if row is None:
        raise NotFound(missing)
    return row


def find_contract(session: Session, ref: str) -> Contract:
    """The contract with this reference (exact, then ignoring case), else NotFound (exit 1)."""
    return find_named(session, Contract, "ref", ref,
                      f"no contract with reference {ref!r}; 'swp contract list' lists them")


def _entries(session: Session, contract_ids: list[int]) -> dict[int, list[LedgerEntry]]:
    """Each contract's ledger entries, with the reversals of them (and of those, and so on)
    whether or not a reversal carries the contract's id itself."""
    by_contract: dict[int, list[LedgerEntry]] = {cid: [] for cid in contract_ids}
    if not contract_ids:
        return by_contract
    owner: dict[int | None, int] = {}  # entry id -> contract id, looked up by `reverses` (may be None)
    frontier = list(session.execute(
        select(LedgerEntry).where(col(LedgerEntry.contract_id).in_(contract_ids))
        .order_by(col(LedgerEntry.id))).scalars())
    while frontier:
        fresh = [e for e in frontier if e.id not in owner]
        for entry in fresh:
            assert entry.id is not None  # a stored entry
            cid = entry.contract_id if entry.contract_id in by_contract else owner.get(entry.reverses)
            if cid is None:
                continue
            owner[entry.id] = cid
            by_contract[cid].append(entry)
        ids = [e.id for e in fresh if e.id in owner]
        if not ids:
            break
        frontier = list(session.execute(
            select(LedgerEntry).where(col(LedgerEntry.reverses).in_(ids))
            .order_by(col(LedgerEntry.id))).scalars())
    for entries in by_contract.values():
        entries.sort(key=lambda e: cast(int, e.id))  # stored entries: ids are set
    return by_contract


def _category_of(entry: LedgerEntry, by_id: dict[int, LedgerEntry]) -> str:
    """A reversal counts against the category of the entry it reverses."""
    seen = 0
    while entry.reverses is not None and entry.reverses in by_id and seen < 1000:
        entry = by_id[entry.reverses]
        seen += 1
    return entry.category


def _totals(entries: list[LedgerEntry]) -> tuple[int, int]:
    by_id = {cast(int, e.id): e for e in entries}  # stored entries: ids are set
    invoiced = received = 0
    for entry in entries:
        category = _category_of(entry, by_id)
        if category == INVOICE_CATEGORY:
            invoiced += entry.amount_pence
        elif category == OUTCOME_CATEGORY:
            received += entry.amount_pence
    return invoiced, received


def _view(contract: Contract, entries: list[LedgerEntry], on: date) -> ContractView:
    base, outcome = split_value(contract.value_pence, contract.outcome_percent)
    invoiced, received = _totals(entries)
    return ContractView(contract.ref, contract.authority, contract.value_pence, contract.start,
                        contract.end, contract.outcome_percent, contract.description, base,
                        outcome, invoiced, received, on)


def add(session: Session, *, actor: str | None, ref: str, authority: str, value_pence: int,
        start: date, end: date, outcome_percent: int = 0,
        description: str | None = None) -> ContractView:
    """Record a contract won. Refused (exit 3) when the authority is not the practice's own
    while `contracts.own-authority-only` is on."""
    require_manager(session, actor, "managing contracts")
    ref = check_ref(ref)
    authority = (authority or "").strip()
    if not authority:
        raise InputError("a contract needs the local authority it is with (--authority)")
    if value_pence <= 0:
        raise InputError("a contract's value must be more than zero")
    if end < start:
        raise InputError(f"the contract ends ({end}) before it starts ({start})")
    if not 0 <= outcome_percent <= 100:
        raise InputError(f"--outcome-percent must be from 0 to 100, not {outcome_percent!r}")
    practice = get_practice(session)
    rules.refuse(rules.authority_violations(load_clauses(session), practice.local_authority,
                                            authority))
    if authority.casefold() == practice.local_authority.strip().casefold():
        authority = practice.local_authority  # one spelling of the practice's own authority
    taken = [c.ref for c in session.execute(select(Contract)).scalars()
             if c.ref.casefold() == ref.casefold()]
    if taken:
        raise PreconditionError(f"a contract with reference {taken[0]!r} already exists")
    description = (description or "").strip() or None
    contract = Contract(ref=ref, authority=authority, value_pence=value_pence, start=start,
                        end=end, outcome_percent=outcome_percent, description=description,
                        created_at=now())
    session.add(contract)
    session.flush()
    return _view(contract, [], today())


def list_contracts(session: Session) -> list[ContractView]:
    contracts = list(session.execute(
        select(Contract).order_by(col(Contract.start), col(Contract.ref))).scalars())
    ids = [cast(int, c.id) for c in contracts]  # stored contracts: ids are set
    entries = _entries(session, ids)
    on = today()
    return [_view(c, entries[i], on) for c, i in zip(contracts, ids, strict=True)]


def show(session: Session, ref: str) -> tuple[ContractView, list[ContractEntry]]:
    contract = find_contract(session, ref)
    assert contract.id is not None  # a stored contract
    entries = _entries(session, [contract.id])[contract.id]
    by_id = {cast(int, e.id): e for e in entries}  # stored entries: ids are set
    rows = [ContractEntry(cast(int, e.id), e.date, _category_of(e, by_id), e.amount_pence, e.measure,
                          e.memo, e.reverses) for e in entries]
    return _view(contract, entries, today()), rows


def _check_date(contract: Contract, day: date, what: str) -> None:
    if day < contract.start:
        raise InputError(f"{what} dated {day} is before contract {contract.ref} starts "
                         f"({contract.start})")


def _check_payment(session: Session, contract: Contract, *, category: str, amount_pence: int,
                   day: date) -> None:
    """Refuse (exit 1) a payment before the contract starts or past its part of the value."""
    if amount_pence <= 0:
        raise InputError("the amount must be more than zero")
    what = "an invoice" if category == INVOICE_CATEGORY else "an outcome payment"
    _check_date(contract, day, what)
    assert contract.id is not None  # a stored contract
    view = _view(contract, _entries(session, [contract.id])[contract.id], today())
    if category == INVOICE_CATEGORY:
        part, done, left = view.base_pence, view.invoiced_pence, view.invoice_left_pence
        if amount_pence > left:
            raise PreconditionError(
                f"invoicing {format_pence(amount_pence)} would take contract {contract.ref} "
                f"past its base part of {format_pence(part)} (invoiced so far "
                f"{format_pence(done)}); {format_pence(max(left, 0))} is left to invoice")
    else:
        part, done, left = view.outcome_pence, view.outcome_received_pence, view.outcome_at_risk_pence
        if amount_pence > left:
            raise PreconditionError(
                f"an outcome payment of {format_pence(amount_pence)} would take contract "
                f"{contract.ref} past its outcome part of {format_pence(part)} (received so "
                f"far {format_pence(done)}); {format_pence(max(left, 0))} is left to claim")


def link_income(session: Session, *, ref: str, category: str, amount_pence: int, day: date,
                measure: str | None = None) -> int:
    """For `ledger income --contract REF`: the contract's id, once the income is known to fit.

    Income linked to a contract must be in `contracts` (an invoice) or `outcome-payments` (with
    a measure), and within that part of the value, exactly as `contract invoice` and
    `contract outcome` require; anything else is exit 1.
    """
    contract = find_contract(session, ref)
    assert contract.id is not None  # a stored contract
    category = (category or "").strip().lower()
    if category not in (INVOICE_CATEGORY, OUTCOME_CATEGORY):
        raise InputError(f"income linked to contract {contract.ref} must be in the category "
                         f"{INVOICE_CATEGORY} or {OUTCOME_CATEGORY}, not {category!r}")
    if category == OUTCOME_CATEGORY and not (measure or "").strip():
        raise InputError("an outcome payment needs the measure it was paid for (--measure)")
    _check_payment(session, contract, category=category, amount_pence=amount_pence, day=day)
    return contract.id


def linked_income(session: Session, *, actor: str | None, ref: str, category: str, amount_pence: int,
                  day: date, memo: str | None = None, measure: str | None = None) -> ledger.Recorded:
    """`ledger income --contract REF`: income recorded against a contract, within its parts."""
    require_manager(session, actor, "recording ledger entries")
    contract_id = link_income(session, ref=ref, category=category, amount_pence=amount_pence,
                              day=day, measure=measure)
    return ledger.record(session, actor=actor, kind="income", amount_pence=amount_pence, day=day,
                         category=category, memo=memo, contract_id=contract_id, measure=measure)


def _receive(session: Session, *, actor: str | None, ref: str, amount_pence: int, day: date,
             category: str, measure: str | None, memo: str | None) -> Payment:
    require_manager(session, actor, "managing contracts")
    if amount_pence <= 0:
        raise InputError("the amount must be more than zero")
    contract = find_contract(session, ref)
    assert contract.id is not None  # a stored contract
    _check_payment(session, contract, category=category, amount_pence=amount_pence, day=day)
    recorded = ledger.record(session, actor=actor, kind="income", amount_pence=amount_pence,
                             day=day, category=category, memo=memo, contract_id=contract.id,
                             measure=measure)
    entries = _entries(session, [contract.id])[contract.id]
    return Payment(recorded.id, amount_pence, day, measure, _view(contract, entries, today()))


def invoice(session: Session, *, actor: str | None, ref: str, amount_pence: int, day: date,
            memo: str | None = None) -> Payment:
    """Record contract income (category `contracts`) against the contract's base part."""
    return _receive(session, actor=actor, ref=ref, amount_pence=amount_pence, day=day,
                    category=INVOICE_CATEGORY, measure=None, memo=memo)


def outcome(session: Session, *, actor: str | None, ref: str, amount_pence: int, day: date,
            measure: str, memo: str | None = None) -> Payment:
    """Record an outcome payment (category `outcome-payments`) for a named measure."""
    measure = (measure or "").strip()
    if not measure:
        raise InputError("an outcome payment needs the measure it was paid for (--measure)")
    return _receive(session, actor=actor, ref=ref, amount_pence=amount_pence, day=day,
                    category=OUTCOME_CATEGORY, measure=measure, memo=memo)


def violations(session: Session) -> list[rules.Violation]:
    """For `swp check`: every contract with another authority while own-authority-only is on
    (one written past the guard, or left from a time the clause was off)."""
    practice = get_practice(session)
    clauses = load_clauses(session)
    found: list[rules.Violation] = []
    for contract in session.execute(select(Contract).order_by(col(Contract.ref))).scalars():
        for violation in rules.authority_violations(clauses, practice.local_authority,
                                                    contract.authority):
            found.append(rules.Violation(violation.clause,
                                         f"contract {contract.ref}: {violation.message}"))
    return found
