"""Tests that commit (transactional tests) and write audit entries."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from django.db import connection


def lift_audit_triggers_for_the_flush() -> None:
    """Let the flush after a transactional test empty the append-only audit table.

    A backup reads committed data only, so these tests commit; the database refuses to delete
    audit entries. The flush that ends the test runs once with the triggers lifted and put
    back in its own transaction.
    """
    triggers = importlib.import_module("opencrf.audit.migrations.0002_append_only_triggers")
    postgres = connection.vendor == "postgresql"
    lift = triggers.POSTGRES_BACKWARD[:2] if postgres else triggers.SQLITE_BACKWARD
    restore = triggers.POSTGRES_FORWARD[1:] if postgres else triggers.SQLITE_FORWARD
    operations = connection.ops
    original = operations.execute_sql_flush

    def flush(sql_list: Iterable[str]) -> None:
        del operations.execute_sql_flush
        with connection.cursor() as cursor:
            for statement in lift:
                cursor.execute(statement)
            original(sql_list)
            for statement in restore:
                cursor.execute(statement)

    operations.execute_sql_flush = flush  # type: ignore[method-assign]  # for one flush
