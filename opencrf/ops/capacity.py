"""The day's capacity snapshot: sizes, counts and users, for the operations reports' trends.

`capacity_snapshot_take` is idempotent per day: taking it again replaces the day's row, so
the scheduler (daily at 00:10) or an operator may run it as often as they like.
"""

from __future__ import annotations

import logging
import shutil
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django_tasks import task

from opencrf.accounts.models import SecurityEvent, User
from opencrf.files.models import StoredFile
from opencrf.ops.models import BackupRun, CapacitySnapshot, RunStatus
from opencrf.projects.models import Project, ProjectStatus
from opencrf.records.models import FormData, Record

logger = logging.getLogger(__name__)

LOGIN_KINDS = ("login",)
# A wrong password, and a wrong second-factor code after a right password.
LOGIN_FAILURE_KINDS = ("login.failed", "2fa.failed")
ACTIVE_WINDOWS = (7, 30, 90)


def database_bytes() -> int:
    """The database's size on disk: SQLite's file and its write-ahead log, or PostgreSQL's."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            row = cursor.fetchone()
        return int(row[0]) if row else 0
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        return sum(_file_size(Path(name + suffix)) for suffix in ("", "-wal"))
    return 0


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # an in-memory database, or no write-ahead log right now
        return 0


def storage_bytes() -> int:
    """Bytes of every stored file (repository documents are stored files too)."""
    return int(StoredFile.objects.aggregate(total=Sum("size"))["total"] or 0)


def _backup_store_bytes() -> int:
    from opencrf.ops.backups.store import backup_store

    return sum(entry.size_bytes for entry in backup_store().list())


def backup_bytes(now: datetime) -> int:
    """Bytes held by the backups: from the backup store when it can list them, else the runs."""
    try:
        return _backup_store_bytes()
    except Exception:  # no store yet, or it cannot be reached: fall back on the run history
        logger.debug("Backup store not listed; counting backup runs", exc_info=True)
    keep_days = settings.OPENCRF_BACKUP_KEEP_DAILY + 7 * settings.OPENCRF_BACKUP_KEEP_WEEKLY
    recent = BackupRun.objects.filter(
        status=RunStatus.SUCCEEDED, started_at__gte=now - timedelta(days=keep_days)
    )
    return int(recent.aggregate(total=Sum("size_bytes"))["total"] or 0)


def disk_free_bytes() -> int:
    folder = Path(settings.DATA_DIR)
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 0


def projects_by_status() -> dict[str, int]:
    counts = dict.fromkeys(ProjectStatus.values, 0)
    for row in Project.objects.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def user_counts(now: datetime) -> dict[str, int]:
    """Registered accounts (active, not suspended) and those active within 7, 30 and 90 days."""
    registered = User.objects.filter(is_active=True, suspended_at__isnull=True)
    counts: dict[str, Any] = {"users_registered": Count("id")}
    for days in ACTIVE_WINDOWS:
        since = now - timedelta(days=days)
        counts[f"users_active_{days}"] = Count(
            "id", filter=Q(last_activity_at__gte=since) | Q(last_login__gte=since)
        )
    return {name: int(value) for name, value in registered.aggregate(**counts).items()}


def login_counts(start: datetime, end: datetime) -> tuple[int, int]:
    """Logins and failed logins from `start` up to `end`."""
    events = SecurityEvent.objects.filter(at__gte=start, at__lt=end)
    totals = events.aggregate(
        logins=Count("id", filter=Q(kind__in=LOGIN_KINDS)),
        failures=Count("id", filter=Q(kind__in=LOGIN_FAILURE_KINDS)),
    )
    return int(totals["logins"]), int(totals["failures"])


def capacity_snapshot_take(day: date | None = None) -> CapacitySnapshot:
    """Measure now and store it as `day`'s snapshot (today, local time, by default).

    Logins count over the 24 hours before now (the scheduler runs just after midnight, so
    that is the day before); for an earlier `day`, over that day.
    """
    now = timezone.now()
    today = timezone.localdate(now)
    day = day or today
    if day == today:
        logins, failures = login_counts(now - timedelta(days=1), now)
    else:
        start = timezone.make_aware(datetime.combine(day, time.min))
        logins, failures = login_counts(start, start + timedelta(days=1))
    values: dict[str, Any] = {
        "taken_at": now,
        "database_bytes": database_bytes(),
        "storage_bytes": storage_bytes(),
        "backup_bytes": backup_bytes(now),
        "disk_free_bytes": disk_free_bytes(),
        "records": Record.objects.count(),
        "form_rows": FormData.objects.count(),
        "projects_by_status": projects_by_status(),
        "logins": logins,
        "login_failures": failures,
        **user_counts(now),
    }
    snapshot, _created = CapacitySnapshot.objects.update_or_create(day=day, defaults=values)
    return snapshot


@task()
def snapshot_task() -> str:
    """The scheduler's daily job: take today's snapshot, and forget the job runners not seen
    for a week (each process id leaves its row); returns the day."""
    from opencrf.ops.runner import heartbeats_prune

    day = capacity_snapshot_take().day.isoformat()
    heartbeats_prune()
    return day
