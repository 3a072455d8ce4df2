"""One command, one unit of work: the service runs, its audit event is appended and signed, all
commit together. A guard refusal rolls everything back, then records the refusal alone.

Before the write transaction starts, a short read finds the practice (its id, whether it is a
sandbox) and the acting member's enrolled key, and the key is loaded (a passphrase may be
asked for): nothing waits on a person while the database is locked. Every command, read or
write, first checks that the history still holds the last event this user saw (the remembered
head, docs/identity.md), and that SWP_TODAY is set only in a sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from swp.db import open_database
from swp.errors import NO_PRACTICE, CheckFailed, InputError, NotFound, PermissionDenied, RuleViolation, SwpError
from swp.services import audit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from swp.db import Database
    from swp.identity import Signer
    from swp.services.audit import Verification

T = TypeVar("T")


UNREAD = object()  # the remembered head has not been read yet for this transaction


class StaleSnapshot(Exception):  # noqa: N818 (internal: never leaves this module)
    """The remembered head is newer than this transaction's snapshot: another program's
    command committed it after the snapshot was taken. Not a rollback: read again."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Context:
    """What a command needs to know before its transaction: read in a short one of its own."""

    uid: str
    sandbox: bool
    seed: str | None
    location: str
    actor_exists: bool = False
    actor_key: str | None = None  # the actor's enrolled public key (hex)
    actor_left: bool = False  # left before today: the key is revoked
    founding: bool = True  # no member has ever been a manager: founders admit themselves
    newcomer_exists: bool = False
    any_member: bool = True  # a member has been admitted: from then on every change is signed


def practice_context(session: Session, location: str, *, actor: str | None = None,
                     newcomer: str | None = None, seen: Any = UNREAD, who: bool = True) -> Context:
    """Read the practice's identity, refuse SWP_TODAY outside a sandbox, and check that the
    history still holds the remembered head (`seen`: read before this transaction began, or
    UNREAD to read it now; see `read_checked`). `who=False` (a command that only reads): not
    who acts, whose key signs nothing."""
    from sqlalchemy import select, text
    from sqlmodel import col

    from swp.clock import today

    # the practice's three facts as plain SQL: its table's class is not built for them
    found = session.execute(text("SELECT uid, sandbox, sandbox_seed FROM practice WHERE id = 1")).first()
    if found is None:
        raise NotFound(NO_PRACTICE)
    uid, sandbox, seed = found
    assert uid is not None  # every practice has had one since it was founded or upgraded
    if os.environ.get("SWP_TODAY") and not sandbox:
        raise InputError("SWP_TODAY moves the clock only in a sandbox practice (swp init --sandbox); "
                         "unset it to work on this real practice")
    check_remembered_head(session, uid, location, seen)
    if not who:
        return Context(uid, bool(sandbox), seed, location)
    from swp.models import Member, MemberFact

    # one statement, of one shape whoever acts (compiled once): the actor's key and leaving
    # day, whether anyone has been a manager, whether the newcomer is already a member
    is_actor, is_newcomer = col(Member.handle) == (actor or ""), col(Member.handle) == (newcomer or "")
    exists, public_key, left_on, manager_ever, newcomer_exists, any_member = session.execute(select(
        select(col(Member.id)).where(is_actor).exists(),
        select(col(Member.public_key)).where(is_actor).scalar_subquery(),
        select(col(Member.left_on)).where(is_actor).scalar_subquery(),
        select(col(MemberFact.id)).where(col(MemberFact.role) == "manager").exists(),
        select(col(Member.id)).where(is_newcomer).exists(),
        select(col(Member.id)).exists(),
    )).one()
    exists = bool(actor) and bool(exists)
    return Context(uid, bool(sandbox), seed, location,
                   exists, public_key if exists else None,
                   bool(exists and left_on is not None and left_on < today()),
                   not manager_ever, bool(newcomer) and bool(newcomer_exists), bool(any_member))


