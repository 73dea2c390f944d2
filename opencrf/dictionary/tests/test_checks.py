from collections import Counter
from pathlib import Path

import pytest

from conftest import FIXTURES
from opencrf.dictionary.checks import check_dictionary
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.csvio import read_dictionary_csv
from opencrf.dictionary.problems import Problem

RECORD_ID = FieldRow(field_name="record_id", form_name="demographics", field_label="Record ID")


def field(name: str, field_type: str = "text", form: str = "demographics", **values: str):
    return FieldRow(field_name=name, form_name=form, field_type=field_type, **values)


def radio(name: str, choices: str = "0, No | 1, Yes", **values: str) -> FieldRow:
    return field(name, "radio", select_choices_or_calculations=choices, **values)


def checkbox(name: str, choices: str, **values: str) -> FieldRow:
    return field(name, "checkbox", select_choices_or_calculations=choices, **values)


def found(*rows: FieldRow, **options) -> list[tuple[int | None, str, str, str]]:
    """(row, column, value, rule) of each problem of a dictionary starting with RECORD_ID."""
    problems = check_dictionary([RECORD_ID, *rows], **options)
    return [(p.row, p.column, p.value, p.rule) for p in problems]


def rules(*rows: FieldRow, **options) -> list[str]:
    return [problem[3] for problem in found(*rows, **options)]


# --- A sound dictionary ------------------------------------------------------------------------


def test_a_sound_dictionary_has_no_problems():
    rows = [
        field("dob", text_validation_type_or_show_slider_number="date_ymd"),
        radio("sex", branching_logic="[dob] <> ''", required_field="y", custom_alignment="LH"),
        checkbox("race", "1, Asian | 2, White | -99, Unknown | a.b, Dotted"),
        field("bmi", "calc", select_choices_or_calculations="[weight] / ([height] ^ 2)"),
        field("mood", "slider", select_choices_or_calculations="Sad | Happy"),
        field("photo", "file", text_validation_type_or_show_slider_number="signature"),
        field("site", "dropdown", select_choices_or_calculations="Mr. | Mrs."),
        field("intro", "descriptive", form="visit", field_label="<b>Welcome</b>"),
    ]
    assert found(*rows) == []


def test_an_empty_dictionary_is_one_problem():
    assert check_dictionary([]) == [
        Problem(
            row=None,
            column="",
            value="",
            rule="empty_dictionary",
            message="The data dictionary has no fields; it needs at least the record ID field.",
        )
    ]


def test_problems_are_ordered_by_row_then_column():
    rows = [
        field("Bad", form="Bad Form", identifier="yes"),
        field("x y", "colour", form="Bad Form"),
    ]
    assert found(*rows) == [
        (3, "Variable / Field Name", "Bad", "field_name_invalid"),
        (3, "Form Name", "Bad Form", "form_name_invalid"),
        (3, "Identifier?", "yes", "flag_invalid"),
        (4, "Variable / Field Name", "x y", "field_name_invalid"),
        (4, "Form Name", "Bad Form", "form_name_invalid"),
        (4, "Field Type", "colour", "field_type_unknown"),
    ]


def test_given_row_numbers_are_used_in_problems():
    problems = check_dictionary([RECORD_ID, field("Age")], row_numbers=[3, 7])
    assert [p.row for p in problems] == [7]


def test_row_numbers_must_match_the_rows():
    with pytest.raises(ValueError, match="one number per row"):
        check_dictionary([RECORD_ID], row_numbers=[2, 3])


# --- Names -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Age", "1st_visit", "_age", "age-years", "age years", "../etc"])
def test_bad_field_names_are_reported(name):
    assert found(field(name)) == [(3, "Variable / Field Name", name, "field_name_invalid")]


def test_field_name_message_explains_the_pattern():
    [problem] = check_dictionary([RECORD_ID, field("../passwd")])
    assert problem.message == (
        "Field name “../passwd” must start with a lower-case letter and hold only lower-case "
        "letters (a–z), digits and underscores."
    )


def test_non_ascii_letters_are_not_allowed_in_names():
    assert rules(field("年齢")) == ["field_name_invalid"]


