"""A classic project with a checkbox, a file field and a repeating form, and a member's token."""

from __future__ import annotations

import pytest

from opencrf.api.tokens import token_create
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.services import repeat_settings_set

ROWS = [
    FieldRow(field_name="study_id", form_name="enrolment", field_label="Study ID"),
    FieldRow(
        field_name="sex",
        form_name="enrolment",
        field_label="Sex",
        field_type="radio",
        select_choices_or_calculations="1, Female | 2, Male",
    ),
    FieldRow(
        field_name="race",
        form_name="enrolment",
        field_label="Race",
        field_type="checkbox",
        select_choices_or_calculations="A, Asian | W, White | -99, Unknown",
    ),
    FieldRow(
        field_name="note", form_name="enrolment", field_label="Note", field_type="descriptive"
    ),
    FieldRow(field_name="scan", form_name="enrolment", field_label="Scan", field_type="file"),
    FieldRow(
        field_name="ae_term", form_name="adverse_event", field_label="Term", field_type="text"
    ),
]


@pytest.fixture
def study(paula_context, classic_project):
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    event = classic_project.events.get()
    repeat_settings_set(
        context=paula_context,
        project=classic_project,
        settings={(event.pk, "adverse_event"): "[ae_term]"},
        known_forms=["enrolment", "adverse_event"],
    )
    classic_project.refresh_from_db()
    return classic_project


@pytest.fixture
def token(study, pi_paula, paula_context):
    return token_create(context=paula_context, user=pi_paula, project=study)
