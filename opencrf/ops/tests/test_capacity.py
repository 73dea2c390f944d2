from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from opencrf.accounts.models import SecurityEvent
from opencrf.files.models import StoredFile
from opencrf.ops import capacity
from opencrf.ops.models import BackupRun, CapacitySnapshot, RunStatus
from opencrf.records.models import FormData, Record

pytestmark = pytest.mark.django_db


def _record(project, record_id, forms=1):
    arm = project.arms.get()
    event = arm.events.get()
    record = Record.objects.create(project=project, record_id=record_id, sort_key=record_id)
    record.arms.add(arm)
    for number in range(1, forms + 1):
        FormData.objects.create(
            project=project, record=record, event=event, form_name="f", instance=number
        )
    return record


def test_a_snapshot_counts_records_forms_files_projects_and_users(
    classic_project, pi_paula, site_b_bea, admin_ada, django_user_model
):
    _record(classic_project, "1", forms=2)
    _record(classic_project, "2", forms=1)
    for size in (100, 250):
        StoredFile.objects.create(
            project=classic_project,
            key=f"k{size}",
            original_name="a.pdf",
            size=size,
            media_type="application/pdf",
            sha256="0" * 64,
        )
    now = timezone.now()
    pi_paula.last_activity_at = now - timedelta(days=2)
    pi_paula.save()
    site_b_bea.last_login = now - timedelta(days=20)
    site_b_bea.save()
    admin_ada.last_activity_at = now - timedelta(days=60)
    admin_ada.save()
    django_user_model.objects.create_user(username="gone", suspended_at=now)
    django_user_model.objects.create_user(username="off", is_active=False)
    SecurityEvent.objects.create(kind="login", username="pi_paula", at=now - timedelta(hours=1))
    SecurityEvent.objects.create(kind="login.failed", username="x", at=now - timedelta(hours=2))
    SecurityEvent.objects.create(kind="2fa.failed", username="x", at=now - timedelta(hours=3))
    SecurityEvent.objects.create(kind="login", username="old", at=now - timedelta(days=2))

    snapshot = capacity.capacity_snapshot_take()

    assert snapshot.day == timezone.localdate()
    assert (snapshot.records, snapshot.form_rows, snapshot.storage_bytes) == (2, 3, 350)
    assert snapshot.projects_by_status == {
        "development": 1,
        "production": 0,
        "analysis": 0,
        "completed": 0,
    }
    assert snapshot.users_registered == 3
    assert (snapshot.users_active_7, snapshot.users_active_30, snapshot.users_active_90) == (
        1,
        2,
        3,
    )
    assert (snapshot.logins, snapshot.login_failures) == (1, 2)
    assert snapshot.database_bytes > 0
    assert snapshot.disk_free_bytes > 0


def test_taking_the_snapshot_again_replaces_the_days_row(classic_project):
    capacity.capacity_snapshot_take(date(2026, 11, 3))
    _record(classic_project, "1")
    again = capacity.capacity_snapshot_take(date(2026, 11, 3))
    assert CapacitySnapshot.objects.count() == 1
    assert again.records == 1


def test_an_earlier_day_counts_that_days_logins():
    day = date(2026, 11, 3)
    noon = datetime(2026, 11, 3, 12, 0, tzinfo=timezone.get_current_timezone())
    SecurityEvent.objects.create(kind="login", username="a", at=noon)
    SecurityEvent.objects.create(kind="login", username="a", at=noon + timedelta(days=1))
    assert capacity.capacity_snapshot_take(day).logins == 1


def test_backup_size_falls_back_on_recent_successful_runs(monkeypatch):
    import opencrf.ops.capacity as module

    def no_store():
        raise ImportError("no store")

    monkeypatch.setattr(module, "_backup_store_bytes", no_store)
    now = timezone.now()
    BackupRun.objects.create(
        backup_id="a", trigger="manual", status=RunStatus.SUCCEEDED, size_bytes=10
    )
    BackupRun.objects.create(
        backup_id="b", trigger="manual", status=RunStatus.FAILED, size_bytes=99
    )
    BackupRun.objects.create(
        backup_id="c",
        trigger="manual",
        status=RunStatus.SUCCEEDED,
        size_bytes=1000,
        started_at=now - timedelta(days=400),
    )
    assert capacity.backup_bytes(now) == 10


def test_the_scheduled_task_takes_todays_snapshot():
    result = capacity.snapshot_task.call()
    assert result == timezone.localdate().isoformat()
    assert CapacitySnapshot.objects.get().day == timezone.localdate()
