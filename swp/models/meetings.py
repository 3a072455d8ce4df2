"""General meetings, their agendas and attendance, and filings."""

from datetime import date, datetime
from datetime import date as _date  # for fields of classes that have a field named date

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field

import swp.models.governance  # noqa: F401 - the tables its foreign keys name
import swp.models.member  # noqa: F401 - the tables its foreign keys name
from swp.models.base import TableModel


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
