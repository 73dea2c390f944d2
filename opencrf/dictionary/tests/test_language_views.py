"""Multi-language forms in the browser's requests: the languages page and forms in each language."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opencrf.audit.services import AuditContext
from opencrf.dictionary.services import dictionary_apply
from opencrf.dictionary.translation_selectors import translation_table
from opencrf.dictionary.translation_services import language_add, translations_set
from opencrf.dictionary.translations import text_hash
from opencrf.records.services import record_create

from .test_translations import ROWS

pytestmark = pytest.mark.django_db

TRANSLATION_FILE = (
    "type,name,index,hash,default,translation\r\n"
    "form-name,enrolment,,,Enrolment,登録\r\n"
    "field-label,sex,,,Sex,<b>性別</b><script>alert(1)</script>\r\n"
    "field-enum,sex,2,,Female,女性\r\n"
).encode()


@pytest.fixture
def project(paula_context, classic_project):
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    classic_project.refresh_from_db()
    return classic_project


def _page(project):
    return reverse("dictionary:languages", args=[project.pk])


def test_a_designer_adds_languages_and_uploads_a_translation(client, pi_paula, project):
    client.force_login(pi_paula)
    for code, name in (("en", "English"), ("ja", "日本語")):
        response = client.post(
            reverse("dictionary:language_add", args=[project.pk]),
            {"code": code, "display_name": name},
        )
        assert response.status_code == 302
    upload = reverse("dictionary:translation_upload", args=[project.pk, "ja"])
    response = client.post(upload, {"file": SimpleUploadedFile("ja.csv", TRANSLATION_FILE)})
    assert response.status_code == 302
    assert translation_table(project, "ja")[("field-enum", "sex", "2")] == "女性"
    page = client.get(_page(project)).content.decode()
    assert "3 / 10 (30%)" in page

    download = client.get(reverse("dictionary:translation_download", args=[project.pk, "ja"]))
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    lines = download.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "type,name,index,hash,default,translation"
    assert f"field-enum,sex,2,{text_hash('Female')},Female,女性" in lines


def test_a_bad_translation_file_names_its_lines_and_changes_nothing(client, pi_paula, project):
    context = AuditContext(actor=pi_paula)
    language_add(context=context, project=project, code="en", display_name="English")
    language_add(context=context, project=project, code="ja", display_name="日本語")
    client.force_login(pi_paula)
    bad = TRANSLATION_FILE + b"field-label,nosuch,,,X,Y\r\n"
    response = client.post(
        reverse("dictionary:translation_upload", args=[project.pk, "ja"]),
        {"file": SimpleUploadedFile("ja.csv", bad)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The translation file for “ja” has 1 problem; nothing was changed." in body
    assert "Line 5: The design has no field-label text for “nosuch”." in body
    assert not project.translations.exists()


def test_data_entry_shows_the_users_language_and_keeps_html_inert(client, pi_paula, project):
    context = AuditContext(actor=pi_paula)
    language_add(context=context, project=project, code="en", display_name="English")
    language_add(context=context, project=project, code="ja", display_name="日本語")
    translations_set(
        context=context,
        project=project,
        code="ja",
        texts={
            ("field-label", "sex", ""): "性別<script>alert(1)</script>",
            ("field-enum", "sex", "2"): "女性",
        },
    )
    translations_set(
        context=context, project=project, code="ja", texts={("form-name", "enrolment", ""): "登録"}
    )
    record_create(context=context, project=project, record_id="1")
    project.refresh_from_db()
    client.force_login(pi_paula)
    url = reverse("records:form", args=[project.pk, "1", "event_1_arm_1", "enrolment", 1])
    ja = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "女性" in ja and "Female" not in ja
    assert "Male" in ja  # untranslated: the base text
    assert '<h1 class="h3 mb-1">登録</h1>' in ja
    assert "<script>alert(1)</script>" not in ja
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in ja
    assert "Female" in en and "女性" not in en
    assert '<h1 class="h3 mb-1">Enrolment</h1>' in en


def test_languages_need_the_design_right(client, site_b_bea, project):
    client.force_login(site_b_bea)
    assert client.get(_page(project)).status_code == 404
    response = client.post(
        reverse("dictionary:language_add", args=[project.pk]), {"code": "ja", "display_name": "x"}
    )
    assert response.status_code == 404
    assert not project.languages.exists()


def test_the_instrument_preview_shows_a_chosen_language(client, pi_paula, project):
    context = AuditContext(actor=pi_paula)
    language_add(context=context, project=project, code="en", display_name="English")
    language_add(context=context, project=project, code="ja", display_name="日本語")
    translations_set(
        context=context,
        project=project,
        code="ja",
        texts={("form-name", "enrolment", ""): "登録", ("field-label", "sex", ""): "性別"},
    )
    project.refresh_from_db()
    client.force_login(pi_paula)
    url = reverse("dictionary:instrument", args=[project.pk, "enrolment"])
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    ja = client.get(url + "?lang=ja", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<h1 class="h3 mb-1">Enrolment <code' in en and "性別" not in en
    assert '<h1 class="h3 mb-1">登録 <code' in ja and "性別" in ja
    assert 'href="?lang=ja" lang="ja" aria-current="true">日本語</a>' in ja
