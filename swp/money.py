"""Money: integer pence everywhere; Decimal only while parsing and printing.

`allocate` is the one split used for every share (SPEC section 5): largest remainder,
pennies left over go to the largest remainders, ties broken by key (member handle).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

_AMOUNT = re.compile(r"^£?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$")

AMOUNT_HELP = "a valid amount looks like 12500, 12500.5, 12,500.50 or £12,500.50"


def parse_amount(text: str, *, allow_zero: bool = False) -> int:
    """Parse a user's amount into whole pence. Refuses signs, words, exponents, >2 decimals."""
    from swp.errors import InputError

    raw = text.strip() if isinstance(text, str) else ""
    if not raw or not _AMOUNT.match(raw):
        raise InputError(f"not an amount: {text!r}; {AMOUNT_HELP}")
    digits = raw.lstrip("£").replace(",", "")
    try:
        value = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes these
        raise InputError(f"not an amount: {text!r}; {AMOUNT_HELP}") from None
    pence = int(value * 100)
    if pence == 0 and not allow_zero:
        raise InputError(f"the amount must be more than zero: {text!r}")
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