def test_field_names_of_100_characters_pass_and_of_101_fail():
    assert rules(field("a" * 100)) == []
    assert rules(field("a" * 101)) == ["field_name_too_long"]


def test_a_field_without_a_name_is_reported():
    assert found(field("")) == [(3, "Variable / Field Name", "", "field_name_missing")]


def test_duplicate_field_names_are_reported_with_both_rows():
    problems = check_dictionary([RECORD_ID, field("age"), field("weight"), field("age")])
    assert problems == [
        Problem(
            row=5,
            column="Variable / Field Name",
            value="age",
            rule="field_name_duplicate",
            message="Field name “age” is already used in row 3.",
        )
    ]


@pytest.mark.parametrize(
    "name",
    [
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
        "redcap_survey_identifier",
        "demographics_complete",
        "visit_timestamp",
    ],
)
def test_reserved_names_are_reported(name):
    rows = [field("visit_date", form="visit"), field(name, form="visit")]
    assert found(*rows) == [(4, "Variable / Field Name", name, "field_name_reserved")]


def test_complete_and_timestamp_names_of_absent_forms_are_free():
    assert rules(field("study_complete"), field("survey_timestamp")) == []


def test_a_name_equal_to_a_checkbox_export_column_is_reported():
    problems = check_dictionary([RECORD_ID, checkbox("race", "1, A | X, B"), field("race___x")])
    assert [(p.row, p.value, p.rule, p.message) for p in problems] == [
        (
            4,
            "race___x",
            "field_name_checkbox_clash",
            "“race___x” is also the export column of an option of checkbox field “race”.",
        )
    ]


@pytest.mark.parametrize(
    ("form", "rule"),
    [
        ("", "form_name_missing"),
        ("Demographics", "form_name_invalid"),
        ("my form", "form_name_invalid"),
        ("f" * 65, "form_name_too_long"),
    ],
)
def test_bad_form_names_are_reported(form, rule):
    assert found(field("age", form=form)) == [(3, "Form Name", form, rule)]


def test_form_names_of_64_characters_pass():
    assert found(field("age", form="f" * 64)) == []


def test_a_form_that_returns_after_another_form_is_reported_where_it_returns():
    rows = [field("a", form="visit"), field("b"), field("c")]
    problems = check_dictionary([RECORD_ID, *rows])
    assert [(p.row, p.column, p.value, p.rule, p.message) for p in problems] == [
        (
            4,
            "Form Name",
            "demographics",
            "form_not_contiguous",
            "Form “demographics” appears again after other forms; the fields of a form must be "
            "in consecutive rows.",
        )
    ]


# --- Field types -------------------------------------------------------------------------------


def test_the_first_field_must_be_text():
    problems = check_dictionary([radio("record_id"), field("age")])
    assert [(p.row, p.column, p.rule, p.message) for p in problems] == [
        (
            2,
            "Field Type",
            "record_id_not_text",
            "The first field, “record_id”, holds the record ID and must be of type text, "
            "not radio.",
        )
    ]


def test_unknown_field_types_are_reported_with_the_known_ones():
    [problem] = check_dictionary([RECORD_ID, field("age", "number")])
    assert (problem.rule, problem.message) == (
        "field_type_unknown",
        "“number” is not a field type. Use one of: calc, checkbox, descriptive, dropdown, file, "
        "notes, radio, slider, sql, text, truefalse, yesno.",
    )


def test_field_types_are_case_sensitive():
    assert rules(field("age", "Text")) == ["field_type_unknown"]


def test_sql_fields_need_an_administrator():
    sql = field("pick", "sql", select_choices_or_calculations="SELECT 1")
    [problem] = check_dictionary([RECORD_ID, sql])
    assert (problem.row, problem.column, problem.rule, problem.message) == (
        3,
        "Field Type",
        "sql_not_allowed",
        "SQL fields run database queries; they can be used only after the server's "
        "administrator allows them (setting OPENCRF_ALLOW_SQL_FIELDS).",
    )
    assert check_dictionary([RECORD_ID, sql], allow_sql=True) == []


