"""E-consent: signing stores the PDF (SHA-256, version, name), files it, audits it and completes
the response; a refusal stores nothing; staff see a record's consents only where they may."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import translation
from pypdf import PdfReader

from opencrf.audit.models import AuditEvent
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.dictionary.columns import FieldRow
from opencrf.files.models import RepositoryDocument, StoredFile
from opencrf.projects.models import ProjectMember
from opencrf.projects.services import group_create
from opencrf.records.errors import RecordNotFound, SaveConflict
from opencrf.records.models import FormData
from opencrf.records.pdf import FormPage, forms_pdf
from opencrf.records.services import record_delete
from opencrf.surveys import econsent
from opencrf.surveys.models import Consent, SurveyResponse
from opencrf.surveys.services import respondent_context
from opencrf.surveys.tests.econsent_world import (
    answered_response,
    consent_study,
    consent_survey,
    record_of,
    signature_png,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(paula_context):
    return consent_study(paula_context)


@pytest.fixture
def survey(study, paula_context):
    return consent_survey(paula_context, study)


@pytest.fixture
def response(survey, paula_context):
    return answered_response(paula_context, survey)


def form_of(response):
    return FormData.objects.get(record=response.record, form_name="consent")


def stored_bytes(stored_file):
    with default_storage.open(stored_file.key, "rb") as handle:
        return handle.read()


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def sign(response, *, name="山田 花子", png=None, certified=True, version=None):
    signature = ContentFile(png if png is not None else signature_png(), name="signature.png")
    snapshot = econsent.consent_snapshot(response)
    return econsent.consent_sign(
        response=response,
        context=respondent_context(response),
        signing=econsent.Signing(
            name=name,
            signature=signature if png != b"" else None,
            certified=certified,
            version=snapshot.version if version is None else version,
        ),
    )


def nothing_kept(response, before_files, before_values):
    response.refresh_from_db()
    assert Consent.objects.count() == 0
    assert RepositoryDocument.objects.count() == 0
    assert StoredFile.objects.filter(deleted_at__isnull=True).count() == before_files
    assert response.status == SurveyResponse.Status.PARTIAL
    assert form_of(response).values == before_values
    assert form_of(response).status == 0
    assert not AuditEvent.objects.filter(action="survey.consent").exists()


def test_signing_stores_the_pdf_whose_sha256_matches_its_stored_bytes(response):
    consent = sign(response)
    data = stored_bytes(consent.pdf)
    assert data.startswith(b"%PDF-")
    assert consent.sha256 == consent.pdf.sha256 == hashlib.sha256(data).hexdigest()
    assert consent.pdf.media_type == "application/pdf"
    assert consent.pdf.original_name.startswith("econsent_1_consent_")


def test_signing_keeps_the_version_name_and_time_in_the_consent_and_its_pdf(response):
    consent = sign(response, name="  山田   花子 ")
    assert (consent.version, consent.name, consent.form_name) == ("2.1", "山田 花子", "consent")
    assert consent.record == response.record
    text = pdf_text(stored_bytes(consent.pdf))
    assert "2.1" in text
    assert "山田 花子" in text
    assert consent.signed_at.astimezone().strftime("%Y-%m-%d") in text


def test_signing_saves_name_and_signature_and_completes_the_response(response):
    consent = sign(response)
    response.refresh_from_db()
    form = form_of(response)
    assert response.status == SurveyResponse.Status.COMPLETED
    assert response.completed_at is not None
    assert form.status == 2
    assert form.values["participant_name"] == "山田 花子"
    drawn = StoredFile.objects.get(pk=int(form.values["participant_sig"]))
    assert drawn.media_type == "image/png"
    assert stored_bytes(drawn) == signature_png()
    assert consent.pdf.pk != drawn.pk


def test_signing_files_the_pdf_in_the_repositorys_e_consent_folder(response):
    consent = sign(response)
    document = RepositoryDocument.objects.get()
    assert document.stored_file == consent.pdf
    assert document.folder.name == "e-Consent"
    assert document.folder.group is None


def test_signing_is_audited_as_the_participants_pseudonym(response):
    consent = sign(response)
    entry = AuditEvent.objects.get(action="survey.consent")
    assert entry.source == "survey"
    assert entry.actor is None
    assert entry.actor_name == f"[survey respondent #{response.pk}]"
    assert (entry.record, entry.instrument) == ("1", "consent")
    assert entry.changes["sha256"] == consent.sha256
    assert entry.changes["version"] == "2.1"
    stores = AuditEvent.objects.filter(action="file.store", record="1")
    assert {e.changes["file_id"] for e in stores} >= {consent.pdf_id}


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"name": "   "}, {"name"}),
        ({"png": b""}, {"signature"}),
        ({"certified": False}, {"certify"}),
        ({"name": "", "png": b"", "certified": False}, {"name", "signature", "certify"}),
        ({"png": signature_png(blank=True)}, {"signature"}),
        ({"png": b"GIF89a" + b"\x00" * 40}, {"signature"}),
        ({"png": b"\x89PNG\r\n\x1a\n" + b"garbage" * 10}, {"signature"}),
        ({"name": "x" * 301}, {"name"}),
    ],
)
def test_consent_is_refused_without_name_signature_or_certification(response, kwargs, missing):
    before_files = StoredFile.objects.filter(deleted_at__isnull=True).count()
    before_values = form_of(response).values
    with pytest.raises(econsent.ConsentIncomplete) as refused:
        sign(response, **kwargs)
    assert set(refused.value.problems) == missing
    nothing_kept(response, before_files, before_values)


def test_consent_over_answers_changed_since_the_page_was_shown_is_refused(response):
    seen = econsent.consent_snapshot(response).version
    before_files = StoredFile.objects.filter(deleted_at__isnull=True).count()
    before_values = form_of(response).values
    with pytest.raises(SaveConflict):
        sign(response, version=seen - 1)
    nothing_kept(response, before_files, before_values)


def test_a_signed_consent_cannot_be_signed_again(response):
    sign(response)
    with pytest.raises(NotFound):
        econsent.consent_response(response.token)
    with pytest.raises(InvalidInput):
        sign(SurveyResponse.objects.get(pk=response.pk))
    assert Consent.objects.count() == 1


def test_a_survey_without_e_consent_has_no_consent_page(survey, response, paula_context):
    survey.econsent = False
    survey.save()
    with pytest.raises(NotFound):
        econsent.consent_response(response.token)
    with pytest.raises(NotFound):
        econsent.consent_response("not-a-token")


def test_html_in_the_name_is_plain_text_in_the_pdf(response):
    hostile = "<b>Bold</b><img src=x onerror=alert(1)>&amp;"
    consent = sign(response, name=hostile)
    assert consent.name == hostile
    assert hostile in pdf_text(stored_bytes(consent.pdf)).replace("\n", "")


def test_html_in_answers_is_plain_text_in_the_pdf(survey, paula_context):
    response = answered_response(
        paula_context, survey, {"participant_name": '<font color="red">Eve</font>'}
    )
    consent = sign(response, name='<font color="red">Eve</font>')
    assert pdf_text(stored_bytes(consent.pdf)).count('<font color="red">Eve</font>') == 2


# ---------------------------------------------------------------- staff


@pytest.fixture
def sites(study, paula_context):
    return group_create(context=paula_context, project=study, name="Osaka"), group_create(
        context=paula_context, project=study, name="Kyoto"
    )


@pytest.fixture
def kyoto_bea(study, sites, site_b_bea):
    forms = dict.fromkeys(study.instruments.values_list("name", flat=True), "edit")
    ProjectMember.objects.create(project=study, user=site_b_bea, group=sites[1], form_rights=forms)
    return site_b_bea


def test_staff_list_a_records_consents_and_reach_their_pdfs(study, response, pi_paula):
    consent = sign(response)
    assert econsent.record_consents(pi_paula, study, "1") == [consent]
    assert econsent.access_consent_pdf(pi_paula, study, "1", consent.pk) == consent.pdf


def test_staff_of_another_site_can_neither_list_nor_download(
    study, survey, sites, kyoto_bea, paula_context
):
    osaka = answered_response(paula_context, survey, record_id="1", group=sites[0])
    consent = sign(osaka)
    with pytest.raises(RecordNotFound):
        econsent.record_consents(kyoto_bea, study, "1")
    with pytest.raises(NotFound):
        econsent.access_consent_pdf(kyoto_bea, study, "1", consent.pk)
    document = RepositoryDocument.objects.get()
    assert document.folder.group == sites[0]


def test_a_consent_of_another_record_is_not_found_through_this_record(
    study, survey, response, paula_context, pi_paula
):
    other = answered_response(paula_context, survey, record_id="2")
    consent = sign(other)
    with pytest.raises(NotFound):
        econsent.access_consent_pdf(pi_paula, study, "1", consent.pk)


def test_an_ungrouped_records_consent_stays_out_of_the_repository_when_sites_exist(sites, response):
    consent = sign(response)
    assert not RepositoryDocument.objects.exists()
    assert Consent.objects.get() == consent


def test_a_consent_without_name_and_signature_fields_keeps_them_in_the_pdf_only(
    survey, paula_context
):
    survey.econsent_name_field = ""
    survey.econsent_signature_field = ""
    survey.save()
    response = answered_response(paula_context, survey, {"participant_name": ""})
    consent = sign(response, name="Taro")
    assert form_of(response).values.get("participant_name", "") == ""
    assert "Taro" in pdf_text(stored_bytes(consent.pdf))
    assert record_of(response).consents.get() == consent


def test_deleting_a_signed_record_keeps_its_pdf_in_the_repository(response, paula_context):
    consent = sign(response)
    record_delete(context=paula_context, record=record_of(response), reason="Withdrawn")
    assert not Consent.objects.exists()
    assert RepositoryDocument.objects.get().stored_file == consent.pdf
    assert AuditEvent.objects.filter(action="survey.consent", record="1").count() == 1


@pytest.mark.parametrize(
    ("survey_language", "chosen", "yes", "no", "other"),
    [
        ("ja", "", "■ はい", "□ いいえ", "Yes"),
        ("en", "", "■ Yes", "□ No", "はい"),
        ("ja", "en", "■ Yes", "□ No", "はい"),
    ],
)
def test_the_pdf_says_yes_and_no_in_the_responses_language_not_the_requests(
    survey, response, survey_language, chosen, yes, no, other
):
    survey.language = survey_language
    survey.save(update_fields=["language"])
    response.language = chosen
    response.save(update_fields=["language"])
    response.refresh_from_db()
    with translation.override("en" if survey_language == "ja" and not chosen else "ja"):
        consent = sign(response)
    text = pdf_text(stored_bytes(consent.pdf))
    assert yes in text and no in text
    assert other not in text


def test_true_and_false_follow_the_language_in_the_instrument_pdf():
    row = FieldRow(field_name="ok", form_name="f", field_type="truefalse", field_label="OK?")
    page = FormPage(title="T", rows=[row], values={"ok": "0"}, caption="")
    with translation.override("ja"):
        japanese = pdf_text(forms_pdf("P", [page]))
    english = pdf_text(forms_pdf("P", [page]))
    assert "□ 正しい" in japanese and "■ 誤り" in japanese
    assert "□ True" in english and "■ False" in english
