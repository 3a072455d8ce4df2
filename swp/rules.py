"""The constitution and the takeover guard: pure functions, no database, no I/O.

Each `*_violations` function looks at a snapshot of the practice and returns every
violation it finds (like beancount's validators); services call them before writing
anything and `swp check` calls them to report everything at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from swp.errors import InputError, RuleViolation

EMPLOYEE_ROLES = ("practitioner", "manager", "staff")
MIN_HOURS_FLOOR = 1  # membership.min-hours may never be set below this (entrenched)
MAX_MEMBERS_CEILING = 150  # membership.max-members may never be set above this (entrenched)
BODY_KINDS = ("mutual", "charity", "cic", "local-authority", "company", "members")
ASSET_LOCKED_KINDS = ("mutual", "charity", "cic")
SHARING_BASES = ("equal", "hours", "pay", "service")


@dataclass(frozen=True)
class Violation:
    clause: str
    message: str


@dataclass(frozen=True)
class ClauseSpec:
    name: str
    default: str
    entrenched: bool
    changed_by: str | None  # 'ordinary' | 'special' | None for entrenched
    meaning: str
    parse: Callable[[str], str] | None = None  # canonical value, or InputError


# --- value parsers -----------------------------------------------------------------------


_HUNDREDTHS = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})?\Z")


def hundredths(raw: str) -> int | None:
    """'37.5' -> 3750: a number of up to three digits and two decimals, in hundredths; None if
    it is not one (callers say what they expected)."""
    if not _HUNDREDTHS.match(raw):
        return None
    whole, _, frac = raw.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def parse_hours(text: str) -> int:
    """Weekly hours ('37.5') to hundredths of an hour (3750)."""
    hundredths_ = hundredths(str(text).strip())
    if hundredths_ is None:
        raise InputError(f"not a number of weekly hours: {text!r} (e.g. 37.5)")
    if hundredths_ > 168 * 100:
        raise InputError(f"a week has 168 hours; {text!r} is more")
    return hundredths_


def parse_percent(text: str, what: str) -> int:
    """A whole percentage 0..100 ('40', '40%'); anything else is exit 1."""
    raw = str(text).strip().removesuffix("%").strip()
    if not re.fullmatch(r"-?\d+(\.\d+)?", raw):
        raise InputError(f"{what} must be a whole percentage from 0 to 100, not {text!r}")
    if "." in raw:
        whole, _, frac = raw.partition(".")
        if frac.strip("0"):
            raise InputError(f"{what} must be a whole percentage from 0 to 100, not {text!r}")
        raw = whole
    value = int(raw)
    if value < 0 or value > 100:
        raise InputError(f"{what} must be from 0 to 100, not {text!r}")
    return value


def parse_rate(text: str) -> int:
    """An annual interest rate in percent ('4.5' or '4.5%') to basis points (450)."""
    points = hundredths((text or "").strip().rstrip("%").strip())
    if points is None:
        raise InputError(f"not an interest rate: {text!r}; a yearly percentage such as 4.5")
    if points > 100 * 100:
        raise InputError(f"an interest rate above 100% is not a plain loan: {text!r}")
    return points


def format_hours(hundredths: int) -> str:
    whole, part = divmod(int(hundredths), 100)
    return f"{whole}" if part == 0 else f"{whole}.{part:02d}".rstrip("0")


def _int_range(low: int, high: int | None) -> Callable[[str], str]:
    def parse(text: str) -> str:
        raw = str(text).strip()
        if not re.fullmatch(r"\d+", raw):
            raise InputError(f"not a whole number: {text!r}")
        value = int(raw)
        if value < low or (high is not None and value > high):
            bounds = f"{low} to {high}" if high is not None else f"at least {low}"
            raise InputError(f"{value} is out of range ({bounds})")
        return str(value)

    return parse


def _hours_value(text: str) -> str:
    return format_hours(parse_hours(text))


def _on_off(text: str) -> str:
    raw = str(text).strip().lower()
    if raw in ("on", "true", "yes", "1"):
        return "on"
    if raw in ("off", "false", "no", "0"):
        return "off"
    raise InputError(f"not on or off: {text!r}")


def parse_method(text: str) -> dict[str, int]:
    """'equal' -> {'equal': 100}; 'equal:50,hours:50' -> {'equal': 50, 'hours': 50}."""
    raw = str(text).strip().lower()
    if raw in SHARING_BASES:
        return {raw: 100}
    parts: dict[str, int] = {}
    for piece in raw.split(","):
        basis, sep, percent = piece.strip().partition(":")
        if not sep or basis not in SHARING_BASES or not re.fullmatch(r"\d{1,3}", percent):
            raise InputError(
                f"not a sharing method: {text!r}; use equal, hours, pay, service, "
                "or a blend such as equal:50,hours:50"
            )
        if basis in parts:
            raise InputError(f"{basis} appears twice in the sharing method {text!r}")
        if int(percent) == 0:
            raise InputError(f"a blend's parts must each be more than 0%: {text!r}")
        parts[basis] = int(percent)
    if sum(parts.values()) != 100:
        raise InputError(f"a blend's percentages must add up to 100: {text!r}")
    return parts


def format_method(parts: Mapping[str, int]) -> str:
    if len(parts) == 1:
        return next(iter(parts))
    return ",".join(f"{basis}:{percent}" for basis, percent in parts.items())


def _method_value(text: str) -> str:
    return format_method(parse_method(text))


ENTRENCHED = (
    ClauseSpec("no-share-issuance", "on", True, None,
               "the practice has no share capital of any kind; nothing is issued, sold or bought"),
    ClauseSpec("employees-only", "on", True, None,
               "only people employed by the practice (at or above the minimum hours) can be "
               "members; never an organisation"),
    ClauseSpec("non-transferable", "on", True, None,
               "a membership cannot be transferred, sold, lent or inherited; it ends when "
               "employment ends"),
    ClauseSpec("one-member-one-vote", "on", True, None,
               "every member has exactly one vote; no weighting, no second vote, no proxy"),
    ClauseSpec("frontline-majority", "on", True, None,
               "practitioners are always more than half of the members"),
    ClauseSpec("asset-lock", "on", True, None,
               "reserves and residual assets pass only to another asset-locked body (mutual, "
               "charity, community interest company)"),
    ClauseSpec("no-demutualisation", "on", True, None,
               "the practice cannot convert into, merge into, or transfer its business to a "
               "company with shareholders"),
)

AMENDABLE = (
    ClauseSpec("membership.min-hours", "8", False, "special",
               "minimum contracted weekly hours for membership", _hours_value),
    ClauseSpec("membership.max-members", "50", False, "special",
               "the most members the practice may have (small is beautiful)", _int_range(2, None)),
    ClauseSpec("membership.probation-days", "0", False, "special",
               "days after employed-since before a membership (and its share) begins",
               _int_range(0, 3650)),
    ClauseSpec("governance.quorum-percent", "50", False, "special",
               "share of current members who must vote (never fewer than 2)", _int_range(1, 100)),
    ClauseSpec("governance.ordinary-percent", "50", False, "special",
               "an ordinary resolution passes with yes MORE than this % of yes+no",
               _int_range(0, 99)),
    ClauseSpec("governance.special-percent", "75", False, "special",
               "a special resolution passes with yes AT LEAST this % of yes+no",
               _int_range(51, 100)),
    ClauseSpec("governance.notice-days", "14", False, "special",
               "clear days a proposal stays open before it may close (sooner only once every "
               "member has voted or no remaining vote could change the result)",
               _int_range(7, 365)),
    ClauseSpec("sharing.method", "equal", False, "special",
               "how the distributable pool is shared: equal, hours, pay, service, or a blend",
               _method_value),
    ClauseSpec("sharing.reserve-percent", "20", False, "ordinary",
               "share of a surplus kept in the asset-locked general reserve", _int_range(0, 100)),
    ClauseSpec("contracts.own-authority-only", "on", False, "special",
               "contracts only with the practice's own local authority", _on_off),
    ClauseSpec("meetings.notice-days", "14", False, "special",
               "clear days' notice of a general meeting (neither the day of notice nor the "
               "day of the meeting counts)", _int_range(14, 90)),
    ClauseSpec("meetings.first-agm-months", "18", False, "special",
               "the first annual general meeting is held within this many months of "
               "registration", _int_range(1, 18)),
    ClauseSpec("meetings.agm-interval-months", "15", False, "special",
               "each later annual general meeting is held within this many months of the last",
               _int_range(1, 15)),
    ClauseSpec("governance.written-days", "28", False, "special",
               "days a written resolution stays open for members to sign (the day it is "
               "proposed is the first); it lapses after them", _int_range(1, 365)),
    ClauseSpec("reporting.annual-return-months", "7", False, "special",
               "the annual return and accounts are due within this many months of the "
               "financial year end", _int_range(1, 7)),
)

CLAUSES: dict[str, ClauseSpec] = {spec.name: spec for spec in ENTRENCHED + AMENDABLE}


def clause_value(name: str, value: str) -> str:
    """Validate a proposed value for an amendable clause; return its canonical form.

    Unknown clause: InputError (exit 1). Entrenched clause: RuleViolation (exit 3).
    """
    spec = CLAUSES.get(name)
    if spec is None:
        raise InputError(f"no such clause: {name!r}; 'swp rules show' lists them")
    if spec.entrenched:
        raise RuleViolation(name, f"{name} is entrenched: no resolution can change it")
    assert spec.parse is not None
    try:
        canonical = spec.parse(value)
    except InputError as exc:
        raise InputError(f"bad value for {name}: {exc.message}") from None
    refuse(bound_violations(name, canonical))
    return canonical


def bound_violations(name: str, value: str) -> list[Violation]:
    """The entrenched limits of two amendable clauses: a minimum of weekly hours that is real
    work (a zero-hour "employee" would open membership to anyone), and a ceiling on the number
    of members that keeps the practice small enough for every member to know the others."""
    if name == "membership.min-hours" and parse_hours(value) < MIN_HOURS_FLOOR * 100:
        return [Violation("employees-only",
                          f"membership.min-hours may not be below the entrenched floor of "
                          f"{MIN_HOURS_FLOOR} hour a week (asked: {value})")]
    if name == "membership.max-members" and int(value) > MAX_MEMBERS_CEILING:
        return [Violation("membership.max-members",
                          f"membership.max-members may not be above the entrenched ceiling of "
                          f"{MAX_MEMBERS_CEILING} (asked: {value})")]
    return []


# --- the people in the practice ---------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A member (or a candidate) as the rules see them: their latest facts."""

    handle: str
    name: str
    role: str
    hours_hundredths: int
    employed_since: date | None
    left_on: date | None = None
    organisation: bool = False
    registration: str | None = None  # Social Work England registration (practitioners)


