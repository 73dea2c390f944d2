"""A project's status and the moves between statuses, as REDCap allows them.

development → production → analysis/cleanup → completed. Designers (design right) move a
project forward and between production and analysis; going back to development from
production and reopening a completed project are for administrators. Every move is audited
with its reason. A move to production may wait for an administrator's approval
(`OPENCRF_PRODUCTION_NEEDS_APPROVAL`) as a `StatusRequest`.

Apps above projects take part through two hooks registered at start-up: `purge` deletes the
test records when a project goes to production without them (records), and `guards` may
refuse a move (dictionary refuses to leave production while a draft is active).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.projects.lifecycle_models import StatusRequest
from opencrf.projects.models import Project, ProjectStatus
from opencrf.projects.request_models import RequestStatus
from opencrf.projects.selectors import can_design

S = ProjectStatus
# (from, to) → whether only an administrator may make the move.
MOVES: dict[tuple[str, str], bool] = {
    (S.DEVELOPMENT, S.PRODUCTION): False,
    (S.PRODUCTION, S.ANALYSIS): False,
    (S.ANALYSIS, S.PRODUCTION): False,
    (S.ANALYSIS, S.COMPLETED): False,
    (S.COMPLETED, S.ANALYSIS): True,
    (S.PRODUCTION, S.DEVELOPMENT): True,
}
# Statuses in which records may be created, saved, renamed or deleted.
OPEN_FOR_DATA = frozenset({S.DEVELOPMENT, S.PRODUCTION})

Purge = Callable[[AuditContext, Project], int]
Guard = Callable[[Project, str], "str | None"]
_purge: list[Purge] = []
_guards: list[Guard] = []


def lifecycle_hooks_register(*, purge: Purge | None = None, guard: Guard | None = None) -> None:
    if purge is not None and purge not in _purge:
        _purge[:] = [purge]
    if guard is not None and guard not in _guards:
        _guards.append(guard)


@dataclass(frozen=True, slots=True)
class Move:
    to: str
    label: str
    admin_only: bool


def data_entry_refusal(project: Project) -> str | None:
    """Why records of `project` cannot be changed now, or None when they can."""
    if project.status == S.ANALYSIS:
        return _(
            "Data entry is closed: the project is in analysis/cleanup. Queries can still be "
            "worked; ask a designer to move the project back to production to change data."
        )
    if project.status == S.COMPLETED:
        return _("The project is completed and read-only; nothing can be changed.")
    return None


def require_data_entry_open(project: Project) -> None:
    """Refuse any change to records of a project in analysis/cleanup or completed."""
    refusal = data_entry_refusal(project)
    if refusal:
        raise InvalidInput(refusal)


def is_superuser(context: AuditContext) -> bool:
    return context.actor is not None and context.actor.is_superuser


def moves_for(context: AuditContext, project: Project) -> list[Move]:
    """The moves the acting user may make from the project's status, in a fixed order."""
    if context.actor is None or not can_design(context.actor, project):
        return []
    labels = dict(ProjectStatus.choices)
    return [
        Move(to, str(labels[to]), admin_only)
        for (start, to), admin_only in MOVES.items()
        if start == project.status and (is_superuser(context) or not admin_only)
    ]


def needs_approval(context: AuditContext, project: Project, to: str) -> bool:
    """Whether this user's move of `project` to `to` waits for an administrator: the first
    move to production does, when the site says so; coming back from analysis does not."""
    return (
        (project.status, to) == (S.DEVELOPMENT, S.PRODUCTION)
        and bool(settings.OPENCRF_PRODUCTION_NEEDS_APPROVAL)
        and not is_superuser(context)
    )


def _check_move(context: AuditContext, project: Project, to: str, reason: str) -> None:
    if context.actor is None or not can_design(context.actor, project):
        raise PermissionDenied(_("You need the design right to change the project's status."))
    admin_only = MOVES.get((project.status, to))
    if admin_only is None:
        raise InvalidInput(
            _("A project cannot move from %(old)s to %(new)s.")
            % {"old": _status_label(project.status), "new": _status_label(to)}
        )
    if admin_only and not is_superuser(context):
        raise PermissionDenied(_("Only an administrator may make this move."))
    if not reason.strip():
        raise InvalidInput(_("Give a reason for changing the project's status."))
    for guard in _guards:
        refusal = guard(project, to)
        if refusal:
            raise InvalidInput(refusal)


