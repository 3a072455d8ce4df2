"""`swp audit`: the hash-chained log of every change and refusal."""

from __future__ import annotations

import typer

from swp.cli._common import call, emit

audit_app = typer.Typer(help="The audit log: every change and every refusal, hash-chained.",
                        no_args_is_help=True)


@audit_app.command("log")
def log(ctx: typer.Context,
        limit: int = typer.Option(50, "--limit", min=0, help="The last N events (0: all).")) -> None:
    """List audit events, oldest first: who did what, when, and whether it was refused.

    Example: swp audit log --limit 20
    """
    from swp.services import audit

    rows = call(ctx, lambda s: audit.events(s, limit=limit or None), write=False)
    payload = {"events": [{"seq": e.seq, "at": e.at, "actor": e.actor, "os_user": e.os_user,
                           "command": e.command, "args": e.args, "outcome": e.outcome,
                           "detail": e.detail, "hash": e.hash} for e in rows]}

    def human():
        from swp import render

        return render.table("Audit log", ["#", "at", "actor", "command", "outcome", "detail"],
                            [(e.seq, e.at[:19], e.actor or "", e.command, e.outcome, e.detail or "")
                             for e in rows], right=["#"])

    emit(ctx, payload, human)


@audit_app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Recompute the audit chain; exit 4 naming the first bad event if it was tampered with.

    Example: swp audit verify
    """
    from swp.errors import CheckFailed
    from swp.services import audit

    result = call(ctx, audit.verify, write=False)
    payload = {"ok": result.ok, "events": result.events, "first_bad": result.first_bad}
    if not result.ok:
        raise CheckFailed(f"audit chain broken at event {result.first_bad}: {result.reason}",
                          payload=payload)
    emit(ctx, payload, lambda: f"The audit chain verifies: {result.events} events, no break.")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
