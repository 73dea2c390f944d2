"""Project requests: users who may not create projects ask, an administrator decides.

Named `project_request_<verb>`; each decision is written to the security log in its transaction,
and the requester is told by e-mail once it commits.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.accounts import mail
from opencrf.accounts.models import User
from opencrf.accounts.services import security_event_create
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.projects.models import Project
from opencrf.projects.request_models import ProjectRequest, RequestStatus
from opencrf.projects.services import project_create


def may_create_projects(user: User) -> bool:
    """Administrators and internal users create projects; everyone else requests one."""
    return bool(user.is_superuser or user.may_create_projects)


@transaction.atomic
def project_request_create(
    *,
    requester: User,
    title: str,
    purpose: str,
    notes: str = "",
    is_longitudinal: bool = False,
    address: str = "",
) -> ProjectRequest:
    title, purpose = title.strip(), purpose.strip()
    if not title:
        raise InvalidInput(_("A project needs a title."))
    if not purpose:
        raise InvalidInput(_("Describe the purpose of the project."))
    request = ProjectRequest.objects.create(
        requester=requester,
        title=title,
        purpose=purpose,
        notes=notes.strip(),
        is_longitudinal=is_longitudinal,
    )
    security_event_create(
        kind="project.requested", user=requester, address=address, details={"request": request.pk}
    )
    mail.send_project_request_to_administrators(
        title=title, requester=requester, path=reverse("project_requests:detail", args=[request.pk])
    )
    return request


def _pending(request: ProjectRequest) -> ProjectRequest:
    locked = ProjectRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != RequestStatus.PENDING:
        raise InvalidInput(_("This request has already been decided."))
    return locked


@transaction.atomic
def project_request_approve(
    *, request: ProjectRequest, actor: User, note: str = "", address: str = "", request_id: str = ""
) -> Project:
    """Create the project with the requester as its creator, holding every right in it."""
    request = _pending(request)
    requester = request.requester
    context = AuditContext(actor=requester, request_id=request_id, client_address=address)
    notes = "\n\n".join(part for part in (request.purpose, request.notes) if part)
    project = project_create(
        context=context, title=request.title, is_longitudinal=request.is_longitudinal, notes=notes
    )
    request.status, request.project, request.reason = RequestStatus.APPROVED, project, note.strip()
    request.decided_by, request.decided_at = actor, timezone.now()
    request.save(update_fields=["status", "project", "reason", "decided_by", "decided_at"])
    security_event_create(
        kind="project.request_approved",
        user=requester,
        actor=actor,
        address=address,
        details={"request": request.pk, "project": project.pk},
    )
    mail.send_project_request_decided(
        user=requester,
        title=request.title,
        approved=True,
        reason=request.reason,
        link=reverse("projects:home", args=[project.pk]),
    )
    return project


@transaction.atomic
def project_request_reject(
    *, request: ProjectRequest, actor: User, reason: str, address: str = ""
) -> ProjectRequest:
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give a reason: it is sent to the person who asked."))
    request = _pending(request)
    request.status, request.reason = RequestStatus.REJECTED, reason
    request.decided_by, request.decided_at = actor, timezone.now()
    request.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    security_event_create(
        kind="project.request_rejected",
        user=request.requester,
        actor=actor,
        address=address,
        details={"request": request.pk},
    )
    mail.send_project_request_decided(
        user=request.requester, title=request.title, approved=False, reason=reason, link=""
    )
    return request
