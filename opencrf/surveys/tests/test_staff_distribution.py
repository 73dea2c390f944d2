"""Survey Distribution Tools: the public link, participant lists and their links, under the
"Manage survey participants" right and the data access groups."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember
from opencrf.surveys import services
from opencrf.surveys.models import Participant, SurveyResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolment_survey(demo, paula_context):
    return services.survey_enable(
        context=paula_context, project=demo, form_name="enrolment", title="Enrolment"
    )


@pytest.fixture
def screening(demo):
    return demo.events.get(unique_name="screening_arm_1")


@pytest.fixture
def site_a_sam(django_user_model, demo):
    user = django_user_model.objects.create_user(username="site_a_sam", password="x")
    forms = list(demo.instruments.values_list("name", flat=True))
    ProjectMember.objects.create(
        project=demo,
        user=user,
        group=demo.groups.get(unique_name="toto_univ"),
        survey_participants=True,
        form_rights=dict.fromkeys(forms, "edit"),
    )
    return user


def tools_url(project, survey=None, event=None):
    url = reverse("surveys:distribution", args=[project.pk])
    return f"{url}?survey={survey.pk}&event={event.pk}" if survey else url


def list_url(name, survey, event, *extra):
    return reverse(f"surveys:{name}", args=[survey.project_id, survey.pk, event.pk, *extra])


def add(client, survey, event, **values):
    return client.post(list_url("participant_add", survey, event), values, follow=True)


def test_the_public_link_of_the_first_instrument_is_shown_with_its_qr_code(
    client, pi_paula, demo, enrolment_survey
):
    client.force_login(pi_paula)

    html = client.get(tools_url(demo)).content.decode()

    link = f"http://testserver/surveys/p/{enrolment_survey.public_token}/"
    assert f'id="public-url" value="{link}" readonly' in html
    assert '<img src="data:image/svg+xml;base64,' in html
    assert 'data-copy="public-url"' in html
    assert 'data-testid="nav-survey-distribution"' in html


def test_there_is_no_public_link_when_the_first_instrument_is_not_a_survey(
    client, pi_paula, demo, qol_survey
):
    client.force_login(pi_paula)

    html = client.get(tools_url(demo)).content.decode()

    assert 'data-testid="no-public-link"' in html
    assert "/surveys/p/" not in html


def test_a_participant_is_added_with_their_own_link_and_audited(
    client, pi_paula, demo, enrolment_survey, screening
):
    client.force_login(pi_paula)

    page = add(client, enrolment_survey, screening, email="hanako@example.jp", identifier="P-1")

    participant = Participant.objects.get()
    response = SurveyResponse.objects.get(participant=participant)
    html = page.content.decode()
    assert (participant.email, participant.identifier, participant.event) == (
        "hanako@example.jp",
        "P-1",
        screening,
    )
    assert (response.record, response.public, response.event) == (None, False, screening)
    assert f"http://testserver/surveys/s/{response.token}/" in html
    assert response.access_code in html
    entry = AuditEvent.objects.filter(project_id=demo.pk).latest("sequence")
    assert (entry.action, entry.changes) == (
        "survey.participant_add",
        {"participants": [participant.pk]},
    )


def test_a_bad_e_mail_address_adds_nobody(client, pi_paula, enrolment_survey, screening):
    client.force_login(pi_paula)

    page = add(client, enrolment_survey, screening, email="not an address")

    assert "“not an address” is not an e-mail address." in page.content.decode()
    assert not Participant.objects.exists() and not SurveyResponse.objects.exists()


def test_an_import_with_one_bad_line_adds_nobody_and_names_the_line(
    client, pi_paula, enrolment_survey, screening
):
    client.force_login(pi_paula)
    text = "email,identifier,language\na@example.jp,A,ja\nbroken,B,en\nc@example.jp,C,fr\n"

    page = client.post(
        list_url("participant_import", enrolment_survey, screening), {"text": text}, follow=True
    )

    html = page.content.decode()
    assert "Nothing was added. Line 2: “broken” is not an e-mail address." in html
    assert "Line 3: The language must be ja, en or blank." in html
    assert not Participant.objects.exists()


def test_an_import_adds_every_line_of_a_pasted_list_or_a_csv_file(
    client, pi_paula, enrolment_survey, screening
):
    client.force_login(pi_paula)
    url = list_url("participant_import", enrolment_survey, screening)

    client.post(url, {"text": "a@example.jp,A,ja\n\nb@example.jp,B,English\n"})
    upload = SimpleUploadedFile("list.csv", "\ufeffc@example.jp,患者C\n".encode())
    client.post(url, {"upload": upload})
    duplicate = client.post(url, {"text": "A@example.jp"}, follow=True)

    rows = Participant.objects.values_list("email", "identifier", "language")
    assert list(rows) == [
        ("a@example.jp", "A", "ja"),
        ("b@example.jp", "B", "en"),
        ("c@example.jp", "患者C", ""),
    ]
    assert SurveyResponse.objects.filter(participant__isnull=False).count() == 3
    assert "Line 1: A@example.jp is already on this list." in duplicate.content.decode()


def test_participants_are_added_only_to_the_first_survey_s_list(client, pi_paula, demo, qol_survey):
    client.force_login(pi_paula)
    baseline = demo.events.get(unique_name="baseline_arm_1")

    page = add(client, qol_survey, baseline, email="a@example.jp")
    html = page.content.decode()

    assert "Participants can be added only to the first survey" in html
    assert 'data-testid="closed-list"' in html
    assert not Participant.objects.exists()


def test_a_participant_is_changed_and_deleted_while_they_have_not_answered(
    client, pi_paula, enrolment_survey, screening
):
    client.force_login(pi_paula)
    add(client, enrolment_survey, screening, email="a@example.jp")
    participant = Participant.objects.get()
    url = list_url("participant", enrolment_survey, screening, participant.pk)

    page = client.get(url).content.decode()
    client.post(url, {"email": "b@example.jp", "identifier": "P-9", "language": "en"})
    participant.refresh_from_db()
    deleted = client.post(
        list_url("participant_delete", enrolment_survey, screening, participant.pk)
    )

    assert 'id="participant-url"' in page and "data:image/svg+xml;base64," in page
    assert (participant.email, participant.identifier, participant.language) == (
        "b@example.jp",
        "P-9",
        "en",
    )
    assert deleted.status_code == 302
    assert not Participant.objects.exists() and not SurveyResponse.objects.exists()


def test_a_participant_who_has_answered_cannot_be_deleted(
    client, pi_paula, enrolment_survey, screening
):
    client.force_login(pi_paula)
    add(client, enrolment_survey, screening, email="a@example.jp")
    participant = Participant.objects.get()
    SurveyResponse.objects.filter(participant=participant).update(status="partial")

    page = client.post(
        list_url("participant_delete", enrolment_survey, screening, participant.pk), follow=True
    )

    assert "This participant has responded" in page.content.decode()
    assert Participant.objects.filter(pk=participant.pk).exists()


def test_another_project_s_survey_or_participant_is_not_found(
    client, pi_paula, demo, enrolment_survey, screening, classic_project
):
    classic_project.surveys_enabled = True
    classic_project.save()
    client.force_login(pi_paula)
    add(client, enrolment_survey, screening, email="a@example.jp")
    participant = Participant.objects.get()
    foreign = [enrolment_survey.pk, screening.pk]

    answers = [
        client.get(
            reverse("surveys:distribution", args=[classic_project.pk]) + f"?survey={foreign[0]}"
        ),
        client.post(
            reverse("surveys:participant_add", args=[classic_project.pk, *foreign]),
            {"email": "x@example.jp"},
        ),
        client.post(
            reverse("surveys:participant", args=[classic_project.pk, *foreign, participant.pk]),
            {"email": "x@example.jp"},
        ),
        client.post(
            reverse(
                "surveys:participant_delete", args=[classic_project.pk, *foreign, participant.pk]
            )
        ),
        client.get(list_url("participant", enrolment_survey, screening, participant.pk + 99)),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404, 404, 404]
    assert list(Participant.objects.values_list("email", flat=True)) == ["a@example.jp"]


def test_members_without_the_participants_right_are_refused(
    client, demo, enrolment_survey, screening, site_b_bea
):
    forms = list(demo.instruments.values_list("name", flat=True))
    ProjectMember.objects.create(
        project=demo, user=site_b_bea, design=True, form_rights=dict.fromkeys(forms, "edit")
    )
    client.force_login(site_b_bea)

    tools = client.get(tools_url(demo))
    added = add(client, enrolment_survey, screening, email="a@example.jp")
    home = client.get(reverse("projects:home", args=[demo.pk])).content.decode()

    assert (tools.status_code, added.status_code) == (403, 403)
    assert "You may not manage survey participants in this project." in tools.content.decode()
    assert 'data-testid="nav-survey-distribution"' not in home
    assert not Participant.objects.exists()


def test_the_tools_are_refused_while_surveys_are_off(client, pi_paula, demo):
    demo.surveys_enabled = False
    demo.save()
    client.force_login(pi_paula)

    answer = client.get(tools_url(demo))
    home = client.get(reverse("projects:home", args=[demo.pk])).content.decode()

    assert answer.status_code == 403
    assert "Surveys are not enabled in this project." in answer.content.decode()
    assert 'data-testid="nav-survey-distribution"' not in home


def test_a_group_member_sees_only_their_group_s_record_links(client, demo, qol_survey, site_a_sam):
    baseline = demo.events.get(unique_name="baseline_arm_1")
    own = demo.records.get(record_id="1-1")
    other = demo.records.get(record_id="2-1")
    mine = services.response_link(survey=qol_survey, record=own, event=baseline)
    theirs = services.response_link(survey=qol_survey, record=other, event=baseline)
    client.force_login(site_a_sam)

    html = client.get(tools_url(demo, qol_survey, baseline)).content.decode()
    refused = client.get(
        reverse(
            "surveys:record_link", args=[demo.pk, "2-1", "baseline_arm_1", "quality_of_life", 1]
        )
    )

    assert mine.token in html and mine.access_code in html
    assert theirs.token not in html and theirs.access_code not in html
    assert ">2-1<" not in html
    assert refused.status_code == 404


def test_html_in_an_identifier_is_shown_as_text(client, pi_paula, enrolment_survey, screening):
    client.force_login(pi_paula)

    page = add(
        client, enrolment_survey, screening, email="a@example.jp", identifier="<script>x()</script>"
    )

    html = page.content.decode()
    assert "<script>x()</script>" not in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html


def test_a_participant_whose_record_is_another_group_s_is_hidden_from_a_group_member(
    client, pi_paula, demo, enrolment_survey, screening, site_a_sam
):
    client.force_login(pi_paula)
    add(client, enrolment_survey, screening, email="other-site@example.jp")
    add(client, enrolment_survey, screening, email="no-record-yet@example.jp")
    answered, waiting = Participant.objects.order_by("pk")
    SurveyResponse.objects.filter(participant=answered).update(
        record=demo.records.get(record_id="2-1"), status="completed"
    )
    client.force_login(site_a_sam)

    html = client.get(tools_url(demo, enrolment_survey, screening)).content.decode()
    hidden = client.get(list_url("participant", enrolment_survey, screening, answered.pk))
    shown = client.get(list_url("participant", enrolment_survey, screening, waiting.pk))

    assert "other-site@example.jp" not in html and "no-record-yet@example.jp" in html
    assert (hidden.status_code, shown.status_code) == (404, 200)


def test_the_list_s_queries_do_not_grow_with_its_participants(
    client, pi_paula, enrolment_survey, screening
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(pi_paula)
    url = list_url("participant_import", enrolment_survey, screening)
    page = tools_url(enrolment_survey.project, enrolment_survey, screening)

    client.post(url, {"text": "a1@example.jp"})
    with CaptureQueriesContext(connection) as one:
        client.get(page)
    client.post(url, {"text": "\n".join(f"b{n}@example.jp" for n in range(20))})
    with CaptureQueriesContext(connection) as many:
        html = client.get(page).content.decode()

    assert html.count('data-testid="participant-row"') == 21
    assert len(many.captured_queries) == len(one.captured_queries)
