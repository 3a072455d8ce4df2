"""The members' page: invitations, sessions, challenges and passkeys, and database logins."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint
from sqlmodel import Field

import swp.models.member  # noqa: F401 - the tables its foreign keys name
from swp.models.base import TableModel


class WebInvite(TableModel, table=True):
    """A one-time enrolment link (`swp member invite`): only a hash of its token is kept."""

    __tablename__ = "web_invite"
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    token_hash: str = Field(unique=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    created_by: str | None = None


class WebSession(TableModel, table=True):
    """A signed-in browser: a hash of its cookie's token, and its CSRF token."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    token_hash: str = Field(unique=True)
    csrf: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None


class WebChallenge(TableModel, table=True):
    """A single-use WebAuthn challenge, bound to a purpose (enrol, sign-in, a change) and to
    the canonical payload of what it authorises."""

    __tablename__ = "web_challenge"
    id: int | None = Field(default=None, primary_key=True)
    challenge: str = Field(unique=True)  # base64url
    member_id: int | None = Field(default=None, foreign_key="member.id")
    purpose: str
    payload: str  # canonical JSON
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class PasskeyCredential(TableModel, table=True):
    """A member's passkey: its WebAuthn credential id and public key (COSE, base64url)."""

    __tablename__ = "passkey_credential"
    __table_args__ = (CheckConstraint("sign_count >= 0", name="sign_count_not_negative"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    credential_id: str = Field(unique=True)  # base64url
    public_key: str  # base64url of the COSE key
    sign_count: int = Field(default=0, sa_type=BigInteger)
    fingerprint: str  # sha256 of the public key, hex
    created_at: datetime
    last_used_at: datetime | None = None


class PasskeyAssertion(TableModel, table=True):
    """A verified passkey assertion kept with the change it authorised, by earlier versions of
    the members' page (a change from the page now keeps its assertion in its own audit event,
    as the event's signature). Append-only; kept for the rows it already holds."""

    __tablename__ = "passkey_assertion"
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    credential_id: str
    action: str  # e.g. vote.cast
    payload: str  # canonical JSON of what was authorised
    challenge: str = Field(unique=True)  # base64url
    authenticator_data: str  # base64url
    client_data_json: str  # base64url
    signature: str  # base64url
    created_at: datetime


class MemberLogin(TableModel, table=True):
    """A PostgreSQL login role bound to a member: the database refuses its events as anyone else."""

    __tablename__ = "member_login"
    role: str = Field(primary_key=True)
    handle: str
