from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.projects.models import Project


class StoredFile(models.Model):
    """One uploaded file: its bytes live in the storage under `key`, never under its own name.

    Data values refer to a file by its id. Deleting only marks it (`deleted_at`); the audit
    trail still names it, and a later purge job removes the bytes.
    """

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="stored_files")
    key = models.CharField(max_length=255, unique=True)
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"))
    media_type = models.CharField(_("type"), max_length=100)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "id"]

    def __str__(self) -> str:
        return self.original_name


class RepositoryFolder(models.Model):
    """A folder of the project's file repository (REDCap's File Repository).

    A folder limited to a data access group or a role is seen only by members in that group
    or with that role (and by members who see every group, for the group limit).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(_("folder name"), max_length=150)
    group = models.ForeignKey(
        "projects.DataAccessGroup",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    role = models.ForeignKey(
        "projects.Role", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["project_id", "name", "id"]

    def __str__(self) -> str:
        return self.name


class RepositoryDocument(models.Model):
    """A file kept in the repository, at the top level (no folder) or in a folder."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    folder = models.ForeignKey(
        RepositoryFolder, null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    stored_file = models.OneToOneField(StoredFile, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["project_id", "id"]

    def __str__(self) -> str:
        return self.stored_file.original_name
