import csv
import io

import pytest

from opencrf.dictionary.columns import API_COLUMNS, UI_HEADERS, FieldRow
from opencrf.dictionary.csvio import (
    MAX_PROBLEMS,
    iter_dictionary_csv,
    parse_dictionary_csv,
    read_dictionary_csv,
    write_dictionary_csv,
)
from opencrf.dictionary.problems import DictionaryFileError, Problem

RECORD_ID = FieldRow(field_name="record_id", form_name="demographics", field_label="Record ID")
SEX = FieldRow(
    field_name="sex",
    form_name="demographics",
    field_type="radio",
    field_label="Sex",
    select_choices_or_calculations="0, Female | 1, Male",
)


def csv_bytes(rows: list[list[str]], *, line_end: str = "\n") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=line_end).writerows(rows)
    return buffer.getvalue().encode()


def dictionary_bytes(*rows: FieldRow, header: tuple[str, ...] = UI_HEADERS) -> bytes:
    return csv_bytes([list(header), *(list(row.as_tuple()) for row in rows)])


def file_problems(data: bytes, **options: int) -> list[Problem]:
    with pytest.raises(DictionaryFileError) as caught:
        parse_dictionary_csv(data, **options)
    return caught.value.problems


def cells(*values: str) -> list[str]:
    return [*values, *[""] * (18 - len(values))]


# --- Reading ---------------------------------------------------------------------------------


def test_ui_headers_and_api_names_read_the_same_rows():
    assert parse_dictionary_csv(dictionary_bytes(RECORD_ID, SEX)) == [RECORD_ID, SEX]
    assert parse_dictionary_csv(dictionary_bytes(RECORD_ID, SEX, header=API_COLUMNS)) == [
        RECORD_ID,
        SEX,
    ]


def test_byte_order_mark_and_windows_line_ends_are_accepted():
    data = b"\xef\xbb\xbf" + csv_bytes(
        [list(UI_HEADERS), list(RECORD_ID.as_tuple())], line_end="\r\n"
    )
    assert parse_dictionary_csv(data) == [RECORD_ID]


def test_quoted_line_breaks_stay_in_the_cell():
    label = "First line\r\nsecond line\n"
    data = dictionary_bytes(RECORD_ID.replace(field_label=label))
    assert parse_dictionary_csv(data)[0].field_label == label


def test_header_cells_are_compared_without_surrounding_spaces():
    header = tuple(f" {name} " for name in UI_HEADERS)
    assert parse_dictionary_csv(dictionary_bytes(RECORD_ID, header=header)) == [RECORD_ID]


def test_names_and_codes_are_trimmed_but_free_text_keeps_its_spaces():
    data = csv_bytes(
        [
            list(UI_HEADERS),
            cells(" age ", " demo ", " Section ", " text ", " Age ", "", " note ", " integer "),
        ]
    )
    row = parse_dictionary_csv(data)[0]
    assert (row.field_name, row.form_name, row.field_type) == ("age", "demo", "text")
    assert row.text_validation_type_or_show_slider_number == "integer"
    assert (row.section_header, row.field_label, row.field_note) == (" Section ", " Age ", " note ")


def test_names_are_not_lower_cased_or_otherwise_repaired():
    data = csv_bytes([list(UI_HEADERS), cells("Record ID", "Demo Form")])
    assert parse_dictionary_csv(data)[0].field_name == "Record ID"


def test_blank_rows_are_skipped_and_rows_keep_their_spreadsheet_numbers():
    data = csv_bytes(
        [
            list(UI_HEADERS),
            [],
            list(RECORD_ID.as_tuple()),
            [""] * 18,
            [" ", ""],
            list(SEX.as_tuple()),
        ]
    )
    parsed = read_dictionary_csv(data)
    assert parsed.rows == [RECORD_ID, SEX]
    assert parsed.row_numbers == [3, 6]


def test_a_quoted_line_break_does_not_shift_the_row_numbers():
    data = dictionary_bytes(RECORD_ID.replace(field_label="two\nlines"), SEX)
    assert read_dictionary_csv(data).row_numbers == [2, 3]


def test_trailing_empty_cells_are_ignored():
    data = csv_bytes([[*UI_HEADERS, "", ""], [*RECORD_ID.as_tuple(), "", " "]])
    assert parse_dictionary_csv(data) == [RECORD_ID]


