"""NUL characters and invalid UTF-8 sent to the API: refused in REDCap's error format (issue 13).

On PostgreSQL a NUL in a record id or a value used to give a server error; on SQLite it was
stored. Invalid UTF-8 was silently replaced by U+FFFD. Now both databases answer 400 with an
error in the caller's return format, and nothing is written.
"""

from __future__ import annotations

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from opencrf.api.tests.client import post
from opencrf.audit.models import AuditEvent
from opencrf.files.models import StoredFile
from opencrf.files.tests import samples
from opencrf.records.models import FormData, Record

pytestmark = pytest.mark.django_db


def written(project):
    return (
        Record.objects.filter(project=project).count(),
        FormData.objects.filter(project=project).count(),
        AuditEvent.objects.filter(project_id=project.pk).count(),
    )


def json_error(response) -> tuple[int, str]:
    return response.status_code, orjson.loads(response.content)["error"]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"study_id": "1\u0000", "sex": "1"}, "study_id"),
        ({"study_id": "1", "ae_term": "a\u0000"}, "ae_term"),
    ],
    ids=["record-id", "value"],
)
def test_a_nul_in_json_data_is_refused_and_nothing_is_written(token, study, row, field):
    before = written(study)
    data = orjson.dumps([row]).decode()
    assert "\\u0000" in data

    response = post({"token": token, "content": "record", "format": "json", "data": data})

    assert json_error(response) == (
        400,
        f'Item 1 of the data contains a NUL character in "{field}", which is not accepted.',
    )
    assert written(study) == before


def test_a_nul_in_csv_data_is_refused_in_csv(token, study):
    before = written(study)

    response = post(
        {"token": token, "content": "record", "format": "csv", "data": "study_id,sex\n1\x00,1\n"}
    )

    assert (response.status_code, response.content.decode()) == (
        400,
        "ERROR: The field “data” in the request body contains a NUL character, "
        "which is not accepted.",
    )
    assert written(study) == before


def test_a_nul_in_xml_data_is_refused(token, study):
    before = written(study)
    data = "<records><item><study_id>1&#0;</study_id></item></records>"

    response = post(
        {"token": token, "content": "record", "format": "xml", "data": data, "returnFormat": "json"}
    )

    assert response.status_code == 400
    assert orjson.loads(response.content)["error"].startswith("The data is not valid XML")
    assert written(study) == before


def test_a_nul_in_an_export_parameter_is_refused(token, study):
    response = post({"token": token, "content": "record", "format": "json", "records[0]": "1\x00"})

    assert json_error(response) == (
        400,
        "The field “records[0]” in the request body contains a NUL character, "
        "which is not accepted.",
    )


def test_a_nul_in_a_metadata_import_is_refused(token, study):
    before = study.instruments.count(), written(study)
    data = orjson.dumps(
        [
            {
                "field_name": "study_id",
                "form_name": "enrolment",
                "field_type": "text",
                "field_label": "ID\u0000",
            }
        ]
    ).decode()

    response = post({"token": token, "content": "metadata", "format": "json", "data": data})

    assert json_error(response) == (
        400,
        'Item 1 of the data contains a NUL character in "field_label", which is not accepted.',
    )
    assert (study.instruments.count(), written(study)) == before


def test_invalid_utf8_in_the_body_is_refused_not_replaced(token, study):
    before = written(study)
    body = f"token={token}&content=record&format=json&data=" + (
        "%5B%7B%22study_id%22%3A%221%22%2C%22ae_term%22%3A%22%FF%22%7D%5D"
    )

    response = Client().post("/api/", body, content_type="application/x-www-form-urlencoded")

    assert json_error(response) == (400, "The request body is not valid UTF-8 text.")
    assert written(study) == before


def test_invalid_utf8_in_a_multipart_body_is_refused_not_replaced(token, study):
    before = written(study)
    boundary = "BoUnDaRy"
    parts = [
        ("token", token.encode()),
        ("content", b"record"),
        ("format", b"csv"),
        ("data", b"study_id,ae_term\n1,\xff\n"),
    ]
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
            for name, value in parts
        )
        + f"--{boundary}--\r\n".encode()
    )

    response = Client().post(
        "/api/", body, content_type=f"multipart/form-data; boundary={boundary}"
    )

    assert response.status_code == 400
    assert b"The request body is not valid UTF-8 text." in response.content
    assert written(study) == before


def test_a_nul_in_the_query_string_is_refused(token, study):
    response = Client().post(
        "/api/?x=%00",
        {"token": token, "content": "version", "returnFormat": "json"},
    )

    assert json_error(response) == (
        400,
        "The field “x” in the query string contains a NUL character, which is not accepted.",
    )


def test_a_file_holding_nul_bytes_is_imported_unchanged(token, study):
    Client().post(
        "/api/",
        {"token": token, "content": "record", "format": "csv", "data": "study_id\n1\n"},
    )
    image = samples.PNG + b"\x00" * 40

    response = Client().post(
        "/api/",
        {
            "token": token,
            "content": "file",
            "action": "import",
            "record": "1",
            "field": "scan",
            "file": SimpleUploadedFile("scan.png", image, content_type="image/png"),
        },
    )

    assert response.status_code == 200
    assert StoredFile.objects.get().size == len(image)


def test_a_nul_in_a_project_xml_creates_nothing(admin_ada, paula_context):
    from opencrf.api.tokens import super_token_create
    from opencrf.projects.models import Project

    token = super_token_create(context=paula_context, user=admin_ada)
    odm = '<?xml version="1.0"?><ODM><Study OID="S"><GlobalVariables>'
    odm += "<StudyName>A&#0;B</StudyName></GlobalVariables></Study></ODM>"

    response = post(
        {
            "token": token,
            "content": "project",
            "format": "json",
            "data": '{"project_title": "x", "purpose": "0"}',
            "odm": odm,
        }
    )

    assert response.status_code == 400
    assert not Project.objects.exists()
