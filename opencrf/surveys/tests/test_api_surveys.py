"""The survey contents of the API on the demo study (quality of life a survey): REDCap's
answers, its error texts, the "Manage Survey Participants" right and site isolation."""

from __future__ import annotations

import csv
import io

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.services import AuditContext
from opencrf.projects import rights_services
from opencrf.projects.models import DataAccessGroup
from opencrf.records.models import Record
from opencrf.surveys import services
from opencrf.surveys.models import SurveyResponse
from opencrf.surveys.respond import response_complete
from opencrf.surveys.services import survey_update

pytestmark = pytest.mark.django_db
SITE = "https://edc.example.jp"
NO_RIGHT = (
    'The API request cannot complete because currently you do not have "Manage Survey '
    'Participants" privileges, which are required for this operation.'
)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.OPENCRF_SITE_URL = SITE


@pytest.fixture
def paula_token(demo, qol_survey, pi_paula, paula_context):
    return token_create(context=paula_context, user=pi_paula, project=demo)


def call(token, content, **params):
    return post({"token": token, "content": content, "returnFormat": "csv", **params})


def text(answer):
    return answer.content.decode()


def test_a_survey_link_is_the_records_response_link_at_the_event(paula_token, demo):
    answer = call(
        paula_token,
        "surveyLink",
        record="1-1",
        instrument="quality_of_life",
        event="baseline_arm_1",
    )
    response = SurveyResponse.objects.get(
        record__record_id="1-1",
        survey__form_name="quality_of_life",
        event__unique_name="baseline_arm_1",
    )
    assert (answer.status_code, text(answer)) == (200, f"{SITE}/surveys/s/{response.token}/")
    again = call(
        paula_token,
        "surveyLink",
        record="1-1",
        instrument="quality_of_life",
        event="baseline_arm_1",
    )
    assert text(again) == text(answer)
    assert SurveyResponse.objects.filter(record__record_id="1-1").count() == 1


def test_the_access_code_is_the_responses_nine_characters(paula_token):
    answer = call(
        paula_token,
        "surveyAccessCode",
        record="1-2",
        instrument="quality_of_life",
        event="week_24_arm_1",
    )
    response = SurveyResponse.objects.get(record__record_id="1-2")
    assert (answer.status_code, text(answer)) == (200, response.access_code)
    assert len(text(answer)) == 9


def test_a_return_code_needs_save_and_return(paula_token, qol_survey, paula_context):
    params = {"record": "1-1", "instrument": "quality_of_life", "event": "baseline_arm_1"}
    refused = call(paula_token, "surveyReturnCode", **params)
    assert (refused.status_code, text(refused)) == (
        400,
        "ERROR: The 'Save & Return Later' feature has not been enabled for this survey",
    )
    survey_update(context=paula_context, survey=qol_survey, save_and_return=True)
    answer = call(paula_token, "surveyReturnCode", **params)
    response = SurveyResponse.objects.get(record__record_id="1-1")
    assert (answer.status_code, text(answer)) == (200, response.return_code)
    assert len(response.return_code) == 8


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"instrument": "quality_of_life"}, "The parameter 'record' is missing"),
        ({"record": "9-9", "instrument": "quality_of_life"}, 'The record "9-9" does not exist'),
        (
            {"record": "<b>x</b>", "instrument": "quality_of_life"},
            'The record "&lt;b&gt;x&lt;/b&gt;" does not exist',
        ),
        ({"record": "1-1"}, "The parameter 'instrument' is missing"),
        ({"record": "1-1", "instrument": "nope"}, "Invalid instrument"),
        (
            {"record": "1-1", "instrument": "baseline"},
            "The instrument 'baseline' has not been enabled as a survey",
        ),
        ({"record": "1-1", "instrument": "quality_of_life"}, "The parameter 'event' is missing"),
        (
            {"record": "1-1", "instrument": "quality_of_life", "event": "week_99_arm_1"},
            "Invalid event",
        ),
        (
            {"record": "1-1", "instrument": "quality_of_life", "event": "screening_arm_1"},
            'The instrument "quality_of_life" has not been designated for the event '
            '"screening_arm_1"',
        ),
    ],
)
def test_bad_parameters_get_redcaps_errors_and_make_no_link(paula_token, params, message):
    answer = call(paula_token, "surveyLink", **params)
    assert (answer.status_code, text(answer)) == (400, f"ERROR: {message}")
    assert SurveyResponse.objects.count() == 0


