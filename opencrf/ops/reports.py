"""Monthly and annual operations reports: what the review meeting pack used to hold.

A report gathers, for one period (a calendar month or year, in the site's time zone):
incidents by level and their trend, the incident list, the work done (backups, restore drills,
upgrades), capacity trends and registered versus active users from the daily capacity
snapshots, and the next period's planned maintenance. The page (report_views) and the PDF
(report_pdf) draw the same `OperationsReport`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.anchors import checkpoints_read
from opencrf.core.errors import InvalidInput
from opencrf.ops.charts import ChartSpec, Series, byte_scale
from opencrf.ops.health import installed_at
from opencrf.ops.models import (
    BackupRun,
    CapacitySnapshot,
    DrillRun,
    Incident,
    IncidentLevel,
    MaintenanceWindow,
    RunStatus,
    UpgradeRun,
)
from opencrf.projects.models import ProjectStatus

FIRST_YEAR = 2000
LAST_YEAR = 2999
# Levels whose incidents take the service away from its users.
OUTAGE_LEVELS = (IncidentLevel.OUTAGE, IncidentLevel.DISASTER)


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month (`month` set) or year, from `start` up to `end` in local time."""

    year: int
    month: int | None = None

    def __post_init__(self) -> None:
        if not FIRST_YEAR <= self.year <= LAST_YEAR:
            raise InvalidInput(
                _("The year must be between %(first)s and %(last)s.")
                % {"first": FIRST_YEAR, "last": LAST_YEAR}
            )
        if self.month is not None and not 1 <= self.month <= 12:
            raise InvalidInput(_("The month must be between 1 and 12."))

    @property
    def monthly(self) -> bool:
        return self.month is not None

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}" if self.month else str(self.year)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month or 1, 1)

    @property
    def end_day(self) -> date:
        """The first day after the period."""
        if self.month is None:
            return date(self.year + 1, 1, 1)
        return _add_months(self.first_day, 1)

    @property
    def start(self) -> datetime:
        return _local_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        return _local_midnight(self.end_day)

    def following(self) -> Period:
        if self.month is None:
            return Period(self.year + 1)
        day = self.end_day
        return Period(day.year, day.month)

    def preceding(self) -> Period:
        if self.month is None:
            return Period(self.year - 1)
        day = _add_months(self.first_day, -1)
        return Period(day.year, day.month)


