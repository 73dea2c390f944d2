"""Recomputing the hash chains finds a changed, missing, reordered or relinked entry.

The database refuses UPDATE and DELETE on the audit table, so tampering is simulated by lifting
the triggers inside the test's transaction; the DDL rolls back with it on both SQLite and
PostgreSQL, which the last tests of this module confirm.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from opencrf.audit import verify
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import GENESIS_HASH, audit_event_create, audit_hash, audit_payload
from opencrf.audit.verify import ChainReport, verify_all, verify_chain

pytestmark = pytest.mark.django_db

PROJECT = 7


def _chain(context, project_id=PROJECT, length=10):
    entries = []
    for number in range(1, length + 1):
        with transaction.atomic():
            entries.append(
                audit_event_create(
                    context=context,
                    project_id=project_id,
                    action="test.action",
                    details=f"step {number}",
                    changes={"age": [str(number), str(number + 1)]},
                )
            )
    return entries


def _lift_triggers():
    """Let this test change the audit table; the DDL rolls back with the test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks of the new entries would block ALTER TABLE: run them.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_change"
            )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute("DROP TRIGGER audit_auditevent_no_update")
            cursor.execute("DROP TRIGGER audit_auditevent_no_delete")


def _sql(statement, params):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _set_column(sequence, column, value, project_id=PROJECT):
    assert column in {"reason", "sequence", "prev_hash", "hash"}
    _sql(
        f"UPDATE audit_auditevent SET {column} = %s WHERE project_id = %s AND sequence = %s",  # noqa: S608
        [value, project_id, sequence],
    )


def _delete(sequence, project_id=PROJECT):
    _sql(
        "DELETE FROM audit_auditevent WHERE project_id = %s AND sequence = %s",
        [project_id, sequence],
    )


# --- Sound chains ---


def test_a_sound_chain_is_reported_ok_with_its_head(paula_context):
    entries = _chain(paula_context)

    assert verify_chain(PROJECT) == ChainReport(
        project_id=PROJECT,
        entries_checked=10,
        ok=True,
        first_broken=None,
        reason=None,
        head_hash=entries[-1].hash,
    )


def test_an_empty_chain_is_ok_with_the_genesis_head():
    assert verify_chain(99) == ChainReport(99, 0, True, None, None, GENESIS_HASH)


def test_a_chain_longer_than_one_chunk_is_read_in_chunks(paula_context, monkeypatch):
    monkeypatch.setattr(verify, "CHUNK_SIZE", 3)
    entries = _chain(paula_context, length=10)

    report = verify_chain(PROJECT)

    assert (report.ok, report.entries_checked, report.head_hash) == (True, 10, entries[-1].hash)


def test_verify_all_checks_every_chain_including_the_system_chain(paula_context):
    _chain(paula_context, project_id=0, length=2)
    _chain(paula_context, project_id=3, length=4)
    _chain(paula_context, project_id=PROJECT, length=1)

    reports = verify_all()

    assert [(r.project_id, r.entries_checked, r.ok) for r in reports] == [
        (0, 2, True),
        (3, 4, True),
        (PROJECT, 1, True),
    ]


def test_verify_all_of_an_empty_trail_is_an_empty_list():
    assert verify_all() == []


# --- Tampering ---


def test_a_changed_entry_is_named(paula_context):
    entries = _chain(paula_context)
    _lift_triggers()
    _set_column(5, "reason", "rewritten")

    report = verify_chain(PROJECT)

    assert report == ChainReport(
        project_id=PROJECT,
        entries_checked=5,
        ok=False,
        first_broken=5,
        reason="entry 5 was changed: its hash does not match its content",
        head_hash=entries[3].hash,
    )


def test_a_deleted_middle_entry_is_named_as_missing(paula_context):
    _chain(paula_context)
    _lift_triggers()
    _delete(7)

    report = verify_chain(PROJECT)

    assert (report.ok, report.first_broken, report.reason) == (
        False,
        7,
        "entry 7 is missing (sequence jumps from 6 to 8)",
    )


