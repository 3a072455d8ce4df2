"""Bank CSV exports: built-in profiles recognised by their header, and mapping files (TOML)
for any other shape. Read a line at a time with the standard csv module."""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from swp.errors import InputError
from swp.importers import BankLine, DateReader, Lines, clean_description, csv_problem, date_order, parse_signed

if TYPE_CHECKING:
    from _csv import Reader

MAPPING_HELP = "see 'Any other CSV: a mapping file' in docs/ledger.md"


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    header: tuple[str, ...]  # as the bank writes it (the columns that identify the shape)
    date: str
    description: tuple[str, ...]
    amount: str | None = None  # one signed column
    money_in: str | None = None  # or two unsigned columns
    money_out: str | None = None
    balance: str | None = None
    bank_id: str | None = None
    currency: str | None = None  # a column naming each line's currency
    currency_code: str = "GBP"  # the file's currency
    date_order: str | None = "DD/MM"  # None: decided from the whole file
    decimal: str = "."
    delimiter: str = ","
    encoding: str = "utf-8"
    skip: int = 0  # lines before the header
    optional: tuple[str, ...] = ()  # other columns the shape may have
    exact: bool = False  # no columns beyond header + optional

    def matches(self, names: list[str]) -> bool:
        have = set(names) - {""}
        need = {n.lower() for n in self.header}
        if not need <= have:
            return False
        return not self.exact or have <= need | {n.lower() for n in self.optional}

    def columns(self) -> list[str]:
        used = [self.date, *self.description, self.amount, self.money_in, self.money_out,
                self.balance, self.bank_id, self.currency]
        return [c for c in used if c]


PROFILES: tuple[Profile, ...] = (
    Profile("starling", "Starling Bank",
            ("Date", "Counter Party", "Reference", "Type", "Amount (GBP)", "Balance (GBP)", "Spending Category"),
            date="Date", description=("Counter Party", "Reference"), amount="Amount (GBP)",
            balance="Balance (GBP)"),
    Profile("monzo", "Monzo",
            ("Transaction ID", "Date", "Time", "Type", "Name", "Emoji", "Category", "Amount", "Currency"),
            date="Date", description=("Name", "Description"), amount="Amount",
            money_in="Money In", money_out="Money Out", bank_id="Transaction ID", currency="Currency"),
    Profile("lloyds", "Lloyds Bank",
            ("Transaction Date", "Transaction Type", "Sort Code", "Account Number",
             "Transaction Description", "Debit Amount", "Credit Amount", "Balance"),
            date="Transaction Date", description=("Transaction Description",),
            money_in="Credit Amount", money_out="Debit Amount", balance="Balance"),
    Profile("natwest", "NatWest",
            ("Date", "Type", "Description", "Value", "Balance", "Account Name", "Account Number"),
            date="Date", description=("Description",), amount="Value", balance="Balance"),
    Profile("barclays", "Barclays",
            ("Number", "Date", "Account", "Amount", "Subcategory", "Memo"),
            date="Date", description=("Memo",), amount="Amount"),
    Profile("plain", "Date, Description, Amount (signed)",
            ("Date", "Description", "Amount"), date="Date", description=("Description",),
            amount="Amount", balance="Balance", date_order=None, optional=("Balance",), exact=True),
    Profile("plain-in-out", "Date, Description, Money in, Money out",
            ("Date", "Description", "Money in", "Money out"), date="Date",
            description=("Description",), money_in="Money in", money_out="Money out",
            balance="Balance", date_order=None, optional=("Balance",), exact=True),
)
BY_NAME = {p.name: p for p in PROFILES}


def profile_named(name: str) -> Profile:
    profile = BY_NAME.get((name or "").strip().lower())
    if profile is None:
        raise InputError(f"no profile {name!r}; the profiles are {', '.join(BY_NAME)} "
                         "('swp ledger profiles' lists them)")
    return profile


# --- mapping files ---------------------------------------------------------------------------

