"""What the operations side remembers: backups, drills, incidents, maintenance, capacity.

These rows are the history the monthly and annual operations reports are drawn from, and the
state the health checks, alerts and maintenance mode read. None of them is study data: they are
not audited in a project chain (changes made by people are logged in the system chain).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    # Started but never finished (the process was killed): found by a later run.
    INTERRUPTED = "interrupted", _("Interrupted")


class BackupTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    MANUAL = "manual", _("Manual")
    UPGRADE = "upgrade", _("Before an upgrade")


class BackupRun(models.Model):
    """One attempt at a backup. The backup itself lives in the backup store, named `backup_id`."""

    backup_id = models.CharField(_("backup"), max_length=64, unique=True)
    trigger = models.CharField(_("trigger"), max_length=16, choices=BackupTrigger.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    node = models.CharField(_("node"), max_length=200, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    location = models.CharField(_("location"), max_length=500, blank=True)
    database_vendor = models.CharField(max_length=32, blank=True)
    encrypted = models.BooleanField(_("encrypted"), default=False)
    size_bytes = models.BigIntegerField(_("size"), default=0)
    file_count = models.PositiveIntegerField(_("files"), default=0)
    # Row counts and audit-chain heads, as in the manifest.
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    # Set once every part written was read back from the store and matched its SHA-256;
    # the readiness check and the alerts look at the newest verified backup.
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("backup")
        verbose_name_plural = _("backups")

    def __str__(self) -> str:
        return self.backup_id

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class DrillRun(models.Model):
    """A restore drill: a backup restored into scratch space and verified."""

    backup_id = models.CharField(_("backup"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # How old the backup was when the drill began: the recovery point it demonstrates.
    backup_age_seconds = models.FloatField(_("backup age"), null=True, blank=True)
    # Restore plus verification: the recovery time achieved.
    duration_seconds = models.FloatField(_("recovery time"), null=True, blank=True)
    node = models.CharField(_("node"), max_length=200, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("restore drill")
        verbose_name_plural = _("restore drills")


class UpgradeRun(models.Model):
    """One `opencrf upgrade`: backup, migrate, verify, report."""

    from_version = models.CharField(_("from version"), max_length=64)
    to_version = models.CharField(_("to version"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    backup_id = models.CharField(_("backup"), max_length=64, blank=True)
    migrations_applied = models.JSONField(default=list, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("upgrade")
        verbose_name_plural = _("upgrades")


class IncidentLevel(models.IntegerChoices):
    """The four levels the seed site's operations contract uses."""

    NO_IMPACT = 1, _("Level 1: no impact on the service")
    OUTAGE = 2, _("Level 2: service outage")
    SECURITY = 3, _("Level 3: security incident")
    DISASTER = 4, _("Level 4: power outage or disaster")


class IncidentStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("incident status", "Open")
    RESOLVED = "resolved", _("Resolved")


