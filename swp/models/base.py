"""What every table model shares: the money column type and the base class."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pydantic import ConfigDict
from sqlalchemy import BigInteger
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