def read_checked(database: Database, fn: Callable[[Session, Any], T]) -> T:
    """Run fn(session, seen) in a read transaction, where fn checks the remembered head `seen`.
    The head file is read after the snapshot is taken (the practice's id names the file), so
    a command committed by another program in between is in the file but not in the snapshot.
    Then the file is read again before a fresh transaction, whose snapshot holds everything
    the file names, unless the history was really rolled back."""
    from swp.identity import remembered_head

    try:
        return database.run(lambda session: fn(session, UNREAD), write=False)
    except StaleSnapshot as stale:
        seen = remembered_head(stale.key)
        return database.run(lambda session: fn(session, seen), write=False)


def head_key(uid: str, location: str) -> str:
    """The remembered head is kept per practice and per place it lives (a copy of a practice
    elsewhere is another history from then on)."""
    import hashlib

    return f"{uid}-{hashlib.sha256(location.encode('utf-8')).hexdigest()[:12]}"


def check_remembered_head(session: Session, uid: str, location: str, seen: Any = UNREAD) -> None:
    from sqlalchemy import select
    from sqlmodel import col

    from swp.identity import remembered_head
    from swp.models import AuditEvent

    key = head_key(uid, location)
    read_now = seen is UNREAD
    if read_now:
        seen = remembered_head(key)
    if seen is None:
        return
    seq, digest = seen
    row = session.execute(select(col(AuditEvent.hash)).where(col(AuditEvent.seq) == seq)).first()
    if row is None or row[0] != digest:
        if read_now and row is None and audit.head(session)[0] < seq:
            raise StaleSnapshot(key)
        raise CheckFailed(f"the history was rolled back or rewritten: you last saw event {seq} "
                          f"({digest[:16]}...), which this database no longer holds "
                          "(see docs/identity.md, 'A restored backup')")


def remember(session: Session, uid: str, location: str) -> None:
    from swp.identity import remember_head

    seq, digest = audit.head(session)
    remember_head(head_key(uid, location), seq, digest)


UNNAMED = ("say who makes this change with --as HANDLE (or SWP_AS): once a member has been "
           "admitted, every change is signed by the key of the member who makes it")


def signer_for(ctx: Context, actor: str | None, newcomer: str | None, key_file: str | None,
               interactive: bool = True) -> tuple[Signer | None, SwpError | None]:
    """The key that signs this command (loaded now, before the write transaction), or
    (None, the reason it could not be loaded), raised only if the change goes ahead."""
    from swp import identity

    def load(handle: str) -> Signer:
        if ctx.sandbox and not key_file:
            return identity.sandbox_signer(ctx.seed or "", handle)
        return identity.load_signer(ctx.uid, handle, key_file, interactive)

    if newcomer and (actor is None or actor == newcomer) and ctx.founding and not ctx.newcomer_exists:
        return load(newcomer), None  # a founding member admits themselves with their own key
    if actor is None:
        if ctx.any_member:  # only the founding itself, before anyone is a member, is unsigned
            return None, InputError(UNNAMED)
        return None, None
    if not ctx.actor_exists:
        return None, PermissionDenied(f"{actor!r} is not a member of the practice, so has no key here")
    if ctx.actor_left:
        return None, InputError(f"{actor}'s key was revoked when they left the practice")
    if ctx.actor_key is None:
        return None, InputError(f"{actor} has no key enrolled: make one with 'swp --as {actor} key new'")
    signer = load(actor)  # a missing key or a wrong passphrase stops here: exit 1, nothing changed
    if signer.public_hex != ctx.actor_key:
        raise InputError(f"that key is not {actor}'s enrolled key (a rotated-out or another member's "
                         f"key?); {actor}'s enrolled key is {identity.fingerprint(ctx.actor_key)}")
    return signer, None


# --- changes signed by a member's passkey (the members' page) --------------------------------


@dataclass(frozen=True)
class Confirmation:
    """A change a member asked for on the page, confirmed with their passkey: `intent` is the
    request their passkey signed (swp.identity.passkey_intent: who, the command and its
    arguments, the last event they saw); `seal(session)`, in the change's own transaction,
    checks the passkey's assertion over it, uses its challenge up, and returns the event's
    signature (the assertion and the intent)."""

    intent: str
    seal: Callable[[Session], str]