class Incident(models.Model):
    """An entry of the incident register, opened by an alert or by a person.

    Automatic incidents carry the alert's `key` (e.g. `backup_stale`): while one is open, the
    same alert updates it (count, last seen) instead of opening another.
    """

    title = models.CharField(pgettext_lazy("incident", "title"), max_length=300)
    level = models.PositiveSmallIntegerField(_("level"), choices=IncidentLevel.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    key = models.CharField(_("alert"), max_length=64, blank=True, db_index=True)
    automatic = models.BooleanField(_("automatic"), default=False)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    occurrences = models.PositiveIntegerField(_("occurrences"), default=1)
    notified_at = models.DateTimeField(_("last notified"), null=True, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    impact = models.TextField(_("impact"), blank=True)
    actions = models.TextField(_("actions taken"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            # At most one open incident per alert: repeats update it.
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(status="open") & ~models.Q(key=""),
                name="ops_one_open_incident_per_alert",
            )
        ]

    def __str__(self) -> str:
        return self.title


class MaintenanceKind(models.TextChoices):
    UPGRADE = "upgrade", _("Upgrade")
    OUTAGE = "outage", _("Planned outage")
    OTHER = "other", _("Other work")


class MaintenanceWindow(models.Model):
    """Planned maintenance on the calendar; announced by a banner before and while it runs."""

    title = models.CharField(pgettext_lazy("maintenance", "title"), max_length=300)
    kind = models.CharField(_("kind"), max_length=16, choices=MaintenanceKind.choices)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    description = models.TextField(_("description"), blank=True)
    announce_days = models.PositiveSmallIntegerField(
        _("announce days before"),
        default=7,
        help_text=_("Show the banner this many days before the start."),
    )
    done = models.BooleanField(_("done"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("planned by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="ops_maintenance_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title


class OperationsState(models.Model):
    """The one row (pk 1) of switches the whole site obeys: maintenance mode."""

    maintenance_mode = models.BooleanField(_("maintenance mode"), default=False)
    maintenance_message = models.CharField(_("message"), max_length=500, blank=True)
    maintenance_started_at = models.DateTimeField(null=True, blank=True)
    maintenance_started_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("operations state")

    @classmethod
    def load(cls) -> OperationsState:
        state, _created = cls.objects.get_or_create(pk=1)
        return state


class RunnerState(models.TextChoices):
    IDLE = "idle", _("Waiting for jobs")
    BUSY = "busy", _("Running a job")
    # Recorded by a clean shutdown, so that the runner stops counting as alive at once.
    STOPPED = "stopped", _("Stopped")


class WorkerHeartbeat(models.Model):
    """Each job runner's last sign of life; `/-/ready` fails when none is working.

    The runner thread itself writes `last_seen_at` between jobs and while it waits for one.
    While it runs a job it records which and since when (`state` busy), and its supervisor
    keeps `last_seen_at` fresh only as long as that thread is alive: a job running longer than
    OPENCRF_WORKER_JOB_MAX_SECONDS counts as stuck (see opencrf/ops/health.py).
    """

    worker_id = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=RunnerState.choices, default=RunnerState.IDLE)
    job_id = models.CharField(max_length=64, blank=True)
    job_name = models.CharField(max_length=300, blank=True)
    job_started_at = models.DateTimeField(null=True, blank=True)
    # Times the supervisor found the runner thread dead and started a new one.
    restarts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["worker_id"]


class ScheduledRun(models.Model):
    """A claim on one periodic job for one period, e.g. (`backup`, `2026-12-02`).

    The unique constraint is what makes a schedule run once across all nodes: the first worker
    to insert the row runs the job; every other gets an integrity error and skips it.
    """

    job = models.CharField(max_length=64)
    period = models.CharField(max_length=32)
    claimed_by = models.CharField(max_length=200)
    claimed_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-claimed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="ops_schedule_once_per_period")
        ]


class CapacitySnapshot(models.Model):
    """The day's sizes and counts: the capacity and user trends of the operations reports."""

    day = models.DateField(_("day"), unique=True)
    taken_at = models.DateTimeField(default=timezone.now)
    database_bytes = models.BigIntegerField(_("database size"), default=0)
    storage_bytes = models.BigIntegerField(_("file storage size"), default=0)
    backup_bytes = models.BigIntegerField(_("backup size"), default=0)
    disk_free_bytes = models.BigIntegerField(_("free disk"), default=0)
    records = models.BigIntegerField(_("records"), default=0)
    form_rows = models.BigIntegerField(_("form rows"), default=0)
    # {"development": 3, "production": 5, ...}
    projects_by_status = models.JSONField(default=dict, blank=True)
    users_registered = models.PositiveIntegerField(_("registered users"), default=0)
    users_active_7 = models.PositiveIntegerField(default=0)
    users_active_30 = models.PositiveIntegerField(default=0)
    users_active_90 = models.PositiveIntegerField(default=0)
    logins = models.PositiveIntegerField(_("logins"), default=0)
    login_failures = models.PositiveIntegerField(_("failed logins"), default=0)

    class Meta:
        ordering = ["day"]
        verbose_name = _("capacity snapshot")
        verbose_name_plural = _("capacity snapshots")
