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
        return spec.parse(value)
    except InputError as exc:
        raise InputError(f"bad value for {name}: {exc.message}") from None


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


_ORGANISATION_WORDS = re.compile(
    r"\b(ltd|limited|plc|llp|llc|inc|incorporated|corp|corporation|holdings|gmbh|"
    r"company|co\.|group|partners|capital|investments?|ventures?)\b",
    re.IGNORECASE,
)


def looks_like_organisation(name: str) -> bool:
    """A name such as 'Acme Care Ltd' or 'Northgate Holdings plc' is an organisation's."""
    return bool(_ORGANISATION_WORDS.search(name))


def _majority_holds(people: Iterable[Person]) -> tuple[bool, int, int]:
    people = list(people)
    practitioners = sum(1 for p in people if p.role == "practitioner")
    return (practitioners * 2 > len(people), practitioners, len(people))


def person_violations(clauses: Mapping[str, str], person: Person) -> list[Violation]:
    """Is this one person someone who may be a member at all?"""
    found: list[Violation] = []
    if person.organisation or looks_like_organisation(person.name):
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
    return found


def admission_violations(
    clauses: Mapping[str, str], roster: Iterable[Person], candidate: Person
) -> list[Violation]:
    """Every reason `candidate` may not join `roster` (the current members)."""
    roster = list(roster)
    found = person_violations(clauses, candidate)
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


def change_violations(
    clauses: Mapping[str, str], roster: Iterable[Person], changed: Person
) -> list[Violation]:
    """Every reason a member's new role or hours may not take effect."""
    others = [p for p in roster if p.handle != changed.handle]
    before = next((p for p in roster if p.handle == changed.handle), None)
    found = person_violations(clauses, changed)
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


def body_violations(kind: str, *, purpose: str, name: str) -> list[Violation]:
    """A merger partner or a recipient of residual assets (SPEC section 6, items 6 and 7)."""
    if kind not in BODY_KINDS:
        raise InputError(f"not a kind of body: {kind!r}; one of {', '.join(BODY_KINDS)}")
    if kind in ASSET_LOCKED_KINDS:
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


def refuse(violations: Iterable[Violation]) -> None:
    """Raise the first violation (exit 3) if there is any; the message names its clause."""
    violations = list(violations)
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise RuleViolation(first.clause, first.message + more)


# --- resolutions and votes (SPEC sections 6 and 8) ----------------------------------------

PROPOSAL_KINDS = ("ordinary", "special")
PROPOSAL_ACTIONS = ("amend", "expel", "merge", "dissolve", "write-off")
VOTE_CHOICES = ("yes", "no", "abstain")


def kind_needed(action: str, clause: str | None = None) -> str:
    """The kind of resolution an action needs.

    An amendment needs the kind its clause names (SPEC section 2). Expelling a member, a
    merger and a dissolution end someone's membership or the practice as it is: they always
    need a special resolution. Writing off a former member's deficit is an ordinary one.
    """
    if action == "write-off":
        return "ordinary"
    if action == "amend":
        spec = CLAUSES.get(clause or "")
        if spec is not None and spec.changed_by is not None:
            return spec.changed_by
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


# --- what `swp check` looks for beyond the members -----------------------------------------

_SHARE_WORDS = {"share", "shares", "shareholder", "shareholders", "shareholding", "stock",
                "stocks", "stockholder", "equity", "equities"}
_SHARE_COLUMN_WORDS = _SHARE_WORDS - {"share"}
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
            if name in _CONTROL_COLUMNS or words & _SHARE_COLUMN_WORDS:
                found.append(Violation("no-share-issuance", f"the database has a column "
                                       f"{table}.{column}: no shares, and no control rights for outsiders"))
    return found


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
        except InputError as exc:
            found.append(Violation(spec.name, f"{spec.name} holds a bad value: {exc.message}"))
    for name in sorted(set(rows) - set(CLAUSES)):
        found.append(Violation(name, f"the constitution holds an unknown clause {name!r}"))
    return found
