"""Read and write data dictionaries as CSV files.

Reading accepts what REDCap and spreadsheets write: UTF-8 with or without a byte-order mark,
`\\r\\n` or `\\n` line ends, quoted cells with line breaks, the UI headers or the API column
names, trailing empty cells, and blank rows (skipped). Anything else is refused with a
`DictionaryFileError` whose problems say where the fault is.

Cells are kept exactly as written, except that the columns holding names and codes
(`_TRIMMED_COLUMNS`) lose surrounding whitespace, as REDCap trims them; labels, notes,
choices, logic and annotations keep every space and line break. Names are never otherwise
changed: a bad name is the checker's to report, not the reader's to repair.

Writing uses minimal quoting and `\\n` line ends, like the API's CSV; spreadsheets and REDCap
read both line ends alike.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from django.utils.translation import gettext as _

from opencrf.dictionary.columns import API_COLUMNS, UI_HEADERS, FieldRow
from opencrf.dictionary.problems import HEADER_ROW, DictionaryFileError, Problem

MAX_BYTES = 10 * 1024 * 1024
MAX_PROBLEMS = 100
COLUMN_COUNT = len(API_COLUMNS)

_TRIMMED_COLUMNS = frozenset(
    {
        "field_name",
        "form_name",
        "field_type",
        "text_validation_type_or_show_slider_number",
        "text_validation_min",
        "text_validation_max",
        "identifier",
        "required_field",
        "custom_alignment",
        "matrix_group_name",
        "matrix_ranking",
    }
)
_TRIM_MASK = tuple(name in _TRIMMED_COLUMNS for name in API_COLUMNS)


@dataclass(frozen=True, slots=True)
class ParsedDictionary:
    """The fields of a dictionary file and the spreadsheet row each came from."""

    rows: list[FieldRow]
    row_numbers: list[int]


def parse_dictionary_csv(data: bytes, *, max_bytes: int = MAX_BYTES) -> list[FieldRow]:
    """The fields of a dictionary CSV file, in file order; raises DictionaryFileError."""
    return read_dictionary_csv(data, max_bytes=max_bytes).rows


def read_dictionary_csv(data: bytes, *, max_bytes: int = MAX_BYTES) -> ParsedDictionary:
    """Like `parse_dictionary_csv`, also giving each field's row for the checker's messages.

    At most MAX_PROBLEMS problems are reported, so a hostile file cannot make a huge list.
    """
    records = _records(decode_dictionary_bytes(data, max_bytes=max_bytes))
    header = next(records, None)
    if header is None:
        raise DictionaryFileError([_empty_file_problem()])
    _check_header(header[1])
    rows: list[FieldRow] = []
    numbers: list[int] = []
    problems: list[Problem] = []
    for number, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        problems.extend(_width_problems(number, cells))
        if len(problems) >= MAX_PROBLEMS:
            break
        rows.append(_field_row(cells))
        numbers.append(number)
    if problems:
        raise DictionaryFileError(problems)
    return ParsedDictionary(rows=rows, row_numbers=numbers)


def decode_dictionary_bytes(data: bytes, *, max_bytes: int = MAX_BYTES) -> str:
    """The text of an uploaded file, which must be UTF-8 (a leading BOM is dropped)."""
    if len(data) > max_bytes:
        raise DictionaryFileError([_too_large_problem(len(data), max_bytes)])
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DictionaryFileError([_utf16_problem()])
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DictionaryFileError([_binary_problem(data, nul)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DictionaryFileError([_not_utf8_problem(data, error.start)]) from error


def write_dictionary_csv(rows: Iterable[FieldRow], *, headers: Literal["ui", "api"] = "ui") -> str:
    """The dictionary as CSV text: a header row, then one row per field."""
    return "".join(iter_dictionary_csv(rows, headers=headers))


def iter_dictionary_csv(
    rows: Iterable[FieldRow], *, headers: Literal["ui", "api"] = "ui"
) -> Iterator[str]:
    """`write_dictionary_csv` one line at a time, for streaming responses.

    A "line" is one CSV record; it holds line breaks of its own when a cell does.
    """
    line = _LineWriter()
    yield line.format(UI_HEADERS if headers == "ui" else API_COLUMNS)
    for row in rows:
        yield line.format(row.as_tuple())


class _LineWriter:
    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def format(self, cells: Sequence[str]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(cells)
        return self._buffer.getvalue()


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every CSV record; the first record is row 1."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except csv.Error as error:
        raise DictionaryFileError([_csv_problem(number + 1, error)]) from error


def _field_row(cells: list[str]) -> FieldRow:
    values = (cells + [""] * COLUMN_COUNT)[:COLUMN_COUNT]
    return FieldRow(*(v.strip() if trim else v for v, trim in zip(values, _TRIM_MASK, strict=True)))


def _check_header(cells: list[str]) -> None:
    names = [cell.strip() for cell in cells[:COLUMN_COUNT]]
    names += [""] * (COLUMN_COUNT - len(names))
    expected = (
        API_COLUMNS if _matches(names, API_COLUMNS) > _matches(names, UI_HEADERS) else UI_HEADERS
    )
    problems = _width_problems(HEADER_ROW, cells)
    if _matches(names, expected) == 0:
        problems.append(_no_header_problem(cells))
    else:
        problems.extend(_header_cell_problems(names, expected))
    if problems:
        raise DictionaryFileError(problems)


def _matches(names: Sequence[str], expected: Sequence[str]) -> int:
    return sum(name == want for name, want in zip(names, expected, strict=True))


def _header_cell_problems(names: Sequence[str], expected: Sequence[str]) -> list[Problem]:
    return [
        _header_cell_problem(position, found, want)
        for position, (found, want) in enumerate(zip(names, expected, strict=True), start=1)
        if found != want
    ]


def _width_problems(number: int, cells: list[str]) -> list[Problem]:
    """A problem when a row has cells beyond the 18th that are not empty."""
    extra = next((cell for cell in cells[COLUMN_COUNT:] if cell.strip()), None)
    if extra is None:
        return []
    return [_too_many_cells_problem(number, len(cells), extra)]


# --- Problems -------------------------------------------------------------------------------


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _save_as_utf8() -> str:
    return _("Save it as “CSV UTF-8” and upload it again.")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _too_large_problem(size: int, limit: int) -> Problem:
    message = _("The file is %(size)s MB; the limit is %(limit)s MB.") % {
        "size": _megabytes(size),
        "limit": _megabytes(limit),
    }
    return Problem(row=None, column="", value="", rule="file_too_large", message=message)


def _utf16_problem() -> Problem:
    message = _("The file is saved as UTF-16 text.") + " " + _save_as_utf8()
    return Problem(row=None, column="", value="", rule="not_utf8", message=message)


def _binary_problem(data: bytes, offset: int) -> Problem:
    message = _(
        "The file holds a NUL byte at byte offset %(offset)d (line %(line)d), so it is not a "
        "CSV text file; it may be a spreadsheet file such as .xlsx."
    ) % {"offset": offset, "line": _line_of(data, offset)}
    return Problem(
        row=None,
        column="",
        value="0x00",
        rule="binary_file",
        message=message + " " + _save_as_utf8(),
    )


def _not_utf8_problem(data: bytes, offset: int) -> Problem:
    message = _(
        "The file is not UTF-8 text: the byte at offset %(offset)d (line %(line)d) cannot be read."
    ) % {"offset": offset, "line": _line_of(data, offset)}
    return Problem(
        row=None,
        column="",
        value=f"0x{data[offset]:02X}",
        rule="not_utf8",
        message=message + " " + _save_as_utf8(),
    )


def _empty_file_problem() -> Problem:
    message = _("The file is empty; a data dictionary needs a header row and at least one field.")
    return Problem(row=None, column="", value="", rule="empty_file", message=message)


def _csv_problem(number: int, error: csv.Error) -> Problem:
    if "field larger than field limit" in str(error):
        message = _(
            "A cell in row %(row)d is longer than %(limit)d characters; is a closing quote missing?"
        ) % {"row": number, "limit": csv.field_size_limit()}
        return Problem(row=number, column="", value="", rule="cell_too_long", message=message)
    message = _(
        "Row %(row)d is not valid CSV: a quote is missing or stands inside a cell. Quote a cell "
        "with double quotes and write a quote inside it as two quotes."
    ) % {"row": number}
    return Problem(row=number, column="", value=str(error), rule="csv_syntax", message=message)


def _no_header_problem(cells: list[str]) -> Problem:
    message = _(
        "The first row must be the header (“%(first)s”, “%(second)s”, …) with the 18 columns of "
        "a data dictionary."
    ) % {"first": UI_HEADERS[0], "second": UI_HEADERS[1]}
    value = ", ".join(cells[:3])
    return Problem(row=HEADER_ROW, column="", value=value, rule="header_missing", message=message)


def _header_cell_problem(position: int, found: str, want: str) -> Problem:
    values = {"position": position, "expected": want, "found": found}
    if found:
        message = _("Header column %(position)d should be “%(expected)s” but is “%(found)s”.")
    else:
        message = _("Header column %(position)d should be “%(expected)s” but is empty.")
    return Problem(
        row=HEADER_ROW,
        column=UI_HEADERS[position - 1],
        value=found,
        rule="header_mismatch",
        message=message % values,
    )


def _too_many_cells_problem(number: int, count: int, extra: str) -> Problem:
    message = _("Row %(row)d has %(count)d cells; a data dictionary has %(expected)d columns.") % {
        "row": number,
        "count": count,
        "expected": COLUMN_COUNT,
    }
    return Problem(row=number, column="", value=extra, rule="too_many_cells", message=message)
