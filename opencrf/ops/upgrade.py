"""`opencrf upgrade`: readiness, maintenance mode, backup, migrate, verify, report.

Run it after installing the new version of the package. Each step is printed as it goes and
the whole run is recorded as an `UpgradeRun`. A failed readiness check or backup stops the
upgrade before anything changes (maintenance mode is switched off again). A failed migration
or verification leaves maintenance mode on, so that nobody writes to a database in doubt, and
prints the exact way back: the previous version and a restore of the backup just made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

import opencrf
from opencrf.ops.models import RunStatus, UpgradeRun

Say = Callable[[str], None]

# The tables whose rows an upgrade must never lose (app_label.Model).
COUNTED_MODELS = (
    "accounts.User",
    "projects.Project",
    "records.Record",
    "records.FormData",
    "audit.AuditEvent",
    "files.StoredFile",
)
MAINTENANCE_MESSAGE = "Upgrading OpenCRF; the site is read-only for a few minutes."


class UpgradeStopped(Exception):
    """The upgrade stopped before changing anything (readiness or backup failed)."""


class UpgradeFailed(Exception):
    """Migration or verification failed: maintenance mode stays on; `way_back` says what next."""

    def __init__(self, message: str, way_back: list[str]) -> None:
        super().__init__(message)
        self.way_back = way_back


@dataclass(slots=True)
class Verification:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chains: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def current_version() -> str:
    return opencrf.__version__


def _set_up() -> bool:
    """Whether `opencrf init` has created the operations tables of this database."""
    return UpgradeRun._meta.db_table in connections[DEFAULT_DB_ALIAS].introspection.table_names()


def previous_version() -> str:
    """The version the last successful upgrade installed, or "unknown"."""
    if not _set_up():
        return "unknown"
    runs = UpgradeRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-started_at", "-id")
    for run in runs.iterator():
        if not run.report.get("demo"):  # made up by `opencrf report demo-history`
            return run.to_version
    return "unknown"


def pending_migrations() -> list[str]:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, backwards in plan]


def row_counts() -> dict[str, int]:
    """Rows of the main tables; 0 for a table a first installation has yet to create."""
    tables = set(connections[DEFAULT_DB_ALIAS].introspection.table_names())
    counts = {}
    for label in COUNTED_MODELS:
        model = apps.get_model(label)
        counts[label] = model.objects.count() if model._meta.db_table in tables else 0
    return counts


# Readiness checks that must pass before and after. The worker is often stopped while a new
# version is installed, and the backup age is what step 3 is about to renew: those only warn.
REQUIRED_BEFORE = ("database", "storage", "disk")
REQUIRED_AFTER = ("database", "migrations", "storage", "disk", "backup")


def readiness(required: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(problems, notes): failed required checks, and other failed checks to mention."""
    from opencrf.ops.health import run_checks

    problems: list[str] = []
    notes: list[str] = []
    for result in run_checks(verbose_errors=True):
        if result.ok or (result.name == "migrations" and result.name not in required):
            continue  # pending migrations before an upgrade are its work, not a fault
        line = f"{result.name}: {result.detail}"
        (problems if result.name in required else notes).append(line)
    return problems, notes


def verify(before: dict[str, int]) -> Verification:
    """Migrations all applied, every audit chain sound, no table shrank, readiness passes."""
    from opencrf.audit.verify import verify_all

    result = Verification()
    pending = pending_migrations()
    if pending:
        result.problems.append(f"migrations still pending: {', '.join(pending)}")
    reports = verify_all()
    result.chains = len(reports)
    for report in reports:
        if not report.ok:
            chain = "system chain" if report.project_id == 0 else f"project {report.project_id}"
            result.problems.append(f"audit {chain} broken: {report.reason}")
    after = row_counts()
    for label, count in before.items():
        if after[label] < count:
            result.problems.append(f"{label} rows fell from {count} to {after[label]}")
    problems, result.notes = readiness(REQUIRED_AFTER)
    result.problems += [f"readiness {problem}" for problem in problems]
    return result


def way_back(from_version: str, backup_id: str) -> list[str]:
    """The operator's steps back to the state before the upgrade, with every value filled in."""
    if from_version == "unknown":
        reinstall = "Reinstall the version of OpenCRF you ran before this upgrade."
    else:
        reinstall = f"Reinstall the previous version: pip install 'opencrf=={from_version}'"
    restore = f"opencrf restore {backup_id} --into {settings.DATA_DIR}"
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        # The live PostgreSQL database, named by the setting rather than printed with its password.
        restore += ' --database-url "$DATABASE_URL"'
    return [
        "Stop the service: systemctl stop opencrf-web opencrf-worker",
        reinstall,
        f"Put back the data from before the upgrade: {restore} --replace",
        "Start the service: systemctl start opencrf-web opencrf-worker",
        "Check it, then end maintenance mode: opencrf check && opencrf maintenance off",
    ]