# --- Choices -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field_type", ["dropdown", "radio", "checkbox"])
def test_choice_fields_need_choices(field_type):
    [problem] = check_dictionary([RECORD_ID, field("q", field_type)])
    assert (problem.column, problem.rule, problem.message) == (
        "Choices, Calculations, OR Slider Labels",
        "choices_missing",
        f"A {field_type} field needs choices, written as “1, Yes | 0, No”.",
    )


def test_a_choice_string_of_only_pipes_has_no_choices():
    assert rules(radio("q", " | | ")) == ["choices_missing"]


@pytest.mark.parametrize("option", ["1,", ", Yes", " , "])
def test_choices_with_a_comma_need_both_code_and_label(option):
    assert found(radio("q", f"0, No | {option}")) == [
        (3, "Choices, Calculations, OR Slider Labels", option.strip(), "choices_malformed")
    ]


def test_legacy_choices_without_comma_are_accepted():
    assert (
        rules(field("title", "dropdown", select_choices_or_calculations="Mr. | Mrs. | Dr.")) == []
    )


def test_duplicate_choice_codes_are_reported():
    problems = check_dictionary([RECORD_ID, radio("q", "1, A | 2, B | 1, C")])
    assert [(p.value, p.rule, p.message) for p in problems] == [
        ("1", "choice_code_duplicate", "Choice code “1” is used more than once.")
    ]


def test_choice_codes_that_differ_in_case_are_distinct_for_radios():
    assert rules(radio("q", "a, Lower | A, Upper")) == []


@pytest.mark.parametrize("code", ["a b", "1/2", "x+y", "é"])
def test_checkbox_codes_with_characters_unfit_for_a_column_name_are_reported(code):
    assert found(checkbox("q", f"1, A | {code}, B")) == [
        (3, "Choices, Calculations, OR Slider Labels", code, "checkbox_code_invalid")
    ]


def test_checkbox_codes_that_export_to_the_same_column_are_reported():
    problems = check_dictionary([RECORD_ID, checkbox("q", "a, Lower | A, Upper | 1.5, x | 1_5, y")])
    assert [(p.value, p.rule, p.message) for p in problems] == [
        (
            "A",
            "checkbox_code_clash",
            "Checkbox codes “A” and “a” would both be exported as column “q___a”.",
        ),
        (
            "1_5",
            "checkbox_code_clash",
            "Checkbox codes “1_5” and “1.5” would both be exported as column “q___1_5”.",
        ),
    ]


@pytest.mark.parametrize(
    "field_type", ["text", "notes", "yesno", "truefalse", "file", "descriptive"]
)
def test_types_without_choices_refuse_them(field_type):
    row = field("q", field_type, select_choices_or_calculations="1, A")
    [problem] = check_dictionary([RECORD_ID, row])
    assert (problem.rule, problem.message) == (
        "choices_not_allowed",
        f"A {field_type} field takes no choices or calculation.",
    )


def test_calc_fields_need_a_formula():
    assert found(field("bmi", "calc")) == [
        (3, "Choices, Calculations, OR Slider Labels", "", "calc_formula_missing")
    ]


def test_sliders_take_at_most_three_labels():
    assert rules(field("s", "slider", select_choices_or_calculations="a | b | c")) == []
    assert rules(field("s", "slider", select_choices_or_calculations="a | b | c | d")) == [
        "slider_labels_invalid"
    ]


# --- Logic -------------------------------------------------------------------------------------


def test_logic_checker_sees_branching_logic_and_formulas_and_its_errors_are_reported():
    seen: list[str] = []

    def logic_checker(logic: str) -> str | None:
        seen.append(logic)
        return "Unclosed bracket at position 1." if logic.startswith("[[") else None

    rows = [
        field("age", branching_logic="[[dob] <> ''"),
        field("bmi", "calc", select_choices_or_calculations="[w] / [h]", branching_logic=" "),
    ]
    problems = check_dictionary([RECORD_ID, *rows], logic_checker=logic_checker)
    assert seen == ["[[dob] <> ''", "[w] / [h]"]
    assert problems == [
        Problem(
            row=3,
            column="Branching Logic (Show field only if...)",
            value="[[dob] <> ''",
            rule="logic_syntax",
            message="Unclosed bracket at position 1.",
        )
    ]


