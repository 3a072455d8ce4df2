"""Reading what banks export: CSV profiles, mapping files, OFX, QIF and CAMT.053.

Every reader yields `BankLine`s (a signed amount in pence, a date, a description, and the
bank's running balance and transaction id where the file has them), one at a time, so memory
stays flat however long the file is. Domain code only: no Typer, no Rich.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from collections.abc import Iterator
from datetime import date
from typing import IO, NamedTuple

from swp.errors import InputError
from swp.money import MAX_PENCE, format_pence


class BankLine(NamedTuple):
    """One line of a bank file (a tuple: an import makes one per line, so it is cheap to make)."""

    line: int  # where it starts in the file (1-based), for messages
    date: date
    pence: int  # signed: money in positive, money out negative
    description: str
    balance: int | None = None  # the bank's running balance after this line
    bank_id: str | None = None  # the bank's own transaction id, where the format has one
    place: str = "line"  # what `line` counts: a line of the file, or (OFX, CAMT) a transaction

    @property
    def where(self) -> str:
        """Where the line is, for a message: `line 4`, `transaction 3`."""
        return f"{self.place} {self.line}"


# --- reading a text file -------------------------------------------------------------------

class Lines:
    """A binary file's lines as text, decoded a block of whole lines at a time (so memory stays
    flat and the decoding is not done line by line in Python), counting the bytes read for a
    progress bar and hashing them for the audit log. Lines end at "\n" only (a "\r" stays in
    its line, for the CSV reader), as reading the file's lines one by one would split them. A
    block that does not decode is gone through line by line, so that its good lines come first
    and the bad one is named: "line N: " and `problem`."""

    BLOCK = 1 << 14

    def __init__(self, handle: IO[bytes], encoding: str = "utf-8", *, problem: str) -> None:
        self.handle = handle
        self.encoding = encoding
        self.problem = problem
        self.done = 0
        self.digest = hashlib.sha256()
        self.line = 0  # lines in the blocks read so far
        # the start of a line whose end has not been read yet, as read: joined once its end is
        # read (adding each block to the bytes before would copy a long line again at every block)
        self.rest: list[bytes] = []

    def __iter__(self) -> Iterator[str]:
        return itertools.chain.from_iterable(map(self._lines, self._blocks()))

    def whole_digest(self) -> str:
        """The SHA-256 of the whole file: what was read, and whatever the reading did not reach."""
        for piece in self.rest:
            self.digest.update(piece)
        self.rest.clear()
        while block := self.handle.read(self.BLOCK):
            self.digest.update(block)
        return self.digest.hexdigest()

    def _blocks(self) -> Iterator[bytes]:
        rest = self.rest
        while block := self.handle.read(self.BLOCK):
            cut = block.rfind(b"\n") + 1
            if cut == 0:  # no line ends here: read on
                rest.append(block)
                continue
            if rest:
                rest.append(block[:cut])
                data = b"".join(rest)
                rest.clear()
            else:
                data = block[:cut]
            if cut < len(block):
                rest.append(block[cut:])
            yield data
        if rest:
            data = b"".join(rest)
            rest.clear()
            yield data

    def _lines(self, data: bytes) -> Iterator[str]:
        self.done += len(data)
        self.digest.update(data)
        first = self.line == 0
        try:
            text = data.decode(self.encoding)
        except UnicodeDecodeError:
            return self._one_by_one(data)
        self.line += data.count(b"\n")
        return iter(io.StringIO(text.removeprefix("\ufeff") if first else text, newline="\n"))

    def _one_by_one(self, data: bytes) -> Iterator[str]:
        for raw in io.BytesIO(data):
            self.line += 1
            try:
                text = raw.decode(self.encoding)
            except UnicodeDecodeError:
                raise InputError(f"line {self.line}: {self.problem}") from None
            yield text.removeprefix("\ufeff") if self.line == 1 else text


# --- amounts -------------------------------------------------------------------------------

_SIGNED = re.compile(r"(?P<sign>[-+])?£?(?P<sign2>[-+])?(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)"
                     r"(?:\.(?P<part>[0-9]{1,2}))?\Z")


def parse_signed(text: str, *, line: int, what: str = "amount", decimal: str = ".") -> int:
    """A bank's amount into signed pence: `-12.50`, `£1,234.56`, `+5`, `(12.00)`, `12.50 DR`."""
    if decimal == "." and len(text) > 3 and text[-3] == ".":  # the usual `-1234.56`, by slicing
        whole, part = text[:-3], text[-2:]
        negative = whole[:1] == "-"
        digits = whole[1:] if negative else whole
        if (digits.isdigit() and part.isdigit() and digits.isascii() and part.isascii()
                and len(digits) <= (8 if what == "amount" else 12)):
            pence = int(digits) * 100 + int(part)
            if what != "amount" or pence <= MAX_PENCE:
                return -pence if negative else pence
    raw = (text or "").strip().replace(" ", "")
    negative = False
    marked = False  # the direction said by brackets or DR/CR, which a sign may not contradict
    if raw.startswith("(") and raw.endswith(")"):
        raw, negative, marked = raw[1:-1], True, True
    upper = raw.upper()
    if upper.endswith(("DR", "CR")):
        negative = negative or upper.endswith("DR")
        raw, marked = raw[:-2], True
    if decimal == ",":
        raw = raw.replace(".", "\0").replace(",", ".").replace("\0", ",")
    match = _SIGNED.match(raw)
    signs = (match.group("sign") or "") + (match.group("sign2") or "") if match else ""
    # one way to say the direction: "--12.00", "+-12.00", "(-12.00)" or "-12.00 DR" is no amount
    if not match or len(signs) > 1 or (signs and marked):
        raise InputError(f"line {line}: not {'an' if what[0] in 'aeiou' else 'a'} {what}: {text!r}")
    if signs == "-":
        negative = not negative
    whole = match.group("whole").replace(",", "")
    if len(whole.lstrip("0")) > 12:
        raise InputError(f"line {line}: the {what} is too large: {text!r}")
    pence = int(whole) * 100 + int((match.group("part") or "0").ljust(2, "0"))
    if what == "amount" and pence > MAX_PENCE:
        raise InputError(f"line {line}: the amount is too large: {text!r}; at most {format_pence(MAX_PENCE)}")
    return -pence if negative else pence


