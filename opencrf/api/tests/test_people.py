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


REDCAP_16_FLAGS = [
    "design",
    "alerts",
    "user_rights",
    "data_access_groups",
    "reports",
    "stats_and_charts",
    "manage_survey_participants",
    "calendar",
    "data_import_tool",
    "data_comparison_tool",
    "logging",
    "email_logging",
    "file_repository",
    "data_quality_create",
    "data_quality_execute",
    "data_quality_resolution",
    "api_export",
    "api_import",
    "api_modules",
    "mobile_app",
    "mobile_app_download_data",
    "record_create",
    "record_rename",
    "record_delete",
    "lock_records_all_forms",
    "lock_records",
    "lock_records_customization",
    "mycap_participants",
    "random_setup",
    "random_dashboard",
    "random_perform",
]


def test_users_carry_redcap_16s_keys_in_its_order(token, site, site_b_bea):
    north, _role = site

    users = orjson.loads(post({"token": token, "content": "user", "format": "json"}).content)

    bea = next(user for user in users if user["username"] == site_b_bea.username)
    assert list(bea) == [
        "username",
        "email",
        "firstname",
        "lastname",
        "expiration",
        "data_access_group",
        "data_access_group_id",
        "data_access_group_label",
        *REDCAP_16_FLAGS,
        "forms",
        "forms_export",
    ]
    assert (
        bea["data_access_group"],
        bea["data_access_group_id"],
        bea["data_access_group_label"],
    ) == ("north_site", north.pk, "North site")


def test_roles_carry_redcap_16s_keys_in_its_order(token, site):
    roles = orjson.loads(post({"token": token, "content": "userRole", "format": "json"}).content)

    assert list(roles[0]) == [
        "unique_role_name",
        "role_label",
        *REDCAP_16_FLAGS,
        "forms",
        "forms_export",
    ]
    assert (roles[0]["email_logging"], roles[0]["api_modules"]) == ("0", "0")


def test_users_carry_flags_as_integers_and_form_rights_as_codes(token, site, site_b_bea):
    users = orjson.loads(post({"token": token, "content": "user", "format": "json"}).content)

    bea = next(user for user in users if user["username"] == site_b_bea.username)
    assert (bea["design"], bea["record_create"], bea["api_export"], bea["api_import"]) == (
        0,
        1,
        1,
        0,
    )
    assert bea["forms"] == {"enrolment": 146, "adverse_event": 129}
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
        '"enrolment:146,adverse_event:129","enrolment:2,adverse_event:0"'
    )


def test_role_and_group_mappings(token, site, site_b_bea, pi_paula):
    roles = orjson.loads(
        post({"token": token, "content": "userRoleMapping", "format": "json"}).content
    )
    groups = post({"token": token, "content": "userDagMapping", "format": "csv"}).content.decode()

    assert {row["username"]: row for row in roles} == {
        pi_paula.username: {
            "username": pi_paula.username,
            "unique_role_name": "",
            "data_access_group": "",
        },
        site_b_bea.username: {
            "username": site_b_bea.username,
            "unique_role_name": "U-ABCDEF1234",
            "data_access_group": "north_site",
        },
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
        "<forms><enrolment><![CDATA[146]]></enrolment><adverse_event><![CDATA[129]]></adverse_event></forms>"
        in body
    )


def test_users_are_added_updated_and_removed(token, study, site_b_bea):
    added = post(
        {
            "token": token,
            "content": "user",
            "format": "json",
            "data": orjson.dumps(
                [
                    {
                        "username": site_b_bea.username,
                        "expiration": "2027-03-31",
                        "record_create": "1",
                        "api_export": "1",
                        "forms": {"enrolment": 2, "adverse_event": 1},
                        "forms_export": {"enrolment": 3},
                    }
                ]
            ).decode(),
        }
    )
    member = ProjectMember.objects.get(project=study, user=site_b_bea)

    assert orjson.loads(added.content) == 1
    assert (member.record_create, member.api_export, str(member.expires_on)) == (
        True,
        True,
        "2027-03-31",
    )
    assert member.form_rights == {"enrolment": "read", "adverse_event": "edit"}
    assert member.export_rights == {"enrolment": "remove_identifiers"}

    post(
        {
            "token": token,
            "content": "user",
            "format": "csv",
            "data": f'username,record_create,forms\n{site_b_bea.username},0,"enrolment:0"\n',
        }
    )
    member.refresh_from_db()
    assert (member.record_create, member.form_rights["enrolment"]) == (False, "none")

    removed = post(
        {
            "token": token,
            "content": "user",
            "action": "delete",
            "users[0]": site_b_bea.username,
            "returnFormat": "json",
        }
    )
    assert orjson.loads(removed.content) == 1
    assert not ProjectMember.objects.filter(project=study, user=site_b_bea).exists()


def test_an_unknown_username_is_refused_and_nothing_is_added(token, study):
    response = post(
        {
            "token": token,
            "content": "user",
            "format": "json",
            "data": '[{"username": "nobody_here", "design": "1"}]',
        }
    )

    assert response.status_code == 400
    assert orjson.loads(response.content) == {
        "error": "No account with that username can be added."
    }
    assert ProjectMember.objects.filter(project=study).count() == 1


