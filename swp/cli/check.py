"""`swp check`: every invariant of the constitution and the books, in one report."""

from __future__ import annotations

import typer

from swp.cli._common import call, emit, state


def check(ctx: typer.Context) -> None:
    """Check every invariant: members are employees with the minimum hours, practitioners are
    a majority, the cap holds, no shares exist, one vote per member, entrenched clauses are
    unchanged, the ledger balances, closed periods add up, the audit chain verifies, no AGM
    or annual return is overdue, and the database file is sound. Lists every problem found;
    exit 4 if there is any. Also notes entries that no period will ever share (dated before
    the first closed period).

    Example: swp check
    """
    from swp.errors import CheckFailed
    from swp.services import check as checks

    report = call(ctx, checks.run, write=False)
    payload = report.as_json()

    def human() -> object:
        from swp import render

        notes = "".join(f"\nNote: {n}." for n in report.notices)
        if report.ok:
            return (f"All clear: {len(report.checks)} checks "
                    f"({', '.join(report.checks)}) found no problem.{notes}")
        return render.table(f"swp check: {len(report.problems)} problem(s)",
                            ["check", "clause", "problem"],
                            [(p.check, p.clause or "", p.message) for p in report.problems])

    if report.ok:
        emit(ctx, payload, human)
        return
    if not state(ctx).json:
        emit(ctx, payload, human)  # every problem on stdout; the one-line summary on stderr
    first = report.problems[0]
    more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
    raise CheckFailed(f"check found {len(report.problems)} problem(s): {first.check}: "
                      f"{first.message}{more}", payload=payload)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
