"""Every table of a practice's database (SQLModel over SQLAlchemy), one module per family.

Money columns are integers (pence), 64-bit (`Pence`, BIGINT) so that no total overflows on
PostgreSQL; there is no float or NUMERIC column anywhere.
Weekly hours are whole hundredths of an hour (`hours_hundredths`: 37.5 h -> 3750).
Append-only tables (ledger_entry, vote, period, allocation, audit_event) are protected by
triggers created in the migrations. The schema itself is created only by Alembic
(swp/migrations); these classes describe it for queries.

A table's class is built when it is first named (`from swp.models import Member`), with the
tables its foreign keys name: building all of them cost every command about 0.1 s, and most
commands use a handful. Code that needs every table (the schema check, copying a practice,
the migrations) asks `all_models()` or `metadata()`, never `SQLModel.metadata` directly.
A new table class is added to HOME (a test compares it with the modules). The table modules
do not use `from __future__ import annotations`: with it every column's annotation is a string
that Pydantic and SQLAlchemy each evaluate again, about 8% of the time a class takes to build.

No relationships are declared, so within one flush SQLAlchemy writes the tables in an order of
its own (by module and class name): code that adds a row referring to another new row flushes
the first (`session.flush()`) before it takes its id, as swp's services do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from swp.models.base import Pence, TableModel, pence, table_of

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from swp.models.audit import AuditEvent
    from swp.models.banking import BalanceAssertion, BankLink
    from swp.models.costs import Loan, SharedCost
    from swp.models.deficits import DeficitSettlement
    from swp.models.governance import Proposal, Vote
    from swp.models.ledger import Contract, LedgerEntry, Partner
    from swp.models.meetings import Attendance, Filing, Meeting, MeetingItem
    from swp.models.member import Member, MemberFact
    from swp.models.period import Allocation, Period, ProfitPayment
    from swp.models.practice import Clause, Practice
    from swp.models.web import MemberLogin, PasskeyAssertion, PasskeyCredential, WebChallenge, WebInvite, WebSession


# each table model's module (swp/models/<module>.py)
HOME: dict[str, str] = {
    "Practice": "practice",
    "Clause": "practice",
    "Member": "member",
    "MemberFact": "member",
    "AuditEvent": "audit",
    "Contract": "ledger",
    "Partner": "ledger",
    "LedgerEntry": "ledger",
    "SharedCost": "costs",
    "Loan": "costs",
    "BankLink": "banking",
    "BalanceAssertion": "banking",
    "Period": "period",
    "Allocation": "period",
    "Proposal": "governance",
    "Vote": "governance",
    "Meeting": "meetings",
    "MeetingItem": "meetings",
    "Attendance": "meetings",
    "Filing": "meetings",
    "ProfitPayment": "period",
    "DeficitSettlement": "deficits",
    "WebInvite": "web",
    "WebSession": "web",
    "WebChallenge": "web",
    "PasskeyCredential": "web",
    "PasskeyAssertion": "web",
    "MemberLogin": "web",
}

__all__ = [
    "Allocation", "Attendance", "AuditEvent", "BalanceAssertion", "BankLink", "Clause", "Contract",
    "DeficitSettlement", "Filing", "LedgerEntry", "Loan", "Meeting", "MeetingItem", "Member",
    "MemberFact", "MemberLogin", "Partner", "PasskeyAssertion", "PasskeyCredential", "Pence",
    "Period", "Practice", "ProfitPayment", "Proposal", "SharedCost", "TableModel", "Vote",
    "WebChallenge", "WebInvite", "WebSession", "all_models", "metadata", "pence", "table_of",
]


def __getattr__(name: str) -> Any:
    module = HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    model = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = model
    return model


def all_models() -> list[type[TableModel]]:
    """Every table model, each module of them built."""
    return [__getattr__(name) for name in HOME]


def metadata() -> MetaData:
    """The schema's every table (SQLModel's metadata once every table model is built)."""
    from sqlmodel import SQLModel

    all_models()
    return SQLModel.metadata
