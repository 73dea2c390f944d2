"""Data quality rules: custom rules, runs of rules and their results, excluded results.

Built-in rules (REDCap's A–J) are code, not rows: see `quality/rules_builtin.py`. A result is
keyed by rule, record, event, instance and field; an exclusion with the same key hides it from
every later run (REDCap's "exclude").
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.projects.models import Event, Project
from opencrf.records.models import Record


class CheckMode(models.TextChoices):
    """How a custom rule is checked when forms are saved (an edit check)."""

    OFF = "off", _("Off")
    SOFT = "soft", _("Soft: warn, save with a reason")
    HARD = "hard", _("Hard: refuse the save")


class DataQualityRule(models.Model):
    """A custom rule: logic that is true for the records (and events) it finds."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("rule name"), max_length=200)
    logic = models.TextField(_("rule logic"))
    check_mode = models.CharField(
        _("edit check on save"), max_length=8, choices=CheckMode.choices, default=CheckMode.OFF
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["project_id", "position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        """The rule's key in runs, results and exclusions (REDCap's `pd-<id>`)."""
        return f"pd-{self.pk}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class DataQualityRun(models.Model):
    """One execution of some rules over the records its user may see (a background job)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    rule_keys = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    records_done = models.PositiveIntegerField(default=0)
    records_total = models.PositiveIntegerField(default=0)
    # rule key → number of results found (beyond those kept as rows when there are very many)
    counts = models.JSONField(default=dict)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "-id"]

    def __str__(self) -> str:
        return f"data quality run {self.pk}"


class DataQualityResult(models.Model):
    """One discrepancy found by a run."""

    run = models.ForeignKey(DataQualityRun, on_delete=models.CASCADE, related_name="results")
    rule_key = models.CharField(max_length=20)
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    form_name = models.CharField(max_length=64, blank=True, default="")
    instance = models.PositiveIntegerField(default=1)
    field_name = models.CharField(max_length=100, blank=True, default="")
    value = models.TextField(blank=True, default="")
    detail = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["run_id", "id"]
        indexes = [models.Index(fields=["run", "rule_key"], name="dq_result_rule")]

    def __str__(self) -> str:
        return f"{self.rule_key} {self.record_id} {self.field_name}"


class DataQualityExclusion(models.Model):
    """A result a user set aside, with a reason: later runs do not show it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    rule_key = models.CharField(max_length=20)
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    instance = models.PositiveIntegerField(default=1)
    field_name = models.CharField(max_length=100, blank=True, default="")
    reason = models.TextField()
    excluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    excluded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "rule_key", "record", "event", "instance", "field_name"],
                name="dq_exclusion_unique",
            )
        ]

    def __str__(self) -> str:
        return f"excluded {self.rule_key} {self.record_id} {self.field_name}"
