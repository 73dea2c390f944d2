"""Retention in generations: the newest G backups, plus the newest of each of N days and M weeks.

A complete backup is kept when any of these holds (docs/operations/backups.md states the rule):

- it is one of the newest `generations` (OPENCRF_BACKUP_KEEP_GENERATIONS) complete backups,
  whatever their days: a second backup on the same day is a generation of its own;
- it is the newest of one of the last `daily` days, or `weekly` ISO weeks, that have one;
- it is the newest verified backup (BackupRun.verified_at), which nothing removes;
- it was made on `protect_day`: a manual backup prunes with its own local day protected, so it
  never removes an earlier backup made that day.

A day or a week counts only if it has a complete backup, so a month without backups does not
use up the generations. Days and ISO weeks are local (TIME_ZONE): "yesterday's backup" is
what an operator means. Incomplete backups older than the newest complete one are removed;
retention runs only after a new backup was written and verified, so a failed or interrupted
backup never removes an older good one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, tzinfo

from django.conf import settings
from django.utils import timezone

from opencrf.ops.backups.store import BackupEntry, BackupStore, backup_store, backup_time
from opencrf.ops.health import newest_verified_backup


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
    entries: Iterable[BackupEntry],
    *,
    daily: int,
    weekly: int,
    generations: int = 0,
    newest_verified: str = "",
    protect_day: date | None = None,
    zone: tzinfo | None = None,
) -> Plan:
    """Which backups to keep and which to delete (ids in order); see the module's rule."""
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
    newest = sorted(entry.backup_id for entry in complete)
    keep |= set(newest[len(newest) - generations :] if generations > 0 else [])
    keep |= {backup_id for backup_id in newest if backup_id == newest_verified}
    keep |= {backup_id for backup_id, day in days.items() if day == protect_day}
    newest_complete = max((entry.backup_id for entry in complete), default="")
    delete = [entry.backup_id for entry in complete if entry.backup_id not in keep]
    delete += [
        entry.backup_id
        for entry in entries
        if not entry.complete and entry.backup_id < newest_complete
    ]
    return Plan(keep=sorted(keep), delete=sorted(set(delete)))


def newest_verified_id() -> str:
    newest = newest_verified_backup()
    return newest.backup_id if newest is not None else ""


def retention_apply(store: BackupStore | None = None, *, protect_day: date | None = None) -> Plan:
    """Delete the backups the plan does not keep, by the OPENCRF_BACKUP_KEEP_* settings.

    `protect_day`: the local day of the manual backup just made, whose earlier backups stay.
    """
    store = store or backup_store()
    plan = retention_plan(
        store.list(),
        daily=settings.OPENCRF_BACKUP_KEEP_DAILY,
        weekly=settings.OPENCRF_BACKUP_KEEP_WEEKLY,
        generations=settings.OPENCRF_BACKUP_KEEP_GENERATIONS,
        newest_verified=newest_verified_id(),
        protect_day=protect_day,
    )
    for backup_id in plan.delete:
        store.delete(backup_id)
    return plan


def manual_protect_day(backup_id: str) -> date:
    """The local day of a manual backup: retention after it keeps every backup of that day."""
    return timezone.localtime(backup_time(backup_id)).date()
