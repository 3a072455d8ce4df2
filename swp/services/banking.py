"""The books as the bank sees them: importing bank files (CSV profiles, mapping files, OFX,
QIF, CAMT.053), linking bank lines to entries entered by hand, checking the bank's running
balance, and balance assertions that `swp check` keeps checking.

An imported bank line becomes an ordinary ledger entry (income when money came in, expense
when it went out) whose `ref` is the line's stable identity: the bank's transaction id where
the format has one (`bank:<id>`), otherwise a hash of date, amount, description and the line's
occurrence number among identical lines that day (`line:<hash>`). Importing an overlapping
statement again therefore adds only the new lines. A bank line that matches an entry entered by
hand (same type and amount, dated within LINK_DAYS, no bank identity yet) is linked to it in
`bank_link` instead of being added.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import func, select
from sqlmodel import col

from swp.clock import now, today
from swp.dates import DATE_RANGE, FIRST_YEAR, LAST_YEAR
from swp.db import prepare_bulk_write, rows_where_in
from swp.errors import InputError
from swp.models import BalanceAssertion, BankLink, DeficitSettlement, LedgerEntry, Period, ProfitPayment, table_of
from swp.money import format_pence
from swp.services import audit
from swp.services.ledger import (
    BANK,
    IMPORT_COLUMNS,
    accounts,
    after_today,
    check_category,
    restore_after_import,
    set_aside_for_import,
)
from swp.services.roles import require_manager

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from swp.importers import BankLine
    from swp.importers.rules import Rules

BATCH_ROWS = 1000
LINK_DAYS = 3
PREVIEW_ROWS = 50
SHOWN_UNMATCHED = 20
_UNMATCHED_KEPT = 5000
# (kind, pence) -> the candidates a bank line could be: [day, entry id] for entries entered by
# hand, [day, what it is] for money swp already counts
_Pool: TypeAlias = dict[tuple[str, int], list[list[Any]]]


@dataclass
class BankImportSummary:
    file: str
    format: str
    rows: int = 0
    added: int = 0
    skipped: int = 0  # already in the books (same identity)
    zero: int = 0  # lines of no amount (not entries)
    linked: list[tuple[int, int]] = field(default_factory=list)  # (line, entry id), first 100
    linked_count: int = 0
    counted_elsewhere: int = 0  # profit shares paid or deficits settled, already counted
    income_pence: int = 0
    expenses_pence: int = 0
    uncategorised: int = 0  # lines given the --uncategorised category
    balance_days: int = 0  # days whose closing balance was checked
    date_order: str | None = None
    place: str = "line"  # what a line's number counts: a line of the file, or a transaction
    dry_run: bool = False
    sha256: str = ""
    preview: list[dict[str, Any]] = field(default_factory=list)

    @property
    def net_pence(self) -> int:
        return self.income_pence - self.expenses_pence

    def as_json(self) -> dict[str, Any]:
        """The JSON adds net_pence, names linked lines and the days checked, in its own order."""
        return {"file": self.file, "format": self.format, "rows": self.rows, "added": self.added,
                "skipped": self.skipped, "zero": self.zero, "linked_count": self.linked_count,
                "counted_elsewhere": self.counted_elsewhere,
                "linked": [{"line": line, "entry": entry} for line, entry in self.linked],
                "income_pence": self.income_pence, "expenses_pence": self.expenses_pence,
                "net_pence": self.net_pence, "uncategorised": self.uncategorised,
                "balance_days_checked": self.balance_days, "date_order": self.date_order,
                "dry_run": self.dry_run, "sha256": self.sha256, "preview": self.preview}


# --- opening -----------------------------------------------------------------------------------

def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_path(path: str) -> None:
    if os.path.isdir(path):
        raise InputError(f"{path} is a folder, not a bank file")
    if not os.path.exists(path):
        raise InputError(f"no such file: {path}")


class _Opened:
    def __init__(self, name: str, lines: Iterator[BankLine], order: str | None = None,
                 done: Callable[[], int] | None = None, digest: Callable[[], str] | None = None,
                 handle: IO[bytes] | None = None) -> None:
        self.name, self.lines, self.order = name, lines, order
        self.done = done or (lambda: 0)
        self.digest = digest
        self.handle = handle


def open_bank_file(path: str, *, profile: str | None = None, mapping: str | None = None) -> _Opened:
    from swp.importers import refuse_wide_text, sniff

    if profile and mapping:  # two answers to one question: which is meant cannot be guessed
        raise InputError("--profile and --mapping both say how to read a CSV file's columns: give one of them")
    _check_path(path)
    with open(path, "rb") as handle:
        head = handle.read(8192)
    kind = sniff(head, path)
    if mapping is None:  # a mapping's encoding is checked, and named, with the mapping
        refuse_wide_text(head, path)
    if kind != "csv" and (profile or mapping):
        raise InputError(f"{path} is {kind.upper()}, not CSV: --profile and --mapping are for CSV files")
    if kind == "ofx":
        from swp.importers.formats import read_ofx

        return _Opened("ofx", read_ofx(path))
    if kind == "qif":
        from swp.importers.formats import read_qif

        return _Opened("qif", read_qif(path))
    if kind == "camt053":
        from swp.importers.formats import read_camt

        return _Opened("camt053", read_camt(path))
    if kind == "xml":
        raise InputError(f"{path} is XML but neither OFX nor a CAMT.053 bank statement")
    from swp.importers import csvbank

    forced = csvbank.load_mapping(mapping) if mapping else csvbank.profile_named(profile) if profile else None
    if forced is not None and forced.date_order is None:
        order = csvbank.decide_order(path, forced)
    else:
        order = forced.date_order if forced else None
    handle = open(path, "rb")  # noqa: SIM115 - closed by the caller
    try:
        found, names, lines, reader = csvbank.read_header(handle, forced, path)
        if forced is None:
            order = found.date_order or csvbank.decide_order(path, found)
    except BaseException:
        handle.close()
        raise
    return _Opened(found.name, csvbank.iter_lines(found, names, reader, order), order,
                   done=lambda: lines.done, digest=lines.whole_digest, handle=handle)


# --- importing ---------------------------------------------------------------------------------

class _Days:
    """Per day: the first and last line (number, balance, amount), for the balance check."""

    def __init__(self) -> None:
        self.first: dict[date, tuple[int, int, int, str]] = {}
        self.last: dict[date, tuple[int, int, int, str]] = {}
        self.usable = True
        self.start: date | None = None
        self.end: date | None = None

    def add(self, bank: BankLine) -> None:
        if bank.balance is None:
            self.usable = False
            return
        item = (bank.line, bank.balance, bank.pence, bank.description)
        self.first.setdefault(bank.date, item)
        self.last[bank.date] = item
        if self.start is None:
            self.start = bank.date
        self.end = bank.date


class _BankImporter:
    def __init__(self, session: Session, summary: BankImportSummary, ruleset: Rules,
                 uncategorised: str | None) -> None:
        self.session = session
        self.summary = summary
        self.ruleset = ruleset
        self.uncategorised = uncategorised
        self.unmatched: Counter[str] = Counter()  # descriptions no rule matches (the most kept)
        self.unmatched_lines = 0
        self.recorded_at = now()
        self.periods = [(row.start, row.end, row.label) for row in
                        session.execute(select(col(Period.start), col(Period.end), col(Period.label)))]
        self.accounts: dict[tuple[str, str], tuple[str, str]] = {}
        # entries are linked only to entries entered by hand (no ref): when the books have none,
        # no batch needs to look (an import itself adds none)
        table = table_of(LedgerEntry)
        # rows go to the driver as tuples of IMPORT_COLUMNS, each value as SQLAlchemy would bind
        # it (as `ledger import` writes them): a day is bound once, the recording time once
        self.binders = audit.driver_binders(session, table, IMPORT_COLUMNS)
        bind_time = self.binders[IMPORT_COLUMNS.index("recorded_at")]
        self.recorded = bind_time(self.recorded_at) if bind_time else self.recorded_at
        self.bound_days: dict[date, Any] = {}
        self.others = self._other_money(session)
        self.any_hand = session.execute(
            select(table.c.id).where(table.c.ref.is_(None), table.c.reverses.is_(None)).limit(1)
        ).first() is not None
        self.hand: _Pool | None = None  # read once, at the first batch (see _hand_entries)
        # bank ids of lines this import made no entry of: where, date, type and amount. A later
        # batch finds a linked line's link in the books, but not its values, and finds nothing
        # of a line of no amount or one counted elsewhere; as many as such lines
        self.met_here: dict[str, tuple[str, date, str, int]] = {}

    def settle(self, batch: list[tuple[BankLine, str]]) -> None:
        """Each line of a batch, in order: compared by its identity with the lines before it
        (every line, whatever becomes of it), then left out (no amount, or counted elsewhere),
        linked to an entry entered by hand, or added."""
        if not batch:
            return
        table = table_of(LedgerEntry)
        identities = list({identity for _, identity in batch})
        known: dict[str, tuple[int, date | None, str | None, int | None]] = {}
        for ref, entry_id, day, kind, pence in rows_where_in(
                self.session, table, ("ref", "id", "date", "kind", "amount_pence"), "ref", identities):
            known[ref] = (entry_id, day, kind, pence)
        # a line linked to an entry entered by hand: the bank's day, and the entry's type and amount
        linked = list(rows_where_in(self.session, table_of(BankLink), ("identity", "entry_id", "line_date"),
                                    "identity", identities))
        if linked:
            entries = {entry_id: (kind, pence) for entry_id, kind, pence in rows_where_in(
                self.session, table, ("id", "kind", "amount_pence"), "id", [e for _, e, _ in linked])}
            for identity, entry_id, line_date in linked:
                kind, pence = entries[entry_id]
                known[identity] = (entry_id, line_date, kind, pence)
        pool = self._hand_entries() if self.any_hand else {}
        fresh: list[tuple[Any, ...]] = []  # in the order of IMPORT_COLUMNS
        new_links: list[dict[str, Any]] = []
        # identities met earlier in this batch (only a bank's id can be met twice): where, date,
        # type and amount; an earlier batch's lines are in the books (or in met_here)
        seen: dict[str, tuple[str, date, str, int]] = {}
        summary = self.summary
        for bank, identity in batch:
            pence = abs(bank.pence)
            kind = "income" if bank.pence > 0 else "expense"
            if identity in known or identity in seen or identity in self.met_here:
                # met earlier in this import (named by its line), or in the books already
                first = seen.get(identity) or self.met_here.get(identity)
                if first is not None and first[1:] != (bank.date, kind, pence):
                    where, first_day, first_kind, first_pence = first
                    raise InputError(f"{bank.where}: the bank's transaction {identity[5:]!r} is also on "
                                     f"{where} ({first_day} {first_kind} {format_pence(first_pence)}) "
                                     f"with different values ({bank.date} {kind} {format_pence(pence)})")
                entry_id, day, old_kind, old_pence = known.get(identity, (None, None, None, None))
                if day is not None and (day, old_kind, old_pence) != (bank.date, kind, pence):
                    assert old_pence is not None  # an entry's, or a linked one's
                    raise InputError(f"{bank.where}: the bank's transaction {identity[5:]!r} is "
                                     f"already entry #{entry_id} ({day} {old_kind} {format_pence(old_pence)}) "
                                     f"with different values ({bank.date} {kind} {format_pence(pence)})")
                summary.skipped += 1
                continue
            seen[identity] = (bank.where, bank.date, kind, pence)
            if not pence or self.counted_elsewhere(bank) is not None:
                if not pence:
                    summary.zero += 1
                if identity.startswith("bank:"):
                    self.met_here[identity] = seen[identity]
                continue
            category = self._category(bank.description)
            if category is None:
                continue
            match = self._take(pool, kind, pence, bank.date)
            if match is not None:
                entry_id, _entry_day = match
                if identity.startswith("bank:"):
                    self.met_here[identity] = seen[identity]
                new_links.append({"identity": identity, "entry_id": entry_id, "line_date": bank.date,
                                  "description": bank.description[:500] or None,
                                  "linked_at": self.recorded_at})
                summary.linked_count += 1
                if len(summary.linked) < 100:
                    summary.linked.append((bank.line, entry_id))
                self._preview(bank, kind, category, f"linked to #{entry_id}")
                continue
            for start, end, label in self.periods:
                if start <= bank.date <= end:
                    raise InputError(f"{bank.where}: {bank.date} is inside the closed period "
                                     f"{label} ({start} to {end}); corrections go into an open period")
            pair = self.accounts.get((kind, category))
            if pair is None:
                pair = self.accounts[(kind, category)] = accounts(kind, category)
            day = self.bound_days.get(bank.date)
            if day is None:
                bind = self.binders[0]
                day = bind(bank.date) if bind else bank.date
                if len(self.bound_days) < 4000:
                    self.bound_days[bank.date] = day
            fresh.append((day, kind, pence, category, pair[0], pair[1], bank.description[:500] or None,
                          identity, self.recorded))
            if kind == "income":
                summary.income_pence += pence
            else:
                summary.expenses_pence += pence
            if len(summary.preview) < PREVIEW_ROWS:
                self._preview(bank, kind, category, "add")
        if fresh:
            audit.bulk_insert(self.session, table, fresh, columns=IMPORT_COLUMNS)
            summary.added += len(fresh)
        if new_links:
            audit.bulk_insert(self.session, table_of(BankLink), new_links)

    @staticmethod
    def _other_money(session: Session) -> _Pool:
        """Money swp already has in the bank account from its own records: profit shares paid
        (each member's, and each payday's total, as a bureau pays it) and deficits settled
        (`period pay` and `member settle` write their own ledger entries)."""
        from swp.models import Member

        pool: _Pool = {}
        totals: dict[tuple[str, date], int] = {}
        for label, handle, paid_on, pence in session.execute(
                select(col(Period.label), col(Member.handle), col(ProfitPayment.paid_on), col(ProfitPayment.amount_pence))
                .join(Period, col(Period.id) == col(ProfitPayment.period_id))
                .join(Member, col(Member.id) == col(ProfitPayment.member_id))):
            pool.setdefault(("expense", int(pence)), []).append([paid_on, f"{handle}'s profit share of {label}"])
            totals[(label, paid_on)] = totals.get((label, paid_on), 0) + int(pence)
        for (label, paid_on), pence in totals.items():
            pool.setdefault(("expense", pence), []).append([paid_on, f"the profit shares of {label}"])
        for handle, on, pence in session.execute(
                select(col(Member.handle), col(DeficitSettlement.settled_on), col(DeficitSettlement.amount_pence))
                .join(Member, col(Member.id) == col(DeficitSettlement.member_id))
                .where(col(DeficitSettlement.kind) == "settled")):
            pool.setdefault(("income", int(pence)), []).append([on, f"{handle}'s deficit settled"])
        return pool

    def counted_elsewhere(self, bank: BankLine) -> str | None:
        """A bank line that is a profit-share payment or a deficit settlement swp already
        counts: what it is, or None."""
        if not self.others:
            return None
        kind = "income" if bank.pence > 0 else "expense"
        found = self._take(self.others, kind, abs(bank.pence), bank.date)
        if found is None:
            return None
        self.summary.counted_elsewhere += 1
        what: str = found[0]
        self._preview(bank, kind, "", f"already counted: {what}")
        return what

    def _category(self, description: str) -> str | None:
        """A line's category: the first rule's that matches, else --uncategorised's, else None
        (the line is counted among those no rule matches)."""
        category = self.ruleset.category(description)
        if category is not None:
            return category
        if self.uncategorised is None:
            self.unmatched_lines += 1
            if description in self.unmatched or len(self.unmatched) < _UNMATCHED_KEPT:
                self.unmatched[description] += 1
            return None
        self.summary.uncategorised += 1
        return self.uncategorised

    def _preview(self, bank: BankLine, kind: str, category: str, action: str) -> None:
        if len(self.summary.preview) < PREVIEW_ROWS:
            self.summary.preview.append({
                "line": bank.line, "date": bank.date.isoformat(), "type": kind,
                "amount_pence": abs(bank.pence), "category": category,
                "description": bank.description, "action": action})

    def _hand_entries(self) -> _Pool:
        """Entries entered by hand that a bank line could be: no ref, not a reversal, not
        reversed, not yet linked, dated after the last closed period less LINK_DAYS (a line
        inside a closed period is refused). Read once for the whole import, at its first batch:
        a link made takes its entry out of the pool (`_take`), and an import adds no hand entry.
        How many there are depends on the books' open periods, never on the file."""
        if self.hand is not None:
            return self.hand
        table = table_of(LedgerEntry)
        reversal = table.alias("reversal")
        links = table_of(BankLink)
        query = (select(table.c.id, table.c.date, table.c.kind, table.c.amount_pence)
                 .where(table.c.ref.is_(None), table.c.reverses.is_(None),
                        table.c.kind.in_(("income", "expense")),
                        ~select(reversal.c.id).where(reversal.c.reverses == table.c.id).exists(),
                        ~select(links.c.id).where(links.c.entry_id == table.c.id).exists())
                 .order_by(table.c.date, table.c.id))
        closed = max((end for _start, end, _label in self.periods), default=None)
        if closed is not None:
            query = query.where(table.c.date > closed - timedelta(days=LINK_DAYS))
        pool: _Pool = {}
        for entry_id, day, kind, pence in self.session.execute(query):
            pool.setdefault((kind, pence), []).append([day, entry_id])
        self.hand = pool
        return pool

    @staticmethod
    def _take(pool: _Pool, kind: str, pence: int, day: date) -> tuple[Any, date] | None:
        candidates = pool.get((kind, pence))
        if not candidates:
            return None
        best = min(candidates, key=lambda c: (abs((c[0] - day).days), c[0], c[1]))
        if abs((best[0] - day).days) > LINK_DAYS:
            return None
        candidates.remove(best)
        return best[1], best[0]


