"""Ways into a survey and through it: public link, access code, pages, save and return,
language, auto-continue and the survey queue."""

from __future__ import annotations

import re

import pytest

from opencrf.records.models import FormData, Record
from opencrf.records.selectors import next_record_id
from opencrf.records.services import record_create
from opencrf.surveys import services
from opencrf.surveys.models import QueueLink, SurveyResponse
from opencrf.surveys.respond import queue_link, response_complete, survey_queue

pytestmark = pytest.mark.django_db

ENROLMENT_PAGE_1 = {"consent_date": "2026-01-05", "initials": "TY", "dob": "1960-04-01", "sex": "2"}
QOL = {
    "qol_date": "2026-01-05",
    "qol_energy": "4",
    "qol_walking": "3",
    "qol_mood": "5",
    "qol_burden": "2",
    "qol_sleep": "4",
}


@pytest.fixture
def qol_survey(qol_survey):
    """The survey in English: these tests read the pages' texts (the language switch has its
    own test)."""
    qol_survey.language = "en"
    qol_survey.save()
    return qol_survey


@pytest.fixture
def enrolment_survey(demo, paula_context):
    return services.survey_enable(
        context=paula_context,
        project=demo,
        form_name="enrolment",
        title="Join the study",
        language="en",
        paging="sections",
        save_and_return=True,
        completion_text="<i>Thank you</i>, [initials]!",
    )


@pytest.fixture
def record(demo, paula_context):
    return record_create(context=paula_context, project=demo, record_id="900")


@pytest.fixture
def baseline(demo):
    return demo.events.get(unique_name="baseline_arm_1")


def start_public(client, survey):
    answer = client.get(f"/surveys/p/{survey.public_token}/")
    assert answer.status_code == 302
    token = answer["Location"].split("/")[3]
    return SurveyResponse.objects.get(token=token)


def test_the_public_link_starts_a_response_and_its_first_page_creates_the_next_record(
    client, demo, enrolment_survey
):
    before = Record.objects.filter(project=demo).count()
    expected = next_record_id(demo)
    response = start_public(client, enrolment_survey)
    assert response.public is True and response.record is None
    assert Record.objects.filter(project=demo).count() == before
    page = client.get(f"/surveys/s/{response.token}/")
    assert page.status_code == 200
    assert "Page 1 of 3" in page.content.decode()
    answer = client.post(
        f"/surveys/s/{response.token}/", {**ENROLMENT_PAGE_1, "page": "1", "action": "next"}
    )
    assert answer.status_code == 302
    response.refresh_from_db()
    assert response.record is not None
    assert response.record.record_id == expected
    form = FormData.objects.get(record=response.record, form_name="enrolment")
    assert (form.values["initials"], form.status) == ("TY", 0)
    assert Record.objects.filter(project=demo).count() == before + 1


def test_each_visit_of_the_public_link_is_a_response_of_its_own(client, enrolment_survey):
    first = start_public(client, enrolment_survey)
    second = start_public(client, enrolment_survey)
    assert first.pk != second.pk and first.token != second.token


def test_the_public_link_is_refused_when_records_are_not_numbered_automatically(
    client, demo, enrolment_survey
):
    demo.record_autonumbering = False
    demo.save()
    answer = client.get(f"/surveys/p/{enrolment_survey.public_token}/")
    assert answer.status_code == 403
    assert "does not number its records automatically" in answer.content.decode()
    assert not SurveyResponse.objects.exists()


def test_only_the_first_instrument_has_a_public_link(client, qol_survey):
    answer = client.get(f"/surveys/p/{qol_survey.public_token}/")
    assert answer.status_code == 404
    assert not SurveyResponse.objects.exists()


def test_pages_keep_earlier_answers_and_previous_goes_back(client, enrolment_survey):
    response = start_public(client, enrolment_survey)
    link = f"/surveys/s/{response.token}/"
    client.post(link, {**ENROLMENT_PAGE_1, "page": "1", "action": "next"})
    page_2 = client.get(link + "?page=2").content.decode()
    assert "Page 2 of 3" in page_2 and 'name="incl___1"' in page_2
    assert 'name="initials"' not in page_2
    back = client.post(link, {"incl___1": "1", "page": "2", "action": "previous"})
    assert back["Location"] == link + "?page=1"
    page_1 = client.get(back["Location"]).content.decode()
    assert 'value="TY"' in page_1
    response.refresh_from_db()
    form = FormData.objects.get(record=response.record, form_name="enrolment")
    assert (form.values["initials"], form.values["incl___1"], form.values["incl___2"]) == (
        "TY",
        "1",
        "0",
    )


