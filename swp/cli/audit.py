"""`swp audit`: the hash-chained log of every change and refusal."""

from __future__ import annotations

import typer

from swp.cli._common import call, emit, state, whole_number

audit_app = typer.Typer(help="The audit log: every change and every refusal, hash-chained.",
                        no_args_is_help=True)


def _limit(text: str) -> int:
    return whole_number(text, f"--limit takes a number of events (0: all), not {str(text)[:40]!r}", least=0)


@audit_app.command("log")
def log(ctx: typer.Context,
        limit: int = typer.Option(50, "--limit", parser=_limit, help="The last N events (0: all).")) -> None:
    """List audit events, oldest first: who did what, when, and whether it was refused.

    Example: swp audit log --limit 20
    """
    from swp.services import audit

    rows = call(ctx, lambda s: audit.events(s, limit=limit or None), write=False)
    payload = {"events": [{"seq": e.seq, "at": e.at, "actor": e.actor, "os_user": e.os_user,
                           "command": e.command, "args": e.args, "outcome": e.outcome,
                           "detail": e.detail, "hash": e.hash} for e in rows]}

    def human() -> object:
        from swp import render

        return render.table("Audit log", ["#", "at", "actor", "command", "outcome", "detail"],
                            [(e.seq, e.at[:19], e.actor or "", e.command, e.outcome, e.detail or "")
                             for e in rows], right=["#"])

    emit(ctx, payload, human)


LAST_SEQ = 2**63 - 1  # the largest event number a database can hold (a signed 64-bit integer)


def _witness(text: str | None) -> tuple[int, str] | None:
    """--witness SEQ:HASH. A SEQ no database can hold is a typing slip, refused as such: an
    event beyond the log's end that could exist is one the history lost (verify says so)."""
    import re

    from swp.errors import InputError

    if not text:
        return None
    seq, sep, digest = text.strip().partition(":")
    digest = digest.strip().lower()
    digits = seq.lstrip("0")
    if not sep or not re.fullmatch(r"[0-9]+", seq) or not digits or len(digest) != 64 or any(
            c not in "0123456789abcdef" for c in digest):
        raise InputError(f"--witness takes SEQ:HASH (the audit head a statement printed), not {text[:80]!r}")
    if len(digits) > len(str(LAST_SEQ)) or int(digits) > LAST_SEQ:  # no int() of a huge text
        shown = digits if len(digits) <= 40 else digits[:40] + "..."
        raise InputError(f"--witness: no audit log can hold an event {shown} (event numbers go up "
                         f"to {LAST_SEQ}); check the SEQ:HASH the statement printed")
    return int(digits), digest


@audit_app.command("verify")
def verify(ctx: typer.Context,
           witness: str | None = typer.Option(None, "--witness", metavar="SEQ:HASH",
                                              help="An audit head you kept (a statement prints one): the history must still hold it."),
           full: bool = typer.Option(False, "--full",
                                     help="Check every signature again, also those an earlier verify on this computer checked.")) -> None:
    """Recompute the audit chain and check every signature against the key its member had
    enrolled at that moment; exit 4 naming the first bad event. Every event is hashed and
    linked each time; the signatures an earlier verify on this computer checked are checked
    again only if one of them or its event changed, or with --full.

    Example: swp audit verify --witness 12:3f5e...
    """
    from swp.errors import CheckFailed
    from swp.services import audit

    seen = _witness(witness)
    result = call(ctx, lambda s: audit.verify_here(s, witness=seen, full=full), write=False)
    payload = {"ok": result.ok, "events": result.events, "first_bad": result.first_bad,
               "signed": result.signed, "unsigned_history": result.unsigned_history,
               "unsigned_refusals": result.unsigned_refusals,
               "unsigned_founding": result.unsigned_founding,
               "signatures_checked_before": result.signatures_trusted}
    if not result.ok:
        raise CheckFailed(f"audit chain broken at event {result.first_bad}: {result.reason}",
                          payload=payload)

    def human() -> str:
        from swp.render import count

        text = (f"The audit chain verifies: {count(result.events, 'event')}, no break; "
                f"{result.signed:,} signed by their members' keys")
        if result.unsigned_refusals:
            text += f", {count(result.unsigned_refusals, 'unsigned refusal')}"
        if result.unsigned_history:
            text += (f"; {count(result.unsigned_history, 'event')} "
                     f"{'is' if result.unsigned_history == 1 else 'are'} unsigned history from before signing")
        if result.signatures_trusted:
            text += (f" ({result.signatures_trusted} of them unchanged since an earlier verify on this "
                     "computer checked them; --full checks them again)")
        if result.unsigned_founding:
            text += (f"; {result.unsigned_founding} unsigned while the practice was founded, before "
                     "its first manager (the founding itself, and any change made then without --as)")
        if seen:
            text += f". It holds event {seen[0]} as you witnessed it"
        return text + "."

    emit(ctx, payload, human)


@audit_app.command("accept-restore")
def accept_restore(ctx: typer.Context) -> None:
    """Accept that the practice was restored from an older backup: after checking the chain
    and its signatures, remember its present head as the last event you saw. Do this only
    when the members have agreed to the restore (docs/identity.md).

    Example: swp audit accept-restore
    """
    from swp.errors import CheckFailed
    from swp.services import uow

    result = uow.accept_restore(state(ctx).db)
    if not result["ok"]:
        raise CheckFailed(f"audit chain broken at event {result['first_bad']}: {result['reason']}; "
                          "this copy cannot be accepted")
    emit(ctx, result, lambda: (
        f"Accepted the restored history: it ends at event {result['seq']} ({result['hash'][:16]}...)"
        + (f"; you had seen event {result['seen']}" if result["seen"] else "")
        + ". Record the restore by a resolution, and tell the other members."))


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
