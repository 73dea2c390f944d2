from __future__ import annotations

import re

import pytest
from django.urls import reverse

from opencrf.core.downloads import ascii_filename
from opencrf.files.models import StoredFile
from opencrf.files.services import file_delete, file_store
from opencrf.files.tests import samples
from opencrf.files.tests.conftest import upload

pytestmark = pytest.mark.django_db
_CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


@pytest.fixture
def consent(paula_context, classic_project):
    data = samples.PDF + b"x" * 100_000
    stored = file_store(
        context=paula_context, project=classic_project, upload=upload("同意書 v2.pdf", data)
    )
    return stored, data


def _url(file_id: int) -> str:
    return reverse("files:download", args=[file_id])


def test_a_member_downloads_the_exact_bytes_as_an_attachment(client, pi_paula, consent):
    stored, data = consent
    client.force_login(pi_paula)
    response = client.get(_url(stored.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(data))
    assert response["Content-Disposition"] == (
        "attachment; filename=\"v2.pdf\"; filename*=UTF-8''%E5%90%8C%E6%84%8F%E6%9B%B8%20v2.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Cache-Control"] == "private, no-store"


def test_a_type_off_the_allowlist_is_served_as_opaque_bytes(client, pi_paula, consent):
    stored, _data = consent
    StoredFile.objects.filter(pk=stored.pk).update(media_type="text/html")
    client.force_login(pi_paula)
    response = client.get(_url(stored.pk))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("report.pdf", "report.pdf"),
        ("検査.pdf", "file.pdf"),
        ("Café résumé.docx", "Cafe resume.docx"),
        ('a"b;c.txt', "a_b_c.txt"),
        ("結果", "file"),
    ],
)
def test_the_ascii_fallback_name_is_plain_and_quoted_safely(name, fallback):
    assert ascii_filename(name) == fallback


def _not_found_body(client, file_id):
    response = client.get(_url(file_id))
    assert response.status_code == 404
    # The page differs only by its own address (language switch) and CSRF token.
    return _CSRF_TOKEN.sub("", response.content.decode()).replace(_url(file_id), "")


def test_another_projects_deleted_and_missing_files_all_look_missing(
    client, site_b_bea, pi_paula, paula_context, consent
):
    stored, _data = consent
    client.force_login(site_b_bea)
    forbidden = _not_found_body(client, stored.pk)
    missing = _not_found_body(client, stored.pk + 1000)
    assert forbidden == missing
    file_delete(context=paula_context, stored_file=stored)
    client.force_login(pi_paula)
    assert _not_found_body(client, stored.pk) == _not_found_body(client, stored.pk + 1000)


def test_an_administrator_may_download_any_file(client, admin_ada, consent):
    stored, _data = consent
    client.force_login(admin_ada)
    assert client.get(_url(stored.pk)).status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in(client, consent):
    stored, _data = consent
    response = client.get(_url(stored.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_downloads_take_get_only(client, pi_paula, consent):
    stored, _data = consent
    client.force_login(pi_paula)
    assert client.post(_url(stored.pk)).status_code == 405


def test_a_member_bound_to_a_group_cannot_fetch_a_file_by_id(
    client, site_b_bea, paula_context, classic_project, consent
):
    from opencrf.projects.models import ProjectMember
    from opencrf.projects.services import group_create

    group = group_create(context=paula_context, project=classic_project, name="Kyoto")
    ProjectMember.objects.create(project=classic_project, user=site_b_bea, group=group)
    stored, _data = consent
    client.force_login(site_b_bea)

    # Grouped members reach files through the record's page, which checks the record's group.
    assert client.get(_url(stored.pk)).status_code == 404


def test_a_member_without_design_rights_cannot_fetch_a_file_by_id(
    client, site_b_bea, classic_project, consent
):
    from opencrf.projects.models import ProjectMember

    # Bea sees every record but not necessarily every form; the file's form is unknown here.
    ProjectMember.objects.create(project=classic_project, user=site_b_bea, logging=True)
    stored, _data = consent
    client.force_login(site_b_bea)

    assert client.get(_url(stored.pk)).status_code == 404


def test_a_designer_with_a_form_set_to_no_access_cannot_fetch_a_file_by_id(
    client, site_b_bea, classic_project, consent
):
    from opencrf.projects.models import ProjectMember

    ProjectMember.objects.create(
        project=classic_project, user=site_b_bea, design=True, form_rights={"consent": "none"}
    )
    stored, _data = consent
    client.force_login(site_b_bea)

    assert client.get(_url(stored.pk)).status_code == 404
