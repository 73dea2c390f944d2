"""Surveys in Project XML and in record exports (`exportSurveyFields`), on REDCap's own
`survey` project (tests/fixtures/redcap-projects/survey, REDCapR's test project)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.projects.models import Project
from opencrf.records.project_xml import project_create_from_xml, project_xml_write
from opencrf.surveys.models import Survey, SurveyResponse

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[3] / "tests/fixtures/redcap-projects/survey"


@pytest.fixture
def import_context(pi_paula):
    return AuditContext(actor=pi_paula, source="import")


@pytest.fixture
def project(import_context):
    return project_create_from_xml(
        context=import_context, data=(FIXTURE / "project.xml").read_bytes()
    )


@pytest.fixture
def token(project, pi_paula, paula_context):
    return token_create(context=paula_context, user=pi_paula, project=project)


def exported(token, **params):
    answer = post(
        {"token": token, "content": "record", "format": "csv", **params}, HTTP_HOST="testserver"
    )
    assert answer.status_code == 200, answer.content
    return list(csv.reader(io.StringIO(answer.content.decode())))


def test_a_project_from_project_xml_has_its_surveys_with_their_settings(project):
    surveys = {s.form_name: s for s in Survey.objects.filter(project=project)}
    assert sorted(surveys) == [
        "participant_info_survey",
        "participant_morale_questionnaire",
        "prescreening_survey",
    ]
    first = surveys["prescreening_survey"]
    assert (first.title, first.save_and_return, first.active) == (
        "Pre-Screening Survey",
        False,
        True,
    )
    assert first.instructions == (
        "<p><strong>Please complete the survey below.</strong></p>\n<p>Thank you!</p>"
    )
    assert first.completion_text == (
        "<p><strong>Thank you for taking the survey.</strong></p>\n<p>Have a nice day!</p>"
    )
    assert surveys["participant_info_survey"].save_and_return is True


def test_the_files_survey_timestamps_become_responses(project):
    found = {
        (r.record.record_id, r.survey.form_name): (r.status, r.completed_at is not None)
        for r in SurveyResponse.objects.filter(project=project)
    }
    assert found == {
        ("1", "prescreening_survey"): ("completed", True),
        ("1", "participant_morale_questionnaire"): ("partial", False),
        ("2", "prescreening_survey"): ("completed", True),
    }


def test_survey_fields_come_where_redcap_puts_them(token):
    rows = exported(token, exportSurveyFields="true")
    expected = (FIXTURE / "data.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert rows[0] == expected
    by_name = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [
        (
            row["participant_id"],
            row["redcap_survey_identifier"],
            row["prescreening_survey_timestamp"],
            row["participant_info_survey_timestamp"],
            row["participant_morale_questionnaire_timestamp"],
        )
        for row in by_name
    ] == [
        ("1", "", "2024-10-13 20:39:30", "", "[not completed]"),
        ("2", "", "2024-10-13 20:40:51", "", ""),
    ]


def test_without_the_option_there_are_no_survey_fields(token):
    header = exported(token)[0]
    assert "redcap_survey_identifier" not in header
    assert not [name for name in header if name.endswith("_timestamp")]


def test_a_form_not_asked_for_gets_no_timestamp(token):
    header = exported(token, exportSurveyFields="1", fields="participant_id,pmq1")[0]
    assert header == [
        "participant_id",
        "redcap_survey_identifier",
        "participant_morale_questionnaire_timestamp",
        "pmq1",
    ]


def test_survey_fields_have_labels_as_headers(token):
    header = exported(token, exportSurveyFields="true", rawOrLabelHeaders="label")[0]
    assert header[1:3] == ["Survey Identifier", "Survey Timestamp"]


def test_a_bad_export_survey_fields_value_is_refused(token):
    answer = post(
        {"token": token, "content": "record", "format": "csv", "exportSurveyFields": "maybe"}
    )
    assert (answer.status_code, answer.content) == (
        400,
        b'ERROR: The value of the parameter "exportSurveyFields" is not valid',
    )


def test_surveys_off_means_no_survey_fields(token, project):
    Project.objects.filter(pk=project.pk).update(surveys_enabled=False)
    assert "redcap_survey_identifier" not in exported(token, exportSurveyFields="true")[0]


def test_the_project_xml_carries_the_surveys_back(project, pi_paula, import_context):
    xml = "".join(project_xml_write(project, pi_paula, include_data=True, include_files=False))
    assert '<redcap:Surveys form_name="prescreening_survey" title="Pre-Screening Survey"' in xml
    again = project_create_from_xml(context=import_context, data=xml.encode(), title="Again")
    theirs = {
        s.form_name: (s.title, s.instructions, s.completion_text, s.save_and_return)
        for s in Survey.objects.filter(project=again)
    }
    ours = {
        s.form_name: (s.title, s.instructions, s.completion_text, s.save_and_return)
        for s in Survey.objects.filter(project=project)
    }
    assert theirs == ours
    assert SurveyResponse.objects.filter(project=again).count() == 0  # ClinicalData: no times


def test_survey_settings_travel_both_ways(project, pi_paula, import_context, paula_context):
    from opencrf.surveys.services import survey_update

    survey = Survey.objects.get(project=project, form_name="participant_info_survey")
    survey_update(
        context=paula_context,
        survey=survey,
        paging=Survey.Paging.SECTIONS,
        edit_completed=True,
        auto_continue=True,
        response_limit=50,
        response_limit_message="Full",
        time_limit_minutes=1501,
        redirect_url="https://example.org/thanks",
        queue_enabled=True,
        queue_after="prescreening_survey",
    )
    xml = "".join(project_xml_write(project, pi_paula, include_data=False, include_files=False))
    assert '<redcap:SurveysQueue survey_id="participant_info_survey"' in xml
    again = project_create_from_xml(context=import_context, data=xml.encode(), title="Again")
    copy = Survey.objects.get(project=again, form_name="participant_info_survey")
    assert (
        copy.paging,
        copy.edit_completed,
        copy.auto_continue,
        copy.response_limit,
        copy.response_limit_message,
        copy.time_limit_minutes,
        copy.redirect_url,
        copy.queue_enabled,
        copy.queue_after,
    ) == (
        "sections",
        True,
        True,
        50,
        "Full",
        1501,
        "https://example.org/thanks",
        True,
        "prescreening_survey",
    )


def test_a_survey_of_an_unknown_instrument_refuses_the_file(import_context):
    data = (
        (FIXTURE / "project.xml")
        .read_bytes()
        .replace(b'form_name="prescreening_survey" title=', b'form_name="nowhere" title=', 1)
    )
    before = Project.objects.count()
    with pytest.raises(InvalidInput) as raised:
        project_create_from_xml(context=import_context, data=data)
    assert raised.value.message == (
        'Project XML: a survey names the instrument "nowhere", which is not defined.'
    )
    assert (Project.objects.count(), Survey.objects.count()) == (before, 0)


def test_a_hostile_redirect_url_refuses_the_file(import_context):
    data = (
        (FIXTURE / "project.xml")
        .read_bytes()
        .replace(b'end_survey_redirect_url=""', b'end_survey_redirect_url="javascript:alert(1)"', 1)
    )
    with pytest.raises(InvalidInput) as raised:
        project_create_from_xml(context=import_context, data=data)
    assert raised.value.message == (
        'Project XML: survey "prescreening_survey" has end_survey_redirect_url '
        '"javascript:alert(1)", which is not valid.'
    )
    assert Survey.objects.count() == 0


def test_html_in_a_survey_title_is_kept_as_text(import_context):
    data = (
        (FIXTURE / "project.xml")
        .read_bytes()
        .replace(b'title="Pre-Screening Survey"', b'title="&lt;script&gt;x&lt;/script&gt;"', 1)
    )
    project = project_create_from_xml(context=import_context, data=data)
    assert Survey.objects.get(project=project, form_name="prescreening_survey").title == (
        "<script>x</script>"
    )
