"""Choice labels in a label export: the first choice whose code matches, letter case aside."""

from __future__ import annotations

from opencrf.dictionary.columns import FieldRow
from opencrf.records.export import _choice_label


def radio(choices: str) -> FieldRow:
    return FieldRow(
        field_name="fruit",
        form_name="f",
        field_type="radio",
        select_choices_or_calculations=choices,
    )


def test_a_code_gets_the_label_of_the_first_choice_with_that_code_letter_case_aside():
    row = radio("a, Apple | A, Big apple | 2, Pear")

    assert _choice_label(row, "a") == "Apple"
    assert _choice_label(row, "A") == "Apple"
    assert _choice_label(row, "2") == "Pear"


def test_a_code_no_choice_has_is_written_as_it_is():
    assert _choice_label(radio("1, Yes | 0, No"), "7") == "7"
    assert _choice_label(radio("1, Yes | 0, No"), "") == ""


def test_the_same_choices_text_of_two_fields_gives_each_its_own_labels():
    assert _choice_label(radio("1, 男性 | 2, 女性"), "2") == "女性"
    assert _choice_label(radio("1, Male | 2, Female"), "2") == "Female"
