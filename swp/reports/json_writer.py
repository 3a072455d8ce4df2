"""JSON statements: the same object as `swp --json statement` (its figures, and the statement in
words as `in_words`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from swp.jsonable import jsonable
from swp.reports.statement import Statement


def render(st: Statement) -> str:
    return json.dumps(st, default=jsonable, ensure_ascii=False, indent=2) + "\n"


def render_many(statements: Sequence[Statement]) -> str:
    return json.dumps({"statements": list(statements)}, default=jsonable,
                      ensure_ascii=False, indent=2) + "\n"
