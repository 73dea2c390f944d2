"""The models of the alerts app: alerts, what each last decided per record, and the log.

- `Alert`: when (a form saved, or a date computed by logic), to whom, what (subject and body in
  Japanese and English, piped), how often. An alert made by a member of a data access group
  belongs to that group (`group`) and fires only for its records.
- `AlertState`: the alert's condition as last evaluated for one record's form instance, so that
  "became true" can be told from "still true", and a date alert knows the date it scheduled.
- `Notification`: one occurrence of an alert for one record, scheduled, then sent (or failed,
  cancelled, skipped, suppressed), with the texts and recipients it was sent with.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.projects.models import DataAccessGroup, Event, Project
from opencrf.records.models import Record


class Trigger(models.TextChoices):
    SAVE = "save", _("A form is saved")
    DATE = "date", _("A date computed by logic")
    OVERDUE = "overdue", _("A visit is overdue")


class FireMode(models.TextChoices):
    BECAME_TRUE = "became_true", _("When the condition becomes true (was not true before)")
    EVERY_SAVE = "every_save", _("On every save while the condition is true")


class RepeatUnit(models.TextChoices):
    MINUTES = "minutes", _("minutes")
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")


class Language(models.TextChoices):
    JA = "ja", _("Japanese")
    EN = "en", _("English")


class Alert(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # Set when made by a member of a data access group: the alert fires only for its records.
    group = models.ForeignKey(
        DataAccessGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    active = models.BooleanField(_("enabled"), default=True)
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.SAVE)
    form_name = models.CharField(_("form"), max_length=64, blank=True)  # blank: any form
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )  # null: any event
    condition_logic = models.TextField(_("condition"), blank=True)
    fire_mode = models.CharField(
        max_length=16, choices=FireMode.choices, default=FireMode.BECAME_TRUE
    )
    date_logic = models.TextField(_("date"), blank=True)
    # Overdue trigger: fire this many days after the visit's window ended (1: the day after).
    overdue_days = models.PositiveIntegerField(default=1)
    user_ids = models.JSONField(default=list, blank=True)
    role_ids = models.JSONField(default=list, blank=True)
    email_fields = models.JSONField(default=list, blank=True)
    addresses = models.TextField(_("fixed addresses"), blank=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.JA)
    subject_ja = models.CharField(max_length=300, blank=True)
    body_ja = models.TextField(blank=True)
    subject_en = models.CharField(max_length=300, blank=True)
    body_en = models.TextField(blank=True)
    attach_fields = models.JSONField(default=list, blank=True)
    delay_minutes = models.PositiveIntegerField(default=0)
    repeat_every = models.PositiveIntegerField(default=0)  # 0: no repeats
    repeat_unit = models.CharField(
        max_length=8, choices=RepeatUnit.choices, default=RepeatUnit.DAYS
    )
    repeat_max = models.PositiveIntegerField(default=0)
    cancel_when_false = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "id"]

    def __str__(self) -> str:
        return self.title


class AlertState(models.Model):
    """The last evaluation of an alert for one form instance of one record."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="states")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    instance = models.PositiveIntegerField(default=1)
    true = models.BooleanField(default=False)
    date = models.CharField(max_length=32, blank=True)  # a date alert's last computed date

    class Meta:
        ordering = ["alert_id", "record_id", "event_id", "instance"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "record", "event", "instance"], name="alert_state_unique"
            )
        ]


class Notification(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        SKIPPED = "skipped", _("Not sent: no recipient")
        SUPPRESSED = "suppressed", _("Not sent: training instance")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    alert_title = models.CharField(max_length=200)
    record = models.ForeignKey(
        Record, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    record_name = models.CharField(max_length=100)
    group = models.ForeignKey(
        DataAccessGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # the record's group when scheduled: who may see this row
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    instance = models.PositiveIntegerField(default=1)
    number = models.PositiveIntegerField(default=0)  # 0: the first; n: the n-th repeat
    send_at = models.DateTimeField(db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    # [{"to", "who", "language", "status", "error"}] — who got it, and who was left out and why.
    recipients = models.JSONField(default=list, blank=True)
    # {"ja"|"en": {"subject", "body"}}: the texts as sent to each language's recipients.
    texts = models.JSONField(default=dict, blank=True)
    attachments = models.JSONField(default=list, blank=True)  # names attached, or left out
    error = models.TextField(blank=True)
    resend_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-send_at", "-id"]
        indexes = [models.Index(fields=["status", "send_at"], name="alert_notification_due")]
