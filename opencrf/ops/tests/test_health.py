from __future__ import annotations

import argparse
import shutil
import socket
from collections import namedtuple
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse
from django.utils import timezone

from opencrf import cli
from opencrf.core.commandline import CommandError
from opencrf.ops import health
from opencrf.ops.models import BackupRun, Incident, RunStatus, WorkerHeartbeat

pytestmark = pytest.mark.django_db

Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def fresh_site(settings, tmp_path):
    """A site as just installed: a worker beating, no backup, the disk far from full."""
    settings.DATA_DIR = tmp_path / "data"
    settings.OPENCRF_BACKUP_DIR = tmp_path / "backups"
    settings.DATA_DIR.mkdir()  # the backup folder is made by the first backup
    settings.OPENCRF_BACKUP_S3_URL = ""
    settings.OPENCRF_BACKUP_TIME = "02:30"
    settings.OPENCRF_BACKUP_MAX_AGE_HOURS = 26
    settings.OPENCRF_DISK_MIN_FREE_PERCENT = 10
    settings.OPENCRF_WORKER_STALE_SECONDS = 120
    WorkerHeartbeat.objects.create(worker_id="node-1-100", last_seen_at=timezone.now())
    return settings


def ready(client):
    response = client.get(reverse("ops:ready"))
    return response.status_code, response.json()


def free_percent(path) -> str:
    usage = shutil.disk_usage(path)
    return f"{100 * usage.free / usage.total:.0f}"


def test_alive_answers_without_checking_anything(client):
    response = client.get(reverse("ops:alive"))
    assert (response.status_code, response.json()) == (200, {"status": "alive"})


def test_a_fresh_site_is_ready_on_all_six_checks(client, fresh_site, tmp_path):
    status, body = ready(client)

    assert status == 200
    assert body["status"] == "ready"
    assert body["failing"] == []
    assert list(body["checks"]) == ["database", "migrations", "storage", "worker", "disk", "backup"]
    assert body["checks"]["migrations"] == {"ok": True, "detail": "applied"}
    assert body["checks"]["worker"] == {"ok": True, "detail": "1 alive, last seen 0 s ago"}
    percent = free_percent(tmp_path)
    assert body["checks"]["disk"] == {
        "ok": True,
        "detail": f"data {percent} % free, backups {percent} % free",
    }
    assert body["checks"]["backup"] == {"ok": True, "detail": "no backup yet"}


def test_a_load_balancer_can_ask_for_the_serving_checks_only(client, fresh_site):
    WorkerHeartbeat.objects.all().delete()
    response = client.get(reverse("ops:ready"), {"checks": "storage,database,migrations"})
    assert response.status_code == 200
    assert list(response.json()["checks"]) == ["database", "migrations", "storage"]


def test_an_unknown_check_name_is_refused(client, fresh_site):
    for asked in ["database,<script>", ""]:
        response = client.get(reverse("ops:ready"), {"checks": asked})
        assert (response.status_code, response.json()) == (
            400,
            {"error": "unknown check; known: database, migrations, storage, worker, disk, backup"},
        )


def test_a_failing_check_answers_503_naming_only_the_error_class(client, fresh_site, monkeypatch):
    def broken() -> str:
        raise PermissionError("/secret/path is not writable")

    monkeypatch.setitem(health.CHECKS, "storage", broken)
    status, body = ready(client)

    assert status == 503
    assert body["failing"] == ["storage"]
    assert body["checks"]["storage"] == {"ok": False, "detail": "PermissionError"}
    assert "/secret/path" not in str(body)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the probe goes


