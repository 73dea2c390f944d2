"""Visit schedules and the project calendar (REDCap's scheduling module).

- `ScheduleAnchor`: per arm, the date field whose value starts every record's schedule in that
  arm; an arm without one is scheduled by hand, from a date chosen on the record page.
- `Schedule`: one record's schedule in one arm, from its start date.
- `Visit`: one event of a schedule: the protocol date (start + the event's day offset), its
  window, and the planned date, which a user may move (`moved`); a move survives a new start.
- `CalendarEntry`: an ad-hoc entry of the calendar, optionally about one record.

Dates are calendar dates, without time zone; "today" is the site's date (`TIME_ZONE`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.projects.models import Arm, DataAccessGroup, Event, Project
from opencrf.records.models import Record


class ScheduleAnchor(models.Model):
    """The start date of an arm's schedules: a date field, read at one event (instance 1)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    arm = models.OneToOneField(Arm, on_delete=models.CASCADE, related_name="schedule_anchor")
    field_name = models.CharField(_("start date field"), max_length=100)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["project_id", "arm__number"]

    def __str__(self) -> str:
        return f"{self.field_name} of arm {self.arm_id}"


class ScheduleSource(models.TextChoices):
    FIELD = "field", _("start date field")
    MANUAL = "manual", _("chosen by hand")


class Schedule(models.Model):
    """A record's visit schedule in one arm."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="schedules")
    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="+")
    start_date = models.DateField(_("start date"))
    source = models.CharField(max_length=8, choices=ScheduleSource.choices)

    class Meta:
        ordering = ["project_id", "record_id", "arm_id"]
        constraints = [
            models.UniqueConstraint(fields=["record", "arm"], name="schedule_record_arm_unique")
        ]

    def __str__(self) -> str:
        return f"schedule of {self.record_id} in arm {self.arm_id} from {self.start_date}"


class Visit(models.Model):
    """One planned visit: an event of a record's schedule, with its window."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="visits")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    protocol_date = models.DateField(_("protocol date"))
    window_start = models.DateField(_("window start"))
    window_end = models.DateField(_("window end"))
    planned_date = models.DateField(_("planned date"))
    moved = models.BooleanField(default=False)

    class Meta:
        ordering = ["planned_date", "record_id", "event_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "event"], name="visit_schedule_event_unique"
            )
        ]
        indexes = [
            models.Index(fields=["project", "planned_date"], name="visit_planned"),
            models.Index(fields=["project", "window_end"], name="visit_window_end"),
        ]

    def __str__(self) -> str:
        return f"visit {self.event_id} of {self.record_id} on {self.planned_date}"


class CalendarEntry(models.Model):
    """An ad-hoc calendar entry. Who sees it: with a record, whoever sees the record; without
    one, the members of `group` and members in no group (`group` None: every member)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(
        Record, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    group = models.ForeignKey(
        DataAccessGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    date = models.DateField(_("date"))
    time = models.TimeField(_("time"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "time", "id"]
        indexes = [models.Index(fields=["project", "date"], name="calendar_entry_date")]

    def __str__(self) -> str:
        return f"{self.date}: {self.title}"
