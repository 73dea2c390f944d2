"""Background jobs of backups (Django Tasks, run by the worker; enqueued by ops/schedule.py)."""

from __future__ import annotations

import logging
import os
from typing import Any

from django.utils import timezone
from django_tasks import task

from opencrf.ops.backups.create import backup_create, node_name
from opencrf.ops.backups.errors import BackupFailed
from opencrf.ops.backups.restore import restore_verify
from opencrf.ops.backups.retention import manual_protect_day, retention_apply
from opencrf.ops.backups.store import backup_store, backup_time
from opencrf.ops.models import BackupTrigger, DrillRun, RunStatus

logger = logging.getLogger(__name__)


def _backup_then_prune(trigger: str) -> dict[str, Any]:
    try:
        run = backup_create(trigger=trigger)
    except BackupFailed as error:
        # Recorded as a failed BackupRun; the alerts read it. The worker lives on.
        logger.error("Backup failed: %s", error)
        return {"ok": False, "error": str(error)}
    manual = trigger == BackupTrigger.MANUAL
    try:
        plan = retention_apply(protect_day=manual_protect_day(run.backup_id) if manual else None)
    except Exception as error:  # the backup is made; retention is tried again next time
        logger.exception("Retention after backup %s failed", run.backup_id)
        return {"ok": True, "backup_id": run.backup_id, "deleted": [], "prune_error": str(error)}
    return {"ok": True, "backup_id": run.backup_id, "deleted": plan.delete}


@task()
def scheduled_backup() -> dict[str, Any]:
    """The daily backup, then retention (only after it was written and verified)."""
    return _backup_then_prune(BackupTrigger.SCHEDULE)


@task()
def manual_backup() -> dict[str, Any]:
    """A backup asked for by an administrator, then retention."""
    return _backup_then_prune(BackupTrigger.MANUAL)


@task()
def restore_drill() -> dict[str, Any]:
    """Verify the newest complete backup in scratch space; record it as a DrillRun."""
    drill = drill_run()
    return {"ok": drill.status == RunStatus.SUCCEEDED, "backup_id": drill.backup_id}


def drill_run() -> DrillRun:
    """Run one restore drill and record it; never raises (a failure is recorded)."""
    drill = DrillRun.objects.create(node=node_name(), pid=os.getpid(), backup_id="")
    try:
        complete = [entry for entry in backup_store().list() if entry.complete]
        if not complete:
            return _finish(drill, RunStatus.FAILED, error="There is no complete backup to verify.")
        newest = complete[-1].backup_id
        drill.backup_id = newest
        drill.backup_age_seconds = (timezone.now() - backup_time(newest)).total_seconds()
        report = restore_verify(newest)
    except Exception as error:  # recorded for the alerts; the worker must live on
        logger.exception("Restore drill failed")
        return _finish(drill, RunStatus.FAILED, error=f"{type(error).__name__}: {error}")
    drill.duration_seconds = report.duration
    drill.report = report.as_dict()
    status = RunStatus.SUCCEEDED if report.ok else RunStatus.FAILED
    return _finish(drill, status, error="; ".join(report.problems))


def _finish(drill: DrillRun, status: str, *, error: str = "") -> DrillRun:
    drill.status, drill.error, drill.finished_at = status, error, timezone.now()
    drill.save()
    return drill
