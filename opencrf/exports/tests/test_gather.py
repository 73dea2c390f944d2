"""How the statistics writer gathers columns: typed, shared, and text when a value misfits."""

from __future__ import annotations

import math
from datetime import date

from opencrf.dictionary.choices import Choice
from opencrf.exports.table import Kind, Variable
from opencrf.exports.writers.stats import CHUNK, TARGETS, gather


class _Table:
    def __init__(self, variables, rows):
        self.variables = variables
        self._rows = rows

    def rows(self):
        return iter(self._rows)


def _gather(kind, values, choices=()):
    table = _Table([Variable("v", "V", kind, choices=choices)], [[value] for value in values])
    columns, count = gather(table, TARGETS["stata"])
    return columns[0], count


def test_numbers_are_floats_and_blanks_are_missing():
    column, count = _gather(Kind.NUMBER, ["1.5", "", "-2"])

    assert count == 3
    assert column.numbers is not None
    assert column.numbers[0] == 1.5 and math.isnan(column.numbers[1]) and column.numbers[2] == -2


def test_a_number_column_with_text_in_it_becomes_text_whole():
    column, _count = _gather(Kind.NUMBER, ["1.5", "", "7", "n/a", "3"])

    assert (column.numbers, column.objects) == (None, None)
    assert column.texts == ["1.5", "", "7", "n/a", "3"]


def test_a_choice_column_with_an_unknown_code_becomes_its_codes_as_text():
    choices = (Choice("1", "Yes"), Choice("0", "No"))

    column, _count = _gather(Kind.CHOICE, ["1", "0", "", "9"], choices)

    assert column.texts == ["1", "0", "", "9"]


def test_dates_are_dates_shared_between_rows_and_a_bad_one_makes_the_column_text():
    column, _count = _gather(Kind.DATE, ["2026-01-02", "", "2026-01-02"])
    assert column.objects == [date(2026, 1, 2), None, date(2026, 1, 2)]
    assert column.objects[0] is column.objects[2]

    column, _count = _gather(Kind.DATE, ["2026-01-02", "", "2026-02-30"])
    assert column.texts == ["2026-01-02", "", "2026-02-30"]


def test_a_misfit_in_a_later_chunk_turns_every_earlier_value_back_into_text():
    values = [str(n) for n in range(CHUNK + 300)]
    values[CHUNK + 7] = "n/a"
    choices = tuple(Choice(str(n), f"Option {n}") for n in range(CHUNK + 300))

    number, count = _gather(Kind.NUMBER, values)
    choice, _count = _gather(Kind.CHOICE, values, choices[: CHUNK + 7])
    day, _count = _gather(Kind.DATE, ["2026-01-02"] * CHUNK + ["", "2026-13-01"])

    assert count == CHUNK + 300
    assert number.texts == values
    assert choice.texts == values
    assert day.texts == ["2026-01-02"] * CHUNK + ["", "2026-13-01"]


def test_numbers_with_a_newline_or_an_overflowing_exponent_are_not_numbers():
    assert _gather(Kind.NUMBER, ["1", "2\n3"])[0].texts == ["1", "2\n3"]
    assert _gather(Kind.NUMBER, ["1", "1e999"])[0].texts == ["1", "1e999"]
    assert list(_gather(Kind.NUMBER, ["1e3", "", ".5"])[0].numbers)[::2] == [1000.0, 0.5]