def test_several_deleted_entries_are_named_from_the_first(paula_context):
    _chain(paula_context)
    _lift_triggers()
    for sequence in (4, 5, 6):
        _delete(sequence)

    report = verify_chain(PROJECT)

    assert (report.first_broken, report.reason) == (
        4,
        "entry 4 is missing (sequence jumps from 3 to 7)",
    )


def test_a_deleted_first_entry_is_named(paula_context):
    _chain(paula_context, length=3)
    _lift_triggers()
    _delete(1)

    report = verify_chain(PROJECT)

    assert (report.first_broken, report.reason, report.head_hash) == (
        1,
        "entry 1 is missing (the chain starts at 2)",
        GENESIS_HASH,
    )


def test_a_relinked_entry_with_a_recomputed_hash_is_named(paula_context):
    # Whoever rewrites an entry and its own hash still breaks the link to its predecessor.
    _chain(paula_context)
    _lift_triggers()
    forged = AuditEvent.objects.get(project_id=PROJECT, sequence=9)
    forged.prev_hash = "f" * 64
    _set_column(9, "prev_hash", forged.prev_hash)
    _set_column(9, "hash", audit_hash(forged.prev_hash, audit_payload(forged)))

    report = verify_chain(PROJECT)

    assert (report.first_broken, report.reason) == (
        9,
        "entry 9 does not follow entry 8: its previous-hash differs",
    )


def test_two_swapped_entries_are_named_at_the_first_of_them(paula_context):
    _chain(paula_context)
    _lift_triggers()
    _set_column(5, "sequence", -1)
    _set_column(6, "sequence", 5)
    _set_column(-1, "sequence", 6)

    report = verify_chain(PROJECT)

    assert (report.first_broken, report.reason) == (
        5,
        "entry 5 does not follow entry 4: its previous-hash differs",
    )


def test_a_first_entry_not_linked_to_genesis_is_named(paula_context):
    _chain(paula_context, length=2)
    _lift_triggers()
    _set_column(1, "prev_hash", "1" * 64)

    report = verify_chain(PROJECT)

    assert (report.first_broken, report.reason) == (
        1,
        "entry 1 does not start the chain: its previous-hash is not the genesis hash",
    )


def test_tampering_with_one_chain_leaves_the_others_ok(paula_context):
    _chain(paula_context, project_id=3, length=3)
    _chain(paula_context, project_id=PROJECT, length=3)
    _lift_triggers()
    _set_column(2, "reason", "rewritten", project_id=3)

    reports = verify_all()

    assert [(r.project_id, r.ok, r.first_broken) for r in reports] == [
        (3, False, 2),
        (PROJECT, True, None),
    ]


# --- The triggers are back after each test, and refuse raw SQL too. ---


def test_the_triggers_lifted_by_earlier_tests_are_back(paula_context):
    _chain(paula_context, length=1)

    with pytest.raises(DatabaseError), transaction.atomic():
        _set_column(1, "reason", "rewritten")
    assert AuditEvent.objects.get(project_id=PROJECT).reason == ""
    assert verify_chain(PROJECT).ok


def test_the_database_refuses_a_raw_sql_update(paula_context):
    _chain(paula_context, length=2)

    with pytest.raises(DatabaseError), transaction.atomic():
        _sql("UPDATE audit_auditevent SET details = %s", ["rewritten"])
    assert list(AuditEvent.objects.values_list("details", flat=True)) == ["step 1", "step 2"]


def test_the_database_refuses_a_raw_sql_delete(paula_context):
    _chain(paula_context, length=2)

    with pytest.raises(DatabaseError), transaction.atomic():
        _sql("DELETE FROM audit_auditevent WHERE project_id = %s", [PROJECT])
    assert AuditEvent.objects.count() == 2
