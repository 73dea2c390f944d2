"""Readiness checks shared by `/-/ready` and `opencrf check`.

A failed check publishes only the class name of its error, never its text: the page is
public and error texts can carry paths or credentials. The one exception is `CheckFailed`,
whose message is written here to be shown ("free disk 4 % < 10 %") and names no path.

The checks, in order: database, migrations, storage (read and write), worker (some job runner
is working: its heartbeat is younger than `OPENCRF_WORKER_STALE_SECONDS` and it has not been busy
with one job for longer than `OPENCRF_WORKER_JOB_MAX_SECONDS`), disk (the filesystems of the data
and backup folders keep `OPENCRF_DISK_MIN_FREE_PERCENT` free) and backup (the newest verified
backup is younger than `OPENCRF_BACKUP_MAX_AGE_HOURS`; a new installation has that long to make
one).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Max
from django.utils import timezone

from opencrf.ops.models import BackupRun, RunnerState, RunStatus, WorkerHeartbeat


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    skipped: bool = False  # not run: it reads tables the failing database checks vouch for


class CheckFailed(Exception):
    """A check found a problem; its message is safe to publish (no paths, no secrets)."""


class PendingMigrations(Exception):
    pass


class StorageMismatch(Exception):
    pass


NO_WORKER_YET = "no job worker has reported yet"


class NoWorkerYet(CheckFailed):
    """No job worker has ever reported: nothing has been started yet (see `opencrf check`)."""


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


def newest_heartbeat() -> datetime | None:
    newest: datetime | None = WorkerHeartbeat.objects.aggregate(newest=Max("last_seen_at"))[
        "newest"
    ]
    return newest


def _seconds(since: datetime, now: datetime) -> int:
    return max(0, int((now - since).total_seconds()))


def runner_stuck(beat: WorkerHeartbeat, now: datetime) -> str | None:
    """How a runner is stuck on one job beyond the limit; None if it is not."""
    if beat.state != RunnerState.BUSY or beat.job_started_at is None:
        return None
    busy, limit = _seconds(beat.job_started_at, now), settings.OPENCRF_WORKER_JOB_MAX_SECONDS
    if busy <= limit:
        return None
    return f"stuck on {beat.job_name.rsplit('.', 1)[-1]} for {busy} s (limit {limit} s)"


def runner_silent(beat: WorkerHeartbeat, now: datetime) -> str | None:
    silent, limit = _seconds(beat.last_seen_at, now), settings.OPENCRF_WORKER_STALE_SECONDS
    return f"silent for {silent} s (limit {limit} s)" if silent > limit else None


def runner_problem(beat: WorkerHeartbeat, now: datetime) -> str | None:
    """Why this runner is not working (stopped, silent, or stuck on a job); None when it is."""
    if beat.state == RunnerState.STOPPED:
        return f"stopped {_seconds(beat.last_seen_at, now)} s ago"
    return runner_silent(beat, now) or runner_stuck(beat, now)


@dataclass(frozen=True, slots=True)
class Workers:
    """The job runners as their heartbeats show them; shared by `worker` and `worker_down`."""

    working: int  # beating, and not stuck
    busy: int  # of those, running a job now
    stuck: tuple[str, ...]  # beating, but busy with one job for too long
    newest: datetime  # the newest heartbeat of any runner
    stopped: int = 0  # recorded as stopped by a clean shutdown

    def silent_seconds(self, now: datetime) -> int:
        return _seconds(self.newest, now)


def workers(now: datetime) -> Workers | None:
    """None before any runner has reported (a new installation, nothing started yet)."""
    beats = list(WorkerHeartbeat.objects.all())
    if not beats:
        return None
    working = [beat for beat in beats if runner_problem(beat, now) is None]
    beating = [beat for beat in beats if runner_silent(beat, now) is None]
    return Workers(
        working=len(working),
        busy=sum(beat.state == RunnerState.BUSY for beat in working),
        stuck=tuple(stuck for beat in beating if (stuck := runner_stuck(beat, now))),
        newest=max(beat.last_seen_at for beat in beats),
        stopped=sum(beat.state == RunnerState.STOPPED for beat in beats),
    )


def check_worker(now: datetime | None = None) -> str:
    now = now or timezone.now()
    found = workers(now)
    if found is None:
        raise NoWorkerYet(NO_WORKER_YET)
    age = found.silent_seconds(now)
    if not found.working and found.stuck:
        raise CheckFailed("no job worker working: job runner " + "; ".join(found.stuck))
    if not found.working and found.stopped:
        raise CheckFailed(
            f"no job worker running ({found.stopped} stopped cleanly), last seen {age} s ago"
        )
    if not found.working:
        limit = settings.OPENCRF_WORKER_STALE_SECONDS
        raise CheckFailed(f"no job worker seen for {age} s (limit {limit} s)")
    busy = f", {found.busy} busy" if found.busy else ""
    return f"{found.working} alive{busy}, last seen {age} s ago"


@dataclass(frozen=True, slots=True)
class Volume:
    """A filesystem the service writes to, named by its role, never by its path."""

    name: str
    total_bytes: int
    free_bytes: int

    @property
    def free_percent(self) -> float:
        return 100.0 * self.free_bytes / self.total_bytes if self.total_bytes else 0.0


def _existing(path: Path) -> Path:
    """`path`, or its nearest existing parent (a backup folder not made yet)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def volumes() -> list[Volume]:
    """The data folder's filesystem and, when backups go to a folder, the backup folder's."""
    folders = {"data": Path(settings.DATA_DIR)}
    if not settings.OPENCRF_BACKUP_S3_URL:
        folders["backups"] = Path(settings.OPENCRF_BACKUP_DIR)
    found = []
    for name, folder in folders.items():
        usage = shutil.disk_usage(_existing(folder))
        found.append(Volume(name, usage.total, usage.free))
    return found