def test_short_rows_are_padded_with_blanks():
    data = csv_bytes([list(UI_HEADERS), ["record_id", "demographics", "", "text", "Record ID"]])
    assert parse_dictionary_csv(data) == [RECORD_ID]


def test_header_only_gives_no_fields():
    assert parse_dictionary_csv(csv_bytes([list(UI_HEADERS)])) == []


def test_extra_cells_with_content_are_reported_with_their_row():
    data = csv_bytes(
        [list(UI_HEADERS), list(RECORD_ID.as_tuple()), [*SEX.as_tuple(), "", "surprise"]]
    )
    assert file_problems(data) == [
        Problem(
            row=3,
            column="",
            value="surprise",
            rule="too_many_cells",
            message="Row 3 has 20 cells; a data dictionary has 18 columns.",
        )
    ]


def test_a_wrong_header_cell_is_reported_with_its_position_and_both_names():
    header = list(UI_HEADERS)
    header[3] = "Type"
    header[17] = ""
    problems = file_problems(csv_bytes([header, list(RECORD_ID.as_tuple())]))
    assert problems == [
        Problem(
            row=1,
            column="Field Type",
            value="Type",
            rule="header_mismatch",
            message="Header column 4 should be “Field Type” but is “Type”.",
        ),
        Problem(
            row=1,
            column="Field Annotation",
            value="",
            rule="header_mismatch",
            message="Header column 18 should be “Field Annotation” but is empty.",
        ),
    ]


def test_api_header_with_one_wrong_name_is_compared_with_the_api_names():
    header = list(API_COLUMNS)
    header[0] = "variable"
    problems = file_problems(csv_bytes([header]))
    assert [(p.column, p.message) for p in problems] == [
        (
            "Variable / Field Name",
            "Header column 1 should be “field_name” but is “variable”.",
        )
    ]


def test_api_names_in_another_case_are_refused():
    header = [name.upper() for name in API_COLUMNS]
    assert [p.rule for p in file_problems(csv_bytes([header]))] == ["header_missing"]


def test_a_file_without_header_is_reported_once():
    assert file_problems(csv_bytes([list(RECORD_ID.as_tuple())])) == [
        Problem(
            row=1,
            column="",
            value="record_id, demographics, ",
            rule="header_missing",
            message="The first row must be the header (“Variable / Field Name”, “Form Name”, …) "
            "with the 18 columns of a data dictionary.",
        )
    ]


def test_ten_thousand_columns_give_one_problem():
    header = [*UI_HEADERS, *(f"c{n}" for n in range(10_000))]
    problems = file_problems(csv_bytes([header]))
    assert [(p.row, p.rule, p.value) for p in problems] == [(1, "too_many_cells", "c0")]
    assert problems[0].message == "Row 1 has 10018 cells; a data dictionary has 18 columns."


def test_problems_stop_at_the_limit():
    bad_row = [*RECORD_ID.as_tuple(), "extra"]
    data = csv_bytes([list(UI_HEADERS), *[bad_row] * (MAX_PROBLEMS + 50)])
    assert len(file_problems(data)) == MAX_PROBLEMS


def test_a_file_over_the_size_limit_is_refused_with_both_sizes():
    data = dictionary_bytes(RECORD_ID) + b" " * (2 * 1024 * 1024)
    assert file_problems(data, max_bytes=1024 * 1024) == [
        Problem(
            row=None,
            column="",
            value="",
            rule="file_too_large",
            message="The file is 2 MB; the limit is 1 MB.",
        )
    ]


