"""SPSS system files (.sav), written here a chunk of rows at a time: memory stays flat.

The rows come from a `scan.Spool` (read once from the database, measured, on disk), so the
header holds the exact number of cases and each string variable is as wide as its longest
value: nothing is guessed before streaming. The file is what SPSS 20 and later write:

- the file header (`$FL2`, bytecode compressed, the case count, bias 100);
- a variable record per variable — its short name (8 bytes; the real name, up to 64 bytes,
  is in the long names record), its label (255 bytes at most), its formats: F for numbers
  and choices (as many decimals as the data has; E when a number has an exponent), DATE11 for
  dates, DATETIME20 for datetimes, A for strings — and the continuation records of strings
  wider than 8 bytes;
- strings over 255 bytes (up to SPSS's 32,767, cut between characters) as "very long
  strings": segments of 255 bytes, each a variable of its own, joined by the subtype 14
  record;
- value labels (records 3 and 4) for every choice variable, one set per distinct set of
  labels (each checkbox option shares Unchecked/Checked);
- the machine integer (subtype 3: UTF-8 is code page 65001) and floating point (subtype 4)
  records, variable display parameters (subtype 11: nominal for strings and choices, scale
  for numbers and dates), long names (13), very long strings (14), the 64-bit case count (16)
  and the character encoding, UTF-8 (20);
- the cases, bytecode-compressed (see `_cases`): numbers as 8-byte floats (empty:
  system-missing), dates as seconds since 1582-10-14, strings padded with spaces to a
  multiple of 8 bytes.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import BinaryIO

from django.utils import timezone

from opencrf.exports.writers.scan import (
    KNOWN,
    Column,
    Mode,
    Spool,
    parse_date,
    parse_datetime,
)

SYSMIS = -sys.float_info.max
HIGHEST = sys.float_info.max
LOWEST = struct.unpack("<d", bytes.fromhex("feffffffffffefff"))[0]  # the next above SYSMIS
EPOCH = datetime(1582, 10, 14)  # noqa: DTZ001 (stored datetimes are wall-clock times)
DAY = 86_400
MAX_STRING = 32_767
SEGMENT = 252  # a very long string has a segment per 252 bytes (each holds 255: see _segments)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
RESERVED = frozenset(
    ["ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"]
)

# Format types (the high byte of a print or write format).
A, F, E, DATE, DATETIME = 1, 5, 17, 20, 22
NOMINAL, SCALE = 1, 3
LEFT, RIGHT = 0, 1


@dataclass
class _Variable:
    """One variable of the file: its segments' widths (strings) or none (numbers)."""

    column: Column
    name: str
    label: bytes
    segments: list[int]  # string widths, one per segment; empty for a number
    width: int = 0  # a string's width in bytes (all segments)
    first: int = 0  # the dictionary index (1-based, in 8-byte slots) of its first record

    @property
    def numeric(self) -> bool:
        return not self.segments


def write_sav(
    spool: Spool,
    names: list[str],
    labels: list[str],
    value_labels: dict[str, dict[int | float, str]],
    out: BinaryIO,
    *,
    file_label: str = "",
    now: datetime | None = None,
) -> None:
    """Write the spooled rows to `out`: variables named `names`, labelled `labels` (already
    cut to 255 bytes), with `value_labels` per name."""
    variables = _variables(spool, names, labels)
    out.write(_header(variables, spool.rows, file_label, now or timezone.localtime()))
    shorts = _short_names(variables)
    for variable, short in zip(variables, shorts, strict=True):
        out.write(_variable_records(variable, short))
    out.write(_value_label_records(variables, value_labels))
    out.write(_extension_records(variables, shorts, spool.rows))
    out.write(struct.pack("<ii", 999, 0))
    _cases(spool, variables, out)


