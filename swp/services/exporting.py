"""Handing the books to an accountant: beancount, CSV or JSON, streamed from the database.

- beancount: one `open` per account (on the day it is first used) and one balanced
  transaction per entry. `bean-check` accepts it, and its Income and Expenses totals equal
  `swp ledger balance`.
- CSV: one row per entry; amounts are plain numbers in pounds (`-950.00` for a reversal), and
  every text cell that a spreadsheet would run as a formula (starting `=`, `+`, `-`, `@`, a
  tab or a carriage return) is neutralised with a leading single quote.
- JSON: one object with the practice, the balance and every entry (amounts in pence).

Every format also carries what the ledger holds only implicitly, derived from the closed
periods (`declarations`; no row is stored for them): each closed period's profit shares
declared (debit `equity:profit-shares`, credit `liabilities:profit-share-owed`), the change in
what members owe for deficits charged to them or set against their shares
(`assets:deficits-owed` against `equity:profit-shares`), and each deficit written off, all dated
the period's last day (a write-off its own day). So the liability that share payments debit
and the asset that settlements credit never go negative: after a period is paid the liability
is zero, and until then it is `ledger balance`'s shares owed.

`atomic_output` writes a file whole or not at all (swp.files): a temporary file in the same
folder, renamed into place once complete, mode 0600, never replacing an existing file unless
asked to and never writing through a symbolic link.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import func, select, union_all
from sqlmodel import col

from swp import files
from swp.errors import InputError
from swp.models import Allocation, DeficitSettlement, LedgerEntry, Member, Period, Practice, table_of
from swp.money import pence_to_decimal
from swp.reports.spreadsheet import neutralise
from swp.reports.spreadsheet import writer as spreadsheet_writer
from swp.services import ledger
from swp.services.ledger import LOANS, MEMBER_DEFICITS, SHARES_OWED

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

FORMATS = ("beancount", "csv", "json")
CURRENCY = "GBP"
CSV_COLUMNS = ("id", "date", "type", "amount", "category", "memo", "ref", "reverses", "debit",
               "credit")
_ROOTS = {"assets": "Assets", "liabilities": "Liabilities", "equity": "Equity",
          "income": "Income", "expenses": "Expenses"}
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


PROFIT_SHARES = "equity:profit-shares"  # the surplus appropriated to members by closing periods


@dataclass(frozen=True)
class Exported:
    format: str
    entries: int


@dataclass(frozen=True)
class Declared:
    """A transaction derived from a closed period (never stored): shaped like a ledger row, with
    no id, so every writer treats both alike."""

    date: date
    kind: str
    amount_pence: int
    category: str
    memo: str
    ref: str
    debit: str
    credit: str
    id: None = None
    reverses: None = None


def declarations(session: Session) -> list[Declared]:
    """What closing periods put on the balance sheet, in date order: each period's shares
    declared payable, the change in the deficits its members owe, and each write-off."""
    query = (select(col(Period.label), col(Period.end), func.sum(Allocation.payable_pence),
                    func.sum(Allocation.carried_in_pence), func.sum(Allocation.carried_out_pence))
             .join(Allocation, col(Allocation.period_id) == col(Period.id))
             .group_by(col(Period.id), col(Period.label), col(Period.end))
             .order_by(col(Period.end), col(Period.id)))
    out: list[Declared] = []
    for label, end, payable, carried_in, carried_out in session.execute(query):
        payable, charged = int(payable or 0), int(carried_in or 0) - int(carried_out or 0)
        if payable:
            out.append(Declared(end, "declaration", payable, "profit-share",
                                f"profit shares of {label} declared, payable to members",
                                f"swp:declared:{label}", PROFIT_SHARES, SHARES_OWED))
        if charged > 0:
            out.append(Declared(end, "declaration", charged, "deficit-charged",
                                f"deficit of {label} charged to members",
                                f"swp:deficit:{label}", MEMBER_DEFICITS, PROFIT_SHARES))
        elif charged < 0:
            out.append(Declared(end, "declaration", -charged, "deficit-set-off",
                                f"deficits brought forward set against shares of {label}",
                                f"swp:deficit:{label}", PROFIT_SHARES, MEMBER_DEFICITS))
    write_offs = (select(col(DeficitSettlement.id), col(DeficitSettlement.settled_on),
                         col(DeficitSettlement.amount_pence), col(Member.handle))
                  .join(Member, col(Member.id) == col(DeficitSettlement.member_id))
                  .where(col(DeficitSettlement.kind) == "written-off"))
    for number, on, pence, handle in session.execute(write_offs):
        out.append(Declared(on, "write-off", int(pence), "deficit-written-off",
                            f"deficit of {handle} written off", f"swp:write-off:{number}",
                            PROFIT_SHARES, MEMBER_DEFICITS))
    return sorted(out, key=lambda d: (d.date, d.ref))


def _entries(session: Session, declared: list[Declared]) -> Iterator[Any]:
    """The ledger's rows streamed in date order, each day's declarations after its entries."""
    rows: Iterable[Any] = ledger.iter_rows(session)
    merged = heapq.merge(((row.date, 0, row) for row in rows),
                         ((d.date, 1, d) for d in declared), key=lambda t: (t[0], t[1]))
    return (item for _day, _order, item in merged)


def write(session: Session, fmt: str, out: IO[str]) -> Exported:
    """Write the whole ledger to `out` in `fmt` (beancount, csv or json)."""
    if fmt not in FORMATS:
        raise InputError(f"not an export format: {fmt!r}; choose beancount, csv or json")
    writer = {"beancount": write_beancount, "csv": write_csv, "json": write_json}[fmt]
    return Exported(fmt, writer(session, out))


# --- beancount ---------------------------------------------------------------------------

def _component(text: str) -> str:
    """One part of an account's name as beancount spells one: letters without their accents
    ("Crédit" is "Credit"), digits and hyphens, starting with a capital."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = _NOT_IN_NAME.sub("-", plain).strip("-") or "X"
    return name[0].upper() + name[1:]


