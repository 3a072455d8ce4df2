"""Passkeys (WebAuthn) for the members' page, through py_webauthn (`webauthn` on PyPI).

Everything WebAuthn is in this module, behind a small interface:

- `enrol_options` / `verify_registration` / `enrol_change`: a member's device makes a passkey
  (registration), then the passkey signs its own enrolment (`passkey.enrolled`, holding its
  public key, the page's RP id and origin, and the manager's invitation it answers), as a
  member's first key file signs its own;
- `signin_options` / `signin`: a sign-in (an assertion over a single-use challenge);
- `ask` / `asked` / `seal`: a change on the page (a vote, an address, a proposal) is first
  made and rolled back (swp.services.uow.preview), to refuse it before the passkey is asked;
  the WebAuthn challenge is the digest of the member's request (their intent: who they are,
  the command and its arguments, the last event they saw, a nonce); at the confirmation the
  change is made where the history is then, and the assertion and the request are kept in
  its event as its signature, which `swp audit verify` checks again;
- `assert_over(session, rp, member_id, challenge, response)`: the one place an assertion's
  signature over given challenge bytes is checked at the page.

Every challenge is single-use and expires after CHALLENGE_MINUTES: a replayed assertion is
refused because its challenge was used.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import col

from swp.clock import now
from swp.errors import InputError, PermissionDenied
from swp.models import Member, PasskeyCredential, WebChallenge
from swp.services import audit

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

CHALLENGE_MINUTES = 5
TIMEOUT_MS = 120_000
ENROL = "passkey.enrol"
SIGNIN = "signin"


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the page's exact origin and its host name (the RP id)."""

    id: str
    name: str
    origin: str

    @classmethod
    def for_origin(cls, origin: str, name: str = "swp members' page") -> RelyingParty:
        from urllib.parse import urlsplit

        host = urlsplit(origin).hostname or "localhost"
        return cls(host, name, origin.rstrip("/"))


def _b64(data: bytes) -> str:
    from webauthn.helpers import bytes_to_base64url

    return bytes_to_base64url(data)


def _unb64(text: str) -> bytes:
    from webauthn.helpers import base64url_to_bytes

    return base64url_to_bytes(text)


