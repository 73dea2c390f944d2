"""What PyCap's own integration tests found unlike REDCap, driven through PyCap.

The project is made from Project XML with data by the super token, as PyCap's tests make theirs.
"""

from __future__ import annotations

import pytest
from redcap import Project

from conftest import REDCAP_PROJECTS
from tests.pycap.conftest import create_project_from_xml


@pytest.fixture(scope="module")
def simple(api_server) -> Project:
    odm = (REDCAP_PROJECTS / "simple" / "project.xml").read_text(encoding="utf-8")
    return Project(api_server[0], create_project_from_xml(api_server, "Parity", odm))


def test_a_project_made_from_xml_holds_no_calculated_values(simple):
    calculated = [
        row["field_name"] for row in simple.export_metadata() if row["field_type"] == "calc"
    ]

    rows = simple.export_records(record_type="eav")

    assert calculated
    assert [row for row in rows if row["field_name"] in calculated] == []


def test_an_export_with_no_rows_is_empty_in_every_tabular_format(simple):
    assert simple.export_records(format_type="csv", records=["none_such"]) == ""
    assert simple.export_records(format_type="df", records=["none_such"]).empty
    assert simple.export_records(records=["none_such"]) == []


def test_users_and_role_mappings_carry_redcap_16s_keys(simple):
    user = simple.export_users()[0]
    mapping = simple.export_user_role_assignment()[0]

    keys = list(user)
    assert keys[5:8] == ["data_access_group", "data_access_group_id", "data_access_group_label"]
    lock = keys.index("lock_records_all_forms")
    assert keys[lock : lock + 3] == [
        "lock_records_all_forms",
        "lock_records",
        "lock_records_customization",
    ]
    assert {"email_logging", "api_modules"} <= set(keys)
    assert list(mapping) == ["username", "unique_role_name", "data_access_group"]


def test_the_oldest_design_entry_is_the_project_being_made(simple):
    oldest = simple.export_logging(log_type="manage").pop()

    assert "manage/design" in oldest["action"].lower()
    assert oldest["details"] == "Create project: Parity"
