"""A record's surveys on its pages: the links panel of the record home page, and survey
responses read-only on data entry unless the user may edit survey responses."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from opencrf.projects.models import ProjectMember
from opencrf.records.models import FormData
from opencrf.surveys.models import SurveyResponse

pytestmark = pytest.mark.django_db

COMPLETED_AT = datetime.datetime(2026, 5, 1, 1, 30, tzinfo=datetime.UTC)


@pytest.fixture
def record(demo):
    return demo.records.get(record_id="1-1")


@pytest.fixture
def baseline(demo):
    return demo.events.get(unique_name="baseline_arm_1")


def member(django_user_model, demo, username, right, **flags):
    user = django_user_model.objects.create_user(username=username, password="x")
    forms = list(demo.instruments.values_list("name", flat=True))
    ProjectMember.objects.create(
        project=demo, user=user, form_rights=dict.fromkeys(forms, right), **flags
    )
    return user


def form_url(demo, record_id="1-1"):
    return reverse(
        "records:form", args=[demo.pk, record_id, "baseline_arm_1", "quality_of_life", 1]
    )


def link_url(demo, record_id="1-1", event="baseline_arm_1", instance=1):
    return reverse(
        "surveys:record_link", args=[demo.pk, record_id, event, "quality_of_life", instance]
    )


def completed(qol_survey, record, baseline):
    from opencrf.surveys.services import response_link

    response = response_link(survey=qol_survey, record=record, event=baseline)
    response.status = SurveyResponse.Status.COMPLETED
    response.started_at = COMPLETED_AT - datetime.timedelta(minutes=5)
    response.completed_at = COMPLETED_AT
    response.save()
    return response


def test_the_record_page_lists_each_survey_event_with_its_status(
    client, pi_paula, demo, qol_survey, record
):
    client.force_login(pi_paula)

    html = client.get(reverse("records:home", args=[demo.pk, "1-1"])).content.decode()

    panel = html.split('data-testid="record-surveys"')[1]
    for event in ("baseline_arm_1", "week_24_arm_1", "week_52_arm_1"):
        assert f'data-form="quality_of_life" data-event="{event}"' in panel
        assert link_url(demo, event=event) in panel
    assert panel.count('data-status="not_started"') == 3
    assert not SurveyResponse.objects.exists()  # links are made only when asked for


def test_the_link_page_makes_the_link_once_with_its_access_code_and_qr_code(
    client, pi_paula, demo, qol_survey
):
    client.force_login(pi_paula)

    first = client.get(link_url(demo)).content.decode()
    again = client.get(link_url(demo)).content.decode()

    response = SurveyResponse.objects.get()
    assert (response.record.record_id, response.event.unique_name) == ("1-1", "baseline_arm_1")
    assert f'value="http://testserver/surveys/s/{response.token}/" readonly' in first
    assert f'data-testid="access-code">{response.access_code}<' in first
    assert "data:image/svg+xml;base64," in first
    assert SurveyResponse.objects.count() == 1
    assert f"/surveys/s/{response.token}/" in again


def test_a_reader_of_the_form_sees_the_status_but_cannot_open_the_link(
    client, django_user_model, demo, qol_survey
):
    reader = member(django_user_model, demo, "reader_rei", "read")
    client.force_login(reader)

    html = client.get(reverse("records:home", args=[demo.pk, "1-1"])).content.decode()
    refused = client.get(link_url(demo))

    assert 'data-testid="record-surveys"' in html and link_url(demo) not in html
    assert refused.status_code == 403
    assert not SurveyResponse.objects.exists()


def test_a_link_is_refused_for_an_event_or_instance_that_does_not_collect_the_survey(
    client, pi_paula, demo, qol_survey
):
    client.force_login(pi_paula)

    answers = [
        client.get(link_url(demo, event="screening_arm_1")),
        client.get(link_url(demo, instance=2)),
        client.get(link_url(demo, record_id="9-9")),
        client.get(
            reverse("surveys:record_link", args=[demo.pk, "1-1", "baseline_arm_1", "baseline", 1])
        ),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert not SurveyResponse.objects.exists()


def test_a_completed_response_is_read_only_for_a_user_with_view_and_edit(
    client, django_user_model, demo, qol_survey, record, baseline
):
    completed(qol_survey, record, baseline)
    editor = member(django_user_model, demo, "editor_eri", "edit")
    client.force_login(editor)
    before = FormData.objects.filter(record=record, form_name="quality_of_life").first()
    before_values = before.values if before else None

    page = client.get(form_url(demo)).content.decode()
    refused = client.post(form_url(demo), {"qol_mood": "1", "quality_of_life_complete": "2"})

    assert 'data-testid="survey-response-note"' in page
    assert "This form is a survey response, completed by the participant on 2026-05-01" in page
    assert 'data-testid="form-readonly"' in page
    assert refused.status_code == 403
    after = FormData.objects.filter(record=record, form_name="quality_of_life").first()
    assert (after.values if after else None) == before_values


def test_the_edit_survey_responses_right_and_administrators_may_change_a_response(
    client, django_user_model, demo, qol_survey, record, baseline, admin_ada
):
    completed(qol_survey, record, baseline)
    surveyor = member(django_user_model, demo, "surveyor_sue", "survey_edit")

    for user in (surveyor, admin_ada):
        client.force_login(user)
        page = client.get(form_url(demo)).content.decode()
        assert 'data-testid="survey-response-note"' in page
        assert 'data-testid="form-readonly"' not in page
        assert 'value="stay"' in page


def test_a_partial_response_is_named_but_stays_editable(
    client, django_user_model, demo, qol_survey, record, baseline
):
    from opencrf.surveys.services import response_link

    response = response_link(survey=qol_survey, record=record, event=baseline)
    response.status = SurveyResponse.Status.PARTIAL
    response.started_at = COMPLETED_AT
    response.save()
    client.force_login(member(django_user_model, demo, "editor_eri", "edit"))

    page = client.get(form_url(demo)).content.decode()

    assert "This form is a survey response in progress (partial)" in page
    assert 'data-testid="form-readonly"' not in page


def test_a_form_that_is_not_a_survey_has_no_note(client, pi_paula, demo, qol_survey):
    client.force_login(pi_paula)

    page = client.get(
        reverse("records:form", args=[demo.pk, "1-1", "baseline_arm_1", "baseline", 1])
    ).content.decode()

    assert 'data-testid="survey-response-note"' not in page


def test_a_survey_form_not_yet_answered_offers_its_link_to_those_who_may_edit_it(
    client, django_user_model, pi_paula, demo, qol_survey
):
    reader = member(django_user_model, demo, "reader_rei", "read")
    client.force_login(pi_paula)
    page = client.get(form_url(demo)).content.decode()
    client.force_login(reader)
    read = client.get(form_url(demo)).content.decode()

    assert "This instrument is a survey: the participant can answer it through its link." in page
    assert f'href="{link_url(demo)}" data-testid="survey-options"' in page
    assert 'data-testid="survey-options"' not in read
    assert 'data-testid="form-readonly"' in read