def _variables(spool: Spool, names: list[str], labels: list[str]) -> list[_Variable]:
    variables, slot = [], 1
    for column, name, label in zip(spool.columns, names, labels, strict=True):
        variable = _Variable(column, name, label.encode("utf-8"), [], first=slot)
        if column.mode == Mode.TEXT:
            variable.width = min(max(column.longest, 1), MAX_STRING)
            variable.segments = _segments(variable.width)
            slot += sum(_padded(width) // 8 for width in variable.segments)
        else:
            slot += 1
        variables.append(variable)
    return variables


def _segments(width: int) -> list[int]:
    """A string's segments: itself up to 255 bytes, else one per 252 bytes (rounded up), 255
    bytes wide but the last, which is as wide as 252 bytes a segment leaves. Each but the last
    holds 255 bytes of the value, so the last has the rest, and 3 bytes per segment to spare."""
    if width <= 255:
        return [width]
    count = (width + SEGMENT - 1) // SEGMENT
    return [255] * (count - 1) + [width - (count - 1) * SEGMENT]


def _padded(width: int) -> int:
    return (width + 7) // 8 * 8


def _slots(variables: list[_Variable]) -> int:
    return sum(
        1 if v.numeric else sum(_padded(width) // 8 for width in v.segments) for v in variables
    )


def _header(variables: list[_Variable], rows: int, file_label: str, now: datetime) -> bytes:
    day = f"{now.day:02d} {MONTHS[now.month - 1]} {now.year % 100:02d}"
    product = b"@(#) SPSS DATA FILE OpenCRF"
    return struct.pack(
        "<4s60s5id9s8s64s3x",
        b"$FL2",
        product.ljust(60),
        2,  # layout code
        _slots(variables),
        1,  # bytecode compressed
        0,  # no weight variable
        rows if rows < 2**31 else -1,  # then in the subtype 16 record only
        100.0,
        day.encode("ascii"),
        now.strftime("%H:%M:%S").encode("ascii"),
        _cut(file_label.encode("utf-8"), 64).ljust(64),
    )


def _short_names(variables: list[_Variable]) -> list[list[bytes]]:
    """Unique short names (8 bytes, ASCII, upper case), one per segment of each variable."""
    taken: set[bytes] = set()
    result = []
    for variable in variables:
        stem = "".join(
            c for c in variable.name.upper() if c.isascii() and (c.isalnum() or c == "_")
        )
        if not stem or not stem[0].isalpha() or stem in RESERVED:
            stem = "V" + stem
        names = []
        for segment in range(max(len(variable.segments), 1)):
            names.append(_free(stem, segment, taken))
        result.append(names)
    return result


def _free(stem: str, segment: int, taken: set[bytes]) -> bytes:
    number = segment
    while True:
        suffix = str(number) if number else ""
        name = (stem[: 8 - len(suffix)] + suffix).encode("ascii")
        if name not in taken and name.decode() not in RESERVED:
            taken.add(name)
            return name
        number += 1


def _format(variable: _Variable, width: int) -> int:
    column = variable.column
    if column.mode == Mode.TEXT:
        return A << 16 | min(width, 255) << 8
    if column.mode == Mode.DATE:
        return DATE << 16 | 11 << 8
    if column.mode == Mode.DATETIME:
        return DATETIME << 16 | 20 << 8
    if column.exponent:
        return E << 16 | 11 << 8 | 4  # 1.2346E+300: F would show asterisks
    decimals = min(column.decimals, 16)
    shown = min(max(8, column.longest + 1, decimals + 2), 40)
    return F << 16 | shown << 8 | decimals


def _variable_records(variable: _Variable, shorts: list[bytes]) -> bytes:
    parts = []
    widths = variable.segments or [0]
    for number, (width, short) in enumerate(zip(widths, shorts, strict=True)):
        label = variable.label if number == 0 else b""
        format = _format(variable, width)
        parts.append(struct.pack("<6i8s", 2, width, int(bool(label)), 0, format, format, short))
        if label:
            parts.append(struct.pack("<i", len(label)) + label.ljust((len(label) + 3) // 4 * 4))
        for _slot in range(_padded(width) // 8 - 1):  # a string's continuation records
            parts.append(struct.pack("<6i8s", 2, -1, 0, 0, 0, 0, b" " * 8))
    return b"".join(parts)


def _value_label_records(
    variables: list[_Variable], sets: dict[str, dict[int | float, str]]
) -> bytes:
    """Records 3 and 4: each distinct set of labels once, with the variables that use it."""
    shared: dict[tuple[tuple[int | float, str], ...], list[int]] = {}
    for variable in variables:
        found = sets.get(variable.name)
        if found and variable.numeric:
            shared.setdefault(tuple(sorted(found.items())), []).append(variable.first)
    parts = []
    for entries, indexes in shared.items():
        parts.append(struct.pack("<ii", 3, len(entries)))
        for value, text in entries:
            encoded = _cut(text.encode("utf-8"), 120)
            entry = struct.pack("<dB", float(value), len(encoded)) + encoded
            parts.append(entry.ljust(8 + _padded(len(encoded) + 1)))
        parts.append(struct.pack(f"<ii{len(indexes)}i", 4, len(indexes), *indexes))
    return b"".join(parts)


def _extension(subtype: int, size: int, data: bytes) -> bytes:
    return struct.pack("<4i", 7, subtype, size, len(data) // size) + data


def _extension_records(variables: list[_Variable], shorts: list[list[bytes]], rows: int) -> bytes:
    display = []
    for variable in variables:
        mode = variable.column.mode
        measure = NOMINAL if mode in (Mode.TEXT, Mode.CHOICE) else SCALE
        for width in variable.segments or [0]:
            shown = min(max(width, 8), 40) if width else 8
            display.append(struct.pack("<3i", measure, shown, LEFT if width else RIGHT))
    long_names = b"\t".join(
        names[0] + b"=" + variable.name.encode("utf-8")
        for variable, names in zip(variables, shorts, strict=True)
    )
    very_long = b"".join(
        names[0] + f"={variable.width:05d}".encode("ascii") + b"\x00\t"
        for variable, names in zip(variables, shorts, strict=True)
        if len(variable.segments) > 1
    )
    parts = [
        _extension(3, 4, struct.pack("<8i", 20, 0, 0, -1, 1, 1, 2, 65001)),
        _extension(4, 8, struct.pack("<3d", SYSMIS, HIGHEST, LOWEST)),
        _extension(20, 1, b"UTF-8"),
        _extension(11, 4, b"".join(display)),
        _extension(13, 1, long_names),
    ]
    if very_long:
        parts.append(_extension(14, 1, very_long))
    parts.append(_extension(16, 8, struct.pack("<2q", 1, rows)))
    return b"".join(parts)


# Bytecode compression: each case is blocks of 8 one-byte codes, each followed by the 8-byte
# values its codes call for. 1..251: the number code - 100 (whole numbers -99..151); 253: the
# next 8 bytes as they are; 254: 8 spaces; 255: system-missing; 0: nothing (pads a case's last
# block, so that every case starts a block and the blocks are the same slots in every case).
RAW, SPACES, MISSING_CODE, PAD = b"\xfd", b"\xfe", b"\xff", b"\x00"
COMPACT = {float(n): bytes([n + 100]) for n in range(-99, 152)} | {SYSMIS: MISSING_CODE}
NO_DATA = dict.fromkeys(COMPACT.values(), b"")
BLANK = b" " * 8
PACK_DOUBLE = struct.Struct("<d").pack

# A slot's code and data in each case of a chunk; no data when no code calls for it.
Slot = tuple[list[bytes], list[bytes] | None]


def _cases(spool: Spool, variables: list[_Variable], out: BinaryIO) -> None:
    """The cases, bytecode-compressed, a chunk at a time: each column's codes and data are
    made a slot at a time, and joined into cases by `zip` (no Python code per value)."""
    slotters = [_slotter(variable) for variable in variables]
    for chunk in spool.chunks():
        slots = [
            slot
            for slotter, values in zip(slotters, chunk, strict=True)
            for slot in slotter(values)
        ]
        parts: list[Iterable[bytes]] = []  # a case's pieces in order: codes, data, codes...
        for start in range(0, len(slots), 8):
            block = slots[start : start + 8]
            parts += [codes for codes, _data in block] + [repeat(PAD)] * (8 - len(block))
            parts += [data for _codes, data in block if data is not None]
        out.write(b"".join(map(b"".join, zip(*parts, strict=False))))  # pads are endless


def _slotter(variable: _Variable) -> Callable[[tuple[str, ...]], list[Slot]]:
    """How a chunk of the variable's values becomes its slots' codes and data."""
    coded = _choice_codes(variable)
    if coded is not None and RAW not in coded.values():  # every code is a byte
        return lambda values: [(list(map(coded.__getitem__, values)), None)]
    convert = _converter(variable)
    if variable.numeric:
        return lambda values: [_number_slot(convert(values))]
    split = struct.Struct("8s" * (_storage(variable) // 8)).unpack
    return lambda values: [
        _string_slot(pieces) for pieces in zip(*map(split, convert(values)), strict=True)
    ]


def _number_slot(numbers: list[float]) -> Slot:
    codes = list(map(COMPACT.get, numbers, repeat(RAW)))
    data = list(map(NO_DATA.get, codes, map(PACK_DOUBLE, numbers)))
    return codes, data if RAW in codes else None


def _string_slot(pieces: tuple[bytes, ...]) -> Slot:
    codes = list(map({BLANK: SPACES}.get, pieces, repeat(RAW)))
    data = list(map({BLANK: b""}.get, pieces, pieces))
    return codes, data if RAW in codes else None


def _choice_codes(variable: _Variable) -> dict[str, bytes] | None:
    """A choice's code byte for each stored code (and the empty value)."""
    if variable.column.mode != Mode.CHOICE:
        return None
    values = {**variable.column.codes, "": SYSMIS}
    return {code: COMPACT.get(value, RAW) for code, value in values.items()}


def _storage(variable: _Variable) -> int:
    return sum(_padded(width) for width in variable.segments)


def _converter(variable: _Variable) -> Callable[[tuple[str, ...]], list]:  # type: ignore[type-arg]
    column = variable.column
    if column.mode == Mode.NUMBER:
        return lambda values: [float(value) if value else SYSMIS for value in values]
    if column.mode == Mode.CHOICE:
        lookup = {**column.codes, "": SYSMIS}
        return lambda values: list(map(lookup.__getitem__, values))
    if column.mode in (Mode.DATE, Mode.DATETIME):
        return _dates(column.mode == Mode.DATE)
    size = _storage(variable)
    if len(variable.segments) == 1:
        return lambda values: list(map(bytes.ljust, map(str.encode, values), repeat(size)))
    return lambda values: [_very_long(value, variable) for value in values]


def _dates(dates: bool) -> Callable[[tuple[str, ...]], list[float]]:
    """Seconds since 1582-10-14, each distinct value computed once (up to KNOWN kept)."""
    seen: dict[str, float] = {"": SYSMIS}

    def seconds(value: str) -> float:
        if dates:
            day = parse_date(value)
            assert day is not None  # the scan made a column with a bad date text
            found = float((day - EPOCH.date()).days * DAY)
        else:
            moment = parse_datetime(value)
            assert moment is not None
            found = (moment - EPOCH).total_seconds()
        if len(seen) < KNOWN:
            seen[value] = found
        return found

    return lambda values: [seen[v] if v in seen else seconds(v) for v in values]


def _very_long(value: str, variable: _Variable) -> bytes:
    """A string over 255 bytes as its segments: 255 bytes in each, padded to 256."""
    encoded = _cut(value.encode("utf-8"), variable.width)
    last = len(variable.segments) - 1
    parts = [encoded[n * 255 : (n + 1) * 255].ljust(256) for n in range(last)]
    parts.append(encoded[last * 255 :].ljust(_padded(variable.segments[-1])))
    return b"".join(parts)


def _cut(encoded: bytes, limit: int) -> bytes:
    """UTF-8 bytes cut to at most `limit`, never inside a character."""
    if len(encoded) <= limit:
        return encoded
    return encoded[:limit].decode("utf-8", errors="ignore").encode("utf-8")
