from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone, translation
from pypdf import PdfReader

from opencrf.core.errors import InvalidInput
from opencrf.ops import reports
from opencrf.ops.charts import Series, bar_chart, line_chart, nice_ticks
from opencrf.ops.models import (
    BackupRun,
    CapacitySnapshot,
    DrillRun,
    Incident,
    MaintenanceWindow,
    UpgradeRun,
)
from opencrf.ops.report_pdf import report_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.get_current_timezone())  # type: ignore[misc]


def incident(level, started, hours=None, title="Disk full", **extra):
    ended = started + timedelta(hours=hours) if hours is not None else None
    return Incident.objects.create(
        title=title,
        level=level,
        started_at=started,
        last_seen_at=started,
        ended_at=ended,
        status="resolved" if ended else "open",
        **extra,
    )


def snapshot(day, **values):
    defaults = {"database_bytes": 10 * 1024 * 1024, "records": 5, "users_registered": 3}
    return CapacitySnapshot.objects.create(day=day, **{**defaults, **values})


def test_periods_are_parsed_and_bad_ones_refused():
    assert reports.parse_period("2026-11") == reports.Period(2026, 11)
    assert reports.parse_period("2026") == reports.Period(2026)
    for text in ("2026-13", "2026-00", "1999", "26-11-01", "2026-1a", ""):
        with pytest.raises(InvalidInput):
            reports.parse_period(text)


def test_a_month_runs_from_local_midnight_to_the_next_months():
    period = reports.Period(2026, 12)
    assert (period.start, period.end) == (at(2026, 12, 1), at(2027, 1, 1))
    assert period.following() == reports.Period(2027, 1)
    assert reports.Period(2026, 1).preceding() == reports.Period(2025, 12)


def test_the_monthly_report_counts_incidents_by_level_with_a_twelve_month_trend():
    incident(1, at(2026, 11, 3, 10), hours=2)
    incident(2, at(2026, 11, 20, 9), hours=1.5, impact="Nobody could log in", actions="Restart")
    incident(3, at(2026, 10, 31, 23), hours=48)  # began before, still open in November
    incident(1, at(2025, 12, 5, 1), hours=1)  # first month of the trend
    incident(4, at(2025, 11, 30, 1), hours=1)  # before the trend

    report = reports.monthly_report(2026, 11)

    assert report.incidents_by_level == {1: 1, 2: 1, 3: 0, 4: 0}
    assert report.trend_labels[0] == "2025-12"
    assert report.trend_labels[-1] == "2026-11"
    assert report.trend[1] == [1] + [0] * 10 + [1]
    assert report.trend[3] == [0] * 10 + [1, 0]
    assert sum(report.trend[4]) == 0
    assert [row.level for row in report.incidents] == [3, 1, 2]
    outage = report.incidents[2]
    assert (outage.impact, outage.actions, outage.duration_text) == (
        "Nobody could log in",
        "Restart",
        "1 h 30 min",
    )
    assert report.outage_seconds == 5400
    assert report.availability_percent == round(100 * (1 - 5400 / (30 * 86400)), 3)


def test_an_open_incident_shows_as_ongoing():
    incident(2, at(2026, 11, 3, 10))
    assert reports.monthly_report(2026, 11).incidents[0].duration_text == "ongoing"


def test_work_done_counts_backups_drills_and_upgrades_of_the_period():
    start = at(2026, 11, 2, 2, 30)
    for number, (status, size, seconds) in enumerate(
        [("succeeded", 100, 60), ("succeeded", 300, 120), ("failed", 0, 5), ("interrupted", 0, 9)]
    ):
        BackupRun.objects.create(
            backup_id=f"b{number}",
            trigger="schedule",
            status=status,
            size_bytes=size,
            started_at=start + timedelta(days=number),
            finished_at=start + timedelta(days=number, seconds=seconds),
            error="disk full" if status == "failed" else "",
        )
    BackupRun.objects.create(
        backup_id="old", trigger="schedule", status="failed", started_at=at(2026, 10, 31, 23)
    )
    DrillRun.objects.create(
        backup_id="b0", status="succeeded", started_at=at(2026, 11, 8, 4), duration_seconds=192
    )
    UpgradeRun.objects.create(
        from_version="0.1.0",
        to_version="0.2.0",
        status="succeeded",
        started_at=at(2026, 11, 14, 18),
    )

    report = reports.monthly_report(2026, 11)

    backups = report.backups
    assert (backups.succeeded, backups.failed) == (2, 2)
    assert (backups.total_bytes, backups.largest_bytes) == (400, 300)
    assert (backups.mean_text, backups.longest_text) == ("1 min 30 s", "2 min 00 s")
    assert [run.backup_id for run in backups.failures] == ["b2", "b3"]
    assert [(d.backup_id, d.succeeded, d.recovery_text) for d in report.drills] == [
        ("b0", True, "3 min 12 s")
    ]
    assert [(u.from_version, u.to_version) for u in report.upgrades] == [("0.1.0", "0.2.0")]