_REGISTRATION = re.compile(r"SW[0-9]{1,10}\Z")


def registration_number(text: str | None) -> str | None:
    """A Social Work England registration in its published form ('SW123456'), or None if the
    text is not one (spaces are dropped and letters made capital first)."""
    raw = re.sub(r"\s+", "", text or "").upper()
    return raw if _REGISTRATION.match(raw) else None


# Legal forms of companies, UK and international, as letters only (dots and spaces removed):
# "Ltd", "L.t.d.", "l t d" and "ＬＴＤ" are all "ltd" once folded.
LEGAL_FORMS = frozenset({
    "ltd", "limited", "plc", "llp", "lp", "llc", "lllp", "inc", "incorporated", "corp",
    "corporation", "co", "company", "cic", "cio", "pty", "pvt", "ulc", "gmbh", "ag", "kg",
    "kgaa", "ohg", "ug", "ev", "sa", "sas", "sarl", "sasu", "spa", "srl", "sl", "slu", "bv",
    "nv", "vof", "ab", "as", "asa", "aps", "oy", "oyj", "sp", "spzoo", "kk", "bhd", "sdnbhd",
    "pte", "ptyltd", "pteltd", "sro", "doo", "ad", "se", "scs", "scrl", "sce",
})
# Words that name an organisation wherever they stand in a name.
ORGANISATION_WORDS = frozenset({
    "ltd", "limited", "plc", "llp", "llc", "inc", "incorporated", "corp", "corporation",
    "company", "gmbh", "holdings", "holding", "group", "partners", "partnership", "capital",
    "investment", "investments", "ventures", "venture", "trust", "fund", "funds", "bank",
    "enterprises", "industries", "consulting", "services", "solutions", "associates",
})
# Forms distinctive enough to find glued to the end of a word ("AcmeCareLtd").
_GLUED_FORMS = ("ltd", "limited", "plc", "llp", "llc", "gmbh", "holdings", "incorporated",
                "corporation")
