"""The streaming SAS transport writer, read back with pyreadstat: every kind, long and Japanese
text, IBM doubles, names at the limit, many rows, none, and the records pyreadstat wrote."""

from __future__ import annotations

import io
import math
import re
import struct
from datetime import date
from types import SimpleNamespace

import pandas
import pyreadstat
import pytest

from opencrf.core.errors import InvalidInput
from opencrf.dictionary.choices import Choice
from opencrf.exports.table import Kind, Variable
from opencrf.exports.writers.scan import CHUNK
from opencrf.exports.writers.stats import write_native
from opencrf.exports.writers.xpt import MISSING, OutOfRange, ibm

YES_NO = (Choice("1", "はい / Yes"), Choice("0", "いいえ / No"))
CHECKBOX = (Choice("0", "Unchecked"), Choice("1", "Checked"))


class _Table:
    def __init__(self, variables, rows):
        self.variables = variables
        self._rows = rows
        self.project = SimpleNamespace(title="試験 / Trial")

    def rows(self):
        return iter([list(row) for row in self._rows])


class _Pipe(io.BytesIO):
    """An output that can only be written forward, like a zip member."""

    def seekable(self):
        return False

    def seek(self, *args):
        raise io.UnsupportedOperation("seek")

    def tell(self):
        raise io.UnsupportedOperation("tell")


def _write(tmp_path, variables, rows):
    out = _Pipe()
    written = write_native(_Table(variables, rows), out, "sas")
    path = tmp_path / "d.xpt"
    path.write_bytes(out.getvalue())
    frame, meta = pyreadstat.read_xport(str(path))
    return written, frame, meta, out.getvalue()


def _from_ibm(data: bytes) -> float:
    """An IBM double's value, decoded independently of the writer (exact: Python ints)."""
    if data == MISSING:
        return math.nan
    (word,) = struct.unpack(">Q", data)
    sign = -1 if word >> 63 else 1
    exponent = (word >> 56 & 0x7F) - 64
    fraction = word & (2**56 - 1)
    return sign * math.ldexp(fraction, 4 * exponent - 56)


EVERY_KIND = [
    Variable("record_id", "ID", Kind.STRING),
    Variable("weight", "体重 / Weight", Kind.NUMBER),
    Variable("visits", "Visits", Kind.INTEGER),
    Variable("smoker", "喫煙 / Smoker", Kind.CHOICE, choices=YES_NO),
    Variable("fruit", "Fruit", Kind.CHOICE, choices=(Choice("a", "Apple"), Choice("b", "Pear"))),
    Variable("incl___1", "Incl (choice=1)", Kind.CHOICE, choices=CHECKBOX),
    Variable("visit_date", "Visit date", Kind.DATE),
    Variable("seen_at", "Seen at", Kind.DATETIME),
    Variable("seen_time", "Time", Kind.TIME),
    Variable("notes", "", Kind.STRING),
]
EVERY_ROW = [
    ["1", "61.25", "3", "1", "b", "1", "2025-05-11", "2025-05-11 10:30", "10:30", "良好"],
    ["2", "", "", "", "", "", "", "", "", ""],
    ["3", "-0.5", "12", "0", "a", "0", "1959-12-31", "1999-12-31 23:59:59", "", "x"],
]


