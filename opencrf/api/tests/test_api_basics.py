"""The API's transport, tokens and design contents, as REDCap clients see them (spec §1, §2)."""

from __future__ import annotations

import orjson
import pytest
from django.test import Client

from opencrf.api.models import ApiToken
from opencrf.api.tests.client import post
from opencrf.api.tokens import super_token_create, token_create, token_delete, token_regenerate
from opencrf.audit.models import AuditEvent
from opencrf.core.errors import InvalidInput
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db


def test_the_version_is_a_bare_semantic_version_any_client_accepts(token):
    response = post({"token": token, "content": "version"})

    assert (response.status_code, response.content) == (200, b"16.0.0")


def test_a_get_is_not_implemented_as_an_xml_error(token):
    response = Client().get("/api/", {"token": token, "content": "version"})

    assert response.status_code == 501
    assert b"<error>The requested method is not implemented.</error>" in response.content


@pytest.mark.parametrize(
    "bad",
    [
        "BAD00000000000000000000000000000",
        "short",
        "' OR 1=1 --",
        "",
        "G" * 32,
        "A" * 33,
    ],
)
def test_unknown_and_malformed_tokens_get_redcaps_403_in_each_format(token, bad):
    as_csv = post({"token": bad, "content": "metadata", "format": "csv"})
    as_json = post({"token": bad, "content": "metadata", "format": "json"})
    as_xml = post({"token": bad, "content": "metadata"})

    assert (as_csv.status_code, as_csv.content) == (
        403,
        b"ERROR: You do not have permissions to use the API",
    )
    assert (as_json.status_code, orjson.loads(as_json.content)) == (
        403,
        {"error": "You do not have permissions to use the API"},
    )
    assert as_xml.status_code == 403
    assert b"<error>You do not have permissions to use the API</error>" in as_xml.content


def test_a_lower_case_token_with_a_trailing_newline_still_works(token):
    response = post({"token": token.lower() + "\n", "content": "version"})

    assert response.content == b"16.0.0"


def test_an_unknown_content_is_refused_by_name(token):
    response = post({"token": token, "content": "nonsense", "format": "json"})

    assert (response.status_code, orjson.loads(response.content)) == (
        400,
        {"error": 'The value of the parameter "content" is not valid'},
    )


def test_a_token_of_a_former_member_stops_working(token, study, pi_paula):
    study.members.filter(user=pi_paula).delete()

    response = post({"token": token, "content": "version", "format": "csv"})

    assert response.status_code == 403


def test_tokens_are_kept_only_as_digests_and_audited(token, study, pi_paula):
    stored = ApiToken.objects.get(user=pi_paula, project=study)

    assert len(token) == 32 and token == token.upper()
    assert token not in (stored.digest, stored.hint) and stored.hint == token[-4:]
    assert AuditEvent.objects.filter(project_id=study.pk, action="api.token_create").count() == 1


def test_a_second_token_is_refused_and_regenerating_retires_the_old_one(
    token, study, pi_paula, paula_context
):
    with pytest.raises(InvalidInput):
        token_create(context=paula_context, user=pi_paula, project=study)

    fresh = token_regenerate(context=paula_context, user=pi_paula, project=study)

    assert post({"token": token, "content": "version"}).status_code == 403
    assert post({"token": fresh, "content": "version"}).content == b"16.0.0"
    token_delete(context=paula_context, user=pi_paula, project=study)
    assert post({"token": fresh, "content": "version"}).status_code == 403


def test_a_super_token_is_for_administrators_and_has_64_digits(admin_ada, pi_paula, paula_context):
    token = super_token_create(context=paula_context, user=admin_ada)

    assert len(token) == 64
    assert post({"token": token, "content": "version"}).content == b"16.0.0"
    assert post({"token": token, "content": "metadata", "format": "csv"}).status_code == 403
    with pytest.raises(InvalidInput):
        super_token_create(context=paula_context, user=pi_paula)


def test_metadata_exports_every_field_as_strings_in_dictionary_order(token):
    response = post({"token": token, "content": "metadata", "format": "json"})

    rows = orjson.loads(response.content)
    assert [row["field_name"] for row in rows] == [
        "study_id",
        "sex",
        "race",
        "note",
        "scan",
        "ae_term",
    ]
    assert rows[1]["select_choices_or_calculations"] == "1, Female | 2, Male"
    assert all(isinstance(value, str) for row in rows for value in row.values())


