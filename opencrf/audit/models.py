from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditSource(models.TextChoices):
    WEB = "web", _("web")
    API = "api", _("API")
    IMPORT = "import", _("import")
    SURVEY = "survey", _("survey")
    SYSTEM = "system", _("system")
    CLI = "cli", _("command line")


class AuditEvent(models.Model):
    """One entry of the append-only audit trail; the database refuses UPDATE and DELETE.

    Entries of a project form a SHA-256 chain (`prev_hash` → `hash`), so that a changed or
    missing entry is found by recomputing it. `project_id` is a plain number rather than a
    foreign key: the audit sits below projects, and outlives them. Entries that belong to no
    project (accounts, system) form chain 0.
    """

    project_id = models.BigIntegerField(default=0)
    sequence = models.BigIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=16, choices=AuditSource.choices)
    action = models.CharField(max_length=64)
    record = models.CharField(max_length=100, blank=True)
    event = models.CharField(max_length=100, blank=True)
    instrument = models.CharField(max_length=100, blank=True)
    instance = models.IntegerField(null=True)
    # The record's internal key (survives a rename, never reused) and its data access group
    # when the entry was written: plain numbers, as the audit sits below records and projects.
    # Both are null on entries about no record, and on record entries written before they
    # existed (see docs/subsystems/audit.md).
    record_key = models.BigIntegerField(null=True, blank=True)
    group_id = models.BigIntegerField(null=True, blank=True)
    details = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_address = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["project_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["project_id", "sequence"], name="audit_sequence_unique")
        ]
        indexes = [models.Index(fields=["project_id", "record_key"], name="audit_record_key")]

    def __str__(self) -> str:
        return f"{self.project_id}#{self.sequence} {self.action}"
