"""What every CLI module shares: the state from the root options (and the acting member),
running a service in one unit of work, printing its result, and the parsers that turn what a
user typed into the typed values services take (amounts, dates, percentages, rates, hours,
entry numbers, period labels, fixed choices). Imports nothing heavy at module level."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, TypeVar, overload

import typer

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


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


@overload
def acting(ctx: typer.Context, *, needed: str) -> str: ...


@overload
def acting(ctx: typer.Context, *, needed: None = None) -> str | None: ...


def acting(ctx: typer.Context, *, needed: str | None = None) -> str | None:
    """The acting member (--as HANDLE, or SWP_AS), or None. With `needed`, a command that
    cannot run without one says so (exit 1)."""
    actor = state(ctx).actor
    if needed is not None and not actor:
        from swp.errors import InputError

        raise InputError(needed)
    return actor


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
                   args=dict(ctx.params) if args is None else args, actor=acting(ctx),
                   newcomer=newcomer, newcomer_key=newcomer_key, key_file=st.key)


def emit(ctx: typer.Context, payload: dict[str, Any], human: Callable[[], Any] | None = None) -> None:
    from swp import render

    render.emit(state(ctx).json, payload, human)


# --- parsing at the edge: each takes what the user typed and returns what services take ----


def amount(text: str, *, allow_zero: bool = False) -> int:
    from swp.money import parse_amount

    return parse_amount(text, allow_zero=allow_zero)


def day(text: str, what: str = "date") -> date:
    from swp.dates import parse_date

    return parse_date(text, what=what)


def signed_amount(text: str) -> int:
    """An amount that may be negative or zero (a bank balance): -120.50 -> -12050."""
    raw = text.strip()
    sign = -1 if raw.startswith("-") else 1
    return sign * amount(raw.lstrip("-+"), allow_zero=True)


def percent(text: str, what: str) -> int:
    """A whole percentage 0..100 ('40', '40%'); anything else is exit 1."""
    from swp.rules import parse_percent

    return parse_percent(text, what)


def rate(text: str) -> int:
    """A yearly interest rate in percent ('4.5' or '4.5%') in basis points (450)."""
    from swp.rules import parse_rate

    return parse_rate(text)


def hours(text: str) -> int:
    """Weekly hours ('37.5') in hundredths of an hour (3750)."""
    from swp.rules import parse_hours

    return parse_hours(text)


def whole_number(text: object, refusal: str, *, least: int = 1, mark: bool = False) -> int:
    """A whole number as a user typed it: digits (with `mark`, `#12` too), at least `least`
    and at most 18 digits, which every database's integer holds; anything else is exit 1
    with `refusal`. Every id and count a command takes is parsed here."""
    import re

    from swp.errors import InputError

    typed = "" if text is None else str(text).strip()
    match = re.fullmatch(r"#?([0-9]{1,18})" if mark else r"([0-9]{1,18})", typed)
    if not match or int(match.group(1)) < least:
        raise InputError(refusal)
    return int(match.group(1))


def record_id(text: str, kind: str, listing: str, example: str = "1") -> int:
    """The number of an entry, a proposal or a meeting as a user writes it: `12` or `#12`."""
    return whole_number(text, f"not {'an' if kind[0] in 'aeiou' else 'a'} {kind} number: {text!r}; "
                              f"use the id from '{listing}', e.g. {example}", mark=True)


def entry_id(text: str) -> int:
    """An entry number as a user writes it: `12` or `#12`."""
    return record_id(text, "entry", "swp ledger list", "12")


def proposal_number(text: str) -> int:
    return record_id(text, "proposal", "swp proposal list")


def meeting_number(text: str) -> int:
    return record_id(text, "meeting", "swp meeting list")


def purposes(text: str) -> tuple[str, ...]:
    """--email-purposes notices,statements: what an email may be used for, in lower case
    (an empty text: none)."""
    from swp.text import plain_text

    given = plain_text(text, "the purposes (--email-purposes)") or ""
    return tuple(p.strip().lower() for p in given.split(",") if p.strip())


def sharing_method(text: str) -> dict[str, int]:
    """A sharing method: equal, hours, pay, service or a blend such as equal:50,hours:50."""
    from swp.rules import parse_method

    return parse_method(text)


def period_label(text: str) -> str:
    """A period's label (2026-Q1, 2025-26): letters, digits, . _ -."""
    from swp.services.sharing.workout import check_label

    return check_label(text)


def choose(kind: type[E]) -> Callable[[Any], E]:
    """The parser of a fixed choice: case and surrounding spaces do not matter; anything else
    is a usage error (exit 2) naming the allowed values."""

    def parse(value: Any) -> E:
        if isinstance(value, kind):
            return value
        raw = str(value).strip().lower()
        for member in kind:
            if member.value == raw:
                return member
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(m.value for m in kind)}")

    return parse


def money(pence: int) -> str:
    from swp.money import format_pence

    return format_pence(pence)
