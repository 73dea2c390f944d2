"""Readiness checks shared by `/-/ready` and `opencrf check`.

A failed check publishes only the class name of its error, never its text: the page is
public and error texts can carry paths or credentials.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def check_database() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connections[DEFAULT_DB_ALIAS].vendor


def check_migrations() -> str:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise PendingMigrations(f"{len(pending)} pending")
    return "applied"


def check_storage() -> str:
    name = default_storage.save(f"health/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    try:
        with default_storage.open(name) as handle:
            if handle.read() != b"ok":
                raise StorageMismatch("read back differs")
    finally:
        default_storage.delete(name)
    return "writable"


class PendingMigrations(Exception):
    pass


class StorageMismatch(Exception):
    pass


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "migrations": check_migrations,
    "storage": check_storage,
}


def run_checks(*, verbose_errors: bool = False) -> list[CheckResult]:
    results = []
    for name, check in CHECKS.items():
        try:
            results.append(CheckResult(name, True, check()))
        except Exception as error:  # every failure is reported, none stops the others
            detail = f"{type(error).__name__}: {error}" if verbose_errors else type(error).__name__
            results.append(CheckResult(name, False, detail))
    return results
