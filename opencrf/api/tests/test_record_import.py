"""Record import through the API: every row or none, with REDCap's results and errors (§2.2)."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember
from opencrf.records.models import FormData, Record

pytestmark = pytest.mark.django_db


def stored(project):
    return sorted(
        (f.record.record_id, f.form_name, f.instance, f.values, f.status)
        for f in FormData.objects.filter(project=project).select_related("record")
    )


def audit_count(project):
    return AuditEvent.objects.filter(project_id=project.pk).count()


def test_json_rows_create_records_and_repeat_instances_and_count_records_once(
    token,
    study,
):
    data = [
        {"study_id": "1", "sex": 1, "race___a": "1", "enrolment_complete": "2"},
        {
            "study_id": "1",
            "redcap_repeat_instrument": "adverse_event",
            "redcap_repeat_instance": 1,
            "ae_term": "Headache",
        },
        {
            "study_id": "1",
            "redcap_repeat_instrument": "adverse_event",
            "redcap_repeat_instance": "new",
            "ae_term": "Rash",
        },
        {"study_id": "2", "sex": "2"},
    ]

    response = post(
        {"token": token, "content": "record", "format": "json", "data": orjson.dumps(data).decode()}
    )

    assert (response.status_code, orjson.loads(response.content)) == (200, {"count": 2})
    assert stored(study) == [
        ("1", "adverse_event", 1, {"ae_term": "Headache"}, 0),
        ("1", "adverse_event", 2, {"ae_term": "Rash"}, 0),
        ("1", "enrolment", 1, {"race___a": "1", "sex": "1"}, 2),
        ("2", "enrolment", 1, {"sex": "2"}, 0),
    ]
    sources = set(
        AuditEvent.objects.filter(project_id=study.pk, action="form.update").values_list(
            "source", flat=True
        )
    )
    assert sources == {"api"}


def test_a_bad_value_refuses_the_whole_import_listing_every_problem(
    token,
    study,
):
    before = (stored(study), audit_count(study), Record.objects.filter(project=study).count())
    data = "study_id,sex,race___w,enrolment_complete\n5,1,1,2\n6,9,1,2\n7,1,2,5\n"

    response = post({"token": token, "content": "record", "format": "csv", "data": data})

    assert response.status_code == 400
    assert response.content.decode().splitlines() == [
        'ERROR: "6","sex","9","9 is not one of the choices of sex."',
        '"7","race___w","2","2 is not allowed for race___w: use 0 or 1."',
        '"7","enrolment_complete","5","The form status must be 0, 1 or 2."',
    ]
    assert (
        stored(study),
        audit_count(study),
        Record.objects.filter(project=study).count(),
    ) == before


def test_unknown_columns_are_named(token, study):
    response = post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "data": "study_id,sex,<script>x,weight\n1,1,2,3\n",
        }
    )

    assert (response.status_code, response.content) == (
        400,
        b"ERROR: The following fields were not found in the project as real data fields: "
        b"<script>x, weight",
    )
    assert stored(study) == []


def test_overwrite_erases_blanks_while_normal_keeps_them(token, study):
    post({"token": token, "content": "record", "format": "csv", "data": "study_id,sex\n1,2\n"})

    kept = post(
        {"token": token, "content": "record", "format": "csv", "data": "study_id,sex\n1,\n"}
    )
    assert stored(study)[0][3] == {"sex": "2"}
    erased = post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "data": "study_id,sex\n1,\n",
            "overwriteBehavior": "overwrite",
        }
    )

    assert (kept.content, erased.content) == (b"1", b"1")
    assert stored(study)[0][3] == {}


def test_xml_results_and_returned_ids(token, study):
    data = (
        "<records><item><study_id>8</study_id><sex>1</sex></item>"
        "<item><study_id>9</study_id></item></records>"
    )

    as_xml = post({"token": token, "content": "record", "format": "xml", "data": data})
    as_ids = post(
        {
            "token": token,
            "content": "record",
            "format": "xml",
            "data": data,
            "returnContent": "ids",
            "returnFormat": "json",
        }
    )

    assert as_xml.content == b'<?xml version="1.0" encoding="UTF-8" ?><count>2</count>'
    assert orjson.loads(as_ids.content) == ["8", "9"]


def test_forced_auto_numbering_gives_new_ids_and_reports_the_pairs(token, study):
    post({"token": token, "content": "record", "format": "csv", "data": "study_id\n4\n"})

    response = post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "data": "study_id,sex\nA,1\nA,\nB,2\n",
            "forceAutoNumber": "True",
            "returnContent": "auto_ids",
            "returnFormat": "json",
        }
    )

    assert orjson.loads(response.content) == ["5,A", "6,B"]
    assert sorted(Record.objects.filter(project=study).values_list("record_id", flat=True)) == [
        "4",
        "5",
        "6",
    ]


def test_dates_in_day_month_year_order_are_stored_as_iso(token, study, paula_context):
    from opencrf.dictionary.columns import FieldRow
    from opencrf.dictionary.services import dictionary_apply

    rows = [
        FieldRow(field_name="study_id", form_name="enrolment", field_label="ID"),
        FieldRow(
            field_name="seen",
            form_name="enrolment",
            field_label="Seen",
            field_type="text",
            text_validation_type_or_show_slider_number="date_dmy",
        ),
    ]
    dictionary_apply(context=paula_context, project=study, rows=rows, source="upload")

    post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "data": "study_id,seen\n1,31/12/2024\n",
            "dateFormat": "DMY",
        }
    )

    assert stored(study) == [("1", "enrolment", 1, {"seen": "2024-12-31"}, 0)]


@pytest.mark.parametrize(
    ("fmt", "data", "message"),
    [
        ("json", "{not json", "The data is not valid JSON"),
        ("json", '[{"study_id": {"nested": 1}}]', "nested value"),
        ("csv", 'study_id,sex\n"1,2\n', "CSV"),
        ("xml", "<records><item>", "not valid XML"),
        (
            "xml",
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            '"&lol;&lol;&lol;&lol;">]><records><item><study_id>&lol2;</study_id></item></records>',
            "entities or a DTD",
        ),
        (
            "xml",
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<records><item><study_id>&x;</study_id></item></records>",
            "entities or a DTD",
        ),
    ],
)
def test_malformed_data_is_refused_with_a_reason_and_changes_nothing(
    token,
    study,
    fmt,
    data,
    message,
):
    response = post(
        {"token": token, "content": "record", "format": fmt, "data": data, "returnFormat": "json"}
    )

    assert response.status_code == 400
    assert message in orjson.loads(response.content)["error"]
    assert stored(study) == []


def test_a_member_without_the_api_import_right_is_refused(
    study,
    paula_context,
    site_b_bea,
):
    from opencrf.api.tokens import token_create

    ProjectMember.objects.create(project=study, user=site_b_bea, api_export=True)
    bea = token_create(context=paula_context, user=site_b_bea, project=study)

    response = post({"token": bea, "content": "record", "format": "csv", "data": "study_id\n1\n"})

    assert (response.status_code, response.content) == (
        403,
        b"ERROR: You do not have API Import/Update privileges",
    )
    assert Record.objects.filter(project=study).count() == 0


def test_formula_strings_are_stored_as_text_and_exported_unchanged(token, study):
    post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "data": "study_id,ae_term,redcap_repeat_instrument,redcap_repeat_instance\n"
            '1,"=HYPERLINK(""http://x"")",adverse_event,1\n',
        }
    )

    exported = post(
        {"token": token, "content": "record", "format": "csv", "forms": "adverse_event"}
    )

    assert stored(study) == [("1", "adverse_event", 1, {"ae_term": '=HYPERLINK("http://x")'}, 0)]
    assert exported.content.decode().splitlines()[2] == (
        'adverse_event,1,"=HYPERLINK(""http://x"")",0'
    )


def test_a_retried_import_with_the_same_idempotency_key_writes_once(token, study):
    data = {
        "token": token,
        "content": "record",
        "format": "csv",
        "data": "study_id,sex\n1,1\n",
        "forceAutoNumber": "true",
        "returnContent": "auto_ids",
    }

    first = post(data, HTTP_IDEMPOTENCY_KEY="import-2026-11-25-a")
    retried = post(data, HTTP_IDEMPOTENCY_KEY="import-2026-11-25-a")
    other_key = post(data, HTTP_IDEMPOTENCY_KEY="import-2026-11-25-b")

    assert first.content == retried.content == b"id,original_id\n1,1\n"
    assert other_key.content == b"id,original_id\n2,1\n"
    assert sorted(Record.objects.filter(project=study).values_list("record_id", flat=True)) == [
        "1",
        "2",
    ]


def test_an_idempotency_key_reused_for_another_request_is_refused(token, study):
    post(
        {"token": token, "content": "record", "format": "csv", "data": "study_id\n1\n"},
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    response = post(
        {"token": token, "content": "record", "format": "csv", "data": "study_id\n2\n"},
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    assert (response.status_code, response.content) == (
        400,
        b"ERROR: This Idempotency-Key was used for a different request.",
    )
    assert list(Record.objects.filter(project=study).values_list("record_id", flat=True)) == ["1"]


def test_filter_logic_keeps_the_rows_for_which_it_is_true(token, study):
    post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "data": (
                "study_id,redcap_repeat_instrument,redcap_repeat_instance,sex,ae_term\n"
                "1,,,1,\n1,adverse_event,1,,Rash\n1,adverse_event,2,,Fever\n2,,,2,\n"
            ),
        }
    )

    by_sex = post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "fields": "study_id,sex",
            "filterLogic": "[sex] = '2'",
        }
    )
    by_term = post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "fields": "study_id,ae_term",
            "filterLogic": "[ae_term] = 'Fever'",
        }
    )
    bad = post(
        {"token": token, "content": "record", "format": "json", "filterLogic": "[sex] = = 2"}
    )

    assert by_sex.content.decode().splitlines()[1:] == ["2,,,2"]
    assert by_term.content.decode().splitlines()[1:] == ["1,adverse_event,2,Fever"]
    assert bad.status_code == 400
    assert orjson.loads(bad.content)["error"].startswith("The filterLogic is not valid: ")


def test_a_bulk_import_audits_every_record_and_form_and_the_chain_verifies(token, study):
    from opencrf.audit.verify import verify_chain

    data = "study_id,sex,race___a\n" + "".join(f"{n},1,1\n" for n in range(1, 251))

    response = post({"token": token, "content": "record", "format": "csv", "data": data})

    assert response.content == b"250"
    actions = AuditEvent.objects.filter(project_id=study.pk, source="api")
    assert actions.filter(action="record.create").count() == 250
    assert actions.filter(action="form.update").count() == 250
    assert verify_chain(study.pk).ok


def test_calculations_are_computed_on_import_from_the_records_other_forms(
    study, paula_context, token
):
    from opencrf.dictionary.columns import FieldRow
    from opencrf.dictionary.services import dictionary_apply

    rows = [
        FieldRow(field_name="study_id", form_name="enrolment", field_label="ID"),
        FieldRow(
            field_name="weight",
            form_name="enrolment",
            field_label="Weight",
            field_type="text",
            text_validation_type_or_show_slider_number="number",
        ),
        FieldRow(
            field_name="double",
            form_name="follow_up",
            field_label="Twice",
            field_type="calc",
            select_choices_or_calculations="[weight] * 2",
        ),
        FieldRow(field_name="seen", form_name="follow_up", field_label="Seen", field_type="yesno"),
    ]
    dictionary_apply(context=paula_context, project=study, rows=rows, source="upload")

    post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "data": "study_id,weight,seen\n1,31.5,1\n",
        }
    )

    assert stored(study) == [
        ("1", "enrolment", 1, {"weight": "31.5"}, 0),
        ("1", "follow_up", 1, {"double": "63", "seen": "1"}, 0),
    ]


def test_the_queries_of_an_import_do_not_grow_with_its_records(token, study):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_to_import(first, count):
        rows = "".join(f"{n},1,1\n" for n in range(first, first + count))
        with CaptureQueriesContext(connection) as captured:
            response = post(
                {
                    "token": token,
                    "content": "record",
                    "format": "csv",
                    "data": "study_id,sex,race___a\n" + rows,
                }
            )
        assert response.content == str(count).encode()
        return len(captured.captured_queries)

    queries_to_import(1, 5)  # warm-up: per-process caches of the design
    # (Up to 110 records: beyond that SQLite's bound-parameter limit of 999 splits the record
    # INSERT, nine columns a record.)
    assert queries_to_import(100, 10) == queries_to_import(200, 110)
    assert Record.objects.filter(project=study).count() == 125