# --- dates ---------------------------------------------------------------------------------

_NUMERIC = re.compile(r"([0-9]{1,4})[/.\-]([0-9]{1,2})[/.\-]([0-9]{2,4})\Z")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_NAMED = re.compile(r"([0-9]{1,2})[ \-/]([A-Za-z]{3})[a-z]*[ \-/,]+([0-9]{2,4})\Z")


def _year(text: str) -> int:
    """A year as a bank writes it; two digits are this century's, unless that is more than a
    year ahead of today (`99` in 2026 is 1999, not 2099)."""
    year = int(text)
    if len(text) != 2:
        return year
    from swp.clock import today

    return year + 2000 if year + 2000 <= today().year + 1 else year + 1900


class DateReader:
    """Reads a column of dates in one order, decided for the whole file (never per line)."""

    def __init__(self, order: str | None):
        self.order = order  # None: only unambiguous forms (ISO, named months) are accepted
        self._seen: dict[str, date] = {}

    def __call__(self, text: str, line: int) -> date:
        value = self._seen.get(text)
        if value is not None:
            return value
        value = self._parse(text.strip(), line)
        if len(self._seen) > 4000:
            self._seen.clear()
        self._seen[text] = value
        return value

    def _parse(self, raw: str, line: int) -> date:
        try:
            match = _NAMED.match(raw)
            if match and match.group(2).lower() in _MONTHS:
                return date(_year(match.group(3)), _MONTHS[match.group(2).lower()], int(match.group(1)))
            token = raw.split(" ")[0].split("T")[0]
            match = _NUMERIC.match(token)
            if match:
                a, b, c = match.groups()
                if len(a) == 4:
                    return date(int(a), int(b), int(c))
                if self.order == "YYYY-MM-DD":  # a day or month first is not what the mapping says
                    raise InputError(f"line {line}: the date {raw!r} is not written YYYY-MM-DD, as the "
                                     "mapping's date_format says")
                if self.order == "MM/DD":
                    return date(_year(c), int(a), int(b))
                if self.order is None and int(a) <= 12 and int(b) <= 12 and a != b:
                    raise InputError(f"line {line}: the date {raw!r} could be DD/MM or MM/DD")
                return date(_year(c), int(b), int(a))
        except ValueError:
            order = f" (read as {self.order})" if self.order else ""
            raise InputError(f"line {line}: no such date: {raw!r}{order}") from None
        raise InputError(f"line {line}: not a date: {raw!r}")


def date_order(samples: Iterator[tuple[int, str]], default: str = "DD/MM") -> str:
    """Decide DD/MM or MM/DD from every date in the file: a first part above 12 means DD/MM,
    a second part above 12 means MM/DD; both in one file is refused, naming a line of each;
    neither (every day is 12 or less) falls back to `default`."""
    day_first = month_first = None
    for line, text in samples:
        match = _NUMERIC.match(text.strip().split(" ")[0].split("T")[0])
        if not match or len(match.group(1)) == 4:
            continue
        a, b = int(match.group(1)), int(match.group(2))
        if a > 12 and day_first is None:
            day_first = (line, text.strip())
        if b > 12 and month_first is None:
            month_first = (line, text.strip())
        if day_first and month_first:
            raise InputError(f"the dates mix two orders: line {day_first[0]} ({day_first[1]!r}) "
                             f"is DD/MM and line {month_first[0]} ({month_first[1]!r}) is MM/DD")
    if day_first:
        return "DD/MM"
    if month_first:
        return "MM/DD"
    return default


