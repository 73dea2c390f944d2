"""The control centre's operations overview and backups pages; administrators only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, reverse
from django.utils import timezone

from opencrf.ops import control_urls, control_views, maintenance
from opencrf.ops.incidents import alert_raise
from opencrf.ops.maintenance import maintenance_start, maintenance_window_create
from opencrf.ops.models import BackupRun, DrillRun, RunStatus, WorkerHeartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    maintenance.forget_operations_snapshot()
    yield
    maintenance.forget_operations_snapshot()


@pytest.fixture
def admin_client(client, admin_ada):
    client.force_login(admin_ada)
    return client


@pytest.fixture
def history():
    now = timezone.now()
    good = BackupRun.objects.create(
        backup_id="20261201T023000Z",
        trigger="schedule",
        status=RunStatus.SUCCEEDED,
        started_at=now - timedelta(hours=20),
        finished_at=now - timedelta(hours=20) + timedelta(seconds=42),
        size_bytes=5 * 1024 * 1024,
        verified_at=now - timedelta(hours=2),
    )
    failed = BackupRun.objects.create(
        backup_id="20261202T023000Z",
        trigger="schedule",
        status=RunStatus.FAILED,
        started_at=now - timedelta(hours=1),
        finished_at=now - timedelta(hours=1),
        error="No space left on device",
    )
    drill = DrillRun.objects.create(
        backup_id=good.backup_id,
        status=RunStatus.SUCCEEDED,
        started_at=now - timedelta(hours=2),
        finished_at=now - timedelta(hours=2) + timedelta(seconds=95),
        backup_age_seconds=18 * 3600,
        duration_seconds=95.0,
    )
    WorkerHeartbeat.objects.create(worker_id="web-1:123", last_seen_at=now)
    WorkerHeartbeat.objects.create(worker_id="old:9", last_seen_at=now - timedelta(hours=1))
    return {"good": good, "failed": failed, "drill": drill}


def ops_paths() -> list[str]:
    paths = []
    for pattern in control_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        names = re.findall(r"<int:(\w+)>", str(pattern.pattern))
        paths.append(reverse(f"ops_control:{pattern.name}", kwargs=dict.fromkeys(names, 1)))
    return paths


def test_every_operations_page_is_a_404_for_anyone_but_an_administrator(client, pi_paula):
    for path in ops_paths():
        assert client.get(path).status_code == 404, path
        assert client.post(path).status_code == 404, path
    client.force_login(pi_paula)
    for path in ops_paths():
        assert client.get(path).status_code == 404, path
        assert client.post(path, {"action": "on"}).status_code == 404, path
    assert maintenance.maintenance_status().on is False


def test_the_overview_shows_checks_workers_mode_role_backups_incidents_and_next_maintenance(
    admin_client, history, settings
):
    settings.OPENCRF_INSTANCE_ROLE = "shared"
    alert_raise(key="backup_failed", level=2, title="Backup failed")
    starts = timezone.now() + timedelta(days=3)
    maintenance_window_create(
        actor=None,
        title="Upgrade",
        kind="upgrade",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
    )

    response = admin_client.get(reverse("ops_control:index"))

    assert response.status_code == 200
    html = response.content.decode()
    assert [c.name for c in response.context["checks"]][:3] == ["database", "migrations", "storage"]
    assert [(b.worker_id, alive) for b, alive in response.context["heartbeats"]] == [
        ("old:9", False),
        ("web-1:123", True),
    ]
    assert 'data-testid="maintenance-mode-state"><span class="badge text-bg-success">Off' in html
    assert "Turn maintenance mode on" in html
    assert 'data-testid="instance-role">Instance role:\n      shared service</p>' in html
    assert [b.backup_id for b in response.context["backups"]] == [
        "20261202T023000Z",
        "20261201T023000Z",
    ]
    assert "No space left on device" in html
    assert "5.0\xa0MB" in html
    assert [d.backup_id for d in response.context["drills"]] == ["20261201T023000Z"]
    assert [i.title for i in response.context["open_incidents"]] == ["Backup failed"]
    assert response.context["next_window"].title == "Upgrade"


def test_the_overview_says_who_turned_maintenance_mode_on(admin_client):
    maintenance_start(by="ops_owen", message="Until noon")

    html = admin_client.get(reverse("ops_control:index")).content.decode()

    assert 'class="badge text-bg-warning">On</span>' in html
    assert "by ops_owen" in html
    assert 'value="Until noon"' in html
    assert "Turn maintenance mode off" in html


def test_the_backups_page_lists_backups_and_drills(admin_client, history):
    response = admin_client.get(reverse("ops_control:backups"))

    html = response.content.decode()
    assert response.status_code == 200
    assert [b.backup_id for b in response.context["backups"]] == [
        "20261202T023000Z",
        "20261201T023000Z",
    ]
    assert "42 s" in html  # the good backup's duration
    assert "95 s" in html  # the drill's recovery time
    assert "18 h" in html  # the age of the backup the drill restored
    assert "Back up now" in html


def test_back_up_now_queues_the_manual_backup_task(admin_client):
    from django_tasks_db.models import DBTaskResult

    response = admin_client.post(reverse("ops_control:backup_now"), follow=True)

    assert response.redirect_chain == [(reverse("ops_control:backups"), 302)]
    assert "A backup is queued" in response.content.decode()
    assert list(DBTaskResult.objects.values_list("task_path", flat=True)) == [
        "opencrf.ops.backups.tasks.manual_backup"
    ]


def test_back_up_now_says_plainly_when_backups_are_missing(admin_client, monkeypatch):
    monkeypatch.setattr(control_views, "MANUAL_BACKUP_TASK", "opencrf.ops.nowhere.manual_backup")

    response = admin_client.post(reverse("ops_control:backup_now"), follow=True)

    assert "Backups are not available: the backup module is missing." in (response.content.decode())


def test_the_control_centre_menu_links_the_operations_pages(admin_client):
    html = admin_client.get(reverse("control:users")).content.decode()

    for name, label in [
        ("ops_control:index", "Operations"),
        ("ops_control:backups", "Backups"),
        ("ops_control:incidents", "Incidents"),
        ("ops_control:calendar", "Maintenance"),
        ("ops_reports:index", "Reports"),
    ]:
        assert f'href="{reverse(name)}">{label}</a>' in html
