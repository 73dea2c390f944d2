"""The alert rules: each looks at the database and says whether its alert fires, and how badly.

A rule returns a `Firing` (the level and the facts for the message) or None when all is well.
The keys are stable: incidents, e-mails and docs/operations/runbook.md#<key> use them.
Titles and details are translated when shown: an incident stores them in the site language,
each e-mail is written in its recipient's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from opencrf.ops import health
from opencrf.ops.alerts import traffic
from opencrf.ops.models import BackupRun, DrillRun, IncidentLevel, RunStatus

LOCKOUT_BURST = 5
LOCKOUT_MINUTES = 15
ERROR_SHARE = 0.05
ERROR_MIN_REQUESTS = 20
ERROR_MINUTES = 5
STALE_ESCALATION = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class Firing:
    level: int
    params: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[datetime], Firing | None]


@dataclass(frozen=True, slots=True)
class Alert:
    key: str
    title: Promise
    detail: Promise  # %-format with the firing's params
    todo: Promise  # one sentence; the runbook section says the rest
    rule: Rule | None  # None: evaluated by its own job (the audit chains, daily)


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def backup_failed(now: datetime) -> Firing | None:
    """The newest finished backup attempt failed or was interrupted."""
    newest = BackupRun.objects.exclude(status=RunStatus.RUNNING).order_by("-started_at", "-id")
    run = newest.first()
    if run is None or run.status == RunStatus.SUCCEEDED:
        return None
    return Firing(
        IncidentLevel.NO_IMPACT,
        {"backup": run.backup_id, "status": run.status, "when": _when(run.started_at)},
    )


def backup_stale(now: datetime) -> Firing | None:
    """The newest verified backup is older than OPENCRF_BACKUP_MAX_AGE_HOURS (L2 3 days on)."""
    age = health.stale_backup_age(now)
    if age is None:
        return None
    limit = timedelta(hours=settings.OPENCRF_BACKUP_MAX_AGE_HOURS)
    level = IncidentLevel.OUTAGE if age > limit + STALE_ESCALATION else IncidentLevel.NO_IMPACT
    return Firing(
        level,
        {"hours": int(age.total_seconds() // 3600), "limit": settings.OPENCRF_BACKUP_MAX_AGE_HOURS},
    )


def drill_failed(now: datetime) -> Firing | None:
    """The newest finished restore drill did not pass."""
    drill = DrillRun.objects.exclude(status=RunStatus.RUNNING).order_by("-started_at", "-id")
    run = drill.first()
    if run is None or run.status == RunStatus.SUCCEEDED:
        return None
    return Firing(IncidentLevel.NO_IMPACT, {"backup": run.backup_id, "when": _when(run.started_at)})


def disk_low(now: datetime) -> Firing | None:
    """A filesystem we write to is below the free-space threshold (L2 below a quarter of it)."""
    minimum = settings.OPENCRF_DISK_MIN_FREE_PERCENT
    low = [v for v in health.volumes() if v.free_percent < minimum]
    if not low:
        return None
    worst = min(low, key=lambda v: v.free_percent)
    level = IncidentLevel.OUTAGE if worst.free_percent < minimum / 4 else IncidentLevel.NO_IMPACT
    return Firing(
        level,
        {"volume": worst.name, "percent": f"{worst.free_percent:.1f}", "minimum": minimum},
    )


def worker_down(now: datetime) -> Firing | None:
    """Job runners reported before, but none is working: all silent for longer than
    OPENCRF_WORKER_STALE_SECONDS, or busy with one job for longer than
    OPENCRF_WORKER_JOB_MAX_SECONDS."""
    found = health.workers(now)
    if found is None or found.working:  # nothing started yet is not an outage (`opencrf check`)
        return None
    return Firing(
        IncidentLevel.OUTAGE,
        {
            "seconds": found.silent_seconds(now),
            "when": _when(found.newest),
            "stuck": len(found.stuck),
            "limit": settings.OPENCRF_WORKER_JOB_MAX_SECONDS,
        },
    )


def lockout_burst(now: datetime) -> Firing | None:
    """Five or more lockouts within 15 minutes: someone is guessing passwords."""
    from opencrf.accounts.models import SecurityEvent

    since = now - timedelta(minutes=LOCKOUT_MINUTES)
    recent = SecurityEvent.objects.filter(kind="lockout", at__gt=since, at__lte=now)
    count = recent.count()
    if count < LOCKOUT_BURST:
        return None
    return Firing(IncidentLevel.SECURITY, {"count": count, "minutes": LOCKOUT_MINUTES})


def error_rate_spike(now: datetime) -> Firing | None:
    """More than 5 % server errors over the last 5 minutes, from at least 20 requests."""
    seen = traffic.window(now, ERROR_MINUTES)
    if seen.requests < ERROR_MIN_REQUESTS or seen.error_share <= ERROR_SHARE:
        return None
    return Firing(
        IncidentLevel.OUTAGE,
        {
            "errors": seen.errors,
            "requests": seen.requests,
            "percent": f"{100 * seen.error_share:.1f}",
            "minutes": ERROR_MINUTES,
        },
    )


ALERTS: dict[str, Alert] = {
    alert.key: alert
    for alert in [
        Alert(
            "backup_failed",
            _("Backup failed"),
            _("The backup %(backup)s started at %(when)s ended as: %(status)s."),
            _("Read the backup log, fix the cause and run `opencrf backup` by hand."),
            backup_failed,
        ),
        Alert(
            "backup_stale",
            _("No recent verified backup"),
            _("The newest verified backup is %(hours)s hours old (allowed: %(limit)s hours)."),
            _("Check that the worker runs and that scheduled backups succeed, then make one."),
            backup_stale,
        ),
        Alert(
            "drill_failed",
            _("Restore drill failed"),
            _("The restore drill of backup %(backup)s started at %(when)s did not pass."),
            _("Read the drill report and run `opencrf restore --verify` on the newest backup."),
            drill_failed,
        ),
        Alert(
            "audit_chain_broken",
            _("Audit trail verification failed"),
            _("The audit chain of project(s) %(projects)s does not verify."),
            _("Treat it as a security incident: keep the server as it is and follow the runbook."),
            None,
        ),
        Alert(
            "disk_low",
            _("Disk space low"),
            _("The %(volume)s disk has %(percent)s %% free (minimum %(minimum)s %%)."),
            _("Free space or enlarge the disk before the service stops writing."),
            disk_low,
        ),
        Alert(
            "worker_down",
            _("Background worker down"),
            _(
                "No job worker is working. Newest heartbeat: %(seconds)s seconds ago (%(when)s); "
                "runners stuck on one job for over %(limit)s seconds: %(stuck)s."
            ),
            _("Restart the worker (or the server in the embedded set-up) and read its log."),
            worker_down,
        ),
        Alert(
            "lockout_burst",
            _("Many account lockouts"),
            _("%(count)s lockouts in the last %(minutes)s minutes."),
            _("Read the security log for the addresses involved and block them if hostile."),
            lockout_burst,
        ),
        Alert(
            "error_rate_spike",
            _("Many server errors"),
            _("%(errors)s of %(requests)s requests (%(percent)s %%) failed in %(minutes)s min."),
            _("Read the server log for the errors and undo any recent change that caused them."),
            error_rate_spike,
        ),
    ]
}