# the member signed another change (with their passkey, in another tab, say, or their key
# file) after asking for this one: recorded now, this older request would come after the newer
OVERTAKEN = ("you signed another change after asking for this one, so it was not made: nothing "
             "was changed; confirm it again")
NOT_ASKED = ("this change is not the one you confirmed with your passkey, so it was not made: "
             "nothing was changed; confirm it again")


def preview(db: str | None, fn: Callable[[Any], Any], *, command: str, args: dict[str, Any],
            actor: str) -> tuple[int, str]:
    """Make the change fn(session) as `actor` and roll it back, to refuse it before the
    member is asked for their passkey: a refusal by the guard is recorded (unsigned) and
    raised, as `perform` does. Returns the last event of the history it was made on (seq,
    hash): what the member saw when they asked (their passkey's request names it)."""
    database = open_database(db)
    location = database.target.display
    try:
        ctx = read_checked(database, lambda s, seen: practice_context(s, location, actor=actor, seen=seen))
        if not ctx.actor_exists:
            raise PermissionDenied(f"{actor!r} is not a member of the practice")
        if ctx.actor_left:
            raise InputError(f"{actor} left the practice: their passkey signs nothing")

        def body(session: Session) -> None:
            session.info["swp_newcomer_key"] = None
            audit.track_rows(session)
            fn(session)
            audit.append(session, command=command, args=args, actor=actor, passkey=audit.PasskeySeal())
            raise AssertionError("a passkey's preview always ends in Previewed")  # pragma: no cover

        try:
            database.run(body, write=True)
        except audit.Previewed as shown:
            return int(shown.event["seq"]) - 1, str(shown.event["prev_hash"])
        except RuleViolation as refusal:
            record_refusal(database, command=command, args=args, actor=actor, refusal=refusal, ctx=ctx)
            raise
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        database.dispose()


def perform(db: str | None, fn: Callable[[Any], T], *, write: bool, command: str,
            args: dict[str, Any], actor: str | None, newcomer: str | None = None,
            newcomer_key: str | None = None, key_file: str | None = None,
            signer_override: Signer | None = None, interactive: bool = True,
            confirm: Confirmation | None = None) -> T:
    """Run fn(session) on the practice at `db` in one transaction, signed when it writes.
    `newcomer`: the handle a command admits (whose public key it enrols): given as
    `newcomer_key` (hex), else made by a sandbox, else read from this machine's key folder.
    `interactive=False` (the members' page): never ask for a passphrase.
    `confirm`: a change the actor asked for on the page, signed by their passkey: made where
    the history is now, and refused (ChangedMeanwhile, nothing written) unless it is the
    command with the arguments their passkey signed, asked for after their own latest signed
    event."""
    database = open_database(db)
    location = database.target.display
    try:
        if not write:
            def read(session: Session, seen: Any) -> T:
                ctx = practice_context(session, location, seen=seen, who=False)
                session.info["swp_place"] = head_key(ctx.uid, location)  # see audit.verify_here
                result = fn(session)
                remember(session, ctx.uid, location)
                return result

            return read_checked(database, read)

        ctx = read_checked(database, lambda s, seen: practice_context(
            s, location, actor=actor, newcomer=newcomer, seen=seen))
        signer: Signer | None
        unsigned_reason: SwpError | None
        if confirm is not None:  # the member's passkey signs, in the transaction (below)
            signer, unsigned_reason = None, None
        elif signer_override is not None:  # a member enrolling their first key signs with it
            signer, unsigned_reason = signer_override, None
        else:
            signer, unsigned_reason = signer_for(ctx, actor, newcomer, key_file, interactive)
        enrol = None
        if newcomer:
            enrol = newcomer_public_key(ctx, newcomer, newcomer_key, signer)

        def body(session: Session) -> tuple[T, int, str]:
            session.info["swp_newcomer_key"] = enrol
            audit.track_rows(session)
            if confirm is not None:
                return confirmed(session)
            result = fn(session)
            row = audit.append(session, command=command, args=args, actor=actor, signer=signer,
                               unsigned_reason=unsigned_reason)
            return result, row.seq, row.hash

        def confirmed(session: Session) -> tuple[T, int, str]:
            from swp.errors import ChangedMeanwhile
            from swp.identity import read_passkey_intent

            assert confirm is not None and actor is not None  # only called with one, by a member
            asked = read_passkey_intent(confirm.intent)
            if asked is None or (asked["member"], asked["command"], asked["args"]) != (
                    actor, command, audit.canonical(args)):
                raise ChangedMeanwhile(NOT_ASKED)
            # writers take turns from the transaction's start: no signed event of theirs can
            # come between this check and the event appended below (`swp audit verify` checks it)
            if audit.last_signed_by(session, actor) > asked["seen"][0]:
                raise ChangedMeanwhile(OVERTAKEN)
            result = fn(session)
            signature = confirm.seal(session)  # after: an enrolment's passkey is stored by fn
            row = audit.append(session, command=command, args=args, actor=actor,
                               passkey=audit.PasskeySeal(signature))
            return result, row.seq, row.hash

        try:
            result, seq, digest = database.run(body, write=True)
        except RuleViolation as refusal:
            record_refusal(database, command=command, args=args, actor=actor, refusal=refusal,
                           signer=signer if signer is not None and signer.handle == actor else None,
                           ctx=ctx)
            raise
        from swp.identity import remember_head

        remember_head(head_key(ctx.uid, location), seq, digest)
        return result
    finally:
        database.dispose()


