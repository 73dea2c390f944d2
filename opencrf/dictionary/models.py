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
