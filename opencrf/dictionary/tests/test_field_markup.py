"""Blank questions' markup, drawn once per process: always what the field template draws."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.field_markup import (
    FIELD_TEMPLATE,
    blank_field_markup,
    forget_markup,
    pipes_nothing,
)
from opencrf.dictionary.rendering import FieldView, field_view

ATTACK = '<script>alert(1)</script>" onmouseover="x'
ROWS = [
    FieldRow(field_name="name", form_name="visit", field_label=f"Name {ATTACK}",
             required_field="y"),
    FieldRow(
        field_name="age",
        form_name="visit",
        field_label="Age",
        field_note="In years",
        text_validation_type_or_show_slider_number="integer",
        text_validation_min="18",
        text_validation_max="99",
        field_annotation="@PLACEHOLDER='e.g. 40'",
    ),
    FieldRow(field_name="seen", form_name="visit", field_type="text", field_label="Seen on",
             text_validation_type_or_show_slider_number="date_ymd"),
    FieldRow(field_name="sleep", form_name="visit", field_type="radio", field_label="Sleep",
             select_choices_or_calculations=f"1, Never | 2, {ATTACK}", custom_alignment="RH"),
    FieldRow(field_name="health", form_name="visit", field_type="dropdown", field_label="Health",
             select_choices_or_calculations="1, One | 2, Two"),
    FieldRow(field_name="meals", form_name="visit", field_type="checkbox", field_label="Meals",
             select_choices_or_calculations="1, Morning | 2, Evening"),
    FieldRow(field_name="smoker", form_name="visit", field_type="yesno", field_label="Smoker"),
    FieldRow(field_name="notes", form_name="visit", field_type="notes", field_label="Notes",
             field_annotation="@CHARLIMIT=500"),
    FieldRow(field_name="intro", form_name="visit", field_type="descriptive",
             field_label="Line one\nLine two"),
]  # fmt: skip


@pytest.fixture(autouse=True)
def nothing_kept() -> Iterator[None]:
    forget_markup()
    yield
    forget_markup()


def drawn(view: FieldView, invalid: str = "") -> str:
    return render_to_string(FIELD_TEMPLATE, {"field": view, "invalid": invalid})


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("invalid", ["", "error-x"])
@pytest.mark.parametrize("row", ROWS, ids=[row.field_name for row in ROWS])
def test_a_blank_questions_kept_markup_is_what_the_template_draws(
    row: FieldRow, invalid: str, language: str
) -> None:
    with translation.override(language):  # views are made in the page's language
        view = field_view(row)
        first = blank_field_markup(view, invalid=invalid)
        again = blank_field_markup(field_view(row), invalid=invalid)
        assert first == again == drawn(view, invalid)
    assert ATTACK not in (first or "")


def test_the_markup_is_kept_per_language() -> None:
    view = field_view(ROWS[0])  # required: its star's title is translated
    with translation.override("en"):
        english = blank_field_markup(view)
    with translation.override("ja"):
        japanese = blank_field_markup(view)
        assert japanese == drawn(view)
    assert english != japanese


def test_a_question_holding_an_answer_or_a_file_is_left_to_the_template() -> None:
    assert blank_field_markup(field_view(ROWS[0], values={"name": "Ann"})) is None
    assert blank_field_markup(field_view(ROWS[3], values={"sleep": "1"})) is None
    assert blank_field_markup(field_view(ROWS[5], values={"meals___2": "1"})) is None
    upload = FieldRow(field_name="scan", form_name="visit", field_type="file", field_label="Scan")
    assert blank_field_markup(field_view(upload)) is None
    assert blank_field_markup(field_view(ROWS[5], values={"meals___2": "0"})) is not None


def test_markup_and_text_of_the_same_characters_are_kept_apart() -> None:
    view = field_view(FieldRow(field_name="x", form_name="visit", field_label="<i>x</i>"))
    live = dataclasses.replace(view, label=mark_safe(view.label))  # noqa: S308 - the test's own

    assert blank_field_markup(view) == drawn(view)
    assert blank_field_markup(live) == drawn(live)
    assert "&lt;i&gt;" in drawn(view) and "<i>x</i>" in drawn(live)


def test_only_rows_whose_texts_refer_to_nothing_pipe_nothing() -> None:
    assert pipes_nothing(ROWS[3])
    assert not pipes_nothing(dataclasses.replace(ROWS[0], field_label="Hello [name]"))
    assert not pipes_nothing(dataclasses.replace(ROWS[1], field_note="Last time: [age]"))
    assert not pipes_nothing(
        dataclasses.replace(ROWS[3], select_choices_or_calculations="1, [name] | 2, No")
    )
