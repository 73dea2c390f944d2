"""The "Manage survey participants" right in the API (REDCap's `manage_survey_participants`)."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.projects.models import ProjectMember, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def bea(study, site_b_bea):
    return ProjectMember.objects.create(project=study, user=site_b_bea, survey_participants=True)


def _export(token, content):
    return orjson.loads(post({"token": token, "content": content, "format": "json"}).content)


def test_users_export_the_participants_right_as_an_integer(token, bea, site_b_bea):
    ProjectMember.objects.filter(pk=bea.pk).update(survey_participants=False)
    users = {row["username"]: row for row in _export(token, "user")}

    assert users["pi_paula"]["manage_survey_participants"] == 1
    assert users["site_b_bea"]["manage_survey_participants"] == 0


def test_roles_export_the_participants_right_as_text(token, study):
    Role.objects.create(
        project=study, name="Coordinator", unique_name="U-COORD00001", survey_participants=True
    )

    roles = _export(token, "userRole")

    assert [(r["role_label"], r["manage_survey_participants"]) for r in roles] == [
        ("Coordinator", "1")
    ]


def test_a_user_import_sets_and_clears_the_participants_right(token, bea):
    def send(data):
        return post({"token": token, "content": "user", "format": "csv", "data": data})

    cleared = send("username,manage_survey_participants\nsite_b_bea,0\n")
    bea.refresh_from_db()
    assert (cleared.content, bea.survey_participants) == (b"1", False)

    send("username,manage_survey_participants\nsite_b_bea,1\n")
    bea.refresh_from_db()
    assert bea.survey_participants is True