def test_sizes_are_shown_with_one_decimal_when_needed():
    data = b"x" * (3 * 1024 * 1024 // 2)
    assert file_problems(data, max_bytes=1024 * 1024)[0].message == (
        "The file is 1.5 MB; the limit is 1 MB."
    )


def test_a_nul_byte_marks_a_binary_file_at_its_offset_and_line():
    data = dictionary_bytes(RECORD_ID) + b"PK\x00\x03"
    offset = len(dictionary_bytes(RECORD_ID)) + 2
    assert file_problems(data) == [
        Problem(
            row=None,
            column="",
            value="0x00",
            rule="binary_file",
            message=f"The file holds a NUL byte at byte offset {offset} (line 3), so it is not a "
            "CSV text file; it may be a spreadsheet file such as .xlsx. Save it as “CSV UTF-8” "
            "and upload it again.",
        )
    ]


def test_text_in_another_encoding_is_refused_at_the_first_bad_byte():
    data = csv_bytes([list(UI_HEADERS)]) + "record_id,démo\n".encode("cp1252")
    offset = len(csv_bytes([list(UI_HEADERS)])) + len("record_id,d")
    assert file_problems(data) == [
        Problem(
            row=None,
            column="",
            value="0xE9",
            rule="not_utf8",
            message=f"The file is not UTF-8 text: the byte at offset {offset} (line 2) cannot be "
            "read. Save it as “CSV UTF-8” and upload it again.",
        )
    ]


def test_shift_jis_from_japanese_excel_is_refused():
    data = csv_bytes([list(UI_HEADERS)]) + "study_id,研究\n".encode("cp932")
    assert [p.rule for p in file_problems(data)] == ["not_utf8"]


def test_utf16_is_named_as_such():
    data = "\ufeff" + ",".join(UI_HEADERS)
    assert file_problems(data.encode("utf-16-le")) == [
        Problem(
            row=None,
            column="",
            value="",
            rule="not_utf8",
            message="The file is saved as UTF-16 text. Save it as “CSV UTF-8” and upload it again.",
        )
    ]


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data):
    assert [p.rule for p in file_problems(data)] == ["empty_file"]


def test_an_unclosed_quote_is_reported_at_the_row_where_it_opens():
    data = dictionary_bytes(RECORD_ID) + b'age,demographics,,text,"Age\n'
    problems = file_problems(data)
    assert [(p.row, p.rule, p.value) for p in problems] == [
        (3, "csv_syntax", "unexpected end of data")
    ]


def test_a_cell_beyond_the_csv_field_limit_is_reported_not_raised():
    huge = "x" * (csv.field_size_limit() + 1)
    data = dictionary_bytes(RECORD_ID, SEX.replace(field_label=huge))
    problems = file_problems(data, max_bytes=10 * 1024 * 1024)
    assert [(p.row, p.rule) for p in problems] == [(3, "cell_too_long")]
    assert problems[0].message == (
        f"A cell in row 3 is longer than {csv.field_size_limit()} characters; is a closing quote "
        "missing?"
    )


def test_problem_values_are_cut_to_eighty_characters():
    problem = Problem(row=2, column="", value="v" * 200, rule="r", message="m")
    assert problem.value == "v" * 79 + "…"


def test_five_thousand_fields_parse_whole():
    rows = [RECORD_ID, *(SEX.replace(field_name=f"q{n}") for n in range(4999))]
    data = write_dictionary_csv(rows).encode()
    assert len(parse_dictionary_csv(data)) == 5000


# --- Writing ---------------------------------------------------------------------------------


def test_written_csv_has_ui_headers_newline_ends_and_minimal_quoting():
    text = write_dictionary_csv([RECORD_ID, SEX])
    assert text.splitlines(keepends=True) == [
        "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
        '"Choices, Calculations, OR Slider Labels",Field Note,Text Validation Type OR Show Slider '
        "Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field "
        "only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix "
        "Group Name,Matrix Ranking?,Field Annotation\n",
        "record_id,demographics,,text,Record ID,,,,,,,,,,,,,\n",
        'sex,demographics,,radio,Sex,"0, Female | 1, Male",,,,,,,,,,,,\n',
    ]


def test_api_headers_are_written_on_request():
    assert write_dictionary_csv([], headers="api") == ",".join(API_COLUMNS) + "\n"


def test_quotes_and_line_breaks_are_quoted_and_read_back():
    tricky = RECORD_ID.replace(field_label='Say "hi"\nthen go', field_note="a, b")
    text = write_dictionary_csv([tricky])
    assert 'record_id,demographics,,text,"Say ""hi""\nthen go",,"a, b",' in text
    assert parse_dictionary_csv(text.encode()) == [tricky]


def test_streaming_gives_one_record_per_item_and_the_same_text():
    rows = [RECORD_ID, SEX.replace(field_label="two\nlines")]
    lines = list(iter_dictionary_csv(rows))
    assert len(lines) == 3
    assert "".join(lines) == write_dictionary_csv(rows)