def _status_label(status: str) -> str:
    return str(dict(ProjectStatus.choices).get(status, status))


def _lock(project: Project) -> None:
    locked = Project.objects.select_for_update().get(pk=project.pk)
    project.status, project.production_at = locked.status, locked.production_at


@transaction.atomic
def project_status_move(
    *, context: AuditContext, project: Project, to: str, reason: str, keep_records: bool = True
) -> StatusRequest | None:
    """Move the project to status `to`, or file a request when an administrator must approve.

    Returns the pending request, or None when the project moved. `keep_records` matters only
    for a move from development to production: False deletes every record first.
    """
    _lock(project)
    _check_move(context, project, to, reason)
    if needs_approval(context, project, to):
        return _request(context, project, to, reason.strip(), keep_records)
    _move(context, project, to, reason.strip(), keep_records)
    return None


def _move(
    context: AuditContext, project: Project, to: str, reason: str, keep_records: bool
) -> None:
    old = project.status
    deleted = 0
    if (old, to) == (S.DEVELOPMENT, S.PRODUCTION) and not keep_records:
        deleted = sum(purge(context, project) for purge in _purge)
    project.status = to
    fields = ["status"]
    if to == S.PRODUCTION and old == S.DEVELOPMENT:
        project.production_at = timezone.now()
        fields.append("production_at")
    project.save(update_fields=fields)
    changes: dict[str, object] = {"status": [old, to]}
    if (old, to) == (S.DEVELOPMENT, S.PRODUCTION):
        changes["test_records"] = "kept" if keep_records else f"deleted ({deleted})"
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="project.status",
        details=f"Status moved from {old} to {to}",
        changes=changes,
        reason=reason,
    )


def _request(
    context: AuditContext, project: Project, to: str, reason: str, keep_records: bool
) -> StatusRequest:
    if project.status_requests.filter(status=RequestStatus.PENDING).exists():
        raise InvalidInput(_("A request to move this project is already waiting for approval."))
    assert context.actor is not None  # _check_move refused anonymous moves
    request = StatusRequest.objects.create(
        project=project,
        to_status=to,
        keep_records=keep_records,
        reason=reason[:1000],
        requested_by=context.actor,
    )
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="project.status_request",
        details=f"Asked to move to {to}",
        changes={"keep_records": keep_records},
        reason=reason,
    )
    return request


def pending_status_requests() -> list[StatusRequest]:
    return list(
        StatusRequest.objects.filter(status=RequestStatus.PENDING).select_related(
            "project", "requested_by"
        )
    )


def _pending(context: AuditContext, request_id: int) -> StatusRequest:
    if not is_superuser(context):
        raise PermissionDenied(_("Only an administrator may decide this request."))
    request = StatusRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound(_("No such request."))
    if request.status != RequestStatus.PENDING:
        raise InvalidInput(_("This request has already been decided."))
    return request


@transaction.atomic
def status_request_approve(
    *, context: AuditContext, request_id: int, comment: str = ""
) -> StatusRequest:
    """An administrator approves: the project moves, as its requester asked."""
    request = _pending(context, request_id)
    project = request.project
    _lock(project)
    if MOVES.get((project.status, request.to_status)) is None:
        raise InvalidInput(_("The project's status changed since the request; reject it."))
    reason = (
        f"{request.reason} (approved: {comment.strip()})" if comment.strip() else request.reason
    )
    _move(context, project, request.to_status, reason, request.keep_records)
    _decide(request, context, RequestStatus.APPROVED, comment)
    return request


@transaction.atomic
def status_request_reject(*, context: AuditContext, request_id: int, comment: str) -> StatusRequest:
    request = _pending(context, request_id)
    if not comment.strip():
        raise InvalidInput(_("Say why the request is rejected."))
    _decide(request, context, RequestStatus.REJECTED, comment)
    audit_event_create(
        context=context,
        project_id=request.project_id,
        action="project.status_request_reject",
        details=f"Request to move to {request.to_status} rejected",
        reason=comment.strip(),
    )
    return request


def _decide(request: StatusRequest, context: AuditContext, status: str, comment: str) -> None:
    request.status, request.comment = status, comment.strip()[:1000]
    request.decided_by, request.decided_at = context.actor, timezone.now()
    request.save(update_fields=["status", "comment", "decided_by", "decided_at"])
