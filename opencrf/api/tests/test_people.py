"""Users, roles and data access groups as the API exports them (spec §2.16–2.18)."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.projects.models import ProjectMember, Role
from opencrf.projects.services import group_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(study, paula_context, site_b_bea):
    north = group_create(context=paula_context, project=study, name="North site")
    role = Role.objects.create(
        project=study,
        name="Data entry",
        unique_name="U-ABCDEF1234",
        record_create=True,
        api_export=True,
        form_rights={"enrolment": "edit", "adverse_event": "read"},
        export_rights={"enrolment": "deidentified"},
    )
    ProjectMember.objects.create(project=study, user=site_b_bea, role=role, group=north)
    return north, role


def test_users_carry_flags_as_integers_and_form_rights_as_codes(token, site, site_b_bea):
    north, _role = site

    users = orjson.loads(post({"token": token, "content": "user", "format": "json"}).content)

    bea = next(user for user in users if user["username"] == site_b_bea.username)
    assert list(bea)[:7] == [
        "username",
        "email",
        "firstname",
        "lastname",
        "expiration",
        "data_access_group",
        "data_access_group_id",
    ]
    assert (bea["data_access_group"], bea["data_access_group_id"]) == ("north_site", north.pk)
    assert (bea["design"], bea["record_create"], bea["api_export"], bea["api_import"]) == (
        0,
        1,
        1,
        0,
    )
    assert bea["forms"] == {"enrolment": 1, "adverse_event": 2}
    assert bea["forms_export"] == {"enrolment": 2, "adverse_event": 0}


def test_roles_show_flags_as_strings_and_forms_as_text_in_csv(token, site):
    as_json = orjson.loads(post({"token": token, "content": "userRole", "format": "json"}).content)
    as_csv = post({"token": token, "content": "userRole", "format": "csv"}).content.decode()

    assert (as_json[0]["unique_role_name"], as_json[0]["role_label"]) == (
        "U-ABCDEF1234",
        "Data entry",
    )
    assert (as_json[0]["record_create"], as_json[0]["design"]) == ("1", "0")
    assert as_csv.splitlines()[1].endswith(
        '"enrolment:1,adverse_event:2","enrolment:2,adverse_event:0"'
    )


def test_role_and_group_mappings(token, site, site_b_bea, pi_paula):
    roles = orjson.loads(
        post({"token": token, "content": "userRoleMapping", "format": "json"}).content
    )
    groups = post({"token": token, "content": "userDagMapping", "format": "csv"}).content.decode()

    assert {row["username"]: row["unique_role_name"] for row in roles} == {
        pi_paula.username: "",
        site_b_bea.username: "U-ABCDEF1234",
    }
    assert sorted(groups.splitlines()) == sorted(
        [
            "username,redcap_data_access_group",
            f"{pi_paula.username},",
            f"{site_b_bea.username},north_site",
        ]
    )


def test_dags_export_with_integer_ids_and_a_grouped_member_is_refused(
    token, site, study, paula_context, site_b_bea
):
    north, _role = site
    bea = token_create(context=paula_context, user=site_b_bea, project=study)

    listed = orjson.loads(post({"token": token, "content": "dag", "format": "json"}).content)
    refused = post({"token": bea, "content": "dag", "format": "csv"})

    assert listed == [
        {
            "data_access_group_name": "North site",
            "unique_group_name": "north_site",
            "data_access_group_id": north.pk,
        }
    ]
    assert refused.status_code == 400
    assert refused.content.startswith(b"ERROR: You do not have permission to export/import/delete")


def test_users_in_xml_nest_form_rights(token, site, site_b_bea):
    body = post({"token": token, "content": "user", "format": "xml"}).content.decode()

    assert (
        "<forms><enrolment><![CDATA[1]]></enrolment><adverse_event><![CDATA[2]]></adverse_event></forms>"
        in body
    )
