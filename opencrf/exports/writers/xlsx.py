"""Excel (.xlsx), streamed: XlsxWriter's constant-memory mode writes each row as it comes.

Every text cell is written as a string cell, never through XlsxWriter's guessing `write()`,
so a value such as `=HYPERLINK(...)`, `+1`, `-2+3` or `@SUM(A1)` (or one starting with a tab
or carriage return) is shown as the text it is and never evaluated as a formula. Numbers,
dates and datetimes are written as such; a value that does not parse is written as text.
A second sheet lists each variable's label and codes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, BinaryIO

import xlsxwriter

from opencrf.core.errors import InvalidInput
from opencrf.exports.table import ExportTable, Kind, Variable, parse_number

MAX_ROWS = 1_048_576  # Excel's sheet limit, header included
MAX_CELL = 32_767  # Excel's limit on the characters of one cell


def write_xlsx(table: ExportTable, out: BinaryIO) -> int:
    """Write the table as a workbook; returns the number of data rows."""
    book = xlsxwriter.Workbook(
        out,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    formats = {
        Kind.DATE: book.add_format({"num_format": "yyyy-mm-dd"}),
        Kind.DATETIME: book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
    }
    sheet = book.add_worksheet("data")
    for column, name in enumerate(table.names):
        sheet.write_string(0, column, name)
    writers = [_cell_writer(variable, formats) for variable in table.variables]
    count = 0
    for count, row in enumerate(table.rows(), start=1):
        if count >= MAX_ROWS:
            book.close()
            raise InvalidInput(
                f"The export has more than {MAX_ROWS - 1} rows, Excel's limit; "
                "choose CSV or a statistics format."
            )
        for column, (value, write) in enumerate(zip(row, writers, strict=True)):
            if value != "":
                write(sheet, count, column, value)
    _codebook(book, table.variables)
    book.close()
    return count


def _cell_writer(variable: Variable, formats: dict[Kind, Any]) -> Any:
    if variable.kind in (Kind.INTEGER, Kind.NUMBER):
        return _number
    if variable.kind == Kind.DATE:
        return lambda sheet, r, c, v: _date(sheet, r, c, v, formats[Kind.DATE])
    if variable.kind == Kind.DATETIME:
        return lambda sheet, r, c, v: _datetime(sheet, r, c, v, formats[Kind.DATETIME])
    return _text


def _text(sheet: Any, row: int, column: int, value: str) -> None:
    sheet.write_string(row, column, value[:MAX_CELL])


def _number(sheet: Any, row: int, column: int, value: str) -> None:
    number = parse_number(value)
    if number is None:
        _text(sheet, row, column, value)
    else:
        sheet.write_number(row, column, number)


def _date(sheet: Any, row: int, column: int, value: str, style: Any) -> None:
    try:
        sheet.write_datetime(row, column, date.fromisoformat(value), style)
    except ValueError:
        _text(sheet, row, column, value)


def _datetime(sheet: Any, row: int, column: int, value: str, style: Any) -> None:
    try:
        sheet.write_datetime(row, column, datetime.fromisoformat(value), style)
    except ValueError:
        _text(sheet, row, column, value)


def _codebook(book: Any, variables: list[Variable]) -> None:
    sheet = book.add_worksheet("variables")
    for column, title in enumerate(("variable", "label", "type", "values")):
        sheet.write_string(0, column, title)
    for row, variable in enumerate(variables, start=1):
        values = " | ".join(f"{c.code}, {c.label}" for c in variable.choices)
        for column, text in enumerate((variable.name, variable.label, variable.kind, values)):
            _text(sheet, row, column, text)
