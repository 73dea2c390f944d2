"""The streaming SPSS writer, read back with pyreadstat: every kind, long and Japanese text,
long names, many rows, none, and an output that cannot seek."""

from __future__ import annotations

import io
import struct
from datetime import date, datetime
from types import SimpleNamespace

import pandas
import pyreadstat
import pytest

from opencrf.dictionary.choices import Choice
from opencrf.exports.table import Kind, Variable
from opencrf.exports.writers.scan import CHUNK
from opencrf.exports.writers.stats import write_native

YES_NO = (Choice("1", "はい / Yes"), Choice("0", "いいえ / No"))
CHECKBOX = (Choice("0", "Unchecked"), Choice("1", "Checked"))


class _Table:
    def __init__(self, variables, rows, title="試験 / Trial"):
        self.variables = variables
        self._rows = rows
        self.project = SimpleNamespace(title=title)

    def rows(self):
        return iter([list(row) for row in self._rows])


class _Pipe(io.BytesIO):
    """An output that can only be written forward, like a pipe."""

    def seekable(self):
        return False

    def seek(self, *args):
        raise io.UnsupportedOperation("seek")

    def tell(self):
        raise io.UnsupportedOperation("tell")


def _write(tmp_path, variables, rows, **table):
    out = _Pipe()
    written = write_native(_Table(variables, rows, **table), out, "spss")
    path = tmp_path / "d.sav"
    path.write_bytes(out.getvalue())
    frame, meta = pyreadstat.read_sav(str(path))
    return written, frame, meta, path


EVERY_KIND = [
    Variable("record_id", "ID", Kind.STRING),
    Variable("weight", "体重 / Weight", Kind.NUMBER),
    Variable("visits", "Visits", Kind.INTEGER),
    Variable("smoker", "喫煙 / Smoker", Kind.CHOICE, choices=YES_NO),
    Variable("fruit", "Fruit", Kind.CHOICE, choices=(Choice("a", "Apple"), Choice("b", "Pear"))),
    Variable("incl___1", "Incl (choice=1)", Kind.CHOICE, choices=CHECKBOX),
    Variable("incl___2", "Incl (choice=2)", Kind.CHOICE, choices=CHECKBOX),
    Variable("visit_date", "Visit date", Kind.DATE),
    Variable("seen_at", "Seen at", Kind.DATETIME),
    Variable("seen_time", "Time", Kind.TIME),
    Variable("notes", "", Kind.STRING),
]
EVERY_ROW = [
    ["1", "61.25", "3", "1", "b", "1", "0", "2025-05-11", "2025-05-11 10:30", "10:30", "良好"],
    ["2", "", "", "", "", "", "", "", "", "", ""],
    ["3", "-0.5", "12", "0", "a", "0", "1", "1960-01-01", "1999-12-31 23:59:59", "", "x"],
]


def test_every_kind_reads_back_with_its_type_format_labels_and_measure(tmp_path):
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
    assert [name for name, value in empty.items() if not _missing(value)] == ["record_id"]
    assert (empty["seen_time"], empty["notes"]) == ("", "")
    assert (third["weight"], third["visit_date"]) == (-0.5, date(1960, 1, 1))
    assert third["seen_at"] == datetime.fromisoformat("1999-12-31 23:59:59")
    assert meta.column_names_to_labels["weight"] == "体重 / Weight"
    assert meta.column_names_to_labels["notes"] is None
    assert meta.variable_value_labels == {
        "smoker": {1: "はい / Yes", 0: "いいえ / No"},
        "fruit": {1: "Apple", 2: "Pear"},
        "incl___1": {0: "Unchecked", 1: "Checked"},
        "incl___2": {0: "Unchecked", 1: "Checked"},
    }
    # One set of labels for both checkbox options, written once.
    assert meta.variable_to_label["incl___1"] == meta.variable_to_label["incl___2"]
    assert len(meta.value_labels) == 3
    assert meta.original_variable_types == {
        "record_id": "A1",
        "weight": "F8.2",
        "visits": "F8.0",
        "smoker": "F8.0",
        "fruit": "F8.0",
        "incl___1": "F8.0",
        "incl___2": "F8.0",
        "visit_date": "DATE11",
        "seen_at": "DATETIME20",
        "seen_time": "A5",
        "notes": "A6",  # two Japanese characters: six bytes
    }
    assert meta.variable_measure["smoker"] == "nominal"
    assert meta.variable_measure["weight"] == "scale"
    assert meta.variable_measure["visit_date"] == "scale"
    assert meta.variable_measure["notes"] == "nominal"
    assert meta.file_encoding == "UTF-8"
    assert meta.file_label == "試験 / Trial"


def _missing(value):
    return value == "" or bool(pandas.isna(value))


def test_the_metadata_alone_says_the_number_of_cases(tmp_path):
    _written, _frame, _meta, path = _write(tmp_path, EVERY_KIND, EVERY_ROW)

    _empty, meta = pyreadstat.read_sav(str(path), metadataonly=True)

    assert meta.number_rows == 3
    assert meta.number_columns == len(EVERY_KIND)
    assert struct.unpack_from("<i", path.read_bytes(), 80) == (3,)  # the header's case count


