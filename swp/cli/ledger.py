"""`swp ledger`: the practice's books."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from swp.cli._common import acting, amount, call, choose, day, emit, entry_id, money, signed_amount, state

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date

    from sqlalchemy.orm import Session

    from swp.services.banking import BankImportSummary
    from swp.services.ledger import Balance, EntryView, ImportSummary

ledger_app = typer.Typer(help="The books: income, expenses, reversals, imports.",
                         no_args_is_help=True)

class BankProfile(StrEnum):  # swp.importers.csvbank.PROFILES
    starling = "starling"
    monzo = "monzo"
    lloyds = "lloyds"
    natwest = "natwest"
    barclays = "barclays"
    plain = "plain"
    plain_in_out = "plain-in-out"


# A progress bar is worth showing (on a terminal) for files above this size.
PROGRESS_BYTES = 256 * 1024


def _record(ctx: typer.Context, kind: str, amount_text: str, date_text: str, category: str,
            memo: str | None, contract: str | None = None, measure: str | None = None) -> None:
    from swp.services import contracts, ledger

    pence = amount(amount_text)
    when = day(date_text)
    actor = acting(ctx)
    if contract is not None:
        entry = call(ctx, lambda s: contracts.linked_income(
            s, actor=actor, ref=contract, category=category, amount_pence=pence, day=when,
            memo=memo, measure=measure))
    else:
        if measure is not None:
            from swp.errors import InputError

            raise InputError("--measure goes with --contract (an outcome payment)")
        entry = call(ctx, lambda s: ledger.record(s, actor=actor, kind=kind, amount_pence=pence,
                                                  day=when, category=category, memo=memo))
    emit(ctx, {"entry": entry.id},
         lambda: f"Recorded {kind} #{entry.id}: {money(entry.amount_pence)} {entry.category} on {when}.")


def _range(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    return (day(start, "--from date") if start else None, day(end, "--to date") if end else None)


# "-5" must reach the amount check (exit 1, saying what a valid amount is), not read as an option
_AMOUNT_FIRST = {"ignore_unknown_options": True}


@ledger_app.command("income", context_settings=_AMOUNT_FIRST)
def income(
    ctx: typer.Context,
    amount_text: str = typer.Argument(..., metavar="AMOUNT", help="e.g. 12500 or £12,500.50"),
    date: str = typer.Option(..., "--date", metavar="DATE"),
    category: str = typer.Option(..., "--category", help="e.g. contracts, grants."),
    memo: str | None = typer.Option(None, "--memo", metavar="TEXT"),
    contract: str | None = typer.Option(None, "--contract", metavar="REF",
                                        help="The contract this is paid under (category contracts or "
                                             "outcome-payments; within that part of its value)."),
    measure: str | None = typer.Option(None, "--measure", metavar="MEASURE", help="With --contract, for an outcome payment."),
) -> None:
    """Record income received (optionally against a contract with the local authority).

    Example: swp --as mo ledger income 12500 --date 2026-04-30 --category contracts --contract LCC-1 --memo "April invoice"
    """
    _record(ctx, "income", amount_text, date, category, memo, contract, measure)


@ledger_app.command("expense", context_settings=_AMOUNT_FIRST)
def expense(
    ctx: typer.Context,
    amount_text: str = typer.Argument(..., metavar="AMOUNT", help="e.g. 950 or £950.00"),
    date: str = typer.Option(..., "--date", metavar="DATE"),
    category: str = typer.Option(..., "--category", help="e.g. rent, salaries, training."),
    memo: str | None = typer.Option(None, "--memo", metavar="TEXT"),
) -> None:
    """Record an expense paid.

    Example: swp --as mo ledger expense 950 --date 2026-04-01 --category rent --memo "April rent"
    """
    _record(ctx, "expense", amount_text, date, category, memo)


@ledger_app.command("list")
def list_(
    ctx: typer.Context,
    start: str | None = typer.Option(None, "--from", metavar="DATE", help="First day (inclusive)."),
    end: str | None = typer.Option(None, "--to", metavar="DATE", help="Last day (inclusive)."),
    category: str | None = typer.Option(None, "--category", metavar="CATEGORY", help="Only this category."),
) -> None:
    """List ledger entries in date order; reversals show a negative amount.

    Loans appear with type 'loan': borrowed money, never income.

    Example: swp ledger list --from 2025-04-01 --to 2026-03-31 --category rent
    """
    from swp import render
    from swp.services import ledger

    first, last = _range(start, end)
    entries = call(ctx, lambda s: ledger.list_entries(s, start=first, end=last, category=category),
                   write=False)

    def note(e: EntryView) -> str:
        if e.reverses is not None:
            return f"reverses #{e.reverses}"
        if e.reversed_by is not None:
            return f"reversed by #{e.reversed_by}"
        return ""

    def human() -> object:
        if not entries:
            return "No entries."
        return render.table(
            "Ledger", ["id", "date", "type", "amount", "category", "memo", "ref", "note"],
            [(e.id, e.date, e.kind, money(e.amount_pence), e.category, e.memo, e.ref, note(e))
             for e in entries], right=["id", "amount"])

    emit(ctx, {"entries": [e.as_json() for e in entries]}, human)


@ledger_app.command("balance")
def balance(
    ctx: typer.Context,
    start: str | None = typer.Option(None, "--from", metavar="DATE", help="First day (inclusive)."),
    end: str | None = typer.Option(None, "--to", metavar="DATE", help="Last day (inclusive)."),
) -> None:
    """Show income, expenses and net, in total and by category (loans are not income).

    Example: swp ledger balance --from 2025-04-01 --to 2026-03-31
    """
    from swp import render
    from swp.services import ledger

    first, last = _range(start, end)

    def work(session: Session) -> tuple[Balance, int]:
        from swp.services.payroll import shares_owed

        return ledger.balance(session, start=first, end=last), shares_owed(session)

    result, owed = call(ctx, work, write=False)

    def human() -> object:
        from rich.console import Group

        span = f"{first or 'the start'} to {last or 'the end'}" if (first or last) else "all dates"
        totals = [("income", money(result.income_pence)),
                  ("expenses", money(result.expenses_pence)),
                  ("net", money(result.net_pence))]
        if result.loans_pence:
            totals.append(("loans (not income)", money(result.loans_pence)))
        if owed:
            totals.append(("profit shares owed to members (not yet paid)", money(owed)))
        rows = [("income", c, money(p)) for c, p in result.income_by_category.items()]
        rows += [("expense", c, money(p)) for c, p in result.expenses_by_category.items()]
        parts = [render.pairs(f"Balance, {span}", totals)]
        if rows:
            parts.append(render.table("By category", ["type", "category", "amount"], rows,
                                      right=["amount"]))
        return Group(*parts)

    emit(ctx, {**result.as_json(), "shares_owed_pence": owed}, human)


@ledger_app.command("reverse")
def reverse(
    ctx: typer.Context,
    entry: str = typer.Argument(..., metavar="ENTRY", help="The entry's id, from 'swp ledger list'."),
    reason: str = typer.Option(..., "--reason", help="Why it is reversed (kept in the books)."),
    date: str | None = typer.Option(None, "--date", metavar="DATE",
                                    help="Date of the reversal; the original entry's date if not given."),
) -> None:
    """Cancel an entry by recording its reversal (an entry is never edited or deleted).

    An entry can be reversed once; a reversal cannot itself be reversed (record the entry
    again instead); nothing dated inside a closed period can be reversed; nor can a profit-share
    payment or a deficit settlement, each written with a record of its own.

    Example: swp --as mo ledger reverse 12 --reason "entered twice"
    """
    from swp.services import ledger

    number = entry_id(entry)
    when = day(date) if date else None
    actor = acting(ctx)
    result = call(ctx, lambda s: ledger.reverse(s, actor=actor, entry_id=number, reason=reason,
                                                day=when))
    emit(ctx, {"entry": result.id, "reverses": result.reverses},
         lambda: (f"Reversed #{result.reverses} with #{result.id}: {money(result.amount_pence)} "
                  f"{result.kind} {result.category} on {result.date}."))


@ledger_app.command("import")
def import_(
    ctx: typer.Context,
    file: str = typer.Argument(..., metavar="FILE",
                               help="swp's own CSV, a bank's CSV export, OFX, QIF or CAMT.053."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Check every row and show what would be recorded; write nothing."),
    profile: BankProfile | None = typer.Option(None, "--profile", metavar="NAME", parser=choose(BankProfile),
                                               help="Read the CSV as this bank's export: "
                                                    f"{', '.join(BankProfile)} ('swp ledger profiles')."),
    mapping: str | None = typer.Option(None, "--mapping", metavar="FILE.toml",
                                       help="Read any other CSV through a mapping file (docs/ledger.md)."),
    rules: str | None = typer.Option(None, "--rules", metavar="FILE.toml",
                                     help="Categories for bank lines: description patterns to categories."),
    uncategorised: str | None = typer.Option(None, "--uncategorised", metavar="CATEGORY",
                                             help="The category for bank lines no rule matches."),
) -> None:
    """Import swp's own CSV or a bank's file (CSV, OFX, QIF, CAMT.053): the whole file or nothing.

    The format is recognised from the file; a bank CSV by its header (--profile forces one,
    --mapping reads any other shape). Bank lines get categories from --rules; lines no rule
    matches stop the import unless --uncategorised says where they go. Lines already imported
    are skipped, a line matching an entry entered by hand is linked to it, and a running
    balance in the file is checked against the books. The first problem stops the import
    with its line number, and nothing is written.

    Example: swp --as mo ledger import examples/starling-april.csv --rules examples/bank-rules.toml --dry-run
    """
    import os
    import sys
    import time

    from swp.services import ledger

    st = state(ctx)
    actor = acting(ctx)
    readable = True
    try:
        own = ledger.own_format(file) and not (profile or mapping)
    except OSError:
        own, readable = True, False  # the service names the problem (no such file, say)
    if own and readable and (rules or uncategorised):
        from swp.errors import InputError

        raise InputError("swp's own CSV carries its categories; --rules and --uncategorised are for bank files")
    bank = not own
    args: dict[str, Any] = {"file": file, "dry_run": dry_run}  # the file's sha256 is added once it is read
    if bank:
        args.update({k: v for k, v in (("profile", profile), ("mapping", mapping), ("rules", rules),
                                        ("uncategorised", uncategorised)) if v})

    def run(progress: Callable[[int, int], None] | None = None) -> ImportSummary | BankImportSummary:
        def work(session: Session) -> ImportSummary | BankImportSummary:
            summary: ImportSummary | BankImportSummary
            if bank:
                from swp.services import banking  # (its table classes: only for a bank file)

                summary = banking.import_bank(session, file, actor=actor, profile=profile,
                                              mapping=mapping, rules=rules,
                                              uncategorised=uncategorised, dry_run=dry_run,
                                              progress=progress)
            else:
                summary = ledger.import_csv(session, file, actor=actor, dry_run=dry_run,
                                            progress=progress)
            args["sha256"] = summary.sha256
            return summary

        return call(ctx, work, write=not dry_run, args=args)

    try:
        size = os.path.getsize(file)
    except OSError:
        size = 0  # the service names the problem
    if sys.stdout.isatty() and not st.json and size >= PROGRESS_BYTES:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        from swp.render import console

        # (drawn as the import reports, not by a thread of its own: with no other thread
        # running, a long file can be read ahead in a second process)
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                      TimeRemainingColumn(), console=console(), transient=True, auto_refresh=False) as bar:
            task = bar.add_task("Checking" if dry_run else "Importing", total=size)
            drawn = [0.0]

            def report(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)
                if time.monotonic() - drawn[0] >= 0.1:  # ten times a second at most
                    drawn[0] = time.monotonic()
                    bar.refresh()

            summary = run(report)
    else:
        summary = run()

    def human() -> object:
        totals = (f"income {money(summary.income_pence)}, expenses "
                  f"{money(summary.expenses_pence)}, net {money(summary.net_pence)}")
        from swp.render import count

        if not bank:
            if dry_run:
                return (f"Dry run of {summary.file}: {count(summary.rows, 'row')}; {summary.added} would be "
                        f"added, {summary.skipped} skipped (already in the books); {totals}. "
                        "Nothing was written.")
            return (f"Imported {summary.file}: {count(summary.rows, 'row')}; {summary.added} added, "
                    f"{summary.skipped} skipped (already in the books); added {totals}.")
        from swp.services.banking import BankImportSummary

        assert isinstance(summary, BankImportSummary)
        return _bank_summary(summary, totals)

    emit(ctx, summary.as_json(), human)


def _bank_summary(summary: BankImportSummary, totals: str) -> object:
    from rich.console import Group

    from swp import render

    would = "would be " if summary.dry_run else ""
    order = f", dates read as {summary.date_order}" if summary.date_order in ("DD/MM", "MM/DD") else ""
    lines = [f"{'Dry run of' if summary.dry_run else 'Imported'} {summary.file} ({summary.format}{order}): "
             f"{render.count(summary.rows, 'line')}; {summary.added} {would}added, {summary.skipped} skipped "
             f"(already in the books), {summary.linked_count} {would}linked to entries entered by hand; "
             f"{'' if summary.dry_run else 'added '}{totals}."]
    if summary.zero:
        lines.append(f"{render.count(summary.zero, 'line')} of no amount "
                     f"{'was' if summary.zero == 1 else 'were'} left out.")
    if summary.counted_elsewhere:
        one = summary.counted_elsewhere == 1
        lines.append(f"{render.count(summary.counted_elsewhere, 'line')} "
                     f"{'is a profit share paid or a deficit settled' if one else 'are profit shares paid or deficits settled'}"
                     ", which swp already counts ('period pay', 'member settle'); not added.")
    if summary.uncategorised:
        lines.append(f"{render.count(summary.uncategorised, 'line')} matched no rule and went to the "
                     "--uncategorised category.")
    for line, entry in summary.linked[:20]:
        lines.append(f"{summary.place.capitalize()} {line} {would}linked to entry #{entry} (entered by hand), "
                     "not added again.")
    if summary.balance_days:
        days = "its one day" if summary.balance_days == 1 else f"all {summary.balance_days:,} days"
        lines.append(f"The bank's running balance matches the books on {days}.")
    if summary.dry_run:
        lines.append("Nothing was written.")
    parts = ["\n".join(lines)]
    if summary.dry_run and summary.preview:
        parts.insert(0, render.table(
            f"What would be recorded (first {len(summary.preview)})",
            ["line", "date", "type", "amount", "category", "description", "action"],
            [(p["line"], p["date"], p["type"], money(p["amount_pence"]), p["category"],
              p["description"][:50], p["action"]) for p in summary.preview],
            right=["line", "amount"]))
    return Group(*parts)


@ledger_app.command("profiles")
def profiles(ctx: typer.Context) -> None:
    """List the bank CSV shapes swp recognises by their header.

    Example: swp ledger profiles
    """
    from swp import render
    from swp.importers.csvbank import PROFILES

    rows = [(p.name, p.title, ",".join(p.header) + (f"[,{','.join(p.optional)}]" if p.optional else ""),
             p.date_order or "DD/MM or MM/DD, from the file") for p in PROFILES]
    emit(ctx, {"profiles": [{"name": r[0], "bank": r[1], "header": r[2], "dates": r[3]} for r in rows]},
         lambda: render.table("Bank CSV profiles", ["name", "bank", "header", "dates"], rows))


@ledger_app.command("reconcile", context_settings=_AMOUNT_FIRST)
def reconcile(
    ctx: typer.Context,
    balance: str | None = typer.Option(None, "--balance", metavar="AMOUNT",
                                       help="The bank's balance at the end of --date, e.g. 10250.00 or -120.50."),
    date: str | None = typer.Option(None, "--date", metavar="DATE"),
) -> None:
    """Check the books' bank account against the bank's balance and record it as an assertion.

    Refused (nothing recorded) when the books say otherwise. Every assertion recorded is
    checked again by 'swp check'. Without --balance, lists the assertions and whether each holds.

    Example: swp --as mo ledger reconcile --balance 10250.00 --date 2026-03-31
    """
    from swp import render
    from swp.errors import InputError
    from swp.services import banking

    if balance is None:
        if date is not None:
            raise InputError("--date goes with --balance (the bank's balance at the end of that day)")
        found = call(ctx, banking.assertions, write=False)
        emit(ctx, {"assertions": [a.as_json() for a in found]},
             lambda: render.table("Balance assertions", ["date", "bank", "books", "holds"],
                                  [(a.date, money(a.balance_pence), money(a.books_pence),
                                    "yes" if a.holds else "NO") for a in found],
                                  right=["bank", "books"]) if found else "No balance assertions.")
        return
    if date is None:
        raise InputError("--balance needs --date: the day whose closing balance it is")
    pence = signed_amount(balance)
    when = day(date)
    actor = acting(ctx)
    result = call(ctx, lambda s: banking.reconcile(s, actor=actor, balance_pence=pence, day=when))
    emit(ctx, result.as_json(),
         lambda: f"The books' bank account at the end of {when} is {money(pence)}, as the bank says; recorded.")


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