def test_metadata_csv_has_bare_api_headers_and_filters_by_form(token):
    response = post(
        {"token": token, "content": "metadata", "format": "csv", "forms[0]": "adverse_event"}
    )

    lines = response.content.decode().splitlines()
    assert lines[0].startswith("field_name,form_name,section_header,field_type,field_label,")
    assert lines[1:] == ["ae_term,adverse_event,,text,Term,,,,,,,,,,,,,"]


def test_unknown_fields_are_named_in_the_error(token):
    response = post({"token": token, "content": "metadata", "format": "csv", "fields": "sex, nope"})

    assert (response.status_code, response.content) == (
        400,
        b"ERROR: The following values in the parameter \"fields\" are not valid: 'nope'",
    )


def test_export_field_names_expand_checkboxes_skip_files_and_add_statuses(token):
    response = post({"token": token, "content": "exportFieldNames", "format": "csv"})

    assert response.content.decode().splitlines() == [
        "original_field_name,choice_value,export_field_name",
        "study_id,,study_id",
        "sex,,sex",
        "race,A,race___a",
        "race,W,race___w",
        "race,-99,race____99",
        "enrolment_complete,,enrolment_complete",
        "ae_term,,ae_term",
        "adverse_event_complete,,adverse_event_complete",
    ]


def test_instruments_and_repeating_forms_of_a_classic_project(token):
    instruments = post({"token": token, "content": "instrument", "format": "json"})
    repeats = post({"token": token, "content": "repeatingFormsEvents", "format": "json"})

    assert orjson.loads(instruments.content) == [
        {"instrument_name": "enrolment", "instrument_label": "Enrolment"},
        {"instrument_name": "adverse_event", "instrument_label": "Adverse Event"},
    ]
    assert orjson.loads(repeats.content) == [
        {"form_name": "adverse_event", "custom_form_label": "[ae_term]"}
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("arm", b"ERROR: You cannot export arms for classic projects"),
        ("event", b"ERROR: You cannot export events for classic projects"),
        ("formEventMapping", b"ERROR: You cannot export form/event mappings for classic projects"),
    ],
)
def test_classic_projects_refuse_arms_events_and_mappings_exactly_as_redcap(
    token, content, message
):
    response = post({"token": token, "content": content, "format": "csv"})

    assert (response.status_code, response.content) == (400, message)


def test_project_info_is_one_object_with_integer_flags(token, study):
    info = orjson.loads(post({"token": token, "content": "project", "format": "json"}).content)

    assert info["project_id"] == study.pk
    assert (info["is_longitudinal"], info["in_production"], info["purpose"]) == (0, 0, 2)
    assert info["has_repeating_instruments_or_events"] == 1
    assert list(info)[:3] == ["project_id", "project_title", "creation_time"]


def test_records_export_flat_with_repeat_rows_checkbox_columns_and_statuses(
    token, study, paula_context
):
    record = record_create(context=paula_context, project=study, record_id="1")
    record_create(context=paula_context, project=study, record_id="2")
    event = study.events.get()
    values = {"sex": "1", "race___a": "1", "race____99": "1"}
    form_save(
        context=paula_context,
        record=record,
        event=event,
        form_name="enrolment",
        values=values,
        status=2,
        base_version=0,
    )
    for instance, term in ((1, "Headache"), (2, "Rash, mild")):
        form_save(
            context=paula_context,
            record=record,
            event=event,
            form_name="adverse_event",
            instance=instance,
            values={"ae_term": term},
            base_version=0,
        )

    response = post({"token": token, "content": "record", "format": "csv"})

    assert response.content.decode() == (
        "study_id,redcap_repeat_instrument,redcap_repeat_instance,sex,race___a,race___w,"
        "race____99,scan,enrolment_complete,ae_term,adverse_event_complete\n"
        "1,,,1,1,0,1,,2,,\n"
        "1,adverse_event,1,,,,,,,Headache,0\n"
        '1,adverse_event,2,,,,,,,"Rash, mild",0\n'
        "2,,,,0,0,0,,0,,\n"
    )


