"""Files of file fields through the API (spec §2.19): import, export, delete."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from opencrf.api.tests.client import post
from opencrf.files.models import StoredFile
from opencrf.records.models import FormData

pytestmark = pytest.mark.django_db


@pytest.fixture
def record_1(token, study):
    assert (
        post(
            {"token": token, "content": "record", "format": "csv", "data": "study_id,sex\n1,1\n"}
        ).content
        == b"1"
    )
    return study


def upload(token, name, data, **extra):
    return post(
        {
            "token": token,
            "content": "file",
            "action": "import",
            "record": "1",
            "field": "scan",
            "file": SimpleUploadedFile(name, data),
            **extra,
        }
    )


def test_an_uploaded_file_exports_with_its_name_and_type(token, record_1):
    imported = upload(token, "notes.txt", b"test upload\n")
    exported = post(
        {"token": token, "content": "file", "action": "export", "record": "1", "field": "scan"}
    )

    assert (imported.status_code, imported.content) == (200, b"")
    assert exported.status_code == 200
    assert exported.content == b"test upload\n"
    assert exported.content_type == 'text/plain; name="notes.txt";charset=UTF-8'


def test_an_empty_file_is_accepted(token, record_1):
    assert upload(token, "empty.txt", b"").status_code == 200


def test_replacing_a_file_retires_the_old_one_and_delete_clears_the_field(token, record_1):
    upload(token, "a.txt", b"first\n")
    upload(token, "b.txt", b"second\n")
    live = StoredFile.objects.filter(project=record_1, deleted_at__isnull=True)
    assert list(live.values_list("original_name", flat=True)) == ["b.txt"]

    deleted = post(
        {"token": token, "content": "file", "action": "delete", "record": "1", "field": "scan"}
    )

    assert (deleted.status_code, deleted.content) == (200, b"")
    assert not live.exists()
    assert "scan" not in FormData.objects.get(project=record_1, form_name="enrolment").values


def test_html_disguised_as_an_image_is_refused_and_nothing_changes(token, record_1):
    before = FormData.objects.get(project=record_1, form_name="enrolment").values

    response = upload(token, "photo.jpg", b"<html><script>alert(1)</script></html>")

    assert response.status_code == 400
    assert b"<error>" in response.content
    assert FormData.objects.get(project=record_1, form_name="enrolment").values == before
    assert not StoredFile.objects.filter(project=record_1, deleted_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("field", "record", "message"),
    [
        ("sex", "1", b"ERROR: The field 'sex' does not exist or is not a 'file' field"),
        ("nope", "1", b"ERROR: The field 'nope' does not exist or is not a 'file' field"),
        ("scan", "99", b'ERROR: The record "99" does not exist'),
    ],
)
def test_wrong_fields_and_records_get_redcaps_errors(token, record_1, field, record, message):
    response = post(
        {
            "token": token,
            "content": "file",
            "action": "export",
            "record": record,
            "field": field,
            "returnFormat": "csv",
        }
    )

    assert (response.status_code, response.content) == (400, message)
