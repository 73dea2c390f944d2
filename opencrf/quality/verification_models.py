"""Source data verification: a monitor's mark that a form instance (or one of its fields) was
checked against the source documents.

A mark keeps a SHA-256 of what was verified (the form's values, or the one field's value). A
later change makes the hash differ: the mark is then no longer valid, and the page says so
(with the change that broke it) until someone verifies again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from opencrf.projects.models import Event, Project
from opencrf.records.models import Record


class Verification(models.Model):
    """A form instance (field_name "") or one field verified against source."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    form_name = models.CharField(max_length=64)
    instance = models.PositiveIntegerField(default=1)
    field_name = models.CharField(max_length=100, blank=True, default="")
    content_hash = models.CharField(max_length=64)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField()
    # Set when a change of the verified value was seen (and audited) after verification.
    invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "event", "form_name", "instance", "field_name"],
                name="verification_unique",
            )
        ]

    def __str__(self) -> str:
        return f"verified {self.form_name} {self.field_name}".strip()
