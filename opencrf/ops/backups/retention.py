"""Retention in generations: the newest backup of each of the last N days and M weeks.

A day or a week counts only if it has a complete backup, so a month without backups does not
use up the generations. Days and ISO weeks are local (TIME_ZONE): "yesterday's backup" is
what an operator means. Incomplete backups older than the newest complete one are removed;
retention runs only after a new backup was written and verified, so a failed or interrupted
backup never removes an older good one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo

from django.conf import settings
from django.utils import timezone

from opencrf.ops.backups.store import BackupEntry, BackupStore, backup_store


@dataclass(frozen=True, slots=True)
class Plan:
    keep: list[str]
    delete: list[str]


def _newest_per(entries: list[BackupEntry], period: dict[str, object], count: int) -> set[str]:
    newest: dict[object, str] = {}
    for entry in sorted(entries, key=lambda item: item.backup_id):
        newest[period[entry.backup_id]] = entry.backup_id  # later ids win
    periods = sorted(newest, key=lambda key: newest[key], reverse=True)[: max(count, 0)]
    return {newest[key] for key in periods}


def retention_plan(
    entries: Iterable[BackupEntry], *, daily: int, weekly: int, zone: tzinfo | None = None
) -> Plan:
    """Which backups to keep and which to delete (ids in order)."""
    zone = zone or timezone.get_default_timezone()
    entries = list(entries)
    complete = [entry for entry in entries if entry.complete]
    days: dict[str, object] = {}
    weeks: dict[str, object] = {}
    for entry in complete:
        local = entry.created_at.astimezone(zone)
        days[entry.backup_id] = local.date()
        weeks[entry.backup_id] = local.isocalendar()[:2]
    keep = _newest_per(complete, days, daily) | _newest_per(complete, weeks, weekly)
    newest_complete = max((entry.backup_id for entry in complete), default="")
    delete = [entry.backup_id for entry in complete if entry.backup_id not in keep]
    delete += [
        entry.backup_id
        for entry in entries
        if not entry.complete and entry.backup_id < newest_complete
    ]
    return Plan(keep=sorted(keep), delete=sorted(set(delete)))


def retention_apply(store: BackupStore | None = None) -> Plan:
    """Delete the backups the plan does not keep, by the OPENCRF_BACKUP_KEEP_* settings."""
    store = store or backup_store()
    plan = retention_plan(
        store.list(),
        daily=settings.OPENCRF_BACKUP_KEEP_DAILY,
        weekly=settings.OPENCRF_BACKUP_KEEP_WEEKLY,
    )
    for backup_id in plan.delete:
        store.delete(backup_id)
    return plan