_MAPPING_KEYS: dict[str, type | tuple[type, ...]] = {
    "date": str, "date_format": str, "description": (str, list), "amount": str, "money_in": str,
    "money_out": str, "balance": str, "id": str, "currency": str, "currency_column": str,
    "decimal": str, "separator": str, "skip": int, "encoding": str, "name": str,
}
_DATE_FORMATS = {"DD/MM": "DD/MM", "DD/MM/YYYY": "DD/MM", "MM/DD": "MM/DD", "MM/DD/YYYY": "MM/DD",
                 "YYYY-MM-DD": "YYYY-MM-DD", "ISO": "YYYY-MM-DD", "AUTO": None}


def _encoding_mistake(encoding: str) -> str | None:
    """Why a mapping file's encoding cannot read a CSV file (None: it can). Lines are split at
    the byte of a line feed, so an encoding must write plain text as ASCII does."""
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        return f"encoding {encoding!r} is not one Python knows (e.g. utf-8, cp1252, latin-1)"
    sample = "Date,Amount;1.0\n"
    try:
        plain = sample.encode(encoding, "replace").endswith(sample.encode("ascii"))
    except LookupError:  # rot13, base64, zlib...: codecs Python knows, but not of text
        return f"encoding {encoding!r} is not a text encoding (e.g. utf-8, cp1252, latin-1)"
    except ValueError:  # idna, which writes host names, not files
        plain = False
    if not plain:
        return (f"encoding {encoding!r} does not write plain letters, digits and line ends "
                "one byte each, as swp reads a CSV file; save the export as CSV UTF-8 "
                "(or in cp1252, latin-1 and the like) and import that")
    return None


