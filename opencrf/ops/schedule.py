"""Periodic jobs: run once per period across every node, by whichever worker claims them first.

Every job worker (the supervised threads inside each `opencrf serve` process, or `opencrf
worker`) runs a scheduler loop beside its job runner. Each pass, for every periodic job that is
due, it tries to insert a `ScheduledRun(job, period)`. The unique constraint lets exactly one
worker win the period; that worker enqueues the job as an ordinary background task for the
runners. The scheduler writes no heartbeat: a live scheduler beside a dead runner runs nothing,
so only the runner's own heartbeat counts (opencrf/ops/runner.py). A period that was missed
(the server was off at 02:30) is caught up at the next pass on the same day: a daily job is
due from its time until midnight.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from opencrf.ops.models import ScheduledRun

logger = logging.getLogger(__name__)

PASS_SECONDS = 30.0


def parse_clock(text: str) -> time | None:
    """`HH:MM` as a time; empty means "off". Anything else is a configuration error."""
    if not text:
        return None
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"expected a time as HH:MM, not {text!r}") from None


Due = Callable[[datetime], str | None]


def daily_at(clock: time | None) -> Due:
    """Due from `clock` (local time) until midnight, once per day; never when `clock` is None."""

    def due(now: datetime) -> str | None:
        if clock is None or now.time() < clock:
            return None
        return now.date().isoformat()

    return due


def weekly_on(weekday: int, clock: time | None) -> Due:
    """Due once per ISO week, from `weekday` (1 = Monday) at `clock` until the week ends."""

    def due(now: datetime) -> str | None:
        if clock is None:
            return None
        today = now.isoweekday()
        if today < weekday or (today == weekday and now.time() < clock):
            return None
        year, week, _day = now.isocalendar()
        return f"{year}-W{week:02d}"

    return due


def every_minutes(minutes: int) -> Due:
    def due(now: datetime) -> str | None:
        slot = (now.hour * 60 + now.minute) // minutes
        return f"{now.date().isoformat()}T{slot:04d}"

    return due


@dataclass(frozen=True, slots=True)
class Periodic:
    job: str
    due: Due
    task: str  # dotted path of a django_tasks task
    when: Callable[[], bool] = lambda: True


def periodic_jobs() -> list[Periodic]:
    """The schedule, read from the settings at each pass (tests change them)."""
    training = settings.OPENCRF_INSTANCE_ROLE == "training"
    return [
        Periodic(
            "backup",
            daily_at(parse_clock(settings.OPENCRF_BACKUP_TIME)),
            "opencrf.ops.backups.tasks.scheduled_backup",
        ),
        Periodic(
            "restore_drill",
            weekly_on(settings.OPENCRF_DRILL_WEEKDAY, parse_clock(settings.OPENCRF_DRILL_TIME)),
            "opencrf.ops.backups.tasks.restore_drill",
        ),
        Periodic("capacity_snapshot", daily_at(time(0, 10)), "opencrf.ops.capacity.snapshot_task"),
        Periodic("alerts", every_minutes(1), "opencrf.ops.alerts.tasks.evaluate_alerts"),
        Periodic(
            "audit_verify", daily_at(time(1, 30)), "opencrf.ops.alerts.tasks.verify_audit_chains"
        ),
        Periodic(
            "audit_checkpoint", every_minutes(60), "opencrf.ops.alerts.tasks.audit_checkpoint"
        ),
        Periodic(
            "suspend_inactive_users",
            daily_at(time(0, 20)),
            "opencrf.accounts.tasks.suspend_inactive_users",
        ),
        Periodic("exports_expire", daily_at(time(0, 40)), "opencrf.exports.jobs.expire_exports"),
        Periodic(
            "import_staging_expire",
            daily_at(time(4, 10)),
            "opencrf.records.jobs.expire_import_staging",
        ),
        Periodic(
            "survey_invitations_send",
            every_minutes(1),
            "opencrf.surveys.invitation_jobs.send_due_invitations",
        ),
        Periodic(
            "survey_auto_invitations",
            daily_at(time(0, 5)),
            "opencrf.surveys.invitation_jobs.evaluate_automated_invitations",
        ),
        Periodic(
            "alert_notifications_send",
            every_minutes(1),
            "opencrf.alerts.jobs.send_due_notifications",
        ),
        Periodic("alert_dates", daily_at(time(0, 15)), "opencrf.alerts.jobs.evaluate_date_alerts"),
        Periodic(
            "training_reset",
            daily_at(parse_clock(settings.OPENCRF_TRAINING_RESET_TIME)),
            "opencrf.ops.instance.training_reset_task",
            when=lambda: training,
        ),
    ]


def claim(job: str, period: str, worker_id: str) -> bool:
    """True for the one caller that claims (job, period); False for everyone else."""
    try:
        with transaction.atomic():
            ScheduledRun.objects.create(job=job, period=period, claimed_by=worker_id)
    except IntegrityError:
        return False
    return True


class Scheduler:
    """One worker's view of the schedule; remembers what it has already seen claimed."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self._seen: set[tuple[str, str]] = set()

    def tick(self, now: datetime | None = None) -> list[str]:
        """One pass: enqueue what is due and unclaimed; returns those jobs."""
        now = now or timezone.now()
        local = timezone.localtime(now)
        enqueued = []
        for periodic in periodic_jobs():
            if not periodic.when():
                continue
            period = periodic.due(local)
            if period is None or (periodic.job, period) in self._seen:
                continue
            if self._claim_and_enqueue(periodic.job, periodic.task, period):
                enqueued.append(periodic.job)
            self._seen.add((periodic.job, period))
        if len(self._seen) > 10_000:  # one entry per job and period; forget old periods
            self._seen.clear()
        return enqueued

    def _claim_and_enqueue(self, job: str, task: str, period: str) -> bool:
        """Claim (job, period) and enqueue its task in one transaction; True when this worker did.

        A database error in either (SQLite's "database is locked" during a long import) leaves
        neither behind and propagates before the period is marked seen, so the next pass tries
        again rather than losing the day's backup. A task that cannot be enqueued for any other
        reason is recorded as a failed run of that period.
        """
        try:
            with transaction.atomic():
                if not claim(job, period, self.worker_id):
                    return False
                import_string(task).enqueue()
        except DatabaseError:
            raise
        except Exception:
            logger.exception("Could not enqueue the periodic job %s", job)
            ScheduledRun.objects.get_or_create(
                job=job,
                period=period,
                defaults={
                    "claimed_by": self.worker_id,
                    "ok": False,
                    "error": "could not enqueue",
                    "finished_at": timezone.now(),
                },
            )
            return False
        return True

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # a database hiccup must not end the loop
                logger.exception("Scheduler pass failed")
            stop.wait(PASS_SECONDS)