def test_calc_formula_errors_are_reported_in_the_choices_column():
    row = field("bmi", "calc", select_choices_or_calculations="1 +")
    assert found(row, logic_checker=lambda logic: "Incomplete.") == [
        (3, "Choices, Calculations, OR Slider Labels", "1 +", "logic_syntax")
    ]


def test_without_logic_checker_logic_is_not_judged():
    assert rules(field("age", branching_logic="((((")) == []


# --- Validation --------------------------------------------------------------------------------


def test_unknown_validation_types_are_reported():
    [problem] = check_dictionary(
        [RECORD_ID, field("age", text_validation_type_or_show_slider_number="shoe_size")]
    )
    assert (problem.column, problem.value, problem.rule, problem.message) == (
        "Text Validation Type OR Show Slider Number",
        "shoe_size",
        "validation_unknown",
        "“shoe_size” is not a validation type.",
    )


@pytest.mark.parametrize("name", ["int", "float", "date", "datetime", "datetime_seconds"])
def test_legacy_validation_names_are_accepted(name):
    assert rules(field("x", text_validation_type_or_show_slider_number=name)) == []


@pytest.mark.parametrize(
    ("field_type", "validation"),
    [
        ("notes", "integer"),
        ("radio", "integer"),
        ("calc", "number"),
        ("text", "signature"),
        ("text", "autocomplete"),
        ("file", "date_ymd"),
        ("dropdown", "signature"),
        ("slider", "integer"),
    ],
)
def test_validation_on_a_type_that_cannot_take_it_is_reported(field_type, validation):
    row = field(
        "q",
        field_type,
        select_choices_or_calculations="1 + 1" if field_type == "calc" else "1, A",
        text_validation_type_or_show_slider_number=validation,
    )
    if field_type in ("notes", "file", "text"):
        row = row.replace(select_choices_or_calculations="")
    [problem] = check_dictionary([RECORD_ID, row])
    assert (problem.rule, problem.message) == (
        "validation_not_allowed",
        f"A {field_type} field cannot take validation “{validation}”.",
    )


@pytest.mark.parametrize(
    ("field_type", "validation", "choices"),
    [
        ("dropdown", "autocomplete", "1, A"),
        ("file", "signature", ""),
        ("slider", "number", ""),
    ],
)
def test_validation_on_the_type_that_owns_it_is_accepted(field_type, validation, choices):
    row = field(
        "q",
        field_type,
        select_choices_or_calculations=choices,
        text_validation_type_or_show_slider_number=validation,
    )
    assert rules(row) == []


def ranged(validation: str, low: str, high: str) -> FieldRow:
    return field(
        "q",
        text_validation_type_or_show_slider_number=validation,
        text_validation_min=low,
        text_validation_max=high,
    )


@pytest.mark.parametrize(
    ("validation", "low", "high"),
    [
        ("integer", "0", "120"),
        ("number", "-1.5", "2e3"),
        ("number_1dp", "1", "100"),
        ("number_2dp_comma_decimal", "0,5", "3"),
        ("date_mdy", "1900-01-01", "today"),
        ("datetime_dmy", "now", "2030-12-31 23:59"),
        ("time", "08:00", "17:30"),
        ("integer", "", "10"),
    ],
)
def test_min_and_max_in_the_storage_format_are_accepted(validation, low, high):
    assert rules(ranged(validation, low, high)) == []


@pytest.mark.parametrize(
    ("validation", "low", "high", "bound", "value"),
    [
        ("integer", "1.5", "10", "min", "1.5"),
        ("integer", "0", "130.0", "max", "130.0"),
        ("date_mdy", "01-31-2020", "", "min", "01-31-2020"),
        ("date_ymd", "", "2023-02-29", "max", "2023-02-29"),
        ("number", "1,5", "", "min", "1,5"),
        ("time", "today", "", "min", "today"),
    ],
)
def test_min_and_max_not_in_the_storage_format_are_reported(validation, low, high, bound, value):
    column = f"Text Validation {bound.capitalize()}"
    assert found(ranged(validation, low, high)) == [
        (3, column, value, f"validation_{bound}_invalid")
    ]


def test_invalid_bound_message_names_the_format():
    [problem] = check_dictionary([RECORD_ID, ranged("date_dmy", "31/01/2020", "")])
    assert problem.message == "The minimum must be a date_dmy value, written as YYYY-MM-DD."