def test_a_return_code_names_the_instrument_in_double_quotes(paula_token):
    answer = call(paula_token, "surveyReturnCode", record="1-1", instrument="baseline")
    assert text(answer) == 'ERROR: The instrument "baseline" has not been enabled as a survey'


def test_errors_follow_the_return_format(paula_token):
    answer = post(
        {"token": paula_token, "content": "surveyLink", "record": "1-1", "returnFormat": "json"}
    )
    assert orjson.loads(answer.content) == {"error": "The parameter 'instrument' is missing"}


def test_a_project_without_surveys_says_so(paula_token, demo):
    demo.surveys_enabled = False
    demo.save(update_fields=["surveys_enabled"])
    for content in ("surveyLink", "surveyQueueLink", "surveyAccessCode", "participantList"):
        answer = call(paula_token, content, record="1-1", instrument="quality_of_life")
        assert text(answer) == "ERROR: Surveys have not been enabled in this project"


@pytest.fixture
def bea_token(demo, qol_survey, site_b_bea, paula_context):
    """Bea is at the second site (hokurei_med) with API export, and manages participants."""
    group = DataAccessGroup.objects.get(project=demo, unique_name="hokurei_med")
    member = rights_services.member_add(
        context=paula_context,
        project=demo,
        username="site_b_bea",
        rights={"api_export": True, "survey_participants": True},
    )
    member.group = group
    member.save(update_fields=["group"])
    return token_create(context=paula_context, user=site_b_bea, project=demo)


def test_a_record_of_another_site_does_not_exist_for_a_grouped_user(bea_token):
    for content in ("surveyLink", "surveyAccessCode", "surveyReturnCode"):
        answer = call(
            bea_token, content, record="1-1", instrument="quality_of_life", event="baseline_arm_1"
        )
        assert text(answer) == 'ERROR: The record "1-1" does not exist'
    answer = call(bea_token, "surveyQueueLink", record="1-1")
    assert text(answer) == 'ERROR: The record "1-1" does not exist'
    assert SurveyResponse.objects.count() == 0
    own = call(
        bea_token, "surveyLink", record="2-1", instrument="quality_of_life", event="baseline_arm_1"
    )
    assert own.status_code == 200


def test_the_participant_list_of_a_grouped_user_holds_their_sites_records_only(bea_token):
    answer = post(
        {
            "token": bea_token,
            "content": "participantList",
            "instrument": "quality_of_life",
            "event": "baseline_arm_1",
            "format": "json",
        }
    )
    rows = orjson.loads(answer.content)
    assert len(rows) == 4
    linked = SurveyResponse.objects.filter(event__unique_name="baseline_arm_1")
    assert sorted(r.record.record_id for r in linked) == ["2-1", "2-2", "2-3", "2-4"]


def test_without_the_participants_right_every_survey_content_is_refused(
    demo, qol_survey, site_b_bea, paula_context
):
    rights_services.member_add(
        context=paula_context, project=demo, username="site_b_bea", rights={"api_export": True}
    )
    token = token_create(context=paula_context, user=site_b_bea, project=demo)
    for content in (
        "surveyLink",
        "surveyQueueLink",
        "surveyAccessCode",
        "surveyReturnCode",
        "participantList",
    ):
        answer = call(token, content, record="1-1", instrument="quality_of_life")
        assert (answer.status_code, text(answer)) == (403, f"ERROR: {NO_RIGHT}")
    assert SurveyResponse.objects.count() == 0


def test_the_participant_list_has_redcaps_columns_and_a_row_per_record(paula_token, demo):
    answer = post(
        {
            "token": paula_token,
            "content": "participantList",
            "instrument": "quality_of_life",
            "event": "week_24_arm_1",
            "format": "csv",
        }
    )
    rows = list(csv.DictReader(io.StringIO(text(answer))))
    assert list(rows[0]) == [
        "email",
        "email_occurrence",
        "identifier",
        "record",
        "invitation_sent_status",
        "invitation_send_time",
        "response_status",
        "survey_access_code",
        "survey_link",
    ]
    assert len(rows) == Record.objects.filter(project=demo).count() == 12
    first = SurveyResponse.objects.get(record__record_id="1-1", event__unique_name="week_24_arm_1")
    assert rows[0] == {
        "email": "",
        "email_occurrence": "1",
        "identifier": "",
        "record": "",
        "invitation_sent_status": "0",
        "invitation_send_time": "",
        "response_status": "0",
        "survey_access_code": first.access_code,
        "survey_link": f"{SITE}/surveys/s/{first.token}/",
    }


