"""OFX (ofxtools), QIF (quiffen) and ISO 20022 CAMT.053 (the standard library's XML parser,
hardened by defusedxml). Each yields BankLines; the parsers are imported only when needed."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

from swp.errors import InputError
from swp.importers import BankLine, clean_description, date_order
from swp.money import MAX_PENCE

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element


# an amount as OFX, QIF and CAMT.053 write it: a sign, digits and a decimal point, nothing else
_PLAIN = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")


def _pence(value: object, where: str) -> int:
    """An amount into signed pence. Text (CAMT.053's) must be a plain number; a Decimal (what
    ofxtools and quiffen give) one written without an exponent: `1e3` is refused, as in a CSV."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if not (value.is_finite() and isinstance(exponent, int) and exponent <= 0):
            raise InputError(f"{where}: not an amount: {str(value)!r}")
        amount = value
    else:
        text = str(value).strip()
        if not _PLAIN.match(text):
            raise InputError(f"{where}: not an amount: {value!r}")
        amount = Decimal(text)
    pence = amount * 100
    if pence != pence.to_integral_value():
        raise InputError(f"{where}: the amount {value} has more than two decimal places")
    if abs(pence) > MAX_PENCE:
        raise InputError(f"{where}: the amount is too large: {value}")
    return int(pence)


# --- OFX ---------------------------------------------------------------------------------------

def read_ofx(path: str) -> Iterator[BankLine]:
    """OFX 1.x (SGML) and 2.x (XML) statements, through ofxtools. Lines are numbered by their
    place in the statement (1 = the first transaction), as OFX has no lines of its own."""
    from ofxtools.Parser import OFXTree

    parser = OFXTree()
    try:
        parser.parse(path)
        ofx = parser.convert()
    except Exception as exc:  # ofxtools raises many kinds; all mean the file is not OFX we can read
        raise InputError(f"{path}: not an OFX file swp can read ({str(exc)[:200]})") from None
    number = 0
    for stmt in getattr(ofx, "statements", []) or []:
        currency = (getattr(stmt, "curdef", None) or "GBP").upper()
        for trn in getattr(stmt, "banktranlist", None) or []:
            number += 1
            trn_currency = getattr(trn, "currency", None)
            code = getattr(trn_currency, "cursym", None) if trn_currency is not None else None
            if currency != "GBP" or (code and code.upper() != "GBP"):
                raise InputError(f"transaction {number} ({trn.fitid}): an amount in {code or currency}; "
                                 "swp keeps the books in GBP only")
            yield BankLine(number, trn.dtposted.date(), _pence(trn.trnamt, f"transaction {number}"),
                           clean_description(trn.name or getattr(trn, "payee", None) and trn.payee.name, trn.memo),
                           None, trn.fitid or None, "transaction")


# --- QIF ---------------------------------------------------------------------------------------

def _qif_lines(path: str, encoding: str) -> Iterator[tuple[int, str]]:
    """The file's lines as quiffen reads them (a line ends at a line feed, a carriage return and
    line feed, or a lone carriage return), numbered from 1. A line that is not `encoding` text
    is refused with its number."""
    number = 0
    with open(path, "rb") as handle:
        for raw in handle:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                number += 1 + raw[:exc.start].count(b"\r")
                raise InputError(f"line {number}: not {encoding} text; export the QIF file again "
                                 f"as {encoding}, or as OFX or CSV") from None
            if number == 0:
                text = text.removeprefix("\ufeff")
            for line in io.StringIO(text, newline=None):
                number += 1
                yield number, line


# a QIF amount (T or U): a sign, digits with or without thousands commas, a decimal point;
# quiffen itself drops every other character (`-12,50` would be -1250, `(40.00)` 40, `1e3` 13)
_QIF_AMOUNT = re.compile(r"[-+]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)\Z")


