from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import (
    GENESIS_HASH,
    AuditContext,
    AuditTarget,
    audit_event_create,
    audit_hash,
    audit_payload,
)

pytestmark = pytest.mark.django_db


def _append(context, project_id, action="test.action", **kwargs):
    with transaction.atomic():
        return audit_event_create(context=context, project_id=project_id, action=action, **kwargs)


def test_entries_of_a_project_form_a_hash_chain_from_genesis(paula_context):
    first = _append(paula_context, 7, target=AuditTarget(record="101"))
    second = _append(paula_context, 7, changes={"age": ["", "42"]}, reason="typo")

    assert (first.sequence, second.sequence) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    stored = AuditEvent.objects.get(pk=second.pk)
    assert stored.hash == audit_hash(stored.prev_hash, audit_payload(stored))


def test_each_project_has_its_own_sequence(paula_context):
    _append(paula_context, 1)
    other = _append(paula_context, 2)

    assert other.sequence == 1
    assert other.prev_hash == GENESIS_HASH


def test_an_entry_records_who_acted_from_where(pi_paula):
    context = AuditContext(
        actor=pi_paula, source="api", request_id="r-1", client_address="10.0.0.9"
    )
    event = _append(context, 3, target=AuditTarget(record="5", event="baseline_arm_1"))

    assert (event.actor_name, event.source, event.request_id, event.client_address) == (
        "pi_paula",
        "api",
        "r-1",
        "10.0.0.9",
    )
    assert (event.record, event.event) == ("5", "baseline_arm_1")


def test_the_database_refuses_to_update_an_entry(paula_context):
    event = _append(paula_context, 4)

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    assert AuditEvent.objects.get(pk=event.pk).reason == ""


def test_the_database_refuses_to_delete_an_entry(paula_context):
    event = _append(paula_context, 4)

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()
