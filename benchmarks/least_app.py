"""The least a database command can be on swp's stack, for scale beside `swp member list`.

One Typer app with swp's global options and a `member list` command, one SQLModel table
class (the member register's columns that the list shows), one query through a SQLAlchemy
session, and the rows printed as a Rich table: no schema check, no audit head, no rules, no
other table. `benchmarks/run.py` times it as a whole process beside swp's, against the same
baseline (`python -c "import typer, rich, sqlmodel, pydantic"` plus the command's own work).

    python benchmarks/least_app.py --db practice.db member list
"""

from datetime import date

import typer
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, create_engine, select

app = typer.Typer(add_completion=False)
member_app = typer.Typer()
app.add_typer(member_app, name="member")


class Least(SQLModel, registry=registry()):  # its own, so that swp's tables may share the process
    pass


class Member(Least, table=True):
    id: int | None = Field(default=None, primary_key=True)
    handle: str
    name: str
    employed_since: date
    left_on: date | None = None


@app.callback()
def main(ctx: typer.Context, db: str = typer.Option(..., "--db"),
         json: bool = typer.Option(False, "--json"), as_: str | None = typer.Option(None, "--as")) -> None:
    ctx.obj = db


@member_app.command("list")
def list_(ctx: typer.Context, all_: bool = typer.Option(False, "--all"),
          with_addresses: bool = typer.Option(False, "--with-addresses")) -> None:
    from rich.console import Console
    from rich.table import Table

    query = select(Member) if all_ else select(Member).where(Member.left_on == None)  # noqa: E711
    with Session(create_engine(f"sqlite:///{ctx.obj}")) as session:
        members = session.exec(query.order_by(Member.handle)).all()
    table = Table(title="Members")
    for column in ("handle", "name", "employed since"):
        table.add_column(column)
    for m in members:
        table.add_row(m.handle, m.name, m.employed_since.isoformat())
    Console().print(table)


if __name__ == "__main__":
    app()