def upgrade_dry_run(say: Say) -> list[str]:
    """Print what an upgrade would do; change nothing. Returns the readiness problems."""
    say(f"Upgrade from {previous_version()} to {current_version()} (dry run: nothing changes)")
    problems, notes = readiness(REQUIRED_BEFORE)
    for problem in problems:
        say(f"  readiness FAIL {problem}")
    for note in notes:
        say(f"  note: {note}")
    say("1. readiness checks: " + ("FAIL" if problems else "ok"))
    say("2. maintenance mode would be switched on")
    say("3. a backup would be made (trigger: upgrade)")
    pending = pending_migrations()
    say(f"4. {len(pending)} migration(s) would be applied" + (":" if pending else ""))
    for name in pending:
        say(f"     {name}")
    say("5. verification: migrations, audit chains, row counts, readiness")
    say("6. maintenance mode would be switched off and the run reported")
    return problems


def upgrade_run(*, by: str, say: Say) -> UpgradeRun:
    """Upgrade the database to the installed version; raise UpgradeStopped or UpgradeFailed."""
    if not _set_up():
        raise UpgradeStopped("this database was never set up: run `opencrf init` first")
    from_version, to_version = previous_version(), current_version()
    say(f"Upgrade from {from_version} to {to_version}")
    problems, notes = readiness(REQUIRED_BEFORE)
    for problem in problems:
        say(f"  FAIL {problem}")
    if problems:
        raise UpgradeStopped("readiness checks failed; nothing was changed")
    for note in notes:
        say(f"  note: {note}")
    say("1. readiness checks: ok")
    run = UpgradeRun.objects.create(from_version=from_version, to_version=to_version)
    was_on = _maintenance_on(by, say)
    backup_id = _backup(run, was_on, by, say)
    before = row_counts()
    try:
        applied = _migrate(run, say)
        result = verify(before)
    except Exception as error:  # a migration that failed halfway: the database is in doubt
        result = Verification(problems=[f"migration failed: {type(error).__name__}: {error}"])
    if not result.ok:
        _fail(run, "; ".join(result.problems), report={"problems": result.problems})
        steps = way_back(from_version, backup_id)
        raise UpgradeFailed("verification failed; maintenance mode stays on", steps)
    say(f"5. verification: ok ({result.chains} audit chain(s), row counts kept, ready)")
    for note in result.notes:
        say(f"  note: {note}")
    if was_on:
        say("6. maintenance mode was on before the upgrade: left on")
    else:
        _maintenance_off(by)
        say("6. maintenance mode: off")
    run.status, run.finished_at = RunStatus.SUCCEEDED, timezone.now()
    run.report = {"row_counts": row_counts(), "audit_chains": result.chains, "verified": True}
    run.save()
    say(
        f"Upgraded from {from_version} to {to_version}: {len(applied)} migration(s), "
        f"backup {backup_id}."
    )
    return run


def _maintenance_on(by: str, say: Say) -> bool:
    from opencrf.ops.maintenance import maintenance_start, maintenance_status

    was_on = bool(maintenance_status().on)
    if not was_on:  # keep the message of a maintenance an operator started
        maintenance_start(by=by, message=MAINTENANCE_MESSAGE)
    say("2. maintenance mode: on (the site is read-only)")
    return was_on


def _maintenance_off(by: str) -> None:
    from opencrf.ops.maintenance import maintenance_stop

    maintenance_stop(by=by)


def _backup(run: UpgradeRun, was_on: bool, by: str, say: Say) -> str:
    from opencrf.ops.backups.create import backup_create
    from opencrf.ops.backups.errors import BackupFailed

    say("3. backup: running…")
    try:
        backup = backup_create(trigger="upgrade")
    except BackupFailed as error:
        _fail(run, f"backup failed: {error}", report={"stopped": "backup"})
        if not was_on:
            _maintenance_off(by)
        raise UpgradeStopped(f"the backup failed ({error}); nothing was changed") from error
    run.backup_id = backup.backup_id
    run.save(update_fields=["backup_id"])
    say(f"3. backup: {backup.backup_id} ({backup.size_bytes} bytes)")
    return backup.backup_id


def _migrate(run: UpgradeRun, say: Say) -> list[str]:
    pending = pending_migrations()
    say(f"4. migrate: {len(pending)} migration(s) to apply")
    call_command("migrate", interactive=False, verbosity=0)
    for name in pending:
        say(f"     applied {name}")
    run.migrations_applied = pending
    run.save(update_fields=["migrations_applied"])
    return pending


def _fail(run: UpgradeRun, error: str, *, report: dict[str, Any]) -> None:
    run.status, run.finished_at, run.error = RunStatus.FAILED, timezone.now(), error
    run.report = report
    run.save()
