"""What every CLI module shares: the state from the root options, running a service in one
unit of work, and printing its result. Imports nothing heavy at module level."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import typer

T = TypeVar("T")


@dataclass
class State:
    db: str | None = None
    actor: str | None = None
    json: bool = False
    debug: bool = False
    key: str | None = None  # --key / SWP_KEY: the acting member's private key file


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def command_name(ctx: typer.Context) -> str:
    return " ".join(ctx.command_path.split()[1:]) or "swp"


def call(ctx: typer.Context, fn: Callable[[Any], T], *, write: bool = True,
         args: dict[str, Any] | None = None, newcomer: str | None = None,
         newcomer_key: str | None = None) -> T:
    """Run `fn(session)` as this command's one transaction (audited and signed when it
    writes). `newcomer`: the handle whose public key the command enrols (an admission)."""
    from swp.services.uow import perform

    st = state(ctx)
    return perform(st.db, fn, write=write, command=command_name(ctx),
                   args=dict(ctx.params) if args is None else args, actor=st.actor,
                   newcomer=newcomer, newcomer_key=newcomer_key, key_file=st.key)


def emit(ctx: typer.Context, payload: dict[str, Any], human: Callable[[], Any] | None = None) -> None:
    from swp import render

    render.emit(state(ctx).json, payload, human)


def amount(text: str, *, allow_zero: bool = False) -> int:
    from swp.money import parse_amount

    return parse_amount(text, allow_zero=allow_zero)


def day(text: str, what: str = "date") -> date:
    from swp.dates import parse_date

    return parse_date(text, what=what)


def money(pence: int) -> str:
    from swp.money import format_pence

    return format_pence(pence)
