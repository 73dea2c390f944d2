"""Every fixture's Project XML creates a project by super token through the API, and the
project's records export through the API as the folder's data.csv holds them.

The documented differences (REDCap quirks, R-written files, gaps) are those of
records/tests/test_project_xml.py, which tests the same files below the API.
"""

from __future__ import annotations

import csv
import io

import orjson
import pytest

from conftest import REDCAP_PROJECTS
from opencrf.api.tests.client import post
from opencrf.api.tokens import super_token_create
from opencrf.records.tests.test_project_xml import (
    ALLOW_SQL,
    MISSING_COLUMNS,
    NO_DATA_CSV,
    QUIRKS,
    XML_FIXTURES,
    data_csv,
    differences,
    normal,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def super_token(admin_ada, paula_context):
    return super_token_create(context=paula_context, user=admin_ada)


def create(super_token: str, name: str) -> str:
    odm = (REDCAP_PROJECTS / name / "project.xml").read_text(encoding="utf-8")
    data = f'[{{"project_title": "{name}", "purpose": "0"}}]'
    response = post(
        {"token": super_token, "content": "project", "format": "json", "data": data, "odm": odm}
    )
    assert response.status_code == 200, response.content
    return response.content.decode()


@pytest.mark.parametrize("name", XML_FIXTURES)
def test_fixture_project_xml_creates_a_project_whose_records_export_as_data_csv(
    name, super_token, settings
):
    settings.OPENCRF_ALLOW_SQL_FIELDS = name in ALLOW_SQL

    token = create(super_token, name)

    header, expected = data_csv(name)
    groups = "redcap_data_access_group" in header
    response = post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "exportDataAccessGroups": str(groups).lower(),
        }
    )
    reader = csv.DictReader(io.StringIO(response.content.decode(), newline=""))
    rows = list(reader)
    if name in NO_DATA_CSV:
        assert len({row[reader.fieldnames[0]] for row in rows}) == NO_DATA_CSV[name]
        return
    ours = list(reader.fieldnames or [])
    assert [c for c in header if c not in ours] == list(MISSING_COLUMNS.get(name, {}))
    compared = [c for c in header if c in ours and c not in QUIRKS.get(name, {})]
    assert len(rows) == len(expected)
    assert differences(normal(name, rows), normal(name, expected, csv=True), compared) == {}


def test_project_xml_exports_what_created_the_project(super_token):
    token = create(super_token, "repeating-instruments")

    metadata_only = post({"token": token, "content": "project_xml", "returnMetadataOnly": "true"})
    full = post({"token": token, "content": "project_xml"})
    again = post(
        {
            "token": super_token,
            "content": "project",
            "format": "json",
            "data": '{"project_title": "Copy", "purpose": "0"}',
            "odm": full.content.decode(),
        }
    )
    copied = post({"token": again.content.decode(), "content": "record", "format": "json"})
    original = post({"token": token, "content": "record", "format": "json"})

    assert metadata_only.content.startswith(b'<?xml version="1.0" encoding="UTF-8"')
    assert b"<ClinicalData" not in metadata_only.content and b"<ClinicalData" in full.content
    assert orjson.loads(copied.content) == orjson.loads(original.content)


def test_hostile_project_xml_creates_nothing(super_token):
    from opencrf.projects.models import Project

    odm = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<ODM><Study>&b;</Study></ODM>"
    )

    response = post(
        {
            "token": super_token,
            "content": "project",
            "format": "json",
            "data": '{"project_title": "x", "purpose": "0"}',
            "odm": odm,
        }
    )

    assert response.status_code == 400
    assert not Project.objects.exists()


def test_a_project_made_from_xml_stores_no_calculated_values_as_in_redcap(super_token):
    token = create(super_token, "decimal-dot")

    rows = orjson.loads(
        post({"token": token, "content": "record", "format": "json", "type": "eav"}).content
    )

    assert [row for row in rows if row["field_name"] == "bmi"] == []
    assert {row["field_name"] for row in rows} >= {"weight", "height"}
