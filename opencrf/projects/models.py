from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.IntegerChoices):
    """REDCap's purpose codes, so the API can speak them unchanged."""

    PRACTICE = 0, _("Practice / just for fun")
    OTHER = 1, _("Other")
    RESEARCH = 2, _("Research")
    QUALITY = 3, _("Quality improvement")
    OPERATIONAL = 4, _("Operational support")


class ProjectStatus(models.TextChoices):
    DEVELOPMENT = "development", _("Development")
    PRODUCTION = "production", _("Production")
    ANALYSIS = "analysis", _("Analysis / cleanup")
    COMPLETED = "completed", _("Completed")


class Project(models.Model):
    title = models.CharField(_("title"), max_length=200)
    purpose = models.IntegerField(_("purpose"), choices=Purpose.choices, default=Purpose.RESEARCH)
    purpose_other = models.CharField(_("purpose (other)"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ProjectStatus.choices, default=ProjectStatus.DEVELOPMENT
    )
    is_longitudinal = models.BooleanField(_("longitudinal"), default=False)
    surveys_enabled = models.BooleanField(_("surveys enabled"), default=False)
    record_autonumbering = models.BooleanField(_("record auto-numbering"), default=True)
    custom_record_label = models.CharField(_("custom record label"), max_length=200, blank=True)
    # REDCap asks for a reason only in production; drafts in development change freely.
    require_change_reason = models.BooleanField(
        _("require a reason for changes to existing records"), default=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    production_at = models.DateTimeField(null=True, blank=True)
    # Raised by every change to arms, events, designations, repeats, groups or the dictionary,
    # in the same transaction: processes key their cached copy of the design on it.
    design_version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class ProjectMember(models.Model):
    """A user's membership of a project. Rights beyond design arrive with user rights."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    can_design = models.BooleanField(_("project design and setup"), default=False)
    # A member in a group sees only that group's records; without one, every record.
    group = models.ForeignKey(
        "DataAccessGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="member_unique_per_project")
        ]


class Arm(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="arms")
    number = models.PositiveIntegerField(_("arm number"))
    name = models.CharField(_("arm name"), max_length=200)

    class Meta:
        ordering = ["project_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="arm_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.number}: {self.name}"


class Event(models.Model):
    """A time point of an arm. Classic projects have exactly one, hidden in the UI."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="events")
    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(_("event name"), max_length=200)
    unique_name = models.CharField(_("unique event name"), max_length=100)
    position = models.PositiveIntegerField(default=0)
    day_offset = models.IntegerField(_("days offset"), default=0)
    offset_min = models.PositiveIntegerField(_("window before (days)"), default=0)
    offset_max = models.PositiveIntegerField(_("window after (days)"), default=0)
    custom_label = models.CharField(_("custom event label"), max_length=200, blank=True)

    class Meta:
        ordering = ["project_id", "arm__number", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "unique_name"], name="event_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class EventInstrument(models.Model):
    """An instrument designated for an event (REDCap's form–event mapping)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="instruments")
    form_name = models.CharField(max_length=64)

    class Meta:
        ordering = ["event_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "form_name"], name="event_instrument_unique")
        ]


class RepeatSetting(models.Model):
    """A repeating instrument within an event, or (form_name "") the whole event repeating."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="repeats")
    form_name = models.CharField(max_length=64, blank=True)
    custom_label = models.CharField(_("custom label"), max_length=500, blank=True)

    class Meta:
        ordering = ["event_id", "form_name"]
        constraints = [
            models.UniqueConstraint(fields=["event", "form_name"], name="repeat_setting_unique")
        ]


class DataAccessGroup(models.Model):
    """A site: members assigned to it see only its records."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(_("group name"), max_length=200)
    unique_name = models.CharField(_("unique group name"), max_length=100)

    class Meta:
        ordering = ["project_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "unique_name"], name="dag_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


from opencrf.projects.request_models import ProjectRequest, RequestStatus  # noqa: E402, F401
