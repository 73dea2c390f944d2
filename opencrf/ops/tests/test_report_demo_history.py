from __future__ import annotations

from datetime import date

import pytest

from opencrf.cli import main
from opencrf.ops.demo_history import DEMO_MARK, demo_history_generate
from opencrf.ops.models import (
    BackupRun,
    CapacitySnapshot,
    DrillRun,
    Incident,
    MaintenanceWindow,
    UpgradeRun,
)
from opencrf.ops.reports import monthly_report

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 2)


def _history():
    return {
        "snapshots": list(CapacitySnapshot.objects.values_list("day", "records", "database_bytes")),
        "backups": list(BackupRun.objects.values_list("backup_id", "status", "size_bytes")),
        "drills": list(DrillRun.objects.values_list("backup_id", "status", "duration_seconds")),
        "incidents": list(Incident.objects.values_list("level", "title", "started_at")),
    }


def test_a_production_instance_refuses_a_made_up_history(settings, capsys):
    settings.OPENCRF_INSTANCE_ROLE = "production"
    assert main(["report", "demo-history", "--months", "2"]) == 1
    assert "This is a production instance" in capsys.readouterr().err
    assert not CapacitySnapshot.objects.exists()
    assert not Incident.objects.exists()


def test_the_history_is_seeded_and_a_second_run_replaces_only_its_own_rows(settings):
    settings.OPENCRF_INSTANCE_ROLE = "training"
    real = Incident.objects.create(title="Real incident", level=2)
    summary = demo_history_generate(months=3, today=TODAY)
    first = _history()

    again = demo_history_generate(months=3, today=TODAY)

    assert _history() == first
    assert summary == again
    assert (summary.first_day, summary.last_day) == (date(2026, 9, 1), date(2026, 12, 1))
    assert summary.snapshots == CapacitySnapshot.objects.count() == 92
    assert summary.backups == BackupRun.objects.count() == 92
    assert summary.incidents == 8
    assert Incident.objects.filter(detail=DEMO_MARK).count() == 8
    assert sorted(set(Incident.objects.values_list("level", flat=True))) == [1, 2, 3, 4]
    assert Incident.objects.filter(pk=real.pk).exists()
    assert UpgradeRun.objects.count() == 2
    assert MaintenanceWindow.objects.count() == 2
    assert all(w.starts_at.month == 1 for w in MaintenanceWindow.objects.all())


def test_the_history_grows_and_fills_a_months_report(settings):
    settings.OPENCRF_INSTANCE_ROLE = "validation"
    demo_history_generate(months=6, today=TODAY)
    snapshots = list(CapacitySnapshot.objects.order_by("day"))
    assert snapshots[-1].records > snapshots[0].records
    assert snapshots[-1].database_bytes > snapshots[0].database_bytes
    assert snapshots[-1].users_registered > snapshots[0].users_registered

    report = monthly_report(2026, 11)
    assert len(report.capacity) == 30
    assert report.backups.succeeded + report.backups.failed == 30
    assert len(report.drills) == 5  # the Sundays of November 2026


def test_a_real_snapshot_of_a_day_is_kept(settings):
    settings.OPENCRF_INSTANCE_ROLE = "training"
    CapacitySnapshot.objects.create(day=date(2026, 11, 5), records=4)
    demo_history_generate(months=1, today=TODAY)
    assert CapacitySnapshot.objects.get(day=date(2026, 11, 5)).records == 4


def test_the_command_line_writes_reports_and_pdfs(settings, tmp_path, capsys):
    settings.OPENCRF_INSTANCE_ROLE = "training"
    assert main(["report", "demo-history", "--months", "2"]) == 0
    assert "capacity snapshots" in capsys.readouterr().out
    pdf = tmp_path / "r.pdf"
    assert main(["report", "annual", "2026", "--pdf", str(pdf), "--language", "ja"]) == 0
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert main(["report", "monthly", "2026-11"]) == 0
    assert "Operations report 2026-11" in capsys.readouterr().out
    assert main(["report", "monthly", "2026"]) == 1
    assert "expected YYYY-MM, not 2026" in capsys.readouterr().err
    assert main(["report", "monthly", "2026-14"]) == 1
    assert "The month must be between 1 and 12." in capsys.readouterr().err