def import_bank(session: Session, path: str, *, actor: str | None, profile: str | None = None,
                mapping: str | None = None, rules: str | None = None,
                uncategorised: str | None = None, dry_run: bool = False,
                progress: Callable[[int, int], None] | None = None) -> BankImportSummary:
    """Import a bank file whole or not at all (see the module's docstring)."""
    from swp.importers import Identities
    from swp.importers.rules import NO_RULES, load_rules

    require_manager(session, actor, "importing ledger entries")
    if uncategorised is not None:
        uncategorised = check_category(uncategorised)
    ruleset = load_rules(rules) if rules else NO_RULES
    opened = open_bank_file(path, profile=profile, mapping=mapping)
    try:
        total = os.path.getsize(path)
        summary = BankImportSummary(os.path.basename(path), opened.name, date_order=opened.order,
                                    dry_run=dry_run)
        prepare_bulk_write(session)
        importer = _BankImporter(session, summary, ruleset, uncategorised)
        restore = [] if dry_run else set_aside_for_import(session, total)
        identify = Identities()
        days = _Days()
        savepoint = session.begin_nested() if dry_run else None
        # a bank file is made on or before today: every line's date is from FIRST_YEAR to today
        first, current = date(FIRST_YEAR, 1, 1), today()
        try:
            batch: list[tuple[BankLine, str]] = []
            for bank in opened.lines:
                summary.rows += 1
                if not first <= bank.date <= current:
                    if not FIRST_YEAR <= bank.date.year <= LAST_YEAR:
                        raise InputError(f"{bank.where}: date out of range: {bank.date.isoformat()}; "
                                         f"swp takes dates {DATE_RANGE}")
                    raise InputError(f"{bank.where}: {after_today(bank.date, current)}")
                if summary.rows == 1:
                    summary.place = bank.place
                days.add(bank)
                batch.append((bank, identify(bank)))
                if len(batch) >= BATCH_ROWS:
                    importer.settle(batch)
                    batch = []
                    if progress is not None:
                        progress(opened.done(), total)
            importer.settle(batch)
            # made again before the balance check reads the books by day
            restore_after_import(session, restore)
            if importer.unmatched_lines:
                raise InputError(_unmatched_message(importer.unmatched, importer.unmatched_lines, bool(rules)))
            if summary.rows == 0:
                raise InputError(f"{path}: no transactions in the file; nothing to import")
            if days.usable and days.start is not None:
                summary.balance_days = _check_running_balance(session, days)
            summary.sha256 = opened.digest() if opened.digest else _file_digest(path)
        finally:
            if savepoint is not None:
                savepoint.rollback()
    finally:
        if opened.handle is not None:
            opened.handle.close()
    if progress is not None:
        progress(total, total)
    if not dry_run:
        audit.act(session, "ledger.imported", {
            "file": summary.file, "format": summary.format, "sha256": summary.sha256,
            "rows": summary.rows, "added": summary.added, "skipped": summary.skipped,
            "linked": summary.linked_count, "income_pence": summary.income_pence,
            "expenses_pence": summary.expenses_pence})
    return summary


