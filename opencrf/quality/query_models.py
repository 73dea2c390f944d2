"""Field-level notes on form data: queries (REDCap's Data Resolution Workflow) and the simpler
field comment log.

A query is a thread on one field of one form instance. Its steps (open, respond, close, reopen,
verify) are rows of `QueryStep`, never edited; the query row keeps the current status and the
times the dashboard filters and averages on. A project uses one mode or the other
(`Project.field_notes`); comments and queries already written stay readable after a switch.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from opencrf.projects.models import Event, Project
from opencrf.records.models import Record


class QueryStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("query status", "Open")
    RESPONDED = "responded", pgettext_lazy("query status", "Responded")
    CLOSED = "closed", pgettext_lazy("query status", "Closed")
    VERIFIED = "verified", pgettext_lazy("query status", "Verified")


class QueryAction(models.TextChoices):
    OPEN = "open", pgettext_lazy("query step", "Opened")
    RESPOND = "respond", pgettext_lazy("query step", "Responded")
    CLOSE = "close", pgettext_lazy("query step", "Closed")
    REOPEN = "reopen", pgettext_lazy("query step", "Reopened")
    VERIFY = "verify", pgettext_lazy("query step", "Verified")


class Query(models.Model):
    """A query on one field of one form instance of a record."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    form_name = models.CharField(max_length=64)
    instance = models.PositiveIntegerField(default=1)
    field_name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    category = models.CharField(_("query category"), max_length=100, blank=True, default="")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # The data quality rule whose result opened it ("" when a person opened it by hand).
    rule_key = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        ordering = ["project_id", "-id"]
        indexes = [
            models.Index(fields=["project", "status"], name="query_project_status"),
            models.Index(
                fields=["record", "event", "form_name", "instance"], name="query_form_instance"
            ),
        ]

    def __str__(self) -> str:
        return f"query {self.pk} on {self.field_name}"


class QueryStep(models.Model):
    """One step of a query's thread, in order; never changed once written."""

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(max_length=10, choices=QueryAction.choices)
    # The response category of a response (REDCap's "Value updated as required", ...).
    category = models.CharField(max_length=100, blank=True, default="")
    text = models.TextField(blank=True, default="")
    # The field's value when the step was written (a response may follow a change of value).
    value = models.TextField(blank=True, default="")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["query_id", "id"]

    def __str__(self) -> str:
        return f"{self.action} on query {self.query_id}"


class FieldComment(models.Model):
    """One comment of a field's comment log (REDCap's Field Comment Log)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    form_name = models.CharField(max_length=64)
    instance = models.PositiveIntegerField(default=1)
    field_name = models.CharField(max_length=100)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["project_id", "id"]
        indexes = [
            models.Index(
                fields=["record", "event", "form_name", "instance"], name="comment_form_instance"
            ),
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.field_name}"