def _qif_scan(path: str, encoding: str) -> tuple[bool, list[int]]:
    """One pass over the file: whether its dates are day first (decided from every D line), and
    the line where each transaction of a register starts, in the file's order. A line that is
    not `encoding` text, or an amount line (T, U) of a register that is not a plain amount, is
    refused with its number.

    The file is cut into sections and each section's header found exactly as quiffen does
    (`quiffen.core.qif`): sections end at a `^` line; a section's header is its first line that
    is not blank, a `!Clear:` or `!Option:` line or a `#` comment, or the header before it when
    that line is not a `!` line; any other `!` line inside a section is dropped; and a section is
    a transaction when its header, in lower case without spaces, is one of quiffen's
    transaction types. Every amount quiffen will read is so checked here first."""
    from quiffen.core.qif import VALID_TRANSACTION_ACCOUNT_TYPES

    starts: list[int] = []
    last_header: list[str] = []

    def section_samples(section: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
        for at, (_, line) in enumerate(section):
            plain = line.strip()
            if not plain or plain.startswith(("!Clear:", "!Option:")) or line[0] == "#":
                continue
            header, rest = line, section[at:]
            break
        else:
            return
        if header[0] != "!":
            if not last_header:
                return  # quiffen refuses such a file itself
            header = last_header[0]
        last_header[:] = [header]
        fields = [(number, line) for number, line in rest if line.strip() and line.strip()[0] != "!"]
        if not fields or header.lower().replace(" ", "") not in VALID_TRANSACTION_ACCOUNT_TYPES:
            return
        starts.append(fields[0][0])
        for number, line in fields:
            if line.startswith("D"):
                yield number, line[1:].replace("'", "/").strip()
            elif line.startswith(("T", "U")):
                amount = line[1:].strip()
                if not _QIF_AMOUNT.match(amount):
                    raise InputError(f"line {number}: not an amount: {amount!r}")

    def samples() -> Iterator[tuple[int, str]]:
        section: list[tuple[int, str]] = []
        for number, text in _qif_lines(path, encoding):
            line = text.rstrip("\n")
            if line.startswith("^") and not line[1:].strip():
                yield from section_samples(section)
                section = []
            else:
                section.append((number, line))
        yield from section_samples(section)

    return date_order(samples()) == "DD/MM", starts


def read_qif(path: str, encoding: str = "utf-8") -> Iterator[BankLine]:
    """QIF bank registers, through quiffen; the date order is decided from the whole file."""
    from quiffen import Qif

    day_first, starts = _qif_scan(path, encoding)
    try:
        qif = Qif.parse(path, day_first=day_first, encoding=encoding)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not {encoding} text") from None
    except Exception as exc:  # quiffen raises ValueError and its own errors
        raise InputError(f"{path}: not a QIF file swp can read ({str(exc)[:200]})") from None
    registers = [(kind, transactions) for account in qif.accounts.values()
                 for kind, transactions in account.transactions.items()]
    # one register, as a bank writes it: each transaction is named by the line where it starts;
    # otherwise by its place among the file's transactions
    lines = starts if len(registers) == 1 and len(registers[0][1]) == len(starts) else None
    number = 0
    for kind, transactions in registers:
        if str(kind).lower().split(".")[-1] in ("invst", "investment"):
            raise InputError(f"{path}: an investment register; swp imports bank accounts")
        for trn in transactions:
            number += 1
            line, place = (lines[number - 1], "line") if lines else (number, "transaction")
            payee = trn.payee if isinstance(trn.payee, str) else None
            yield BankLine(line, trn.date.date() if hasattr(trn.date, "date") else trn.date,
                           _pence(trn.amount, f"{place} {line}"), clean_description(payee, trn.memo),
                           place=place)


# --- CAMT.053 ----------------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: Element | None, *path: str) -> Element | None:
    for name in path:
        if element is None:
            return None
        element = next((child for child in element if _local(child.tag) == name), None)
    return element


def _text(element: Element | None, *path: str) -> str | None:
    found = _find(element, *path)
    return found.text.strip() if found is not None and found.text else None


def read_camt(path: str) -> Iterator[BankLine]:
    """ISO 20022 bank-to-customer statements (camt.053): each Stmt/Ntry, with the ISO field
    names (Amt and its Ccy, CdtDbtInd, BookgDt, AcctSvcrRef, NtryDtls/TxDtls/RmtInf/Ustrd,
    RltdPties). Streamed entry by entry with iterparse; XML entities and DTDs are refused."""
    from datetime import date as _date

    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml.ElementTree import ParseError, iterparse

    number = 0
    try:
        for _event, element in iterparse(path, events=("end",), forbid_dtd=True):
            if _local(element.tag) != "Ntry":
                continue
            number += 1
            amount = _find(element, "Amt")
            if amount is None or not amount.text:
                raise InputError(f"entry {number}: no Amt")
            currency = (amount.get("Ccy") or "").upper()
            if not currency:
                raise InputError(f"entry {number}: the amount names no currency (Ccy)")
            if currency != "GBP":
                raise InputError(f"entry {number}: an amount in {currency}; swp keeps the books in GBP only")
            text = amount.text.strip()
            if text.startswith(("-", "+")):  # the direction is CdtDbtInd's alone
                raise InputError(f"entry {number}: the amount {text} is signed; in CAMT.053 an amount is "
                                 "unsigned and CdtDbtInd says which way it went")
            pence = _pence(text, f"entry {number}")
            direction = _text(element, "CdtDbtInd")
            if direction not in ("CRDT", "DBIT"):
                raise InputError(f"entry {number}: CdtDbtInd is {direction!r}; it must be CRDT (money in) "
                                 "or DBIT (money out)")
            if direction == "DBIT":
                pence = -pence
            status = _text(element, "Sts") or _text(element, "Sts", "Cd")
            if status and status.upper() not in ("BOOK", "BOOKED"):
                element.clear()
                continue  # pending or information-only entries are not yet on the account
            when = _text(element, "BookgDt", "Dt") or _text(element, "BookgDt", "DtTm") \
                or _text(element, "ValDt", "Dt")
            if not when:
                raise InputError(f"entry {number}: no BookgDt")
            try:
                day = _date.fromisoformat(when[:10])
            except ValueError:
                raise InputError(f"entry {number}: not a date: {when!r}") from None
            details = _find(element, "NtryDtls", "TxDtls")
            party = None
            if details is not None:
                side = "Dbtr" if pence > 0 else "Cdtr"
                party = _text(details, "RltdPties", side, "Nm") or _text(details, "RltdPties", side, "Pty", "Nm")
            remittance = _text(details, "RmtInf", "Ustrd") if details is not None else None
            description = clean_description(party, remittance, _text(element, "AddtlNtryInf"))
            bank_id = _text(element, "AcctSvcrRef") or _text(element, "NtryRef") \
                or (_text(details, "Refs", "AcctSvcrRef") if details is not None else None)
            element.clear()
            yield BankLine(number, day, pence, description, None, bank_id, "entry")
    except (ParseError, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        raise InputError(f"{path}: not a CAMT.053 file swp can read ({exc})") from None
