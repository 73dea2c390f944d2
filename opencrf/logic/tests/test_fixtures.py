"""Every branching logic and calculation in the shared fixture dictionaries parses."""

from __future__ import annotations

import csv

from conftest import FIXTURES
from opencrf.logic import check_syntax

BRANCHING, FIELD_TYPE, CHOICES = 11, 3, 5


def fixture_logic() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(FIXTURES.glob("**/dictionary.csv")):
        with path.open(encoding="utf-8-sig", newline="") as file:
            for number, row in enumerate(csv.reader(file), start=1):
                if number == 1 or len(row) <= BRANCHING:
                    continue
                if row[BRANCHING].strip():
                    found.append((str(path), number, row[BRANCHING]))
                if row[FIELD_TYPE] == "calc" and row[CHOICES].strip():
                    found.append((str(path), number, row[CHOICES]))
    return found


def test_fixture_dictionaries_hold_logic_to_check():
    assert len(fixture_logic()) >= 25


def test_every_fixture_branching_logic_and_calculation_parses():
    failures = [
        f"{path} row {row}: {logic!r}: {error.message}"
        for path, row, logic in fixture_logic()
        if (error := check_syntax(logic)) is not None
    ]
    assert failures == []
