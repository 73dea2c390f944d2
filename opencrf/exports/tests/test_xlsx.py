"""The Excel writer's own XML: escaping, Japanese text, Excel's cell limit, typed cells."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from functools import partial

import openpyxl

from opencrf.exports.table import Kind, Variable
from opencrf.exports.writers.xlsx import MAX_CELL, column_letters, write_xlsx

# openpyxl reads Excel's dates as naive datetimes: a spreadsheet has no time zone
naive = partial(datetime, tzinfo=None)


class _Table:
    def __init__(self, variables, rows):
        self.variables = variables
        self.names = [variable.name for variable in variables]
        self._rows = rows

    def rows(self):
        return iter(self._rows)


def _write(kind, values):
    table = _Table(
        [Variable("id", "ID", Kind.STRING), Variable("v", "V", kind)],
        [[str(n), value] for n, value in enumerate(values, start=1)],
    )
    out = io.BytesIO()
    count = write_xlsx(table, out)
    return count, out.getvalue()


def _values(data):
    sheet = openpyxl.load_workbook(io.BytesIO(data))["data"]
    return [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]


def _sheet_xml(data, part):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(part).decode("utf-8")


def test_control_characters_xml_forbids_are_written_as_excels_escapes():
    _count, data = _write(Kind.STRING, ["a\x01b\x1fc\x00", "tab\tnew\nline", "cr\r\nlf"])

    strings = _sheet_xml(data, "xl/sharedStrings.xml")
    assert "a_x0001_b_x001F_c_x0000_" in strings
    # openpyxl shows Excel's escapes as written; tab, newline and CR come back as they were
    assert _values(data) == ["a_x0001_b_x001F_c_x0000_", "tab\tnew\nline", "cr\r\nlf"]


def test_a_literal_escape_in_the_data_has_its_underscore_escaped():
    _count, data = _write(Kind.STRING, ["_x0041_ stays as typed"])

    assert "_x005F_x0041_ stays as typed" in _sheet_xml(data, "xl/sharedStrings.xml")


def test_markup_and_japanese_text_come_back_exactly():
    text = '<b>副作用 & "発熱"</b> ＜全角＞ 🩺'

    _count, data = _write(Kind.STRING, [text, " leading and trailing spaces "])

    assert _values(data) == [text, " leading and trailing spaces "]


def test_text_over_excels_cell_limit_is_cut_at_a_character_and_noted():
    _count, data = _write(Kind.STRING, ["長" * 40_000, "short", "😀" * 20_000, "長" * 40_000])

    values = _values(data)
    assert values[0] == "長" * MAX_CELL
    assert values[1] == "short"
    assert values[2] == "😀" * 16_383  # two UTF-16 units each: 32,766, never half of one
    book = openpyxl.load_workbook(io.BytesIO(data))
    notes = list(book["notes"].iter_rows(values_only=True))
    assert notes[0] == ("variable", "first row", "cells", "note")
    assert notes[1][:3] == ("v", "2", "3")
    assert "32,767" in notes[1][3]


def test_numbers_are_numbers_and_anything_else_stays_text():
    _count, data = _write(Kind.NUMBER, ["1.5", "-2", "007", ".5", "1e3", "1e999", "n/a", ""])

    assert _values(data) == [1.5, -2, 7, 0.5, 1000.0, "1e999", "n/a", None]


def test_dates_are_excel_dates_across_the_1900_leap_day_and_older_ones_text():
    values = ["1900-02-28", "1900-03-01", "2025-05-11", "1899-12-31", "2025-02-30"]

    _count, data = _write(Kind.DATE, values)

    assert _values(data) == [
        naive(1900, 2, 28),
        naive(1900, 3, 1),
        naive(2025, 5, 11),
        "1899-12-31",
        "2025-02-30",
    ]


def test_datetimes_keep_their_seconds():
    _count, data = _write(Kind.DATETIME, ["2025-05-11 13:45:30", "2025-05-11 13:45"])

    assert _values(data) == [naive(2025, 5, 11, 13, 45, 30), naive(2025, 5, 11, 13, 45)]


def test_a_sheet_without_cut_values_has_no_notes_and_counts_its_rows():
    count, data = _write(Kind.STRING, ["a", "a", "b"])

    assert count == 3
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == ["data", "variables"]


def test_column_letters_run_to_excels_last_column():
    assert [column_letters(n) for n in (0, 25, 26, 701, 702, 16_383)] == [
        "A",
        "Z",
        "AA",
        "ZZ",
        "AAA",
        "XFD",
    ]