def test_the_participant_list_in_xml_is_redcaps_participants(paula_token):
    answer = post(
        {
            "token": paula_token,
            "content": "participantList",
            "instrument": "quality_of_life",
            "event": "week_52_arm_1",
            "format": "xml",
        }
    )
    body = text(answer)
    assert body.startswith('<?xml version="1.0" encoding="UTF-8" ?>\n<participants>\n<participant>')
    assert body.count("<participant>") == 12
    assert body.endswith("</participant>\n</participants>")


def test_a_completed_response_hides_its_link_unless_editing_is_allowed(
    paula_token, qol_survey, paula_context
):
    call(
        paula_token,
        "surveyLink",
        record="1-1",
        instrument="quality_of_life",
        event="baseline_arm_1",
    )
    SurveyResponse.objects.update(status=SurveyResponse.Status.COMPLETED)
    params = {
        "token": paula_token,
        "content": "participantList",
        "instrument": "quality_of_life",
        "event": "baseline_arm_1",
        "format": "json",
    }
    row = orjson.loads(post(params).content)[0]
    assert (row["response_status"], row["survey_link"], row["survey_access_code"]) == (2, "", "")
    survey_update(context=paula_context, survey=qol_survey, edit_completed=True)
    row = orjson.loads(post(params).content)[0]
    assert row["survey_link"].startswith(f"{SITE}/surveys/s/")


def test_the_queue_link_needs_a_survey_in_the_queue(paula_token, qol_survey, paula_context):
    refused = call(paula_token, "surveyQueueLink", record="1-1")
    assert text(refused) == (
        "ERROR: The Survey Queue has not been enabled in this project. You will need to "
        "enable the Survey Queue before using this method."
    )
    survey_update(
        context=paula_context, survey=qol_survey, queue_enabled=True, queue_logic="[sex] = '1'"
    )
    answer = call(paula_token, "surveyQueueLink", record="1-1")
    assert answer.status_code == 200
    assert text(answer).startswith(f"{SITE}/surveys/q/")
    assert text(call(paula_token, "surveyQueueLink", record="1-1")) == text(answer)


@pytest.mark.parametrize(
    ("right", "survey_columns"),
    [
        ("full", ["redcap_survey_identifier", "quality_of_life_timestamp"]),
        ("remove_identifiers", []),
        ("deidentified", []),
    ],
)
def test_survey_fields_come_only_with_full_export_rights(
    demo, qol_survey, site_b_bea, paula_context, right, survey_columns
):
    forms = list(demo.instruments.values_list("name", flat=True))
    rights_services.member_add(
        context=paula_context,
        project=demo,
        username="site_b_bea",
        rights={"api_export": True, "export_rights": dict.fromkeys(forms, right)},
    )
    token = token_create(context=paula_context, user=site_b_bea, project=demo)
    answer = call(token, "record", format="csv", exportSurveyFields="true")
    assert answer.status_code == 200
    header = text(answer).splitlines()[0].split(",")
    survey = [name for name in header if name in SURVEY_COLUMNS]
    assert survey == survey_columns


SURVEY_COLUMNS = {"redcap_survey_identifier", "quality_of_life_timestamp"}


def test_the_odm_export_carries_survey_fields_when_asked(paula_token, qol_survey, demo):
    record = Record.objects.get(project=demo, record_id="1-1")
    baseline = demo.events.get(unique_name="baseline_arm_1")
    link = services.response_link(survey=qol_survey, record=record, event=baseline)
    response_complete(link, context=AuditContext.system())
    plain = text(call(paula_token, "record", format="odm", records="1-1"))
    asked = text(
        call(paula_token, "record", format="odm", records="1-1", exportSurveyFields="true")
    )
    assert 'ItemOID="quality_of_life_timestamp"' not in plain
    assert 'ItemOID="redcap_survey_identifier"' not in plain
    assert asked.count('ItemOID="quality_of_life_timestamp"') == 1
