"""Survey settings and links: made once per form instance, random, audited by pseudonym."""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import audit_event_create
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.surveys import selectors, services
from opencrf.surveys.codes import ALPHABET, normalise_code
from opencrf.surveys.models import Survey, SurveyResponse

pytestmark = pytest.mark.django_db


def test_enabling_a_survey_keeps_its_settings_and_is_audited(demo, paula_context):
    survey = services.survey_enable(
        context=paula_context, project=demo, form_name="quality_of_life", save_and_return=True
    )
    assert survey.title == "生活の質（QOL）"
    assert survey.save_and_return is True
    assert len(survey.public_token) == 43
    entry = AuditEvent.objects.filter(project_id=demo.pk).latest("sequence")
    assert (entry.action, entry.details, entry.actor_name) == (
        "survey.enable",
        "quality_of_life",
        "pi_paula",
    )


def test_a_survey_needs_surveys_enabled_a_real_instrument_and_the_design_right(
    demo, paula_context, site_b_bea
):
    from opencrf.audit.services import AuditContext

    with pytest.raises(InvalidInput, match="No instrument is named nosuch"):
        services.survey_enable(context=paula_context, project=demo, form_name="nosuch")
    with pytest.raises(InvalidInput, match="Unknown survey settings"):
        services.survey_enable(
            context=paula_context, project=demo, form_name="baseline", colour="red"
        )
    with pytest.raises(NotFound):  # not a member: the project does not exist for her
        services.survey_enable(
            context=AuditContext(actor=site_b_bea), project=demo, form_name="baseline"
        )
    demo.surveys_enabled = False
    demo.save()
    with pytest.raises(InvalidInput, match="Surveys are not enabled"):
        services.survey_enable(context=paula_context, project=demo, form_name="baseline")
    assert not Survey.objects.exists()


def test_a_record_gets_one_link_per_event_and_instance(demo, qol_survey):
    record = demo.records.order_by("sort_key").first()
    baseline = demo.events.get(unique_name="baseline_arm_1")
    week_24 = demo.events.get(unique_name="week_24_arm_1")
    first = services.response_link(survey=qol_survey, record=record, event=baseline)
    again = services.response_link(survey=qol_survey, record=record, event=baseline)
    other = services.response_link(survey=qol_survey, record=record, event=week_24)
    assert first.pk == again.pk
    assert other.pk != first.pk and other.token != first.token
    assert len(first.access_code) == 9 and set(first.access_code) <= set(ALPHABET)
    assert selectors.response_by_token(first.token).pk == first.pk
    assert selectors.response_by_access_code(first.access_code.lower()).pk == first.pk


def test_a_link_is_refused_for_an_event_without_the_instrument(demo, qol_survey):
    record = demo.records.order_by("sort_key").first()
    screening = demo.events.get(unique_name="screening_arm_1")
    with pytest.raises(InvalidInput, match="does not collect"):
        services.response_link(survey=qol_survey, record=record, event=screening)
    assert not SurveyResponse.objects.exists()


def test_unknown_or_disabled_links_are_not_found(demo, qol_survey):
    record = demo.records.order_by("sort_key").first()
    baseline = demo.events.get(unique_name="baseline_arm_1")
    link = services.response_link(survey=qol_survey, record=record, event=baseline)
    for token in ("", "x" * 43, link.token[:-1]):
        with pytest.raises(NotFound):
            selectors.response_by_token(token)
    demo.surveys_enabled = False
    demo.save()
    with pytest.raises(NotFound):
        selectors.response_by_token(link.token)
    with pytest.raises(NotFound):
        selectors.survey_by_public_token(qol_survey.public_token)


def test_a_participant_is_audited_under_a_stable_pseudonym(demo, qol_survey):
    from django.db import transaction

    baseline = demo.events.get(unique_name="baseline_arm_1")
    response = services.public_response_start(survey=qol_survey, event=baseline)
    context = services.respondent_context(response, client_address="192.0.2.7")
    with transaction.atomic():
        entry = audit_event_create(context=context, project_id=demo.pk, action="survey.test")
    assert entry.actor_id is None
    assert entry.source == "survey"
    assert entry.actor_name == f"[survey respondent #{response.pk}]"


def test_codes_are_read_as_typed():
    assert normalise_code(" abcd-efgh 9 ") == "ABCDEFGH9"
