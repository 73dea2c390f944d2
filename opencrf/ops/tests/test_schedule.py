from __future__ import annotations

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

import pytest

from opencrf.ops import schedule
from opencrf.ops.models import ScheduledRun, WorkerHeartbeat

pytestmark = pytest.mark.django_db

TOKYO = dt_timezone(timedelta(hours=9))


def test_a_daily_job_is_due_from_its_time_until_midnight():
    due = schedule.daily_at(time(2, 30))
    assert due(datetime(2026, 12, 2, 2, 29, tzinfo=TOKYO)) is None
    assert due(datetime(2026, 12, 2, 2, 30, tzinfo=TOKYO)) == "2026-12-02"
    assert due(datetime(2026, 12, 2, 23, 59, tzinfo=TOKYO)) == "2026-12-02"
    assert schedule.daily_at(None)(datetime(2026, 12, 2, 12, 0, tzinfo=TOKYO)) is None


def test_a_weekly_job_is_due_from_its_day_and_time_until_the_week_ends():
    due = schedule.weekly_on(7, time(4, 0))  # Sunday 04:00
    assert due(datetime(2026, 12, 5, 23, 0, tzinfo=TOKYO)) is None  # Saturday
    assert due(datetime(2026, 12, 6, 3, 59, tzinfo=TOKYO)) is None  # Sunday, early
    assert due(datetime(2026, 12, 6, 4, 0, tzinfo=TOKYO)) == "2026-W49"
    wednesday = schedule.weekly_on(3, time(4, 0))
    assert wednesday(datetime(2026, 12, 6, 4, 0, tzinfo=TOKYO)) == "2026-W49"


def test_the_clock_setting_must_be_hours_and_minutes():
    assert schedule.parse_clock("02:30") == time(2, 30)
    assert schedule.parse_clock("") is None
    with pytest.raises(ValueError, match="HH:MM"):
        schedule.parse_clock("half past two")


def test_only_the_first_claim_of_a_period_wins():
    assert schedule.claim("backup", "2026-12-02", "node-a-1") is True
    assert schedule.claim("backup", "2026-12-02", "node-b-7") is False
    assert schedule.claim("backup", "2026-12-03", "node-b-7") is True
    assert list(ScheduledRun.objects.values_list("period", "claimed_by").order_by("period")) == [
        ("2026-12-02", "node-a-1"),
        ("2026-12-03", "node-b-7"),
    ]


def test_two_schedulers_enqueue_a_due_job_once(monkeypatch, settings):
    enqueued: list[str] = []

    class FakeTask:
        def __init__(self, name: str) -> None:
            self.name = name

        def enqueue(self) -> None:
            enqueued.append(self.name)

    monkeypatch.setattr(schedule, "import_string", lambda path: FakeTask(path.rsplit(".", 1)[1]))
    settings.OPENCRF_BACKUP_TIME = "02:30"
    settings.OPENCRF_INSTANCE_ROLE = "production"
    now = datetime(2026, 12, 2, 3, 0, tzinfo=TOKYO)  # a Wednesday

    first = schedule.Scheduler("node-a-1").tick(now)
    second = schedule.Scheduler("node-b-7").tick(now)

    assert first == [
        "backup",
        "capacity_snapshot",
        "alerts",
        "audit_verify",
        "audit_checkpoint",
        "suspend_inactive_users",
        "exports_expire",
        "survey_invitations_send",
        "survey_auto_invitations",
        "alert_notifications_send",
        "alert_dates",
    ]
    assert second == []
    assert sorted(enqueued) == sorted(
        [
            "scheduled_backup",
            "snapshot_task",
            "evaluate_alerts",
            "verify_audit_chains",
            "audit_checkpoint",
            "suspend_inactive_users",
            "expire_exports",
            "send_due_invitations",
            "evaluate_automated_invitations",
            "send_due_notifications",
            "evaluate_date_alerts",
        ]
    )
    # A scheduler proves nothing about the job runner beside it: it writes no heartbeat.
    assert not WorkerHeartbeat.objects.exists()