@pytest.mark.parametrize(
    ("validation", "low", "high"),
    [
        ("integer", "10", "9"),
        ("number", "100", "20.5"),
        ("date_ymd", "2024-02-01", "2024-01-31"),
        ("time_mm_ss", "10:00", "09:59"),
    ],
)
def test_min_above_max_is_reported(validation, low, high):
    assert found(ranged(validation, low, high)) == [
        (3, "Text Validation Min", low, "validation_min_above_max")
    ]


def test_min_and_max_need_an_ordered_validation():
    assert found(ranged("", "1", "")) == [(3, "Text Validation Min", "1", "range_not_allowed")]
    assert found(ranged("email", "", "z")) == [(3, "Text Validation Max", "z", "range_not_allowed")]


def test_range_of_an_unknown_validation_is_not_judged_again():
    assert rules(ranged("shoe_size", "x", "y")) == ["validation_unknown"]


def slider(low: str, high: str) -> FieldRow:
    return field("s", "slider", text_validation_min=low, text_validation_max=high)


def test_slider_min_and_max_are_whole_numbers():
    assert rules(slider("-1", "101")) == []
    assert found(slider("0.5", "ten")) == [
        (3, "Text Validation Min", "0.5", "validation_min_invalid"),
        (3, "Text Validation Max", "ten", "validation_max_invalid"),
    ]


def test_slider_min_above_max_is_reported():
    assert rules(slider("100", "0")) == ["validation_min_above_max"]


# --- Flags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "header"),
    [
        ("identifier", "Identifier?"),
        ("required_field", "Required Field?"),
        ("matrix_ranking", "Matrix Ranking?"),
    ],
)
@pytest.mark.parametrize("value", ["Y", "yes", "1", "n"])
def test_yes_flags_take_only_y_or_nothing(column, header, value):
    assert found(field("q", **{column: value})) == [(3, header, value, "flag_invalid")]
    assert rules(field("q", **{column: "y"})) == []


@pytest.mark.parametrize("alignment", ["LV", "LH", "RV", "RH", ""])
def test_known_alignments_are_accepted(alignment):
    assert rules(radio("q", custom_alignment=alignment)) == []


@pytest.mark.parametrize("alignment", ["lh", "left", "CV"])
def test_unknown_alignments_are_reported(alignment):
    assert found(radio("q", custom_alignment=alignment)) == [
        (3, "Custom Alignment", alignment, "alignment_invalid")
    ]


# --- Matrix groups -----------------------------------------------------------------------------


def test_a_matrix_of_radios_with_the_same_choices_is_sound():
    rows = [radio(f"m{n}", matrix_group_name="mood", matrix_ranking="y") for n in range(3)]
    assert rules(*rows) == []


def test_matrix_choices_are_compared_after_trimming():
    rows = [
        radio("a", "0, No | 1, Yes", matrix_group_name="g"),
        radio("b", "0,No|1,Yes", matrix_group_name="g"),
    ]
    assert rules(*rows) == []


def test_matrix_rows_with_other_choices_are_reported():
    rows = [
        radio("a", matrix_group_name="g"),
        radio("b", "0, No | 2, Maybe", matrix_group_name="g"),
    ]
    [problem] = check_dictionary([RECORD_ID, *rows])
    assert (problem.row, problem.rule, problem.message) == (
        4,
        "matrix_mixed_choices",
        "The fields of matrix group “g” must all have the same choices.",
    )


def test_matrix_rows_of_mixed_types_are_reported():
    rows = [
        radio("a", matrix_group_name="g"),
        checkbox("b", "0, No | 1, Yes", matrix_group_name="g"),
    ]
    assert found(*rows) == [(4, "Field Type", "checkbox", "matrix_mixed_types")]


def test_matrix_rows_must_be_radio_or_checkbox():
    rows = [field("a", "dropdown", select_choices_or_calculations="0, No", matrix_group_name="g")]
    assert found(*rows) == [(3, "Field Type", "dropdown", "matrix_type_invalid")]


