"""Deleting and renaming records through the API (spec §2.3, §2.4)."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember
from opencrf.records.models import FormData, Record

pytestmark = pytest.mark.django_db

DATA = (
    "study_id,redcap_repeat_instrument,redcap_repeat_instance,sex,ae_term\n"
    "1,,,1,\n"
    "1,adverse_event,1,,Headache\n"
    "1,adverse_event,2,,Rash\n"
    "2,,,2,\n"
    "3,,,1,\n"
)


@pytest.fixture
def loaded(token, study):
    response = post({"token": token, "content": "record", "format": "csv", "data": DATA})
    assert response.content == b"3"
    return study


def forms(project):
    return sorted(
        FormData.objects.filter(project=project).values_list(
            "record__record_id", "form_name", "instance"
        )
    )


def test_deleting_records_removes_them_and_counts_them(token, loaded):
    response = post(
        {
            "token": token,
            "content": "record",
            "action": "delete",
            "records[0]": "1",
            "records[1]": "3",
            "returnFormat": "json",
        }
    )

    assert (response.status_code, orjson.loads(response.content)) == (200, 2)
    assert list(Record.objects.filter(project=loaded).values_list("record_id", flat=True)) == ["2"]
    assert AuditEvent.objects.filter(project_id=loaded.pk, action="record.delete").count() == 2


def test_deleting_one_instance_of_one_instrument_keeps_the_rest(token, loaded):
    response = post(
        {
            "token": token,
            "content": "record",
            "action": "delete",
            "records": "1",
            "instrument": "adverse_event",
            "repeat_instance": "2",
        }
    )

    assert response.content == b"1"
    assert forms(loaded) == [
        ("1", "adverse_event", 1),
        ("1", "enrolment", 1),
        ("2", "enrolment", 1),
        ("3", "enrolment", 1),
    ]


def test_a_missing_record_refuses_the_whole_delete(token, loaded):
    before = forms(loaded)

    response = post(
        {
            "token": token,
            "content": "record",
            "action": "delete",
            "records": "1,99",
            "format": "csv",
        }
    )

    assert (response.status_code, response.content) == (
        400,
        b"ERROR: One or more of the records provided cannot be deleted because they do not "
        b"exist in the project. The following records do not exist: 99",
    )
    assert forms(loaded) == before


def test_renaming_a_record_answers_1_and_a_missing_one_is_an_error(token, loaded):
    renamed = post(
        {
            "token": token,
            "content": "record",
            "action": "rename",
            "record": "2",
            "new_record_name": "2b",
        }
    )
    missing = post(
        {
            "token": token,
            "content": "record",
            "action": "rename",
            "record": "nope",
            "new_record_name": "x",
            "format": "csv",
        }
    )

    assert renamed.content == b"1"
    assert Record.objects.filter(project=loaded, record_id="2b").exists()
    assert (missing.status_code, missing.content) == (
        400,
        b'ERROR: The record "nope" does not exist',
    )


def test_a_member_without_the_delete_right_gets_redcaps_wording_and_nothing_goes(
    loaded, paula_context, site_b_bea
):
    ProjectMember.objects.create(
        project=loaded, user=site_b_bea, api_export=True, api_import=True, record_delete=False
    )
    bea = token_create(context=paula_context, user=site_b_bea, project=loaded)
    before = forms(loaded)

    whole = post({"token": bea, "content": "record", "action": "delete", "records[0]": "2"})
    one_form = post(
        {
            "token": bea,
            "content": "record",
            "action": "delete",
            "records[0]": "1",
            "instrument": "adverse_event",
            "format": "csv",
        }
    )

    assert (whole.status_code, whole.content) == (
        403,
        b'<?xml version="1.0" encoding="UTF-8" ?>\n<hash>\n  <error>You do not have Delete '
        b"Record privileges</error>\n</hash>",
    )
    assert (one_form.status_code, one_form.content) == (
        403,
        b"ERROR: You do not have Delete Record privileges",
    )
    assert forms(loaded) == before
    assert not AuditEvent.objects.filter(action__in=["form.delete", "record.delete"]).exists()
