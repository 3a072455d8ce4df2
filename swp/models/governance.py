"""Resolutions and the votes cast on them."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field

import swp.models.member  # noqa: F401 - the tables its foreign keys name
from swp.models.base import TableModel


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