def test_every_kind_reads_back_with_its_type_format_and_label(tmp_path):
    written, frame, meta, _data = _write(tmp_path, EVERY_KIND, EVERY_ROW)

    assert written.rows == 3
    assert written.value_labels == {
        "smoker": {1: "はい / Yes", 0: "いいえ / No"},
        "fruit": {1: "Apple", 2: "Pear"},
        "incl___1": {0: "Unchecked", 1: "Checked"},
    }
    first, empty, third = frame.to_dict("records")
    assert first == {
        "record_id": "1",
        "weight": 61.25,
        "visits": 3.0,
        "smoker": 1.0,
        "fruit": 2.0,
        "incl___1": 1.0,
        "visit_date": date(2025, 5, 11),
        "seen_at": pandas.Timestamp(2025, 5, 11, 10, 30),
        "seen_time": "10:30",
        "notes": "良好",
    }
    assert empty["record_id"] == "2"
    assert [math.isnan(empty[n]) for n in ("weight", "visits", "smoker", "fruit")] == [True] * 4
    assert (pandas.isna(empty["visit_date"]), pandas.isna(empty["seen_at"])) == (True, True)
    assert (empty["seen_time"], empty["notes"]) == ("", "")
    assert (third["weight"], third["visit_date"]) == (-0.5, date(1959, 12, 31))
    assert third["seen_at"] == pandas.Timestamp(1999, 12, 31, 23, 59, 59)
    assert meta.column_labels == [v.label or None for v in EVERY_KIND]
    assert meta.readstat_variable_types == {
        "record_id": "string",
        "weight": "double",
        "visits": "double",
        "smoker": "double",
        "fruit": "double",
        "incl___1": "double",
        "visit_date": "double",
        "seen_at": "double",
        "seen_time": "string",
        "notes": "string",
    }
    assert meta.original_variable_types["visit_date"] == "DATE9."
    assert meta.original_variable_types["seen_at"] == "DATETIME20."
    assert meta.original_variable_types["weight"] is None
    assert meta.table_name == "DATA"


def test_the_records_are_those_pyreadstat_wrote(tmp_path):
    variables = [
        Variable("name", "L" * 100, Kind.STRING),
        Variable("a_very_long_variable_name_32byte", "x", Kind.NUMBER),
    ]
    _written, _frame, _meta, data = _write(tmp_path, variables, [["abc", "1.5"], ["日本語", ""]])
    frame = pandas.DataFrame(
        {"name": ["abc", "日本語"], "a_very_long_variable_name_32byte": [1.5, None]}
    )
    theirs = tmp_path / "theirs.xpt"
    pyreadstat.write_xport(
        frame, str(theirs), column_labels=["L" * 100, "x"], file_format_version=8, table_name="DATA"
    )
    expected = theirs.read_bytes()

    assert len(data) == len(expected) == 17 * 80
    assert STAMP.sub(b"<time>", data) == STAMP.sub(b"<time>", expected)
    assert len(STAMP.findall(data)) == 4


STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")


@pytest.mark.parametrize(
    ("number", "stored"),
    [
        (0.0, "0000000000000000"),
        (-0.0, "0000000000000000"),
        (1.0, "4110000000000000"),
        (-1.0, "c110000000000000"),
        (1.5, "4118000000000000"),
        (0.1, "401999999999999a"),
        (-118.625, "c276a00000000000"),
        (2.0**53, "4e20000000000000"),
        (2.0**53 - 1, "4e1fffffffffffff"),
        (-(2.0**53), "ce20000000000000"),
        (1 / 3, "4055555555555554"),  # IEEE rounded its last bit
        (16.0**-65, "0010000000000000"),
        (16.0**63 * (1 - 2.0**-53), "7ffffffffffffff8"),
    ],
)
def test_numbers_become_ibm_doubles_exactly(number, stored):
    assert ibm(number).hex() == stored
    assert _from_ibm(ibm(number)) == number


def test_a_spread_of_doubles_survives_the_ibm_conversion_bit_for_bit():
    numbers = [
        1e-78,
        2.2250738585072014e-60,
        0.1,
        0.2,
        0.30000000000000004,
        math.pi,
        -math.e,
        123456789.123456789,
        9007199254740991.0,
        1e75,
        7.2e75,
    ]
    numbers += [float(n) for n in range(-1000, 1000, 7)]
    numbers += [-n for n in numbers]

    assert [_from_ibm(ibm(n)) for n in numbers] == numbers


@pytest.mark.parametrize("number", [1e300, -1e300, 1e-300, 16.0**63, 5e-324, math.inf])
def test_numbers_beyond_an_ibm_double_are_refused(number):
    with pytest.raises(OutOfRange):
        ibm(number)


