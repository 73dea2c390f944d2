"""Project XML's role attributes with codes beyond 0/1: the data resolution right, and locking
with or without e-signature authority, read and written as REDCap has them."""

from __future__ import annotations

import pytest

from conftest import REDCAP_PROJECTS
from opencrf.dictionary.odm import RoleSpec, project_xml_read
from opencrf.dictionary.odm_roles import role_attributes, role_rights
from opencrf.projects.models import Role


def spec(**rights: str) -> RoleSpec:
    return RoleSpec(name="Monitor", unique_name="U-ABCDEFGHIJ", rights=rights)


def test_a_redcap_export_s_role_reads_its_resolution_and_lock_codes():
    data = (REDCAP_PROJECTS / "simple" / "project.xml").read_bytes()
    role = project_xml_read(data).roles[0]

    rights = role_rights(role, ["demographics"])

    assert (rights["data_resolution"], rights["lock_unlock"], rights["e_signature"]) == (
        "view",
        False,
        False,
    )
    assert (rights["data_quality"], rights["data_quality_execute"], rights["alerts"]) == (
        False,
        False,
        False,
    )


@pytest.mark.parametrize(
    ("code", "right"),
    [
        ("0", "none"),
        ("1", "view"),
        ("2", "respond"),
        ("3", "open_close_respond"),
        ("4", "open"),
        ("5", "open_respond"),
        ("9", "none"),
        ("", "none"),
    ],
)
def test_data_quality_resolution_codes_read_as_the_resolution_right(code, right):
    assert role_rights(spec(data_quality_resolution=code), [])["data_resolution"] == right


@pytest.mark.parametrize(
    ("attributes", "lock", "sign"),
    [
        ({"lock_record": "0"}, False, False),
        ({"lock_record": "1"}, True, False),
        ({"lock_record": "2"}, True, True),
        ({"lock_record": "0", "lock_record_multiform": "1"}, True, False),
        ({"lock_record": "7"}, False, False),
    ],
)
def test_lock_record_reads_as_lock_and_signature_authority(attributes, lock, sign):
    rights = role_rights(spec(**attributes), [])

    assert (rights["lock_unlock"], rights["e_signature"]) == (lock, sign)


def test_the_quality_alert_and_randomization_flags_read_their_own_rights():
    rights = role_rights(
        spec(
            data_quality_design="0",
            data_quality_execute="1",
            alerts="1",
            random_setup="1",
            random_dashboard="0",
            random_perform="1",
        ),
        [],
    )

    assert {
        name: rights[name]
        for name in (
            "data_quality",
            "data_quality_execute",
            "alerts",
            "randomization_setup",
            "randomization_dashboard",
            "randomization_perform",
        )
    } == {
        "data_quality": False,
        "data_quality_execute": True,
        "alerts": True,
        "randomization_setup": True,
        "randomization_dashboard": False,
        "randomization_perform": True,
    }


@pytest.mark.parametrize(
    ("lock", "sign", "code"), [(False, False, "0"), (True, False, "1"), (True, True, "2")]
)
def test_a_role_is_written_with_redcap_s_codes(lock, sign, code):
    role = Role(
        name="Monitor",
        unique_name="U-ABCDEFGHIJ",
        lock_unlock=lock,
        e_signature=sign,
        data_resolution="open_respond",
        data_quality_execute=True,
        randomization_dashboard=True,
    )

    attributes = role_attributes(role, [])

    assert (attributes["lock_record"], attributes["data_quality_resolution"]) == (code, "5")
    assert attributes["lock_record_multiform"] == str(int(lock))
    assert (attributes["data_quality_design"], attributes["data_quality_execute"]) == ("0", "1")
    assert (attributes["random_setup"], attributes["random_dashboard"]) == ("0", "1")


def test_a_written_role_reads_back_to_the_same_rights():
    role = Role(
        name="Investigator",
        unique_name="U-INVESTIGAT",
        lock_unlock=True,
        e_signature=True,
        data_resolution="open_close_respond",
        alerts=True,
        data_quality=True,
        form_rights={"consent": "edit"},
        export_rights={"consent": "full"},
    )
    attributes = role_attributes(role, ["consent"])
    read = RoleSpec(
        name=attributes.pop("role_name"),
        unique_name=attributes.pop("unique_role_name"),
        rights=attributes,
    )

    rights = role_rights(read, ["consent"])

    held = {name for name, value in rights.items() if value is True}
    assert held == {"lock_unlock", "e_signature", "alerts", "data_quality"}
    assert rights["data_resolution"] == "open_close_respond"
    assert (rights["form_rights"], rights["export_rights"]) == (
        {"consent": "edit"},
        {"consent": "full"},
    )
