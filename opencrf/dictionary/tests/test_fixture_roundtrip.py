"""Every dictionary among the shared fixtures reads, writes and reads back unchanged."""

import csv
import io
from pathlib import Path

import pytest

from conftest import FIXTURES
from opencrf.dictionary.columns import API_COLUMNS
from opencrf.dictionary.csvio import parse_dictionary_csv, write_dictionary_csv

# `decimal-comma` spells its file `dictionay.csv`; metadata.csv files carry the API names.
DICTIONARY_FILES = sorted(
    [
        *FIXTURES.glob("redcap-projects/*/dictionary.csv"),
        *FIXTURES.glob("redcap-projects/*/dictionay.csv"),
        *FIXTURES.glob("redcap-projects/*/metadata.csv"),
        *FIXTURES.glob("studies/*/dictionary.csv"),
    ]
)


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def plain_csv_rows(data: bytes) -> list[list[str]]:
    """The file as csv.reader sees it, without blank rows: the reference to compare with."""
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return [row for row in rows if any(cell.strip() for cell in row)]


def test_every_fixture_dictionary_is_found():
    names = {fixture_id(path) for path in DICTIONARY_FILES}
    assert len(names) == 29
    assert {
        "salt_rct/dictionary.csv",
        "decimal-comma/dictionay.csv",
        "simple/metadata.csv",
    } <= names


@pytest.mark.parametrize("path", DICTIONARY_FILES, ids=fixture_id)
def test_fixture_reads_back_the_same_rows_after_writing(path):
    headers = "api" if path.name == "metadata.csv" else "ui"
    rows = parse_dictionary_csv(path.read_bytes())
    written = write_dictionary_csv(rows, headers=headers)
    assert parse_dictionary_csv(written.encode()) == rows


@pytest.mark.parametrize("path", DICTIONARY_FILES, ids=fixture_id)
def test_written_cells_equal_the_original_cells(path):
    original = plain_csv_rows(path.read_bytes())
    headers = "api" if original[0][0].strip() == API_COLUMNS[0] else "ui"
    written = write_dictionary_csv(parse_dictionary_csv(path.read_bytes()), headers=headers)
    rewritten = plain_csv_rows(written.encode())
    assert [row[:18] for row in rewritten] == [
        [cell.strip() for cell in original[0][:18]],
        *(row[:18] for row in original[1:]),
    ]