def test_roles_are_created_assigned_and_deleted(token, study, site_b_bea):
    post(
        {
            "token": token,
            "content": "user",
            "format": "json",
            "data": f'[{{"username": "{site_b_bea.username}"}}]',
        }
    )

    created = post(
        {
            "token": token,
            "content": "userRole",
            "format": "json",
            "data": '[{"role_label": "Monitor", "logging": "1", "forms": {"enrolment": 2}}]',
        }
    )
    role = Role.objects.get(project=study, name="Monitor")
    assigned = post(
        {
            "token": token,
            "content": "userRoleMapping",
            "format": "json",
            "data": orjson.dumps(
                [{"username": site_b_bea.username, "unique_role_name": role.unique_name}]
            ).decode(),
        }
    )

    assert (orjson.loads(created.content), orjson.loads(assigned.content)) == (1, 1)
    assert (role.logging, role.form_rights) == (True, {"enrolment": "read"})
    assert ProjectMember.objects.get(project=study, user=site_b_bea).role == role
    refused = post(
        {
            "token": token,
            "content": "userRole",
            "action": "delete",
            "roles": role.unique_name,
            "format": "json",
        }
    )
    assert refused.status_code == 400
    post(
        {
            "token": token,
            "content": "userRoleMapping",
            "format": "json",
            "data": f'[{{"username": "{site_b_bea.username}", "unique_role_name": ""}}]',
        }
    )
    deleted = post(
        {
            "token": token,
            "content": "userRole",
            "action": "delete",
            "roles": role.unique_name,
            "format": "json",
        }
    )
    assert orjson.loads(deleted.content) == 1


def test_groups_are_created_renamed_assigned_switched_and_deleted(
    token, study, site_b_bea, paula_context
):
    created = post(
        {
            "token": token,
            "content": "dag",
            "action": "import",
            "format": "json",
            "data": '[{"data_access_group_name": "Test DAG", "unique_group_name": ""}]',
        }
    )
    renamed = post(
        {
            "token": token,
            "content": "dag",
            "action": "import",
            "format": "json",
            "data": '[{"data_access_group_name": "Renamed", "unique_group_name": "test_dag"}]',
        }
    )
    post(
        {
            "token": token,
            "content": "user",
            "format": "json",
            "data": f'[{{"username": "{site_b_bea.username}", "api_export": "1"}}]',
        }
    )
    mapped = post(
        {
            "token": token,
            "content": "userDagMapping",
            "action": "import",
            "format": "json",
            "data": orjson.dumps(
                [{"username": site_b_bea.username, "redcap_data_access_group": "test_dag"}]
            ).decode(),
        }
    )

    assert [orjson.loads(r.content) for r in (created, renamed, mapped)] == [1, 1, 1]
    assert ProjectMember.objects.get(project=study, user=site_b_bea).group.name == "Renamed"
    post(
        {
            "token": token,
            "content": "userDagMapping",
            "action": "import",
            "format": "json",
            "data": f'[{{"username": "{site_b_bea.username}", "redcap_data_access_group": ""}}]',
        }
    )
    deleted = post(
        {
            "token": token,
            "content": "dag",
            "action": "delete",
            "dags[0]": "test_dag",
            "format": "json",
        }
    )
    assert orjson.loads(deleted.content) == 1
    assert not study.groups.exists()


def test_switching_to_a_group_one_is_not_allowed_in_looks_like_a_missing_group(
    token, study, paula_context
):
    group_create(context=paula_context, project=study, name="North site")

    response = post(
        {
            "token": token,
            "content": "dag",
            "action": "switch",
            "dag": "north_site",
            "returnFormat": "csv",
        }
    )

    assert (response.status_code, response.content) == (400, b"ERROR: No such data access group.")


def test_form_rights_are_read_as_redcap_16s_bits_and_as_legacy_codes(token, study, site_b_bea):
    data = [
        {
            "username": site_b_bea.username,
            "forms": {"enrolment": 129, "adverse_event": 3},
        }
    ]

    post({"token": token, "content": "user", "format": "json", "data": orjson.dumps(data).decode()})

    member = ProjectMember.objects.get(project=study, user=site_b_bea)
    assert member.form_rights == {"enrolment": "read", "adverse_event": "survey_edit"}


def test_a_role_mapping_row_with_a_group_puts_the_member_in_it(token, site, study, site_b_bea):
    north, role = site
    ProjectMember.objects.filter(user=site_b_bea).update(group=None)
    row = {
        "username": site_b_bea.username,
        "unique_role_name": role.unique_name,
        "data_access_group": "north_site",
    }

    post(
        {
            "token": token,
            "content": "userRoleMapping",
            "format": "json",
            "data": orjson.dumps([row]).decode(),
        }
    )

    assert ProjectMember.objects.get(project=study, user=site_b_bea).group == north