def test_save_and_return_issues_a_code_and_the_link_then_needs_it(client, enrolment_survey):
    response = start_public(client, enrolment_survey)
    link = f"/surveys/s/{response.token}/"
    saved = client.post(link, {**ENROLMENT_PAGE_1, "page": "1", "action": "save_return"})
    assert saved.status_code == 200
    response.refresh_from_db()
    assert len(response.return_code) == 8
    assert f'data-testid="return-code">{response.return_code}</p>' in saved.content.decode()
    assert response.status == "partial"
    reopened = client.get(link)
    assert reopened.status_code == 302 and reopened["Location"] == link + "return/"
    # The answers are not reachable without the code, by GET or POST.
    assert client.post(link, {"initials": "XX", "page": "1"})["Location"] == link + "return/"
    wrong = client.post(link + "return/", {"code": "WRONGCODE"})
    assert wrong.status_code == 400
    assert "This return code is not correct." in wrong.content.decode()
    right = client.post(link + "return/", {"code": response.return_code.lower()})
    assert right.status_code == 302 and right["Location"] == link + "?page=1"
    assert 'value="TY"' in client.get(right["Location"]).content.decode()
    form = FormData.objects.get(record=response.record, form_name="enrolment")
    assert form.values["initials"] == "TY"


def test_return_codes_cannot_be_guessed_quickly(client, enrolment_survey, settings):
    settings.OPENCRF_SURVEY_RETURN_TRIES_PER_LINK = 3
    response = start_public(client, enrolment_survey)
    link = f"/surveys/s/{response.token}/"
    client.post(link, {**ENROLMENT_PAGE_1, "page": "1", "action": "save_return"})
    response.refresh_from_db()
    statuses = [client.post(link + "return/", {"code": "AAAAAAAA"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    assert client.post(link + "return/", {"code": response.return_code}).status_code == 429


def test_the_completion_text_pipes_answers_and_its_html_stays_text(client, enrolment_survey, demo):
    response = start_public(client, enrolment_survey)
    link = f"/surveys/s/{response.token}/"
    client.post(link, {**ENROLMENT_PAGE_1, "page": "1", "action": "next"})
    eligible = {f"incl___{n}": "1" for n in range(1, 6)}
    assert client.post(link, {**eligible, "excl_any": "0", "page": "2"}).status_code == 302
    done = client.post(link, {"rand_group": "1", "page": "3", "action": "submit"})
    assert done["Location"] == link + "done/"
    html = client.get(done["Location"]).content.decode()
    assert "&lt;i&gt;Thank you&lt;/i&gt;, TY!" in html
    response.refresh_from_db()
    assert response.status == "completed"


def test_the_participant_switches_language_and_the_choice_is_kept(client, qol_survey, record):
    baseline = record.project.events.get(unique_name="baseline_arm_1")
    qol_survey.language = "ja"
    qol_survey.save()
    response = services.response_link(survey=qol_survey, record=record, event=baseline)
    link = f"/surveys/s/{response.token}/"
    first = client.get(link)
    assert '<html lang="ja">' in first.content.decode() and first["Content-Language"] == "ja"
    switched = client.post(link + "language/", {"language": "en", "page": "1"})
    assert switched["Location"] == link + "?page=1"
    response.refresh_from_db()
    assert response.language == "en"
    html = client.get(link).content.decode()
    assert '<html lang="en">' in html and ">Submit</button>" in html
    client.post(link + "language/", {"language": "xx"})
    response.refresh_from_db()
    assert response.language == "en"


def test_the_access_code_opens_its_survey(client, qol_survey, record, baseline):
    response = services.response_link(survey=qol_survey, record=record, event=baseline)
    typed = response.access_code[:4].lower() + "-" + response.access_code[4:]
    answer = client.post("/surveys/code/", {"code": typed})
    assert answer.status_code == 302 and answer["Location"] == f"/surveys/s/{response.token}/"
    wrong = client.post("/surveys/code/", {"code": "ZZZZZZZZZ"})
    assert wrong.status_code == 400
    assert "No survey has this access code." in wrong.content.decode()


def test_access_codes_cannot_be_guessed_quickly(client, qol_survey, record, baseline, settings):
    settings.OPENCRF_SURVEY_CODE_TRIES_PER_ADDRESS = 5
    response = services.response_link(survey=qol_survey, record=record, event=baseline)
    for _ in range(5):
        client.post("/surveys/code/", {"code": "ZZZZZZZZZ"})
    assert client.post("/surveys/code/", {"code": response.access_code}).status_code == 429


def test_auto_continue_leads_to_the_next_survey_of_the_event(
    client, demo, paula_context, qol_survey, record, baseline
):
    # Baseline collects baseline then quality_of_life: make baseline a survey that continues.
    first = services.survey_enable(
        context=paula_context, project=demo, form_name="baseline", auto_continue=True
    )
    response = services.response_link(survey=first, record=record, event=baseline)
    link = f"/surveys/s/{response.token}/"
    response_complete(response, context=services.respondent_context(response))
    following = client.get(link + "done/")
    qol = SurveyResponse.objects.get(survey=qol_survey, record=record, event=baseline)
    assert following.status_code == 302
    assert following["Location"] == f"/surveys/s/{qol.token}/"


def test_the_survey_queue_lists_the_surveys_due_after_a_completed_one(
    client, demo, paula_context, qol_survey, record, baseline
):
    first = services.survey_enable(context=paula_context, project=demo, form_name="baseline")
    services.survey_update(
        context=paula_context,
        survey=qol_survey,
        queue_enabled=True,
        queue_after="baseline",
        completion_text="Done.",
    )
    week_24 = demo.events.get(unique_name="week_24_arm_1")
    before = services.response_link(survey=first, record=record, event=baseline)
    assert survey_queue(record) == []
    response_complete(before, context=services.respondent_context(before))
    entries = survey_queue(record)
    response = SurveyResponse.objects.get(survey=qol_survey, record=record, event=baseline)
    # Due wherever it is collected: the baseline form is collected only at baseline.
    assert [(e.survey.form_name, e.event.unique_name, e.completed) for e in entries] == [
        ("quality_of_life", "baseline_arm_1", False),
        ("quality_of_life", "week_24_arm_1", False),
        ("quality_of_life", "week_52_arm_1", False),
    ]
    link = f"/surveys/s/{response.token}/"
    client.post(link, {**QOL, "page": "1", "action": "submit"})
    done = client.get(link + "done/").content.decode()
    assert 'data-testid="survey-queue"' in done
    assert '<span class="badge text-bg-success">Completed</span>' in done
    # Logic: due at week 24 once the baseline score is at least 10.
    services.survey_update(
        context=paula_context,
        survey=qol_survey,
        queue_after="",
        queue_logic="[baseline_arm_1][qol_score] >= 10",
    )
    entries = survey_queue(record)
    names = [(e.event.unique_name, e.completed) for e in entries]
    assert names == [
        ("baseline_arm_1", True),
        ("week_24_arm_1", False),
        ("week_52_arm_1", False),
    ]
    week_24_link = SurveyResponse.objects.get(record=record, event=week_24)
    queue = queue_link(record)
    assert queue_link(record).pk == queue.pk and len(queue.token) == 43
    page = client.get(f"/surveys/q/{queue.token}/")
    assert page.status_code == 200
    assert f'href="/surveys/s/{week_24_link.token}/"' in page.content.decode()
    assert client.get("/surveys/q/" + "x" * 43 + "/").status_code == 404
    assert QueueLink.objects.count() == 1


def test_queue_auto_start_opens_the_next_due_survey(
    client, demo, paula_context, qol_survey, record, baseline
):
    services.survey_update(
        context=paula_context,
        survey=qol_survey,
        queue_enabled=True,
        queue_logic="[baseline_arm_1][qol_score] >= 10",
        queue_auto_start=True,
    )
    response = services.response_link(survey=qol_survey, record=record, event=baseline)
    link = f"/surveys/s/{response.token}/"
    client.post(link, {**QOL, "page": "1", "action": "submit"})
    following = client.get(link + "done/")
    week_24 = SurveyResponse.objects.get(record=record, event__unique_name="week_24_arm_1")
    assert following.status_code == 302
    assert following["Location"] == f"/surveys/s/{week_24.token}/"


def test_question_numbers_follow_the_survey_setting(client, qol_survey, record, baseline):
    response = services.response_link(survey=qol_survey, record=record, event=baseline)
    html = client.get(f"/surveys/s/{response.token}/").content.decode()
    assert re.findall(r'<span class="crf-qnum">([^<]*)</span>', html)[:3] == ["1)", "2)", "3)"]
    qol_survey.numbering = "none"
    qol_survey.save()
    html = client.get(f"/surveys/s/{response.token}/").content.decode()
    assert "crf-qnum" not in html


def test_an_econsent_survey_leads_to_the_consent_page_instead_of_completing(
    client, qol_survey, record, baseline
):
    qol_survey.econsent = True
    qol_survey.save()
    response = services.response_link(survey=qol_survey, record=record, event=baseline)
    link = f"/surveys/s/{response.token}/"
    answer = client.post(link, {**QOL, "page": "1", "action": "submit"})
    assert answer.status_code == 302 and answer["Location"] == link + "consent/"
    response.refresh_from_db()
    assert response.status == "partial"
    form = FormData.objects.get(record=record, event=baseline, form_name="quality_of_life")
    assert form.status == 0


def test_response_complete_marks_the_form_complete(qol_survey, record, baseline):
    from opencrf.surveys.respond import answers_save, response_complete

    response = services.response_link(survey=qol_survey, record=record, event=baseline)
    context = services.respondent_context(response)
    answers_save(response, context=context, values=QOL, page=1)
    done = response_complete(response, context=context)
    assert (done.status, done.completed_at is not None) == ("completed", True)
    form = FormData.objects.get(record=record, event=baseline, form_name="quality_of_life")
    assert form.status == 2


def test_a_survey_to_follow_at_another_event_counts_when_completed_anywhere(
    client, demo, paula_context, qol_survey, enrolment_survey
):
    services.survey_update(
        context=paula_context, survey=qol_survey, queue_enabled=True, queue_after="enrolment"
    )
    response = start_public(client, enrolment_survey)
    link = f"/surveys/s/{response.token}/"
    client.post(link, {**ENROLMENT_PAGE_1, "page": "1"})
    eligible = {f"incl___{n}": "1" for n in range(1, 6)}
    client.post(link, {**eligible, "excl_any": "0", "page": "2"})
    response.refresh_from_db()
    assert survey_queue(response.record) == []
    client.post(link, {"rand_group": "1", "page": "3", "action": "submit"})
    entries = survey_queue(response.record)
    assert [(e.event.unique_name, e.completed) for e in entries] == [
        ("baseline_arm_1", False),
        ("week_24_arm_1", False),
        ("week_52_arm_1", False),
    ]
    client.post(link + "language/", {"language": "en"})
    done = client.get(link + "done/").content.decode()
    assert f'href="/surveys/s/{entries[0].response.token}/"' in done
    # The participant's language goes with them to the next surveys.
    languages = SurveyResponse.objects.filter(
        record=response.record, survey__form_name="quality_of_life"
    )
    assert sorted(languages.values_list("language", flat=True)) == ["en", "en", "en"]


def test_the_survey_queue_keeps_completed_surveys_marked_completed(
    client, demo, paula_context, qol_survey, record, baseline
):
    services.survey_update(
        context=paula_context,
        survey=qol_survey,
        queue_enabled=True,
        queue_logic="[baseline_arm_1][qol_score] >= 10",
    )
    response = services.response_link(survey=qol_survey, record=record, event=baseline)
    link = f"/surveys/s/{response.token}/"
    client.post(link, {**QOL, "page": "1", "action": "submit"})
    # The condition no longer holds: the completed survey is still listed, as completed.
    services.survey_update(
        context=paula_context, survey=qol_survey, queue_logic="[baseline_arm_1][qol_score] > 99"
    )
    entries = survey_queue(record)
    assert [(e.event.unique_name, e.completed) for e in entries] == [("baseline_arm_1", True)]
    queue_url = f"/surveys/q/{queue_link(record).token}/"
    for page in (client.get(queue_url), client.get(link + "done/")):
        html = page.content.decode()
        assert page.status_code == 200
        assert '<span class="badge text-bg-success">Completed</span>' in html
        assert f'href="{link}"' not in html
    # A link only when completed responses may be edited.
    services.survey_update(context=paula_context, survey=qol_survey, edit_completed=True)
    html = client.get(queue_url).content.decode()
    assert f'href="{link}">Edit response</a>' in html
