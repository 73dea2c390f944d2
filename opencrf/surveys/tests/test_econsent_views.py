"""The e-consent pages: the participant's consent page and PDF preview (bound to their link),
and the staff list and download of a record's consents."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from opencrf.dictionary.design import design_of
from opencrf.files.models import StoredFile
from opencrf.projects.models import ProjectMember
from opencrf.projects.services import group_create
from opencrf.records.models import FormData
from opencrf.records.services import record_create_with_form
from opencrf.surveys.models import Consent, SurveyResponse
from opencrf.surveys.respond import answers_save
from opencrf.surveys.services import respondent_context, response_link
from opencrf.surveys.tests.econsent_world import (
    answered_response,
    consent_study,
    consent_survey,
    signature_png,
)

pytestmark = pytest.mark.django_db
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def study(paula_context):
    return consent_study(paula_context)


@pytest.fixture
def survey(study, paula_context):
    return consent_survey(paula_context, study)


@pytest.fixture
def response(survey, paula_context):
    return answered_response(paula_context, survey)


def consent_url(response):
    return reverse("surveys_public:consent", args=[response.token])


def post(client, response, **fields):
    data = {
        "name": "山田 花子",
        "certify": "1",
        "version": str(
            getattr(FormData.objects.filter(record=response.record).first(), "version", 0)
        ),
        "signature": SimpleUploadedFile("signature.png", signature_png(), "image/png"),
        **fields,
    }
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(consent_url(response), data)


def test_the_consent_page_shows_the_answers_the_pdf_link_and_the_signature_pad(client, response):
    page = client.get(consent_url(response))
    assert page.status_code == 200
    html = page.content.decode()
    assert "参加に同意しますか / Do you agree to take part?" in html
    assert "メール / E-mail" in html  # the chosen label, not its code
    assert "<dt>署名 / Signature</dt>" not in html  # asked below, not listed as an answer
    assert 'value="山田 花子"' in html  # the name answered in the survey
    assert reverse("surveys_public:consent_pdf", args=[response.token]) in html
    assert 'name="signature" accept="image/png" data-signature' in html
    assert "signature-pad.js" in html
    assert "<script>" not in html.split("</head>")[1].replace('<script type="module"', "")


def test_the_pdf_preview_is_shown_inline_and_not_kept(client, response):
    before = StoredFile.objects.count()
    answer = client.get(reverse("surveys_public:consent_pdf", args=[response.token]))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer["Content-Disposition"].startswith("inline;")
    assert answer.content.startswith(b"%PDF-")
    assert StoredFile.objects.count() == before


def test_confirming_stores_the_consent_and_goes_to_the_end_of_the_survey(client, response):
    answer = post(client, response)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("surveys_public:done", args=[response.token])
    consent = Consent.objects.get()
    assert (consent.version, consent.name, consent.record) == ("2.1", "山田 花子", response.record)
    response.refresh_from_db()
    assert response.status == SurveyResponse.Status.COMPLETED
    assert client.get(consent_url(response)).status_code == 404


def unanswered_response(paula_context, survey, values=None):
    """Record 1's consent link, its survey page never submitted (or submitted without the
    required checks, as `values` say)."""
    event = design_of(survey.project).events[0]
    record, _result = record_create_with_form(
        context=paula_context,
        project=survey.project,
        record_id="1",
        arm=None,
        event=event,
        form_name="consent",
        values={},
    )
    response = response_link(survey=survey, record=record, event=event)
    if values is not None:
        context = respondent_context(response)
        response = answers_save(response, context=context, values=values, page=1)
    return response


@pytest.mark.parametrize(
    "values", [None, {"agree": "", "contact": "2", "participant_name": "山田 花子"}]
)
def test_a_consent_link_opened_before_the_required_answers_goes_back_to_the_survey(
    client, survey, paula_context, values
):
    response = unanswered_response(paula_context, survey, values)
    files_before = StoredFile.objects.count()
    forms = list(FormData.objects.values_list("values", "status", "version"))
    assert forms == (
        [] if values is None else [({"contact": "2", "participant_name": "山田 花子"}, 0, 1)]
    )
    survey_url = reverse("surveys_public:respond", args=[response.token])
    assert client.get(consent_url(response))["Location"] == survey_url
    assert client.get(consent_url(response) + "pdf/")["Location"] == survey_url
    answer = post(client, response)
    assert answer.status_code == 302
    assert answer["Location"] == survey_url
    assert not Consent.objects.exists()
    assert StoredFile.objects.count() == files_before
    assert list(FormData.objects.values_list("values", "status", "version")) == forms
    response.refresh_from_db()
    assert response.status != SurveyResponse.Status.COMPLETED


def test_a_closed_consent_link_speaks_the_surveys_language_not_the_browsers(
    client, survey, response
):
    english = client.get(consent_url(response), HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
    post(client, response)
    closed = client.get(consent_url(response), HTTP_ACCEPT_LANGUAGE="en")
    assert closed.status_code == 404
    assert closed["Content-Language"] == "ja"
    with translation.override("ja"):
        assert gettext("This survey link is not valid.") in closed.content.decode()
    assert "This survey link is not valid." not in closed.content.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Please type your full name."),
        ({"signature": None}, "Please sign in the box."),
        ({"certify": None}, "Please tick the box to certify that the information is correct."),
        (
            {"signature": SimpleUploadedFile("signature.png", b"<svg onload=alert(1)>")},
            "The signature must be a PNG image.",
        ),
    ],
)
def test_confirming_without_name_signature_or_certification_stores_nothing(
    client, response, fields, message
):
    files_before = StoredFile.objects.count()
    answer = post(client, response, **fields)
    assert answer.status_code == 400
    with translation.override("ja"):  # the survey's language
        assert gettext(message) != message
        assert gettext(message) in answer.content.decode()
    assert not Consent.objects.exists()
    assert StoredFile.objects.count() == files_before
    response.refresh_from_db()
    assert response.status == SurveyResponse.Status.PARTIAL


def test_a_link_reaches_only_its_own_response(client, survey, response, paula_context):
    other = answered_response(
        paula_context, survey, {"participant_name": "Other Person"}, record_id="2"
    )
    page = client.get(consent_url(other)).content.decode()
    assert "Other Person" in page
    assert "山田 花子" not in page
    answer = post(client, other, record="1", record_id="1", name="Other Person")
    assert answer.status_code == 302
    assert Consent.objects.get().record.record_id == "2"
    assert not Consent.objects.filter(record=response.record).exists()


def test_an_unknown_token_is_not_found(client, response):
    assert client.get("/surveys/s/not-a-real-token/consent/").status_code == 404
    assert client.get("/surveys/s/not-a-real-token/consent/pdf/").status_code == 404
    assert client.post("/surveys/s/not-a-real-token/consent/", {}).status_code == 404


def test_html_in_the_name_and_answers_is_inert_on_the_page(client, survey, paula_context):
    response = answered_response(paula_context, survey, {"participant_name": HOSTILE})
    html = client.get(consent_url(response)).content.decode()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_the_consent_page_speaks_the_surveys_language(client, survey, response):
    english = client.get(consent_url(response) + "?lang=en")
    assert english["Content-Language"] == "en"
    assert '<html lang="en">' in english.content.decode()
    assert "Your full name" in english.content.decode()
    default = client.get(consent_url(response))
    assert default["Content-Language"] == "ja"  # the survey's language
    assert client.get(consent_url(response) + "?lang=xx")["Content-Language"] == "ja"


# ---------------------------------------------------------------- staff


@pytest.fixture
def signed(client, response):
    post(client, response, name=HOSTILE)
    return Consent.objects.get()


def download_url(study, record_id, consent):
    return reverse("surveys:consent_download", args=[study.pk, record_id, consent.pk])


def test_staff_see_the_records_consents_and_download_the_pdf(client, study, signed, pi_paula):
    client.force_login(pi_paula)
    page = client.get(reverse("surveys:consents", args=[study.pk, "1"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "2.1" in html
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html
    home = client.get(reverse("records:home", args=[study.pk, "1"])).content.decode()
    assert 'data-testid="record-consents"' in home
    assert download_url(study, "1", signed) in home
    answer = client.get(download_url(study, "1", signed))
    assert answer.status_code == 200
    data = b"".join(answer.streaming_content)
    assert hashlib.sha256(data).hexdigest() == signed.sha256
    assert answer["Content-Disposition"].startswith("attachment;")


def test_staff_of_another_site_cannot_list_or_download(
    client, study, survey, paula_context, site_b_bea
):
    osaka = group_create(context=paula_context, project=study, name="Osaka")
    kyoto = group_create(context=paula_context, project=study, name="Kyoto")
    forms = dict.fromkeys(study.instruments.values_list("name", flat=True), "edit")
    ProjectMember.objects.create(project=study, user=site_b_bea, group=kyoto, form_rights=forms)
    response = answered_response(paula_context, survey, group=osaka)
    post(client, response)
    consent = Consent.objects.get()
    client.force_login(site_b_bea)
    assert client.get(reverse("surveys:consents", args=[study.pk, "1"])).status_code == 404
    assert client.get(download_url(study, "1", consent)).status_code == 404


def test_a_non_member_cannot_download(client, study, signed, django_user_model):
    outsider = django_user_model.objects.create_user(username="out", password="x" * 20)
    client.force_login(outsider)
    assert client.get(download_url(study, "1", signed)).status_code == 404


def test_confirmations_beyond_the_links_rate_limit_are_refused(client, response, settings):
    settings.OPENCRF_SURVEY_POSTS_PER_LINK = 2
    assert [post(client, response, name="").status_code for _ in range(2)] == [400, 400]
    answer = post(client, response)
    assert answer.status_code == 429
    assert not Consent.objects.exists()


def test_a_consent_survey_with_a_wrong_signature_field_says_it_is_not_set_up(
    client, survey, response
):
    survey.econsent_signature_field = "agree"
    survey.save()
    page = client.get(consent_url(response))
    assert page.status_code == 403
    # In the survey's language (Japanese), whatever the browser asks.
    assert "同意文書の設定がまだ完了していません。" in page.content.decode()
    assert post(client, response).status_code == 403
    assert not Consent.objects.exists()