def _unmatched_message(unmatched: Counter[str], lines: int, had_rules: bool) -> str:
    shown = unmatched.most_common(SHOWN_UNMATCHED)
    listing = "\n".join(f"  {count:>6}  {text or '(no description)'}" for text, count in shown)
    more = len(unmatched) - len(shown)
    more_text = f"\n  ... and {more} more descriptions" if more > 0 else ""
    fix = ("add rules for them to the rules file" if had_rules
           else "give a rules file (--rules FILE) that maps descriptions to categories")
    return (f"{lines} line{' matches' if lines == 1 else 's match'} no rule, so nothing was written:\n"
            f"{listing}{more_text}\nTo import, {fix}, or give --uncategorised CATEGORY for the rest.")


# --- the bank's balance against the books -------------------------------------------------------

def books_bank_changes(session: Session, start: date, end: date) -> tuple[int, dict[date, int]]:
    """The books' bank account: its balance at the end of the day before `start`, and each
    day's change from `start` to `end` (every ledger entry on it, share payments paid out and
    deficits settled in among them)."""
    table = table_of(LedgerEntry)
    before = 0
    daily: dict[date, int] = {}
    for side, sign in (("debit", 1), ("credit", -1)):
        column = table.c[side]
        before += sign * int(session.execute(
            select(func.coalesce(func.sum(table.c.amount_pence), 0))
            .where(column == BANK, table.c.date < start)).scalar_one())
        for day, total in session.execute(
                select(table.c.date, func.sum(table.c.amount_pence))
                .where(column == BANK, table.c.date >= start, table.c.date <= end)
                .group_by(table.c.date)):
            daily[day] = daily.get(day, 0) + sign * int(total)
    return before, daily


