"""How a result becomes JSON, in one place: `json.dumps(..., default=jsonable)`.

A result is a dataclass; its JSON is its fields, in order, under their own names. A class
writes its own `as_json` only where its JSON differs from its fields (a renamed key, a
computed figure, a field left out), and says why.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date
from typing import Any


def jsonable(value: Any) -> Any:
    """What JSON shows for `value`: a date (or date and time) as ISO text; a result with its
    own `as_json`, that; any other dataclass, a dict of its fields. The fields are taken one
    level deep (not `dataclasses.asdict`, which would pass over a nested result's own
    `as_json`); `json.dumps` comes back here for each value it cannot write itself."""
    if isinstance(value, date):
        return value.isoformat()
    own = getattr(value, "as_json", None)
    if own is not None:
        return own()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    raise TypeError(f"cannot render {type(value).__name__} as JSON")
