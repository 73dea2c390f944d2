"""What a survey page costs the server: the reads it can do without (bench/RESULTS.md, survey
load: every respondent asks for these pages, so each query saved is saved thousands of times)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from opencrf.audit.services import AuditContext
from opencrf.projects.models import Project
from opencrf.records.services import record_create
from opencrf.surveys import public_page, selectors, services
from opencrf.surveys.models import Survey, SurveyResponse
from opencrf.surveys.public_page import page_context, piped_text, survey_page
from opencrf.surveys.respond import answers_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(demo: Project, qol_survey: Survey, paula_context: AuditContext) -> SurveyResponse:
    record = record_create(context=paula_context, project=demo, record_id="900")
    baseline = demo.events.get(unique_name="baseline_arm_1")
    return services.response_link(survey=qol_survey, record=record, event=baseline)


def answered(link: SurveyResponse, system_context: AuditContext) -> SurveyResponse:
    """The link after a first page, as the participant's next request reads it."""
    answers_save(link, context=system_context, values={"qol_comment": "fine <b>"}, page=1)
    return selectors.response_by_token(link.token)


def test_a_text_without_references_is_shown_as_it_is_without_reading_the_record(
    link: SurveyResponse, system_context: AuditContext, django_assert_num_queries: Any
) -> None:
    link = answered(link, system_context)
    with django_assert_num_queries(0):
        assert piped_text(link, "Thank you <for> answering") == "Thank you <for> answering"
        assert piped_text(link, "") == ""


def test_a_text_with_references_pipes_the_stored_answers(
    link: SurveyResponse, system_context: AuditContext
) -> None:
    link = answered(link, system_context)
    assert piped_text(link, "You said: [qol_comment].") == "You said: fine <b>."


def test_the_page_reads_only_the_records_forms(
    link: SurveyResponse, system_context: AuditContext, django_assert_num_queries: Any
) -> None:
    link = answered(link, system_context)
    page = survey_page(link, 1)
    with django_assert_num_queries(1):  # the record's forms; the event's arm is the design's
        context = page_context(page, {})
    assert context["logic"]["context"]["arm_number"] == 1


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_page_of_kept_markup_is_the_page_the_template_draws(
    client: Client, link: SurveyResponse, qol_survey: Survey, language: str, monkeypatch: Any
) -> None:
    qol_survey.language = language
    qol_survey.save()
    first = without_csrf(client.get(f"/surveys/s/{link.token}/").content.decode())
    kept = without_csrf(client.get(f"/surveys/s/{link.token}/").content.decode())
    refused = client.post(f"/surveys/s/{link.token}/", {"page": "1", "action": "submit"})
    monkeypatch.setattr(public_page, "blank_field_markup", lambda view, invalid="": None)
    drawn = without_csrf(client.get(f"/surveys/s/{link.token}/").content.decode())
    refused_drawn = client.post(f"/surveys/s/{link.token}/", {"page": "1", "action": "submit"})

    assert first == kept == drawn
    assert 'name="qol_energy"' in kept
    assert refused.status_code == refused_drawn.status_code == 400
    assert 'aria-invalid="true"' in refused.content.decode()
    assert without_csrf(refused.content.decode()) == without_csrf(refused_drawn.content.decode())