def test_records_export_json_keeps_instances_as_integers_and_labels_on_request(
    token, study, paula_context
):
    record = record_create(context=paula_context, project=study, record_id="7")
    form_save(
        context=paula_context,
        record=record,
        event=study.events.get(),
        form_name="adverse_event",
        values={"ae_term": "Fever"},
        base_version=0,
    )

    raw = orjson.loads(
        post(
            {"token": token, "content": "record", "format": "json", "forms": "adverse_event"}
        ).content
    )
    labels = orjson.loads(
        post(
            {
                "token": token,
                "content": "record",
                "format": "json",
                "rawOrLabel": "label",
                "fields": "study_id,sex,race",
            }
        ).content
    )

    assert raw == [
        {
            "redcap_repeat_instrument": "",
            "redcap_repeat_instance": "",
            "ae_term": "",
            "adverse_event_complete": "",
        },
        {
            "redcap_repeat_instrument": "adverse_event",
            "redcap_repeat_instance": 1,
            "ae_term": "Fever",
            "adverse_event_complete": "0",
        },
    ]
    assert labels[0] == {
        "study_id": "7",
        "redcap_repeat_instrument": "",
        "redcap_repeat_instance": "",
        "sex": "",
        "race___a": "Unchecked",
        "race___w": "Unchecked",
        "race____99": "Unchecked",
    }


def test_records_export_eav_lists_stored_values_only(token, study, paula_context):
    record = record_create(context=paula_context, project=study, record_id="3")
    form_save(
        context=paula_context,
        record=record,
        event=study.events.get(),
        form_name="enrolment",
        values={"sex": "2", "race___w": "1"},
        base_version=0,
    )

    response = post({"token": token, "content": "record", "format": "csv", "type": "eav"})

    assert response.content.decode().splitlines() == [
        "record,redcap_repeat_instrument,redcap_repeat_instance,field_name,value",
        "3,,,study_id,3",
        "3,,,sex,2",
        "3,,,race,W",
        "3,,,enrolment_complete,0",
    ]


def test_records_of_another_group_are_absent_from_an_export(
    token, study, paula_context, site_b_bea
):
    from opencrf.projects.models import ProjectMember
    from opencrf.projects.services import group_create

    north = group_create(context=paula_context, project=study, name="North")
    south = group_create(context=paula_context, project=study, name="South")
    record_create(context=paula_context, project=study, record_id="n1", group=north)
    record_create(context=paula_context, project=study, record_id="s1", group=south)
    ProjectMember.objects.create(project=study, user=site_b_bea, group=south, api_export=True)
    bea_token = token_create(context=paula_context, user=site_b_bea, project=study)

    response = post(
        {
            "token": bea_token,
            "content": "record",
            "format": "csv",
            "fields": "study_id",
            "exportDataAccessGroups": "true",
            "records": "n1,s1",
        }
    )

    assert response.content.decode().splitlines() == [
        "study_id,redcap_repeat_instrument,redcap_repeat_instance",
        "s1,,",
    ]


def test_a_super_token_creates_a_project_and_answers_its_token_bare(admin_ada, paula_context):
    from opencrf.projects.models import Project

    super_token = super_token_create(context=paula_context, user=admin_ada)
    data = (
        "<item><project_title>API made</project_title><purpose>0</purpose>"
        "<is_longitudinal>1</is_longitudinal></item>"
    )

    response = post({"token": super_token, "content": "project", "format": "xml", "data": data})

    assert response.status_code == 200
    assert len(response.content) == 32
    created = Project.objects.get(title="API made")
    assert (created.purpose, created.is_longitudinal) == (0, True)
    info = post({"token": response.content.decode(), "content": "project", "format": "json"})
    assert orjson.loads(info.content)["project_title"] == "API made"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"purpose": "0"}', b"The project_title is missing."),
        ('{"project_title": "x", "purpose": "9"}', b"The purpose must be 0, 1, 2, 3 or 4."),
        (
            '[{"project_title": "a", "purpose": 0}, {"project_title": "b", "purpose": 0}]',
            b"The data must describe exactly one project.",
        ),
    ],
)
def test_bad_project_attributes_are_refused_and_nothing_is_created(
    admin_ada, paula_context, data, message
):
    from opencrf.projects.models import Project

    super_token = super_token_create(context=paula_context, user=admin_ada)

    response = post({"token": super_token, "content": "project", "format": "json", "data": data})

    assert response.status_code == 400
    assert message in response.content
    assert not Project.objects.exists()


