"""Categorisation rules: a TOML file mapping a payee or description pattern to a category.

    [rules]
    "Leeds City Council" = "contracts"      # text anywhere in the description, any case
    "HMRC" = "national-insurance"
    "re:^DD HOLBECK" = "rent"               # a regular expression (Python syntax), any case

The first rule that matches a line wins (the file's order).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from swp.errors import InputError

# Rule matches remembered by description (a payee's repeated lines are matched once). Kept
# small: a bank's descriptions usually carry a reference unique to the line, and a larger cache
# would hold one string per line up to its size, so an import's memory would grow with the file.
REMEMBERED_MATCHES = 256


@dataclass
class Rules:
    rules: list[tuple[str, str | re.Pattern[str], str]]  # (pattern as written, matcher, category)
    _seen: dict[str, str | None]

    def __post_init__(self) -> None:
        # (lower-case text or "", compiled regex or None, category): no type test per line
        self._plan = [(("" if isinstance(m, re.Pattern) else m), (m if isinstance(m, re.Pattern) else None), c)
                      for _p, m, c in self.rules]

    def category(self, description: str) -> str | None:
        found = self._seen.get(description, "")
        if found != "":
            return found
        lowered = description.lower()
        found = None
        for text, regex, category in self._plan:
            if (text in lowered) if regex is None else (regex.search(description) is not None):
                found = category
                break
        if len(self._seen) >= REMEMBERED_MATCHES:
            self._seen.clear()
        self._seen[description] = found
        return found


NO_RULES = Rules([], {})


def load_rules(path: str) -> Rules:
    from swp.services.ledger import check_category

    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(f"no such rules file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the rules file {path}: {exc}") from None
    table = data.get("rules")
    mistakes: list[str] = []
    if not isinstance(table, dict):
        raise InputError(f'{path}: no [rules] table; write lines such as "Leeds City Council" = "contracts" under [rules]')
    for key in data:
        if key != "rules":
            mistakes.append(f"unknown table or key {key!r} (only [rules])")
    rules: list[tuple[str, str | re.Pattern[str], str]] = []
    for pattern, category in table.items():
        if not isinstance(category, str):
            mistakes.append(f"{pattern!r}: the category must be text (found {category!r})")
            continue
        try:
            category = check_category(category)
        except InputError as exc:
            mistakes.append(f"{pattern!r}: {exc.message}")
            continue
        if pattern.startswith("re:"):
            try:
                matcher: str | re.Pattern[str] = re.compile(pattern[3:], re.IGNORECASE)
            except (re.error, OverflowError) as exc:  # OverflowError: a repeat such as x{99999999999}
                mistakes.append(f"{pattern!r}: not a regular expression ({exc})")
                continue
            except RecursionError:  # groups inside groups a thousand deep
                mistakes.append(f"{pattern!r}: not a regular expression (groups nested too deeply)")
                continue
        else:
            if not pattern.strip():
                mistakes.append("an empty pattern matches everything; use --uncategorised instead")
                continue
            matcher = pattern.strip().lower()
        rules.append((pattern, matcher, category))
    if mistakes:
        count = f"{len(mistakes)} mistake{'s' if len(mistakes) > 1 else ''}"
        raise InputError(f"{path}: {count} in the rules file:\n" + "\n".join(mistakes))
    return Rules(rules, {})
