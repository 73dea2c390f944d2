"""The dictionary download keeps a Japanese project title in its file name (RFC 6266 filename*)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.urls import reverse

from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.services import project_create

pytestmark = pytest.mark.django_db

STAMP = r"\d{4}-\d{2}-\d{2}_\d{4}"


@pytest.fixture
def japanese_project(paula_context):
    from conftest import dictionary_rows

    project = project_create(context=paula_context, title="減塩試験 / Salt RCT")
    rows = dictionary_rows("simple")
    dictionary_apply(context=paula_context, project=project, rows=rows, source="upload")
    return project


def _names(header: str) -> tuple[str, str]:
    match = re.fullmatch(r"attachment; filename=\"([^\"]*)\"; filename\*=UTF-8''(\S+)", header)
    assert match, header
    return match[1], unquote(match[2], errors="strict")


def test_the_dictionary_download_names_the_file_after_the_japanese_title(
    client, pi_paula, japanese_project
):
    client.force_login(pi_paula)

    response = client.get(reverse("dictionary:download", args=[japanese_project.pk]))

    fallback, name = _names(response["Content-Disposition"])
    assert re.fullmatch(f"減塩試験-salt-rct_DataDictionary_{STAMP}.csv", name)
    assert re.fullmatch(f"salt-rct_DataDictionary_{STAMP}.csv", fallback)


def test_a_revision_download_names_the_revision_after_the_japanese_title(
    client, pi_paula, japanese_project
):
    client.force_login(pi_paula)

    response = client.get(reverse("dictionary:revision_download", args=[japanese_project.pk, 1]))

    fallback, name = _names(response["Content-Disposition"])
    assert re.fullmatch(f"減塩試験-salt-rct_DataDictionary_rev1_{STAMP}.csv", name)
    assert re.fullmatch(f"salt-rct_DataDictionary_rev1_{STAMP}.csv", fallback)


def test_a_title_of_symbols_only_falls_back_to_project(client, pi_paula, paula_context):
    project = project_create(context=paula_context, title="★☆★")
    client.force_login(pi_paula)

    response = client.get(reverse("dictionary:download", args=[project.pk]))

    fallback, name = _names(response["Content-Disposition"])
    assert re.fullmatch(f"project_DataDictionary_{STAMP}.csv", name)
    assert fallback == name