@pytest.mark.parametrize(
    "value",
    [
        "a" * 256,  # just over a short string: two segments
        "x" * 600,
        "é" * 300,  # two-byte characters cut across every 255-byte segment
        "a" + "長" * 1000,  # three-byte characters cut across segments too
        "長" * 10_922,  # 32,766 bytes: the longest whole Japanese value
        "ab" * 9_000,
    ],
)
def test_long_strings_read_back_whole(tmp_path, value):
    variables = [Variable("text", "Text", Kind.STRING), Variable("after", "After", Kind.NUMBER)]

    _written, frame, meta, _path = _write(tmp_path, variables, [[value, "1"], ["", "2"], ["b", ""]])

    assert list(frame["text"]) == [value, "", "b"]
    assert list(frame["after"])[:2] == [1.0, 2.0]
    assert meta.original_variable_types["text"] == f"A{len(value.encode())}"


def test_strings_over_32767_bytes_are_cut_between_characters(tmp_path):
    value = "a" + "長" * 20_000  # 60,001 bytes

    _written, frame, meta, _path = _write(tmp_path, [Variable("t", "T", Kind.STRING)], [[value]])

    assert frame["t"][0] == "a" + "長" * 10_922  # 32,767 bytes
    assert meta.original_variable_types["t"] == "A32767"


def test_64_byte_names_and_names_alike_in_their_first_8_bytes_stay_distinct(tmp_path):
    long = "v" * 70
    variables = [
        Variable(long + "_a", "A", Kind.STRING),
        Variable(long + "_b", "B", Kind.NUMBER),
        Variable("visit_date_one", "C", Kind.STRING),
        Variable("visit_date_two", "D", Kind.STRING),
        Variable("by", "Reserved word", Kind.STRING),
    ]

    written, frame, _meta, _path = _write(tmp_path, variables, [["x" * 300, "1", "c", "d", "e"]])

    assert list(frame.columns) == [
        "v" * 64,
        "v" * 62 + "_2",
        "visit_date_one",
        "visit_date_two",
        "by",
    ]
    assert written.renamed == {long + "_a": "v" * 64, long + "_b": "v" * 62 + "_2"}
    assert frame.iloc[0].tolist() == ["x" * 300, 1.0, "c", "d", "e"]


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


def test_cases_are_bytecode_compressed(tmp_path):
    variables = [
        Variable("n", "N", Kind.INTEGER),
        Variable("c", "C", Kind.CHOICE, choices=CHECKBOX),
        Variable("s", "S", Kind.STRING),
    ]

    def size(count):
        rows = [
            [str(n % 200 - 99), "" if n % 3 else "1", "ab" if n % 2 else ""] for n in range(count)
        ]
        _written, frame, _meta, path = _write(tmp_path, variables, rows)
        assert frame.iloc[:, 0].tolist() == [float(n % 200 - 99) for n in range(count)]
        assert frame["s"].tolist() == ["ab" if n % 2 else "" for n in range(count)]
        return len(path.read_bytes())

    small, large = size(CHUNK), size(CHUNK + 1000)

    # Small whole numbers, missing values and blank strings are codes only: one 8-byte block
    # a case; the 500 cases with "ab" add its 8 bytes.
    assert large - small == 1000 * 8 + 500 * 8
    assert struct.unpack_from("<i", (tmp_path / "d.sav").read_bytes(), 72) == (1,)


def test_an_empty_export_has_its_variables_and_no_cases(tmp_path):
    written, frame, meta, _path = _write(tmp_path, EVERY_KIND, [])

    assert written.rows == 0
    assert frame.shape == (0, len(EVERY_KIND))
    assert meta.column_names_to_labels["smoker"] == "喫煙 / Smoker"
    assert meta.variable_value_labels["smoker"] == {1: "はい / Yes", 0: "いいえ / No"}


def test_a_column_whose_values_misfit_its_kind_is_text_whole(tmp_path):
    variables = [
        Variable("weight", "W", Kind.NUMBER),
        Variable("smoker", "S", Kind.CHOICE, choices=YES_NO),
        Variable("day", "D", Kind.DATE),
    ]
    rows = [["61.5", "1", "2025-01-02"]] * (CHUNK + 3) + [["n/a", "9", "2025-02-30"]]

    written, frame, meta, _path = _write(tmp_path, variables, rows)

    assert frame.iloc[-1].tolist() == ["n/a", "9", "2025-02-30"]
    assert frame.iloc[0].tolist() == ["61.5", "1", "2025-01-02"]
    assert written.value_labels == {}
    assert meta.variable_value_labels == {}
    assert meta.original_variable_types == {"weight": "A4", "smoker": "A1", "day": "A10"}


def test_choice_codes_beyond_a_byte_and_numbers_of_every_size_are_kept_exactly(tmp_path):
    unknown = (Choice("-1", "不明 / Unknown"), Choice("999", "Not asked"), Choice("1", "Yes"))
    variables = [
        Variable("answer", "A", Kind.CHOICE, choices=unknown),
        Variable("x", "X", Kind.NUMBER),
    ]
    numbers = ["151", "152", "-99", "-100", "0.5", "1e300", "-0", "", "123456789012"]
    rows = [[("999", "-1", "1", "")[n % 4], number] for n, number in enumerate(numbers)]

    _written, frame, meta, _path = _write(tmp_path, variables, rows)

    assert frame["answer"].fillna(-7).tolist() == [999, -1, 1, -7, 999, -1, 1, -7, 999]
    assert frame["x"].fillna(-7).tolist() == [float(n) if n else -7 for n in numbers]
    assert meta.original_variable_types["x"] == "E11.4"  # 1e300 would not fit an F format
    assert meta.variable_value_labels["answer"] == {
        -1: "不明 / Unknown",
        999: "Not asked",
        1: "Yes",
    }
