"""Reading a Data Import Tool upload into the rows that `records_import` takes.

A file is recognised by its content, never by its name: an Excel workbook (.xlsx) is a zip
holding the OOXML parts, read with openpyxl in read-only mode (first sheet, cells as text);
anything else must be CSV text, in UTF-8 (a byte-order mark is skipped) or, when the person
chooses it, Shift_JIS as Japanese Excel saves CSV (CP932). The layout is REDCap's: flat (one
row per record, event and instance) or EAV (`record, field_name, value` and the event and
repeat columns). Every refusal names what is wrong and where (the line of the file).

Cell text is kept verbatim: a value starting with `=` is data, not a formula (nothing here
evaluates it). From .xlsx, a formula cell gives the value Excel last computed.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.utils.translation import gettext as _

from opencrf.dictionary.choices import checkbox_column
from opencrf.dictionary.design import ProjectDesign
from opencrf.records.export import EVENT_COLUMN, REPEAT_FORM_COLUMN, REPEAT_INSTANCE_COLUMN

LAYOUTS = ("flat", "eav")
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
ENCODINGS = {"utf-8": "utf-8", "shift_jis": "cp932"}
DATE_FORMATS = ("YMD", "MDY", "DMY")
EAV_KEYS = (EVENT_COLUMN, REPEAT_FORM_COLUMN, REPEAT_INSTANCE_COLUMN)
# A workbook expands when read; more than this many times the upload limit is refused.
XLSX_EXPANSION = 4
_ZIP = b"PK\x03\x04"
_NOT_TEXT = {
    b"\x89PNG": "PNG",
    b"%PDF": "PDF",
    b"GIF8": "GIF",
    b"\xff\xd8\xff": "JPEG",
    b"\xd0\xcf\x11\xe0": "Excel 97-2003 (.xls)",
}


class ImportFileError(Exception):
    """The file cannot be read; `message` says what is wrong and where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FileOptions:
    layout: str = "flat"
    delimiter: str = "comma"
    encoding: str = "utf-8"
    date_format: str = "YMD"  # also how .xlsx dates are written out as text