def check_disk() -> str:
    minimum = settings.OPENCRF_DISK_MIN_FREE_PERCENT
    found = volumes()
    low = [v for v in found if v.free_percent < minimum]
    if low:
        raise CheckFailed(
            "; ".join(f"{v.name}: free disk {v.free_percent:.0f} % < {minimum} %" for v in low)
        )
    return ", ".join(f"{v.name} {v.free_percent:.0f} % free" for v in found)


def installed_at() -> datetime | None:
    """When the first migration was applied: the installation's birthday."""
    recorder = MigrationRecorder(connections[DEFAULT_DB_ALIAS])
    first: datetime | None = (
        recorder.migration_qs.order_by("applied").values_list("applied", flat=True).first()
    )
    return first


def newest_verified_backup() -> BackupRun | None:
    return (
        BackupRun.objects.filter(status=RunStatus.SUCCEEDED, verified_at__isnull=False)
        .order_by("-verified_at", "-id")
        .first()
    )


def _hours(delta: timedelta) -> int:
    return int(delta.total_seconds() // 3600)


def stale_backup_age(now: datetime | None = None) -> timedelta | None:
    """How old the backups are when older than allowed, else None: shared with `backup_stale`.

    The age of the newest verified backup; with none, the age of the installation, so a new
    one has `OPENCRF_BACKUP_MAX_AGE_HOURS` to make its first.
    """
    now = now or timezone.now()
    limit = timedelta(hours=settings.OPENCRF_BACKUP_MAX_AGE_HOURS)
    newest = newest_verified_backup()
    if newest is not None and newest.verified_at is not None:
        age = now - newest.verified_at
    else:
        born = installed_at()
        age = now - born if born is not None else timedelta(0)
    return age if age > limit else None


def backup_age_problem(now: datetime | None = None) -> str | None:
    age = stale_backup_age(now)
    if age is None:
        return None
    limit = f"limit {settings.OPENCRF_BACKUP_MAX_AGE_HOURS} h"
    if newest_verified_backup() is None:
        return f"no verified backup in the {_hours(age)} h since installation ({limit})"
    return f"last verified backup {_hours(age)} h ago ({limit})"


def check_backup(now: datetime | None = None) -> str:
    now = now or timezone.now()
    off = "" if settings.OPENCRF_BACKUP_TIME else "; scheduled backups are off"
    problem = backup_age_problem(now)
    if problem:
        raise CheckFailed(problem + off)
    newest = newest_verified_backup()
    if newest is None or newest.verified_at is None:
        return "no backup yet" + off
    return f"last verified backup {_hours(now - newest.verified_at)} h ago" + off


# Checks that read OpenCRF's own tables: run only once `database` and `migrations` pass.
NEEDS_SCHEMA = frozenset({"worker", "backup"})
NOT_CHECKED = "not checked: the database or its migrations are not ready"

CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "migrations": check_migrations,
    "storage": check_storage,
    "worker": check_worker,
    "disk": check_disk,
    "backup": check_backup,
}


def run_checks(
    *, verbose_errors: bool = False, names: list[str] | None = None
) -> list[CheckResult]:
    """Run every check (or those `names`, in the usual order); none stops the others."""
    results: list[CheckResult] = []
    for name, check in CHECKS.items():
        if names is not None and name not in names:
            continue
        if name in NEEDS_SCHEMA and any(
            not r.ok for r in results if r.name in ("database", "migrations")
        ):
            results.append(CheckResult(name, False, NOT_CHECKED, skipped=True))
            continue
        try:
            results.append(CheckResult(name, True, check()))
        except CheckFailed as failure:
            results.append(CheckResult(name, False, str(failure)))
        except Exception as error:  # every failure is reported, none stops the others
            detail = f"{type(error).__name__}: {error}" if verbose_errors else type(error).__name__
            results.append(CheckResult(name, False, detail))
    return results