def load_mapping(path: str) -> Profile:
    """A mapping file (TOML) as a profile; every mistake is one line of the message."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(f"no such mapping file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the mapping file {path}: {exc}") from None
    data = data.get("csv", data) if isinstance(data.get("csv"), dict) else data
    mistakes: list[str] = []
    wrong: set[str] = set()  # keys of the wrong type: said once, not checked again below
    for key, value in data.items():
        kind = _MAPPING_KEYS.get(key)
        if kind is None:
            mistakes.append(f"unknown key {key!r} (known: {', '.join(sorted(_MAPPING_KEYS))})")
        elif not isinstance(value, kind) or isinstance(value, bool) or (
                key == "description" and isinstance(value, list) and not all(isinstance(v, str) for v in value)):
            want = "a number" if kind is int else "a column name or a list of them" \
                if key == "description" else "text"
            mistakes.append(f"{key} must be {want} (found {value!r})")
            wrong.add(key)
    if "date" not in data:
        mistakes.append('date: name the date column, e.g. date = "Posting Date"')
    if "description" not in data or data["description"] in ([], ""):
        mistakes.append('description: name the description column(s), e.g. description = ["Payee", "Details"]')
    has_amount = "amount" in data
    has_split = "money_in" in data or "money_out" in data
    if not has_amount and not has_split:
        mistakes.append('amount: name a signed amount column (amount = "Amount") or the two columns '
                        'money_in = "Paid in" and money_out = "Paid out"')
    if has_split and not ("money_in" in data and "money_out" in data):
        mistakes.append("money_in and money_out go together")
    money = [key for key in ("amount", "money_in", "money_out", "balance")
             if isinstance(data.get(key), str) and key not in wrong]
    for i, key in enumerate(money):
        for other in money[i + 1:]:
            if data[key].lower() == data[other].lower():
                mistakes.append(f"{key} and {other} both name the column {data[key]!r}; each is a column "
                                "of its own")
    order = str(data.get("date_format", "auto")).upper() if "date_format" not in wrong else "AUTO"
    if order not in _DATE_FORMATS:
        mistakes.append(f"date_format must be DD/MM/YYYY, MM/DD/YYYY, YYYY-MM-DD or auto "
                        f"(found {data.get('date_format')!r})")
    if "decimal" not in wrong and data.get("decimal", ".") not in (".", ","):
        mistakes.append(f"decimal must be \".\" or \",\" (found {data.get('decimal')!r})")
    separator = data.get("separator", ",")
    if separator == "\\t" or separator == "tab":
        separator = "\t"
    if "separator" not in wrong and len(separator) != 1:
        mistakes.append(f"separator must be one character such as \",\", \";\" or \"\\t\" (found {separator!r})")
    if data.get("decimal") == "," and separator == ",":
        mistakes.append('decimal "," needs another separator, e.g. separator = ";"')
    if "skip" not in wrong and not 0 <= data.get("skip", 0) <= 1000:
        mistakes.append("skip must be between 0 and 1000")
    encoding = data.get("encoding", "utf-8")
    if isinstance(encoding, str) and (mistake := _encoding_mistake(encoding)):
        mistakes.append(mistake)
    currency = str(data.get("currency", "GBP")).upper()
    if "currency" not in wrong and currency != "GBP":
        mistakes.append(f"currency {currency}: swp keeps the books in GBP only")
    if mistakes:
        count = f"{len(mistakes)} mistake{'s' if len(mistakes) > 1 else ''}"
        raise InputError(f"{path}: {count} in the mapping file ({MAPPING_HELP}):\n" + "\n".join(mistakes))
    description = data["description"]
    return Profile(
        name=str(data.get("name", "mapping")), title=f"mapping file {path}", header=(),
        date=data["date"], description=tuple([description] if isinstance(description, str) else description),
        amount=data.get("amount"), money_in=data.get("money_in"), money_out=data.get("money_out"),
        balance=data.get("balance"), bank_id=data.get("id"), currency=data.get("currency_column"),
        date_order=_DATE_FORMATS[order], decimal=data.get("decimal", "."), delimiter=separator,
        encoding=encoding, skip=data.get("skip", 0))


# --- reading ---------------------------------------------------------------------------------

_ENCODING_HINT = ("if the bank wrote it in another encoding, say which in a mapping file "
                  "(encoding = \"cp1252\")")


def _names(row: list[str]) -> list[str]:
    return [c.strip().strip("'\"").lower() for c in row]


def read_header(handle: IO[bytes], profile: Profile | None, path: str) -> tuple[Profile, list[str], Lines, Reader]:
    """Skip the profile's preamble and blank lines, read the header, pick the profile."""
    encoding = profile.encoding if profile else "utf-8"
    lines = Lines(handle, encoding, problem=f"not {encoding} text; {_ENCODING_HINT}")
    delimiter = profile.delimiter if profile else ","
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
    skip = profile.skip if profile else 0
    try:
        for _ in range(skip):
            next(reader, None)
        row = next(reader, None)
        while row is not None and not any(c.strip() for c in row):
            row = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"line {reader.line_num}: {csv_problem(exc)}") from None
    if row is None:
        raise InputError(_no_header(path, reader.line_num, skip))
    names = _names(row)
    if profile is None:
        profile = next((p for p in PROFILES if p.matches(names)), None)
        if profile is None:
            tried = "\n".join(f"  {p.name}: {','.join(p.header)}" for p in PROFILES)
            raise InputError(
                f"line {reader.line_num}: {path} is not a shape swp knows (header: {_shown(row)}).\n"
                f"Tried swp's own date,type,amount,category,memo,ref, OFX, QIF, CAMT.053 and these CSV profiles:\n"
                f"{tried}\nFor any other CSV, write a mapping file and give it with --mapping ({MAPPING_HELP}).")
    else:
        missing = [c for c in (profile.date, profile.amount or profile.money_in, profile.money_out)
                   if c and c.lower() not in names and not _split_or_amount(profile, names, c)]
        if not any(c.lower() in names for c in profile.description):
            missing.extend(profile.description)
        if missing:
            raise InputError(f"line {reader.line_num}: the {profile.title} has no column "
                             f"{', '.join(repr(m) for m in missing)} (found {_shown(row)})")
    return profile, names, lines, reader


def _no_header(path: str, lines: int, skip: int) -> str:
    """Why a file has no header: it is empty, or too short for the lines a mapping skips, or
    blank after them."""
    if not lines or not skip:
        return f"{path}: the file is empty"
    said = f"{lines} line{'s' if lines != 1 else ''}"
    if lines <= skip:
        return (f"{path}: the file has {said}, too few for the {skip} the mapping skips before the header "
                f"(skip = {skip}) and the header after them")
    return (f"{path}: the file has no header: its {said} are the {skip} the mapping skips "
            f"(skip = {skip}) and blank lines")