def accept_restore(db: str | None) -> dict[str, Any]:
    """Verify the (restored) chain, then remember its head in place of the one seen before."""
    from swp.identity import remember_head, remembered_head
    from swp.services.practice import get_practice

    database = open_database(db)
    location = database.target.display
    try:
        def read(session: Session) -> tuple[str, Verification, int, str]:
            practice = get_practice(session)
            assert practice.uid is not None  # every practice has had one since it was founded or upgraded
            if os.environ.get("SWP_TODAY") and not practice.sandbox:
                raise InputError("SWP_TODAY moves the clock only in a sandbox practice; unset it")
            result = audit.verify(session)
            seq, digest = audit.head(session)
            return practice.uid, result, seq, digest

        uid, result, seq, digest = database.run(read, write=False)
    finally:
        database.dispose()
    key = head_key(uid, location)
    seen = remembered_head(key)
    if result.ok:
        remember_head(key, seq, digest, force=True)
    return {"ok": result.ok, "first_bad": result.first_bad, "reason": result.reason,
            "seq": seq, "hash": digest, "seen": seen[0] if seen else None}


def newcomer_public_key(ctx: Context, handle: str, given: str | None, signer: Signer | None) -> str | None:
    from swp import identity

    if given:
        return identity.parse_public_key(given)
    if signer is not None and signer.handle == handle:
        return signer.public_hex
    if ctx.sandbox:
        return identity.sandbox_signer(ctx.seed or "", handle).public_hex
    public = identity.key_path(ctx.uid, handle).with_suffix(".pub")
    if public.is_file():
        return identity.parse_public_key(public.read_text(encoding="utf-8"))
    return None  # the admission says what is missing (a real practice needs --public-key)


def record_refusal(database: Database, *, command: str, args: dict[str, Any], actor: str | None,
                   refusal: RuleViolation, signer: Signer | None = None, ctx: Context | None = None) -> None:
    def write(session: Session) -> tuple[int, str]:
        row = audit.append(session, command=command, args=args, actor=actor, outcome="refused",
                           detail=refusal.message, signer=signer)
        return row.seq, row.hash

    try:
        seq, digest = database.run(write, write=True)
        if ctx is not None:
            from swp.identity import remember_head

            remember_head(head_key(ctx.uid, ctx.location), seq, digest)
    except SwpError:
        pass  # the refusal stands even if it cannot be logged (a read-only file, say)