def test_nan_is_the_sas_missing_value():
    assert ibm(math.nan) == b".\x00\x00\x00\x00\x00\x00\x00"


def test_numbers_read_back_through_pyreadstat_exactly(tmp_path):
    values = ["0", "-0", "0.1", "-118.625", "9007199254740992", "-9007199254740991", "1e-78"]
    values += ["7.2e75", "3.141592653589793", "", "61.3"]
    variables = [Variable("x", "X", Kind.NUMBER)]

    _written, frame, _meta, _data = _write(tmp_path, variables, [[v] for v in values])

    found = frame["x"].tolist()
    assert found[:9] == [float(v) for v in values[:9]]
    assert math.isnan(found[9])
    assert found[10] == 61.3


def test_a_number_column_with_a_value_beyond_sas_is_text_whole(tmp_path):
    variables = [Variable("big", "Big", Kind.NUMBER), Variable("small", "Small", Kind.NUMBER)]
    rows = [["1", "1e-300"], ["1e300", "2"], ["", ""]]

    written, frame, meta, _data = _write(tmp_path, variables, rows)

    assert frame["big"].tolist() == ["1", "1e300", ""]
    assert frame["small"].tolist() == ["1e-300", "2", ""]
    assert meta.readstat_variable_types == {"big": "string", "small": "string"}
    assert written.value_labels == {}


def test_a_long_huge_number_without_an_exponent_is_text_too(tmp_path):
    huge = "9" * 80
    _written, frame, _meta, _data = _write(tmp_path, [Variable("n", "N", Kind.NUMBER)], [[huge]])

    assert frame["n"].tolist() == [huge]


@pytest.mark.parametrize("value", ["あ" * 2000, "x" * 32_767, "é" * 9000])
def test_long_and_japanese_strings_read_back_whole(tmp_path, value):
    variables = [Variable("notes", "メモ", Kind.STRING)]

    _written, frame, meta, _data = _write(tmp_path, variables, [[value], ["短い"]])

    assert frame["notes"].tolist() == [value, "短い"]
    assert meta.column_names_to_labels["notes"] == "メモ"


