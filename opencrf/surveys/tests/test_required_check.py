"""The consent page's check that the survey's required questions are answered
(`respond.required_unanswered`): the very answer a page's save gives (records' `form_save`
rolled back, as the check used to run), and not one write to the database."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from opencrf.audit.models import AuditEvent
from opencrf.dictionary.csvio import parse_dictionary_csv
from opencrf.dictionary.design import design_of
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.services import project_create
from opencrf.records.models import FormData
from opencrf.records.services import form_save, record_create_with_form
from opencrf.surveys.respond import (
    RESPONDENT_REASON,
    missing_required,
    required_unanswered,
    survey_rows,
)
from opencrf.surveys.services import respondent_context, response_link, survey_enable
from opencrf.surveys.tests.econsent_world import HEADER

pytestmark = pytest.mark.django_db

ROWS = [
    "record_id,visit,,text,ID,,,,,,,,,,,,,",
    "smoker,visit,,yesno,Do you smoke?,,,,,,,,y,,,,,",
    "per_day,visit,,text,How many a day?,,,integer,,,,[smoker] = '1',y,,,,,",
    'symptoms,visit,,checkbox,Symptoms,"1, Cough | 2, Fever",,,,,,,y,,,,,',
    "total,visit,,calc,Total,[smoker] + 1,,,,,,,y,,,,,",
    "site_code,visit,,text,Site,,,,,,,,y,,,,,@READONLY @DEFAULT='A'",
    "secret,visit,,text,Hidden,,,,,,,,y,,,,,@HIDDEN-SURVEY",
    "comment,visit,,notes,Comments,,,,,,,,,,,,,",
]


@pytest.fixture
def world(paula_context):
    project = project_create(context=paula_context, title="Required check")
    csv = "\n".join([HEADER, *ROWS]).encode()
    dictionary_apply(
        context=paula_context, project=project, rows=parse_dictionary_csv(csv), source="test"
    )
    project.surveys_enabled = True
    project.save(update_fields=["surveys_enabled"])
    survey = survey_enable(context=paula_context, project=project, form_name="visit")
    return project, survey


def rolled_back_save(response, context):
    """The check as it was: a save of nothing, its warnings read, then rolled back."""

    class DryRun(Exception):
        pass

    try:
        with transaction.atomic():
            result = form_save(
                context=context,
                record=response.record,
                event=response.event,
                form_name=response.survey.form_name,
                instance=response.instance,
                values={},
                status=None,
                base_version=None,
                reason=RESPONDENT_REASON,
            )
            raise DryRun(result.warnings)
    except DryRun as dry:
        return missing_required(survey_rows(response.survey), dry.args[0])


STATES = {
    "nothing stored": {},
    "a blank form": {"comment": "later"},
    "smoker, count missing": {"smoker": "1", "symptoms___1": "1"},
    "non-smoker": {"smoker": "0", "symptoms___2": "1"},
    "all answered": {"smoker": "1", "per_day": "10", "symptoms___1": "1", "site_code": "B"},
    "no symptom ticked": {"smoker": "0", "symptoms___1": "0", "symptoms___2": "0"},
}


@pytest.mark.parametrize("state", list(STATES))
def test_the_check_answers_as_a_rolled_back_save_does_and_writes_nothing(
    world, paula_context, state
):
    project, survey = world
    event = design_of(project).events[0]
    values = STATES[state]
    if values:
        record, _ = record_create_with_form(
            context=paula_context,
            project=project,
            record_id="1",
            arm=None,
            event=event,
            form_name="visit",
            values=values,
        )
    else:
        record, _ = record_create_with_form(
            context=paula_context,
            project=project,
            record_id="1",
            arm=None,
            event=event,
            form_name="visit",
            values={},
        )
        FormData.objects.filter(record=record).delete()
    response = response_link(survey=survey, record=record, event=event)
    context = respondent_context(response)
    forms = list(FormData.objects.values_list("values", "status", "version"))
    entries = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        found = required_unanswered(response, context=context)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "SAVEPOINT"))
    ]
    assert writes == []
    expected = rolled_back_save(response, context)
    assert [(p.field, p.rule, p.message) for p in found] == [
        (p.field, p.rule, p.message) for p in expected
    ]
    assert list(FormData.objects.values_list("values", "status", "version")) == forms
    assert AuditEvent.objects.count() == entries


def test_the_check_names_what_each_state_leaves_unanswered(world, paula_context):
    project, survey = world
    event = design_of(project).events[0]
    record, _ = record_create_with_form(
        context=paula_context,
        project=project,
        record_id="1",
        arm=None,
        event=event,
        form_name="visit",
        values={"smoker": "1"},
    )
    response = response_link(survey=survey, record=record, event=event)
    context = respondent_context(response)
    # The count is shown by the branching logic; the calculation is never asked, the
    # read-only field holds its @DEFAULT and the @HIDDEN-SURVEY field is not the survey's.
    assert [p.field for p in required_unanswered(response, context=context)] == [
        "per_day",
        "symptoms",
    ]
