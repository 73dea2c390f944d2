"""Each alert rule fires with exact facts and clears; incidents and e-mails follow."""

from __future__ import annotations

import dataclasses
from collections import namedtuple
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string

from opencrf.accounts.services import security_event_create
from opencrf.audit.verify import AnchoredVerification, ChainReport
from opencrf.ops import health
from opencrf.ops.alerts import rules, traffic
from opencrf.ops.alerts.evaluate import alert_evaluate, alerts_evaluate, audit_chains_evaluate
from opencrf.ops.alerts.rules import Firing
from opencrf.ops.models import BackupRun, DrillRun, Incident, RunStatus, WorkerHeartbeat
from opencrf.ops.schedule import periodic_jobs
from opencrf.testing import smtp as smtp_server

pytestmark = pytest.mark.django_db
smtp = smtp_server.smtp  # the fixture: a real SMTP server on loopback

Usage = namedtuple("Usage", "total used free")


@pytest.fixture(autouse=True)
def _site(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path / "data"
    settings.OPENCRF_BACKUP_DIR = tmp_path / "backups"
    settings.OPENCRF_BACKUP_S3_URL = ""
    settings.OPENCRF_BACKUP_MAX_AGE_HOURS = 26
    settings.OPENCRF_DISK_MIN_FREE_PERCENT = 10
    settings.OPENCRF_WORKER_STALE_SECONDS = 120
    settings.OPENCRF_ALERT_EMAILS = []
    monkeypatch.setattr(health.shutil, "disk_usage", lambda path: Usage(1000, 500, 500))


def backup(status: str, *, hours_ago: float, verified: bool = False, name: str = "") -> BackupRun:
    now = timezone.now()
    return BackupRun.objects.create(
        backup_id=name or f"{status}-{hours_ago}",
        trigger="schedule",
        status=status,
        started_at=now - timedelta(hours=hours_ago),
        finished_at=None if status == RunStatus.RUNNING else now - timedelta(hours=hours_ago),
        verified_at=now - timedelta(hours=hours_ago) if verified else None,
    )


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


# --- The rules ---------------------------------------------------------------------------------


def test_the_scheduler_finds_every_alert_task():
    paths = {job.task for job in periodic_jobs() if job.task.startswith("opencrf.ops.alerts.")}
    assert paths == {
        "opencrf.ops.alerts.tasks.evaluate_alerts",
        "opencrf.ops.alerts.tasks.verify_audit_chains",
        "opencrf.ops.alerts.tasks.audit_checkpoint",
    }
    for path in paths:
        assert callable(import_string(path).enqueue)


def test_backup_failed_fires_on_the_newest_finished_attempt_only():
    now = timezone.now()
    assert rules.backup_failed(now) is None
    backup(RunStatus.SUCCEEDED, hours_ago=30)
    assert rules.backup_failed(now) is None
    failed = backup(RunStatus.INTERRUPTED, hours_ago=6, name="20261202T0230")
    backup(RunStatus.RUNNING, hours_ago=0.1)  # a new attempt running does not clear it yet

    assert rules.backup_failed(now) == Firing(
        1, {"backup": "20261202T0230", "status": "interrupted", "when": local(failed.started_at)}
    )
    backup(RunStatus.SUCCEEDED, hours_ago=0.05)
    assert rules.backup_failed(now) is None


def test_backup_stale_fires_past_the_limit_and_escalates_after_three_days(settings):
    assert rules.backup_stale(timezone.now()) is None  # a new installation has its grace
    run = backup(RunStatus.SUCCEEDED, hours_ago=25, verified=True)
    verified = run.verified_at
    assert rules.backup_stale(verified + timedelta(hours=26)) is None
    assert rules.backup_stale(verified + timedelta(hours=30)) == Firing(
        1, {"hours": 30, "limit": 26}
    )
    assert rules.backup_stale(verified + timedelta(hours=26 + 72)) == Firing(
        1, {"hours": 98, "limit": 26}
    )
    assert rules.backup_stale(verified + timedelta(hours=26 + 73)) == Firing(
        2, {"hours": 99, "limit": 26}
    )


def test_drill_failed_fires_while_the_newest_drill_failed():
    now = timezone.now()
    assert rules.drill_failed(now) is None
    old = DrillRun.objects.create(
        backup_id="b0", status=RunStatus.SUCCEEDED, started_at=now - timedelta(days=8)
    )
    failed = DrillRun.objects.create(
        backup_id="b1", status=RunStatus.FAILED, started_at=now - timedelta(days=1)
    )
    assert old.pk
    assert rules.drill_failed(now) == Firing(1, {"backup": "b1", "when": local(failed.started_at)})
    DrillRun.objects.create(backup_id="b2", status=RunStatus.SUCCEEDED, started_at=now)
    assert rules.drill_failed(now) is None


def test_disk_low_names_the_worst_volume_and_escalates_below_a_quarter(monkeypatch):
    now = timezone.now()
    usages = {"data": Usage(1000, 920, 80), "backups": Usage(1000, 500, 500)}
    monkeypatch.setattr(
        health.shutil, "disk_usage", lambda path: usages.get(path.name, usages["backups"])
    )
    (health.Path(rules.settings.DATA_DIR)).mkdir()

    assert rules.disk_low(now) == Firing(1, {"volume": "data", "percent": "8.0", "minimum": 10})
    usages["data"] = Usage(1000, 976, 24)
    assert rules.disk_low(now) == Firing(2, {"volume": "data", "percent": "2.4", "minimum": 10})
    usages["data"] = Usage(1000, 900, 100)
    assert rules.disk_low(now) is None


def test_worker_down_fires_only_after_workers_were_seen_and_fell_silent(settings):
    settings.OPENCRF_WORKER_JOB_MAX_SECONDS = 3600
    now = timezone.now()
    assert rules.worker_down(now) is None  # nothing started yet
    seen = now - timedelta(seconds=121)
    WorkerHeartbeat.objects.create(worker_id="w1", last_seen_at=seen)
    assert rules.worker_down(now) == Firing(
        2, {"seconds": 121, "when": local(seen), "stuck": 0, "limit": 3600}
    )
    WorkerHeartbeat.objects.create(worker_id="w2", last_seen_at=now - timedelta(seconds=120))
    assert rules.worker_down(now) is None


def test_worker_down_fires_when_the_only_beating_runner_is_stuck_on_one_job(settings):
    settings.OPENCRF_WORKER_JOB_MAX_SECONDS = 3600
    now = timezone.now()
    busy = {"state": "busy", "job_id": "j1", "job_name": "opencrf.ops.backups.tasks.restore_drill"}
    WorkerHeartbeat.objects.create(
        worker_id="w1", last_seen_at=now, job_started_at=now - timedelta(seconds=3600), **busy
    )
    assert rules.worker_down(now) is None  # busy for exactly the limit: still working

    WorkerHeartbeat.objects.filter(worker_id="w1").update(
        job_started_at=now - timedelta(seconds=3601)
    )
    assert rules.worker_down(now) == Firing(
        2, {"seconds": 0, "when": local(now), "stuck": 1, "limit": 3600}
    )
    with pytest.raises(health.CheckFailed) as failure:
        health.check_worker(now)
    assert str(failure.value) == (
        "no job worker working: job runner stuck on restore_drill for 3601 s (limit 3600 s)"
    )


def test_lockout_burst_counts_five_lockouts_within_fifteen_minutes(pi_paula):
    now = timezone.now()
    security_event_create(kind="lockout", username="x", address="203.0.113.9")
    for _n in range(3):
        security_event_create(kind="lockout", username="y", address="203.0.113.9")
    security_event_create(kind="login.failed", username="y", address="203.0.113.9")
    old = security_event_create(kind="lockout", username="z", address="203.0.113.9")
    type(old).objects.filter(pk=old.pk).update(at=now - timedelta(minutes=16))
    assert rules.lockout_burst(now) is None

    security_event_create(kind="lockout", username="w", address="203.0.113.10")
    assert rules.lockout_burst(timezone.now()) == Firing(3, {"count": 5, "minutes": 15})


def test_error_rate_spike_needs_twenty_requests_and_more_than_five_percent(monkeypatch):
    now = timezone.now() + timedelta(days=30)  # clear of the requests other tests made
    minute = now.timestamp()
    for _n in range(18):
        traffic.count(200, now=minute)
    traffic.count(500, now=minute)
    traffic.count(404, now=minute - 6 * 60)  # outside the five minutes
    traffic.flush()
    assert rules.error_rate_spike(now) is None  # 19 requests

    traffic.count(200, now=minute - 4 * 60)
    traffic.flush()
    assert rules.error_rate_spike(now) is None  # 20 requests, 1 error: exactly 5 %

    traffic.count(503, now=minute - 60)
    traffic.flush()
    assert rules.error_rate_spike(now) == Firing(
        2, {"errors": 2, "requests": 21, "percent": "9.5", "minutes": 5}
    )


def test_request_counts_from_several_processes_add_up():
    now = timezone.now() + timedelta(days=30)
    minute = now.timestamp()
    before = traffic.window(now, 1)
    traffic.count(200, now=minute)
    traffic.flush()
    traffic.count(500, now=minute)  # a second flush adds to the same minute's row
    traffic.flush()
    after = traffic.window(now, 1)
    assert (after.requests - before.requests, after.errors - before.errors) == (2, 1)

    traffic.prune(now + timedelta(days=1, minutes=1))
    assert traffic.window(now, 1) == traffic.Window(0, 0)


# --- Incidents and e-mail --------------------------------------------------------------------


@pytest.fixture
def admins(admin_ada, django_user_model, settings):
    settings.LANGUAGE_CODE = "en"
    settings.OPENCRF_ALERT_EMAILS = ["ops@example.ac.jp", "ada@example.org"]
    django_user_model.objects.create_superuser(
        username="admin_ken", email="ken@example.ac.jp", password="x" * 12, language="ja"
    )
    django_user_model.objects.create_superuser(
        username="admin_gone", email="gone@example.org", password="x" * 12, is_active=False
    )
    django_user_model.objects.create_superuser(username="admin_nomail", email="", password="x" * 12)
    return admin_ada


def body(inbox, message) -> str:
    return inbox.body(message).replace("\r\n", "\n")


def subject(message) -> str:
    # A non-ASCII subject arrives as encoded words folded onto the next line; unfolded, the
    # parser keeps the fold's leading space, which mail programs do not show.
    return str(message["Subject"]).strip()


def subjects(inbox) -> list[tuple[str, str]]:
    return sorted(
        (envelope[0], subject(message))
        for message, envelope in zip(inbox.messages, inbox.envelopes, strict=True)
    )


def test_an_alert_opens_an_incident_and_mails_each_administrator_once(
    smtp, admins, django_capture_on_commit_callbacks
):
    failed = backup(RunStatus.FAILED, hours_ago=1, name="20261202T0230")

    with django_capture_on_commit_callbacks(execute=True):
        assert alert_evaluate("backup_failed") == "opened"

    incident = Incident.objects.get(key="backup_failed")
    assert (incident.level, incident.status, incident.title) == (1, "open", "Backup failed")
    assert incident.detail == (
        f"The backup 20261202T0230 started at {local(failed.started_at)} ended as: failed."
    )
    assert incident.notified_at is not None
    english = "[OpenCRF] Level 1: Backup failed"
    assert subjects(smtp) == [
        ("ada@example.org", english),
        ("ken@example.ac.jp", "[OpenCRF] レベル1：バックアップ失敗"),  # ken reads Japanese
        ("ops@example.ac.jp", english),
    ]
    assert smtp.messages[0]["From"] == "edc@example.ac.jp"
    assert body(smtp, smtp.to("ada@example.org")[0]) == (
        "Level 1: no impact on the service\n"
        "\n"
        f"What happened: {incident.detail}\n"
        f"Since: {local(incident.started_at)}\n"
        "What to do: Read the backup log, fix the cause and run `opencrf backup` by hand.\n"
        "Runbook: docs/operations/runbook.md#backup_failed\n"
        f"Alert: backup_failed, incident {incident.pk}\n"
        "\n"
        "-- \n"
        "OpenCRF\n"
        "https://edc.example.ac.jp\n"
    )


def test_repeats_update_the_incident_without_mail_until_a_day_has_passed(
    smtp, admins, django_capture_on_commit_callbacks
):
    backup(RunStatus.FAILED, hours_ago=1)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        alert_evaluate("backup_failed", now=now)
        assert alert_evaluate("backup_failed", now=now + timedelta(minutes=1)) == "firing"
        assert alert_evaluate("backup_failed", now=now + timedelta(hours=23)) == "firing"
    assert len(smtp.messages) == 3
    assert Incident.objects.get().occurrences == 3

    with django_capture_on_commit_callbacks(execute=True):
        assert alert_evaluate("backup_failed", now=now + timedelta(hours=24)) == "reminded"
        assert alert_evaluate("backup_failed", now=now + timedelta(hours=25)) == "firing"

    assert len(smtp.messages) == 6
    assert (
        smtp.to("ada@example.org")[1]["Subject"] == "[OpenCRF] Level 1: Still open: Backup failed"
    )
    assert Incident.objects.count() == 1


def test_an_escalation_mails_again_at_the_new_level(
    smtp, admins, django_capture_on_commit_callbacks
):
    backup(RunStatus.SUCCEEDED, hours_ago=27, verified=True)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert alert_evaluate("backup_stale", now=now) == "opened"
        assert alert_evaluate("backup_stale", now=now + timedelta(hours=72)) == "escalated"

    incident = Incident.objects.get(key="backup_stale")
    assert incident.level == 2
    assert incident.detail == "The newest verified backup is 99 hours old (allowed: 26 hours)."
    assert [m["Subject"] for m in smtp.to("ops@example.ac.jp")] == [
        "[OpenCRF] Level 1: No recent verified backup",
        "[OpenCRF] Level 2: Escalated: No recent verified backup",
    ]


def test_a_passing_check_resolves_the_incident_and_mails_once(
    smtp, admins, django_capture_on_commit_callbacks
):
    backup(RunStatus.FAILED, hours_ago=2)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        alert_evaluate("backup_failed", now=now)
        backup(RunStatus.SUCCEEDED, hours_ago=1)
        assert alert_evaluate("backup_failed", now=now + timedelta(minutes=1)) == "cleared"
        assert alert_evaluate("backup_failed", now=now + timedelta(minutes=2)) == "ok"

    incident = Incident.objects.get(key="backup_failed")
    assert (incident.status, incident.ended_at) == ("resolved", now + timedelta(minutes=1))
    mails = smtp.to("ken@example.ac.jp")
    assert [subject(m) for m in mails] == [
        "[OpenCRF] レベル1：バックアップ失敗",
        "[OpenCRF] レベル1：解決済み：バックアップ失敗",
    ]
    assert f"解決日時：{local(now + timedelta(minutes=1))}\n" in body(smtp, mails[1])


def test_the_same_alert_later_opens_a_new_incident(
    smtp, admins, django_capture_on_commit_callbacks
):
    WorkerHeartbeat.objects.create(worker_id="w", last_seen_at=timezone.now())
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert alert_evaluate("worker_down", now=now + timedelta(minutes=5)) == "opened"
        assert alert_evaluate("worker_down", now=now) == "cleared"
        assert alert_evaluate("worker_down", now=now + timedelta(minutes=10)) == "opened"
    assert Incident.objects.filter(key="worker_down").count() == 2
    assert len(smtp.to("ada@example.org")) == 3


def test_nothing_is_mailed_when_the_transaction_rolls_back(
    smtp, admins, django_capture_on_commit_callbacks
):
    from django.db import transaction

    backup(RunStatus.FAILED, hours_ago=1)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        alert_evaluate("backup_failed")
        raise RuntimeError("undo")
    assert callbacks == []
    assert smtp.messages == []
    assert not Incident.objects.exists()


def test_every_rule_runs_and_reports_its_state(monkeypatch, django_capture_on_commit_callbacks):
    backup(RunStatus.FAILED, hours_ago=1)

    def broken(now):
        raise RuntimeError("boom")

    monkeypatch.setitem(
        rules.ALERTS,
        "lockout_burst",
        dataclasses.replace(rules.ALERTS["lockout_burst"], rule=broken),
    )
    with django_capture_on_commit_callbacks(execute=True):
        states = import_string("opencrf.ops.alerts.tasks.evaluate_alerts").call()

    assert states == {
        "backup_failed": "opened",
        "backup_stale": "ok",
        "drill_failed": "ok",
        "disk_low": "ok",
        "worker_down": "ok",
        "lockout_burst": "error",
        "error_rate_spike": "ok",
    }


def test_a_broken_audit_chain_is_a_level_three_incident(
    smtp, admins, classic_project, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert audit_chains_evaluate() == "ok"  # the real chains verify
        monkeypatch.setattr(
            "opencrf.audit.verify.verify_anchored",
            lambda checkpoints, **options: AnchoredVerification(
                [
                    ChainReport(0, 4, True, None, None, "h0"),
                    ChainReport(7, 3, False, 2, "entry 2 was changed", "h1"),
                    ChainReport(9, 1, False, 1, "entry 1 is missing", "h2"),
                ],
                checkpoints,
            ),
        )
        assert import_string("opencrf.ops.alerts.tasks.verify_audit_chains").call() == "opened"

    incident = Incident.objects.get(key="audit_chain_broken")
    assert (incident.level, incident.detail) == (
        3,
        "The audit chain of project(s) 7, 9 does not verify.",
    )
    assert smtp.to("ada@example.org")[0]["Subject"] == (
        "[OpenCRF] Level 3: Audit trail verification failed"
    )


def test_the_states_of_all_rules_are_quiet_on_a_healthy_site():
    assert set(alerts_evaluate().values()) == {"ok"}
