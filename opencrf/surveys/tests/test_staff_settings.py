"""Surveys in project setup and the survey settings page of each instrument (design right)."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.files.models import StoredFile
from opencrf.projects.models import ProjectMember
from opencrf.surveys.models import Survey

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def settings_url(survey):
    return reverse("surveys:settings", args=[survey.project_id, survey.pk])


def post_settings(client, survey, **changes):
    values = {
        "active": "on",
        "title": survey.title,
        "paging": survey.paging,
        "numbering": survey.numbering,
        "language": survey.language,
        "language_switch": "on",
        **changes,
    }
    return client.post(settings_url(survey), {k: v for k, v in values.items() if v is not None})


def test_project_settings_turn_surveys_and_ip_recording_on_and_audit_it(client, pi_paula, demo):
    demo.surveys_enabled = False
    demo.save()
    client.force_login(pi_paula)
    url = reverse("projects:settings", args=[demo.pk])
    page = client.get(url).content.decode()

    response = client.post(
        url,
        {
            "title": demo.title,
            "purpose": demo.purpose,
            "surveys_enabled": "on",
            "survey_ip_recorded": "on",
            "record_autonumbering": "on",
            "is_longitudinal": "on",
        },
    )

    assert 'name="surveys_enabled"' in page and 'name="survey_ip_recorded"' in page
    assert response.status_code == 302
    demo.refresh_from_db()
    assert (demo.surveys_enabled, demo.survey_ip_recorded) == (True, True)
    entry = AuditEvent.objects.filter(project_id=demo.pk, action="project.update").latest(
        "sequence"
    )
    assert entry.changes["surveys_enabled"] == [False, True]
    assert entry.changes["survey_ip_recorded"] == [False, True]


def test_the_list_shows_each_instrument_and_enables_one_as_a_survey(client, pi_paula, demo):
    client.force_login(pi_paula)
    page = client.get(reverse("surveys:list", args=[demo.pk])).content.decode()

    response = client.post(reverse("surveys:enable", args=[demo.pk]), {"form_name": "enrolment"})

    survey = Survey.objects.get(project=demo, form_name="enrolment")
    assert page.count('value="enrolment"') == 1 and "Enable as survey" in page
    assert response.status_code == 302 and response["Location"] == settings_url(survey)
    assert 'data-testid="nav-survey-distribution"' in page


def test_the_list_says_surveys_are_off_and_offers_no_enabling(client, pi_paula, demo):
    demo.surveys_enabled = False
    demo.save()
    client.force_login(pi_paula)

    page = client.get(reverse("surveys:list", args=[demo.pk])).content.decode()
    refused = client.post(reverse("surveys:enable", args=[demo.pk]), {"form_name": "enrolment"})

    assert 'data-testid="surveys-off"' in page and "Enable as survey" not in page
    assert refused.status_code == 302
    assert not Survey.objects.exists()


def test_every_setting_is_saved_and_audited(client, pi_paula, demo, qol_survey):
    client.force_login(pi_paula)
    response = post_settings(
        client,
        qol_survey,
        title="生活の質",
        instructions="Answer <b>all</b>",
        completion_text="Thanks",
        redirect_url="https://example.org/done",
        paging="sections",
        numbering="none",
        required_message="Please answer",
        save_and_return="on",
        edit_completed="on",
        expires_at="2099-01-02T03:04",
        response_limit="50",
        response_limit_message="Full",
        auto_continue="on",
        time_limit_minutes="30",
        language="en",
        language_switch=None,
        queue_enabled="on",
        queue_logic="[quality_of_life_complete] = '2'",
        queue_auto_start="on",
    )

    assert response.status_code == 302
    qol_survey.refresh_from_db()
    assert (qol_survey.title, qol_survey.paging, qol_survey.numbering) == (
        "生活の質",
        "sections",
        "none",
    )
    assert (qol_survey.response_limit, qol_survey.time_limit_minutes) == (50, 30)
    assert (qol_survey.language, qol_survey.language_switch) == ("en", False)
    assert (qol_survey.save_and_return, qol_survey.edit_completed, qol_survey.auto_continue) == (
        True,
        True,
        True,
    )
    assert qol_survey.expires_at.isoformat().startswith("2099-01-0")
    entry = AuditEvent.objects.filter(project_id=demo.pk, action="survey.update").latest("sequence")
    assert entry.changes["title"] == ["QOL", "生活の質"]
    assert entry.changes["queue_logic"] == ["", "[quality_of_life_complete] = '2'"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "  "}, "title", "This field is required."),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url", "Enter a valid URL."),
        ({"redirect_url": "ftp://example.org/"}, "redirect_url", "must start with https://"),
        ({"response_limit": "0"}, "response_limit", "from 1 to 10000000"),
        ({"time_limit_minutes": "9999999"}, "time_limit_minutes", "from 1 to 525600"),
        ({"queue_logic": "[nosuch] = 1"}, "queue_logic", "fields that do not exist: nosuch"),
        ({"queue_logic": "[age] >"}, "queue_logic", "cannot be read at line 1"),
        ({"queue_enabled": "on"}, "queue_enabled", "Say when the survey is due"),
        ({"queue_after": "quality_of_life"}, "queue_after", "Select a valid choice"),
        ({"econsent_name_field": "qol_energy"}, "econsent_name_field", "Select a valid choice"),
        ({"expires_at": "2001-01-01T00:00"}, "expires_at", "in the future"),
        ({"paging": "many"}, "paging", "Select a valid choice"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_setting_and_nothing_changes(
    client, pi_paula, demo, qol_survey, changes, field, message
):
    client.force_login(pi_paula)
    before = Survey.objects.filter(pk=qol_survey.pk).values().get()

    response = post_settings(client, qol_survey, **changes)

    html = response.content.decode()
    assert response.status_code == 400
    assert f'<a class="alert-link" href="#id_{field}">' in html
    assert message in html
    assert Survey.objects.filter(pk=qol_survey.pk).values().get() == before
    assert not AuditEvent.objects.filter(project_id=demo.pk, action="survey.update").exists()


def test_the_queue_logic_is_checked_as_it_is_typed(client, pi_paula, demo):
    client.force_login(pi_paula)
    url = reverse("surveys:check_logic", args=[demo.pk])

    good = client.get(url, {"logic": "[quality_of_life_complete] = '2'"}).json()
    bad = client.get(url, {"logic": "[nosuch] = 1"}).json()

    assert good == {"problem": None}
    assert bad == {"problem": "The logic refers to fields that do not exist: nosuch."}


def test_a_logo_is_stored_when_it_is_an_image_and_refused_otherwise(
    client, pi_paula, demo, qol_survey
):
    client.force_login(pi_paula)
    image = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    post_settings(client, qol_survey, logo=image)
    qol_survey.refresh_from_db()
    stored = qol_survey.logo

    fake = SimpleUploadedFile("logo.png", b"<script>alert(1)</script>", content_type="image/png")
    refused = post_settings(client, qol_survey, logo=fake)
    text = SimpleUploadedFile("logo.txt", b"hello", content_type="text/plain")
    not_image = post_settings(client, qol_survey, logo=text)

    assert stored is not None and stored.media_type == "image/png"
    assert refused.status_code == 400 and not_image.status_code == 400
    assert "The logo must be a PNG, JPEG, GIF or WebP image." in not_image.content.decode()
    qol_survey.refresh_from_db()
    assert qol_survey.logo_id == stored.pk
    assert StoredFile.objects.filter(project=demo, deleted_at__isnull=True).count() == 1


def test_disabling_a_survey_keeps_nothing_of_its_settings(client, pi_paula, demo, qol_survey):
    client.force_login(pi_paula)

    response = client.post(reverse("surveys:disable", args=[demo.pk, qol_survey.pk]))

    assert response.status_code == 302
    assert not Survey.objects.filter(pk=qol_survey.pk).exists()


def test_another_project_s_survey_is_not_found_and_unchanged(
    client, pi_paula, demo, qol_survey, classic_project
):
    client.force_login(pi_paula)
    foreign = reverse("surveys:settings", args=[classic_project.pk, qol_survey.pk])

    page = client.get(foreign)
    posted = client.post(foreign, {"title": "Hijacked"})
    disabled = client.post(reverse("surveys:disable", args=[classic_project.pk, qol_survey.pk]))

    assert (page.status_code, posted.status_code, disabled.status_code) == (404, 404, 404)
    qol_survey.refresh_from_db()
    assert qol_survey.title == "QOL"


def test_members_without_the_design_right_are_refused(client, demo, qol_survey, site_b_bea):
    ProjectMember.objects.create(project=demo, user=site_b_bea, survey_participants=True)
    client.force_login(site_b_bea)

    pages = [
        client.get(reverse("surveys:list", args=[demo.pk])),
        client.post(settings_url(qol_survey), {"title": "Mine"}),
        client.post(reverse("surveys:enable", args=[demo.pk]), {"form_name": "enrolment"}),
    ]

    assert [page.status_code for page in pages] == [403, 403, 403]
    assert Survey.objects.get().title == "QOL"


def test_html_in_a_title_is_shown_as_text(client, pi_paula, demo, qol_survey):
    qol_survey.title = '<img src=x onerror="alert(1)">'
    qol_survey.save()
    client.force_login(pi_paula)

    html = client.get(reverse("surveys:list", args=[demo.pk])).content.decode()

    assert '<img src=x onerror="alert(1)">' not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_the_services_refuse_e_consent_fields_of_the_wrong_type_naming_each(
    demo, paula_context, qol_survey
):
    from opencrf.surveys.services import survey_update
    from opencrf.surveys.settings_check import SurveySettingsInvalid

    with pytest.raises(SurveySettingsInvalid) as refused:
        survey_update(
            context=paula_context,
            survey=qol_survey,
            econsent=True,
            econsent_name_field="qol_energy",
            econsent_signature_field="qol_date",
            queue_after="quality_of_life",
        )

    assert refused.value.problems == {
        "queue_after": "Choose another survey of this project.",
        "econsent_name_field": "Choose a text field of this instrument.",
        "econsent_signature_field": (
            "Choose a file upload field of this instrument (a signature field)."
        ),
    }
    qol_survey.refresh_from_db()
    assert (qol_survey.econsent, qol_survey.econsent_name_field) == (False, "")


def test_the_instruments_page_leads_designers_to_the_survey_settings(client, pi_paula, demo):
    client.force_login(pi_paula)

    html = client.get(reverse("dictionary:instruments", args=[demo.pk])).content.decode()

    assert (
        f'href="{reverse("surveys:list", args=[demo.pk])}" data-testid="survey-settings-link"'
        in html
    )


@pytest.mark.parametrize(
    ("zone", "utc"), [("Asia/Tokyo", "2099-01-02T00:04"), ("UTC", "2099-01-02T09:04")]
)
def test_the_expiry_says_its_time_zone_and_is_read_in_it(
    client, pi_paula, demo, qol_survey, settings, zone, utc
):
    settings.TIME_ZONE = zone
    client.force_login(pi_paula)
    page = client.get(settings_url(qol_survey)).content.decode()
    help_text = f"Date and time in the site&#x27;s time zone, {zone}. Leave blank for no expiry."
    assert f'data-testid="help-expires_at">{help_text}</div>' in page
    assert 'aria-describedby="id_expires_at_helptext"' in page
    assert post_settings(client, qol_survey, expires_at="2099-01-02T09:04").status_code == 302
    qol_survey.refresh_from_db()
    assert qol_survey.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") == utc
