"""Free text a person types (a name, a title, an address, a place): one line, no control
characters."""

from __future__ import annotations

import unicodedata
from typing import Literal, overload

from swp.errors import InputError

# the characters that reorder the text around them as it is shown (embeddings, overrides,
# isolates and the direction marks): "Ann\u202eleT" shows as "AnnTel" (a name, a title that
# reads other than it is)
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                               "\u200e\u200f\u061c")
# what ends a line or a paragraph besides the control characters (U+2028, U+2029)
LINE_BREAKS = ("Zl", "Zp")


@overload
def plain_text(value: str | None, what: str, *, required: Literal[True]) -> str: ...
@overload
def plain_text(value: str | None, what: str, *, required: bool = False) -> str | None: ...
def plain_text(value: str | None, what: str, *, required: bool = False) -> str | None:
    """A line of free text a person typed: stripped, and refused if it holds a control
    character (a new line, an escape...) or one that reorders the text as it is shown."""
    if value is None:
        if required:
            raise InputError(f"{what} is needed")
        return None
    for char in value:
        if unicodedata.category(char) in ("Cc", *LINE_BREAKS):
            raise InputError(f"{what} holds a control character ({char!r}); write it on one line")
        if char in DIRECTION_CONTROLS:
            raise InputError(f"{what} holds a character that reorders the text as it is shown "
                             f"(U+{ord(char):04X}); write it without")
    value = value.strip()
    if required and not value:
        raise InputError(f"{what} is needed")
    return value or None
