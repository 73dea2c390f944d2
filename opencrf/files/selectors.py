"""Protected reads of stored files: downloads and data-entry pages fetch files through here."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import NotFound
from opencrf.files.models import StoredFile
from opencrf.projects.models import FormRight, Project
from opencrf.projects.selectors import member_rights, projects_visible_to


def _record_allows(user: User, stored_file: StoredFile) -> bool:
    """Whether `user` may fetch the file by its id alone (data access groups, form rights).

    Files cannot tell which record or instrument holds them (files sit below records), so
    only those who see every record and every form may: administrators, and members in no
    group whose rights show every instrument (design rights, nothing set to "no access").
    Everyone else downloads through the record's own page (`records:file_download`), which
    checks the record and the instrument.
    """
    if user.is_superuser:
        return True
    project = stored_file.project
    try:
        rights = member_rights(user, project)
    except NotFound:
        return False
    sees_every_form = rights.design and FormRight.NONE not in rights.forms.values()
    return rights.group_id is None and sees_every_form


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
