"""Protected reads of stored files: downloads and data-entry pages fetch files through here."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import NotFound
from opencrf.files.models import StoredFile
from opencrf.projects.models import Project, ProjectMember
from opencrf.projects.selectors import projects_visible_to


def _record_allows(user: User, stored_file: StoredFile) -> bool:
    """Whether `user` may fetch the file by its id alone (data access groups).

    Members bound to a group see only their group's records, and files cannot tell which
    record holds them (files sit below records); such members download through the record's
    own page (`records:file_download`), which checks the record. Administrators and members
    without a group see every record, so every file of the project.
    """
    if user.is_superuser:
        return True
    member = ProjectMember.objects.filter(project_id=stored_file.project_id, user=user).first()
    return member is not None and member.group_id is None


def access_file(user: User, file_id: int) -> StoredFile:
    """The file if `user` may download it, else NotFound.

    Missing, deleted, and another project's or group's files look exactly the same.
    """
    stored = (
        StoredFile.objects.filter(
            pk=file_id, deleted_at__isnull=True, project__in=projects_visible_to(user)
        )
        .select_related("project")
        .first()
    )
    if stored is None or not _record_allows(user, stored):
        raise NotFound(_("No such file."))
    return stored


def file_in_project(project: Project, file_id: int) -> StoredFile:
    """A live file of `project`, for checking a file id submitted with form data."""
    stored = StoredFile.objects.filter(project=project, pk=file_id, deleted_at__isnull=True).first()
    if stored is None:
        raise NotFound(_("No such file."))
    return stored


def files_in_project(project: Project, file_ids: Iterable[int]) -> dict[int, StoredFile]:
    """Live files of `project` by id, in one query (for showing a form's file fields)."""
    rows = StoredFile.objects.filter(project=project, pk__in=set(file_ids), deleted_at__isnull=True)
    return {stored.pk: stored for stored in rows}


def open_stored_file(stored_file: StoredFile) -> File[bytes]:
    """The stored bytes, opened for reading in chunks (the caller closes it)."""
    return default_storage.open(stored_file.key, "rb")
