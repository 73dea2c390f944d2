"""`content=project_settings`: updating a project's attributes through the API (spec §2.14)."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember

pytestmark = pytest.mark.django_db


def _settings(token, data, fmt="json"):
    return post({"token": token, "content": "project_settings", "format": fmt, "data": data})


def test_editable_attributes_are_updated_and_counted(study, token):
    data = orjson.dumps(
        {
            "project_title": "Salt RCT (renamed)",
            "purpose": "1",
            "purpose_other": "Teaching",
            "project_notes": "Notes from the API",
            "record_autonumbering_enabled": 0,
            "project_irb_number": "IRB-42",  # REDCap keeps it; OpenCRF does not: not counted
        }
    ).decode()

    response = _settings(token, data)

    study.refresh_from_db()
    assert (response.status_code, response.content) == (200, b"5")
    assert (study.title, study.purpose, study.purpose_other, study.notes) == (
        "Salt RCT (renamed)",
        1,
        "Teaching",
        "Notes from the API",
    )
    assert study.record_autonumbering is False
    entry = AuditEvent.objects.filter(project_id=study.pk, action="project.update").get()
    assert entry.source == "api"
    assert entry.changes["title"][1] == "Salt RCT (renamed)"


def test_csv_attributes_are_read_like_json(study, token):
    response = _settings(token, "project_title,custom_record_label\nCSV title,[study_id]\n", "csv")

    study.refresh_from_db()
    assert (response.status_code, response.content) == (200, b"2")
    assert (study.title, study.custom_record_label) == ("CSV title", "[study_id]")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"purpose": "9"}', "The purpose must be 0, 1, 2, 3 or 4."),
        ('{"is_longitudinal": "yes"}', "The value of is_longitudinal must be 0 or 1."),
        ('{"project_title": "  "}', "A project needs a title."),
        ('[{"project_title": "a"}, {"project_title": "b"}]', "exactly one project"),
        ("{not json", "The data is not valid JSON"),
    ],
)
def test_a_bad_value_refuses_the_whole_update(study, token, data, message):
    before = (study.title, study.purpose, study.is_longitudinal)

    response = _settings(token, data)

    study.refresh_from_db()
    assert response.status_code == 400
    assert message in orjson.loads(response.content)["error"]
    assert (study.title, study.purpose, study.is_longitudinal) == before
    assert not AuditEvent.objects.filter(project_id=study.pk, action="project.update").exists()


def test_a_member_without_the_design_right_is_refused(study, token, pi_paula):
    ProjectMember.objects.filter(project=study, user=pi_paula).update(design=False)

    response = _settings(token, '{"project_title": "Taken over"}')

    study.refresh_from_db()
    assert (response.status_code, orjson.loads(response.content)) == (
        403,
        {"error": "You do not have permissions to use the API"},
    )
    assert study.title != "Taken over"