def test_a_project_token_cannot_create_projects(token):
    response = post(
        {
            "token": token,
            "content": "project",
            "format": "csv",
            "data": "project_title,purpose\nx,0\n",
        }
    )

    assert response.status_code == 400


def test_metadata_import_replaces_the_dictionary_and_answers_the_field_count(token, study):
    rows = [
        {
            "field_name": "study_id",
            "form_name": "enrolment",
            "field_type": "text",
            "field_label": "Study ID",
        },
        {
            "field_name": "age",
            "form_name": "enrolment",
            "field_type": "text",
            "field_label": "Age",
            "text_validation_type_or_show_slider_number": "integer",
            "text_validation_min": "0.0",
            "text_validation_max": "130.0",
        },
    ]

    response = post(
        {
            "token": token,
            "content": "metadata",
            "format": "json",
            "data": orjson.dumps(rows).decode(),
            "returnFormat": "json",
        }
    )

    assert orjson.loads(response.content) == 2
    exported = orjson.loads(post({"token": token, "content": "metadata", "format": "json"}).content)
    assert [(r["field_name"], r["text_validation_max"]) for r in exported] == [
        ("study_id", ""),
        ("age", "130"),
    ]


def test_an_invalid_dictionary_is_refused_with_its_problems_and_nothing_changes(token, study):
    before = post({"token": token, "content": "metadata", "format": "csv"}).content

    response = post(
        {
            "token": token,
            "content": "metadata",
            "format": "csv",
            "data": "field_name,form_name,field_type,field_label\n1bad,f,text,X\n",
        }
    )

    assert response.status_code == 400
    assert response.content.startswith(b"ERROR: row 2, ")
    assert post({"token": token, "content": "metadata", "format": "csv"}).content == before


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"content": "report", "report_id": "1"},
            'The value of the parameter "report_id" is not valid',
        ),
        (
            {"content": "surveyLink", "record": "1", "instrument": "enrolment"},
            "Surveys have not been enabled in this project",
        ),
        (
            {"content": "participantList", "instrument": "enrolment"},
            "Surveys have not been enabled in this project",
        ),
        (
            {"content": "record", "action": "randomize", "record": "1"},
            "Randomization is not enabled in this project",
        ),
    ],
)
def test_features_not_offered_yet_answer_as_a_project_without_them(token, values, message):
    response = post({"token": token, "format": "json", **values})

    assert (response.status_code, orjson.loads(response.content)) == (400, {"error": message})


def test_a_body_over_the_limit_is_refused_before_it_is_read(token, study, settings):
    settings.OPENCRF_API_MAX_BYTES = 2000

    response = post(
        {"token": token, "content": "record", "format": "csv", "data": "study_id\n" + "1\n" * 2000}
    )

    assert response.status_code == 413
    assert (
        b"<error>The request is larger than this server accepts (0 MB) or malformed.</error>"
        in (response.content)
    )
    from opencrf.records.models import Record

    assert not Record.objects.filter(project=study).exists()


def test_thousands_of_array_items_are_accepted_as_pycap_sends_them(token):
    fields = {f"fields[{n}]": "study_id" for n in range(5000)}

    response = post({"token": token, "content": "metadata", "format": "csv", **fields})

    assert response.status_code == 200
    assert response.content.decode().splitlines()[1].startswith("study_id,enrolment,")


def test_a_body_that_is_not_utf8_is_refused(token):
    response = Client().post(
        "/api/",
        b"token=" + token.encode() + b"&content=version&x=\xff\xfe",
        content_type="application/x-www-form-urlencoded",
    )

    # Malformed, not too large: 400 with REDCap's error body (it used to be 413).
    assert (response.status_code, response.content.decode().splitlines()[-2:]) == (
        400,
        ["  <error>The request body is not valid UTF-8 text.</error>", "</hash>"],
    )
