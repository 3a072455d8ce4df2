"""Money: integer pence everywhere; Decimal only for printing pounds in exports.

`allocate` is the one split used for every share (SPEC section 5): largest remainder,
pennies left over go to the largest remainders, ties broken by key (member handle).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

# ASCII digits only (\d would let other scripts' digits through); \Z, not $, so that a trailing
# newline is not quietly accepted.
_AMOUNT = re.compile(r"£?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?\Z")

AMOUNT_HELP = "a valid amount looks like 12500, 12500.5, 12,500.50 or £12,500.50"
# The largest single amount swp accepts: £20,000,000.00. A small practice never sees more in one
# entry, so anything larger is a typing slip. It is a limit on input only: money columns are 64-bit
# (BIGINT on PostgreSQL and SQLite alike), so totals of many amounts never overflow.
MAX_PENCE = 2_000_000_000


def parse_amount(text: str, *, allow_zero: bool = False) -> int:
    """Parse a user's amount into whole pence. Refuses signs, words, exponents, >2 decimals.

    Accepted: `12500`, `12500.5`, `12,500.50`, `£12,500.50` (commas only as thousands
    separators, in groups of three). Zero only with `allow_zero`; never above MAX_PENCE.
    """
    from swp.errors import InputError

    raw = text.strip() if isinstance(text, str) else ""
    if not raw or not _AMOUNT.match(raw):
        raise InputError(f"not an amount: {text!r}; {AMOUNT_HELP}")
    whole, _, part = raw.lstrip("£").replace(",", "").partition(".")
    if len(whole.lstrip("0")) > len(str(MAX_PENCE // 100)):
        raise InputError(f"the amount is too large: {text[:40]!r}; at most {format_pence(MAX_PENCE)}")
    pence = int(whole) * 100 + int(part.ljust(2, "0"))  # exact integer arithmetic
    if pence == 0 and not allow_zero:
        raise InputError(f"the amount must be more than zero: {text!r}; {AMOUNT_HELP}")
    if pence > MAX_PENCE:
        raise InputError(f"the amount is too large: {text!r}; at most {format_pence(MAX_PENCE)}")
    return pence


def format_pence(pence: int, *, symbol: bool = True) -> str:
    """1234567 -> '£12,345.67'; negatives as '-£12.34'."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(int(pence)), 100)
    return f"{sign}{'£' if symbol else ''}{whole:,}.{part:02d}"


def pence_to_decimal(pence: int) -> Decimal:
    """Pence as a Decimal number of pounds (for exports), exact."""
    return Decimal(int(pence)).scaleb(-2)


def allocate(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split `total` pence among keys in proportion to integer `weights`, exactly.

    Each key gets floor(total * w / W); the pennies left over go one each to the largest
    remainders, ties broken by key. A negative total is split by its absolute value and
    negated (a share of a deficit). Keys with weight 0 get 0. If every weight is 0 the
    total cannot be split and ValueError is raised.
    """
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must not be negative")
    total_weight = sum(weights.values())
    if total == 0:
        return {key: 0 for key in weights}
    if total_weight == 0:
        raise ValueError("cannot split an amount among zero weights")
    sign = -1 if total < 0 else 1
    amount = abs(total)
    parts: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    for key, weight in weights.items():
        share, remainder = divmod(amount * weight, total_weight)
        parts[key] = share
        remainders.append((remainder, key))
    left = amount - sum(parts.values())
    # largest remainder first; ties by key ascending
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, key in remainders[:left]:
        parts[key] += 1
    return {key: sign * value for key, value in parts.items()}