def books_bank_balance(session: Session, on: date) -> int:
    """The books' bank account at the end of `on`."""
    return books_bank_changes(session, on + timedelta(days=1), on)[0]


def _check_running_balance(session: Session, days: _Days) -> int:
    """The bank's closing balance of each day in the file against the books' bank account from
    the same opening balance; the first day where they part stops the import, naming its line."""
    assert days.start is not None and days.end is not None  # the caller checks a line was seen
    newest_first = days.start > days.end
    first_day, last_day = min(days.start, days.end), max(days.start, days.end)
    before, daily = books_bank_changes(session, first_day, last_day)
    # a linked hand entry counts on its bank line's day, as the bank saw it
    link_rows = session.execute(
        select(col(LedgerEntry.date), col(BankLink.line_date), col(LedgerEntry.kind), col(LedgerEntry.amount_pence))
        .join(BankLink, col(BankLink.entry_id) == col(LedgerEntry.id))
        .where(col(BankLink.line_date) >= first_day - timedelta(days=LINK_DAYS * 2),
               col(BankLink.line_date) <= last_day + timedelta(days=LINK_DAYS * 2)))
    for entry_day, line_day, kind, pence in link_rows:
        signed = pence if kind == "income" else -pence
        if entry_day != line_day:
            for day, change in ((entry_day, -signed), (line_day, signed)):
                if day < first_day:
                    before += change
                elif day <= last_day:
                    daily[day] = daily.get(day, 0) + change
    opening_item = days.last[first_day] if newest_first else days.first[first_day]
    bank_opening = opening_item[1] - opening_item[2]
    offset = bank_opening - before
    books = before
    checked = 0
    day = first_day
    while day <= last_day:
        books += daily.get(day, 0)
        if day in days.first:
            line, balance, _pence, description = days.first[day] if newest_first else days.last[day]
            checked += 1
            if balance - offset != books:
                raise InputError(
                    f"line {line} ({day}, {description[:60]}): the bank's balance is {format_pence(balance)} "
                    f"but the books' bank account comes to {format_pence(books + offset)} from the same "
                    f"opening balance ({format_pence(bank_opening)}); they part on {day}: a line is missing "
                    "from the books, or entered twice. Nothing was written.")
        day += timedelta(days=1)
    return checked