def test_strings_over_32767_bytes_are_cut_between_characters(tmp_path):
    value = "a" + "日本" * 6000  # 36,001 bytes; 32,767 - 1 is not a multiple of 3

    _written, frame, _meta, _data = _write(tmp_path, [Variable("t", "", Kind.STRING)], [[value]])

    assert frame["t"].iloc[0] == "a" + ("日本" * 6000)[: 32_766 // 3]


def test_long_japanese_labels_go_whole_to_the_label_records(tmp_path):
    label = "体重" * 42  # 252 bytes: longer than the 40 bytes a NAMESTR holds
    variables = [Variable("weight", label, Kind.NUMBER), Variable("h", "身長", Kind.NUMBER)]

    _written, _frame, meta, data = _write(tmp_path, variables, [["1", "2"]])

    assert meta.column_labels == [label, "身長"]
    assert b"LABELV8 HEADER RECORD!!!!!!!1   " in data


def test_32_byte_names_and_names_alike_in_their_first_8_bytes_stay_distinct(tmp_path):
    variables = [
        Variable("v" * 32, "First", Kind.NUMBER),
        Variable("v" * 31 + "w", "Second", Kind.STRING),
        Variable("v" * 40, "Third", Kind.NUMBER),
    ]

    written, frame, meta, _data = _write(tmp_path, variables, [["1", "a", "3"]])

    assert list(frame.columns) == ["v" * 32, "v" * 31 + "w", "v" * 30 + "_2"]
    assert written.renamed == {"v" * 40: "v" * 30 + "_2"}
    assert frame.iloc[0].tolist() == [1.0, "a", 3.0]
    assert meta.column_labels == ["First", "Second", "Third"]


def test_many_rows_across_many_chunks_read_back_in_order(tmp_path):
    variables = [Variable("id", "", Kind.STRING), Variable("n", "", Kind.INTEGER)]
    count = CHUNK * 3 + 17
    rows = [[str(i), str(i * 3) if i % 5 else ""] for i in range(count)]

    written, frame, _meta, data = _write(tmp_path, variables, rows)

    assert written.rows == count
    assert frame.shape == (count, 2)
    assert frame["id"].tolist() == [str(i) for i in range(count)]
    assert frame["n"].iloc[-1] == (count - 1) * 3
    assert math.isnan(frame["n"].iloc[CHUNK * 2])
    assert len(data) % 80 == 0


def test_an_empty_export_has_its_variables_and_no_observations(tmp_path):
    written, frame, meta, data = _write(tmp_path, EVERY_KIND, [])

    assert written.rows == 0
    assert frame.shape == (0, len(EVERY_KIND))
    assert meta.column_names == [v.name for v in EVERY_KIND]
    assert data.endswith(b"OBSV8   HEADER RECORD!!!!!!!              0" + b" " * 17)


def test_trailing_blank_rows_are_counted_not_lost(tmp_path):
    variables = [Variable("a", "", Kind.STRING), Variable("b", "", Kind.STRING)]

    _written, frame, _meta, _data = _write(tmp_path, variables, [["x", "y"], ["", ""], ["", ""]])

    assert frame.to_dict("list") == {"a": ["x", "", ""], "b": ["y", "", ""]}


def test_a_column_whose_values_misfit_its_kind_is_text_whole(tmp_path):
    variables = [
        Variable("d", "", Kind.DATE),
        Variable("c", "", Kind.CHOICE, choices=YES_NO),
        Variable("t", "", Kind.DATETIME),
    ]
    rows = [["2025-01-01", "1", "2025-01-01 10:00"], ["soon", "9", "2025-01-01T10:00+09:00"]]

    written, frame, _meta, _data = _write(tmp_path, variables, rows)

    assert frame.to_dict("list") == {
        "d": ["2025-01-01", "soon"],
        "c": ["1", "9"],
        "t": ["2025-01-01 10:00", "2025-01-01T10:00+09:00"],
    }
    assert written.value_labels == {}


def test_datetimes_keep_their_seconds_and_dates_before_1960(tmp_path):
    variables = [Variable("at", "", Kind.DATETIME), Variable("on", "", Kind.DATE)]
    rows = [["1900-03-01 00:00:01", "1900-03-01"], ["2099-12-31 23:59:59", "2099-12-31"]]

    _written, frame, _meta, data = _write(tmp_path, variables, rows)

    assert frame["at"].tolist() == [
        pandas.Timestamp(1900, 3, 1, 0, 0, 1),
        pandas.Timestamp(2099, 12, 31, 23, 59, 59),
    ]
    assert frame["on"].tolist() == [date(1900, 3, 1), date(2099, 12, 31)]
    observations = data[data.index(b"OBSV8") + 60 :]
    assert _from_ibm(observations[8:16]) == (date(1900, 3, 1) - date(1960, 1, 1)).days


def test_ten_thousand_variables_are_counted_in_the_header_and_read_back(tmp_path):
    variables = [Variable(f"v{n}", "", Kind.NUMBER) for n in range(10_000)]

    _written, frame, _meta, data = _write(tmp_path, variables, [[str(n) for n in range(10_000)]])

    assert frame.shape == (1, 10_000)
    assert frame.iloc[0].tolist()[-2:] == [9998.0, 9999.0]
    assert b"NAMSTV8 HEADER RECORD!!!!!!!" + b"00000" + b"10000" + b"0" * 20 + b"  " in data


def test_more_variables_than_sas_holds_is_refused_before_anything_is_written():
    variables = [Variable(f"v{n}", "", Kind.NUMBER) for n in range(32_768)]
    out = _Pipe()

    with pytest.raises(InvalidInput) as error:
        write_native(_Table(variables, []), out, "sas")

    assert error.value.message == (
        "A SAS transport file holds at most 32767 variables; this export has 32768. "
        "Choose fewer fields or another format."
    )
    assert out.getvalue() == b""
