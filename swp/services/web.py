"""The members' page's own records: one-time enrolment invitations and signed-in browsers.

Only hashes of the invitation and session tokens are stored, so a copy of the database lets no
one sign in. Passkeys themselves (WebAuthn) are in swp.web.passkeys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlmodel import col

from swp.clock import now, today
from swp.errors import NotFound, PermissionDenied, PreconditionError
from swp.models import Member, PasskeyCredential, WebChallenge, WebInvite, WebSession
from swp.services import audit
from swp.services.roles import find_member, latest_facts, require_manager, require_member

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

INVITE_HOURS = 72
SESSION_HOURS = 12


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    """Datetimes read back from SQLite may come without their zone: they are UTC."""
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def is_current(member: Member) -> bool:
    return member.left_on is None or member.left_on >= today()


@dataclass(frozen=True)
class Invitation:
    handle: str
    name: str
    url: str
    expires_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The JSON names the handle member and gives the expiry to the second."""
        return {"member": self.handle, "name": self.name, "url": self.url,
                "expires_at": self.expires_at.isoformat(timespec="seconds")}


def invite(session: Session, *, actor: str | None, handle: str, base_url: str) -> Invitation:
    """A one-time link for `handle` to enrol a passkey on the members' page, valid 72 hours.
    An earlier unused link for the same member stops working. A member invites themselves
    (signed with their own key or passkey); a manager invites only a member who has no key
    and no passkey yet: otherwise the manager could enrol a passkey of their own in the
    member's name."""
    if actor is not None and actor == handle:
        require_member(session, actor, "inviting yourself to the members' page")
        member = find_member(session, handle)
    else:
        require_manager(session, actor, "inviting a member to the members' page")
        member = find_member(session, handle)
        if member.public_key or _has_passkey(session, member):
            raise PermissionDenied(
                f"{handle} already has a {'key' if member.public_key else 'passkey'}: only "
                f"{handle} may invite themselves (swp --as {handle} member invite {handle})")
    if not is_current(member):
        raise PreconditionError(f"{handle} left the practice on {member.left_on}; only current "
                                "members are invited")
    base = (base_url or "").strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise PreconditionError(f"the page's address must start with https:// (or http:// for "
                                f"localhost), not {base_url!r}")
    at = now()
    assert member.id is not None  # a stored member
    session.execute(update(WebInvite).where(col(WebInvite.member_id) == member.id,
                                            col(WebInvite.used_at).is_(None)).values(used_at=at))
    token = secrets.token_urlsafe(32)
    expires = at + timedelta(hours=INVITE_HOURS)
    session.add(WebInvite(member_id=member.id, token_hash=token_hash(token), created_at=at,
                          expires_at=expires, created_by=actor))
    session.flush()
    audit.act(session, "member.invited", {"member": handle, "expires_at": expires})
    return Invitation(handle, member.name, f"{base}/enrol/{token}", expires)


def _has_passkey(session: Session, member: Member) -> bool:
    return session.execute(select(col(PasskeyCredential.id)).where(
        col(PasskeyCredential.member_id) == member.id)).first() is not None


def open_invite(session: Session, token: str) -> tuple[WebInvite, Member]:
    """The unused, unexpired invitation with this token, and its (current) member; else
    NotFound, the same answer for every reason, so a guess learns nothing."""
    invite_row = session.execute(
        select(WebInvite).where(col(WebInvite.token_hash) == token_hash(token or ""))).scalar_one_or_none()
    if invite_row is not None and invite_row.used_at is None and _aware(invite_row.expires_at) > now():
        member = session.get(Member, invite_row.member_id)
        if member is not None and is_current(member):
            return invite_row, member
    raise NotFound("this enrolment link is not valid (used, expired or mistyped); ask the "
                   "business manager for a new one")


def use_invite(session: Session, invite_row: WebInvite) -> None:
    invite_row.used_at = now()
    session.add(invite_row)


# --- sessions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """The signed-in member, as each page sees them."""

    member_id: int
    handle: str
    name: str
    role: str
    is_manager: bool
    csrf: str


def start_session(session: Session, member: Member) -> tuple[str, str]:
    """A new signed-in browser for `member`: (cookie token, CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    at = now()
    assert member.id is not None  # a stored member
    session.add(WebSession(member_id=member.id, token_hash=token_hash(token), csrf=csrf,
                           created_at=at, expires_at=at + timedelta(hours=SESSION_HOURS)))
    session.flush()
    return token, csrf


def viewer(session: Session, token: str | None) -> Viewer | None:
    """Who is signed in with this cookie token: None if nobody, if the session ended or
    expired, or if the member has left the practice."""
    if not token:
        return None
    found = session.execute(
        select(WebSession, Member).join(Member, col(Member.id) == col(WebSession.member_id))
        .where(col(WebSession.token_hash) == token_hash(token))).first()
    if found is None:
        return None
    row, member = found
    if row.ended_at is not None or _aware(row.expires_at) <= now():
        return None
    if not is_current(member):
        return None
    assert member.id is not None and row.id is not None  # stored rows
    fact = latest_facts(session, [member.id]).get(member.id)
    role = fact.role if fact else ""
    # a current member (checked above) is a current manager when their latest role is manager
    return Viewer(member.id, member.handle, member.name, role, role == "manager", row.csrf)


def end_session(session: Session, token: str | None) -> None:
    if not token:
        return
    session.execute(update(WebSession).where(col(WebSession.token_hash) == token_hash(token),
                                             col(WebSession.ended_at).is_(None)).values(ended_at=now()))


def same_token(given: object, expected: object) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


def purge_expired(session: Session) -> dict[str, int]:
    """Delete the page's own records that can no longer be used: expired sign-in and change
    challenges, enrolment links and signed-in sessions (used or not). Three DELETEs on small
    tables: run when the page starts and on each sign-in. A replayed assertion whose challenge
    was purged is still refused (the challenge is unknown), and the assertions kept with
    changes are not touched."""
    at = now()
    counts = {}
    for name, table in (("challenges", WebChallenge), ("invites", WebInvite), ("sessions", WebSession)):
        # a DELETE's result is a CursorResult (rowcount); Session.execute is typed as returning Result
        counts[name] = session.execute(delete(table).where(col(table.expires_at) < at)).rowcount or 0  # type: ignore[attr-defined]
    return counts
