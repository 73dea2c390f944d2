"""The first pass of the native SPSS and Stata writers: the rows, spooled to a temporary file,
and what each column holds.

Both formats fix each string variable's width, and Stata the number of rows, in the header:
before the first row is written. So the rows are read once from the database, a chunk at a
time, and each chunk is written, already turned into columns, to a temporary file on disk
(`marshal`, the fastest way Python has to store lists of strings) while it is measured; the
writer then reads the chunks back. Memory holds one chunk, whatever the size of the export,
the database is read once (a second query could see rows the first did not), and the header
says exactly what follows.

A column keeps its kind (number, choice, date, datetime) only while every value fits it; the
first value that does not makes it text, whole, so nothing is lost. A variable's `missing`
values (a survey timestamp's `[not completed]`) are spooled blank: missing, not text. Text
columns record their longest value in UTF-8 bytes.
"""

from __future__ import annotations

import marshal
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import IO

from opencrf.exports.table import ExportTable, Kind, Variable
from opencrf.exports.writers.stats import NUMBERS, choice_values

CHUNK = 500  # rows measured and spooled at a time: a few MB of strings
KNOWN = 1024  # distinct dates kept per column as already checked (and converted)
FRACTION = re.compile(r"\.(\d+)")


class Mode:
    """What a column is written as."""

    NUMBER = "number"
    CHOICE = "choice"
    DATE = "date"
    DATETIME = "datetime"
    TEXT = "text"


@dataclass
class Column:
    """One column as measured: its mode, the values of a choice's codes and the longest value
    (in UTF-8 bytes: the width of a text column, the print width of a number)."""

    variable: Variable
    mode: str
    codes: dict[str, float] = field(default_factory=dict)
    longest: int = 0
    decimals: int = 0  # the most digits after a number's point
    exponent: bool = False  # a number was written with an exponent (1e300)
    known: set[str] = field(default_factory=set)
    total: int = 0  # the UTF-8 bytes of every value: what Stata's strLs will take
    filled: int = 0  # values that are not empty

    def see(self, values: tuple[str, ...]) -> None:
        joined = "".join(values)
        ascii = joined.isascii()
        self.total += len(joined) if ascii else len(joined.encode("utf-8"))
        self.filled += len(values) - values.count("")
        if self.mode == Mode.NUMBER and not self._numbers(values):
            self.mode = Mode.TEXT
        elif self.mode == Mode.CHOICE and not self._choices(values):
            self.mode, self.codes = Mode.TEXT, {}
        elif self.mode in (Mode.DATE, Mode.DATETIME) and not self._dates(values):
            self.mode = Mode.TEXT
        if self.mode == Mode.TEXT:
            self.longest = max(self.longest, longest(values, ascii))

    def _numbers(self, values: tuple[str, ...]) -> bool:
        joined = "\n".join(values)  # one scan checks the chunk; a value with a newline fails
        if joined.count("\n") != len(values) - 1 or NUMBERS.fullmatch(joined) is None:
            return False
        if "e" in joined or "E" in joined:
            if any(float(value) in (float("inf"), float("-inf")) for value in values if value):
                return False  # only an exponent overflows
            self.exponent = True
        self.longest = max(self.longest, max(map(len, values)))  # ASCII: characters are bytes
        fractions = FRACTION.findall(joined)
        if fractions:
            self.decimals = max(self.decimals, max(map(len, fractions)))
        return True

    def _choices(self, values: tuple[str, ...]) -> bool:
        distinct = set(values)
        distinct.discard("")
        if not distinct <= self.codes.keys():
            return False
        self.longest = max(self.longest, longest(tuple(distinct), False))
        return True

    def _dates(self, values: tuple[str, ...]) -> bool:
        parse = parse_date if self.mode == Mode.DATE else parse_datetime
        for value in set(values) - self.known:
            if value and parse(value) is None:
                return False
            self.longest = max(self.longest, len(value.encode("utf-8")))
            if len(self.known) < KNOWN:
                self.known.add(value)
        return True


def longest(values: tuple[str, ...], ascii: bool) -> int:
    """The longest value in UTF-8 bytes (its length in characters when all are `ascii`)."""
    if ascii:
        return max(map(len, values), default=0)
    return max((len(value.encode("utf-8")) for value in values), default=0)


def parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_datetime(value: str) -> datetime | None:
    """A stored datetime; None for anything else, and for one with a time zone (written as
    text rather than moved to another zone)."""
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return None
    return found if found.tzinfo is None else None


def column_of(variable: Variable) -> Column:
    if variable.kind in (Kind.INTEGER, Kind.NUMBER):
        return Column(variable, Mode.NUMBER)
    if variable.kind == Kind.CHOICE:
        return Column(variable, Mode.CHOICE, codes=choice_values(variable))
    if variable.kind == Kind.DATE:
        return Column(variable, Mode.DATE)
    if variable.kind == Kind.DATETIME:
        return Column(variable, Mode.DATETIME)
    return Column(variable, Mode.TEXT)


@dataclass
class Spool:
    """The rows on disk, as chunks of columns, and what was measured."""

    file: IO[bytes]
    rows: int
    columns: list[Column]

    def chunks(self) -> Iterator[list[tuple[str, ...]]]:
        """Each chunk of columns, in order; a chunk is `CHUNK` rows or fewer."""
        self.file.seek(0)
        while size := self.file.read(8):
            data = self.file.read(int.from_bytes(size, "little"))
            yield marshal.loads(data)  # noqa: S302 (our own file, written by `spool`)

    def close(self) -> None:
        self.file.close()


def spool(table: ExportTable) -> Spool:
    """Read every row of `table` once: measure it and spool it. The caller closes the spool."""
    columns = [column_of(variable) for variable in table.variables]
    # Values that are missing in a typed column (a survey's `[not completed]`) become blank.
    blanked = [(n, v.missing) for n, v in enumerate(table.variables) if v.missing]
    file = tempfile.TemporaryFile(prefix="opencrf-export-")  # noqa: SIM115 (Spool.close)
    count = 0
    try:
        rows = table.rows()
        while chunk := list(islice(rows, CHUNK)):
            transposed = list(zip(*chunk, strict=True))
            for index, missing in blanked:
                transposed[index] = tuple("" if v in missing else v for v in transposed[index])
            for column, values in zip(columns, transposed, strict=True):
                column.see(values)
            data = marshal.dumps(transposed, 2)  # 2: no references (faster); read back whole
            file.write(len(data).to_bytes(8, "little") + data)
            count += len(chunk)
    except BaseException:
        file.close()
        raise
    return Spool(file, count, columns)
