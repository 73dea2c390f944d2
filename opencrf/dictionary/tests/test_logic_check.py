from __future__ import annotations

import pytest

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import DictionaryInvalid, dictionary_apply, dictionary_problems

pytestmark = pytest.mark.django_db

RECORD_ID = FieldRow("record_id", "f")


def _problems(*rows: FieldRow):
    return [(p.row, p.column, p.rule, p.message) for p in dictionary_problems([RECORD_ID, *rows])]


def test_a_branching_syntax_error_names_the_row_column_and_position():
    assert _problems(FieldRow("age", "f", branching_logic="([record_id] = '1'")) == [
        (
            3,
            "Branching Logic (Show field only if...)",
            "logic_syntax",
            "The logic cannot be read: expected `)` at column 19.",
        )
    ]


def test_a_reference_to_a_missing_field_is_reported_by_name():
    assert _problems(
        FieldRow("a", "f", branching_logic="[ghost] = '1' or [record_id] = [phantom]")
    ) == [
        (
            3,
            "Branching Logic (Show field only if...)",
            "logic_syntax",
            "The logic refers to fields that do not exist: ghost, phantom.",
        )
    ]


def test_calctext_and_calcdate_expressions_are_checked():
    rows = [
        FieldRow("t", "f", field_annotation="@CALCTEXT(if([record_id] = '', 'none', 'some'))"),
        FieldRow("u", "f", field_annotation="@HIDDEN @CALCTEXT(concat([record_id], )"),
    ]
    problems = _problems(*rows)
    assert [(row, column, rule) for row, column, rule, _message in problems] == [
        (4, "Field Annotation", "logic_syntax")
    ]


def test_a_dictionary_with_bad_logic_is_refused_and_nothing_changes(paula_context, classic_project):
    rows = [RECORD_ID, FieldRow("a", "f", branching_logic="eval('x')")]
    with pytest.raises(DictionaryInvalid):
        dictionary_apply(context=paula_context, project=classic_project, rows=rows, source="upload")
    assert not classic_project.fields.exists()


def test_a_calculation_syntax_error_is_reported_in_the_choices_column():
    rows = [FieldRow("bmi", "f", field_type="calc", select_choices_or_calculations="[record_id] /")]
    assert [(row, column, rule) for row, column, rule, _m in _problems(*rows)] == [
        (3, "Choices, Calculations, OR Slider Labels", "logic_syntax")
    ]