def test_matrix_rows_apart_from_each_other_are_reported():
    rows = [radio("a", matrix_group_name="g"), field("gap"), radio("b", matrix_group_name="g")]
    assert found(*rows) == [(5, "Matrix Group Name", "g", "matrix_not_contiguous")]


def test_a_matrix_group_across_two_forms_is_reported():
    rows = [
        radio("a", matrix_group_name="g"),
        radio("b", matrix_group_name="g").replace(form_name="visit"),
    ]
    assert rules(*rows) == ["matrix_not_contiguous"]


# --- Hostile content ---------------------------------------------------------------------------


def test_markup_and_spreadsheet_formulas_in_text_are_data_and_pass():
    rows = [
        field(
            "q1",
            field_label="<script>alert(1)</script>",
            section_header="<img src=x onerror=alert(1)>",
            field_note="=cmd|' /C calc'!A0",
            field_annotation="@HIDDEN <iframe>",
        ),
        radio("q2", '1, <b onmouseover=alert(1)>x</b> | 2, =HYPERLINK("http://evil")'),
        field("q3", "dropdown", select_choices_or_calculations="=cmd|' /C calc'!A0"),
    ]
    assert found(*rows) == []


def test_path_traversal_in_names_fails():
    rows = [field("../../etc/passwd"), field("ok", form="../forms")]
    assert rules(*rows) == ["field_name_invalid", "form_name_invalid"]


# --- Fixtures and scale ------------------------------------------------------------------------

FIXTURE_FILES = sorted(
    [
        *FIXTURES.glob("redcap-projects/*/dictionary.csv"),
        *FIXTURES.glob("redcap-projects/*/dictionay.csv"),
        *FIXTURES.glob("redcap-projects/*/metadata.csv"),
        *FIXTURES.glob("studies/*/dictionary.csv"),
    ]
)
SQL_FIELD = (12, "Field Type", "sql", "sql_not_allowed")
# R's write.csv wrote NA into every blank cell of this copy; REDCap would refuse it too.
SIMPLE_METADATA_RULES = Counter(
    {
        "flag_invalid": 42,
        "alignment_invalid": 16,
        "matrix_type_invalid": 13,
        "choices_not_allowed": 11,
        "validation_unknown": 11,
        "matrix_not_contiguous": 7,
        "matrix_mixed_choices": 5,
        "range_not_allowed": 4,
        "matrix_mixed_types": 3,
        "validation_min_invalid": 1,
        "validation_max_invalid": 1,
    }
)


def fixture_problems(path: Path, **options) -> list[tuple[int | None, str, str, str]]:
    parsed = read_dictionary_csv(path.read_bytes())
    problems = check_dictionary(parsed.rows, row_numbers=parsed.row_numbers, **options)
    return [(p.row, p.column, p.value, p.rule) for p in problems]


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in FIXTURE_FILES
        if fixture_id(p) not in ("validation-types-1/dictionary.csv", "simple/metadata.csv")
    ],
    ids=fixture_id,
)
def test_fixture_dictionary_checks_clean(path):
    assert fixture_problems(path) == []


def test_validation_types_fixture_is_clean_once_sql_is_allowed():
    path = FIXTURES / "redcap-projects" / "validation-types-1" / "dictionary.csv"
    assert fixture_problems(path) == [SQL_FIELD]
    assert fixture_problems(path, allow_sql=True) == []


def test_metadata_written_by_r_with_na_in_blank_cells_is_refused():
    path = FIXTURES / "redcap-projects" / "simple" / "metadata.csv"
    assert Counter(problem[3] for problem in fixture_problems(path)) == SIMPLE_METADATA_RULES


def test_five_thousand_mixed_fields_check_clean():
    # Speed is measured by bench/bench_dictionary.py, never by a timed test.
    kinds = [
        field("t", text_validation_type_or_show_slider_number="number", text_validation_min="0"),
        radio("r", branching_logic="[t] > 1"),
        checkbox("c", "1, A | 2, B | 3, C"),
        field("k", "calc", select_choices_or_calculations="[t] * 2"),
    ]
    rows = [RECORD_ID] + [
        kinds[n % 4].replace(field_name=f"f{n}", form_name=f"form_{n // 500}") for n in range(4999)
    ]
    assert check_dictionary(rows, logic_checker=lambda logic: None) == []