def test_capacity_is_daily_for_a_month_and_month_ends_for_a_year():
    snapshot(date(2026, 10, 31), records=1)
    snapshot(date(2026, 11, 1), records=2)
    snapshot(date(2026, 11, 15), records=3)
    snapshot(date(2026, 11, 30), records=4)
    snapshot(date(2026, 12, 1), records=5)

    monthly = reports.monthly_report(2026, 11)
    annual = reports.annual_report(2026)

    assert [p.records for p in monthly.capacity] == [2, 3, 4]
    assert [(p.day, p.records) for p in annual.capacity] == [
        (date(2026, 10, 31), 1),
        (date(2026, 11, 30), 4),
        (date(2026, 12, 1), 5),
    ]
    assert annual.trend_labels == [f"2026-{month:02d}" for month in range(1, 13)]


def test_the_next_periods_planned_maintenance_is_listed():
    def window(title, start):
        MaintenanceWindow.objects.create(
            title=title, kind="upgrade", starts_at=start, ends_at=start + timedelta(hours=2)
        )

    window("in November", at(2026, 11, 20, 9))
    window("in December", at(2026, 12, 12, 9))
    window("in January", at(2027, 1, 9, 9))

    assert [w.title for w in reports.monthly_report(2026, 11).maintenance] == ["in December"]
    assert [w.title for w in reports.annual_report(2026).maintenance] == ["in January"]


def test_report_charts_scale_sizes_and_name_every_series():
    snapshot(date(2026, 11, 1), database_bytes=3 * 1024**3, storage_bytes=1024**3)
    charts = reports.report_charts(reports.monthly_report(2026, 11))
    assert [chart.key for chart in charts] == ["incidents", "sizes", "records", "projects", "users"]
    sizes = charts[1]
    assert sizes.title == "Database and file storage size (GB)"
    assert [list(s.values) for s in sizes.series] == [[3.0], [1.0]]
    assert [s.name for s in charts[3].series] == [
        "Development",
        "Production",
        "Analysis / cleanup",
        "Completed",
    ]


def test_nice_ticks_are_round_and_cover_the_top():
    assert nice_ticks(47) == [0, 10, 20, 30, 40, 50]
    assert nice_ticks(0.8) == [0, 0.2, 0.4, 0.6000000000000001, 0.8]
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(1, whole=True) == [0, 1]
    assert nice_ticks(3, whole=True) == [0, 1, 2, 3]


def test_charts_escape_every_label_and_need_no_inline_style():
    hostile = '<script>alert(1)</script>"'
    line = line_chart(hostile, [hostile, "b"], [Series(hostile, [1, None])])
    bars = bar_chart(hostile, [hostile], [Series(hostile, [3])])
    for svg in (line, bars):
        assert "<script>" not in svg
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in svg
        assert "style=" not in svg
        assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "<circle" in line  # one point alone is drawn as a dot
    assert line_chart("t", [], [], empty="No data").count("No data") == 1


def test_the_pdf_renders_in_japanese_and_english_with_escaped_text():
    incident(2, at(2026, 11, 3, 10), hours=1, title="<b>停止</b> & outage")
    snapshot(date(2026, 11, 1))
    report = reports.monthly_report(2026, 11)
    texts = {}
    for language in ("ja", "en"):
        content = report_pdf(report, language=language)
        assert content.startswith(b"%PDF-")
        pages = PdfReader(io.BytesIO(content)).pages
        texts[language] = "\n".join(page.extract_text() for page in pages)
    assert "Operations report for 2026-11" in texts["en"]
    assert "<b>停止</b> &" in texts["en"]  # shown as written, not as markup
    assert "レコード" in texts["ja"]
    assert "レコード" not in texts["en"]
