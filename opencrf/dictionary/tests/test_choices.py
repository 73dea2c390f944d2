import pytest

from opencrf.dictionary.choices import (
    Choice,
    checkbox_column,
    format_choices,
    parse_choices,
    parse_slider_labels,
)


def test_choices_split_on_pipes_then_on_the_first_comma_and_are_trimmed():
    assert parse_choices(" 0, Female |1,Male|  2 , Other, or not said ") == [
        Choice("0", "Female"),
        Choice("1", "Male"),
        Choice("2", "Other, or not said"),
    ]


def test_legacy_options_without_comma_use_the_text_as_code_and_label():
    assert parse_choices("Mr. | Mrs. | Dr.") == [
        Choice("Mr.", "Mr."),
        Choice("Mrs.", "Mrs."),
        Choice("Dr.", "Dr."),
    ]


def test_empty_options_are_skipped():
    assert parse_choices("1, A | | 2, B |") == [Choice("1", "A"), Choice("2", "B")]


def test_empty_text_has_no_choices():
    assert parse_choices("") == []
    assert parse_choices("  ") == []


def test_codes_keep_their_case_and_sign():
    assert [c.code for c in parse_choices("-1, Unknown | Ab, Mixed | 12ab, x")] == [
        "-1",
        "Ab",
        "12ab",
    ]


def test_format_choices_writes_what_redcap_exports():
    assert format_choices([Choice("0", "No"), Choice("1", "Yes, sure")]) == "0, No | 1, Yes, sure"


def test_formatted_choices_parse_back_to_the_same_choices():
    choices = parse_choices("1, 男性 / Male | 2, 女性 / Female")
    assert parse_choices(format_choices(choices)) == choices


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("", ("", "", "")),
        ("Low", ("Low", "", "")),
        ("Low | High", ("Low", "", "High")),
        ("Very sad | Indifferent | Very happy", ("Very sad", "Indifferent", "Very happy")),
        ("-1 | 50 | 101", ("-1", "50", "101")),
        ("a | b | c | d", ("a", "b", "c")),
    ],
)
def test_slider_labels_are_left_middle_right(text, labels):
    assert parse_slider_labels(text) == labels


@pytest.mark.parametrize(
    ("field", "code", "column"),
    [
        ("race", "1", "race___1"),
        ("med_history", "CKD", "med_history___ckd"),
        ("race", "-99", "race____99"),
        ("dose", "1.5", "dose___1_5"),
        ("tag", "use_underscore", "tag___use_underscore"),
    ],
)
def test_checkbox_column_lower_cases_the_code_and_replaces_other_characters(field, code, column):
    assert checkbox_column(field, code) == column
