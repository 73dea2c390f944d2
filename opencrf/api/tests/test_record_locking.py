"""A locked form refuses changes by the API, in REDCap's words; deleting its record too."""

from __future__ import annotations

import pytest

from opencrf.api.tests.client import post
from opencrf.audit.models import AuditEvent
from opencrf.records.locking import form_lock, record_lock
from opencrf.records.models import FormData, Record

pytestmark = pytest.mark.django_db


def stored(project):
    return sorted(
        (f.record.record_id, f.form_name, f.instance, f.values, f.status)
        for f in FormData.objects.filter(project=project).select_related("record")
    )


def snapshot(project):
    return stored(project), AuditEvent.objects.filter(project_id=project.pk).count()


@pytest.fixture
def enrolled(token, study):
    data = "study_id,sex\n1,1\n"
    assert (
        post({"token": token, "content": "record", "format": "csv", "data": data}).status_code
        == 200
    )
    return Record.objects.get(project=study, record_id="1")


def test_an_import_changing_a_locked_form_gets_redcaps_error(token, study, enrolled, paula_context):
    form_lock(
        context=paula_context, record=enrolled, event=study.events.get(), form_name="enrolment"
    )
    before = snapshot(study)

    response = post(
        {"token": token, "content": "record", "format": "csv", "data": "study_id,sex\n1,2\n"}
    )

    assert (response.status_code, response.content.decode()) == (
        400,
        'ERROR: "1","sex","2","This field is located on a form that is locked. '
        'You must first unlock this form for this record."',
    )
    assert snapshot(study) == before


def test_a_locked_record_refuses_a_new_form_and_its_deletion(token, study, enrolled, paula_context):
    record_lock(context=paula_context, record=enrolled, reason="Closed")
    before = snapshot(study)
    data = (
        "study_id,redcap_repeat_instrument,redcap_repeat_instance,ae_term\n1,adverse_event,1,Rash\n"
    )

    imported = post({"token": token, "content": "record", "format": "csv", "data": data})
    deleted = post({"token": token, "content": "record", "action": "delete", "records[0]": "1"})

    assert imported.status_code == 400
    assert "This field is located on a form that is locked." in imported.content.decode()
    assert deleted.status_code == 400
    assert snapshot(study) == before
    assert Record.objects.filter(project=study, record_id="1").exists()
