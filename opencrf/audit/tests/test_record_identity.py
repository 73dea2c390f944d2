"""The record's key and group are covered by the hash, and older entries without them verify."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import (
    AT_FORMAT,
    GENESIS_HASH,
    AuditEntry,
    AuditTarget,
    audit_event_create,
    audit_events_create,
    audit_hash,
)
from opencrf.audit.tests.test_verify import _lift_triggers, _sql
from opencrf.audit.verify import verify_chain

pytestmark = pytest.mark.django_db

TARGET = AuditTarget(record="7", event="e1", instrument="f", instance=1, record_key=41, group_id=3)


def test_an_entry_written_before_the_identity_columns_still_verifies():
    """The payload as it was before `record_key` and `group_id`: sixteen keys, no more."""
    at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    old_payload = {
        "project_id": 9,
        "sequence": 1,
        "at": at.strftime(AT_FORMAT),
        "actor_id": None,
        "actor_name": "",
        "source": "web",
        "action": "form.update",
        "record": "7",
        "event": "e1",
        "instrument": "f",
        "instance": 1,
        "details": "",
        "changes": {"age": ["", "40"]},
        "reason": "",
        "request_id": "",
        "client_address": "",
    }
    row = {**old_payload, "at": at, "actor_id": None}
    entry_hash = audit_hash(GENESIS_HASH, old_payload)
    AuditEvent.objects.create(**row, prev_hash=GENESIS_HASH, hash=entry_hash)

    report = verify_chain(9)

    assert (report.ok, report.entries_checked, report.head_hash) == (True, 1, entry_hash)


def test_one_entry_and_many_entries_store_and_hash_the_identity_alike(paula_context):
    with transaction.atomic():
        audit_event_create(context=paula_context, project_id=9, action="form.update", target=TARGET)
        entry = AuditEntry("form.update", TARGET, {})
        audit_events_create(context=paula_context, project_id=9, entries=[entry, entry])

    stored = AuditEvent.objects.filter(project_id=9).values_list("record_key", "group_id")
    assert list(stored) == [(41, 3)] * 3
    assert verify_chain(9).ok


def test_a_changed_record_key_breaks_the_entrys_hash(paula_context):
    with transaction.atomic():
        audit_event_create(context=paula_context, project_id=9, action="form.update", target=TARGET)
    _lift_triggers()
    _sql("UPDATE audit_auditevent SET record_key = 42 WHERE project_id = 9", [])

    report = verify_chain(9)

    assert (report.ok, report.first_broken) == (False, 1)
