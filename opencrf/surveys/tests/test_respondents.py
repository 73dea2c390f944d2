"""A participant is one pseudonymous actor in the audit trail, whatever they answer."""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.records.services import record_create
from opencrf.surveys import services
from opencrf.surveys.models import Participant, Respondent, SurveyResponse
from opencrf.surveys.respond import answers_save
from opencrf.surveys.respondents import respondent_label

pytestmark = pytest.mark.django_db

ENROLMENT_PAGE_1 = {"consent_date": "2026-01-05", "initials": "TY", "dob": "1960-04-01", "sex": "2"}


@pytest.fixture
def record(demo, paula_context):
    return record_create(context=paula_context, project=demo, record_id="900")


def _answer(response: SurveyResponse, values: dict[str, str]) -> AuditEvent:
    answers_save(response, context=services.respondent_context(response), values=values, page=1)
    return AuditEvent.objects.filter(source="survey").latest("sequence")


def test_one_participant_answering_at_two_events_is_one_actor(demo, qol_survey, record):
    baseline = demo.events.get(unique_name="baseline_arm_1")
    week_24 = demo.events.get(unique_name="week_24_arm_1")
    first = services.response_link(survey=qol_survey, record=record, event=baseline)
    second = services.response_link(survey=qol_survey, record=record, event=week_24)

    later = _answer(second, {"qol_energy": "2"})
    earlier = _answer(first, {"qol_energy": "4"})

    assert later.actor_name == earlier.actor_name == f"[survey respondent #{first.pk}]"
    assert (later.actor_id, later.event, earlier.event) == (None, "week_24_arm_1", "baseline_arm_1")
    assert list(Respondent.objects.values_list("record__record_id", "number")) == [
        ("900", first.pk)
    ]


def test_two_participants_are_two_actors_and_neither_is_named_by_address(
    demo, qol_survey, record, paula_context
):
    baseline = demo.events.get(unique_name="baseline_arm_1")
    other = record_create(context=paula_context, project=demo, record_id="901")
    mine = services.response_link(survey=qol_survey, record=record, event=baseline)
    theirs = services.response_link(survey=qol_survey, record=other, event=baseline)
    Participant.objects.create(
        project=demo, survey=qol_survey, event=baseline, email="taro@example.org"
    )

    labels = {respondent_label(mine), respondent_label(theirs)}

    assert labels == {f"[survey respondent #{mine.pk}]", f"[survey respondent #{theirs.pk}]"}
    assert not AuditEvent.objects.filter(actor_name__contains="@").exists()


def test_a_public_respondent_keeps_one_pseudonym_before_and_after_their_record_exists(
    client, demo, paula_context
):
    survey = services.survey_enable(
        context=paula_context, project=demo, form_name="enrolment", language="en", paging="sections"
    )
    started = client.get(f"/surveys/p/{survey.public_token}/")
    response = SurveyResponse.objects.get(token=started["Location"].split("/")[3])
    assert respondent_label(response) == f"[survey respondent #{response.pk}]"

    client.post(
        f"/surveys/s/{response.token}/", {**ENROLMENT_PAGE_1, "page": "1", "action": "next"}
    )
    response.refresh_from_db()
    client.post(f"/surveys/s/{response.token}/", {"page": "2", "action": "next"})

    names = set(
        AuditEvent.objects.filter(source="survey", record=response.record.record_id).values_list(
            "actor_name", flat=True
        )
    )
    assert names == {f"[survey respondent #{response.pk}]"}
    assert Respondent.objects.get(record=response.record).number == response.pk


def test_a_record_whose_links_came_before_gets_its_first_links_number(
    demo, qol_survey, record, paula_context
):
    baseline = demo.events.get(unique_name="baseline_arm_1")
    week_24 = demo.events.get(unique_name="week_24_arm_1")
    first = services.response_link(survey=qol_survey, record=record, event=week_24)
    second = services.response_link(survey=qol_survey, record=record, event=baseline)

    assert respondent_label(second) == f"[survey respondent #{first.pk}]"
    assert respondent_label(first) == f"[survey respondent #{first.pk}]"
    assert Respondent.objects.count() == 1


def test_the_migration_names_existing_records_by_their_first_links_number(demo, qol_survey, record):
    import importlib

    from django.apps import apps

    backfill = importlib.import_module(
        "opencrf.surveys.migrations.0005_respondent_backfill"
    ).backfill
    baseline = demo.events.get(unique_name="baseline_arm_1")
    week_24 = demo.events.get(unique_name="week_24_arm_1")
    first = services.response_link(survey=qol_survey, record=record, event=week_24)
    services.response_link(survey=qol_survey, record=record, event=baseline)
    services.public_response_start(survey=qol_survey, event=baseline)  # no record: no row

    backfill(apps, None)
    backfill(apps, None)  # running twice changes nothing

    assert list(Respondent.objects.values_list("record__record_id", "number")) == [
        ("900", first.pk)
    ]
