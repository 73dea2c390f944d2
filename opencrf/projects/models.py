from __future__ import annotations

from typing import Any

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


class FieldNotes(models.TextChoices):
    """What the balloon beside each field opens (REDCap's "Field Comment Log" or "Data
    Resolution Workflow", chosen per project)."""

    NONE = "none", _("Neither")
    COMMENT_LOG = "comment_log", _("Field comment log")
    RESOLUTION = "resolution", _("Data resolution workflow (queries)")


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
    survey_ip_recorded = models.BooleanField(
        _("record the IP address of survey respondents"), default=False
    )
    record_autonumbering = models.BooleanField(_("record auto-numbering"), default=True)
    custom_record_label = models.CharField(_("custom record label"), max_length=200, blank=True)
    # REDCap asks for a reason only in production; drafts in development change freely.
    require_change_reason = models.BooleanField(
        _("require a reason for changes to existing records"), default=True
    )
    field_notes = models.CharField(
        _("field comments or queries"),
        max_length=16,
        choices=FieldNotes.choices,
        default=FieldNotes.COMMENT_LOG,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    production_at = models.DateTimeField(null=True, blank=True)
    # Raised by every change to arms, events, designations, repeats, groups or the dictionary,
    # in the same transaction: processes key their cached copy of the design on it.
    design_version = models.PositiveBigIntegerField(default=0, editable=False)
    # Set when an administrator deletes the project: it is hidden everywhere, its rows and
    # its audit chain kept (projects/deletion.py).
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class FormRight(models.TextChoices):
    """Data-entry rights on one instrument (REDCap's "Data Entry Rights")."""

    NONE = "none", _("No access")
    READ = "read", _("Read only")
    EDIT = "edit", _("View & edit")
    SURVEY_EDIT = "survey_edit", _("View & edit, and edit survey responses")


class ExportRight(models.TextChoices):
    """Data-export rights on one instrument (REDCap's "Data Export Rights")."""

    NONE = "none", _("No access")
    DEIDENTIFIED = "deidentified", _("De-identified")
    REMOVE_IDENTIFIERS = "remove_identifiers", _("Remove all identifier fields")
    FULL = "full", _("Full data set")


class ResolutionRight(models.TextChoices):
    """What a member may do with queries (REDCap's "Data Resolution Workflow" right; the API
    speaks REDCap's codes, `api.people`)."""

    NONE = "none", _("No access")
    VIEW = "view", _("View only")
    RESPOND = "respond", _("Respond only to opened queries")
    OPEN = "open", _("Open queries only")
    OPEN_RESPOND = "open_respond", _("Open and respond to queries")
    OPEN_CLOSE_RESPOND = "open_close_respond", _("Open, close, and respond to queries")


# The on/off rights, in the order the rights page shows them.
RIGHT_FLAGS = (
    "design",
    "user_rights",
    "data_access_groups",
    "reports",
    "survey_participants",
    "data_import",
    "api_export",
    "api_import",
    "record_create",
    "record_rename",
    "record_delete",
    "lock_unlock",
    "e_signature",
    "logging",
    "data_quality",
    "data_quality_execute",
    "data_quality_override",
    "source_verify",
    "alerts",
    "randomization_setup",
    "randomization_dashboard",
    "randomization_perform",
)


class RightsFields(models.Model):
    """REDCap's project rights, held by a role or by a member without one.

    `form_rights` maps instrument → FormRight and `export_rights` instrument → ExportRight; an
    instrument not listed (one added after the rights were set) gets the default that
    `projects.rights` decides.
    """

    design = models.BooleanField(_("project design and setup"), default=False)
    user_rights = models.BooleanField(_("user rights"), default=False)
    data_access_groups = models.BooleanField(_("data access groups"), default=False)
    reports = models.BooleanField(_("reports and report builder"), default=False)
    survey_participants = models.BooleanField(_("manage survey participants"), default=False)
    data_import = models.BooleanField(_("data import tool"), default=False)
    api_export = models.BooleanField(_("API export"), default=False)
    api_import = models.BooleanField(_("API import/update"), default=False)
    record_create = models.BooleanField(_("create records"), default=False)
    record_rename = models.BooleanField(_("rename records"), default=False)
    record_delete = models.BooleanField(_("delete records"), default=False)
    lock_unlock = models.BooleanField(_("lock/unlock records"), default=False)
    # REDCap's lock_record right 2: lock/unlock with e-signature authority.
    e_signature = models.BooleanField(_("e-signature authority"), default=False)
    logging = models.BooleanField(_("logging"), default=False)
    # REDCap's data_quality_design: create and edit data quality rules (and run them).
    data_quality = models.BooleanField(_("data quality"), default=False)
    data_quality_execute = models.BooleanField(_("execute data quality rules"), default=False)
    # Save past a hard edit check of a data quality rule, with a reason.
    data_quality_override = models.BooleanField(_("override hard edit checks"), default=False)
    # Mark forms and fields as verified against the source documents (a monitor's right).
    source_verify = models.BooleanField(_("source data verification"), default=False)
    data_resolution = models.CharField(
        _("data resolution workflow"),
        max_length=20,
        choices=ResolutionRight.choices,
        default=ResolutionRight.NONE,
    )
    alerts = models.BooleanField(_("alerts and notifications"), default=False)
    randomization_setup = models.BooleanField(_("randomization: setup"), default=False)
    randomization_dashboard = models.BooleanField(_("randomization: dashboard"), default=False)
    randomization_perform = models.BooleanField(_("randomization: randomize"), default=False)
    form_rights = models.JSONField(_("data entry rights"), default=dict, blank=True)
    export_rights = models.JSONField(_("data export rights"), default=dict, blank=True)

    class Meta:
        abstract = True


class Role(RightsFields):
    """A named set of rights that members of a project can be given (REDCap's user roles)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(_("role name"), max_length=100)
    # REDCap's `unique_role_name`: "U-" and ten upper-case letters or digits.
    unique_name = models.CharField(_("unique role name"), max_length=20)

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "unique_name"], name="role_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ProjectMember(RightsFields):
    """A user's membership of a project, with their own rights or those of their role."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # When set, the role's rights apply and the member's own are ignored.
    role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    # A member in a group sees only that group's records; without one, every record.
    group = models.ForeignKey(
        "DataAccessGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    # REDCap's DAG switcher: the groups the member may switch `group` between.
    allowed_groups: models.ManyToManyField[DataAccessGroup, Any] = models.ManyToManyField(
        "DataAccessGroup", blank=True, related_name="switchable_members"
    )
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="member_unique_per_project")
        ]

    @property
    def can_design(self) -> bool:
        """The design right under its earlier name (own rights, not a role's)."""
        return self.design

    @can_design.setter
    def can_design(self, value: bool) -> None:
        self.design = value


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


from opencrf.projects.deletion_models import ProjectDeletion  # noqa: E402, F401
from opencrf.projects.lifecycle_models import StatusRequest  # noqa: E402, F401
from opencrf.projects.request_models import ProjectRequest, RequestStatus  # noqa: E402, F401