_NAME_PREFIXES = ("mc", "mac", "fitz", "o", "de", "di", "da", "la", "le", "van", "von", "du")


def fold_name(name: str) -> str:
    """A name as letters a reader would take it for: Unicode NFKC (full-width and styled
    letters to plain ones), then every letter that Unicode's confusables data maps to a Latin
    look-alike (Cyrillic 'А', Greek 'Ο') replaced by it, then case-folded."""
    import unicodedata

    from confusable_homoglyphs import confusables

    text = unicodedata.normalize("NFKC", name)
    found = confusables.is_confusable(text, greedy=True, preferred_aliases=["latin"]) or []
    swaps: dict[str, str] = {}
    for item in found:
        for glyph in item["homoglyphs"]:
            if glyph["n"].startswith("LATIN") and len(glyph["c"]) == 1:
                swaps[item["character"]] = glyph["c"]
                break
    text = "".join(swaps.get(ch, ch) for ch in text)
    return unicodedata.normalize("NFKC", text).casefold()


def _name_words(name: str) -> list[str]:
    """The words of a name after folding: CamelCase split ("AcmeCareLtd" -> acme care ltd),
    and runs of single letters joined ("L.t.d." -> ltd, "S. A." -> sa)."""
    import unicodedata

    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    words = re.findall(r"[^\W_]+", fold_name(text))
    joined: list[str] = []
    run = ""
    for word in words:
        if len(word) == 1:
            run += word
            continue
        if run:
            joined.append(run)
            run = ""
        joined.append(word)
    if run:
        joined.append(run)
    return joined


def organisation_form(name: str) -> str | None:
    """The company form or organisation word a name carries ('ltd', 'plc', 'sa', 'holdings'),
    or None. A first filter: the name is folded (NFKC and Unicode's confusables) before it is
    compared, and a legal form counts with or without dots and spaces, or glued on."""
    words = _name_words(name)
    if not words:
        return None
    for word in words:
        if word in ORGANISATION_WORDS:
            return word
    if words[-1] in LEGAL_FORMS:
        return words[-1]
    squashed = "".join(words)
    for form in _GLUED_FORMS:
        if squashed.endswith(form) and squashed != form:
            return form
    # one word with a capital inside it ("BlackRock") is a brand, not a person's name
    plain = _nfkc(name).strip()
    if " " not in plain and re.search(r"[a-z][A-Z]", plain):
        head = re.match(r"[A-Za-z]*?[a-z](?=[A-Z])", plain)
        if head is None or head.group(0).lower() not in _NAME_PREFIXES:
            return "a brand-like single word"
    return None


