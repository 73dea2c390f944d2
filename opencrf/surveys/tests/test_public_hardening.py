"""The public survey pages against hostile use: each attempt is refused or inert, and nothing
is written to any record but the response's own."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from opencrf.audit.models import AuditEvent
from opencrf.files.services import file_store
from opencrf.files.tests import samples
from opencrf.records.models import FormData
from opencrf.records.services import form_save, record_create
from opencrf.surveys import ratelimit, services
from opencrf.surveys.models import SurveyResponse

pytestmark = pytest.mark.django_db

QOL = {
    "qol_date": "2026-01-05",
    "qol_energy": "4",
    "qol_walking": "3",
    "qol_mood": "5",
    "qol_burden": "2",
    "qol_sleep": "4",
}
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture
def qol_survey(qol_survey):
    """The survey in English: these tests read the pages' texts (the language switch has its
    own test)."""
    qol_survey.language = "en"
    qol_survey.save()
    return qol_survey


@pytest.fixture
def one_minute(monkeypatch):
    """Every request within the same minute, however long the test takes to send them."""
    monkeypatch.setattr(ratelimit, "_clock", lambda: 1_800_000_000.0)


@pytest.fixture
def baseline(demo):
    return demo.events.get(unique_name="baseline_arm_1")


@pytest.fixture
def record(demo, paula_context):
    return record_create(context=paula_context, project=demo, record_id="900")


@pytest.fixture
def other(demo, paula_context, baseline):
    """Another participant's record, with answers already given."""
    other = record_create(context=paula_context, project=demo, record_id="901")
    form_save(
        context=paula_context,
        record=other,
        event=baseline,
        form_name="quality_of_life",
        values={**QOL, "qol_comment": "theirs"},
        base_version=0,
    )
    return other


@pytest.fixture
def link(qol_survey, record, baseline):
    return services.response_link(survey=qol_survey, record=record, event=baseline)


def url(link, suffix=""):
    return f"/surveys/s/{link.token}/{suffix}"


def form_of(record, event, form="quality_of_life"):
    return FormData.objects.filter(record=record, event=event, form_name=form).first()


def test_a_forged_record_event_or_instance_in_the_post_is_ignored(
    client, link, record, other, baseline, demo
):
    week_24 = demo.events.get(unique_name="week_24_arm_1")
    forged = {
        **QOL,
        "qol_comment": "mine",
        "record_id": other.record_id,
        "record": other.record_id,
        "redcap_event_name": week_24.unique_name,
        "event": str(week_24.pk),
        "instance": "3",
        "redcap_repeat_instance": "3",
        "token": "x",
        "sex": "1",  # a field of another form
        "quality_of_life_complete": "1",
        "qol_score": "999",  # a calculation
        "page": "1",
        "action": "submit",
    }
    answer = client.post(url(link), forged)
    assert answer.status_code == 302
    mine = form_of(record, baseline)
    assert (mine.values["qol_comment"], mine.values["qol_score"], mine.status) == ("mine", "20", 2)
    assert "sex" not in mine.values and "record_id" not in mine.values
    assert form_of(other, baseline).values["qol_comment"] == "theirs"
    assert form_of(record, week_24) is None
    assert not FormData.objects.filter(record=record, form_name="enrolment").exists()
    assert FormData.objects.filter(record=record).count() == 1


def test_another_records_token_reaches_only_that_records_response(
    client, qol_survey, record, other, baseline
):
    theirs = services.response_link(survey=qol_survey, record=other, event=baseline)
    page = client.get(url(theirs)).content.decode()
    assert "theirs" in page  # their link is their page: the link is the secret
    mine = services.response_link(survey=qol_survey, record=record, event=baseline)
    # Pages of one response never show another record's answers.
    assert "theirs" not in client.get(url(mine)).content.decode()


def test_a_token_of_a_project_without_surveys_is_not_found(client, link, demo, record, baseline):
    demo.surveys_enabled = False
    demo.save()
    assert client.get(url(link)).status_code == 404
    assert client.post(url(link), {**QOL, "page": "1"}).status_code == 404
    assert form_of(record, baseline) is None


def test_html_in_answers_titles_and_texts_stays_text(
    client, link, record, baseline, qol_survey, paula_context
):
    services.survey_update(
        context=paula_context,
        survey=qol_survey,
        title=HOSTILE[:200],
        instructions=HOSTILE + " [qol_comment]",
        completion_text="Got: [qol_comment]",
        edit_completed=True,
    )
    client.post(url(link), {**QOL, "qol_comment": HOSTILE, "page": "1", "action": "next"})
    assert form_of(record, baseline).values["qol_comment"] == HOSTILE
    page = client.get(url(link)).content.decode()
    done = client.get(url(link, "done/")).content.decode()
    for html in (page, done):
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Got: &quot;&gt;&lt;script&gt;" in done


