"""A participant answers a survey through its link: pages, saving, completion and rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from opencrf.audit.models import AuditEvent
from opencrf.records.models import FormData, Record
from opencrf.records.services import record_create
from opencrf.surveys import services
from opencrf.surveys.invitations import COMPLETED as INVITATION_COMPLETED
from opencrf.surveys.models import Invitation, SurveyResponse
from opencrf.surveys.respond import response_complete

pytestmark = pytest.mark.django_db

ANSWERS = {
    "qol_date": "2026-01-05",
    "qol_energy": "4",
    "qol_walking": "3",
    "qol_mood": "5",
    "qol_burden": "2",
    "qol_sleep": "4",
    "qol_comment": "fine",
}


@pytest.fixture
def qol_survey(qol_survey):
    """The survey in English: these tests read the pages' texts (the language switch has its
    own test)."""
    qol_survey.language = "en"
    qol_survey.save()
    return qol_survey


@pytest.fixture
def record(demo, paula_context):
    return record_create(context=paula_context, project=demo, record_id="900")


@pytest.fixture
def baseline(demo):
    return demo.events.get(unique_name="baseline_arm_1")


@pytest.fixture
def link(qol_survey, record, baseline):
    return services.response_link(survey=qol_survey, record=record, event=baseline)


def url(link, suffix=""):
    return f"/surveys/s/{link.token}/{suffix}"


def stored(record, event, form="quality_of_life"):
    return FormData.objects.filter(record=record, event=event, form_name=form).first()


def test_the_survey_page_shows_the_questions_without_the_staff_site(client, link):
    page = client.get(url(link))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="survey-title">QOL</h1>' in html
    assert 'name="qol_energy"' in html
    assert "quality_of_life_complete" not in html  # no form status
    assert 'name="record_id"' not in html
    assert "/projects/" not in html and "/accounts/" not in html and "navbar" not in html
    assert page["Cache-Control"] == "no-store"
    assert page["Referrer-Policy"] == "same-origin"
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert " style=" not in html and "<script>" not in html


def test_submitting_every_answer_completes_the_form_with_status_2(client, link, record, baseline):
    answer = client.post(url(link), {**ANSWERS, "page": "1", "action": "submit"})
    assert answer.status_code == 302
    assert answer["Location"] == url(link, "done/")
    form = stored(record, baseline)
    assert form.status == 2
    assert form.values["qol_energy"] == "4"
    assert form.values["qol_score"] == "20"  # calculated by the save
    link.refresh_from_db()
    assert link.status == "completed"
    assert link.started_at is not None and link.completed_at is not None
    assert link.ip_address is None  # the project does not record addresses
    done = client.get(url(link, "done/"))
    assert "Thank you for taking the survey" in done.content.decode()
    entry = AuditEvent.objects.filter(action="form.update").latest("sequence")
    assert (entry.source, entry.actor_id, entry.actor_name, entry.record) == (
        "survey",
        None,
        f"[survey respondent #{link.pk}]",
        "900",
    )
    assert entry.changes["qol_energy"] == ["", "4"]


def test_a_required_answer_left_blank_refuses_the_page_with_the_surveys_message(
    client, link, record, baseline, qol_survey, paula_context
):
    services.survey_update(
        context=paula_context, survey=qol_survey, required_message="Answer all, please."
    )
    answers = {**ANSWERS, "qol_mood": ""}
    answer = client.post(url(link), {**answers, "page": "1", "action": "submit"})
    assert answer.status_code == 400
    assert "Answer all, please." in answer.content.decode()
    assert stored(record, baseline) is None
    link.refresh_from_db()
    assert link.status == "not_started"


def test_the_ip_address_is_kept_only_when_the_project_records_it(client, link, demo):
    demo.survey_ip_recorded = True
    demo.save()
    client.post(url(link), {**ANSWERS, "page": "1"}, REMOTE_ADDR="192.0.2.9")
    link.refresh_from_db()
    assert link.ip_address == "192.0.2.9"


def test_a_completed_response_cannot_be_opened_again(client, link, record, baseline):
    client.post(url(link), {**ANSWERS, "page": "1", "action": "submit"})
    again = client.get(url(link))
    assert again.status_code == 403
    assert "You have already completed this survey" in again.content.decode()
    forged = client.post(url(link), {**ANSWERS, "qol_energy": "1", "page": "1"})
    assert forged.status_code == 403
    assert stored(record, baseline).values["qol_energy"] == "4"


def test_a_completed_response_opens_for_editing_when_the_survey_allows_it(
    client, link, record, baseline, qol_survey, paula_context
):
    services.survey_update(context=paula_context, survey=qol_survey, edit_completed=True)
    client.post(url(link), {**ANSWERS, "page": "1", "action": "submit"})
    assert client.get(url(link)).status_code == 200
    client.post(url(link), {**ANSWERS, "qol_energy": "1", "page": "1", "action": "submit"})
    form = stored(record, baseline)
    assert (form.values["qol_energy"], form.status) == ("1", 2)


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"active": False}, "not accepting responses"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "This survey has closed."),
    ],
)
def test_an_inactive_or_expired_survey_says_so_and_takes_nothing(
    client, link, record, baseline, qol_survey, change, text
):
    for name, value in change.items():
        setattr(qol_survey, name, value)
    qol_survey.save()
    page = client.get(url(link))
    assert page.status_code == 403
    assert text in page.content.decode()
    assert client.post(url(link), {**ANSWERS, "page": "1"}).status_code == 403
    assert stored(record, baseline) is None


def test_a_link_past_its_time_limit_is_closed(client, link, record, baseline):
    link.link_expires_at = timezone.now() - timedelta(seconds=1)
    link.save()
    page = client.get(url(link))
    assert page.status_code == 403
    assert "The time allowed for answering this survey has run out." in page.content.decode()
    client.post(url(link), {**ANSWERS, "page": "1"})
    assert stored(record, baseline) is None


def test_the_response_limit_closes_the_survey_with_its_message(
    client, link, qol_survey, demo, paula_context, baseline
):
    services.survey_update(
        context=paula_context,
        survey=qol_survey,
        response_limit=1,
        response_limit_message="We have enough answers.",
    )
    client.post(url(link), {**ANSWERS, "page": "1", "action": "submit"})
    other = record_create(context=paula_context, project=demo, record_id="901")
    second = services.response_link(survey=qol_survey, record=other, event=baseline)
    page = client.get(url(second))
    assert page.status_code == 403
    assert "We have enough answers." in page.content.decode()
    assert Record.objects.get(pk=other.pk).forms.count() == 0


def test_unknown_tokens_are_not_found(client, link):
    for token in ("x" * 43, link.token[:-1] + ("A" if link.token[-1] != "A" else "B")):
        page = client.get(f"/surveys/s/{token}/")
        assert page.status_code == 404
        assert "This survey link is not valid." in page.content.decode()


def test_response_status_is_partial_after_a_page(client, link, record, baseline, qol_survey):
    qol_survey.paging = "sections"
    qol_survey.save()
    answer = client.post(url(link), {"qol_date": "2026-01-05", "page": "1", "action": "next"})
    assert answer.status_code == 302 and answer["Location"] == url(link) + "?page=2"
    link.refresh_from_db()
    assert (link.status, link.page) == (SurveyResponse.Status.PARTIAL, 1)
    assert stored(record, baseline).status == 0


def test_a_refused_value_is_shown_with_its_message_and_nothing_is_saved(
    client, link, record, baseline
):
    answer = client.post(url(link), {**ANSWERS, "qol_date": "2026-13-45", "page": "1"})
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'id="error-qol_date" role="alert"' in html
    assert 'value="2026-13-45"' in html  # the answer comes back to be corrected
    assert stored(record, baseline) is None
    link.refresh_from_db()
    assert link.status == "not_started"


def test_instructions_are_shown_on_the_first_page_only(client, link, qol_survey, paula_context):
    services.survey_update(
        context=paula_context, survey=qol_survey, instructions="Read me first.", paging="sections"
    )
    assert "Read me first." in client.get(url(link)).content.decode()
    client.post(url(link), {"qol_date": "2026-01-05", "page": "1", "action": "next"})
    assert "Read me first." not in client.get(url(link) + "?page=2").content.decode()


def test_a_save_the_records_service_refuses_is_a_page_naming_why(
    client, link, record, baseline, monkeypatch
):
    from opencrf.core.errors import InvalidInput
    from opencrf.surveys import views_public

    def refuse(*args, **kwargs):
        raise InvalidInput("This form was deleted after you opened it; nothing was saved.")

    monkeypatch.setattr(views_public, "answers_save", refuse)
    answer = client.post(url(link), {**ANSWERS, "page": "1", "action": "submit"})
    assert answer.status_code == 409
    assert "This form was deleted after you opened it; nothing was saved." in (
        answer.content.decode()
    )
    assert stored(record, baseline) is None


def _invitation(link, *, reminder, send_at, status=Invitation.Status.SCHEDULED):
    return Invitation.objects.create(
        project_id=link.project_id,
        response=link,
        email="p@example.org",
        subject="s",
        body="b",
        reminder=reminder,
        send_at=send_at,
        status=status,
    )


def test_completing_a_response_cancels_its_scheduled_invitations_and_reminders(
    client, link, record, qol_survey, paula_context, baseline
):
    later = timezone.now() + timedelta(days=3)
    reminder = _invitation(link, reminder=1, send_at=later)
    invitation = _invitation(link, reminder=0, send_at=later)
    sent = _invitation(link, reminder=0, send_at=timezone.now(), status=Invitation.Status.SENT)
    other_link = services.response_link(
        survey=qol_survey,
        record=record,
        event=qol_survey.project.events.get(unique_name="week_24_arm_1"),
    )
    other = _invitation(other_link, reminder=1, send_at=later)
    client.post(url(link), {**ANSWERS, "page": "1", "action": "submit"})
    statuses = {i.pk: (i.status, i.error) for i in Invitation.objects.all()}
    assert statuses == {
        reminder.pk: ("cancelled", INVITATION_COMPLETED),
        invitation.pk: ("cancelled", INVITATION_COMPLETED),
        sent.pk: ("sent", ""),
        other.pk: ("scheduled", ""),
    }
    # The e-consent path (response_complete) cancels too.
    following = _invitation(other_link, reminder=2, send_at=later)
    response_complete(other_link, context=services.respondent_context(other_link))
    following.refresh_from_db()
    assert (following.status, following.error) == ("cancelled", INVITATION_COMPLETED)


@pytest.mark.parametrize(("survey_language", "browser"), [("ja", "en"), ("en", "ja")])
def test_a_closed_survey_page_says_why_in_the_surveys_language_not_the_browsers(
    client, link, record, baseline, qol_survey, survey_language, browser
):
    qol_survey.language = survey_language
    qol_survey.active = False
    qol_survey.save()
    reason = "This survey is not accepting responses at the moment."
    with translation.override(survey_language):
        expected = gettext(reason)
    with translation.override(browser):
        other = gettext(reason)
    assert expected != other
    for answer in (
        client.get(url(link), HTTP_ACCEPT_LANGUAGE=browser),
        client.post(url(link), {**ANSWERS, "page": "1"}, HTTP_ACCEPT_LANGUAGE=browser),
    ):
        html = answer.content.decode()
        assert answer.status_code == 403
        assert answer["Content-Language"] == survey_language
        assert expected in html
        assert other not in html
    assert stored(record, baseline) is None