class AccountNames:
    """swp account (`income:contracts`) -> beancount account (`Income:Contracts`), distinct."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._used: set[str] = set()

    def __call__(self, account: str) -> str:
        if account in self._names:
            return self._names[account]
        root, *rest = account.split(":")
        if account.startswith(LOANS):  # a lender's name is one part, whatever it holds ("Triodos: Bank")
            rest = [rest[0], account[len(LOANS):]]
        parts = [_ROOTS[root.lower()]] if root.lower() in _ROOTS else ["Equity", _component(root)]
        parts += [_component(part) for part in rest] or ["General"]
        name = ":".join(parts)
        candidate, n = name, 1
        while candidate in self._used:  # two swp accounts that spell the same: keep them apart
            n += 1
            candidate = f"{name}-{n}"
        self._names[account] = candidate
        self._used.add(candidate)
        return candidate


def _quote(text: str) -> str:
    text = _CONTROL.sub(" ", text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _amount(pence: int) -> str:
    return f"{pence_to_decimal(pence)} {CURRENCY}"


def _first_use(session: Session, declared: list[Declared]) -> list[tuple[str, date]]:
    """Each account and the first day it is used (SQL aggregate, then the declarations)."""
    table = table_of(LedgerEntry)
    sides = union_all(select(table.c.debit.label("account"), table.c.date),
                      select(table.c.credit.label("account"), table.c.date)).subquery()
    query = select(sides.c.account, func.min(sides.c.date)).group_by(sides.c.account)
    first: dict[str, date] = {account: day for account, day in session.execute(query)}
    for d in declared:
        for account in (d.debit, d.credit):
            first[account] = min(first.get(account, d.date), d.date)
    return sorted(first.items())


def _practice(session: Session) -> tuple[str, str]:
    row = session.execute(select(col(Practice.name), col(Practice.local_authority))).first()
    return (row[0], row[1]) if row else ("swp practice", "")


def write_beancount(session: Session, out: IO[str]) -> int:
    name, _authority = _practice(session)
    names = AccountNames()
    out.write(f"; The books of {_CONTROL.sub(' ', name)}, exported by swp.\n")
    out.write("; Check with: bean-check FILE. Amounts in pounds; each entry is one transaction.\n")
    out.write(f"option \"title\" {_quote(name)}\n")
    out.write(f"option \"operating_currency\" \"{CURRENCY}\"\n\n")
    declared = declarations(session)
    opens = sorted((first, names(account), account) for account, first in _first_use(session, declared))
    for first, beancount_name, _account in opens:
        out.write(f"{first.isoformat()} open {beancount_name} {CURRENCY}\n")
    count = 0
    for row in _entries(session, declared):
        narration = row.memo or f"{row.kind} {row.category}"
        out.write(f"\n{row.date.isoformat()} * {_quote(narration)}\n")
        if row.id is not None:
            out.write(f"  swp-id: \"{row.id}\"\n")
        out.write(f"  type: \"{row.kind}\"\n")
        out.write(f"  category: {_quote(row.category)}\n")
        if row.ref is not None:
            out.write(f"  ref: {_quote(row.ref)}\n")
        if row.reverses is not None:
            out.write(f"  reverses: \"{row.reverses}\"\n")
        out.write(f"  {names(row.debit)}  {_amount(row.amount_pence)}\n")
        out.write(f"  {names(row.credit)}  {_amount(-row.amount_pence)}\n")
        count += 1
    return count


# --- CSV ---------------------------------------------------------------------------------

def write_csv(session: Session, out: IO[str]) -> int:
    writer = spreadsheet_writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in _entries(session, declarations(session)):
        writer.writerow([
            "" if row.id is None else row.id, row.date.isoformat(), neutralise(row.kind),
            str(pence_to_decimal(row.amount_pence)),  # a number, never neutralised
            neutralise(row.category), neutralise(row.memo), neutralise(row.ref),
            "" if row.reverses is None else row.reverses,
            neutralise(row.debit), neutralise(row.credit),
        ])
        count += 1
    return count


# --- JSON --------------------------------------------------------------------------------

def write_json(session: Session, out: IO[str]) -> int:
    name, authority = _practice(session)
    totals = ledger.balance(session)
    head = {"practice": {"name": name, "local_authority": authority},
            "currency": CURRENCY, "balance": {**totals.as_json(), "shares_owed_pence": _owed(session)}}
    out.write(json.dumps(head, ensure_ascii=False, indent=2)[:-2] + ',\n  "entries": [')
    count = 0
    for row in _entries(session, declarations(session)):
        entry = {"id": row.id, "date": row.date.isoformat(), "type": row.kind,
                 "amount_pence": row.amount_pence, "category": row.category, "memo": row.memo,
                 "ref": row.ref, "reverses": row.reverses, "debit": row.debit,
                 "credit": row.credit}
        out.write(("," if count else "") + "\n    " + json.dumps(entry, ensure_ascii=False))
        count += 1
    out.write("\n  ]\n}\n" if count else "]\n}\n")
    return count


# --- writing a file safely ---------------------------------------------------------------

def check_target(path: str, *, force: bool) -> Path:
    """Refuse early (before any work) a target that cannot or must not be written: a missing
    folder, a folder, a symbolic link, or an existing file without `force` (swp.files)."""
    return files.check_path(path, force=force)


def atomic_output(path: str, *, force: bool) -> AbstractContextManager[IO[str]]:
    """A text file (mode 0600) that appears at `path` only once it is complete; an existing
    file is never replaced unless `force`, a symbolic link never (swp.files.atomic_open)."""
    return files.atomic_open(path, force=force, encoding="utf-8", newline="")


def _owed(session: Session) -> int:
    """Profit shares declared and not yet paid, as `ledger balance` shows them."""
    from swp.services.payroll import shares_owed

    return shares_owed(session)