def test_a_thousand_submissions_from_one_address_are_refused_after_the_limit(
    client, link, record, baseline, settings, qol_survey, one_minute
):
    qol_survey.edit_completed = True  # each submission would be accepted but for the limit
    qol_survey.save()
    settings.OPENCRF_SURVEY_POSTS_PER_ADDRESS = 25
    settings.OPENCRF_SURVEY_POSTS_PER_LINK = 10_000
    statuses = [
        client.post(
            url(link), {**QOL, "qol_comment": f"try {n}", "page": "1"}, REMOTE_ADDR="198.51.100.7"
        ).status_code
        for n in range(1000)
    ]
    assert statuses.count(302) == 25 and statuses.count(429) == 975
    assert statuses[:25] == [302] * 25
    assert form_of(record, baseline).values["qol_comment"] == "try 24"
    saves = AuditEvent.objects.filter(record="900", action__startswith="form.", source="survey")
    assert saves.count() == 25
    refused = client.post(url(link), {**QOL, "page": "1"}, REMOTE_ADDR="198.51.100.7")
    assert refused["Retry-After"] == "60"
    # Another address is not held back by the first one.
    other = client.post(url(link), {**QOL, "qol_comment": "ok", "page": "1"}, REMOTE_ADDR="::1")
    assert other.status_code == 302


def test_submissions_through_one_link_are_limited_whatever_the_address(
    client, link, record, baseline, settings, qol_survey, one_minute
):
    qol_survey.edit_completed = True
    qol_survey.save()
    settings.OPENCRF_SURVEY_POSTS_PER_LINK = 5
    statuses = [
        client.post(
            url(link), {**QOL, "qol_comment": f"try {n}", "page": "1"}, REMOTE_ADDR=f"192.0.2.{n}"
        ).status_code
        for n in range(8)
    ]
    assert statuses == [302] * 5 + [429] * 3
    assert form_of(record, baseline).values["qol_comment"] == "try 4"


def test_public_starts_from_one_address_are_limited(
    client, demo, paula_context, settings, one_minute
):
    settings.OPENCRF_SURVEY_STARTS_PER_ADDRESS = 3
    survey = services.survey_enable(context=paula_context, project=demo, form_name="enrolment")
    statuses = [client.get(f"/surveys/p/{survey.public_token}/").status_code for _ in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    assert SurveyResponse.objects.filter(survey=survey).count() == 3


def test_a_bot_filling_the_honeypot_gets_a_neutral_page_and_nothing_is_written(
    client, link, record, baseline
):
    answer = client.post(url(link), {**QOL, "crf_website": "http://spam.example", "page": "1"})
    assert answer.status_code == 200
    assert "Your answers were received." in answer.content.decode()
    assert form_of(record, baseline) is None
    link.refresh_from_db()
    assert link.status == "not_started"


def test_the_honeypot_is_hidden_by_css_not_inline_style(client, link):
    html = client.get(url(link)).content.decode()
    assert '<div class="survey-hp" aria-hidden="true">' in html
    assert 'name="crf_website" value="" tabindex="-1" autocomplete="off"' in html
    assert "style=" not in html


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(link, record, baseline):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(url(link))
    assert page.status_code == 200
    answer = browser.post(url(link), {**QOL, "page": "1"})
    assert answer.status_code == 403
    html = answer.content.decode()
    assert "This page has expired" in html and "/projects/" not in html
    assert form_of(record, baseline) is None
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(url(link), {**QOL, "page": "1", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302


def test_a_staff_session_does_not_act_on_survey_pages(client, link, record, baseline, pi_paula):
    pi_paula.must_change_password = True  # every staff page would lead to the password form
    pi_paula.save()
    client.force_login(pi_paula)
    page = client.get(url(link))
    assert page.status_code == 200
    html = page.content.decode()
    assert "pi_paula" not in html and "Log out" not in html and "/projects/" not in html
    client.post(url(link), {**QOL, "page": "1"})
    entry = AuditEvent.objects.filter(record="900", action="form.update").latest("sequence")
    assert (entry.actor_id, entry.actor_name, entry.source) == (
        None,
        f"[survey respondent #{link.pk}]",
        "survey",
    )
    assert client.get("/projects/").status_code == 302  # the staff site still asks her


def test_maintenance_mode_refuses_answers_on_a_survey_page(client, link, record, baseline):
    from opencrf.ops.maintenance import maintenance_start, maintenance_stop

    maintenance_start(by="test")
    try:
        answer = client.post(url(link), {**QOL, "page": "1"})
    finally:
        maintenance_stop(by="test")
    assert answer.status_code == 503
    html = answer.content.decode()
    assert "under maintenance" in html and "/projects/" not in html and "navbar" not in html
    assert form_of(record, baseline) is None


def test_the_logo_is_streamed_only_through_its_surveys_links(
    client, link, demo, qol_survey, paula_context
):
    upload = SimpleUploadedFile("logo.png", samples.PNG, content_type="image/png")
    stored = file_store(context=paula_context, project=demo, upload=upload, target=None)
    qol_survey.logo = stored
    qol_survey.save()
    html = client.get(url(link)).content.decode()
    assert f'<img class="survey-logo" src="{url(link, "logo/")}" alt="">' in html
    image = client.get(url(link, "logo/"))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == samples.PNG
    assert client.get("/surveys/s/" + "x" * 43 + "/logo/").status_code == 404