def test_the_training_reset_runs_only_on_a_training_instance(monkeypatch, settings):
    monkeypatch.setattr(
        schedule, "import_string", lambda path: type("T", (), {"enqueue": lambda self: None})()
    )
    settings.OPENCRF_TRAINING_RESET_TIME = "03:00"
    now = datetime(2026, 12, 2, 3, 5, tzinfo=TOKYO)
    settings.OPENCRF_INSTANCE_ROLE = "production"
    assert "training_reset" not in schedule.Scheduler("a").tick(now)
    settings.OPENCRF_INSTANCE_ROLE = "training"
    assert "training_reset" in schedule.Scheduler("b").tick(now)


def test_a_claim_that_met_a_locked_database_is_retried_at_the_next_pass(monkeypatch, settings):
    # Found by outside testing: during a long SQLite import every scheduler's pass failed on
    # "database is locked"; a daily job due at that pass was then never enqueued that day.
    from django.db import OperationalError

    enqueued: list[str] = []
    monkeypatch.setattr(
        schedule,
        "import_string",
        lambda path: type("T", (), {"enqueue": lambda self: enqueued.append(path)})(),
    )
    real_claim = schedule.claim
    locked = {"backup"}

    def claim(job: str, period: str, worker_id: str) -> bool:
        if job in locked:
            locked.discard(job)
            raise OperationalError("database is locked")
        return real_claim(job, period, worker_id)

    monkeypatch.setattr(schedule, "claim", claim)
    settings.OPENCRF_BACKUP_TIME = "02:30"
    settings.OPENCRF_INSTANCE_ROLE = "production"
    scheduler = schedule.Scheduler("node-a-1")
    with pytest.raises(OperationalError):
        scheduler.tick(datetime(2026, 12, 2, 3, 0, tzinfo=TOKYO))

    scheduler.tick(datetime(2026, 12, 2, 3, 0, 30, tzinfo=TOKYO))

    assert "opencrf.ops.backups.tasks.scheduled_backup" in enqueued
    assert ScheduledRun.objects.filter(job="backup", period="2026-12-02").count() == 1


def test_an_enqueue_that_met_a_locked_database_leaves_no_claim_and_is_retried(
    monkeypatch, settings
):
    # The claim and the enqueue share one transaction: a claim kept without its job would
    # skip the day's backup on every node.
    from django.db import OperationalError

    attempts: list[str] = []

    def enqueue(self) -> None:
        attempts.append("enqueue")
        if len(attempts) == 1:
            raise OperationalError("database is locked")

    monkeypatch.setattr(
        schedule, "import_string", lambda path: type("T", (), {"enqueue": enqueue})()
    )
    settings.OPENCRF_BACKUP_TIME = "02:30"
    settings.OPENCRF_INSTANCE_ROLE = "production"
    scheduler = schedule.Scheduler("node-a-1")
    with pytest.raises(OperationalError):
        scheduler.tick(datetime(2026, 12, 2, 3, 0, tzinfo=TOKYO))
    assert not ScheduledRun.objects.filter(job="backup", period="2026-12-02").exists()

    assert "backup" in scheduler.tick(datetime(2026, 12, 2, 3, 0, 30, tzinfo=TOKYO))
    assert ScheduledRun.objects.filter(job="backup", period="2026-12-02").count() == 1


def test_a_task_that_cannot_be_enqueued_is_recorded_as_a_failed_run(monkeypatch, settings):
    def enqueue(self) -> None:
        raise ValueError("no such task")

    monkeypatch.setattr(
        schedule, "import_string", lambda path: type("T", (), {"enqueue": enqueue})()
    )
    settings.OPENCRF_BACKUP_TIME = "02:30"
    settings.OPENCRF_INSTANCE_ROLE = "production"
    scheduler = schedule.Scheduler("node-a-1")

    assert "backup" not in scheduler.tick(datetime(2026, 12, 2, 3, 0, tzinfo=TOKYO))

    run = ScheduledRun.objects.get(job="backup", period="2026-12-02")
    assert (run.ok, run.error, run.claimed_by) == (False, "could not enqueue", "node-a-1")
    assert "backup" not in scheduler.tick(datetime(2026, 12, 2, 3, 0, 30, tzinfo=TOKYO))