# --- identity ------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def clean_description(*parts: str | None) -> str:
    text = " ".join([p.strip().lstrip("'") for p in parts if p and not p.isspace()])
    if "  " in text or "\t" in text or "\n" in text or "\r" in text:
        text = _SPACE.sub(" ", text)
    return text.strip()


class Identities:
    """Each line's stable identity: the bank's transaction id where there is one, otherwise a
    hash of date, amount, description and the line's occurrence number among identical lines
    of that day (so two identical coffees on one day are two lines, and the same statement
    read again gives the same identities). Only the current day's counts are kept."""

    def __init__(self) -> None:
        self.day: date | None = None
        self.iso = ""  # the day, as the identity's text writes it
        self.counts: dict[tuple[int, str], int] = {}
        self.done: set[date] = set()

    def __call__(self, bank: BankLine) -> str:
        if bank.bank_id:
            return "bank:" + bank.bank_id.strip()[:200]
        if bank.date != self.day:
            if bank.date in self.done:
                raise InputError(f"{bank.where}: {bank.date} appears again after other days; "
                                 "sort the file by date (as the bank exports it) and import again")
            if self.day is not None:
                self.done.add(self.day)
            self.day = bank.date
            self.iso = bank.date.isoformat()
            self.counts = {}
        key = (bank.pence, bank.description)
        occurrence = self.counts.get(key, 0) + 1
        self.counts[key] = occurrence
        text = f"{self.iso}|{bank.pence}|{bank.description}|{occurrence}"
        return "line:" + hashlib.sha256(text.encode()).hexdigest()[:32]


# --- opening a file ------------------------------------------------------------------------

_NOT_STATEMENTS = ((b"%PDF", "a PDF"), (b"PK\x03\x04", "a spreadsheet or other zipped file (.xlsx, .ods)"),
                   (b"\xd0\xcf\x11\xe0", "an Excel spreadsheet (.xls)"))


_WIDE_MARKS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")  # UTF-16 (either order), UTF-32


def csv_problem(exc: Exception) -> str:
    """What is wrong with a file the csv module could not read, in words: above all a carriage
    return inside a line, which is how a file whose lines end with a lone carriage return
    (Excel for Mac's "CSV (Macintosh)") reads."""
    if "new-line character seen in unquoted field" in str(exc):
        return ("not valid CSV: a carriage return inside an unquoted field (a file whose lines end "
                "with a lone carriage return, as an old Mac's do, reads so): save it as \"CSV UTF-8\" "
                "and import that")
    return f"not valid CSV ({exc})"


def refuse_wide_text(head: bytes, name: str = "the file") -> None:
    """A file saved as UTF-16 or UTF-32 (Excel's "Unicode Text"), known by its byte-order mark or
    by letters a byte and a nought each (text swp reads has no nought bytes), is refused saying
    how to save it (a mapping file names the encodings swp reads, and these are not among them)."""
    if head.startswith(_WIDE_MARKS) or head[:1024].count(b"\0") * 4 > len(head[:1024]):
        raise InputError(f"{name} is saved as UTF-16 or UTF-32 text (as Excel's \"Unicode Text\" is), "
                         "which swp does not read: save it as \"CSV UTF-8\" and import that")


def sniff(head: bytes, name: str = "the file") -> str:
    """What a file is, from its first few kilobytes: ofx, camt053, qif or csv; a PDF or a
    spreadsheet is refused, saying what to download instead."""
    for magic, what in _NOT_STATEMENTS:
        if head.startswith(magic):
            raise InputError(f"{name} is {what}, not a statement swp can read: download the statement "
                             "from the bank as CSV (or OFX, QIF or CAMT.053) and import that")
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().decode("utf-8", "replace")
    upper = text[:4096].upper()
    if upper.startswith("OFXHEADER") or "<OFX>" in upper:
        return "ofx"
    if upper.startswith("<?XML") or upper.startswith("<DOCUMENT"):
        if "CAMT.053" in upper or "BKTOCSTMRSTMT" in upper:
            return "camt053"
        if "<OFX" in upper:
            return "ofx"
        return "xml"
    if upper.startswith("!TYPE") or upper.startswith("!ACCOUNT") or upper.startswith("!OPTION"):
        return "qif"
    return "csv"
