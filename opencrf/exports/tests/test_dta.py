"""The streaming Stata writer (format 118), read back with pyreadstat: every kind, str# and
strL text, Japanese, 32-byte names, many rows, none, the map, and an output that cannot seek."""

from __future__ import annotations

import struct
from datetime import date, datetime

import pandas
import pyreadstat
import pytest

from opencrf.core.errors import InvalidInput
from opencrf.exports.table import Kind, Variable
from opencrf.exports.tests.test_sav import CHECKBOX, EVERY_KIND, EVERY_ROW, YES_NO, _Pipe, _Table
from opencrf.exports.writers.scan import CHUNK
from opencrf.exports.writers.stats import write_native

MAP_TAGS = [
    b"<stata_dta>",
    b"<map>",
    b"<variable_types>",
    b"<varnames>",
    b"<sortlist>",
    b"<formats>",
    b"<value_label_names>",
    b"<variable_labels>",
    b"<characteristics>",
    b"<data>",
    b"<strls>",
    b"<value_labels>",
    b"</stata_dta>",
]


def _write(tmp_path, variables, rows, **table):
    out = _Pipe()
    written = write_native(_Table(variables, rows, **table), out, "stata")
    path = tmp_path / "d.dta"
    path.write_bytes(out.getvalue())
    frame, meta = pyreadstat.read_dta(str(path))
    return written, frame, meta, path


def test_every_kind_reads_back_with_its_type_format_and_labels(tmp_path):
    written, frame, meta, _path = _write(tmp_path, EVERY_KIND, EVERY_ROW)

    assert written.rows == 3
    first, empty, third = frame.to_dict("records")
    assert first == {
        "record_id": "1",
        "weight": 61.25,
        "visits": 3.0,
        "smoker": 1.0,
        "fruit": 2.0,
        "incl___1": 1.0,
        "incl___2": 0.0,
        "visit_date": date(2025, 5, 11),
        "seen_at": datetime.fromisoformat("2025-05-11 10:30"),
        "seen_time": "10:30",
        "notes": "良好",
    }
    filled = [name for name, value in empty.items() if value != "" and not pandas.isna(value)]
    assert filled == ["record_id"]
    assert (third["visit_date"], third["seen_at"]) == (
        date(1960, 1, 1),
        datetime.fromisoformat("1999-12-31 23:59:59"),
    )
    assert meta.column_names_to_labels["smoker"] == "喫煙 / Smoker"
    assert meta.variable_value_labels == {
        "smoker": {1: "はい / Yes", 0: "いいえ / No"},
        "fruit": {1: "Apple", 2: "Pear"},
        "incl___1": {0: "Unchecked", 1: "Checked"},
        "incl___2": {0: "Unchecked", 1: "Checked"},
    }
    # Each distinct set once, named after the first variable that uses it.
    assert meta.variable_to_label["incl___2"] == "incl___1"
    assert sorted(meta.value_labels) == ["fruit", "incl___1", "smoker"]
    assert meta.original_variable_types == {
        "record_id": "%-1s",
        "weight": "%10.0g",
        "visits": "%10.0g",
        "smoker": "%10.0g",
        "fruit": "%10.0g",
        "incl___1": "%10.0g",
        "incl___2": "%10.0g",
        "visit_date": "%td",
        "seen_at": "%tc",
        "seen_time": "%-5s",
        "notes": "%-6s",  # two Japanese characters: six bytes
    }
    assert meta.file_label == "試験 / Trial"


def test_the_header_says_the_rows_and_the_map_points_at_every_section(tmp_path):
    rows = [*EVERY_ROW, ["4", "", "", "", "", "", "", "", "", "", "長" * 1000]]  # a strL

    _written, _frame, _meta, path = _write(tmp_path, EVERY_KIND, rows)
    data = path.read_bytes()

    assert data.startswith(b"<stata_dta><header><release>118</release><byteorder>LSF</byteorder>")
    assert data[data.index(b"<N>") + 3 : data.index(b"</N>")] == struct.pack("<Q", 4)
    at = data.index(b"<map>") + 5
    offsets = struct.unpack_from("<14Q", data, at)
    for offset, tag in zip(offsets, MAP_TAGS, strict=False):
        assert data[offset : offset + len(tag)] == tag
    assert offsets[-1] == len(data)
    _empty, meta = pyreadstat.read_dta(str(path), metadataonly=True)
    assert meta.number_rows == 4


