"""The project's file repository: folders (optionally limited to a data access group or a
role) holding files, stored and checked like every upload. Deleting a file moves it to the
recycle bin (the stored file is marked deleted; a purge job removes the bytes later)."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.files.models import RepositoryDocument, RepositoryFolder
from opencrf.files.services import file_delete, file_store
from opencrf.projects.models import DataAccessGroup, Project, ProjectMember, Role
from opencrf.projects.selectors import member_rights

MAX_NAME = 150


def folders_visible_to(user: User, project: Project) -> QuerySet[RepositoryFolder]:
    """Folders the user may see: a group's folder only in that group (or seeing all groups),
    a role's folder only with that role."""
    folders = RepositoryFolder.objects.filter(project=project)
    rights = member_rights(user, project)
    if rights.is_admin:
        return folders
    member = ProjectMember.objects.filter(project=project, user=user).first()
    role_id = member.role_id if member is not None else None
    if rights.group_id is not None:
        folders = folders.filter(Q(group__isnull=True) | Q(group_id=rights.group_id))
    return folders.filter(Q(role__isnull=True) | Q(role_id=role_id))


def access_folder(user: User, project: Project, folder_id: int | None) -> RepositoryFolder | None:
    """The folder (None: the top level), or NotFound for a missing or hidden one."""
    if folder_id is None:
        return None
    folder = folders_visible_to(user, project).filter(pk=folder_id).first()
    if folder is None:
        raise NotFound(_("No such folder."))
    return folder


def folder_listing(
    user: User, project: Project, folder: RepositoryFolder | None
) -> tuple[list[RepositoryFolder], list[RepositoryDocument]]:
    """The folders and live files directly inside `folder` (None: the top level)."""
    folders = list(folders_visible_to(user, project).filter(parent=folder))
    documents = list(
        RepositoryDocument.objects.filter(
            project=project, folder=folder, stored_file__deleted_at__isnull=True
        ).select_related("stored_file")
    )
    return folders, documents


def access_document(user: User, project: Project, document_id: int) -> RepositoryDocument:
    document = (
        RepositoryDocument.objects.filter(
            project=project, pk=document_id, stored_file__deleted_at__isnull=True
        )
        .select_related("stored_file", "folder")
        .first()
    )
    if document is None:
        raise NotFound(_("No such file."))
    if document.folder is not None:
        access_folder(user, project, document.folder_id)
    return document


@transaction.atomic
def folder_create(
    *,
    context: AuditContext,
    project: Project,
    name: str,
    parent: RepositoryFolder | None = None,
    group: DataAccessGroup | None = None,
    role: Role | None = None,
) -> RepositoryFolder:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(_("A folder name has 1 to 150 characters."))
    if group is not None and group.project_id != project.pk:
        raise InvalidInput(_("No such data access group."))
    if role is not None and role.project_id != project.pk:
        raise InvalidInput(_("No such role."))
    folder = RepositoryFolder.objects.create(
        project=project, parent=parent, name=name, group=group, role=role, created_by=context.actor
    )
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="repository.folder",
        target=AuditTarget(group_id=folder.group_id),
        details=f"Create folder: {name}",
        changes={"folder_id": folder.pk, "parent_id": parent.pk if parent else ""},
    )
    return folder


def document_add(
    *,
    context: AuditContext,
    project: Project,
    upload: UploadedFile,  # type: ignore[type-arg]
    folder: RepositoryFolder | None = None,
) -> RepositoryDocument:
    """Store an upload (checked by content, scanned) and file it in the repository."""
    target = folder_target(folder)
    stored = file_store(
        context=context, project=project, upload=upload, allow_empty=True, target=target
    )
    with transaction.atomic():
        return RepositoryDocument.objects.create(project=project, folder=folder, stored_file=stored)


def folder_target(folder: RepositoryFolder | None) -> AuditTarget:
    """Entries about a repository file belong to its folder ("" for the top level) and to the
    folder's group: the logging page applies the folder's access rule to them."""
    return AuditTarget(
        group_id=folder.group_id if folder else None,
        extra={"folder_id": folder.pk if folder else ""},
    )


def document_delete(*, context: AuditContext, document: RepositoryDocument) -> None:
    """Move the file to the recycle bin."""
    file_delete(
        context=context,
        stored_file=document.stored_file,
        reason="File repository",
        target=folder_target(document.folder),
    )
