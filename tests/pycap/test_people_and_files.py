"""PyCap's calls for users, roles, data access groups, logging, PDFs and the file repository,
on a classic project made with the super token."""

from __future__ import annotations

import io

import pytest
from redcap import Project, RedcapError

from tests.pycap.conftest import create_project

DICTIONARY = [
    {
        "field_name": "record_id",
        "form_name": "visit",
        "field_type": "text",
        "field_label": "Record ID",
    },
    {"field_name": "note", "form_name": "visit", "field_type": "notes", "field_label": "Note"},
]


@pytest.fixture(scope="module")
def project(api_server) -> Project:
    project = Project(api_server[0], create_project(api_server, "PyCap people and files"))
    project.import_metadata(DICTIONARY)
    project.import_records([{"record_id": "1", "note": "first visit"}])
    return project


def test_roles_are_imported_listed_assigned_and_deleted(project):
    assert project.import_user_roles([{"role_label": "Monitor", "logging": "1"}]) == 1
    role = project.export_user_roles()[-1]
    assert role["role_label"] == "Monitor"
    assert (role["logging"], role["design"]) == ("1", "0")

    assert project.export_user_role_assignment() == [
        {"username": "pycap_admin", "unique_role_name": "", "data_access_group": ""}
    ]
    assert project.delete_user_roles([role["unique_role_name"]]) == 1
    assert project.export_user_roles() == []


def test_groups_are_imported_switched_and_deleted(project):
    assert (
        project.import_dags([{"data_access_group_name": "Test DAG", "unique_group_name": ""}]) == 1
    )
    assert [dag["unique_group_name"] for dag in project.export_dags()] == ["test_dag"]
    with pytest.raises(RedcapError, match="No such data access group"):
        project.switch_dag("test_dag")
    assert project.delete_dags(["test_dag"]) == 1
    assert project.export_dags(format_type="df").empty


def test_users_can_be_updated(project):
    assert project.import_users([{"username": "pycap_admin", "data_quality_create": "1"}]) == 1
    assert project.export_users()[0]["data_quality_create"] == 1
    frame = project.export_users(format_type="df")
    assert frame.loc[0, "username"] == "pycap_admin"


def test_logging_shows_the_project_being_made_and_the_import(project):
    logs = project.export_logging()
    managed = project.export_logging(log_type="manage")

    assert "Update record (API) 1" in [entry["action"] for entry in logs]
    assert "manage/design" in managed.pop()["action"].lower()


def test_a_pdf_of_the_instrument(project):
    content, _headers = project.export_pdf(record="1", instrument="visit")

    assert content.startswith(b"%PDF-")


def test_the_file_repository(project):
    folder = project.create_folder_in_repository("Protocols")
    folder_id = folder[0]["folder_id"]
    project.import_file_into_repository("protocol.txt", io.BytesIO(b"v2\n"), folder_id=folder_id)

    listed = project.export_file_repository(folder_id=folder_id)
    content, headers = project.export_file_from_repository(listed[0]["doc_id"])

    assert (content, headers["name"]) == (b"v2\n", "protocol.txt")
    project.delete_file_from_repository(listed[0]["doc_id"])
    assert project.export_file_repository(folder_id=folder_id) == []
