"""Excel (.xlsx), streamed: the workbook's XML written here, row by row, into a zip.

An .xlsx file is a zip of a few small XML parts and one XML part per sheet. The data sheet is
written through `ZipFile.open(..., "w")` as the rows come, so memory does not grow with the
export; a general-purpose library's per-cell work was most of the time of an export (about
17× the raw select at 100,000 records × 50 fields; bench/RESULTS.md has the figures now).

- Text goes to the shared strings table (one entry per distinct value, up to a bound; beyond
  it, inline strings), so repeated codes and answers cost a few bytes a cell. Every text cell
  is a string cell and no cell has a formula (`<f>`), so `=HYPERLINK(...)`, `+1`, `@SUM(A1)`
  are shown as the text they are and never evaluated.
- Numbers are written as numbers when the stored text is one; dates and datetimes as Excel
  serial numbers with a date style; a value that does not parse is written as text. Codes
  stay text (`01` is not `1`).
- XML 1.0 forbids most control characters: they are written as `_xHHHH_`, Excel's own
  escape, which Excel turns back into the character; a literal `_xHHHH_` in the data gets its
  underscore escaped (`_x005F_`) so that Excel shows it as typed. Other readers (openpyxl)
  show the escapes as they are.
- A cell holds at most 32,767 characters (Excel's limit, counted in UTF-16 units): longer
  values are cut at a character boundary, and a `notes` sheet says which variables, from
  which row and how many cells.

A `variables` sheet lists each variable's label, type and codes.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, BinaryIO

from django.utils.translation import gettext as _

from opencrf.core.errors import InvalidInput
from opencrf.exports.table import ExportTable, Kind, Variable

MAX_ROWS = 1_048_576  # Excel's sheet limit, header included
MAX_COLUMNS = 16_384
MAX_CELL = 32_767  # Excel's limit on the characters (UTF-16 units) of one cell
# Distinct values remembered (their cell XML: codes, dates, answers), shared out between the
# columns so that a project of thousands of columns stays within the same bound.
CACHED = 200_000
CACHED_PER_COLUMN = 4096
CACHED_LENGTH = 200  # longer values are not remembered: rarely repeated, and costly to keep
SHARED_STRINGS = 50_000  # bound of the shared strings table; further distinct text is inline
SHARED_CHARACTERS = 2_000_000
FLUSH_ROWS = 500  # rows joined and compressed at a time

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
DATE_STYLE, DATETIME_STYLE = 1, 2  # indexes into cellXfs of STYLES

# What XML 1.0 does not allow in a document (and lone surrogates, which UTF-8 cannot hold),
# and a literal `_xHHHH_`, which Excel would read as an escape.
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)"
)
ESCAPED = re.compile(f"[&<>\r]|{FORBIDDEN.pattern}")
NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
EXCEL_EPOCH = date(1899, 12, 30).toordinal()
FIRST_DAY = date(1900, 1, 1)
LEAP_BUG = date(1900, 3, 1)  # Excel counts a 29 February 1900: serials from here on are +1


def write_xlsx(table: ExportTable, out: BinaryIO) -> int:
    """Write the table as a workbook; returns the number of data rows."""
    if len(table.variables) > MAX_COLUMNS:
        raise InvalidInput(
            _(
                "The export has %(count)d columns, more than Excel's limit of %(limit)d; "
                "choose CSV or a statistics format, or fewer fields."
            )
            % {"count": len(table.variables), "limit": MAX_COLUMNS}
        )
    strings = SharedStrings()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            data = DataSheet(table.variables, strings)
            count = data.write(part, table.names, table.rows())
        sheets = ["data", "variables"]
        _text_sheet(archive, 2, _codebook(table.variables))
        if data.cuts:
            sheets.append("notes")
            _text_sheet(archive, 3, _notes(data.cuts))
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            strings.write(part)
        _package(archive, sheets)
    return count


@dataclass
class Cut:
    """Values of one variable cut to Excel's cell limit: from which row, how many cells."""

    first_row: int
    cells: int = 0


