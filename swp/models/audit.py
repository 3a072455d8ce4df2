"""The hash-chained history of every change and refusal."""

from sqlmodel import Field

from swp.models.base import TableModel


class AuditEvent(TableModel, table=True):
    """The append-only, hash-chained log of every change and every refusal."""

    __tablename__ = "audit_event"
    seq: int = Field(primary_key=True)
    at: str  # ISO-8601 UTC timestamp, as hashed
    actor: str | None = None
    os_user: str
    command: str
    args: str  # canonical JSON
    outcome: str  # 'ok' | 'refused'
    detail: str | None = None
    prev_hash: str
    hash: str
    action: str | None = None  # the domain action(s) of the unit of work (member.admitted, ...)
    payload: str | None = None  # canonical JSON: [[action, payload], ...]
    key_fingerprint: str | None = None  # the key that signed the event (None: unsigned)
    signature: str | None = None  # Ed25519 over the event's hash (hex), or a passkey's (swp.identity.passkey_signature)
    real_at: str | None = None  # the machine's real clock (None: history before signing)
    db_role: str | None = None  # PostgreSQL's session_user (None on SQLite)