def parse_period(text: str) -> Period:
    """`YYYY-MM` as a month, `YYYY` as a year; anything else is refused with a clear message."""
    parts = text.strip().split("-")
    if len(parts) > 2 or not all(part.isdigit() for part in parts):
        raise InvalidInput(
            _("Give a month as YYYY-MM or a year as YYYY, not %(text)s.") % {"text": text}
        )
    year = int(parts[0])
    return Period(year, int(parts[1])) if len(parts) == 2 else Period(year)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def format_seconds(seconds: float | None) -> str:
    """A duration as people read it: `45 s`, `3 min 12 s`, `2 h 05 min`, `3 d 4 h`."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return _("%(s)d s") % {"s": whole}
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return _("%(m)d min %(s)02d s") % {"m": minutes, "s": secs}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}


@dataclass(frozen=True, slots=True)
class IncidentRow:
    level: int
    level_label: str
    title: str
    started_at: datetime
    ended_at: datetime | None
    duration: timedelta | None  # None while open
    impact: str
    actions: str
    automatic: bool

    @property
    def duration_text(self) -> str:
        if self.duration is None:
            return _("ongoing")
        return format_seconds(self.duration.total_seconds())


@dataclass(frozen=True, slots=True)
class BackupSummary:
    succeeded: int
    failed: int
    total_bytes: int
    largest_bytes: int
    mean_seconds: float | None
    longest_seconds: float | None
    failures: list[BackupRun]

    @property
    def mean_text(self) -> str:
        return format_seconds(self.mean_seconds)

    @property
    def longest_text(self) -> str:
        return format_seconds(self.longest_seconds)


@dataclass(frozen=True, slots=True)
class DrillRow:
    started_at: datetime
    backup_id: str
    succeeded: bool
    status_label: str
    recovery_seconds: float | None  # the recovery time achieved
    backup_age_seconds: float | None  # the recovery point it demonstrates
    error: str

    @property
    def recovery_text(self) -> str:
        return format_seconds(self.recovery_seconds)

    @property
    def backup_age_text(self) -> str:
        return format_seconds(self.backup_age_seconds)


@dataclass(frozen=True, slots=True)
class AuditAnchors:
    """The audit trail's signed checkpoints kept from the period, and what they showed.

    Printed or mailed, the report is itself a copy of the chains' lengths and heads held away
    from the database (docs/subsystems/audit.md, threat model).
    """

    kept: int
    newest_at: datetime | None
    chains: int
    entries: int
    verifications: int
    verifications_failed: int
    last_verified_at: datetime | None
    last_verification_ok: bool | None
    refused: int
    heads: list[tuple[int, int, str]] = field(default_factory=list)  # chain, entries, head


@dataclass(frozen=True, slots=True)
class CapacityPoint:
    day: date
    database_bytes: int
    storage_bytes: int
    backup_bytes: int
    records: int
    form_rows: int
    projects_by_status: dict[str, int]
    users_registered: int
    users_active_7: int
    users_active_30: int
    users_active_90: int


@dataclass(frozen=True, slots=True)
class OperationsReport:
    period: Period
    generated_at: datetime
    incidents_by_level: dict[int, int]
    # Month labels (YYYY-MM) and, per level, the incidents that began in each month.
    trend_labels: list[str]
    trend: dict[int, list[int]]
    incidents: list[IncidentRow]
    outage_seconds: float
    backups: BackupSummary
    drills: list[DrillRow]
    upgrades: list[UpgradeRun]
    capacity: list[CapacityPoint]
    maintenance: list[MaintenanceWindow]
    statuses: list[tuple[str, str]] = field(default_factory=list)
    audit: AuditAnchors | None = None

    @property
    def availability_percent(self) -> float:
        seconds = (self.period.end - self.period.start).total_seconds()
        return round(100 * (1 - self.outage_seconds / seconds), 3)

    @property
    def capacity_first(self) -> CapacityPoint | None:
        return self.capacity[0] if self.capacity else None

    @property
    def capacity_last(self) -> CapacityPoint | None:
        return self.capacity[-1] if self.capacity else None


def monthly_report(year: int, month: int) -> OperationsReport:
    """The report of one calendar month; the trend covers it and the 11 months before."""
    period = Period(year, month)
    months = [_add_months(period.first_day, offset) for offset in range(-11, 1)]
    return _report(period, months)


def annual_report(year: int) -> OperationsReport:
    """The report of one calendar year; the trend shows each of its months."""
    period = Period(year)
    months = [date(year, month, 1) for month in range(1, 13)]
    return _report(period, months)


def _report(period: Period, trend_months: list[date]) -> OperationsReport:
    incidents = list(_incidents_during(period.start, period.end))
    began = [incident for incident in incidents if incident.started_at >= period.start]
    trend_labels, trend = _incident_trend(trend_months)
    return OperationsReport(
        period=period,
        generated_at=timezone.now(),
        incidents_by_level={
            level: sum(incident.level == level for incident in began)
            for level in IncidentLevel.values
        },
        trend_labels=trend_labels,
        trend=trend,
        incidents=[_incident_row(incident) for incident in incidents],
        outage_seconds=_outage_seconds(incidents, period.start, period.end),
        backups=_backup_summary(period),
        drills=[
            _drill_row(drill)
            for drill in DrillRun.objects.filter(
                started_at__gte=period.start, started_at__lt=period.end
            )
        ],
        upgrades=list(
            UpgradeRun.objects.filter(started_at__gte=period.start, started_at__lt=period.end)
        ),
        capacity=_capacity(period),
        maintenance=list(
            MaintenanceWindow.objects.filter(
                starts_at__gte=period.end, starts_at__lt=period.following().end
            )
        ),
        statuses=[(value, str(label)) for value, label in ProjectStatus.choices],
        audit=_audit_anchors(period),
    )


def _audit_anchors(period: Period) -> AuditAnchors:
    stored = checkpoints_read()
    during = [c for c in stored.valid if period.start <= c.made_at < period.end]
    checks = [c for c in during if c.verification is not None]
    newest = during[-1] if during else None
    last = checks[-1] if checks else None
    chains = newest.chains if newest else ()
    return AuditAnchors(
        kept=len(during),
        newest_at=newest.made_at if newest else None,
        chains=len(chains),
        entries=sum(head.count for head in chains),
        verifications=len(checks),
        verifications_failed=sum(not (c.verification or {}).get("ok") for c in checks),
        last_verified_at=last.made_at if last else None,
        last_verification_ok=bool((last.verification or {}).get("ok")) if last else None,
        refused=len(stored.refused),
        heads=[(head.project_id, head.count, head.hash[:16]) for head in chains],
    )


def _incidents_during(start: datetime, end: datetime) -> Iterable[Incident]:
    """Incidents that were open at some moment of [start, end), oldest first."""
    return Incident.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=start), started_at__lt=end
    ).order_by("started_at", "id")


def _drill_row(drill: DrillRun) -> DrillRow:
    return DrillRow(
        started_at=drill.started_at,
        backup_id=drill.backup_id,
        succeeded=drill.status == RunStatus.SUCCEEDED,
        status_label=str(RunStatus(drill.status).label),
        recovery_seconds=drill.duration_seconds,
        backup_age_seconds=drill.backup_age_seconds,
        error=drill.error,
    )


def _incident_row(incident: Incident) -> IncidentRow:
    ended = incident.ended_at
    return IncidentRow(
        level=incident.level,
        level_label=str(IncidentLevel(incident.level).label),
        title=incident.title,
        started_at=incident.started_at,
        ended_at=ended,
        duration=ended - incident.started_at if ended else None,
        impact=incident.impact,
        actions=incident.actions,
        automatic=incident.automatic,
    )


def _incident_trend(months: list[date]) -> tuple[list[str], dict[int, list[int]]]:
    start = _local_midnight(months[0])
    end = _local_midnight(_add_months(months[-1], 1))
    labels = [f"{month.year}-{month.month:02d}" for month in months]
    trend = {level: [0] * len(months) for level in IncidentLevel.values}
    rows = Incident.objects.filter(started_at__gte=start, started_at__lt=end)
    for level, started in rows.values_list("level", "started_at"):
        local = timezone.localtime(started)
        trend[level][labels.index(f"{local.year}-{local.month:02d}")] += 1
    return labels, trend


def _outage_seconds(incidents: list[Incident], start: datetime, end: datetime) -> float:
    """Time within [start, end) covered by outage incidents (overlaps counted once)."""
    now = timezone.now()
    spans = sorted(
        (max(incident.started_at, start), min(incident.ended_at or now, end))
        for incident in incidents
        if incident.level in OUTAGE_LEVELS
    )
    total = 0.0
    covered_until = start
    for span_start, span_end in spans:
        span_start = max(span_start, covered_until)
        if span_end > span_start:
            total += (span_end - span_start).total_seconds()
            covered_until = span_end
    return total


def _backup_summary(period: Period) -> BackupSummary:
    runs = list(BackupRun.objects.filter(started_at__gte=period.start, started_at__lt=period.end))
    good = [run for run in runs if run.status == RunStatus.SUCCEEDED]
    bad = [run for run in runs if run.status in (RunStatus.FAILED, RunStatus.INTERRUPTED)]
    durations = [run.duration_seconds for run in good if run.duration_seconds is not None]
    return BackupSummary(
        succeeded=len(good),
        failed=len(bad),
        total_bytes=sum(run.size_bytes for run in good),
        largest_bytes=max((run.size_bytes for run in good), default=0),
        mean_seconds=sum(durations) / len(durations) if durations else None,
        longest_seconds=max(durations, default=None),
        failures=bad,
    )


def _capacity(period: Period) -> list[CapacityPoint]:
    """Daily points for a month; the last snapshot of each month for a year."""
    snapshots = CapacitySnapshot.objects.filter(
        day__gte=period.first_day, day__lt=period.end_day
    ).order_by("day")
    if not period.monthly:
        last_of_month: dict[int, CapacitySnapshot] = {}
        for snapshot in snapshots:
            last_of_month[snapshot.day.month] = snapshot
        snapshots = [last_of_month[month] for month in sorted(last_of_month)]  # type: ignore[assignment]
    return [_point(snapshot) for snapshot in snapshots]


def _point(snapshot: CapacitySnapshot) -> CapacityPoint:
    return CapacityPoint(
        day=snapshot.day,
        database_bytes=snapshot.database_bytes,
        storage_bytes=snapshot.storage_bytes,
        backup_bytes=snapshot.backup_bytes,
        records=snapshot.records,
        form_rows=snapshot.form_rows,
        projects_by_status=dict(snapshot.projects_by_status),
        users_registered=snapshot.users_registered,
        users_active_7=snapshot.users_active_7,
        users_active_30=snapshot.users_active_30,
        users_active_90=snapshot.users_active_90,
    )


def instance_began() -> date | None:
    """The local day this instance's history begins; None before its first migration.

    That is the day its first migration was applied (kept by a restore, which brings the
    migration table along), or an earlier day that its own operations records already cover:
    a history carried over from an older server, or a training instance's demo history.
    """
    moments = [installed_at()]
    for model in (BackupRun, DrillRun, Incident, UpgradeRun):
        moments.append(
            model.objects.order_by("started_at").values_list("started_at", flat=True).first()
        )
    days = [timezone.localdate(moment) for moment in moments if moment is not None]
    first_snapshot = CapacitySnapshot.objects.order_by("day").values_list("day", flat=True).first()
    days += [first_snapshot] if first_snapshot is not None else []
    return min(days, default=None)


def period_before_instance(period: Period, began: date | None = None) -> bool:
    """True when the whole period ended before the instance began: it has no report."""
    began = began or instance_began()
    return began is not None and period.end_day <= began


def recent_periods(
    today: date | None = None, *, months: int = 12, years: int = 3, since: date | None = None
) -> tuple[list[Period], list[Period]]:
    """The last `months` complete and current months, and `years` years, newest first;
    with `since` (the day the instance began), none that ended before it."""
    today = today or timezone.localdate()
    this_month = Period(today.year, today.month)
    month_list = [this_month]
    while len(month_list) < months:
        month_list.append(month_list[-1].preceding())
    year_list = [Period(today.year - offset) for offset in range(years)]
    if since is not None:
        month_list = [period for period in month_list if period.end_day > since]
        year_list = [period for period in year_list if period.end_day > since]
    return month_list, year_list


def report_charts(report: OperationsReport) -> list[ChartSpec]:
    """The report's five charts: incident trend, sizes, records, projects, users."""
    no_data = _("No capacity snapshots in this period.")
    points = report.capacity
    labels = [point.day.strftime("%m-%d" if report.period.monthly else "%Y-%m") for point in points]
    largest = max((max(p.database_bytes, p.storage_bytes) for p in points), default=0)
    divisor, unit = byte_scale(largest)
    return [
        ChartSpec(
            "incidents",
            _("Incidents by level, per month"),
            "bar",
            report.trend_labels,
            [
                Series(_("Level %(level)s") % {"level": level}, report.trend[level])
                for level in IncidentLevel.values
            ],
        ),
        ChartSpec(
            "sizes",
            _("Database and file storage size (%(unit)s)") % {"unit": unit},
            "line",
            labels,
            [
                Series(_("Database"), [round(p.database_bytes / divisor, 1) for p in points]),
                Series(_("File storage"), [round(p.storage_bytes / divisor, 1) for p in points]),
            ],
            no_data,
            whole=False,
        ),
        ChartSpec(
            "records",
            _("Records and form rows"),
            "line",
            labels,
            [
                Series(_("Records"), [p.records for p in points]),
                Series(_("Form rows"), [p.form_rows for p in points]),
            ],
            no_data,
        ),
        ChartSpec(
            "projects",
            _("Projects by status"),
            "line",
            labels,
            [
                Series(name, [p.projects_by_status.get(value, 0) for p in points])
                for value, name in report.statuses
            ],
            no_data,
        ),
        ChartSpec(
            "users",
            _("Registered and active users"),
            "line",
            labels,
            [
                Series(_("Registered"), [p.users_registered for p in points]),
                Series(_("Active in 90 days"), [p.users_active_90 for p in points]),
                Series(_("Active in 30 days"), [p.users_active_30 for p in points]),
                Series(_("Active in 7 days"), [p.users_active_7 for p in points]),
            ],
            no_data,
        ),
    ]