def test_ready_fails_when_the_database_does_not_answer(client, fresh_site, monkeypatch, tmp_path):
    # A second connection to a database that is not there: a PostgreSQL port where nothing
    # listens, or an SQLite file in a folder that does not exist. The error is the driver's own.
    live = connections["default"]
    if live.vendor == "postgresql":
        dead = {**live.settings_dict, "HOST": "127.0.0.1", "PORT": str(_closed_port())}
    else:
        dead = {**live.settings_dict, "NAME": str(tmp_path / "missing" / "db.sqlite3")}
    stopped = type(live)(dead, alias="default")
    monkeypatch.setattr(health, "connections", {"default": stopped})

    status, body = ready(client)
    stopped.close()

    assert status == 503
    assert body["status"] == "not ready"
    assert body["failing"] == ["database", "migrations", "worker", "backup"]
    assert body["checks"]["database"] == {"ok": False, "detail": "OperationalError"}
    assert body["checks"]["migrations"] == {"ok": False, "detail": "OperationalError"}
    not_checked = {"ok": False, "detail": health.NOT_CHECKED}
    assert body["checks"]["worker"] == body["checks"]["backup"] == not_checked
    assert str(tmp_path) not in str(body)


def test_pending_migrations_are_named_by_class_and_skip_the_table_checks(
    client, fresh_site, monkeypatch
):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [1, 2, 3])
    status, body = ready(client)

    assert status == 503
    assert body["failing"] == ["migrations", "worker", "backup"]
    assert body["checks"]["migrations"] == {"ok": False, "detail": "PendingMigrations"}
    assert health.run_checks(verbose_errors=True, names=["migrations"])[0].detail == (
        "PendingMigrations: 3 pending"
    )


def test_ready_fails_when_free_disk_is_below_the_threshold(client, fresh_site, tmp_path):
    fresh_site.OPENCRF_DISK_MIN_FREE_PERCENT = 100
    percent = free_percent(tmp_path)

    status, body = ready(client)

    assert status == 503
    assert body["failing"] == ["disk"]
    assert body["checks"]["disk"] == {
        "ok": False,
        "detail": f"data: free disk {percent} % < 100 %; backups: free disk {percent} % < 100 %",
    }
    assert str(tmp_path) not in str(body)


def test_disk_names_the_low_volume_and_its_share(fresh_site, monkeypatch):
    usages = {"data": Usage(1000, 950, 50), "backups": Usage(1000, 100, 900)}
    monkeypatch.setattr(
        health.shutil, "disk_usage", lambda path: usages.get(path.name, usages["backups"])
    )
    with pytest.raises(health.CheckFailed, match=r"^data: free disk 5 % < 10 %$"):
        health.check_disk()


def test_backups_in_a_bucket_leave_only_the_data_volume(fresh_site):
    fresh_site.OPENCRF_BACKUP_S3_URL = "s3://bucket/opencrf"
    assert [volume.name for volume in health.volumes()] == ["data"]


def verified_backup(hours_ago: float, **fields) -> BackupRun:
    now = timezone.now()
    return BackupRun.objects.create(
        backup_id=f"b-{hours_ago}",
        trigger="schedule",
        status=RunStatus.SUCCEEDED,
        started_at=now - timedelta(hours=hours_ago, minutes=5),
        finished_at=now - timedelta(hours=hours_ago),
        verified_at=now - timedelta(hours=hours_ago),
        **fields,
    )


def test_ready_fails_when_the_newest_verified_backup_is_stale(client, fresh_site):
    verified_backup(30)

    status, body = ready(client)

    assert status == 503
    assert body["failing"] == ["backup"]
    assert body["checks"]["backup"] == {
        "ok": False,
        "detail": "last verified backup 30 h ago (limit 26 h)",
    }


def test_a_recent_verified_backup_passes_and_an_unverified_one_does_not_count(client, fresh_site):
    verified_backup(30)
    verified_backup(3)
    BackupRun.objects.create(backup_id="new", trigger="manual", status=RunStatus.SUCCEEDED)

    assert ready(client)[1]["checks"]["backup"] == {
        "ok": True,
        "detail": "last verified backup 3 h ago",
    }


