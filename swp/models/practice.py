"""The practice itself and the clauses of its constitution."""

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field

from swp.models.base import TableModel


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
