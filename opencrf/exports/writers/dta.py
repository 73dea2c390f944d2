"""Stata datasets (.dta, format 118: Stata 14 and later, UTF-8), written here a chunk of rows
at a time: memory stays flat.

Format 118 puts the number of rows in the header and, in a map before the variables, the
offset of every section, the strLs and value labels after the data included. The rows come
from a `scan.Spool` (read once from the database, measured, on disk), which knows all of it
before the first byte: the rows, each string's longest value and the bytes every string
column's values take. So the file is written front to back, to any output (a pipe too),
without seeking back.

- numbers, choices, dates and datetimes are doubles; empty is Stata's missing value `.`;
  dates are `%td` (days since 1960-01-01), datetimes `%tc` (milliseconds since then);
- strings are `str#` as wide as their longest value, or `strL` over 2,045 bytes, whole;
- choices carry value labels (Stata's are integer-coded: codes that are not all whole numbers
  are written as the options' positions 1..n, see `stats.choice_values`); each distinct set
  of labels is written once, named after the first variable that uses it;
- variable labels hold 80 characters (cut between characters), the dataset label is the
  project's title (80 characters);
- more than 32,767 variables (format 118's limit) is refused before anything is written.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
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

MISSING = 2.0**1023  # `.`: the smallest of a double's missing values
EPOCH = datetime(1960, 1, 1)  # noqa: DTZ001 (stored datetimes are wall-clock times)
STR_MAX = 2045  # the widest str#
STRL, DOUBLE = 32_768, 65_526  # variable types
NAME_BYTES, FORMAT_BYTES, LABEL_BYTES = 129, 57, 321
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
GSO_HEAD = 3 + 4 + 8 + 1 + 4  # "GSO", v, o, t, len
MAX_VARIABLES = 32_767


@dataclass
class _Variable:
    column: Column
    name: str
    label: str
    type: int  # 1..2045 (str#), STRL or DOUBLE
    labels: str = ""  # the name of its value label set

    @property
    def size(self) -> int:
        """Its bytes in a row."""
        return self.type if self.type <= STR_MAX else 8


def write_dta(
    spool: Spool,
    names: list[str],
    labels: list[str],
    value_labels: dict[str, dict[int | float, str]],
    out: BinaryIO,
    *,
    dataset_label: str = "",
    now: datetime | None = None,
) -> None:
    """Write the spooled rows to `out`: variables named `names` (32 bytes), labelled `labels`
    (80 characters), with `value_labels` per name."""
    if len(names) > MAX_VARIABLES:
        raise InvalidInput(
            _(
                "A Stata file holds at most %(limit)s variables; this export has %(count)s. "
                "Choose fewer fields or another format."
            )
            % {"limit": MAX_VARIABLES, "count": len(names)}
        )
    variables = [
        _Variable(column, name, label, _type(column))
        for column, name, label in zip(spool.columns, names, labels, strict=True)
    ]
    tables = _value_label_tables(variables, value_labels)
    header = _header(len(variables), spool.rows, dataset_label, now or timezone.localtime())
    sections = _sections(variables)
    out.write(header)
    out.write(
        b"<map>"
        + struct.pack("<14Q", *_map(header, sections, variables, spool.rows, tables))
        + b"</map>"
    )
    out.write(b"".join(sections))
    out.write(b"<data>")
    _rows(spool, variables, out)
    out.write(b"</data><strls>")
    for index, variable in enumerate(variables, start=1):
        if variable.type == STRL:
            out.writelines(_gsos(spool, index))
    out.write(b"</strls><value_labels>" + tables + b"</value_labels></stata_dta>")


def _sections(variables: list[_Variable]) -> list[bytes]:
    """The sections between the map and the data."""
    types = struct.pack(f"<{len(variables)}H", *(v.type for v in variables))
    return [
        _section("variable_types", types),
        _section("varnames", b"".join(_fixed(v.name, NAME_BYTES) for v in variables)),
        _section("sortlist", bytes(2 * (len(variables) + 1))),
        _section("formats", b"".join(_fixed(_display(v), FORMAT_BYTES) for v in variables)),
        _section("value_label_names", b"".join(_fixed(v.labels, NAME_BYTES) for v in variables)),
        _section("variable_labels", b"".join(_fixed(v.label, LABEL_BYTES) for v in variables)),
        _section("characteristics", b""),
    ]


def _map(
    header: bytes, sections: list[bytes], variables: list[_Variable], rows: int, tables: bytes
) -> list[int]:
    """The 14 offsets of the map: <stata_dta>, <map>, each section in order (the data, strLs
    and value labels too, whose sizes the scan knows), </stata_dta> and the end of the file."""
    row = sum(v.size for v in variables)
    strls = sum(
        v.column.filled * (GSO_HEAD + 1) + v.column.total for v in variables if v.type == STRL
    )
    sizes = [
        len(header),
        len(b"<map>") + 14 * 8 + len(b"</map>"),
        *map(len, sections),
        len(b"<data></data>") + row * rows,
        len(b"<strls></strls>") + strls,
        len(b"<value_labels></value_labels>") + len(tables),
        len(b"</stata_dta>"),
    ]
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    return offsets


def _type(column: Column) -> int:
    if column.mode != Mode.TEXT:
        return DOUBLE
    longest = max(column.longest, 1)
    return longest if longest <= STR_MAX else STRL


def _display(variable: _Variable) -> str:
    mode = variable.column.mode
    if mode == Mode.DATE:
        return "%td"
    if mode == Mode.DATETIME:
        return "%tc"
    if variable.type == DOUBLE:
        return "%10.0g"
    return "%9s" if variable.type == STRL else f"%-{variable.type}s"


def _header(variables: int, rows: int, label: str, now: datetime) -> bytes:
    stamp = f"{now.day:02d} {MONTHS[now.month - 1]} {now.year} {now:%H:%M}".encode("ascii")
    encoded = _cut(label, 80).encode("utf-8")
    return b"".join(
        [
            b"<stata_dta><header><release>118</release><byteorder>LSF</byteorder>",
            b"<K>" + struct.pack("<H", variables) + b"</K>",
            b"<N>" + struct.pack("<Q", rows) + b"</N>",
            b"<label>" + struct.pack("<H", len(encoded)) + encoded + b"</label>",
            b"<timestamp>" + struct.pack("<B", len(stamp)) + stamp + b"</timestamp>",
            b"</header>",
        ]
    )


def _section(name: str, body: bytes) -> bytes:
    return f"<{name}>".encode("ascii") + body + f"</{name}>".encode("ascii")


def _fixed(text: str, size: int) -> bytes:
    """`text` in UTF-8 in a field of `size` bytes, ending with at least one zero byte."""
    encoded = text.encode("utf-8")
    if len(encoded) >= size:
        encoded = encoded[: size - 1].decode("utf-8", errors="ignore").encode("utf-8")
    return encoded.ljust(size, b"\x00")


def _cut(text: str, characters: int) -> str:
    return text[:characters]


def _value_label_tables(
    variables: list[_Variable], sets: dict[str, dict[int | float, str]]
) -> bytes:
    """One `<lbl>` per distinct set of labels; each variable names the set it uses."""
    named: dict[tuple[tuple[int | float, str], ...], str] = {}
    for variable in variables:
        found = sets.get(variable.name)
        if found and variable.type == DOUBLE:
            key = tuple(sorted(found.items()))
            variable.labels = named.setdefault(key, variable.name)
    parts = []
    for entries, name in named.items():
        texts = [text.encode("utf-8") + b"\x00" for _value, text in entries]
        offsets, at = [], 0
        for text in texts:
            offsets.append(at)
            at += len(text)
        count = len(entries)
        table = struct.pack(
            f"<2I{count}I{count}i", count, at, *offsets, *(int(v) for v, _t in entries)
        ) + b"".join(texts)
        parts.append(
            b"<lbl>"
            + struct.pack("<I", len(table))
            + _fixed(name, NAME_BYTES)
            + bytes(3)
            + table
            + b"</lbl>"
        )
    return b"".join(parts)


def _rows(spool: Spool, variables: list[_Variable], out: BinaryIO) -> None:
    pack = struct.Struct("<" + "".join(_code(v) for v in variables)).pack
    converters = [_converter(variable, index) for index, variable in enumerate(variables, 1)]
    start = 1
    for chunk in spool.chunks():
        columns = [
            convert(values, start) for convert, values in zip(converters, chunk, strict=True)
        ]
        out.write(b"".join(map(pack, *columns)))
        start += len(chunk[0]) if chunk else 0


def _code(variable: _Variable) -> str:
    if variable.type == DOUBLE:
        return "d"
    return "Q" if variable.type == STRL else f"{variable.type}s"


Converter = Callable[[tuple[str, ...], int], list]  # type: ignore[type-arg]


def _converter(variable: _Variable, index: int) -> Converter:
    column = variable.column
    if column.mode == Mode.NUMBER:
        return lambda values, _start: [float(value) if value else MISSING for value in values]
    if column.mode == Mode.CHOICE:
        lookup = {**column.codes, "": MISSING}
        return lambda values, _start: list(map(lookup.__getitem__, values))
    if column.mode in (Mode.DATE, Mode.DATETIME):
        return _dates(column.mode == Mode.DATE)
    if variable.type == STRL:
        # (v, o): the variable's number in 2 bytes, the row's in 6; (0, 0) is empty.
        return lambda values, start: [
            index | (row << 16) if value else 0 for row, value in enumerate(values, start)
        ]
    return lambda values, _start: list(map(str.encode, values))


def _dates(dates: bool) -> Converter:
    """Days (%td) or milliseconds (%tc) since 1960, each distinct value computed once."""
    seen: dict[str, float] = {"": MISSING}

    def number(value: str) -> float:
        if dates:
            day = parse_date(value)
            assert day is not None  # the scan made a column with a bad date text
            found = float((day - EPOCH.date()).days)
        else:
            moment = parse_datetime(value)
            assert moment is not None
            found = (moment - EPOCH).total_seconds() * 1000
        if len(seen) < KNOWN:
            seen[value] = found
        return found

    return lambda values, _start: [seen[v] if v in seen else number(v) for v in values]


def _gsos(spool: Spool, index: int) -> Iterator[bytes]:
    """The strLs of variable `index` (1-based), read again from the spool: one GSO per value
    that is not empty, UTF-8 with its terminating zero byte (type 130)."""
    row = 1
    for chunk in spool.chunks():
        parts = []
        for value in chunk[index - 1]:
            if value:
                encoded = value.encode("utf-8") + b"\x00"
                parts.append(b"GSO" + struct.pack("<IQBI", index, row, 130, len(encoded)) + encoded)
            row += 1
        yield b"".join(parts)