@dataclass
class ParsedFile:
    """Flat rows, and where in the file each value came from (for the errors' row column)."""

    kind: str  # "csv" or "xlsx"
    rows: list[dict[str, str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # each flat row's first line in the file
    value_lines: dict[tuple[int, str], int] = field(default_factory=dict)  # EAV: (row, name)
    source_rows: int = 0  # rows in the file, the header aside
    header_line: int = 1
    weights: list[int] = field(default_factory=list)  # EAV: the file's lines merged in each row
    _by_record: dict[str, list[int]] | None = field(default=None, repr=False)

    def weight(self, index: int) -> int:
        """How many rows of the file flat row `index` came from (1 but for EAV)."""
        return self.weights[index] if self.weights else 1

    def line_of(self, record: str, name: str, value: str, record_field: str) -> int | None:
        """The line of the file that gave `name` = `value` to `record`, at best its first."""
        if self._by_record is None:  # built once: a file may have an error on every row
            self._by_record = {}
            for index, row in enumerate(self.rows):
                self._by_record.setdefault(row.get(record_field, ""), []).append(index)
        found = self._by_record.get(record, [])
        for index in found:
            row = self.rows[index]
            if name in row and row[name] == value:
                return self.value_lines.get((index, name), self.lines[index])
        return self.lines[found[0]] if found else None


def read_import_file(
    data: bytes, options: FileOptions, design: ProjectDesign, *, max_bytes: int
) -> ParsedFile:
    """The upload's flat rows, or ImportFileError naming the problem."""
    if data.startswith(_ZIP):
        table = list(_xlsx_lines(data, options.date_format, max_bytes))
        kind = "xlsx"
    else:
        table = list(_csv_lines(_text(data, options.encoding), DELIMITERS[options.delimiter]))
        kind = "csv"
    parsed = _table_rows(table, kind)
    if options.layout == "eav":
        return _from_eav(parsed, design)
    return parsed


def _text(data: bytes, encoding: str) -> str:
    for magic, name in _NOT_TEXT.items():
        if data.startswith(magic):
            raise ImportFileError(
                _("The file is a %(kind)s file, not CSV text or an Excel workbook (.xlsx).")
                % {"kind": name}
            )
    codec = ENCODINGS[encoding]
    body = data.removeprefix(b"\xef\xbb\xbf") if codec == "utf-8" else data
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as error:
        line = body[: error.start].count(b"\n") + 1
        raise ImportFileError(
            _(
                "Line %(line)d of the file is not valid %(encoding)s text (byte %(byte)d). "
                "Save the file as CSV UTF-8, or choose the encoding the file was saved in "
                "(Japanese Excel saves CSV as Shift_JIS)."
            )
            % {"line": line, "encoding": _encoding_name(encoding), "byte": error.start + 1}
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportFileError(
            _("Line %(line)d of the file contains a NUL character, which is not accepted.")
            % {"line": line}
        )
    return text


def _encoding_name(encoding: str) -> str:
    return "UTF-8" if encoding == "utf-8" else "Shift_JIS (CP932)"


def _csv_lines(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each row; rows of blank cells are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as error:
        raise ImportFileError(
            _("Line %(line)d of the file is not valid CSV: %(error)s")
            % {"line": reader.line_num, "error": error}
        ) from None


def _xlsx_lines(data: bytes, date_format: str, max_bytes: int) -> Iterator[tuple[int, list[str]]]:
    _check_workbook(data, max_bytes)
    from openpyxl import load_workbook  # only for workbooks: it takes a while to import

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged workbook
        raise ImportFileError(
            _("The Excel workbook cannot be read: %(error)s") % {"error": type(error).__name__}
        ) from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value, date_format) for value in values]
            if any(cell.strip() for cell in cells):
                yield number, cells
    finally:
        book.close()


def _check_workbook(data: bytes, max_bytes: int) -> None:
    """A zip that is an OOXML workbook, and that does not expand beyond reason."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        expanded = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise ImportFileError(_("The file is a damaged zip archive.")) from None
    if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
        raise ImportFileError(_("The file is a zip archive but not an Excel workbook (.xlsx)."))
    if expanded > XLSX_EXPANSION * max_bytes:
        raise ImportFileError(
            _("The Excel workbook expands to %(size)s bytes, more than the %(limit)s accepted.")
            % {"size": f"{expanded:,}", "limit": f"{XLSX_EXPANSION * max_bytes:,}"}
        )


def _cell_text(value: object, date_format: str) -> str:
    """An Excel cell as the text a CSV saved from it would hold (dates in `date_format`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        day = _date_text(value.date(), date_format)
        if value.time() == time(0, 0):
            return day
        clock = "%H:%M:%S" if value.second else "%H:%M"
        return f"{day} {value.strftime(clock)}"
    if isinstance(value, date):
        return _date_text(value, date_format)
    if isinstance(value, time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    return str(value)


def _date_text(day: date, date_format: str) -> str:
    if date_format == "MDY":
        return day.strftime("%m/%d/%Y")
    if date_format == "DMY":
        return day.strftime("%d/%m/%Y")
    return day.isoformat()


def _table_rows(table: Sequence[tuple[int, list[str]]], kind: str) -> ParsedFile:
    parsed = ParsedFile(kind=kind)
    if not table:
        raise ImportFileError(_("The file holds no rows."))
    header_line, header = table[0]
    parsed.header_line = header_line
    names = [name.strip() for name in header]
    while names and names[-1] == "":  # Excel's trailing empty columns
        names.pop()
    duplicates = sorted({name for name in names if name and names.count(name) > 1})
    if duplicates:
        raise ImportFileError(
            _("The header (line %(line)d) names a column twice: %(names)s")
            % {"line": header_line, "names": ", ".join(duplicates)}
        )
    # A column without a name (pandas writes its index so) is left out, as the API does.
    keep = [(index, name) for index, name in enumerate(names) if name]
    for line, cells in table[1:]:
        if any(cell.strip() for cell in cells[len(names) :]):
            raise ImportFileError(
                _("Line %(line)d of the file has more values than the header.") % {"line": line}
            )
        # A CSV row with fewer values than the header is refused as REDCap refuses it: with
        # blanks overwriting, the missing cells would erase stored values. (A workbook's row
        # has no length of its own: its empty trailing cells are blanks.) The API reads CSV
        # with its own parser (api/parsing.py), which this does not change.
        if kind == "csv" and len(cells) < len(names):
            raise ImportFileError(
                _("Line %(line)d of the file has fewer values than the header.") % {"line": line}
            )
        cells = cells + [""] * (len(names) - len(cells))
        parsed.rows.append({name: cells[index] for index, name in keep})
        parsed.lines.append(line)
    parsed.source_rows = len(parsed.rows)
    return parsed


def _from_eav(parsed: ParsedFile, design: ProjectDesign) -> ParsedFile:
    """EAV rows as flat rows, as the API's `type=eav` reads them: a checkbox comes as
    `field___code` with 0 or 1, or as the base name with the ticked code."""
    if parsed.rows and not {"record", "field_name"} <= set(parsed.rows[0]):
        raise ImportFileError(
            _(
                "An EAV file needs the columns record, field_name and value (and "
                "redcap_event_name, redcap_repeat_instrument, redcap_repeat_instance where the "
                "project has them)."
            )
        )
    checkboxes = {row.field_name for row in design.rows if row.field_type == "checkbox"}
    flat = ParsedFile(
        kind=parsed.kind, source_rows=parsed.source_rows, header_line=parsed.header_line
    )
    index_of: dict[tuple[str, ...], int] = {}
    for row, line in zip(parsed.rows, parsed.lines, strict=True):
        key = (row["record"], *(row.get(name, "") for name in EAV_KEYS))
        index = index_of.get(key)
        if index is None:
            index = index_of[key] = len(flat.rows)
            flat.rows.append({name: row.get(name, "") for name in EAV_KEYS if name in row})
            flat.rows[index][design.record_id_field] = row["record"]
            flat.lines.append(line)
            flat.weights.append(0)
        flat.weights[index] += 1
        name, value = row["field_name"].strip(), row.get("value", "")
        if name in checkboxes:
            name, value = checkbox_column(name, value), "1"
        flat.rows[index][name] = value
        flat.value_lines[(index, name)] = line
    return flat
