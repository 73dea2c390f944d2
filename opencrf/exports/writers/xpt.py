"""SAS transport files (.xpt, version 8), written here a chunk of rows at a time: memory stays
flat.

The rows come from a `scan.Spool` (read once from the database, measured, on disk), so each
character variable is as wide as its longest value before the first row is written. The file
is what pyreadstat (ReadStat) wrote for us before, in 80-byte records:

- the library header (`LIBV8`) and its two records (SAS 6.06, the time written);
- the member header (`MEMBV8`), the descriptor header (`DSCPTV8`) and its two records: the
  data set is `DATA`;
- the `NAMSTV8` header with the number of variables, then a 140-byte NAMESTR per variable:
  type (1 numeric, 2 character), length, number, the name's first 8 bytes, the label's first
  40 bytes, the format (DATE9. for dates, DATETIME20. for datetimes, none otherwise), the
  position in the observation, the whole name (32 bytes) and the label's length;
- `LABELV8`: every label longer than 40 bytes, whole (256 bytes at most, see `stats`);
- the `OBSV8` header with the number of observations, then the observations, each the
  variables' values one after another, the last record padded with spaces: numbers as IBM
  mainframe doubles (`ibm`; empty is SAS's `.` missing), dates as days and datetimes as
  seconds since 1960-01-01, strings as UTF-8 padded with spaces (cut to SAS's 32,767 bytes,
  never inside a character).

IBM doubles hold every IEEE double from 16**-65 (about 5.4e-79) to 16**63 (about 7.2e75)
exactly, and nothing outside: a number column holding a value beyond that (1e300, 1e-300) is
written as text, whole, as any column whose values do not fit (ReadStat wrote infinity or 0).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from datetime import datetime
from itertools import chain, repeat
from typing import BinaryIO

from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.core.errors import InvalidInput
from opencrf.exports.writers.scan import (
    KNOWN,
    Column,
    Mode,
    Spool,
    parse_date,
    parse_datetime,
)

RECORD = 80
MAX_VARIABLES = 32_767  # a NAMESTR numbers its variable in 2 bytes (signed, for some readers)
MAX_STRING = 32_767
SHORT_LABEL = 40
EPOCH = datetime(1960, 1, 1)  # noqa: DTZ001 (stored datetimes are wall-clock times)
DAY = 86_400
MISSING = b"." + bytes(7)  # SAS's `.` missing value
ZERO = bytes(8)
LOWEST_EXPONENT, HIGHEST_EXPONENT = -64, 63  # of 16, in an IBM double
HUGE_DIGITS = 76  # a number written without an exponent fits an IBM double below this length
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
PACK_IBM = struct.Struct(">Q").pack

# Variable types, and the formats dates and datetimes are shown in.
NUMERIC, CHARACTER = 1, 2
FORMATS = {Mode.DATE: (b"DATE", 9), Mode.DATETIME: (b"DATETIME", 20)}


class OutOfRange(ValueError):
    """A number an IBM double cannot hold."""


def ibm(number: float) -> bytes:
    """`number` as an IBM mainframe double, exactly: sign bit, 7-bit exponent of 16 (biased by
    64) and a 56-bit fraction, big-endian. NaN is SAS's `.` missing value."""
    if number == 0:
        return ZERO  # and -0.0: SAS has no negative zero
    if math.isnan(number):
        return MISSING
    if math.isinf(number):
        raise OutOfRange(number)
    mantissa, exponent = math.frexp(abs(number))  # |number| = mantissa * 2**exponent, 0.5 <= m < 1
    power = -(-exponent // 4)  # |number| = fraction * 16**power, 1/16 <= fraction < 1
    if not LOWEST_EXPONENT <= power <= HIGHEST_EXPONENT:
        raise OutOfRange(number)
    fraction = int(math.ldexp(mantissa, 53)) << (3 + exponent - 4 * power)  # 56 bits, exact
    sign = 0x80 if number < 0 else 0
    return PACK_IBM((sign | (power + 64)) << 56 | fraction)


def fits(number: float) -> bool:
    try:
        ibm(number)
    except OutOfRange:
        return False
    return True


class _Variable:
    """One variable of the file: how it is written and where."""

    def __init__(self, column: Column, name: str, label: str, number: int, position: int):
        self.column, self.number, self.position = column, number, position
        self.name = name.encode("utf-8")
        self.label = label.encode("utf-8")
        self.mode = column.mode
        if self.mode == Mode.TEXT:
            self.width = min(max(column.longest, 1), MAX_STRING)
        else:
            self.width = 8

    @property
    def numeric(self) -> bool:
        return self.mode != Mode.TEXT


def write_xpt(
    spool: Spool,
    names: list[str],
    labels: list[str],
    out: BinaryIO,
    *,
    now: datetime | None = None,
) -> None:
    """Write the spooled rows to `out`: variables named `names` (32 bytes at most), labelled
    `labels` (256 bytes at most). More than `MAX_VARIABLES` is refused before anything is
    written."""
    if len(names) > MAX_VARIABLES:
        raise InvalidInput(
            _(
                "A SAS transport file holds at most %(limit)s variables; this export has "
                "%(count)s. Choose fewer fields or another format."
            )
            % {"limit": MAX_VARIABLES, "count": len(names)}
        )
    for column in _out_of_range(spool):
        column.mode = Mode.TEXT  # its stored text, whole; `longest` measured every value
    variables, position = [], 0
    for number, (column, name, label) in enumerate(
        zip(spool.columns, names, labels, strict=True), start=1
    ):
        variables.append(_Variable(column, name, label, number, position))
        position += variables[-1].width
    stamp = _stamp(now or timezone.localtime())
    out.write(_headers(variables, stamp))
    out.write(_header("OBSV8  ", f"{spool.rows:15d}".ljust(32)))
    _observations(spool, variables, out)


def _out_of_range(spool: Spool) -> list[Column]:
    """The number columns holding a value an IBM double cannot: only a number written with an
    exponent, or with 76 characters or more, can be one, so only such columns are read again."""
    suspects = [
        index
        for index, column in enumerate(spool.columns)
        if column.mode == Mode.NUMBER and (column.exponent or column.longest >= HUGE_DIGITS)
    ]
    found: set[int] = set()
    if suspects:
        for chunk in spool.chunks():
            for index in suspects:
                if index not in found and not all(fits(float(v)) for v in chunk[index] if v):
                    found.add(index)
    return [spool.columns[index] for index in sorted(found)]


def _stamp(now: datetime) -> bytes:
    """A time as SAS writes it in headers: 07DEC26:11:37:01."""
    text = f"{now.day:02d}{MONTHS[now.month - 1]}{now.year % 100:02d}:{now:%H:%M:%S}"
    return text.encode("ascii")


def _header(kind: str, rest: str) -> bytes:
    return f"HEADER RECORD*******{kind:8s}HEADER RECORD!!!!!!!{rest}".encode("ascii")


def _padded(data: bytes) -> bytes:
    """`data` padded with spaces to a whole number of 80-byte records."""
    return data.ljust(-(-len(data) // RECORD) * RECORD)


def _headers(variables: list[_Variable], stamp: bytes) -> bytes:
    parts = [
        _header("LIBV8", "0" * 30 + "  "),
        b"SAS     SAS     SASLIB  6.06    bsd4.2  " + b" " * 24 + stamp,
        stamp.ljust(RECORD),
        _header("MEMBV8", "000000000000000001600000000140  "),
        _header("DSCPTV8", "0" * 30 + "  "),
        b"SAS     " + b"DATA".ljust(32) + b"SASDATA 6.06    bsd4.2  " + stamp,
        stamp.ljust(RECORD),
        _header("NAMSTV8", f"00000{len(variables):05d}".ljust(30, "0") + "  "),
        _padded(b"".join(map(_namestr, variables))),
    ]
    long = [v for v in variables if len(v.label) > SHORT_LABEL]
    if long:
        parts.append(_header("LABELV8", str(len(long)).ljust(32)))
        parts.append(
            _padded(
                b"".join(
                    struct.pack(">3H", v.number, len(v.name), len(v.label)) + v.name + v.label
                    for v in long
                )
            )
        )
    return b"".join(parts)


def _namestr(variable: _Variable) -> bytes:
    format, format_width = FORMATS.get(variable.mode, (b"", 0))
    return struct.pack(
        ">4H8s40s8s4H8s2HI32sH18x",
        NUMERIC if variable.numeric else CHARACTER,
        0,  # hash function: none
        variable.width,
        variable.number,
        _cut(variable.name, 8).ljust(8),
        _cut(variable.label, SHORT_LABEL).ljust(SHORT_LABEL),
        format.ljust(8),
        format_width,
        0,  # decimals
        1 if variable.numeric else 0,  # justification: numbers right, strings left
        0,
        b" " * 8,  # informat: none
        0,
        0,
        variable.position,
        variable.name.ljust(32),
        len(variable.label),
    )


def _observations(spool: Spool, variables: list[_Variable], out: BinaryIO) -> None:
    """The observations, a chunk at a time: each column's values turned into bytes a column at
    a time, joined into rows by `zip`."""
    converters = [_converter(variable) for variable in variables]
    written = 0
    for chunk in spool.chunks():
        columns = [convert(values) for convert, values in zip(converters, chunk, strict=True)]
        data = b"".join(chain.from_iterable(zip(*columns, strict=True)))
        out.write(data)
        written += len(data)
    out.write(b" " * (-written % RECORD))


def _converter(variable: _Variable) -> Callable[[tuple[str, ...]], list[bytes]]:
    column = variable.column
    if column.mode == Mode.CHOICE:
        lookup = {code: ibm(value) for code, value in column.codes.items()} | {"": MISSING}
        return lambda values: list(map(lookup.__getitem__, values))
    if column.mode == Mode.NUMBER:
        return _known(lambda value: ibm(float(value)))
    if column.mode == Mode.DATE:
        return _known(_days)
    if column.mode == Mode.DATETIME:
        return _known(_seconds)
    width = variable.width
    if column.longest <= width:
        return lambda values: list(map(bytes.ljust, map(str.encode, values), repeat(width)))
    return lambda values: [_cut(value.encode("utf-8"), width).ljust(width) for value in values]


def _known(convert: Callable[[str], bytes]) -> Callable[[tuple[str, ...]], list[bytes]]:
    """`convert` for each distinct value once (up to KNOWN of them kept): codes, repeated
    measurements and dates recur."""
    seen: dict[str, bytes] = {"": MISSING}

    def one(value: str) -> bytes:
        found = convert(value)
        if len(seen) < KNOWN:
            seen[value] = found
        return found

    return lambda values: [seen[v] if v in seen else one(v) for v in values]


def _days(value: str) -> bytes:
    day = parse_date(value)
    assert day is not None  # the scan made a column with a bad date text
    return ibm(float((day - EPOCH.date()).days))


def _seconds(value: str) -> bytes:
    moment = parse_datetime(value)
    assert moment is not None
    return ibm((moment - EPOCH).total_seconds())


def _cut(encoded: bytes, limit: int) -> bytes:
    """UTF-8 bytes cut to at most `limit`, never inside a character."""
    if len(encoded) <= limit:
        return encoded
    return encoded[:limit].decode("utf-8", errors="ignore").encode("utf-8")
