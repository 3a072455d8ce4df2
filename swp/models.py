"""Every table of a practice's database, in one module (SQLModel over SQLAlchemy).

Money columns are integers (pence), 64-bit (`Pence`, BIGINT) so that no total overflows on
PostgreSQL; there is no float or NUMERIC column anywhere.
Weekly hours are whole hundredths of an hour (`hours_hundredths`: 37.5 h -> 3750).
Append-only tables (ledger_entry, vote, period, allocation, audit_event) are protected by
triggers created in the migrations. The schema itself is created only by Alembic
(swp/migrations); these classes describe it for queries.
"""

from __future__ import annotations

from datetime import date, datetime
from datetime import date as _date  # for fields of classes that have a field named date
from typing import TYPE_CHECKING, Any, cast

from pydantic import ConfigDict
from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

if TYPE_CHECKING:
    from decimal import Decimal

    from sqlalchemy import Table
    from sqlalchemy.engine import Dialect
    from sqlmodel._compat import SQLModelConfig


class Pence(TypeDecorator[int]):
    """Whole pence in a 64-bit integer column (BIGINT). Results are plain ints on every
    backend: PostgreSQL's SUM over a BIGINT column is NUMERIC, which the driver would return
    as a Decimal; `func.sum(Model.x_pence)` takes this type, so it comes back an int."""

    impl = BigInteger
    cache_ok = True

    def process_result_value(self, value: int | Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


def table_of(model: type[SQLModel] | SQLModel) -> Table:
    """The SQLAlchemy table of a table model or of one of its rows (every table model has a
    `__table__`; SQLModel's base class does not declare it, so it is read in this one place)."""
    table: Table = model.__table__  # type: ignore[union-attr]
    return table


def pence(default: int | None = None) -> Any:  # a SQLModel Field, typed Any by SQLModel
    """A money column (see Pence)."""
    return Field(sa_type=Pence) if default is None else Field(default=default, sa_type=Pence)


class TableModel(SQLModel):
    """The base of every table model. Pydantic builds a model's validators only when something
    first validates one (`defer_build`): swp makes rows from values it has already parsed and
    checked, so most commands never need them, and building them for every table cost each
    process about 10 ms."""

    model_config = cast("SQLModelConfig", ConfigDict(defer_build=True))  # SQLModel's own is such a dict


class Practice(TableModel, table=True):
    __tablename__ = "practice"
    __table_args__ = (CheckConstraint("id = 1", name="one_practice"),)
    id: int = Field(default=1, primary_key=True)
    name: str
    local_authority: str
    fiscal_year_start: str = "04-01"  # MM-DD
    founded_at: datetime
    status: str = "active"  # active | merging | dissolving: decided by a passed resolution
    status_detail: str | None = None
    uid: str | None = None  # a stable random id: names the practice's folder of keys and heads
    sandbox: bool = False  # a sandbox (demo, tests) for ever: SWP_TODAY works, keys are made
    sandbox_seed: str | None = None  # a sandbox's members' keys derive from it (never a real one)


class Clause(TableModel, table=True):
    """One clause of the constitution. Entrenched rows can never be updated or deleted."""

    __tablename__ = "clause"
    name: str = Field(primary_key=True)
    value: str
    entrenched: bool = False
    changed_by: str | None = None  # 'ordinary' | 'special' | None (entrenched)


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


class Contract(TableModel, table=True):
    __tablename__ = "contract"
    __table_args__ = (
        CheckConstraint("value_pence > 0", name="contract_value_positive"),
        CheckConstraint(
            "outcome_percent >= 0 AND outcome_percent <= 100", name="outcome_percent_range"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True)
    authority: str
    value_pence: int = pence()
    start: date
    end: date
    outcome_percent: int = 0
    description: str | None = None
    created_at: datetime


class Partner(TableModel, table=True):
    __tablename__ = "partner"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('mutual', 'charity', 'cic', 'local-authority', 'company', 'members')",
            name="partner_kind",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    kind: str
    created_at: datetime


class LedgerEntry(TableModel, table=True):
    """One balanced double entry: `amount_pence` debited to `debit` and credited to `credit`.

    kind: income | expense | loan | share-payment | settlement (the last two move money between
    the bank and the balance sheet, never income or expense). A reversal has the opposite sign.
    Append-only: corrections are reversing entries.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("amount_pence <> 0", name="amount_not_zero"),
        CheckConstraint("kind IN ('income', 'expense', 'loan', 'share-payment', 'settlement')",
                        name="entry_kind"),
        CheckConstraint("debit <> credit", name="two_accounts"),
        Index("ix_ledger_entry_date_cover", "date", "kind", "category", "amount_pence"),
        # The migrations make these two partial (WHERE ... IS NOT NULL): almost every entry has
        # neither, and an import should not index the NULLs. Declared here without the partial
        # clause (it is the same constraint, and the schema is made by the migrations only): a
        # `postgresql_where` here would load SQLAlchemy's PostgreSQL dialect in every process.
        Index("ix_ledger_entry_reverses", "reverses", unique=True),
        Index("ix_ledger_entry_contract_id", "contract_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    date: date
    kind: str
    amount_pence: int = pence()
    category: str
    debit: str
    credit: str
    memo: str | None = None
    ref: str | None = Field(default=None, unique=True)
    reverses: int | None = Field(default=None, foreign_key="ledger_entry.id")  # unique: see above
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    partner_id: int | None = Field(default=None, foreign_key="partner.id")
    measure: str | None = None  # outcome measure, for outcome payments
    recorded_at: datetime


class SharedCost(TableModel, table=True):
    """A cost shared with a partner: the practice's part is a ledger expense."""

    __tablename__ = "shared_cost"
    __table_args__ = (
        CheckConstraint("our_percent >= 0 AND our_percent <= 100", name="our_percent_range"),
    )
    id: int | None = Field(default=None, primary_key=True)
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    partner_id: int = Field(foreign_key="partner.id")
    date: date
    total_pence: int = pence()
    our_percent: int
    our_pence: int = pence()
    partner_pence: int = pence()
    memo: str | None = None


class Loan(TableModel, table=True):
    """Borrowed money: a liability, never income, never with control rights."""

    __tablename__ = "loan"
    __table_args__ = (CheckConstraint("amount_pence > 0", name="loan_positive"),)
    id: int | None = Field(default=None, primary_key=True)
    lender: str
    amount_pence: int = pence()
    date: date
    rate_basis_points: int | None = None  # 4.5% -> 450
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")


class Period(TableModel, table=True):
    """A closed sharing period. Append-only: once closed it is locked."""

    __tablename__ = "period"
    __table_args__ = (CheckConstraint("start <= \"end\"", name="period_dates"),)
    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(unique=True)
    start: date
    end: date
    income_pence: int = pence()
    expenses_pence: int = pence()
    net_pence: int = pence()
    reserve_pence: int = pence()  # added to the reserve (surplus) or drawn from it (negative, deficit)
    distributable_pence: int = pence()  # shared among members; negative for a deficit share
    method: str
    fingerprint: str
    closed_at: datetime
    closed_by: str | None = None


class Allocation(TableModel, table=True):
    """One member's allocation in a closed period. Append-only."""

    __tablename__ = "allocation"
    __table_args__ = (UniqueConstraint("period_id", "member_id", name="one_allocation"),)
    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    amount_pence: int = pence()  # share of the distributable pool (negative: share of a deficit)
    carried_in_pence: int = pence(0)  # deficit brought forward and set against this allocation (<= 0)
    payable_pence: int = pence(0)  # what is paid out now (>= 0)
    carried_out_pence: int = pence(0)  # deficit still owed after this period (<= 0)
    basis: str = "{}"  # JSON: days, hours, pay, service and weights as used


class Proposal(TableModel, table=True):
    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint("kind IN ('ordinary', 'special')", name="proposal_kind"),
        CheckConstraint(
            "action IN ('amend', 'expel', 'merge', 'dissolve', 'write-off', 're-enrol')",
            name="proposal_action",
        ),
        CheckConstraint("status IN ('open', 'passed', 'failed')", name="proposal_status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    title: str
    kind: str
    action: str
    clause: str | None = None
    value: str | None = None
    target: str | None = None  # member handle (expel) or body name (merge, dissolve)
    target_kind: str | None = None  # body kind (merge, dissolve)
    proposed_by: str | None = None
    created_at: datetime
    proposed_on: date | None = None  # the practice's date it was made: its notice runs from here
    target_register: str | None = None  # merge/dissolve: the other body's register and number
    status: str = "open"
    closed_at: datetime | None = None
    closed_on: date | None = None  # the practice's date of the close (membership is by day)
    yes: int | None = None
    no: int | None = None
    abstain: int | None = None
    quorum_met: bool | None = None
    written: bool | None = None  # a written resolution: members sign by voting yes
    lapses_on: date | None = None  # a written resolution not passed by this day lapses


class Vote(TableModel, table=True):
    """A vote. Append-only: changing a vote appends a new version; the highest counts."""

    __tablename__ = "vote"
    __table_args__ = (
        UniqueConstraint("proposal_id", "member_id", "version", name="one_vote_per_version"),
        CheckConstraint("choice IN ('yes', 'no', 'abstain')", name="vote_choice"),
        CheckConstraint("version >= 1", name="vote_version"),
    )
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    version: int = 1
    choice: str
    cast_at: datetime
    cast_on: date  # the practice's date of the vote: a member who left before it has no vote


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


class Meeting(TableModel, table=True):
    """A general meeting (the annual one or another): called, given notice of, opened, closed."""

    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("kind IN ('agm', 'general')", name="meeting_kind"),
        CheckConstraint("status IN ('called', 'open', 'closed')", name="meeting_status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str
    date: date
    place: str
    online: str | None = None
    status: str = "called"
    called_by: str | None = None
    called_on: _date
    called_at: datetime
    notice_given_on: _date | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    closed_on: _date | None = None
    members: int | None = None  # current members when it opened
    quorum_needed: int | None = None
    audit_seq: int | None = None  # the audit log's head when it closed
    audit_head: str | None = None


class MeetingItem(TableModel, table=True):
    """One proposal on a meeting's agenda, and what the meeting decided and why."""

    __tablename__ = "meeting_item"
    __table_args__ = (UniqueConstraint("meeting_id", "proposal_id", name="one_item_per_proposal"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    proposal_id: int = Field(foreign_key="proposal.id")
    position: int
    decision: str | None = None  # passed | failed
    reason: str | None = None


class Attendance(TableModel, table=True):
    """A member present at a meeting, in person or online. Append-only."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("meeting_id", "member_id", name="one_attendance"),
        CheckConstraint("mode IN ('person', 'online')", name="attendance_mode"),
    )
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    member_id: int = Field(foreign_key="member.id")
    mode: str
    recorded_at: datetime


class Filing(TableModel, table=True):
    """A statutory filing made (the annual return with the accounts). Append-only."""

    __tablename__ = "filing"
    __table_args__ = (
        UniqueConstraint("kind", "year_end", name="one_filing_per_year"),
        CheckConstraint("kind IN ('annual-return')", name="filing_kind"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str
    year_end: date
    filed_on: date
    recorded_by: str | None = None
    recorded_at: datetime


# --- the members' page (swp serve) -----------------------------------------------------------


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


class BankLink(TableModel, table=True):
    """A bank line matched to an entry entered by hand (so importing it adds nothing). Append-only."""

    __tablename__ = "bank_link"
    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(unique=True)  # the bank line's stable identity
    entry_id: int = Field(foreign_key="ledger_entry.id", unique=True)
    line_date: date
    description: str | None = None
    linked_at: datetime


class BalanceAssertion(TableModel, table=True):
    """The bank's balance at the end of a day, as the manager read it; `swp check` keeps checking it."""

    __tablename__ = "balance_assertion"
    id: int | None = Field(default=None, primary_key=True)
    date: date
    balance_pence: int = pence()
    recorded_at: datetime
    recorded_by: str | None = None


class ProfitPayment(TableModel, table=True):
    """A member's payable profit share of a closed period, paid (it leaves the bank). Append-only."""

    __tablename__ = "profit_payment"
    __table_args__ = (UniqueConstraint("period_id", "member_id", name="one_profit_payment"),
                      CheckConstraint("amount_pence > 0", name="profit_payment_positive"))
    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id")
    member_id: int = Field(foreign_key="member.id")
    amount_pence: int = pence()
    paid_on: date
    recorded_at: datetime


class DeficitSettlement(TableModel, table=True):
    """Part of a former member's outstanding deficit, paid in or written off. Append-only."""

    __tablename__ = "deficit_settlement"
    __table_args__ = (CheckConstraint("amount_pence > 0", name="settlement_positive"),
                      CheckConstraint("kind IN ('settled', 'written-off')", name="settlement_kind"))
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    amount_pence: int = pence()
    kind: str
    settled_on: date
    proposal_id: int | None = Field(default=None, foreign_key="proposal.id")
    recorded_at: datetime


class MemberLogin(TableModel, table=True):
    """A PostgreSQL login role bound to a member: the database refuses its events as anyone else."""

    __tablename__ = "member_login"
    role: str = Field(primary_key=True)
    handle: str
