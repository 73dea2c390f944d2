"""The models of the randomization app (see docs/subsystems/randomization.md).

A project has at most one `RandomizationSetup`: the allocation field, the strata, the method.
The table method keeps two `AllocationTable`s, development and production, apart: a record is
allocated from the table of the project's status when it is randomized. Each table row is used
at most once (`AllocationRow.used`, and the one-to-one `Allocation.row`); each record is
allocated at most once (`Allocation.record` unique). Minimization needs no table: each
allocation keeps the state it was decided on.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.projects.models import DataAccessGroup, Event, Project
from opencrf.records.models import Record

# The column of an allocation table, and the factor name, that stands for the record's data
# access group (REDCap's name). Its values are the groups' ids, as in REDCap's tables.
GROUP_STRATUM = "redcap_data_access_group"


class Method(models.TextChoices):
    TABLE = "table", _("Allocation table")
    MINIMIZATION = "minimization", _("Minimization (Pocock–Simon)")


class Environment(models.TextChoices):
    DEVELOPMENT = "development", _("Development")
    PRODUCTION = "production", _("Production")


class RandomizationSetup(models.Model):
    """How a project randomizes. `strata` is a list of `{"field": name, "event": event id}`;
    `ratios` maps each arm's code to its share (1:1 by default); `weights` maps each factor
    (a stratum field, or GROUP_STRATUM) to its weight in minimization."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="+")
    allocation_field = models.CharField(_("allocation field"), max_length=100)
    allocation_event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+")
    strata = models.JSONField(default=list, blank=True)
    group_stratum = models.BooleanField(_("stratify by data access group"), default=False)
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.TABLE)
    ratios = models.JSONField(default=dict, blank=True)
    weights = models.JSONField(default=dict, blank=True)
    preferred_probability = models.FloatField(default=0.8)
    # Minimization's seed: each allocation draws from random.Random(f"{seed}:{env}:{n}").
    seed = models.CharField(max_length=64, blank=True)
    # Blinding (see blinding.py): the allocation field's form, when blinded, is hidden from
    # every member without the dashboard right; `notify` lists the e-mail addresses told of
    # each emergency unblinding, one per line.
    blinded_form = models.CharField(_("blinded form"), max_length=100, blank=True)
    notify = models.TextField(_("people told of an emergency unblinding"), blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["project_id"]

    def __str__(self) -> str:
        return f"randomization of project {self.project_id}"

    def factors(self) -> list[str]:
        """The strata in order: the fields, then the data access group when it is one."""
        names = [str(item["field"]) for item in self.strata]
        return [*names, GROUP_STRATUM] if self.group_stratum else names


class AllocationTable(models.Model):
    """The allocation table of one environment: uploaded, or generated with a recorded seed."""

    class Origin(models.TextChoices):
        UPLOAD = "upload", _("Uploaded")
        GENERATED = "generated", _("Generated as permuted blocks")

    setup = models.ForeignKey(RandomizationSetup, on_delete=models.CASCADE, related_name="tables")
    environment = models.CharField(max_length=16, choices=Environment.choices)
    origin = models.CharField(max_length=16, choices=Origin.choices)
    file_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    seed = models.CharField(max_length=64, blank=True)
    block_sizes = models.JSONField(default=list, blank=True)
    blocks_per_stratum = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["setup_id", "environment"]
        constraints = [
            models.UniqueConstraint(
                fields=["setup", "environment"], name="randomization_table_per_environment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.environment} table of setup {self.setup_id}"


class AllocationRow(models.Model):
    """One row of an allocation table: the arm for the next record of its stratum.

    `stratum` maps each factor to its code; `stratum_key` is the same as one string (see
    `strata.stratum_key`), so the next row of a stratum is one indexed query.
    """

    table = models.ForeignKey(AllocationTable, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField()
    arm = models.CharField(max_length=100)
    stratum = models.JSONField(default=dict, blank=True)
    stratum_key = models.CharField(max_length=500, blank=True)
    block = models.PositiveIntegerField(default=0)
    used = models.BooleanField(default=False)

    class Meta:
        ordering = ["table_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["table", "position"], name="randomization_row_position")
        ]
        indexes = [
            models.Index(
                fields=["table", "stratum_key", "used", "position"], name="randomization_next_row"
            )
        ]

    def __str__(self) -> str:
        return f"row {self.position} of table {self.table_id}"


class Allocation(models.Model):
    """A record's allocation: who, when, which row or minimization state. Never changed.

    `record` is set null if the record is deleted; `record_label` keeps its id then, and the
    row stays used, so an allocation is never handed out twice.
    """

    setup = models.ForeignKey(
        RandomizationSetup, on_delete=models.CASCADE, related_name="allocations"
    )
    record = models.OneToOneField(
        Record, null=True, on_delete=models.SET_NULL, related_name="allocation"
    )
    record_label = models.CharField(max_length=100)
    group = models.ForeignKey(
        DataAccessGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    environment = models.CharField(max_length=16, choices=Environment.choices)
    sequence = models.PositiveIntegerField()
    row = models.OneToOneField(
        AllocationRow, null=True, blank=True, on_delete=models.PROTECT, related_name="allocation"
    )
    arm = models.CharField(max_length=100)
    stratum = models.JSONField(default=dict, blank=True)
    stratum_key = models.CharField(max_length=500, blank=True)
    state = models.JSONField(default=dict, blank=True)
    allocated_at = models.DateTimeField()
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["setup_id", "environment", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["setup", "environment", "sequence"], name="randomization_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"allocation {self.sequence} of setup {self.setup_id}"


class Unblinding(models.Model):
    """One emergency unblinding of one record's allocation: who, when, why, who was told."""

    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="unblindings")
    record_label = models.CharField(max_length=100)
    reason = models.TextField()
    unblinded_at = models.DateTimeField()
    unblinded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    notified = models.TextField(blank=True)  # the addresses the notice went to
    notify_error = models.TextField(blank=True)  # why the notice could not be sent, if so

    class Meta:
        ordering = ["allocation_id", "unblinded_at", "pk"]

    def __str__(self) -> str:
        return f"unblinding of record {self.record_label}"
