"""What exports keep between runs: each project's de-identification secret, saved reports
and the export archive."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from opencrf.projects.models import Project


class ExportSecret(models.Model):
    """A random secret per project, never exported: it keys the hashed record ids and the
    date shifts, so the same record gets the same hash and shift in every export of the
    project, and nobody holding an export can recompute either from a record id."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="export_secret", verbose_name=_("project")
    )
    secret = models.CharField(_("secret"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["project_id"]
        verbose_name = _("export secret")

    def __str__(self) -> str:
        return f"export secret of project {self.project_id}"


class Report(models.Model):
    """A saved report (REDCap's "My Reports & Exports"): which columns, rows and order.

    Names, not keys, are kept (fields, unique event names, unique group names), as REDCap's
    Project XML keeps them: a report outlives a renamed event only as far as REDCap's does,
    and `selectors.report_request` drops what no longer exists rather than failing.
    Access lists hold user ids, role ids and group ids; `view_all` opens it to every member
    who may use reports."""

    class Filtering(models.TextChoices):
        ROW = "row", _("Rows matching the filter")
        RECORD = "record", _("Every row of records with a matching row")

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="reports", verbose_name=_("project")
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    fields = models.JSONField(_("fields"), default=list)  # ordered; the record id first
    events = models.JSONField(_("events"), default=list, blank=True)  # empty: all
    groups = models.JSONField(_("data access groups"), default=list, blank=True)  # empty: all
    include_repeating = models.BooleanField(_("include repeating instances"), default=True)
    # REDCap's "Include the survey identifier field and survey timestamp fields".
    survey_fields = models.BooleanField(_("include survey fields"), default=False)
    filter_logic = models.TextField(_("filter logic"), blank=True)
    filtering = models.CharField(
        _("filter applies to"), max_length=10, choices=Filtering.choices, default=Filtering.ROW
    )
    order = models.JSONField(_("ordering"), default=list, blank=True)  # [[field, "asc"|"desc"]]
    live_filters = models.JSONField(_("live filters"), default=list, blank=True)
    view_all = models.BooleanField(_("every member may view"), default=True)
    view_access = models.JSONField(_("who may view"), default=dict, blank=True)
    edit_access = models.JSONField(_("who may edit"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["project_id", "id"]
        verbose_name = _("report")

    def __str__(self) -> str:
        return self.title


def export_expiry() -> datetime:
    return timezone.now() + timedelta(days=settings.OPENCRF_EXPORT_KEEP_DAYS)


class ExportFile(models.Model):
    """One export asked for on a report's page, written by a background job and kept in the
    project's export archive until `expires_at` (REDCap's "Data Export Files").

    `rights` and `group` are the requester's export rights (instrument → right) and data
    access group when the export was asked for: the job refuses to run if either changed,
    and the archive shows the file only to members whose own rights cover them
    (`archive.may_see`). The bytes live in Django's default storage under `key`."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="export_files", verbose_name=_("project")
    )
    report_key = models.CharField(_("report"), max_length=20)  # "A", "B" or a report id
    report_title = models.CharField(_("report title"), max_length=200)
    format = models.CharField(_("format"), max_length=20)
    options = models.JSONField(_("options"), default=dict)  # query, de-identification
    rights = models.JSONField(_("export rights"), default=dict)  # instrument → ExportRight
    group = models.ForeignKey(
        "projects.DataAccessGroup",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # then only members without a group see it
        related_name="+",
        verbose_name=_("data access group"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), default=export_expiry)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    rows_written = models.PositiveBigIntegerField(_("rows written"), default=0)
    rows_expected = models.PositiveBigIntegerField(_("rows expected"), default=0)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    key = models.CharField(_("storage key"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["project_id", "-created_at", "-id"]
        verbose_name = _("export file")
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"export {self.pk} of project {self.project_id}"