def _shown(row: list[str]) -> str:
    """A header as found, for a message: its first 160 characters, anything unprintable as '?'."""
    text = ",".join(c.strip() for c in row)[:160]
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _split_or_amount(profile: Profile, names: list[str], column: str) -> bool:
    """A profile with both a signed amount and split columns needs only one of the two."""
    if column not in (profile.amount, profile.money_in, profile.money_out):
        return False
    money_in, money_out, amount = profile.money_in or "", profile.money_out or "", profile.amount or ""
    split = bool(money_in) and money_in.lower() in names and bool(money_out) and money_out.lower() in names
    signed = bool(amount) and amount.lower() in names
    return split or signed


def iter_lines(profile: Profile, names: list[str], reader: Reader, order: str | None) -> Iterator[BankLine]:
    """The data rows as BankLines (blank lines skipped)."""
    def at(column: str | None) -> int | None:
        if column is None or column.lower() not in names:
            return None
        return names.index(column.lower())

    i_date = at(profile.date)
    assert i_date is not None  # read_header refused a file without the date column
    i_desc = [i for i in (at(c) for c in profile.description) if i is not None]
    i_amount, i_in, i_out = at(profile.amount), at(profile.money_in), at(profile.money_out)
    i_balance, i_id, i_currency = at(profile.balance), at(profile.bank_id), at(profile.currency)
    width = len(names)
    dates = DateReader(order)
    decimal = profile.decimal
    code = profile.currency_code
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"line {line}: {csv_problem(exc)}") from None
        if not (cells and cells[0].strip()) and not any(c.strip() for c in cells):
            continue  # a blank line (a bank's first cell, the date, is rarely empty otherwise)
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        if i_currency is not None:
            currency = cells[i_currency].strip().upper()
            if currency and currency != code:
                raise InputError(f"line {line}: an amount in {currency}; swp keeps the books in "
                                 f"{code} only: convert the line (or leave it out) and import again")
        day = dates(cells[i_date], line)
        text_in = cells[i_in].strip() if i_in is not None else ""
        text_out = cells[i_out].strip() if i_out is not None else ""
        if text_in or text_out:
            # money in is unsigned; money out may carry its minus (Monzo's does); a line is
            # one or the other, and agrees with a signed amount column beside them
            paid_in = parse_signed(text_in, line=line, decimal=decimal) if text_in else 0
            paid_out = abs(parse_signed(text_out, line=line, decimal=decimal)) if text_out else 0
            if paid_in < 0:
                raise InputError(f"line {line}: money in is negative ({text_in}); money in is written "
                                 "without a sign")
            if paid_in and paid_out:
                raise InputError(f"line {line}: both money in ({text_in}) and money out ({text_out}) "
                                 "are filled; a line is one or the other")
            pence = paid_in - paid_out
            if i_amount is not None and cells[i_amount].strip():
                signed = parse_signed(cells[i_amount], line=line, decimal=decimal)
                if signed != pence:
                    raise InputError(f"line {line}: the amount ({cells[i_amount].strip()}) and "
                                     f"money {'in' if paid_in else 'out'} "
                                     f"({text_in if paid_in else text_out}) disagree")
        elif i_amount is not None and cells[i_amount].strip():
            pence = parse_signed(cells[i_amount], line=line, decimal=decimal)
        else:
            raise InputError(f"line {line}: no amount")
        balance = None
        if i_balance is not None and cells[i_balance].strip():
            balance = parse_signed(cells[i_balance], line=line, what="balance", decimal=decimal)
        bank_id = cells[i_id].strip() or None if i_id is not None else None
        # a list, not a generator, of the description's columns: half the cost per line
        description = clean_description(*[cells[i] for i in i_desc])
        yield BankLine(line, day, pence, description, balance, bank_id)


def decide_order(path: str, profile: Profile) -> str | None:
    """For a profile whose date order is not fixed: read the file's date column once."""
    if profile.date_order is not None:
        return profile.date_order
    with open(path, "rb") as handle:
        found, names, _lines, reader = read_header(handle, profile, path)
        column = names.index(found.date.lower())

        def samples() -> Iterator[tuple[int, str]]:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise InputError(f"line {reader.line_num}: {csv_problem(exc)}") from None
                if len(row) > column and row[column].strip():
                    yield reader.line_num, row[column]

        return date_order(samples())