@pytest.mark.parametrize(
    "value",
    [
        "x" * 2045,  # the widest str#
        "x" * 2046,  # the narrowest strL
        "é" * 1023,  # 2,046 bytes in two-byte characters
        "長" * 20_000,  # 60,000 bytes: Stata keeps long text whole
    ],
)
def test_long_strings_read_back_whole_as_str_or_strl(tmp_path, value):
    variables = [Variable("text", "Text", Kind.STRING), Variable("after", "After", Kind.NUMBER)]
    rows = [[value, "1"], ["", "2"], ["b", ""], [value, "4"]]

    _written, frame, meta, _path = _write(tmp_path, variables, rows)

    assert list(frame["text"]) == [value, "", "b", value]
    assert list(frame["after"].fillna(-1)) == [1.0, 2.0, -1.0, 4.0]
    size = len(value.encode())
    assert meta.original_variable_types["text"] == ("%-2045s" if size <= 2045 else "%9s")


def test_strls_of_several_variables_find_their_rows(tmp_path):
    variables = [Variable(f"t{n}", "", Kind.STRING) for n in range(3)]
    rows = [
        [f"{n}-{row}-" + "長" * 700 if (n + row) % 2 else "" for n in range(3)] for row in range(5)
    ]

    _written, frame, _meta, _path = _write(tmp_path, variables, rows)

    assert frame.to_numpy().tolist() == rows


def test_32_byte_names_labels_of_80_characters_and_reserved_words(tmp_path):
    long = "v" * 40
    variables = [
        Variable(long + "_a", "長" * 100, Kind.STRING),
        Variable(long + "_b", "B", Kind.CHOICE, choices=YES_NO),
        Variable("in", "Reserved", Kind.NUMBER),
    ]

    written, frame, meta, _path = _write(tmp_path, variables, [["a", "1", "2"]])

    assert list(frame.columns) == ["v" * 32, "v" * 31, "in_"]
    assert written.renamed == {long + "_a": "v" * 32, long + "_b": "v" * 31, "in": "in_"}
    assert meta.column_names_to_labels["v" * 32] == "長" * 80
    assert meta.variable_value_labels["v" * 31] == {1: "はい / Yes", 0: "いいえ / No"}


def test_many_narrow_rows_across_many_chunks(tmp_path):
    count = CHUNK * 25 + 7
    rows = [[str(n), "1" if n % 2 else "0"] for n in range(count)]
    variables = [
        Variable("n", "N", Kind.INTEGER),
        Variable("c", "C", Kind.CHOICE, choices=CHECKBOX),
    ]

    written, frame, _meta, _path = _write(tmp_path, variables, rows)

    assert written.rows == frame.shape[0] == count
    assert frame["n"].sum() == count * (count - 1) / 2
    assert frame["c"].sum() == count // 2


def test_an_empty_export_has_its_variables_and_no_rows(tmp_path):
    written, frame, meta, _path = _write(tmp_path, EVERY_KIND, [])

    assert written.rows == 0
    assert frame.shape == (0, len(EVERY_KIND))
    assert meta.variable_value_labels["smoker"] == {1: "はい / Yes", 0: "いいえ / No"}


def test_a_column_whose_values_misfit_its_kind_is_text_whole(tmp_path):
    variables = [Variable("weight", "W", Kind.NUMBER), Variable("at", "At", Kind.DATETIME)]
    rows = [["61.5", "2025-01-02 10:00"]] * (CHUNK + 3) + [["1e999", "2025-01-02T10:00+09:00"]]

    _written, frame, meta, _path = _write(tmp_path, variables, rows)

    assert frame.iloc[-1].tolist() == ["1e999", "2025-01-02T10:00+09:00"]
    assert frame.iloc[0].tolist() == ["61.5", "2025-01-02 10:00"]
    assert meta.original_variable_types == {"weight": "%-5s", "at": "%-22s"}


def test_more_variables_than_stata_holds_is_refused_before_anything_is_written():
    variables = [Variable(f"v{n}", "", Kind.NUMBER) for n in range(32_768)]
    out = _Pipe()

    with pytest.raises(InvalidInput) as error:
        write_native(_Table(variables, []), out, "stata")

    assert error.value.message == (
        "A Stata file holds at most 32767 variables; this export has 32768. "
        "Choose fewer fields or another format."
    )
    assert out.getvalue() == b""
