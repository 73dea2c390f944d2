"""PyCap's survey methods against a live `opencrf serve`, on a project created from REDCap's
`survey` Project XML (REDCapR's test project: three surveys, surveys enabled, two records
with survey timestamps) with a survey queue entry added, as PyCap's integration tests would
call them against REDCap."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from redcap import Project, RedcapError

from tests.pycap.conftest import create_project_from_xml

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "redcap-projects" / "survey"
QUEUE = (
    '\t<redcap:SurveysQueueGroup>\n\t\t<redcap:SurveysQueue survey_id="participant_info_survey"'
    ' event_id="event_1_arm_1" active="1" auto_start="0"'
    ' condition_surveycomplete_survey_id="prescreening_survey"'
    ' condition_surveycomplete_event_id="event_1_arm_1" condition_andor="AND"'
    ' condition_logic=""/>\n\t</redcap:SurveysQueueGroup>\n'
)
MORALE = "participant_morale_questionnaire"
TOKEN = r"[A-Za-z0-9_-]{43}"


@pytest.fixture(scope="module")
def project(api_server) -> Project:
    odm = (FIXTURE / "project.xml").read_text(encoding="utf-8")
    odm = odm.replace("</redcap:SurveysGroup>\n", "</redcap:SurveysGroup>\n" + QUEUE, 1)
    return Project(api_server[0], create_project_from_xml(api_server, "Surveys", odm))


@pytest.fixture(scope="module")
def site(project) -> str:
    return project.url.removesuffix("/api/")


def test_a_survey_link_opens_the_records_survey(project, site):
    link = project.export_survey_link(record="1", instrument=MORALE)
    assert re.fullmatch(rf"{re.escape(site)}/surveys/s/{TOKEN}/", link)
    assert project.export_survey_link(record="1", instrument=MORALE) == link
    assert project.export_survey_link(record="2", instrument=MORALE) != link
    assert requests.get(link, timeout=30).status_code == 200


def test_a_survey_link_for_a_missing_record_or_a_form_that_is_no_survey_is_an_error(project):
    with pytest.raises(RedcapError, match='The record "-1" does not exist'):
        project.export_survey_link(record="-1", instrument=MORALE)
    with pytest.raises(RedcapError, match="The instrument 'completion_data' has not been enabled"):
        project.export_survey_link(record="1", instrument="completion_data")


def test_the_queue_link_is_the_records_own(project, site):
    link = project.export_survey_queue_link(record="1")
    assert re.fullmatch(rf"{re.escape(site)}/surveys/q/{TOKEN}/", link)
    assert project.export_survey_queue_link(record="1") == link
    assert project.export_survey_queue_link(record="2") != link


def test_the_access_code_has_nine_characters_and_is_in_the_participant_list(project):
    code = project.export_survey_access_code(record="2", instrument=MORALE)
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{9}", code)
    rows = project.export_survey_participant_list(instrument=MORALE)
    assert rows[1]["survey_access_code"] == code


def test_a_return_code_needs_save_and_return(project):
    code = project.export_survey_return_code(record="1", instrument=MORALE)
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", code)
    assert project.export_survey_return_code(record="1", instrument=MORALE) == code
    with pytest.raises(RedcapError, match="'Save & Return Later' feature has not been enabled"):
        project.export_survey_return_code(record="1", instrument="prescreening_survey")


def test_the_participant_list_has_a_row_per_record_in_every_format(project, site):
    rows = project.export_survey_participant_list(instrument=MORALE)
    assert [list(row) for row in rows] == [
        [
            "email",
            "email_occurrence",
            "identifier",
            "record",
            "invitation_sent_status",
            "invitation_send_time",
            "response_status",
            "survey_access_code",
            "survey_link",
            "survey_queue_link",
        ]
    ] * 2
    first, second = rows
    assert {k: first[k] for k in ("email", "email_occurrence", "identifier", "record")} == {
        "email": "",
        "email_occurrence": 1,
        "identifier": "",
        "record": "",
    }
    assert (first["response_status"], second["response_status"]) == (1, 0)
    assert (first["invitation_sent_status"], first["invitation_send_time"]) == (0, "")
    assert first["survey_link"] == project.export_survey_link(record="1", instrument=MORALE)
    assert first["survey_queue_link"] == project.export_survey_queue_link(record="1")
    frame = project.export_survey_participant_list(instrument=MORALE, format_type="df")
    assert list(frame["response_status"]) == [1, 0]
    text = project.export_survey_participant_list(instrument=MORALE, format_type="csv")
    assert text.splitlines()[0] == ",".join(list(first))
    xml = project.export_survey_participant_list(instrument=MORALE, format_type="xml")
    assert xml.count("<participant>") == 2


def test_records_with_survey_fields(project):
    rows = project.export_records(export_survey_fields=True)
    assert list(rows[0])[:3] == [
        "participant_id",
        "redcap_survey_identifier",
        "prescreening_survey_timestamp",
    ]
    assert [
        (
            row["participant_id"],
            row["prescreening_survey_timestamp"],
            row["participant_info_survey_timestamp"],
            row[f"{MORALE}_timestamp"],
        )
        for row in rows
    ] == [
        ("1", "2024-10-13 20:39:30", "", "[not completed]"),
        ("2", "2024-10-13 20:40:51", "", ""),
    ]
    plain = project.export_records()
    assert "redcap_survey_identifier" not in plain[0]
    frame = project.export_records(format_type="df", export_survey_fields=True)
    assert list(frame.columns[:2]) == ["redcap_survey_identifier", "prescreening_survey_timestamp"]
