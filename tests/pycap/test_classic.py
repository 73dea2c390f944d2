"""PyCap on a classic project: the calls research scripts make, in every format PyCap offers.

The project is made with the super token, its dictionary imported with `import_metadata`,
records with `import_records`; each test then reads back through PyCap exactly what REDCap
would answer.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
import semantic_version
from redcap import Project, RedcapError

from tests.pycap.conftest import create_project

DICTIONARY = [
    {
        "field_name": "record_id",
        "form_name": "demographics",
        "field_type": "text",
        "field_label": "Record ID",
    },
    {
        "field_name": "first_name",
        "form_name": "demographics",
        "field_type": "text",
        "field_label": "First name",
        "identifier": "y",
    },
    {
        "field_name": "dob",
        "form_name": "demographics",
        "field_type": "text",
        "field_label": "Date of birth",
        "text_validation_type_or_show_slider_number": "date_ymd",
    },
    {
        "field_name": "sex",
        "form_name": "demographics",
        "field_type": "radio",
        "field_label": "Sex",
        "select_choices_or_calculations": "0, Female | 1, Male",
    },
    {
        "field_name": "conditions",
        "form_name": "demographics",
        "field_type": "checkbox",
        "field_label": "Conditions",
        "select_choices_or_calculations": "1, Diabetes | 2, Hypertension | 3, Asthma",
    },
    {
        "field_name": "weight",
        "form_name": "health",
        "field_type": "text",
        "field_label": "Weight (kg)",
        "text_validation_type_or_show_slider_number": "number",
        "text_validation_min": "20",
        "text_validation_max": "300",
    },
    {
        "field_name": "height",
        "form_name": "health",
        "field_type": "text",
        "field_label": "Height (m)",
        "text_validation_type_or_show_slider_number": "number",
    },
    {
        "field_name": "bmi",
        "form_name": "health",
        "field_type": "calc",
        "field_label": "BMI",
        "select_choices_or_calculations": "round([weight] / ([height] * [height]), 1)",
    },
    {
        "field_name": "consent_file",
        "form_name": "health",
        "field_type": "file",
        "field_label": "Signed consent",
    },
]
RECORDS = [
    {
        "record_id": "1",
        "first_name": "Hanako",
        "dob": "1980-04-01",
        "sex": "0",
        "conditions___1": "1",
        "demographics_complete": "2",
        "weight": "60",
        "height": "1.6",
    },
    {
        "record_id": "2",
        "first_name": "Taro",
        "dob": "1975-12-31",
        "sex": "1",
        "conditions___2": "1",
        "conditions___3": "1",
        "weight": "80",
        "height": "1.8",
    },
]


@pytest.fixture(scope="module")
def project(api_server) -> Project:
    token = create_project(api_server, "PyCap classic")
    project = Project(api_server[0], token)
    assert project.import_metadata(DICTIONARY) == len(DICTIONARY)
    assert project.import_records(RECORDS) == {"count": 2}
    return project


def test_the_version_is_one_pycap_accepts(project):
    assert project.export_version() == semantic_version.Version("16.0.0")
    assert project.redcap_version >= semantic_version.Version("12.0.1")


def test_a_classic_project_is_not_longitudinal_and_has_no_arms_or_events(project):
    assert project.is_longitudinal is False
    with pytest.raises(RedcapError, match="You cannot export arms for classic projects"):
        project.export_arms()
    with pytest.raises(RedcapError, match="You cannot export events for classic projects"):
        project.export_events()


def test_project_info_in_every_format(project):
    info = project.export_project_info()
    frame = project.export_project_info(format_type="df")

    assert (info["project_title"], info["is_longitudinal"], info["purpose"]) == (
        "PyCap classic",
        0,
        0,
    )
    assert "PyCap classic" in project.export_project_info(format_type="csv")
    assert (
        "<project_title><![CDATA[PyCap classic]]></project_title>"
        in project.export_project_info(format_type="xml")
    )
    assert frame.loc[0, "project_title"] == "PyCap classic"


def test_metadata_in_every_format(project):
    rows = project.export_metadata()
    frame = project.export_metadata(format_type="df")

    assert [row["field_name"] for row in rows] == [row["field_name"] for row in DICTIONARY]
    assert project.def_field == "record_id"
    assert sorted(project.forms) == ["demographics", "health"]
    assert "field_name,form_name" in project.export_metadata(format_type="csv")
    assert "<field_name><![CDATA[bmi]]></field_name>" in project.export_metadata(format_type="xml")
    assert list(frame.index) == [row["field_name"] for row in DICTIONARY]
    assert project.export_metadata(fields=["sex"])[0]["select_choices_or_calculations"] == (
        "0, Female | 1, Male"
    )


def test_field_names_expand_checkboxes_and_leave_out_files(project):
    names = [row["export_field_name"] for row in project.export_field_names()]

    assert names == [
        "record_id",
        "first_name",
        "dob",
        "sex",
        "conditions___1",
        "conditions___2",
        "conditions___3",
        "demographics_complete",
        "weight",
        "height",
        "bmi",
        "health_complete",
    ]
    frame = project.export_field_names(format_type="df")
    assert list(frame.columns) == ["choice_value", "export_field_name"]


def test_instruments(project):
    assert project.export_instruments() == [
        {"instrument_name": "demographics", "instrument_label": "Demographics"},
        {"instrument_name": "health", "instrument_label": "Health"},
    ]


def test_records_as_json_with_calculations_done_by_the_server(project):
    records = project.export_records()

    assert [record["record_id"] for record in records] == ["1", "2"]
    assert records[0]["bmi"] == "23.4"
    assert records[1]["bmi"] == "24.7"
    assert (records[0]["conditions___1"], records[0]["conditions___2"]) == ("1", "0")
    assert (records[0]["demographics_complete"], records[1]["demographics_complete"]) == ("2", "0")


def test_records_as_a_dataframe_csv_and_xml(project):
    frame = project.export_records(format_type="df")
    text = project.export_records(format_type="csv")
    xml = project.export_records(format_type="xml")

    assert list(frame.index) == [1, 2]
    assert frame.loc[2, "first_name"] == "Taro"
    assert text.splitlines()[0].startswith("record_id,first_name,dob,sex,conditions___1")
    assert "<first_name><![CDATA[Hanako]]></first_name>" in xml


def test_records_filtered_by_record_field_and_form_and_labelled(project):
    one = project.export_records(records=["2"], fields=["sex"], raw_or_label="label")
    forms = project.export_records(forms=["health"])

    assert one == [{"record_id": "2", "sex": "Male"}]
    assert list(forms[0]) == [
        "record_id",
        "weight",
        "height",
        "bmi",
        "consent_file",
        "health_complete",
    ]


def test_importing_a_dataframe_and_reading_it_back(project):
    frame = pd.DataFrame(
        [{"record_id": "3", "first_name": "Jiro", "sex": "1", "weight": "70", "height": "1.75"}]
    ).set_index("record_id")

    assert project.import_records(frame, import_format="df") == {"count": 1}
    assert project.export_records(records=["3"], fields=["bmi"])[0]["bmi"] == "22.9"


def test_an_invalid_import_raises_and_changes_nothing(project):
    before = project.export_records()

    with pytest.raises(RedcapError, match="not one of the choices"):
        project.import_records([{"record_id": "1", "sex": "7"}])

    assert project.export_records() == before


def test_next_record_name(project):
    assert project.generate_next_record_name() == str(
        max(int(r["record_id"]) for r in project.export_records(fields=["record_id"])) + 1
    )


def test_files_go_in_come_out_and_are_deleted(project):
    project.import_file("1", "consent_file", "consent.txt", io.BytesIO(b"signed\n"))

    content, headers = project.export_file("1", "consent_file")

    assert content == b"signed\n"
    assert headers["name"] == "consent.txt"
    project.delete_file("1", "consent_file")
    with pytest.raises(RedcapError):
        project.export_file("1", "consent_file")


def test_users_roles_and_groups_can_be_listed(project):
    users = project.export_users()

    assert users[0]["username"] == "pycap_admin"
    assert users[0]["api_export"] == 1
    assert project.export_user_roles() == []
    assert project.export_dags() == []
    assert project.export_user_dag_assignment() == [
        {"username": "pycap_admin", "redcap_data_access_group": ""}
    ]


def test_deleting_records(project):
    project.import_records([{"record_id": "99", "first_name": "Temporary"}])

    assert project.delete_records(["99"]) == 1
    assert "99" not in [r["record_id"] for r in project.export_records(fields=["record_id"])]
