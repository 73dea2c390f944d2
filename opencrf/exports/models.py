"""What exports keep between runs: each project's de-identification secret."""

from __future__ import annotations

from django.conf import settings
from django.db import models
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
