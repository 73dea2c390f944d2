"""Study data: one Record per participant, one FormData row per form instance (DESIGN §4)."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.projects.models import Arm, DataAccessGroup, Event, Project


def record_sort_key(record_id: str) -> str:
    """A key that sorts record ids naturally: all-digit ids by number, before any other id."""
    if record_id.isascii() and record_id.isdigit():
        return f"{int(record_id):020d}"
    return "~" + record_id[:119]


class Record(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="records")
    record_id = models.CharField(_("record ID"), max_length=100)
    sort_key = models.CharField(max_length=120, db_index=True)
    # The arms the record is in: one at first; REDCap lets the same record id hold data in
    # several arms (each arm its own events), and so does OpenCRF.
    arms = models.ManyToManyField(Arm, through="RecordArm", related_name="records")
    group = models.ForeignKey(
        DataAccessGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="records"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    # REDCap's "lock entire record": no form of the record, new or stored, can be changed.
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lock_reason = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "record_id"], name="record_unique_id")
        ]
        indexes = [models.Index(fields=["project", "sort_key"], name="record_natural_order")]

    def __str__(self) -> str:
        return self.record_id


def arms_text(numbers: Iterable[int]) -> str:
    """A record's arm numbers as the audit trail records them: `"1, 3"`."""
    return ", ".join(str(number) for number in sorted(numbers))


class RecordArm(models.Model):
    """A record's membership of one arm: its forms may be at that arm's events."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="arm_links")
    arm = models.ForeignKey(Arm, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "arm"], name="record_arm_unique")]

    def __str__(self) -> str:
        return f"{self.record_id} in arm {self.arm_id}"


class FormStatus(models.IntegerChoices):
    INCOMPLETE = 0, _("Incomplete")
    UNVERIFIED = 1, _("Unverified")
    COMPLETE = 2, _("Complete")


class FormData(models.Model):
    """One instance of one form of one record at one event; `values` maps field → string."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="forms")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    form_name = models.CharField(max_length=64)
    instance = models.PositiveIntegerField(default=1)
    values = models.JSONField(default=dict)
    status = models.PositiveSmallIntegerField(
        choices=FormStatus.choices, default=FormStatus.INCOMPLETE
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    # Lock and e-signature state (records/locking.py, records/signatures.py).
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lock_reason = models.TextField(blank=True, default="", db_default="")
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signer_name = models.CharField(max_length=300, blank=True, default="", db_default="")
    signature_meaning = models.CharField(max_length=20, blank=True, default="", db_default="")
    signature_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    signature_invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["record_id", "event_id", "form_name", "instance"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "event", "form_name", "instance"], name="form_data_unique"
            )
        ]
        # The draft review counts a form's stored data across the project.
        indexes = [models.Index(fields=["project", "form_name"], name="form_data_project_form")]

    def __str__(self) -> str:
        return f"{self.form_name} #{self.instance}"


class LockText(models.Model):
    """A form's attestation, shown above its lock and signature buttons, in both languages."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    form_name = models.CharField(max_length=64)
    text_en = models.TextField(blank=True, default="")
    text_ja = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["project_id", "form_name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "form_name"], name="lock_text_unique")
        ]

    def __str__(self) -> str:
        return f"lock text of {self.form_name}"
