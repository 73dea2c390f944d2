"""What exports keep between runs: each project's de-identification secret."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.projects.models import Project


class ExportSecret(models.Model):
    """A random secret per project, never exported: it keys the hashed record ids and the
    date shifts, so the same record gets the same hash and shift in every export of the
    project, and nobody holding an export can recompute either from a record id."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="export_secret", verbose_name=_("project")
    )
    secret = models.CharField(_("secret"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["project_id"]
        verbose_name = _("export secret")

    def __str__(self) -> str:
        return f"export secret of project {self.project_id}"
