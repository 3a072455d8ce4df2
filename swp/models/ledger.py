"""The books: ledger entries, and the contracts and partners they may name."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field

from swp.models.base import TableModel, pence


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
        # comparisons, not an IN list: SQLite builds an IN list again for every row it checks
        CheckConstraint("kind = 'income' OR kind = 'expense' OR kind = 'loan' OR "
                        "kind = 'share-payment' OR kind = 'settlement'", name="entry_kind"),
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