def test_with_scheduled_backups_off_the_check_says_so(client, fresh_site):
    fresh_site.OPENCRF_BACKUP_TIME = ""
    assert ready(client)[1]["checks"]["backup"] == {
        "ok": True,
        "detail": "no backup yet; scheduled backups are off",
    }
    verified_backup(27)
    assert ready(client)[1]["checks"]["backup"] == {
        "ok": False,
        "detail": "last verified backup 27 h ago (limit 26 h); scheduled backups are off",
    }


def test_an_installation_older_than_the_limit_without_backup_fails(client, fresh_site):
    MigrationRecorder.Migration.objects.update(applied=timezone.now() - timedelta(hours=40))

    assert ready(client)[1]["checks"]["backup"] == {
        "ok": False,
        "detail": "no verified backup in the 40 h since installation (limit 26 h)",
    }


def test_ready_fails_until_a_worker_has_reported_and_when_all_fall_silent(client, fresh_site):
    WorkerHeartbeat.objects.all().delete()
    status, body = ready(client)
    assert (status, body["failing"]) == (503, ["worker"])
    assert body["checks"]["worker"] == {"ok": False, "detail": "no job worker has reported yet"}

    WorkerHeartbeat.objects.create(
        worker_id="node-2-7", last_seen_at=timezone.now() - timedelta(seconds=300)
    )
    assert ready(client)[1]["checks"]["worker"] == {
        "ok": False,
        "detail": "no job worker seen for 300 s (limit 120 s)",
    }

    WorkerHeartbeat.objects.create(
        worker_id="node-3-8", last_seen_at=timezone.now() - timedelta(seconds=30)
    )
    assert ready(client)[1]["checks"]["worker"] == {
        "ok": True,
        "detail": "1 alive, last seen 30 s ago",
    }


def test_check_command_warns_but_passes_before_any_worker_started(fresh_site, capsys):
    WorkerHeartbeat.objects.all().delete()

    cli.cmd_check(argparse.Namespace(deploy=False))

    out = capsys.readouterr().out
    assert (
        "WARN worker: no job worker has reported yet (start `opencrf serve` or `opencrf worker`)"
    ) in out.splitlines()
    assert "ok   backup: no backup yet" in out.splitlines()
    assert not Incident.objects.exists()


def test_check_command_fails_and_raises_the_alert_when_workers_fell_silent(
    fresh_site, capsys, admin_ada, django_capture_on_commit_callbacks
):
    fresh_site.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    WorkerHeartbeat.objects.update(last_seen_at=timezone.now() - timedelta(seconds=600))

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError) as failed:
        cli.cmd_check(argparse.Namespace(deploy=False))

    assert str(failed.value) == "1 check(s) failed"
    lines = capsys.readouterr().out.splitlines()
    assert "FAIL worker: no job worker seen for 600 s (limit 120 s)" in lines
    assert "     worker_down alert: opened" in lines
    incident = Incident.objects.get(key="worker_down")
    assert (incident.level, incident.status) == (2, "open")
    assert [m.subject for m in mail.outbox] == ["[OpenCRF] Level 2: Background worker down"]


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get(reverse("accounts:login"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert len(response["X-Request-ID"]) == 32


def test_a_clients_request_id_is_ignored_unless_a_proxy_is_trusted(client, settings):
    settings.BEHIND_PROXY = False
    response = client.get(reverse("ops:alive"), HTTP_X_REQUEST_ID="client-chosen")
    assert response["X-Request-ID"] != "client-chosen"

    settings.BEHIND_PROXY = True
    response = client.get(reverse("ops:alive"), HTTP_X_REQUEST_ID="proxy-given")
    assert response["X-Request-ID"] == "proxy-given"


def test_the_client_address_comes_from_the_proxy_only_when_trusted(rf, settings):
    from opencrf.core.middleware import client_address

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="127.0.0.1")
    settings.BEHIND_PROXY = False
    assert client_address(request) == "127.0.0.1"
    settings.BEHIND_PROXY = True
    assert client_address(request) == "203.0.113.9"
