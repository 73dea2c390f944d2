"""PyCap on a longitudinal project created from Project XML with the super token, as PyCap's
own integration tests create theirs: two arms, events, the mapping, records across events."""

from __future__ import annotations

import io

import pytest
from redcap import Project, RedcapError

from conftest import REDCAP_PROJECTS
from tests.pycap.conftest import create_project_from_xml

TITLE = "PyCap longitudinal"


@pytest.fixture(scope="module")
def project(api_server) -> Project:
    odm = (REDCAP_PROJECTS / "longitudinal" / "project.xml").read_text(encoding="utf-8")
    return Project(api_server[0], create_project_from_xml(api_server, TITLE, odm))


def test_it_is_longitudinal_with_two_arms_and_their_events(project):
    assert project.is_longitudinal is True
    assert project.export_arms() == [
        {"arm_num": 1, "name": "Drug A"},
        {"arm_num": 2, "name": "Drug B"},
    ]
    events = project.export_events()
    assert [e["unique_event_name"] for e in events][:3] == [
        "enrollment_arm_1",
        "dose_1_arm_1",
        "visit_1_arm_1",
    ]
    assert [e["unique_event_name"] for e in project.export_events(arms=["2"])][:2] == [
        "enrollment_arm_2",
        "deadline_to_opt_ou_arm_2",
    ]


def test_the_mapping_in_every_format(project):
    mapping = project.export_instrument_event_mappings()
    frame = project.export_instrument_event_mappings(format_type="df")

    assert {
        "arm_num": 1,
        "unique_event_name": "enrollment_arm_1",
        "form": "demographics",
    } in mapping
    assert len(frame) == len(mapping)
    assert "arm_num,unique_event_name,form" in project.export_instrument_event_mappings(
        format_type="csv"
    )


def test_records_carry_their_event_and_a_dataframe_is_indexed_by_record_and_event(project):
    records = project.export_records(fields=["study_id"], events=["enrollment_arm_1"])
    frame = project.export_records(format_type="df", fields=["study_id", "first_name"])

    assert records[0] == {"study_id": "100", "redcap_event_name": "enrollment_arm_1"}
    assert frame.index.names == ["study_id", "redcap_event_name"]
    assert frame.loc[(100, "enrollment_arm_1"), "first_name"] == "Zharko"


def test_importing_into_an_event_and_deleting_that_events_data(project):
    count = project.import_records(
        [{"study_id": "900", "redcap_event_name": "enrollment_arm_1", "first_name": "Temp"}]
    )

    assert count == {"count": 1}
    assert project.delete_records(["900"], arm="1") == 1
    assert project.export_records(records=["900"]) == []


def test_an_import_into_an_event_without_the_form_is_refused(project):
    with pytest.raises(RedcapError, match="not designated for the event"):
        project.import_records(
            [{"study_id": "100", "redcap_event_name": "dose_1_arm_1", "first_name": "X"}]
        )


def test_events_can_be_added_and_removed(project):
    assert project.import_events([{"event_name": "Extra visit", "arm_num": 1}]) == 1
    names = [e["unique_event_name"] for e in project.export_events()]
    assert "extra_visit_arm_1" in names

    assert project.delete_events(["extra_visit_arm_1"]) == 1
    assert "extra_visit_arm_1" not in [e["unique_event_name"] for e in project.export_events()]


def test_repeating_events_round_trip_in_xml(project):
    setting = {"event_name": "visit_1_arm_1", "form_name": "", "custom_form_label": "Visit"}

    assert project.import_repeating_instruments_events([setting]) == 1
    exported = project.export_repeating_instruments_events(format_type="xml")
    assert project.import_repeating_instruments_events(exported, import_format="xml") == 1
    assert project.export_repeating_instruments_events() == [setting]


def test_a_file_in_an_event(project):
    project.import_file(
        "100", "patient_document", "doc.txt", io.BytesIO(b"hello\n"), event="enrollment_arm_1"
    )

    content, headers = project.export_file("100", "patient_document", event="enrollment_arm_1")

    assert (content, headers["name"]) == (b"hello\n", "doc.txt")
