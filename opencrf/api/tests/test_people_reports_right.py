"""The reports right in the API's user and role exports and imports (REDCap's `reports`)."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.projects.models import ProjectMember, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def bea(study, site_b_bea):
    return ProjectMember.objects.create(project=study, user=site_b_bea, reports=True)


def _export(token, content, format="json"):
    return post({"token": token, "content": content, "format": format}).content


def test_users_export_the_reports_right_as_an_integer(token, bea):
    users = {row["username"]: row for row in orjson.loads(_export(token, "user"))}

    assert (users["pi_paula"]["reports"], users["site_b_bea"]["reports"]) == (1, 1)
    assert (users["pi_paula"]["design"], users["site_b_bea"]["design"]) == (1, 0)


def test_roles_export_the_reports_right_as_text(token, study):
    Role.objects.create(project=study, name="Stats", unique_name="U-STATS00001", reports=True)
    Role.objects.create(project=study, name="Entry", unique_name="U-ENTRY00001")

    roles = orjson.loads(_export(token, "userRole"))

    assert [(r["role_label"], r["reports"]) for r in roles] == [("Stats", "1"), ("Entry", "0")]


def test_a_user_import_sets_and_clears_the_reports_right_and_leaves_it_when_absent(token, bea):
    def send(data):
        return post({"token": token, "content": "user", "format": "csv", "data": data})

    cleared = send("username,reports\nsite_b_bea,0\n")
    bea.refresh_from_db()
    assert (cleared.content, bea.reports) == (b"1", False)

    send("username,reports\nsite_b_bea,1\n")
    bea.refresh_from_db()
    assert bea.reports is True

    send("username,logging\nsite_b_bea,1\n")
    bea.refresh_from_db()
    assert (bea.reports, bea.logging) == (True, True)


def test_a_role_import_honours_the_reports_right(token, study):
    created = post(
        {
            "token": token,
            "content": "userRole",
            "format": "json",
            "data": '[{"role_label": "Statistician", "reports": "1", "design": "0"}]',
        }
    )

    role = Role.objects.get(project=study, name="Statistician")
    assert orjson.loads(created.content) == 1
    assert (role.reports, role.design) == (True, False)


def test_a_json_user_import_takes_the_reports_right_as_a_number_too(token, bea):
    answer = post(
        {
            "token": token,
            "content": "user",
            "format": "json",
            "data": '[{"username": "site_b_bea", "reports": 0, "logging": 1}]',
        }
    )

    bea.refresh_from_db()
    assert (answer.status_code, bea.reports, bea.logging) == (200, False, True)
