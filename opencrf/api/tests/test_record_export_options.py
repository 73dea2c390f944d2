"""Record export options beyond the basics: label headers and the decimal comma (spec §2.1)."""

from __future__ import annotations

import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db

ROWS = [
    FieldRow(field_name="pid", form_name="vitals", field_label="Participant <i>ID</i>"),
    FieldRow(
        field_name="weight",
        form_name="vitals",
        field_label="<b>Weight</b> (kg)",
        text_validation_type_or_show_slider_number="number",
    ),
    FieldRow(
        field_name="half",
        form_name="vitals",
        field_label="Half weight",
        field_type="calc",
        select_choices_or_calculations="[weight] / 2",
    ),
    FieldRow(field_name="site_note", form_name="vitals", field_label="Note 1.5"),
    FieldRow(
        field_name="symptoms",
        form_name="vitals",
        field_label="Symptoms",
        field_type="checkbox",
        select_choices_or_calculations="1, Cough | 2, <b>Fever</b>",
    ),
    FieldRow(field_name="visit_day", form_name="visit", field_label="Day"),
]


@pytest.fixture
def vitals_token(paula_context, classic_project, pi_paula):
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    record = record_create(context=paula_context, project=classic_project, record_id="1")
    form_save(
        context=paula_context,
        record=record,
        event=classic_project.events.get(),
        form_name="vitals",
        values={"weight": "61.5", "site_note": "v1.5", "symptoms___2": "1"},
        base_version=0,
    )
    return token_create(context=paula_context, user=pi_paula, project=classic_project)


def _export(token, **options):
    return post({"token": token, "content": "record", "format": "csv", **options})


def test_label_headers_name_each_column_by_its_label_as_redcap_does(vitals_token):
    response = _export(vitals_token, rawOrLabelHeaders="label")

    header, row = response.content.decode().splitlines()
    assert header == (
        '"Participant ID","Weight (kg)","Half weight","Note 1.5","Symptoms (choice=Cough)",'
        '"Symptoms (choice=Fever)",Complete?,Day,Complete?'
    )
    assert row == "1,61.5,30.75,v1.5,0,1,0,,0"


def test_raw_headers_stay_the_default(vitals_token):
    header = _export(vitals_token).content.decode().splitlines()[0]

    assert header == (
        "pid,weight,half,site_note,symptoms___1,symptoms___2,vitals_complete,visit_day,"
        "visit_complete"
    )


def test_the_decimal_comma_rewrites_numbers_and_calculations_only(vitals_token):
    comma = _export(vitals_token, decimalCharacter=",", csvDelimiter=";")
    named = _export(vitals_token, decimalCharacter="comma", fields="pid,weight")
    dot = _export(vitals_token, decimalCharacter=".", fields="pid,weight")

    assert comma.content.decode().splitlines()[1] == "1;61,5;30,75;v1.5;0;1;0;;0"
    assert named.content.decode().splitlines()[1] == '1,"61,5"'
    assert dot.content.decode().splitlines()[1] == "1,61.5"


def test_an_unknown_decimal_character_is_refused(vitals_token):
    response = _export(vitals_token, decimalCharacter="x", returnFormat="json")

    assert (response.status_code, response.content) == (
        400,
        b'{"error":"The value of the parameter \\"decimalCharacter\\" is not valid"}',
    )


def test_odm_exports_the_chosen_records_as_clinical_data(
    vitals_token, paula_context, classic_project
):
    record_create(context=paula_context, project=classic_project, record_id="2")

    everything = post({"token": vitals_token, "content": "record", "format": "odm"})
    one = post({"token": vitals_token, "content": "record", "format": "odm", "records": "1"})

    body = everything.content.decode()
    assert (everything.status_code, everything.content_type) == (200, "text/xml; charset=utf-8")
    assert body.count("<SubjectData ") == 2
    assert one.content.decode().count("<SubjectData ") == 1
    assert 'SubjectKey="1"' in one.content.decode()
    assert '<ItemData ItemOID="weight" Value="61.5"/>' in one.content.decode()


def test_a_csv_export_without_matching_rows_is_an_empty_body_as_in_redcap(vitals_token):
    flat = _export(vitals_token, **{"records[0]": "none_such"})
    eav = _export(vitals_token, type="eav", **{"records[0]": "none_such"})
    as_json = _export(vitals_token, format="json", **{"records[0]": "none_such"})

    assert (flat.status_code, flat.content) == (200, b"")
    assert (eav.status_code, eav.content) == (200, b"")
    assert as_json.content == b"[]"