class SharedStrings:
    """The workbook's shared strings table: each distinct text once, as escaped XML."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.items: list[str] = []
        self.characters = 0

    def add(self, text: str) -> int | None:
        """The index of a new `text` (already cut), or None once the table is full."""
        if len(self.items) >= SHARED_STRINGS or self.characters >= SHARED_CHARACTERS:
            return None
        self.index[text] = found = len(self.items)
        self.items.append(escape(text))
        self.characters += len(text)
        return found

    def write(self, part: IO[bytes]) -> None:
        count = len(self.items)
        part.write(f'{HEAD}<sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}">'.encode())
        for start in range(0, count, 5000):
            items = self.items[start : start + 5000]
            part.write("".join(f'<si><t xml:space="preserve">{t}</t></si>' for t in items).encode())
        part.write(b"</sst>")


@dataclass
class DataSheet:
    """Writes the data sheet. Each column has a cache from a stored value to the end of its
    cell's XML, so the common case (a code, a date, a short answer seen before) is one
    dictionary lookup; anything new goes through the column's `slow` function."""

    variables: list[Variable]
    strings: SharedStrings
    cuts: dict[str, Cut] = field(default_factory=dict)

    def write(self, part: IO[bytes], names: list[str], rows: Iterable[list[str]]) -> int:
        part.write(
            f'{HEAD}<worksheet xmlns="{MAIN}"><sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            "</sheetView></sheetViews><sheetData>".encode()
        )
        part.write(_text_row(1, names).encode())
        plan = [
            (f'<c r="{column_letters(index)}', *self._column(variable))
            for index, variable in enumerate(self.variables)
        ]
        buffer: list[str] = []
        add = buffer.append  # the hot loop: pieces appended, joined once per FLUSH_ROWS rows
        count = 0
        for count, row in enumerate(rows, start=1):
            number = count + 1
            if number > MAX_ROWS:
                raise InvalidInput(
                    _(
                        "The export has more than %(limit)d rows, Excel's limit; "
                        "choose CSV or a statistics format."
                    )
                    % {"limit": MAX_ROWS - 1}
                )
            at = str(number)
            add(f'<row r="{at}">')
            for value, (prefix, cache, slow) in zip(row, plan, strict=False):  # same width
                if value:
                    end = cache.get(value)
                    if end is None:
                        end = slow(value, number)
                    add(prefix)
                    add(at)
                    add(end)
            add("</row>")
            if count % FLUSH_ROWS == 0:
                part.write("".join(buffer).encode())
                buffer.clear()
        buffer.append("</sheetData></worksheet>")
        part.write("".join(buffer).encode())
        return count

    def _column(self, variable: Variable) -> tuple[dict[str, str], Callable[[str, int], str]]:
        cache: dict[str, str] = {}
        parse = _PARSERS.get(variable.kind)
        name = variable.name
        bound = min(CACHED_PER_COLUMN, max(64, CACHED // len(self.variables)))

        def slow(value: str, row: int) -> str:
            end = parse(value) if parse is not None else None
            if end is None:
                end = self._text(name, value, row)
            if len(cache) < bound and len(value) <= CACHED_LENGTH:
                cache[value] = end
            return end

        return cache, slow

    def _text(self, name: str, value: str, row: int) -> str:
        text = value if len(value) <= MAX_CELL // 2 else cut_cell(value)
        if text is not value:
            cut = self.cuts.setdefault(name, Cut(row))
            cut.cells += 1
        index = self.strings.index.get(text)
        if index is None:
            index = self.strings.add(text)
        if index is None:
            return f'" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'
        return f'" t="s"><v>{index}</v></c>'


def _number(value: str) -> str | None:
    """A stored number's cell, or None for text that is not a finite number."""
    if NUMBER.fullmatch(value) is None:
        return None
    if ("e" in value or "E" in value) and not abs(float(value)) < float("inf"):
        return None
    return f'"><v>{value}</v></c>'


def _date(value: str) -> str | None:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    serial = _serial(day)
    return None if serial is None else f'" s="{DATE_STYLE}"><v>{serial}</v></c>'


def _datetime(value: str) -> str | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    serial = _serial(moment.date())
    if serial is None or moment.tzinfo is not None:
        return None
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    fraction = (seconds + moment.microsecond / 1e6) / 86_400
    return f'" s="{DATETIME_STYLE}"><v>{serial + fraction!r}</v></c>'


def _serial(day: date) -> int | None:
    """Excel's day number (1900 date system); None before 1900, which Excel cannot show."""
    if day < FIRST_DAY:
        return None
    serial = day.toordinal() - EXCEL_EPOCH
    return serial if day >= LEAP_BUG else serial - 1


_PARSERS: dict[str, Callable[[str], str | None]] = {
    Kind.INTEGER: _number,
    Kind.NUMBER: _number,
    Kind.DATE: _date,
    Kind.DATETIME: _datetime,
}


def escape(text: str) -> str:
    """`text` as XML character data, with what XML 1.0 forbids written as `_xHHHH_`."""
    if ESCAPED.search(text) is None:  # most text: nothing to do, one scan
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "\r" in text:  # an XML reader turns a raw CR (and CR LF) into LF
        text = text.replace("\r", "&#13;")
    return FORBIDDEN.sub(_escape_character, text)


def _escape_character(match: re.Match[str]) -> str:
    return f"_x{ord(match.group()):04X}_"


def cut_cell(value: str) -> str:
    """`value` within Excel's 32,767 UTF-16 units, never inside a character; the same object
    when it fits."""
    if len(value) <= MAX_CELL // 2:
        return value
    encoded = value.encode("utf-16-le", errors="surrogatepass")
    if len(encoded) <= MAX_CELL * 2:
        return value
    return encoded[: MAX_CELL * 2].decode("utf-16-le", errors="ignore")


def column_letters(index: int) -> str:
    """The letters of a 0-based column: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text_row(number: int, texts: Iterable[str]) -> str:
    """One row of inline strings (headers, the codebook, notes)."""
    cells = "".join(
        f'<c r="{column_letters(index)}{number}" t="inlineStr">'
        f'<is><t xml:space="preserve">{escape(cut_cell(text))}</t></is></c>'
        for index, text in enumerate(texts)
        if text != ""
    )
    return f'<row r="{number}">{cells}</row>'


def _text_sheet(archive: zipfile.ZipFile, number: int, rows: list[list[str]]) -> None:
    body = "".join(_text_row(n, row) for n, row in enumerate(rows, start=1))
    archive.writestr(
        f"xl/worksheets/sheet{number}.xml",
        f'{HEAD}<worksheet xmlns="{MAIN}"><sheetData>{body}</sheetData></worksheet>',
    )


def _codebook(variables: list[Variable]) -> list[list[str]]:
    rows = [["variable", "label", "type", "values"]]
    for variable in variables:
        values = " | ".join(f"{c.code}, {c.label}" for c in variable.choices)
        rows.append([variable.name, variable.label, str(variable.kind), values])
    return rows


def _notes(cuts: dict[str, Cut]) -> list[list[str]]:
    rows = [["variable", "first row", "cells", "note"]]
    note = _(
        "Cut to 32,767 characters, Excel's limit for one cell; "
        "the CSV and statistics exports hold the whole value."
    )
    for name, cut in cuts.items():
        rows.append([name, str(cut.first_row), str(cut.cells), note])
    return rows


STYLES = (
    f'{HEAD}<styleSheet xmlns="{MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _package(archive: zipfile.ZipFile, sheets: list[str]) -> None:
    """The small parts that tie the sheets into a workbook."""
    numbers = range(1, len(sheets) + 1)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
        f'ContentType="{SPREADSHEET}.worksheet+xml"/>'
        for n in numbers
    )
    archive.writestr(
        "[Content_Types].xml",
        f'{HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{SPREADSHEET}.sheet.main+xml"/>'
        f"{overrides}"
        f'<Override PartName="/xl/styles.xml" ContentType="{SPREADSHEET}.styles+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" '
        f'ContentType="{SPREADSHEET}.sharedStrings+xml"/></Types>',
    )
    archive.writestr(
        "_rels/.rels",
        f'{HEAD}<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
        f'Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    )
    entries = "".join(
        f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>'
        for n, name in zip(numbers, sheets, strict=True)
    )
    archive.writestr(
        "xl/workbook.xml",
        f'{HEAD}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
        f"<sheets>{entries}</sheets></workbook>",
    )
    links = "".join(
        f'<Relationship Id="rId{n}" Type="{RELATIONSHIPS}/worksheet" '
        f'Target="worksheets/sheet{n}.xml"/>'
        for n in numbers
    )
    count = len(sheets)
    archive.writestr(
        "xl/_rels/workbook.xml.rels",
        f'{HEAD}<Relationships xmlns="{PACKAGE}">{links}'
        f'<Relationship Id="rId{count + 1}" Type="{RELATIONSHIPS}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{count + 2}" Type="{RELATIONSHIPS}/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>',
    )
    archive.writestr("xl/styles.xml", STYLES)