def _nfkc(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", text)


def looks_like_organisation(name: str) -> bool:
    """A name such as 'Acme Care Ltd', 'Northgate Holdings plc', 'Acme SA' or 'ＡＣＭＥ ＬＴＤ'
    is an organisation's."""
    return organisation_form(name) is not None


def _organisation_message(name: str) -> str:
    form = organisation_form(name)
    what = form if form and " " in form else f"the company form or word {form!r}"
    return f"{name!r} is an organisation ({what}); only employed people can be members"


def _majority_holds(people: Iterable[Person]) -> tuple[bool, int, int]:
    people = list(people)
    practitioners = sum(1 for p in people if p.role == "practitioner")
    return (practitioners * 2 > len(people), practitioners, len(people))


def person_violations(clauses: Mapping[str, str], person: Person) -> list[Violation]:
    """Is this one person someone who may be a member at all?"""
    found: list[Violation] = []
    if looks_like_organisation(person.name):
        found.append(Violation("employees-only", _organisation_message(person.name)))
    elif person.organisation:
        found.append(Violation("employees-only",
                               f"{person.name!r} is an organisation; only employed people can be members"))
    if person.role not in EMPLOYEE_ROLES:
        found.append(Violation("employees-only",
                               f"role {person.role!r} is not an employee role "
                               f"({', '.join(EMPLOYEE_ROLES)}); only employees can be members"))
    if person.employed_since is None:
        found.append(Violation("employees-only", f"{person.handle} is not employed by the practice"))
    minimum = parse_hours(clauses.get("membership.min-hours", "8"))
    if person.hours_hundredths < minimum:
        found.append(Violation("employees-only",
                               f"{person.handle} is contracted for {format_hours(person.hours_hundredths)} "
                               f"hours a week, below the minimum of {format_hours(minimum)}"))
    # then what a practitioner needs (after whether they may be a member at all)
    if person.role == "practitioner" and (person.registration is None or
                                          registration_number(person.registration)
                                          != person.registration):
        found.append(Violation("frontline-majority",
                               f"{person.handle} is a practitioner without a Social Work England "
                               "registration in its published form (SW followed by digits, e.g. "
                               "--registration SW123456)"))
    return found


def admission_violations(
    clauses: Mapping[str, str], roster: Iterable[Person], candidate: Person, *, on: date | None = None
) -> list[Violation]:
    """Every reason `candidate` may not join `roster` (the current members) on `on`: someone
    whose employment begins after that day is not yet an employee."""
    roster = list(roster)
    found = person_violations(clauses, candidate)
    if on is not None and candidate.employed_since is not None and candidate.employed_since > on:
        found.append(Violation("employees-only",
                               f"{candidate.handle}'s employment begins on {candidate.employed_since}, "
                               f"after {on}: only employees can be members; admit them on or after "
                               "their first day"))
    found.extend(registration_violations([*roster, candidate]))
    cap = int(clauses.get("membership.max-members", "50"))
    if len(roster) + 1 > cap:
        found.append(Violation("membership.max-members",
                               f"the practice is at its cap of {cap} members"))
    holds, practitioners, total = _majority_holds([*roster, candidate])
    # a practitioner's admission never weakens the frontline: allowed even while the
    # majority is lost (it is how the majority is restored)
    if not holds and candidate.role != "practitioner":
        found.append(Violation("frontline-majority",
                               f"admitting {candidate.handle} as {candidate.role} would leave "
                               f"{practitioners} practitioners among {total} members (must be more "
                               "than half); admit practitioners first"))
    return found


def registration_violations(people: Iterable[Person]) -> list[Violation]:
    """A registration belongs to one person: no two members hold the same one."""
    seen: dict[str, str] = {}
    found = []
    for person in people:
        if person.registration is None:
            continue
        if person.registration in seen:
            found.append(Violation("frontline-majority",
                                   f"{person.handle} and {seen[person.registration]} both hold the "
                                   f"registration {person.registration}: it belongs to one person"))
        seen.setdefault(person.registration, person.handle)
    return found


def change_violations(
    clauses: Mapping[str, str], roster: Iterable[Person], changed: Person, *,
    by_resolution: bool = False,
) -> list[Violation]:
    """Every reason a member's new role or hours may not take effect.

    Becoming a practitioner adds to the frontline that guards the practice, so it is not a
    manager's relabelling: it needs a registration and an ordinary resolution."""
    others = [p for p in roster if p.handle != changed.handle]
    before = next((p for p in roster if p.handle == changed.handle), None)
    found = []
    if changed.role == "practitioner" and (before is None or before.role != "practitioner") \
            and not by_resolution:
        found.append(Violation("frontline-majority",
                               f"making {changed.handle} a practitioner needs an ordinary "
                               "resolution: swp proposal new --kind ordinary --make-practitioner "
                               f"{changed.handle} --registration SW..."))
    found.extend(person_violations(clauses, changed))
    holds, practitioners, total = _majority_holds([*others, changed])
    # only a practitioner ceasing to be one can weaken the frontline; a change that leaves
    # the ratio as it was (staff to manager, new hours) is not refused for a majority lost
    # earlier by someone leaving
    leaves_frontline = (before is None or before.role == "practitioner") and \
        changed.role != "practitioner"
    if not holds and leaves_frontline:
        found.append(Violation("frontline-majority",
                               f"this change would leave {practitioners} practitioners among "
                               f"{total} members (must be more than half)"))
    return found


def roster_violations(clauses: Mapping[str, str], roster: Iterable[Person]) -> list[Violation]:
    """For `swp check`: everything wrong with the current membership as it stands."""
    roster = list(roster)
    found: list[Violation] = []
    for person in roster:
        found.extend(person_violations(clauses, person))
    found.extend(registration_violations(roster))
    cap = int(clauses.get("membership.max-members", "50"))
    if len(roster) > cap:
        found.append(Violation("membership.max-members",
                               f"{len(roster)} members, above the cap of {cap}"))
    if roster:
        holds, practitioners, total = _majority_holds(roster)
        if not holds:
            found.append(Violation("frontline-majority",
                                   f"practitioners are {practitioners} of {total} members, not more "
                                   "than half: only practitioners can be admitted until restored"))
    return found


# --- outsiders, money and control --------------------------------------------------------


# Where an asset-locked body is registered, and its number's published form there.
REGISTERS = {
    "mutual": ("FCA mutuals register", re.compile(r"(IP|RS)?[0-9]{1,6}R?\Z"),
               "a society number such as 31045R"),
    "charity": ("Charity Commission", re.compile(r"([0-9]{6,7}(-[0-9]{1,2})?|SC0[0-9]{5})\Z"),
                "a charity number such as 1123456"),
    "cic": ("Companies House", re.compile(r"([0-9]{8}|(SC|NI)[0-9]{6})\Z"),
            "a company number such as 09876543"),
}
# forms no asset-locked body carries: a public or foreign share company
_SHAREHOLDER_FORMS = {"plc", "inc", "incorporated", "corp", "corporation", "gmbh", "ag", "sa",
                      "llc", "holdings", "holding", "capital", "investment", "investments",
                      "ventures", "venture", "nv", "bv", "spa", "kgaa", "fund", "funds"}


def register_entry(kind: str, number: str | None) -> str:
    """'charity', '1123456' -> 'Charity Commission 1123456': the register a member can look
    the body up in. A missing number is bad input; one not in the register's form is refused."""
    name, pattern, example = REGISTERS[kind]
    raw = re.sub(r"\s+", "", number or "").upper()
    if not raw:
        raise InputError(f"a {kind} names its number on the {name} (--register, {example})")
    if not pattern.match(raw):
        raise RuleViolation("asset-lock", f"{number!r} is not a number on the {name} ({example}); "
                            f"a {kind} is named by its register for members to check")
    return f"{name} {raw}"


def body_violations(kind: str, *, purpose: str, name: str) -> list[Violation]:
    """A merger partner or a recipient of residual assets (SPEC section 6, items 6 and 7)."""
    if kind not in BODY_KINDS:
        raise InputError(f"not a kind of body: {kind!r}; one of {', '.join(BODY_KINDS)}")
    clause = "no-demutualisation" if purpose == "merge" else "asset-lock"
    if kind in ASSET_LOCKED_KINDS:
        form = organisation_form(name)
        if form in _SHAREHOLDER_FORMS:
            return [Violation(clause, f"{name!r} carries {form!r}, the name of a company with "
                              f"shareholders, not of a {kind}")]
        if kind == "cic" and "cic" not in _name_words(name) and \
                "community interest company" not in " ".join(_name_words(name)):
            return [Violation(clause, f"{name!r} is not named as a community interest company "
                              "(a CIC's name ends 'CIC' or 'Community Interest Company')")]
        return []
    if purpose == "merge":
        return [Violation("no-demutualisation",
                          f"merging with {name} ({kind}) would hand the practice to a body that is "
                          "not asset-locked")]
    return [Violation("asset-lock",
                      f"residual assets may pass only to a mutual, charity or cic, not to {name} ({kind})")]


def finance_violations(
    *, voting_rights: bool, board_seat: bool, equity_conversion: bool, profit_share: bool
) -> list[Violation]:
    """External finance may carry no control (SPEC section 6, item 8)."""
    found = []
    if voting_rights:
        found.append(Violation("one-member-one-vote", "a lender may not have votes"))
    if board_seat:
        found.append(Violation("no-demutualisation", "a lender may not have a board seat"))
    if equity_conversion:
        found.append(Violation("no-share-issuance", "a loan may not convert into equity"))
    if profit_share:
        found.append(Violation("asset-lock", "a lender may not take a share of profits"))
    return found


def authority_violations(
    clauses: Mapping[str, str], own_authority: str, authority: str
) -> list[Violation]:
    """Contracts only with the practice's own local authority (SPEC section 6, item 11)."""
    if clauses.get("contracts.own-authority-only", "on") != "on":
        return []
    if authority.strip().casefold() == own_authority.strip().casefold():
        return []
    return [Violation("contracts.own-authority-only",
                      f"{authority!r} is not the practice's own local authority ({own_authority})")]


# the words that name shares, stock or equity, wherever swp looks at a name (an income category,
# a ledger category or account, a table, a column); "share" alone is also a member's profit
# share, so a column or a ledger name is judged by the others (`profit-share` names nothing)
_SHARE_WORDS = {"share", "shares", "shareholder", "shareholders", "shareholding", "stock",
                "stocks", "stockholder", "equity", "equities"}
_HOLDING_WORDS = _SHARE_WORDS - {"share"}
_CAPITAL_WORDS = _SHARE_WORDS | {"capital", "investment", "investments", "invest", "investor",
                                 "investors", "financing", "subscription"}


def income_category_violations(category: str) -> list[Violation]:
    """Capital is never income: a category naming capital, equity, investment or financing
    (`share-capital`, `capital-contribution`, `investment`, `financing`) would bring money in
    that is then shared out as profit, or buy a say. Borrowing goes through `finance loan`."""
    words = set(re.split(r"[^a-z0-9]+", category.lower()))
    found = sorted(words & _CAPITAL_WORDS)
    if found:
        return [Violation("no-share-issuance",
                          f"{category!r} names {found[0]}: capital is never income (the practice "
                          "has no share capital; borrowing goes through 'swp finance loan')")]
    return []


def refuse(violations: Iterable[Violation]) -> None:
    """Raise the first violation (exit 3) if there is any; the message names its clause."""
    violations = list(violations)
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise RuleViolation(first.clause, first.message + more)


# --- resolutions and votes (SPEC sections 6 and 8) ----------------------------------------

PROPOSAL_KINDS = ("ordinary", "special")
PROPOSAL_ACTIONS = ("amend", "expel", "merge", "dissolve", "write-off", "re-enrol")
VOTE_CHOICES = ("yes", "no", "abstain")


# Decisions a resolution records that are not clauses of the constitution: the practice's own
# local authority (contracts follow it), a member made a practitioner (the frontline that
# guards the practice), and the part of a cost shared with a partner the practice pays.
RESOLVED = {
    "practice.local-authority": ("special", "the practice's own local authority"),
    "member.role": ("ordinary", "a member made a practitioner, with their registration"),
    "partner.split": ("ordinary", "the practice's agreed percent of costs shared with a partner"),
    "member.admit": ("ordinary", "a newcomer the members agree to admit, in a role, while the "
                     "practice has no manager"),
    "member.left": ("special", "a member's end of employment, recorded by the members"),
}
# resolutions that end someone else's membership, or enrol a new key in place of their lost
# one (whoever holds it signs as them): the member concerned has the full notice
ENDS_MEMBERSHIP = {("expel", None), ("amend", "member.left"), ("re-enrol", None)}


def split_violations(partner: str, agreed: int | None, our_percent: int) -> list[Violation]:
    """The practice pays no more of a shared cost than the part its members agreed."""
    if agreed is None:
        return [Violation("asset-lock", f"no split with {partner} has been agreed: propose one "
                          f"(swp proposal new --kind ordinary --partner-split \"{partner}=PERCENT\")")]
    if our_percent > agreed:
        return [Violation("asset-lock", f"{our_percent}% would put more on the practice than the "
                          f"{agreed}% agreed with {partner}; the practice pays no outsider's costs")]
    return []


def kind_needed(action: str, clause: str | None = None) -> str:
    """The kind of resolution an action needs.

    An amendment needs the kind its clause names (SPEC section 2). Expelling a member, a
    merger and a dissolution end someone's membership or the practice as it is: they always
    need a special resolution. Re-enrolling a member's lost key hands someone the power to
    act and vote as that member, so it is special too (a bare majority must not be able to
    take over the minority's votes). Writing off a former member's deficit is an ordinary one.
    """
    if action == "write-off":
        return "ordinary"
    if action == "amend":
        spec = CLAUSES.get(clause or "")
        if spec is not None and spec.changed_by is not None:
            return spec.changed_by
        if clause in RESOLVED:
            return RESOLVED[clause][0]
    return "special"


def kind_suffices(kind: str, needed: str) -> bool:
    """A special resolution may do whatever an ordinary one may; not the other way round."""
    return kind == needed or (kind == "special" and needed == "ordinary")


def proposal_violations(*, action: str, clause: str | None = None, target: str | None = None,
                        target_kind: str | None = None) -> list[Violation]:
    """What no resolution may do, however large (SPEC section 6, items 5 to 7).

    Amending an entrenched clause; merging with (or converting into, or transferring the
    business to) a body that is not asset-locked; dissolving with the residual assets going
    anywhere but an asset-locked body. An unknown body kind is bad input (InputError).
    """
    if action == "amend":
        spec = CLAUSES.get(clause or "")
        if spec is not None and spec.entrenched:
            return [Violation(spec.name, f"{spec.name} is entrenched: no resolution can change it")]
        return []
    if action in ("merge", "dissolve"):
        purpose = "merge" if action == "merge" else "dissolve"
        return body_violations(target_kind or "", purpose=purpose, name=target or "?")
    return []


def amendment_violations(clauses: Mapping[str, str], roster: Iterable[Person], name: str,
                         value: str) -> list[Violation]:
    """Would the practice as it stands break its constitution once `name` is `value`?

    Raising the minimum hours above a member's contracted hours, or lowering the cap below
    the number of members, would leave the practice in breach the moment it passed: change
    the members first (their hours, or who is a member), then the clause.
    """
    roster = list(roster)
    found = []
    if name == "membership.min-hours":
        old, new = parse_hours(clauses.get(name, "8")), parse_hours(value)
        for person in roster:
            if new > person.hours_hundredths >= old:
                found.append(Violation("employees-only",
                                       f"a minimum of {format_hours(new)} hours would leave "
                                       f"{person.handle} ({format_hours(person.hours_hundredths)} "
                                       "hours a week) below it; change their hours first"))
    if name == "membership.max-members":
        old_cap, new_cap = int(clauses.get(name, "50")), int(value)
        if new_cap < len(roster) <= old_cap:
            found.append(Violation("membership.max-members",
                                   f"a cap of {new_cap} is below the {len(roster)} members the "
                                   "practice has"))
    return found


def expulsion_violations(roster: Iterable[Person], handle: str) -> list[Violation]:
    """Expelling a practitioner may not leave practitioners at half or fewer (item 10).

    A member may always leave their employment (`member leave`); an expulsion by the other
    members is a change to the membership, guarded like an admission or a change of role.
    """
    roster = list(roster)
    target = next((p for p in roster if p.handle == handle), None)
    if target is None or target.role != "practitioner":
        return []
    rest = [p for p in roster if p.handle != handle]
    holds, practitioners, total = _majority_holds(rest)
    if rest and not holds:
        return [Violation("frontline-majority",
                          f"expelling {handle} would leave {practitioners} practitioners among "
                          f"{total} members (must be more than half)")]
    return []


def admission_authority_violations(handle: str, role: str, *, has_manager: bool,
                                   founding: bool, agreed_roles: Iterable[str]) -> list[Violation]:
    """Who may admit: during the founding, the founders; then a current manager. A practice
    whose managers have all gone admits only whom its members agreed to admit, in the role
    agreed (a passed resolution): one member alone admitting others would add the votes they
    need, as a manager ending others' memberships would remove the votes in their way."""
    if founding or has_manager or role in set(agreed_roles):
        return []
    return [Violation("one-member-one-vote",
                      f"the practice has no current manager: admitting {handle} as {role} needs "
                      "a passed resolution (swp proposal new --kind ordinary --admit "
                      f"{handle} --role {role})")]


def leave_violations(actor: str, handle: str) -> list[Violation]:
    """A member ends only their own membership (a resignation, on the day they give); a
    manager, or any one member, ending someone else's would let one person remove the votes
    that stand in their way. That is the members' decision: a passed resolution."""
    if actor == handle:
        return []
    return [Violation("one-member-one-vote",
                      f"{actor} cannot end {handle}'s membership: a member resigns for themselves "
                      f"(swp --as {handle} member leave {handle}); ending another's membership "
                      "needs a passed resolution (swp proposal new --kind special --expel "
                      f"{handle}, or --end-employment {handle}=DATE)")]


def vote_violations(voter: str, member: Person | None, *, on: date, weight: int = 1,
                    for_handle: str | None = None) -> list[Violation]:
    """One member, one vote (item 4): only a current member votes, once, for themselves.

    A second vote by the same member is not refused here: it replaces their earlier vote
    (a changed vote), and only the latest counts.
    """
    found: list[Violation] = []
    if member is None:
        found.append(Violation("one-member-one-vote",
                               f"{voter!r} is not a member of the practice; only members vote"))
    elif member.left_on is not None and member.left_on < on:
        found.append(Violation("one-member-one-vote",
                               f"{voter} left the practice on {member.left_on}; a former member "
                               "has no vote"))
    elif member.employed_since is not None and member.employed_since > on:
        found.append(Violation("one-member-one-vote",
                               f"{voter}'s membership begins on {member.employed_since} (their first "
                               "day of employment); only members vote"))
    if weight != 1:
        found.append(Violation("one-member-one-vote",
                               f"every member has exactly one vote; a vote cannot weigh {weight}"))
    if for_handle is not None and for_handle != voter:
        found.append(Violation("one-member-one-vote",
                               f"{voter} cannot vote for {for_handle}: no proxy votes, each member "
                               "casts their own one vote"))
    return found


@dataclass(frozen=True)
class Tally:
    yes: int = 0
    no: int = 0
    abstain: int = 0

    @property
    def voters(self) -> int:
        return self.yes + self.no + self.abstain


def tally(choices: Iterable[str]) -> Tally:
    """Count one choice per member (the caller passes each member's latest vote only)."""
    counts = {"yes": 0, "no": 0, "abstain": 0}
    for choice in choices:
        counts[choice] += 1
    return Tally(**counts)


@dataclass(frozen=True)
class Outcome:
    quorum_met: bool
    quorum_needed: int  # voters needed (abstentions count)
    threshold_met: bool
    percent: int  # the threshold applied
    passed: bool


def quorum_needed(clauses: Mapping[str, str], electorate: int) -> int:
    """quorum-percent of current members, rounded up, and never fewer than 2."""
    percent = int(clauses.get("governance.quorum-percent", "50"))
    return max(2, -(-percent * electorate // 100))


def decide(clauses: Mapping[str, str], kind: str, counts: Tally, electorate: int) -> Outcome:
    """Quorum and threshold (SPEC section 8), in whole-number arithmetic.

    Quorum: voters (abstentions count) reach quorum-percent of the current members, and at
    least 2. Ordinary: yes MORE than ordinary-percent of yes+no (so a tie fails). Special: yes
    AT LEAST special-percent of yes+no. Abstentions count toward the quorum only; with no yes
    or no votes at all nothing passes.
    """
    needed = quorum_needed(clauses, electorate)
    quorum_met = counts.voters >= needed
    decisive = counts.yes + counts.no
    if kind == "ordinary":
        percent = int(clauses.get("governance.ordinary-percent", "50"))
        threshold = decisive > 0 and counts.yes * 100 > percent * decisive
    else:
        percent = int(clauses.get("governance.special-percent", "75"))
        threshold = decisive > 0 and counts.yes * 100 >= percent * decisive
    return Outcome(quorum_met, needed, threshold, percent, quorum_met and threshold)


def earliest_close(clauses: Mapping[str, str], proposed_on: date) -> date:
    """The first day a proposal may close in the ordinary way: notice-days clear days after
    the day it was made."""
    from swp.dates import earliest_after_notice

    return earliest_after_notice(proposed_on, int(clauses.get("governance.notice-days", "14")))


def result_is_settled(clauses: Mapping[str, str], kind: str, counts: Tally,
                      electorate: int) -> bool:
    """No remaining vote could change the result: every current member has voted, or the
    result is the same whether the members yet to vote all vote yes, all vote no, or none
    votes at all (quorum included)."""
    remaining = max(0, electorate - counts.voters)
    if remaining == 0:
        return True
    now = decide(clauses, kind, counts, electorate).passed
    all_yes = decide(clauses, kind, Tally(counts.yes + remaining, counts.no, counts.abstain),
                     electorate).passed
    all_no = decide(clauses, kind, Tally(counts.yes, counts.no + remaining, counts.abstain),
                    electorate).passed
    return now == all_yes == all_no


def ends_membership(action: str, clause: str | None) -> bool:
    """Does this resolution end someone else's membership (an expulsion, a recorded end of
    employment), or re-enrol their key? The member concerned has the full notice."""
    return (action, None if action != "amend" else clause) in ENDS_MEMBERSHIP


def may_close_early(clauses: Mapping[str, str], kind: str, counts: Tally, electorate: int, *,
                    ending: bool = False) -> bool:
    """Before its notice period is over a proposal closes only when no remaining vote could
    change the result; one ending someone's membership (`ending`) only when every current
    member, the member concerned among them, has voted: they have the full notice otherwise."""
    if ending:
        return counts.voters >= electorate
    return result_is_settled(clauses, kind, counts, electorate)


def notice_violations(clauses: Mapping[str, str], kind: str, counts: Tally, electorate: int,
                      proposed_on: date, on: date, *, ending: bool = False) -> list[Violation]:
    """A snap vote: closing before the notice period is over, while the members yet to vote
    could still change the result (or, for a resolution ending someone's membership, while
    anyone has yet to vote)."""
    earliest = earliest_close(clauses, proposed_on)
    if on >= earliest or may_close_early(clauses, kind, counts, electorate, ending=ending):
        return []
    waiting = electorate - counts.voters
    why = ("ending a membership or re-enrolling a member's key waits the full notice" if ending
           else "could change the result")
    return [Violation("governance.notice-days",
                      f"the proposal may close on {earliest} ({clauses.get('governance.notice-days', '14')} "
                      f"clear days after {proposed_on}), or sooner once every member has voted: "
                      f"{waiting} of {electorate} members have not voted and {why}")]


def restores_frontline(action: str, clause: str | None, value: str | None) -> bool:
    """Resolutions that restore a lost frontline majority: making a member a practitioner, or
    agreeing to admit a practitioner."""
    return action == "amend" and (clause == "member.role"
                                  or (clause == "member.admit" and value == "practitioner"))


def frontline_close_violations(roster: Iterable[Person], action: str, clause: str | None,
                               value: str | None = None) -> list[Violation]:
    """While practitioners are not a majority, only what restores it may pass: a proposal may
    be made and voted on, but a close that would apply anything else is refused."""
    holds, practitioners, total = _majority_holds(roster)
    if holds or total == 0 or restores_frontline(action, clause, value):
        return []
    return [Violation("frontline-majority",
                      f"practitioners are {practitioners} of {total} members, not more than half: "
                      "until the majority is restored only a resolution restoring it (making a "
                      "member a practitioner, or admitting one) may pass; admit practitioners first")]


# --- what `swp check` looks for beyond the members -----------------------------------------

_CONTROL_COLUMNS = {"share_class", "share_capital", "share_count", "voting_rights", "board_seat",
                    "equity_conversion", "lender_votes"}


def schema_violations(tables: Mapping[str, Iterable[str]]) -> list[Violation]:
    """No table or column that could hold shares or a lender's control (items 1 and 8).

    A table named like shares/share_register/equity, or a column such as share_class,
    voting_rights or board_seat, is a place where share capital or control could be kept.
    """
    found = []
    for table, columns in sorted(tables.items()):
        if set(re.split(r"[_\W]+", table.lower())) & _SHARE_WORDS:
            found.append(Violation("no-share-issuance", f"the database has a table {table!r}: "
                                   "the practice has no share capital of any kind"))
        for column in columns:
            name = column.lower()
            words = set(re.split(r"[_\W]+", name))
            if name in _CONTROL_COLUMNS or words & _HOLDING_WORDS:
                found.append(Violation("no-share-issuance", f"the database has a column "
                                       f"{table}.{column}: no shares, and no control rights for outsiders"))
    return found


_SHARE_SEGMENTS = {"share", "share-capital", "share-issue", "share-sale", "share-premium"}


def names_shares(name: str) -> bool:
    """Does a ledger category or account name share capital? One part of it between colons is
    `share`, `share-capital` (and the like), or one word of it names a holding (`shares`,
    `equity:...`, `stock`); `shared-admin` and a member's `profit-share` do not."""
    parts = name.lower().replace("_", "-").split(":")
    words = {word for part in parts for word in part.split("-")}
    return bool(set(parts) & _SHARE_SEGMENTS or words & _HOLDING_WORDS)


def clause_table_violations(rows: Mapping[str, tuple[str, bool, str | None]]) -> list[Violation]:
    """The constitution as stored: {name: (value, entrenched, changed_by)}.

    Every entrenched clause present, entrenched and "on"; every amendable clause present, not
    entrenched, changed by the kind in SPEC section 2, with a valid value; nothing unknown.
    """
    found = []
    for spec in CLAUSES.values():
        row = rows.get(spec.name)
        if row is None:
            found.append(Violation(spec.name, f"the clause {spec.name} is missing from the constitution"))
            continue
        value, entrenched, changed_by = row
        if spec.entrenched:
            if not entrenched or value != "on" or changed_by is not None:
                found.append(Violation(spec.name, f"the entrenched clause {spec.name} was changed "
                                       f"(value {value!r}, entrenched {bool(entrenched)})"))
            continue
        if entrenched or changed_by != spec.changed_by:
            found.append(Violation(spec.name, f"{spec.name} must be amendable by a {spec.changed_by} "
                                   f"resolution, but is stored as entrenched={bool(entrenched)}, "
                                   f"changed by {changed_by}"))
        assert spec.parse is not None
        try:
            if spec.parse(value) != value:
                found.append(Violation(spec.name, f"{spec.name} holds {value!r}, not in its "
                                       f"canonical form {spec.parse(value)!r}"))
            else:
                found.extend(bound_violations(spec.name, value))
        except InputError as exc:
            found.append(Violation(spec.name, f"{spec.name} holds a bad value: {exc.message}"))
    for name in sorted(set(rows) - set(CLAUSES)):
        found.append(Violation(name, f"the constitution holds an unknown clause {name!r}"))
    return found
