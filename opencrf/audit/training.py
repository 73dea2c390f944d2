"""The one sanctioned exception to the append-only audit trail: a training instance's reset.

A training instance is reset to the demo study every night; its projects' audit chains go with
the projects. The database refuses DELETE on the audit table by triggers, so
`training_audit_chains_delete` drops the delete trigger, deletes, and re-creates the trigger,
all inside the caller's transaction (a failure rolls the triggers back too). It refuses to run
anywhere but on an instance whose role is `training`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import SYSTEM_CHAIN

TRAINING_ROLE = "training"

# The delete triggers of audit/migrations/0002_append_only_triggers.py, as installed there.
_POSTGRES_DROP = "DROP TRIGGER audit_auditevent_no_change ON audit_auditevent"
_POSTGRES_CREATE = """CREATE TRIGGER audit_auditevent_no_change BEFORE UPDATE OR DELETE
    ON audit_auditevent FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"""
_SQLITE_DROP = "DROP TRIGGER audit_auditevent_no_delete"
_SQLITE_CREATE = """CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END"""


class NotATrainingInstance(Exception):
    """Audit entries may be deleted only on a training instance."""


def training_audit_chains_delete() -> int:
    """Delete every project's audit entries (the system chain stays); returns how many.

    Only on a training instance (`OPENCRF_INSTANCE_ROLE=training`), and only inside the
    caller's transaction: the triggers that refuse deletion are back before it returns.
    """
    role = settings.OPENCRF_INSTANCE_ROLE
    if role != TRAINING_ROLE:
        raise NotATrainingInstance(
            f"audit entries are deleted only on a training instance; this one is {role}"
        )
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("training_audit_chains_delete must run inside a transaction")
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            # Deferred foreign-key checks of entries written earlier in this transaction would
            # block the trigger change: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(_POSTGRES_DROP if postgres else _SQLITE_DROP)
        deleted, _by_model = AuditEvent.objects.exclude(project_id=SYSTEM_CHAIN).delete()
        cursor.execute(_POSTGRES_CREATE if postgres else _SQLITE_CREATE)
        if postgres:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return deleted
