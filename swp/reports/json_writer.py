"""JSON statements: the same object as `swp --json statement` (SPEC section 9 keys and more)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from swp.reports.statement import Statement


def render(st: Statement) -> str:
    return json.dumps(st.as_json(), ensure_ascii=False, indent=2) + "\n"


def render_many(statements: Sequence[Statement]) -> str:
    return json.dumps({"statements": [st.as_json() for st in statements]},
                      ensure_ascii=False, indent=2) + "\n"
