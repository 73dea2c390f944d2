from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.dictionary.columns import API_COLUMNS, FieldRow
from opencrf.projects.models import Project


class Instrument(models.Model):
    """A case report form; its fields are the dictionary rows whose `form_name` is its name."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="instruments")
    name = models.CharField(max_length=64)
    label = models.CharField(max_length=200)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["project_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="instrument_unique_name")
        ]

    def __str__(self) -> str:
        return self.label


class Field(models.Model):
    """One row of the project's current data dictionary, its 18 columns kept as given."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="fields")
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveIntegerField()
    field_name = models.CharField(max_length=100)
    form_name = models.CharField(max_length=64)
    section_header = models.TextField(blank=True)
    field_type = models.CharField(max_length=16)
    field_label = models.TextField(blank=True)
    select_choices_or_calculations = models.TextField(blank=True)
    field_note = models.TextField(blank=True)
    text_validation_type_or_show_slider_number = models.CharField(max_length=64, blank=True)
    text_validation_min = models.TextField(blank=True)
    text_validation_max = models.TextField(blank=True)
    identifier = models.CharField(max_length=1, blank=True)
    branching_logic = models.TextField(blank=True)
    required_field = models.CharField(max_length=1, blank=True)
    custom_alignment = models.CharField(max_length=2, blank=True)
    question_number = models.TextField(blank=True)
    matrix_group_name = models.TextField(blank=True)
    matrix_ranking = models.CharField(max_length=1, blank=True)
    field_annotation = models.TextField(blank=True)

    class Meta:
        ordering = ["project_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["project", "field_name"], name="field_unique_name")
        ]

    def __str__(self) -> str:
        return self.field_name

    def as_row(self) -> FieldRow:
        return FieldRow(**{name: getattr(self, name) for name in API_COLUMNS})


class RevisionSource(models.TextChoices):
    UPLOAD = "upload", _("upload")
    API = "api", _("API")
    DEMO = "demo", _("demo study")
    XML = "xml", _("Project XML")
    DRAFT = "draft", _("draft mode")
    DESIGNER = "designer", _("online designer")


class DictionaryRevision(models.Model):
    """The whole dictionary as accepted at one moment; every accepted change adds one."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    # The 18 columns of every field, as lists in API order.
    rows = models.JSONField()
    instrument_labels = models.JSONField(default=dict)
    field_count = models.PositiveIntegerField()
    source = models.CharField(max_length=16, choices=RevisionSource.choices)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="revision_unique_number")
        ]

    def field_rows(self) -> list[FieldRow]:
        return [FieldRow(*values) for values in self.rows]


class DraftStatus(models.TextChoices):
    OPEN = "open", _("open")
    SUBMITTED = "submitted", _("awaiting approval")
    APPLIED = "applied", _("applied")
    REJECTED = "rejected", _("rejected")
    DISCARDED = "discarded", _("discarded")


# A project has at most one draft in these states at a time.
ACTIVE_DRAFT_STATES = (DraftStatus.OPEN, DraftStatus.SUBMITTED)


class DictionaryDraft(models.Model):
    """A production project's proposed design: a copy of revision `base_revision`, edited.

    `version` rises with every save of the draft; a designer's save names the version it
    started from, so two designers editing one draft never overwrite each other unseen.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="drafts")
    base_revision = models.PositiveIntegerField()
    version = models.PositiveIntegerField(default=1)
    rows = models.JSONField()
    instrument_labels = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=DraftStatus.choices, default=DraftStatus.OPEN)
    # Set at submission from the impact review; approval is needed when any change is critical.
    has_critical = models.BooleanField(default=False)
    impact = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    applied_revision = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(status__in=["open", "submitted"]),
                name="draft_one_active_per_project",
            )
        ]

    def field_rows(self) -> list[FieldRow]:
        return [FieldRow(*values) for values in self.rows]


# Multi-language forms keep their rows in their own module; imported here for Django.
from opencrf.dictionary.translation_models import ProjectLanguage, Translation  # noqa: E402, F401
