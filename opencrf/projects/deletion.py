"""Deleting a project: an administrator deletes; a designer asks and an administrator decides.

Deleting hides the project and keeps every row: the audit table is append-only (the database
refuses UPDATE and DELETE on it), and a project's entries form a hash chain that
`opencrf audit verify` must still be able to re-compute; records, files and the design stay so
that the trail keeps its meaning and an administrator can restore a project deleted in error.
The deletion is the chain's last entry (`project.delete`) and is written to the site-wide
security log. Afterwards `projects_visible_to` and `member_rights` treat the project as
missing, for pages, the API and every service acting for a user.

As in REDCap, a designer may delete a project of their own while it is in development;
after that only an administrator deletes, and a designer requests it (the queue is in the
control centre).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.accounts.services import security_event_create
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects.deletion_models import ProjectDeletion
from opencrf.projects.models import Project, ProjectStatus
from opencrf.projects.request_models import RequestStatus
from opencrf.projects.selectors import member_rights


def may_delete(user: User, project: Project) -> bool:
    """Administrators always; a designer while the project is in development."""
    if user.is_superuser:
        return True
    return project.status == ProjectStatus.DEVELOPMENT and member_rights(user, project).design


def pending_deletion(project: Project) -> ProjectDeletion | None:
    return project.deletions.filter(status=RequestStatus.PENDING).first()


def _locked(project: Project) -> Project:
    locked = Project.objects.select_for_update().get(pk=project.pk)
    if locked.deleted_at is not None:
        raise InvalidInput(_("This project has already been deleted."))
    return locked


@transaction.atomic
def project_delete(
    *, context: AuditContext, project: Project, confirm_title: str, reason: str
) -> ProjectDeletion:
    """Delete (hide) the project; the user must type its title exactly and give a reason."""
    actor = context.actor
    if actor is None or not may_delete(actor, project):
        raise PermissionDenied(_("Only an administrator may delete this project."))
    reason = reason.strip()
    if confirm_title.strip() != project.title.strip():
        raise InvalidInput(_("Type the project's title exactly to confirm the deletion."))
    if not reason:
        raise InvalidInput(_("Give a reason for deleting the project."))
    locked = _locked(project)
    now = timezone.now()
    deletion = pending_deletion(locked)
    if deletion is None:
        deletion = ProjectDeletion(project=locked, requested_by=actor, reason=reason)
    deletion.status, deletion.decided_by, deletion.decided_at = RequestStatus.APPROVED, actor, now
    deletion.comment = reason if deletion.pk else ""
    deletion.save()
    audit_event_create(
        context=context,
        project_id=locked.pk,
        action="project.delete",
        details=f"Delete project: {locked.title}",
        reason=reason,
    )
    locked.deleted_at = now
    locked.save(update_fields=["deleted_at"])
    project.deleted_at = now
    security_event_create(
        kind="project.delete",
        user=deletion.requested_by,
        actor=actor,
        address=context.client_address,
        details={"project": locked.pk, "title": locked.title, "reason": reason},
    )
    return deletion


@transaction.atomic
def project_deletion_request(
    *, context: AuditContext, project: Project, reason: str
) -> ProjectDeletion:
    """A designer asks an administrator to delete the project."""
    actor = context.actor
    if actor is None or not member_rights(actor, project).design:
        raise PermissionDenied(_("You do not have design rights in this project."))
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give a reason for deleting the project."))
    locked = _locked(project)
    if pending_deletion(locked) is not None:
        raise InvalidInput(_("A deletion of this project is already waiting for a decision."))
    deletion = ProjectDeletion.objects.create(project=locked, requested_by=actor, reason=reason)
    audit_event_create(
        context=context,
        project_id=locked.pk,
        action="project.delete_request",
        details="Request project deletion",
        reason=reason,
    )
    security_event_create(
        kind="project.delete_request",
        user=actor,
        address=context.client_address,
        details={"project": locked.pk, "request": deletion.pk},
    )
    return deletion


@transaction.atomic
def project_deletion_reject(
    *, context: AuditContext, deletion: ProjectDeletion, comment: str
) -> ProjectDeletion:
    actor = context.actor
    if actor is None or not actor.is_superuser:
        raise PermissionDenied(_("Only an administrator may decide on a deletion."))
    comment = comment.strip()
    if not comment:
        raise InvalidInput(_("Give a reason: it is shown to the person who asked."))
    deletion = ProjectDeletion.objects.select_for_update().get(pk=deletion.pk)
    if deletion.status != RequestStatus.PENDING:
        raise InvalidInput(_("This request has already been decided."))
    deletion.status, deletion.comment = RequestStatus.REJECTED, comment
    deletion.decided_by, deletion.decided_at = actor, timezone.now()
    deletion.save(update_fields=["status", "comment", "decided_by", "decided_at"])
    audit_event_create(
        context=context,
        project_id=deletion.project_id,
        action="project.delete_reject",
        details="Keep the project: deletion refused",
        reason=comment,
    )
    security_event_create(
        kind="project.delete_reject",
        user=deletion.requested_by,
        actor=actor,
        address=context.client_address,
        details={"project": deletion.project_id, "request": deletion.pk},
    )
    return deletion


def pending_deletions() -> list[ProjectDeletion]:
    """The administrators' queue: requests waiting, oldest first."""
    waiting = ProjectDeletion.objects.filter(status=RequestStatus.PENDING)
    return list(waiting.select_related("project", "requested_by").order_by("created_at", "id"))


@transaction.atomic
def project_restore(*, context: AuditContext, project: Project, reason: str) -> Project:
    """Bring a deleted project back (administrators): everything it held was kept."""
    actor = context.actor
    if actor is None or not actor.is_superuser:
        raise PermissionDenied(_("Only an administrator may restore a project."))
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give a reason for restoring the project."))
    locked = Project.objects.select_for_update().get(pk=project.pk)
    if locked.deleted_at is None:
        raise InvalidInput(_("This project is not deleted."))
    locked.deleted_at = None
    locked.save(update_fields=["deleted_at"])
    project.deleted_at = None
    audit_event_create(
        context=context,
        project_id=locked.pk,
        action="project.restore",
        details=f"Restore project: {locked.title}",
        reason=reason,
    )
    security_event_create(
        kind="project.restore",
        actor=actor,
        address=context.client_address,
        details={"project": locked.pk, "reason": reason},
    )
    return locked


def deleted_projects() -> list[Project]:
    return list(Project.objects.filter(deleted_at__isnull=False).order_by("-deleted_at", "id"))
