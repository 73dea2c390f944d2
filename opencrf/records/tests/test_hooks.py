"""The form-saved hook: apps above records hear of committed writes, never of rolled-back ones."""

from __future__ import annotations

import pytest
from django.db import transaction

from opencrf.audit.services import AuditContext
from opencrf.records.hooks import FormKey, form_saved_register, form_saved_unregister
from opencrf.records.models import Record
from opencrf.records.services import form_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    calls = []

    def listener(project, keys):
        calls.append((project.pk, sorted(keys, key=lambda key: key.form_name)))

    form_saved_register(listener)
    yield calls
    form_saved_unregister(listener)


@pytest.fixture
def record(pi_paula):
    from opencrf.demo.loader import load_demo

    project, _created = load_demo(owner_username="pi_paula")
    return Record.objects.get(project=project, record_id="1-1")


def _save(record, value):
    return form_save(
        context=AuditContext.system(),
        record=record,
        event=record.project.events.get(unique_name="baseline_arm_1"),
        form_name="baseline",
        values=value,
        base_version=None,
        reason="test",
    )


def test_a_committed_save_is_announced_with_the_form_it_wrote(
    record, heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _save(record, {"weight": "70.2"})

    event = record.project.events.get(unique_name="baseline_arm_1")
    key = FormKey(record.pk, event.pk, "baseline", 1)
    assert heard == [(record.project_id, [key])]


def test_a_rolled_back_save_is_not_announced(record, heard, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _save(record, {"weight": "70.2"})
        raise RuntimeError("undo")

    assert callbacks == []
    assert heard == []
    assert record.forms.get(form_name="baseline").values["weight"] != "70.2"


def test_a_failing_listener_does_not_undo_the_save_or_stop_the_next_one(
    record, django_capture_on_commit_callbacks
):
    heard = []

    def broken(project, keys):
        raise ValueError("listener fault")

    def listener(project, keys):
        heard.append(project.pk)

    form_saved_register(broken)
    form_saved_register(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _save(record, {"weight": "70.2"})
    finally:
        form_saved_unregister(broken)
        form_saved_unregister(listener)

    assert record.forms.get(form_name="baseline").values["weight"] == "70.2"
    assert heard == [record.project_id]
