"""The register of members, and each member's history of role, hours and pay."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field

from swp.models.base import TableModel, pence


class Member(TableModel, table=True):
    """A member-owner: a person employed by the practice. Role/hours/pay live in MemberFact."""

    __tablename__ = "member"
    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(unique=True)
    name: str
    employed_since: date
    left_on: date | None = None  # last day of membership, inclusive
    leave_reason: str | None = None
    registration: str | None = None  # professional registration number (practitioners)
    admitted_at: datetime
    address: str | None = None  # postal address, for the register of members (personal data)
    email: str | None = None  # electronic address, for the register (personal data)
    email_purposes: str | None = None  # what the email may be used for: "notices,statements"
    payroll_id: str | None = None  # the payroll bureau's reference for the member
    ni_number: str | None = None  # national insurance number, if recorded
    public_key: str | None = None  # the enrolled Ed25519 public key (hex); None: none or revoked
    key_fingerprint: str | None = None


class MemberFact(TableModel, table=True):
    """The history of a member's role, weekly hours and annual pay, by effective date."""

    __tablename__ = "member_fact"
    __table_args__ = (
        UniqueConstraint("member_id", "effective", name="one_fact_per_day"),
        CheckConstraint(
            "role IN ('practitioner', 'manager', 'staff')", name="employee_roles_only"
        ),
        CheckConstraint("hours_hundredths >= 0", name="hours_not_negative"),
        CheckConstraint("pay_pence >= 0", name="pay_not_negative"),
    )
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    effective: date
    role: str
    hours_hundredths: int
    pay_pence: int = pence(0)