# --- balance assertions --------------------------------------------------------------------------

@dataclass(frozen=True)
class Assertion:
    id: int
    date: date
    balance_pence: int
    books_pence: int

    @property
    def holds(self) -> bool:
        return self.balance_pence == self.books_pence

    def as_json(self) -> dict[str, Any]:
        """The JSON adds holds."""
        return {"id": self.id, "date": self.date.isoformat(), "balance_pence": self.balance_pence,
                "books_pence": self.books_pence, "holds": self.holds}


def reconcile(session: Session, *, actor: str | None, balance_pence: int, day: date) -> Assertion:
    """Record the bank's balance at the end of `day` as an assertion; refused (nothing
    recorded) when the books' bank account says otherwise."""
    require_manager(session, actor, "reconciling the books with the bank")
    books = books_bank_balance(session, day)
    if books != balance_pence:
        raise InputError(f"the books' bank account at the end of {day} is {format_pence(books)}, "
                         f"not {format_pence(balance_pence)} (a difference of "
                         f"{format_pence(balance_pence - books)}): import or enter what is missing first")
    row = BalanceAssertion(date=day, balance_pence=balance_pence, recorded_at=now(), recorded_by=actor)
    session.add(row)
    session.flush()
    assert row.id is not None  # flushed
    audit.act(session, "ledger.reconciled", {"date": day.isoformat(), "balance_pence": balance_pence})
    return Assertion(row.id, day, balance_pence, books)


def assertions(session: Session) -> list[Assertion]:
    out: list[Assertion] = []
    for row in session.execute(select(BalanceAssertion).order_by(col(BalanceAssertion.date),
                                                                  col(BalanceAssertion.id))).scalars():
        assert row.id is not None  # a stored assertion
        out.append(Assertion(row.id, row.date, int(row.balance_pence),
                             books_bank_balance(session, row.date)))
    return out
