"""File upload fields on survey pages: a participant uploads, replaces and removes their own
files while the response is open, checked as data entry's uploads are, audited as the
participant, named back to them but never served; and every hostile upload is refused with
nothing kept."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import translation
from django.utils.translation import gettext

from opencrf.audit.models import AuditEvent
from opencrf.dictionary.design import design_of
from opencrf.files.models import StoredFile
from opencrf.files.tests import samples
from opencrf.records.models import FormData
from opencrf.surveys import ratelimit
from opencrf.surveys.models import SurveyResponse
from opencrf.surveys.services import public_response_start, respondent_context
from opencrf.surveys.tests.econsent_world import signature_png
from opencrf.surveys.tests.upload_world import record_link, upload_study, upload_survey

pytestmark = pytest.mark.django_db

PDF = samples.PDF


@pytest.fixture
def study(paula_context):
    return upload_study(paula_context)


@pytest.fixture
def survey(study, paula_context):
    return upload_survey(paula_context, study, language="en")


@pytest.fixture
def linked(survey, paula_context):
    return record_link(paula_context, survey)


@pytest.fixture
def response(linked):
    return linked[1]


@pytest.fixture
def one_minute(monkeypatch):
    monkeypatch.setattr(ratelimit, "_clock", lambda: 1_800_000_000.0)


def url(response):
    return f"/surveys/s/{response.token}/"


def pdf(name="letter.pdf", content=PDF):
    return SimpleUploadedFile(name, content, "application/pdf")


def post(client, response, page="1", action="next", **data):
    return client.post(url(response), {"page": page, "action": action, **data})


def form_values(response):
    form = FormData.objects.filter(record=response.record, form_name="documents").first()
    return dict(form.values) if form is not None else {}


def live_files():
    return list(StoredFile.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True))


def test_a_participant_uploads_a_pdf_and_sees_its_name_but_no_link(client, response):
    answer = post(client, response, letter=pdf("紹介状.pdf"), note="see letter")
    assert answer.status_code == 302
    stored = StoredFile.objects.get()
    assert (stored.original_name, stored.media_type, stored.size) == (
        "紹介状.pdf",
        "application/pdf",
        len(PDF),
    )
    assert form_values(response) == {"letter": str(stored.pk), "note": "see letter"}
    page = client.get(url(response)).content.decode()
    assert 'data-testid="file-name-letter">紹介状.pdf</span>' in page
    assert 'name="letter__remove"' in page
    assert "/file/" not in page and "download" not in page  # named, never served


def test_the_upload_is_audited_as_the_participant_against_their_record(client, response):
    post(client, response, letter=pdf())
    stored = StoredFile.objects.get()
    label = respondent_context(response).actor_label
    entry = AuditEvent.objects.get(action="file.store")
    assert (entry.actor_id, entry.actor_name, entry.source) == (None, label, "survey")
    assert (entry.record, entry.event, entry.instrument, entry.instance) == (
        "1",
        "event_1_arm_1",
        "documents",
        1,
    )
    assert entry.changes["file_id"] == stored.pk
    save = AuditEvent.objects.filter(action="form.update").latest("sequence")
    assert save.changes["letter"] == ["", str(stored.pk)]
    assert (save.actor_name, save.record) == (label, "1")


def test_a_new_upload_replaces_the_file_and_marks_the_old_one_deleted(client, response):
    post(client, response, letter=pdf("first.pdf"))
    first = StoredFile.objects.get()
    post(client, response, letter=pdf("second.pdf"))
    second = StoredFile.objects.exclude(pk=first.pk).get()
    first.refresh_from_db()
    assert first.deleted_at is not None and second.deleted_at is None
    assert form_values(response)["letter"] == str(second.pk)
    deleted = AuditEvent.objects.get(action="file.delete")
    assert (deleted.changes["file_id"], deleted.record) == (first.pk, "1")
    assert deleted.reason == "Replaced or removed by the survey respondent."


def test_remove_file_clears_the_field_and_marks_the_file_deleted(client, response):
    post(client, response, letter=pdf())
    stored = StoredFile.objects.get()
    # The letter is required: Previous saves without the required check.
    answer = post(client, response, action="previous", letter__remove="1", note="gone")
    assert answer.status_code == 302
    assert form_values(response) == {"note": "gone"}
    stored.refresh_from_db()
    assert stored.deleted_at is not None


def test_a_completed_response_takes_no_more_files(client, response):
    post(client, response, letter=pdf())
    post(client, response, page="2", action="submit", agree="1")
    response.refresh_from_db()
    assert response.status == SurveyResponse.Status.COMPLETED
    before, values = live_files(), form_values(response)
    files_before = StoredFile.objects.count()
    answer = post(client, response, letter=pdf("later.pdf"))
    assert answer.status_code == 403
    answer = post(client, response, action="previous", letter__remove="1")
    assert answer.status_code == 403
    assert StoredFile.objects.count() == files_before
    assert (live_files(), form_values(response)) == (before, values)


def test_another_tokens_file_id_in_the_post_is_ignored(client, survey, response, paula_context):
    _other_record, other = record_link(paula_context, survey, record_id="2")
    post(Client(), other, letter=pdf("theirs.pdf"))
    theirs = StoredFile.objects.get()
    forged = {
        "letter": str(theirs.pk),
        "sig": str(theirs.pk),
        "staff_doc": str(theirs.pk),
        "letter__file": str(theirs.pk),
        "note": "mine",
    }
    answer = post(client, response, action="previous", **forged)
    assert answer.status_code == 302
    assert form_values(response) == {"note": "mine"}
    answer = post(client, response, page="2", action="previous", sig=str(theirs.pk), agree="1")
    assert answer.status_code == 302
    assert form_values(response) == {"note": "mine", "agree": "1"}
    page = client.get(url(response)).content.decode()
    assert "theirs.pdf" not in page
    assert form_values(other)["letter"] == str(theirs.pk)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (pdf("setup.pdf", samples.EXE), "“%(name)s” cannot be stored: it looks like %(kind)s."),
        (
            SimpleUploadedFile("page.html", samples.HTML, "text/html"),
            "“%(name)s” cannot be stored: files named *%(extension)s are not accepted.",
        ),
        (pdf("page.pdf", samples.HTML), "“%(name)s” cannot be stored: it looks like %(kind)s."),
        (pdf("empty.pdf", b""), "“%(name)s” cannot be stored: the file is empty."),
        (
            SimpleUploadedFile("drawing.svg", samples.SVG, "image/svg+xml"),
            "“%(name)s” cannot be stored: files named *%(extension)s are not accepted.",
        ),
    ],
    ids=["exe-renamed-pdf", "html", "html-renamed-pdf", "empty", "svg"],
)
def test_a_hostile_or_empty_upload_is_refused_and_nothing_is_kept(
    client, response, upload, message
):
    post(client, response, action="previous", note="before")
    before = form_values(response)
    answer = post(client, response, letter=upload, note="after")
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'data-testid="error-summary"' in html
    assert message.split("%(name)s")[1].split("%")[0] in html
    assert upload.name in html
    assert not StoredFile.objects.exists()
    assert form_values(response) == before
    assert not AuditEvent.objects.filter(action="file.store").exists()


@override_settings(OPENCRF_FILE_MAX_BYTES=20)
def test_an_oversize_upload_is_refused_with_the_limit_named(client, response):
    answer = post(client, response, letter=pdf("big.pdf"))
    assert answer.status_code == 400
    assert "“big.pdf” is too large (" in answer.content.decode()
    assert "the limit is 20\xa0bytes" in answer.content.decode()
    assert not StoredFile.objects.exists()
    assert form_values(response) == {}


def test_the_refusal_speaks_the_surveys_language(client, survey, response):
    survey.language = "ja"
    survey.save(update_fields=["language"])
    answer = post(client, response, letter=pdf("empty.pdf", b""))
    assert answer["Content-Language"] == "ja"
    with translation.override("ja"):
        expected = gettext("“%(name)s” cannot be stored: the file is empty.") % {
            "name": "empty.pdf"
        }
    assert expected in answer.content.decode()


def multipart(fields, filename, content, boundary="crf-boundary-7f3a"):
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="letter"; filename="{filename}"'
        "\r\nContent-Type: application/pdf\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("filename", "stored_as"),
    [
        ("../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\<img src=x onerror=alert(1)>.pdf", "<img src=x onerror=alert(1)>.pdf"),
        ("<script>alert(1)</script>.pdf", "script>.pdf"),
    ],
)
def test_a_path_or_markup_in_the_file_name_is_cut_and_shown_inert(
    client, response, filename, stored_as
):
    body, content_type = multipart({"page": "1", "action": "next"}, filename, PDF)
    answer = client.post(url(response), data=body, content_type=content_type)
    assert answer.status_code == 302
    stored = StoredFile.objects.get()
    assert stored.original_name == stored_as
    assert stored.key.startswith(f"projects/{response.project_id}/files/")
    page = client.get(url(response)).content.decode()
    escaped = stored_as.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f'data-testid="file-name-letter">{escaped}</span>' in page
    assert "<img src=x" not in page and "<script>alert" not in page


def test_a_drawn_signature_is_stored_and_a_blank_one_is_refused(client, response):
    post(client, response, letter=pdf())
    blank = SimpleUploadedFile("signature.png", signature_png(blank=True), "image/png")
    answer = post(client, response, page="2", action="submit", sig=blank, agree="1")
    assert answer.status_code == 400
    assert "Please sign in the box." in answer.content.decode()
    assert StoredFile.objects.filter(deleted_at__isnull=True).count() == 1
    drawn = SimpleUploadedFile("anything.png", signature_png(), "image/png")
    answer = post(client, response, page="2", action="submit", sig=drawn, agree="1")
    assert answer.status_code == 302
    signature = StoredFile.objects.get(original_name="signature.png")
    assert form_values(response)["sig"] == str(signature.pk)
    response.refresh_from_db()
    assert response.status == SurveyResponse.Status.COMPLETED


def test_the_signature_field_gets_the_pad_and_the_file_field_a_file_input(client, response):
    client.get(url(response))  # the link's cookie: pages other than the first may be asked
    post(client, response, letter=pdf())
    page2 = client.get(url(response) + "?page=2").content.decode()
    assert 'name="sig" accept="image/png" data-signature' in page2
    assert "signature-pad.js" in page2 or "widgets.js" in page2
    assert 'name="staff_doc"' not in page2  # read-only: shown, never an input
    assert 'data-testid="file-none-staff_doc">—</p>' in page2
    page1 = client.get(url(response) + "?page=1").content.decode()
    assert 'enctype="multipart/form-data"' in page1
    assert 'type="file" class="form-control" id="f-letter" name="letter"' in page1


def test_a_read_only_file_field_takes_no_upload(client, response):
    post(client, response, letter=pdf())
    staff = pdf("staff.pdf")
    post(client, response, page="2", action="previous", staff_doc=staff)
    assert "staff_doc" not in form_values(response)
    assert not StoredFile.objects.filter(original_name="staff.pdf").exists()


def test_a_page_shown_again_for_a_required_answer_keeps_none_of_its_files(client, response):
    post(client, response, letter=pdf())
    letter = StoredFile.objects.get()
    drawn = SimpleUploadedFile("signature.png", signature_png(), "image/png")
    answer = post(client, response, page="2", action="submit", sig=drawn)  # no agreement
    assert answer.status_code == 400
    assert 'data-testid="error-summary"' in answer.content.decode()
    assert live_files() == [letter.pk]  # the signature is not kept: it is drawn again
    assert form_values(response) == {"letter": str(letter.pk)}
    response.refresh_from_db()
    assert response.status != SurveyResponse.Status.COMPLETED


def test_a_page_left_for_an_earlier_required_answer_keeps_its_files(client, response):
    drawn = SimpleUploadedFile("signature.png", signature_png(), "image/png")
    answer = post(client, response, page="2", action="submit", sig=drawn, agree="1")
    assert answer.status_code == 400  # the letter of page 1 is missing: page 1 is shown
    assert 'name="letter"' in answer.content.decode()
    signature = StoredFile.objects.get()
    assert signature.deleted_at is None
    assert form_values(response) == {"sig": str(signature.pk), "agree": "1"}


def test_a_public_respondents_first_page_creates_the_record_with_the_file(client, survey):
    event = design_of(survey.project).events[0]
    response = public_response_start(survey=survey, event=event)
    answer = post(client, response, letter=pdf())
    assert answer.status_code == 302
    response.refresh_from_db()
    stored = StoredFile.objects.get()
    assert response.record is not None
    assert form_values(response)["letter"] == str(stored.pk)
    entry = AuditEvent.objects.get(action="file.store")
    assert (entry.actor_id, entry.source, entry.group_id) == (None, "survey", None)


@override_settings(OPENCRF_SURVEY_POSTS_PER_LINK=1)
def test_uploads_count_against_the_survey_rate_limits(client, response, one_minute):
    assert post(client, response, action="previous", note="one").status_code == 302
    answer = post(client, response, letter=pdf())
    assert answer.status_code == 429
    assert not StoredFile.objects.exists()


def test_an_upload_without_the_csrf_token_is_refused(response):
    client = Client(enforce_csrf_checks=True)
    client.get(url(response))
    answer = post(client, response, letter=pdf())
    assert answer.status_code == 403
    assert not StoredFile.objects.exists()
    assert form_values(response) == {}


def test_staff_download_the_participants_file_from_the_record(client, response, pi_paula):
    post(client, response, letter=pdf("紹介状.pdf"))
    staff = Client()
    staff.force_login(pi_paula)
    project = response.project_id
    download = staff.get(f"/projects/{project}/records/1/event_1_arm_1/documents/1/file/letter/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
