"""The books: balanced double entries, append-only, corrected only by reversal.

Each entry debits one account and credits another by the same amount (so debits always equal
credits): income debits `assets:bank` and credits `income:<category>`; an expense debits
`expenses:<category>` and credits `assets:bank`; a loan debits `assets:bank` and credits
`liabilities:loans:<lender>`.

A reversal is a new entry with the same kind, category and accounts as the original, the
negated amount, and `reverses` set to the original's id (a UNIQUE column: an entry can be
reversed once). It is dated the original's day unless told otherwise, so the pair nets to
zero in every period that holds the original.

The books are kept on a cash basis: an entry records money received or paid, so none is dated
after today (`ensure_entry_day`), whoever writes it: `record`, the imports, and the
commands that write their own entries (profit shares paid, deficits settled).

Totals are SQL aggregates (SUM ... GROUP BY); imports are Core `executemany` in batches. Loans
are borrowed money, not income: they never count in income or expense totals.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from sqlalchemy import func, select
from sqlmodel import col

from swp import rules
from swp.clock import now, today
from swp.dates import parse_date
from swp.db import prepare_bulk_write, rows_where_in, stores_as_bound
from swp.errors import InputError, NotFound, PreconditionError, RuleViolation, SwpError
from swp.importers import Lines, csv_problem
from swp.models import LedgerEntry, Period, table_of
from swp.money import MAX_PENCE, format_pence, parse_amount
from swp.readahead import read_ahead
from swp.services import audit
from swp.services.roles import require_manager
from swp.startup import without_collection

if TYPE_CHECKING:
    from sqlalchemy import Alias, ColumnElement, Table
    from sqlalchemy.orm import Session

BANK = "assets:bank"
KINDS = ("income", "expense", "loan", "share-payment", "settlement")
# money moved between the bank and the balance sheet: never income or expense, never shared
SHARES_OWED = "liabilities:profit-share-owed"  # a share-payment debits it and credits the bank
MEMBER_DEFICITS = "assets:deficits-owed"  # what former members owe; a settlement credits it
LOANS = "liabilities:loans:"  # a loan credits its lender's account under it
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def check_category(category: str) -> str:
    value = (category or "").strip().lower()
    if not _CATEGORY.match(value):
        shown = category if len(category or "") <= 60 else f"{category[:60]}..."
        raise InputError(f"not a category: {shown!r}; use a word such as contracts, rent, "
                         "salaries (letters, digits, hyphens, at most 40)")
    return value


def accounts(kind: str, category: str, *, lender: str | None = None) -> tuple[str, str]:
    """(debit, credit) for an entry of this kind."""
    if kind == "income":
        return BANK, f"income:{category}"
    if kind == "expense":
        return f"expenses:{category}", BANK
    if kind == "loan":
        return BANK, f"{LOANS}{lender or category}"
    raise InputError(f"not an entry type: {kind!r} (income or expense)")


def has_its_accounts(kind: str, category: str, debit: str, credit: str) -> bool:
    """Does an entry debit and credit the accounts its kind uses (`swp check` asks it of every
    entry)? Income and expenses the pair `accounts` gives, a loan the bank and a lender's
    account, a share payment and a settlement their fixed pairs."""
    if kind in ("income", "expense"):
        return (debit, credit) == accounts(kind, category)
    if kind == "loan":
        return debit == BANK and credit.startswith(LOANS)
    if kind == "share-payment":
        return (debit, credit) == (SHARES_OWED, BANK)
    if kind == "settlement":
        return (debit, credit) == (BANK, MEMBER_DEFICITS)
    return False


def closed_period_containing(session: Session, day: date) -> Period | None:
    return session.execute(
        select(Period).where(col(Period.start) <= day, col(Period.end) >= day).limit(1)
    ).scalar_one_or_none()


# why no entry is dated after today: the books are kept on a cash basis
NOT_IN_ADVANCE = "the ledger records money once it is received or paid, never in advance"


def after_today(day: date, current: date) -> str:
    """Why an entry dated `day` is refused when today is `current`."""
    return f"{day} is after today ({current}): {NOT_IN_ADVANCE}"


def ensure_entry_day(session: Session, day: date, *, its_entrys_day: bool = False) -> None:
    """An entry may be dated `day`, as every writer of one asks: not after today (today itself
    is allowed; so is a reversal on its entry's own day, `its_entrys_day`, so that an entry
    another tool dated after today can be undone), and not inside a closed period (no entry
    there can be added, changed or reversed)."""
    current = today()
    if day > current and not its_entrys_day:
        raise InputError(after_today(day, current))
    period = closed_period_containing(session, day)
    if period is not None:
        raise PreconditionError(f"{day} is inside the closed period {period.label} "
                                f"({period.start} to {period.end}); corrections go into an open period")


def _clean_text(value: str | None) -> str | None:
    """Memos and refs: surrounding space dropped, empty means none."""
    if value is None:
        return None
    value = value.strip()
    return value or None


# --- recording ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    id: int
    date: date
    kind: str
    amount_pence: int
    category: str


def record(session: Session, *, actor: str | None, kind: str, amount_pence: int, day: date,
           category: str, memo: str | None = None, ref: str | None = None,
           contract_id: int | None = None, partner_id: int | None = None,
           measure: str | None = None, lender: str | None = None) -> Recorded:
    """Record one income, expense or loan entry (a positive amount)."""
    require_manager(session, actor, "recording ledger entries")
    if amount_pence <= 0:
        raise InputError("the amount must be more than zero")
    if amount_pence > MAX_PENCE:
        raise InputError(f"the amount is too large: at most {format_pence(MAX_PENCE)}")
    category = check_category(category)
    if kind == "income":
        rules.refuse(rules.income_category_violations(category))
    ensure_entry_day(session, day)
    memo = _clean_text(memo)
    ref = _clean_text(ref)
    if ref is not None:
        existing = session.execute(select(col(LedgerEntry.id)).where(col(LedgerEntry.ref) == ref)).first()
        if existing:
            raise PreconditionError(f"an entry with ref {ref!r} already exists (#{existing[0]})")
    debit, credit = accounts(kind, category, lender=lender)
    entry = LedgerEntry(date=day, kind=kind, amount_pence=amount_pence, category=category,
                        debit=debit, credit=credit, memo=memo, ref=ref, contract_id=contract_id,
                        partner_id=partner_id, measure=measure, recorded_at=now())
    session.add(entry)
    session.flush()
    assert entry.id is not None  # flushed
    return Recorded(entry.id, day, kind, amount_pence, category)


# --- reversing ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Reversal:
    id: int
    reverses: int
    date: date
    kind: str
    amount_pence: int  # negative for a reversed income or expense
    category: str


# the entries written with a record of their own, which a reversal would leave standing
_RECORDED_WITH = {
    "share-payment": "a profit-share payment, recorded with the payment by 'swp period pay'",
    "settlement": "a former member's deficit settlement, recorded with it by 'swp member settle'",
}


def reverse(session: Session, *, actor: str | None, entry_id: int, reason: str,
            day: date | None = None) -> Reversal:
    """Cancel an entry by appending its reversal (the entry itself is never changed).

    Refused: an entry that does not exist, one already reversed, a reversal (record the entry
    again instead), a profit-share payment or a deficit settlement (each stands with its own
    record), any entry or reversal dated inside a closed period, and a reversal dated
    after today, other than on its entry's own day (so that an entry dated after today, which
    swp refuses but another tool may have written, can still be undone).
    """
    require_manager(session, actor, "reversing ledger entries")
    reason = (reason or "").strip()
    if not reason:
        raise InputError("a reversal needs a reason (--reason), e.g. \"entered twice\"")
    original = session.get(LedgerEntry, entry_id)
    if original is None:
        raise NotFound(f"no ledger entry #{entry_id}")
    recorded_with = _RECORDED_WITH.get(original.kind)
    if recorded_with is not None:
        raise PreconditionError(f"entry #{entry_id} is {recorded_with}: it stands with that record, "
                                "and reversed alone it would leave the books at odds with it")
    if original.reverses is not None:
        raise PreconditionError(f"entry #{entry_id} is itself the reversal of #{original.reverses}; "
                                "to restore that entry, record it again")
    already = session.execute(
        select(col(LedgerEntry.id)).where(col(LedgerEntry.reverses) == entry_id)).scalar_one_or_none()
    if already is not None:
        raise PreconditionError(f"entry #{entry_id} was already reversed by #{already}")
    period = closed_period_containing(session, original.date)
    if period is not None:
        raise PreconditionError(
            f"entry #{entry_id} is dated {original.date}, inside the closed period {period.label} "
            f"({period.start} to {period.end}); it cannot be reversed: record a correcting entry "
            "in an open period instead")
    when = day or original.date
    if when < original.date:
        raise InputError(f"a reversal cannot be dated before the entry it reverses ({original.date})")
    # on its own day, an entry wrongly dated after today can be undone
    ensure_entry_day(session, when, its_entrys_day=when == original.date)
    entry = LedgerEntry(
        date=when, kind=original.kind, amount_pence=-original.amount_pence,
        category=original.category, debit=original.debit, credit=original.credit,
        memo=f"reversal of #{entry_id}: {reason}", ref=None, reverses=entry_id,
        contract_id=original.contract_id, partner_id=original.partner_id,
        measure=original.measure, recorded_at=now())
    session.add(entry)
    session.flush()
    assert entry.id is not None  # flushed
    return Reversal(entry.id, entry_id, when, entry.kind, entry.amount_pence, entry.category)


# --- reading -----------------------------------------------------------------------------

@dataclass(frozen=True)
class EntryView:
    id: int
    date: date
    kind: str
    amount_pence: int
    category: str
    memo: str | None
    ref: str | None
    reverses: int | None
    reversed_by: int | None
    debit: str
    credit: str

    def as_json(self) -> dict[str, Any]:
        """The JSON names the kind type and leaves out the accounts."""
        return {"id": self.id, "date": self.date.isoformat(), "type": self.kind,
                "amount_pence": self.amount_pence, "category": self.category, "memo": self.memo,
                "ref": self.ref, "reverses": self.reverses, "reversed_by": self.reversed_by}


def _range_clauses(table: Table | Alias, start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    if start and end and start > end:
        raise InputError(f"--from {start} is after --to {end}")
    clauses: list[ColumnElement[bool]] = []
    if start is not None:
        clauses.append(table.c.date >= start)
    if end is not None:
        clauses.append(table.c.date <= end)
    return clauses


def list_entries(session: Session, *, start: date | None = None, end: date | None = None,
                 category: str | None = None, kind: str | None = None) -> list[EntryView]:
    """Entries in date order (then id), with the id of any reversal of each."""
    table = table_of(LedgerEntry)
    reversal = table.alias("reversal")
    query = (
        select(table.c.id, table.c.date, table.c.kind, table.c.amount_pence, table.c.category,
               table.c.memo, table.c.ref, table.c.reverses, reversal.c.id, table.c.debit,
               table.c.credit)
        .select_from(table.outerjoin(reversal, reversal.c.reverses == table.c.id))
        .where(*_range_clauses(table, start, end))
        .order_by(table.c.date, table.c.id)
    )
    if category is not None:
        query = query.where(table.c.category == check_category(category))
    if kind is not None:
        if kind not in KINDS:
            raise InputError(f"not an entry type: {kind!r} ({', '.join(KINDS)})")
        query = query.where(table.c.kind == kind)
    return [EntryView(*row) for row in session.execute(query)]


@dataclass(frozen=True)
class Balance:
    """Totals over a date range. Loans are not income, so they are counted apart; share
    payments and settlements are neither (they count in `entries` only)."""

    start: date | None
    end: date | None
    income_pence: int
    expenses_pence: int
    income_by_category: dict[str, int] = field(default_factory=dict)
    expenses_by_category: dict[str, int] = field(default_factory=dict)
    loans_pence: int = 0
    entries: int = 0

    @property
    def net_pence(self) -> int:
        return self.income_pence - self.expenses_pence

    @property
    def by_category(self) -> dict[str, int]:
        """Each category's part of the net: income positive, expenses negative (they add up to
        net_pence even when one word is used for both income and expenses)."""
        out: dict[str, int] = dict(self.income_by_category)
        for category, pence in self.expenses_by_category.items():
            out[category] = out.get(category, 0) - pence
        return dict(sorted(out.items()))

    def as_json(self) -> dict[str, Any]:
        """The JSON names start and end from and to, and adds the net and its categories."""
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "income_pence": self.income_pence, "expenses_pence": self.expenses_pence,
            "net_pence": self.net_pence, "by_category": self.by_category,
            "income_by_category": self.income_by_category,
            "expenses_by_category": self.expenses_by_category,
            "loans_pence": self.loans_pence, "entries": self.entries,
        }


def category_totals(session: Session, *, start: date | None = None, end: date | None = None,
                    kinds: tuple[str, ...] | None = None, kind_descending: bool = False
                    ) -> list[tuple[str, str, int, int]]:
    """(kind, category, total pence, entries) of the entries dated from start to end (each
    inclusive, None: no limit), of these kinds (None: all), in the database's order of kind
    (or its reverse with `kind_descending`: income before expense) then of category.

    Added up in two steps: by day, kind and category, which is the covering index's own order,
    so the database adds each entry as it reads it instead of sorting them all; then those
    few sums (a day's for each category) by kind and category. About a third of the time of
    one GROUP BY kind, category over 100,000 entries; the same integers."""
    table = table_of(LedgerEntry)
    clauses = _range_clauses(table, start, end)
    if kinds is not None:
        clauses.append(table.c.kind.in_(kinds))
    daily = (select(table.c.kind, table.c.category, func.sum(table.c.amount_pence).label("pence"),
                    func.count().label("entries"))
             .where(*clauses)
             .group_by(table.c.date, table.c.kind, table.c.category)
             .subquery("daily"))
    query = (select(daily.c.kind, daily.c.category, func.sum(daily.c.pence), func.sum(daily.c.entries))
             .group_by(daily.c.kind, daily.c.category)
             .order_by(daily.c.kind.desc() if kind_descending else daily.c.kind, daily.c.category))
    return [(kind, category, int(pence), int(entries))
            for kind, category, pence, entries in session.execute(query)]


def balance(session: Session, *, start: date | None = None, end: date | None = None) -> Balance:
    """Income, expenses and net, and each by category: SQL aggregates (`category_totals`)."""
    income: dict[str, int] = {}
    expenses: dict[str, int] = {}
    loans = 0
    entries = 0
    for kind, category, total, count in category_totals(session, start=start, end=end):
        entries += count
        if kind == "income":
            income[category] = total
        elif kind == "expense":
            expenses[category] = total
        elif kind == "loan":
            loans += total
    return Balance(start, end, sum(income.values()), sum(expenses.values()), income, expenses,
                   loans, entries)


def account_balances(session: Session) -> dict[str, tuple[int, int]]:
    """Every account's (debits, credits) in pence, from SQL aggregates. The sum of all debits
    equals the sum of all credits: each entry posts its amount once on each side."""
    table = table_of(LedgerEntry)
    out: dict[str, list[int]] = {}
    debits = select(table.c.debit, func.sum(table.c.amount_pence)).group_by(table.c.debit)
    credits = select(table.c.credit, func.sum(table.c.amount_pence)).group_by(table.c.credit)
    for account, total in session.execute(debits):
        out.setdefault(account, [0, 0])[0] += int(total)
    for account, total in session.execute(credits):
        out.setdefault(account, [0, 0])[1] += int(total)
    return {account: (d, c) for account, (d, c) in sorted(out.items())}


# --- importing a bank export -------------------------------------------------------------

IMPORT_HEADER = ("date", "type", "amount", "category", "memo", "ref")
IMPORT_KINDS = ("income", "expense")
BATCH_ROWS = 1000  # rows checked and inserted at a time: memory stays flat
FIRST_BATCH_ROWS = 100  # the first batch, checked row by row (no date or category met yet): soon in


@dataclass(frozen=True)
class ImportSummary:
    file: str
    rows: int  # data rows read (blank lines not counted)
    added: int
    skipped: int  # already in the books with the same values
    income_pence: int  # of the rows added
    expenses_pence: int
    dry_run: bool
    sha256: str

    @property
    def net_pence(self) -> int:
        return self.income_pence - self.expenses_pence

    def as_json(self) -> dict[str, Any]:
        """The JSON adds net_pence."""
        return {"file": self.file, "rows": self.rows, "added": self.added,
                "skipped": self.skipped, "income_pence": self.income_pence,
                "expenses_pence": self.expenses_pence, "net_pence": self.net_pence,
                "dry_run": self.dry_run, "sha256": self.sha256}


def _header_positions(row: list[str] | None) -> list[int]:
    expected = ",".join(IMPORT_HEADER)
    if row is None:
        raise InputError(f"line 1: the file is empty; the first line must be the header {expected}")
    names = [cell.strip().lower() for cell in row]
    if sorted(names) != sorted(IMPORT_HEADER):
        raise InputError(f"line 1: the header must be {expected} (found {','.join(names)[:120]})")
    positions = [names.index(name) for name in IMPORT_HEADER]
    return _IN_ORDER if positions == _IN_ORDER else positions


_IN_ORDER = list(range(len(IMPORT_HEADER)))  # a header in the usual order: cells as they are
_KIND = {kind: kind for kind in IMPORT_KINDS}  # each kind as one string, not one per row (sent on, pickled, once)


_PLAIN_AMOUNT = re.compile(r"([0-9]{1,8})(?:\.([0-9]{1,2}))?\Z")
# a batch's amounts, one a line, each as _PLAIN_AMOUNT has it
_PLAIN_AMOUNTS = re.compile(r"[0-9]{1,8}(?:\.[0-9]{1,2})?(?:\n[0-9]{1,8}(?:\.[0-9]{1,2})?)*")
_TWO_DECIMALS = re.compile(r"[0-9]{1,8}\.[0-9]{2}(?:\n[0-9]{1,8}\.[0-9]{2})*")  # as most banks write them
_NO_DECIMALS = re.compile(r"^([0-9]+)$", re.MULTILINE)
_ONE_DECIMAL = re.compile(r"\.([0-9])$", re.MULTILINE)
# the columns an import writes, in the order of each row's tuple (the rest are NULL)
IMPORT_COLUMNS = ("date", "kind", "amount_pence", "category", "debit", "credit", "memo", "ref",
                  "recorded_at")
# a row's key: what must match for it to count as already imported (date, kind, pence, category, memo)
_Key: TypeAlias = tuple[date, str, int, str, str | None]
# a row as the driver inserts it, in the order of IMPORT_COLUMNS
_Values: TypeAlias = tuple[Any, ...]


def _day(bound: Any) -> date:
    """A date as the driver takes it (ISO text on SQLite), as a date."""
    return bound if isinstance(bound, date) else date.fromisoformat(bound)


def _key(row: _Values) -> _Key:
    """What must match for a row (as the driver inserts it) to count as already imported."""
    return (_day(row[0]), row[1], row[2], row[3], row[6])


def _describe(key: _Key) -> str:
    day, kind, pence, category, _memo = key
    return f"{day} {kind} {format_pence(pence)} {category}"


class _Importer:
    def __init__(self, session: Session, *, periods: list[tuple[date, date, str]], path: str | None = None) -> None:
        self.session = session
        self.periods = periods
        self.path = path  # the file, read again only to name the line a ref was first on
        self.recorded_at = now()
        self.today = today()
        self.added = 0
        self.skipped = 0
        self.income = 0
        self.expenses = 0
        # SQLite: insert each batch first as if none of its refs were in the books (`settle`)
        self.hopeful = stores_as_bound(session)
        # each distinct text is read once per import (a year has 365 dates, a file a few
        # categories): text -> the checked value, and the value as the driver takes it
        table = table_of(LedgerEntry)
        self.binders = audit.driver_binders(session, table, IMPORT_COLUMNS)
        self.days: dict[str, tuple[date, Any]] = {}
        self.categories: dict[tuple[str, str], tuple[str, str, str]] = {}
        bind_time = self.binders[IMPORT_COLUMNS.index("recorded_at")]
        self.recorded = bind_time(self.recorded_at) if bind_time else self.recorded_at

    def _day(self, text: str) -> tuple[date, Any]:
        """A date text checked (once per import: a date after today is refused, and only a
        date that passes is remembered, so `parse_many` never takes one after today)."""
        known = self.days.get(text)
        if known is None:
            day = parse_date(text, relative=False)  # a file's dates are written out
            if day > self.today:
                raise InputError(after_today(day, self.today))
            bind = self.binders[0]
            known = (day, bind(day) if bind else day)
            if len(self.days) < 4000:
                self.days[text] = known
        return known

    def _category(self, kind: str, text: str, line: int) -> tuple[str, str, str]:
        """(category, debit, credit) of a row's kind and category text."""
        known = self.categories.get((kind, text))
        if known is None:
            category = check_category(text)
            if kind == "income":
                for violation in rules.income_category_violations(category):
                    raise RuleViolation(violation.clause, f"line {line}: {violation.message}")
            known = (category, *accounts(kind, category))
            if len(self.categories) < 1000:
                self.categories[(kind, text)] = known
        return known

    def parse(self, cells: list[str], positions: list[int], line: int) -> _Values:
        """A row checked, as the driver inserts it."""
        if len(cells) != len(IMPORT_HEADER):
            raise InputError(f"line {line}: expected {len(IMPORT_HEADER)} fields "
                             f"({','.join(IMPORT_HEADER)}), found {len(cells)}")
        memo: str | None
        if positions is _IN_ORDER:
            date_text, kind, amount_text, category_text, memo, ref = cells
        else:
            date_text, kind, amount_text, category_text, memo, ref = (cells[i] for i in positions)
        try:
            known_day = self.days.get(date_text)
            day, bound_day = known_day if known_day is not None else self._day(date_text)
            if kind not in IMPORT_KINDS:
                kind = kind.strip().lower()
                if kind not in IMPORT_KINDS:
                    raise InputError(f"not a type: {kind!r}; the type is income or expense")
            kind = _KIND[kind]
            plain = _PLAIN_AMOUNT.match(amount_text)
            pence = 0
            if plain is not None:
                whole, part = plain.groups()
                pence = int(whole) * 100 + (int(part.ljust(2, "0")) if part else 0)
            if not 0 < pence <= MAX_PENCE:  # anything else, and every refusal, as parse_amount has it
                pence = parse_amount(amount_text)
            known = self.categories.get((kind, category_text))
            category, debit, credit = known if known is not None else \
                self._category(kind, category_text, line)
        except InputError as exc:
            raise InputError(f"line {line}: {exc.message}") from None
        ref = ref.strip()
        if not ref:
            raise InputError(f"line {line}: the ref is empty; every row needs its bank reference, "
                             "so that importing the same file again adds nothing")
        memo = memo.strip() or None
        return (bound_day, kind, pence, category, debit, credit, memo, ref, self.recorded)

    def parse_many(self, table: list[list[str]], positions: list[int]) -> list[_Values] | None:
        """A batch of rows (each row's cells) checked a column at a time, as `parse` checks
        each: the rows in file order; or None when a row needs `parse` (a date or category not met
        before, a type to put in lower case, an amount written otherwise than 1234.56, an empty
        ref, a row of another length, a bad row): the caller then parses the batch row by row,
        which also names the first bad row. (A date after today is never met before: `_day`
        refuses it instead of remembering it, so its batch goes row by row.)"""
        if set(map(len, table)) != {len(IMPORT_HEADER)}:
            return None
        columns = list(zip(*table, strict=True))
        if positions is not _IN_ORDER:
            columns = [columns[i] for i in positions]
        date_texts, kinds, amount_texts, category_texts, memo_texts, ref_texts = columns
        if not set(kinds) <= _KIND.keys():
            return None
        kinds = tuple(map(_KIND.__getitem__, kinds))
        try:
            days = list(map(self.days.__getitem__, date_texts))
            categories = list(map(self.categories.__getitem__, zip(kinds, category_texts, strict=True)))
        except KeyError:  # met for the first time: `parse` checks it and remembers it
            return None
        # every amount written 1234.56 (or 1234.5, 1234), in one pass over them all; then
        # each with two decimals, less its point: its pence
        joined = "\n".join(amount_texts)
        if joined.count("\n") != len(amount_texts) - 1:
            return None  # (an amount holding a line end of its own is no plain amount)
        if _TWO_DECIMALS.fullmatch(joined) is None:
            if _PLAIN_AMOUNTS.fullmatch(joined) is None:
                return None
            joined = _ONE_DECIMAL.sub(r".\g<1>0", _NO_DECIMALS.sub(r"\1.00", joined))
        amounts = list(map(int, joined.replace(".", "").split("\n")))
        if min(amounts) <= 0 or max(amounts) > MAX_PENCE:
            return None
        refs = list(map(str.strip, ref_texts))
        if not all(refs):
            return None
        memos: list[str | None] = list(map(str.strip, memo_texts))
        if not all(memos):  # an empty memo is none
            memos = [memo or None for memo in memos]
        # the rows made a column at a time (zip makes each tuple without a Python step)
        bound_days = list(map(itemgetter(1), days))
        names, debits, credits = zip(*categories, strict=True)
        rows = zip(bound_days, kinds, amounts, names, debits, credits, memos, refs,
                   itertools.repeat(self.recorded), strict=False)  # (repeat never ends)
        return list(rows)

    def whole(self, rows: list[_Values]) -> tuple[int, int] | None:
        """A batch's income and expenses, if it can be taken whole: no ref twice, no day in a
        closed period (the usual import); None if it must be gone through row by row
        (`_sorted_row_by_row`), which skips a row given twice and names the first bad row.
        Its refs are not yet looked for in the books (`settle` does)."""
        refs = set(map(itemgetter(7), rows))
        if len(refs) != len(rows):
            return None
        days = list(map(itemgetter(0), rows))  # (as bound: ISO text on SQLite, in date order)
        low, high = _day(min(days)), _day(max(days))
        if any(start <= high and low <= end for start, end, _ in self.periods):
            return None
        amounts = list(map(itemgetter(2), rows))
        income = sum(itertools.compress(amounts, map("income".__eq__, map(itemgetter(1), rows))))
        return income, sum(amounts) - income

    def known(self, refs: list[str]) -> dict[str, tuple[int, _Key]]:
        """The entries already in the books with any of these refs: ref -> (id, key). Asked
        through the driver (the refs as parameters, not SQLAlchemy literals one by one); the
        rare row found has its date read as SQLAlchemy reads it."""
        found: dict[str, tuple[int, _Key]] = {}
        for entry_id, ref, day, kind, pence, category, memo in rows_where_in(
                self.session, table_of(LedgerEntry), ("id", "ref", "date", "kind", "amount_pence", "category", "memo"),
                "ref", refs):
            found[ref] = (entry_id, (day, kind, pence, category, memo))
        return found

    def settle(self, lines: Sequence[int], rows: list[_Values]) -> bool:
        """Check a batch (its rows, and the line each starts on) against the books (refs,
        closed periods), then insert its new rows with one executemany. Raises on the first bad
        row, in file order. Were all its rows inserted, in order (none skipped as already in
        the books or earlier in the batch)?

        On SQLite, while no ref of this import has been found in the books, a batch is first
        inserted as if none of its refs were there, inside a savepoint: the unique index on
        `ref` looks each one up as it inserts it anyway. If one is there (a file imported
        again, a ref already used), the savepoint is rolled back, the refs are asked for and
        the batch is settled as below, and so is every later batch of the import."""
        if not rows:
            return True
        whole = self.whole(rows)
        if self.hopeful:
            connection = self.session.connection()
            try:
                fresh, skipped, income, expenses = self._sorted(lines, rows, whole, {})
            except InputError:  # reported below, where the books' refs come first
                self.hopeful = False
            else:
                from sqlalchemy.exc import IntegrityError

                # (any other failure, a full disk say, ends the import: the whole transaction
                # is rolled back, and SQLite may already have done so, savepoint and all)
                connection.exec_driver_sql("SAVEPOINT swp_import_batch")
                try:
                    self._insert(fresh)
                except IntegrityError:  # a ref of the batch is in the books
                    connection.exec_driver_sql("ROLLBACK TO SAVEPOINT swp_import_batch")
                    connection.exec_driver_sql("RELEASE SAVEPOINT swp_import_batch")
                    self.hopeful = False
                else:
                    connection.exec_driver_sql("RELEASE SAVEPOINT swp_import_batch")
                    self._count(fresh, skipped, income, expenses)
                    return not skipped
        refs = list(set(map(itemgetter(7), rows)))
        fresh, skipped, income, expenses = self._sorted(lines, rows, whole, self.known(refs))
        self._insert(fresh)
        self._count(fresh, skipped, income, expenses)
        return not skipped

    def _sorted(self, lines: Sequence[int], rows: list[_Values], whole: tuple[int, int] | None,
                known: dict[str, tuple[int, _Key]]) -> tuple[list[_Values], int, int, int]:
        """The batch's rows to insert, the number skipped (already in the books, or earlier in
        the batch, with the same values), and the income and expenses of the rows to insert.
        `known`: the books' entries with the batch's refs (`known`).

        A batch with none of its refs in the books that can be taken `whole` (the usual
        import) is; any other is gone through row by row (`_sorted_row_by_row`), which names
        the first bad row."""
        if not known and whole is not None:
            return rows, 0, *whole
        return self._sorted_row_by_row(list(zip(lines, map(_key, rows), rows, strict=True)), known)

    def _sorted_row_by_row(self, batch: list[tuple[int, _Key, _Values]], known: dict[str, tuple[int, _Key]]
                           ) -> tuple[list[_Values], int, int, int]:
        seen: dict[str, tuple[int, _Key]] = {}
        fresh: list[_Values] = []
        skipped = income = expenses = 0
        periods = self.periods
        for line, key, row in batch:
            ref = row[7]
            if known and ref in known:
                entry_id, existing = known[ref]
                if existing != key:
                    first_line = self._line_of_own(entry_id, ref, line)
                    if first_line is not None:
                        raise InputError(f"line {line}: ref {ref!r} is also on line {first_line} "
                                         "with different values")
                    raise InputError(f"line {line}: ref {ref!r} is already entry #{entry_id} "
                                     f"({_describe(existing)}) with different values "
                                     f"({_describe(key)})")
                skipped += 1
                continue
            if ref in seen:
                first_line, first = seen[ref]
                if first != key:
                    raise InputError(f"line {line}: ref {ref!r} is also on line {first_line} "
                                     "with different values")
                skipped += 1
                continue
            if periods:
                day = key[0]
                for start, end, label in periods:
                    if start <= day <= end:
                        raise InputError(f"line {line}: {day} is inside the closed period "
                                         f"{label} ({start} to {end}); corrections go into an open period")
            seen[ref] = (line, key)
            fresh.append(row)
            if key[1] == "income":
                income += key[2]
            else:
                expenses += key[2]
        return fresh, skipped, income, expenses

    def _line_of_own(self, entry_id: int, ref: str, line: int) -> int | None:
        """The line an entry this import made from an earlier batch came from (its ref met
        again, with other values, in a later batch: named as within one batch, by that line);
        None for an entry in the books before the import, or a file that cannot be read again."""
        first = audit.bulk_first_id(self.session, table_of(LedgerEntry))
        if self.path is None or first is None or entry_id < first:
            return None
        return _line_of_ref(self.path, ref, line)

    def _insert(self, fresh: list[_Values]) -> None:
        if fresh:
            audit.bulk_insert(self.session, table_of(LedgerEntry), fresh, columns=IMPORT_COLUMNS)

    def _count(self, fresh: list[_Values], skipped: int, income: int, expenses: int) -> None:
        self.added += len(fresh)
        self.skipped += skipped
        self.income += income
        self.expenses += expenses


def _line_of_ref(path: str, ref: str, until: int) -> int | None:
    """The line the file's first row with `ref` starts on, if before line `until` (None: no
    such row, or the file cannot be read as it was)."""
    try:
        with open(path, "rb") as handle:
            reader = csv.reader(Lines(handle, problem="not UTF-8 text"), strict=True)
            at = _header_positions(next(reader, None))[IMPORT_HEADER.index("ref")]
            for lines, table, failure in _read_rows(reader):
                for line, cells in zip(lines, table, strict=True):
                    if line >= until:
                        return None
                    if len(cells) == len(IMPORT_HEADER) and cells[at].strip() == ref:
                        return line
                if failure is not None:
                    return None
    except (OSError, csv.Error, SwpError):
        pass
    return None


def own_format(path: str) -> bool:
    """Is this swp's own CSV (date,type,amount,category,memo,ref), or empty, or a header made
    only of its column names (so its own, more precise, message explains what is missing)?"""
    with open(path, "rb") as handle:
        for raw in handle:
            text = raw.decode("utf-8", "replace").removeprefix("\ufeff")
            if not text.strip():
                continue
            try:
                row = next(csv.reader([text]), [])
            except csv.Error:  # not swp's own: the bank reader names the line and the problem
                return False
            return {c.strip().lower() for c in row} <= set(IMPORT_HEADER)
    return True


def import_csv(session: Session, path: str, *, actor: str | None, dry_run: bool = False,
               progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Import a bank export (CSV, header date,type,amount,category,memo,ref) whole or not at all.

    The file is read once, a line at a time; rows go in with executemany in batches inside
    the caller's transaction, so a bad row (reported with its line number) leaves nothing
    behind. A row whose ref is already in the books with the same values is skipped; the same
    ref with different values is an error. A dry run does all of it, then rolls it back.
    `progress(bytes_done, bytes_total)` is called as the file is read.
    """
    require_manager(session, actor, "importing ledger entries")
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a CSV file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        if os.path.isdir(path):  # some platforms open folders without complaint
            raise InputError(f"{path} is a folder, not a CSV file")
        total = os.fstat(handle.fileno()).st_size
        periods = [(row.start, row.end, row.label) for row in
                   session.execute(select(col(Period.start), col(Period.end), col(Period.label)))]
        prepare_bulk_write(session)  # indexes grow fast on import
        importer = _Importer(session, periods=periods, path=path)
        source = Lines(handle, problem="not UTF-8 text; save the file as CSV UTF-8")
        savepoint = session.begin_nested() if dry_run else None
        restore = [] if dry_run else set_aside_for_import(session, total)
        try:
            with without_collection():
                rows, sha256 = _import_rows(importer, source, progress, total, ahead=total >= READ_AHEAD_BYTES)
            restore_after_import(session, restore)
        finally:
            if savepoint is not None:
                savepoint.rollback()
    if progress is not None:
        progress(total, total)
    return ImportSummary(os.path.basename(path), rows, importer.added, importer.skipped,
                         importer.income, importer.expenses, dry_run, sha256)


COVER_INDEX = "ix_ledger_entry_date_cover"
PERIOD_LOCK = "ledger_entry_period_lock"
REBUILD_BYTES = 2_000_000  # a file this big (some 30,000 rows) ...
REBUILD_SHARE = 100  # ... and of at least one row per this many bytes for each entry already in the books


def set_aside_for_import(session: Session, total: int) -> list[str]:
    """A big import into SQLite, larger than the books it goes into, sets two things aside for
    its rows and makes them again from their stored SQL before the transaction ends:
    - the covering index of (date, kind, category, amount): made again in one sorted pass;
      growing it row by row in a bank file's order of dates touches a different page for
      nearly every row;
    - the trigger that refuses an entry dated inside a closed period: it runs a query for every
      row, and the import has already checked every row against the closed periods, read in
      this same write transaction (no other writer can close a period before it commits).
    All in the command's one transaction: if the import fails, the rollback brings both back as
    they were, and no other connection ever sees the table without them. Returns the SQL to run
    after the rows (none when nothing was set aside: a small import, or PostgreSQL, where the
    server keeps its index and its trigger)."""
    from swp.db import sqlite_schema_sql

    if total < REBUILD_BYTES:
        return []
    conn = session.connection()
    cover = sqlite_schema_sql(conn, "index", COVER_INDEX)  # None on PostgreSQL
    lock = sqlite_schema_sql(conn, "trigger", PERIOD_LOCK)
    entries = conn.exec_driver_sql("SELECT count(*) FROM ledger_entry").scalar() or 0
    if cover is None or lock is None or total // REBUILD_SHARE < entries:
        return []
    conn.exec_driver_sql(f"DROP INDEX {COVER_INDEX}")
    conn.exec_driver_sql(f"DROP TRIGGER {PERIOD_LOCK}")
    return [cover, lock]


def restore_after_import(session: Session, restore: list[str]) -> None:
    """Make again what `set_aside_for_import` set aside."""
    conn = session.connection()
    for sql in restore:
        conn.exec_driver_sql(sql)


READ_AHEAD_BYTES = 1_000_000  # a file this big is read and checked in a second process, where it can be


class _Batch(NamedTuple):
    """Rows read and checked (as the driver inserts them), the line each starts on, and the
    bytes of the file read so far."""

    lines: Sequence[int]
    rows: list[_Values]
    done: int


class _Digests(NamedTuple):
    """The end of a file read ahead: its SHA-256, and (count, digest) of its rows as the
    import's event records them (None: read back from the books instead)."""

    file: str
    rows: tuple[int, str] | None


def _import_rows(importer: _Importer, source: Lines, progress: Callable[[int, int], None] | None,
                 total: int, *, ahead: bool) -> tuple[int, str]:
    """Check and insert the file's rows a batch at a time: (rows, the file's SHA-256). With
    `ahead`, the file is read and checked by a second process (`read_ahead`), which also
    digests the rows for the import's event, while this one inserts the batches before."""
    session = importer.session
    table = table_of(LedgerEntry)
    batches = _checked_batches(importer, source)
    items: Generator[_Batch | _Digests, None, None] = batches  # (and the digests, when read ahead)
    stream = audit.stream_elsewhere(session, table, IMPORT_COLUMNS) if ahead else None
    if ahead:
        forked = read_ahead(_digested(batches, source, stream))
        if forked is not None:
            items = forked
        elif stream is not None:  # no second process here: this one digests as it inserts
            audit.stream_here(session, table)
            stream = None
    rows = 0
    sha256 = None
    with closing(items):
        for item in items:
            if isinstance(item, _Digests):  # (only from a second process)
                sha256 = item.file
                audit.streamed_elsewhere(session, table, item.rows)
                continue
            rows += len(item.rows)
            if not importer.settle(item.lines, item.rows) and stream is not None:
                audit.not_streamed(session, table)  # rows skipped: not exactly the rows digested
                stream = None
            if progress is not None:
                progress(item.done, total)
    if rows == 0:
        raise InputError("the file has a header but no rows; nothing to import")
    return rows, sha256 or source.digest.hexdigest()


def _digested(batches: Iterator[_Batch], source: Lines, stream: audit.Stream | None) -> Iterator[_Batch | _Digests]:
    """The batches, each digested once sent (in the process reading ahead), then the digests."""
    for batch in batches:
        yield batch
        if stream is not None:
            stream.add(batch.rows)
    yield _Digests(source.digest.hexdigest(), (stream.count, stream.digest.hexdigest()) if stream else None)


def _checked_batches(importer: _Importer, source: Lines) -> Generator[_Batch, None, None]:
    """The file's rows read and checked, a batch at a time. A bad row ends them: the rows
    before it come first (so that an earlier bad row, one already in the books say, is
    reported first), then its error is raised."""
    reader = csv.reader(source, strict=True)
    try:
        positions = _header_positions(next(reader, None))
    except csv.Error as exc:
        raise InputError(f"line 1: {csv_problem(exc)}") from None

    def checked(lines: Sequence[int], table: list[list[str]]) -> tuple[_Batch | None, SwpError | None]:
        """A batch of rows as read (their lines, their cells) checked: the rows before a bad
        one, and its error."""
        if not table:
            return None, None
        rows = importer.parse_many(table, positions)
        failure = None
        if rows is None:  # row by row: each is checked, and a bad one comes after those before it
            rows = []
            for line, cells in zip(lines, table, strict=True):
                try:
                    rows.append(importer.parse(cells, positions, line))
                except SwpError as exc:
                    failure = exc
                    break
            lines = lines[:len(rows)]
        return (_Batch(lines, rows, source.done) if rows else None), failure

    for lines, table, failure in _read_rows(reader):
        batch, bad = checked(lines, table)
        if batch is not None:
            yield batch
        if bad is not None:
            raise bad  # (a bad row comes before a line the reader could not read)
        if failure is not None:
            raise failure


def _read_rows(reader: Any) -> Iterator[tuple[Sequence[int], list[list[str]], SwpError | None]]:
    """The rows after the header, a batch at a time, as the CSV reader (over `Lines`) reads
    them: the line each starts on, its cells (blank rows left out), and, with the last batch
    read, the error of a line that could not be read (the rows before it come with it)."""
    before = reader.line_num  # the lines read so far: the next row starts on the line after
    size = min(FIRST_BATCH_ROWS, BATCH_ROWS)
    while True:
        table: list[list[str]] = []
        unreadable: str | None = None  # why the reader stopped at a line
        failure: SwpError | None = None
        try:  # (`extend` keeps the rows read before a line that cannot be read)
            table.extend(itertools.islice(reader, size))
        except csv.Error as exc:
            unreadable = csv_problem(exc)
        except InputError as exc:  # a line that does not decode (named by `Lines`)
            failure = exc
        if not table and unreadable is None and failure is None:
            return
        stopped = unreadable is not None or failure is not None
        lines, table, after = _lines_of(table, before, None if stopped else reader.line_num - before)
        if unreadable is not None:
            failure = InputError(f"line {after + 1}: {unreadable}")
        yield lines, table, failure
        if failure is not None:
            return
        before = after
        size = BATCH_ROWS


def _lines_of(table: list[list[str]], before: int, taken: int | None
              ) -> tuple[Sequence[int], list[list[str]], int]:
    """Rows as the CSV reader read them after `before` lines, taking `taken` lines (None: not
    known, the reader stopped at a bad line): the line each starts on and its cells, blank rows
    (every cell empty or spaces) left out; and the lines read, those rows' last. A row takes
    one line, and one more for each line end inside its quoted cells."""
    if taken == len(table) and [] not in table:  # a line each, and no row without cells ...
        firsts = list(map(itemgetter(0), table))
        if all(firsts) and not any(map(str.isspace, firsts)):  # ... nor blank: the usual batch
            return range(before + 1, before + 1 + taken), table, before + taken
    lines: list[int] = []
    kept: list[list[str]] = []
    line = before + 1
    for cells in table:
        if (cells and cells[0] and not cells[0].isspace()) or "".join(cells).strip():
            lines.append(line)
            kept.append(cells)
        line += 1 + sum(cell.count("\n") for cell in cells)
    return lines, kept, line - 1


def iter_rows(session: Session, *, batch: int = 2000) -> Iterable[Any]:
    """Every entry (all columns) in date order, streamed from the database."""
    table = table_of(LedgerEntry)
    query = select(table).order_by(table.c.date, table.c.id).execution_options(yield_per=batch)
    yield from session.execute(query)