def fingerprint(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()


def _new_challenge(session: Session, *, member_id: int | None, purpose: str, payload: dict[str, Any],
                   challenge: bytes | None = None) -> bytes:
    challenge = challenge or secrets.token_bytes(32)
    at = now()
    session.add(WebChallenge(challenge=_b64(challenge), member_id=member_id, purpose=purpose,
                             payload=audit.canonical(payload), created_at=at,
                             expires_at=at + timedelta(minutes=CHALLENGE_MINUTES)))
    session.flush()
    return challenge


def refused(why: str) -> PermissionDenied:
    return PermissionDenied(f"the passkey was not accepted ({why}); try again")


_refused = refused


def _open_challenge(session: Session, challenge_b64: str, *, member_id: int | None,
                    purpose: str) -> WebChallenge:
    """The challenge, made for this member and purpose, unused and unexpired (else refused)."""
    from swp.services.web import _aware

    row = session.execute(
        select(WebChallenge).where(col(WebChallenge.challenge) == challenge_b64)).scalar_one_or_none()
    if row is None:
        raise _refused("unknown challenge")
    if row.used_at is not None:
        raise _refused("this assertion was already used")
    if _aware(row.expires_at) <= now():
        raise _refused("the challenge expired")
    if row.purpose != purpose or row.member_id != member_id:
        raise _refused("the challenge was made for something else")
    return row


def _take_challenge(session: Session, challenge_b64: str, *, member_id: int | None, purpose: str,
                    payload: dict[str, Any] | None) -> WebChallenge:
    """The challenge, unused and unexpired, made for this member, purpose and payload; it is
    used up here, so that the same assertion can never be presented twice."""
    row = _open_challenge(session, challenge_b64, member_id=member_id, purpose=purpose)
    if payload is not None and row.payload != audit.canonical(payload):
        raise _refused("the challenge was made for another change")
    row.used_at = now()
    session.add(row)
    session.flush()
    return row


def _credentials(session: Session, member_id: int | None) -> list[PasskeyCredential]:
    if member_id is None:
        return []
    return list(session.execute(select(PasskeyCredential).where(
        col(PasskeyCredential.member_id) == member_id).order_by(col(PasskeyCredential.id))).scalars())


def _descriptors(credentials: list[PasskeyCredential]) -> list[Any]:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

    return [PublicKeyCredentialDescriptor(id=_unb64(c.credential_id)) for c in credentials]


def _client_challenge(response: dict[str, Any]) -> str:
    """The challenge the browser signed over, as base64url, from the response's client data."""
    from webauthn.helpers import parse_client_data_json

    try:
        client_data = parse_client_data_json(_unb64(response["response"]["clientDataJSON"]))
    except Exception:  # noqa: BLE001 - anything malformed is one refusal
        raise _refused("malformed response") from None
    return _b64(client_data.challenge)


def _parse(response: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(response, dict):
        return response
    try:
        value = json.loads(response or "")
    except ValueError:
        raise InputError("the passkey's response is not JSON") from None
    if not isinstance(value, dict):
        raise InputError("the passkey's response is not a JSON object")
    return value


# --- enrolment -------------------------------------------------------------------------------


def enrol_options(session: Session, rp: RelyingParty, member: Member, *, invite_id: int) -> str:
    """Registration options (JSON) for `member`, over a new single-use challenge."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    challenge = _new_challenge(session, member_id=member.id, purpose=ENROL,
                               payload={"invite": invite_id})
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_id=f"swp-member-{member.id}".encode(),
        user_name=member.handle, user_display_name=member.name, challenge=challenge,
        timeout=TIMEOUT_MS, exclude_credentials=_descriptors(_credentials(session, member.id)),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED))
    return options_to_json(options)


@dataclass(frozen=True)
class Registered:
    """A passkey the member's device just made (its registration verified), not yet enrolled:
    its enrolment is a change its own assertion signs (`enrol_change`)."""

    credential_id: str
    public_key: str  # base64url of the COSE key
    sign_count: int

    def as_json(self) -> dict[str, Any]:
        return {"credential_id": self.credential_id, "public_key": self.public_key,
                "sign_count": self.sign_count}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Registered:
        return cls(str(data["credential_id"]), str(data["public_key"]), int(data["sign_count"]))


def verify_registration(session: Session, rp: RelyingParty, member: Member, response: str | dict[str, Any], *,
                        invite_id: int) -> Registered:
    """Verify a registration response (its single-use challenge used up here)."""
    from webauthn import verify_registration_response

    data = _parse(response)
    challenge = _take_challenge(session, _client_challenge(data), member_id=member.id,
                                purpose=ENROL, payload={"invite": invite_id})
    try:
        verified = verify_registration_response(
            credential=data, expected_challenge=_unb64(challenge.challenge),
            expected_origin=rp.origin, expected_rp_id=rp.id, require_user_verification=True)
    except Exception as exc:  # noqa: BLE001 - py_webauthn raises several kinds
        raise _refused(str(exc)[:200]) from None
    credential_id = _b64(verified.credential_id)
    if session.execute(select(col(PasskeyCredential.id)).where(
            col(PasskeyCredential.credential_id) == credential_id)).first():
        raise _refused("this passkey is already enrolled")
    return Registered(credential_id, _b64(verified.credential_public_key), verified.sign_count)


def latest_invitation(session: Session, handle: str) -> int | None:
    """The seq of the latest signed event inviting `handle` to the page (the invitation an
    enrolment answers: `swp audit verify` checks it was a manager's, unexpired and unused)."""
    from swp.models import AuditEvent

    rows = session.execute(select(col(AuditEvent.seq), col(AuditEvent.payload)).where(
        col(AuditEvent.action) == audit.INVITED, col(AuditEvent.outcome) == "ok")
        .order_by(col(AuditEvent.seq).desc()))
    for seq, payload in rows:
        for name, body in json.loads(payload or "[]"):
            if name == audit.INVITED and body.get("member") == handle:
                return int(seq)
    return None


def enrol_change(session: Session, rp: RelyingParty, member: Member, registered: Registered) -> PasskeyCredential:
    """Record the member's new passkey: the change that the passkey itself signs, as a
    member's first key file signs its own enrolment. Its event (`passkey.enrolled`) holds
    the public key, the page it was made for (RP id and origin) and the invitation it answers."""
    if session.execute(select(col(PasskeyCredential.id)).where(
            col(PasskeyCredential.credential_id) == registered.credential_id)).first():
        raise _refused("this passkey is already enrolled")
    public_key = _unb64(registered.public_key)
    assert member.id is not None  # a stored member
    row = PasskeyCredential(member_id=member.id, credential_id=registered.credential_id,
                            public_key=registered.public_key, sign_count=registered.sign_count,
                            fingerprint=fingerprint(public_key), created_at=now())
    session.add(row)
    session.flush()
    audit.act(session, audit.PASSKEY_ENROLLED, {
        "member": member.handle, "credential_id": registered.credential_id,
        "public_key": row.public_key, "fingerprint": row.fingerprint, "rp_id": rp.id,
        "origin": rp.origin, "invitation": latest_invitation(session, member.handle)})
    return row


# --- assertions ------------------------------------------------------------------------------


def _assertion_options(rp: RelyingParty, challenge: bytes, credentials: list[PasskeyCredential]) -> str:
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    options = generate_authentication_options(
        rp_id=rp.id, challenge=challenge, timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(credentials),
        user_verification=UserVerificationRequirement.REQUIRED)
    return options_to_json(options)


@dataclass(frozen=True)
class Asserted:
    """A verified assertion: what a later check needs to verify it again."""

    member_id: int
    credential_id: str
    authenticator_data: str
    client_data_json: str
    signature: str


def assert_over(session: Session, rp: RelyingParty, member_id: int, challenge: bytes,
                response: str | dict[str, Any]) -> Asserted:
    """Verify that one of the member's passkeys signed `challenge` (user verified), and move
    its sign count on. Raises PermissionDenied otherwise."""
    from webauthn import verify_authentication_response

    data = _parse(response)
    given_id = data.get("id")
    credential_id = given_id if isinstance(given_id, str) else ""
    credential = session.execute(select(PasskeyCredential).where(
        col(PasskeyCredential.credential_id) == credential_id,
        col(PasskeyCredential.member_id) == member_id)).scalar_one_or_none()
    if credential is None:
        raise _refused("not one of this member's passkeys")
    try:
        verified = verify_authentication_response(
            credential=data, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=_unb64(credential.public_key),
            credential_current_sign_count=int(credential.sign_count),
            require_user_verification=True)
    except Exception as exc:  # noqa: BLE001 - py_webauthn raises several kinds
        raise _refused(str(exc)[:200]) from None
    credential.sign_count = verified.new_sign_count
    credential.last_used_at = now()
    session.add(credential)
    session.flush()
    body = data.get("response") or {}
    return Asserted(member_id, credential_id, str(body.get("authenticatorData", "")),
                    str(body.get("clientDataJSON", "")), str(body.get("signature", "")))


def signin_options(session: Session, rp: RelyingParty, member: Member | None) -> str:
    """Sign-in options over a new challenge. An unknown handle gets options all the same
    (with no credential in them), so the answer does not say who is a member."""
    member_id = member.id if member is not None else None
    challenge = _new_challenge(session, member_id=member_id, purpose=SIGNIN, payload={})
    return _assertion_options(rp, challenge, _credentials(session, member_id))


def signin(session: Session, rp: RelyingParty, member: Member | None, response: str | dict[str, Any]) -> Member:
    data = _parse(response)
    if member is None:
        raise _refused("unknown member")
    assert member.id is not None  # a stored member
    row = _take_challenge(session, _client_challenge(data), member_id=member.id, purpose=SIGNIN,
                          payload={})
    assert_over(session, rp, member.id, _unb64(row.challenge), data)
    return member


# --- changes signed by the member's passkey ----------------------------------------------------


def ask(session: Session, rp: RelyingParty, member: Member, purpose: str, fields: dict[str, Any], *,
        command: str, args: dict[str, Any], seen: tuple[int, str],
        credential_ids: list[str] | None = None) -> str:
    """Assertion options for one change the member asks for. The challenge is the digest of
    their request (swp.identity.passkey_intent: who they are, the command and its arguments
    as its event will record them, `seen`: the last event of the history when they asked, and
    a random nonce), held single-use for this member with what they asked for (`purpose`,
    `fields`) and the request itself, until they confirm (`asked`, `seal`)."""
    from swp.identity import intent_digest, passkey_intent

    intent = passkey_intent(member.handle, command, audit.canonical(args), seen, secrets.token_hex(16))
    challenge = _new_challenge(session, member_id=member.id, purpose=purpose,
                               payload={"fields": fields, "intent": intent},
                               challenge=bytes.fromhex(intent_digest(intent)))
    if credential_ids is None:
        credentials = _credentials(session, member.id)
    else:
        credentials = [PasskeyCredential(member_id=member.id or 0, credential_id=c, public_key="",
                                         fingerprint="", created_at=now()) for c in credential_ids]
    return _assertion_options(rp, challenge, credentials)


def asked(session: Session, member_id: int, purpose: str,
          response: str | dict[str, Any]) -> tuple[dict[str, Any], str]:
    """What the member asked for and the request their passkey signed (its intent), for the
    challenge their assertion answers: made for this member and purpose, unused and unexpired
    (it is used up by `seal`, in the change's transaction). Raises PermissionDenied otherwise."""
    row = _open_challenge(session, _client_challenge(_parse(response)), member_id=member_id, purpose=purpose)
    held = json.loads(row.payload)
    return dict(held["fields"]), str(held["intent"])


def seal(rp: RelyingParty, member_id: int, purpose: str, intent: str,
         response: str | dict[str, Any]) -> Callable[[Session], str]:
    """The signature of a confirmed change's event, made in its transaction: the challenge
    (checked again: this member's, for this purpose and this request, unused, unexpired) is
    used up, and the member's assertion is checked over the request's digest with a passkey
    enrolled for them (its sign count moved on). The signature keeps the assertion and the
    request, where `swp audit verify` checks them again."""
    data = _parse(response)

    def signature(session: Session) -> str:
        from swp.identity import intent_digest, passkey_signature

        row = _open_challenge(session, _client_challenge(data), member_id=member_id, purpose=purpose)
        if json.loads(row.payload).get("intent") != intent:
            raise _refused("the challenge was made for another change")
        row.used_at = now()
        session.add(row)
        session.flush()
        asserted = assert_over(session, rp, member_id, bytes.fromhex(intent_digest(intent)), data)
        return passkey_signature(asserted.credential_id, asserted.authenticator_data,
                                 asserted.client_data_json, asserted.signature, intent=intent)

    return signature
