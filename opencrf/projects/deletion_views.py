"""Deleting a project (administrators; designers in development) or asking for it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.core.views import domain_errors
from opencrf.projects import deletion, selectors
from opencrf.projects.deletion_models import ProjectDeletion
from opencrf.projects.models import Project
from opencrf.projects.request_models import RequestStatus


@login_required
@domain_errors
def project_delete_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = selectors.access_project_design(request.user, project_id)
    may_delete = deletion.may_delete(request.user, project)
    pending = deletion.pending_deletion(project)
    error = ""
    if request.method == "POST":
        context = AuditContext.from_request(request)
        try:
            if may_delete:
                deletion.project_delete(
                    context=context,
                    project=project,
                    confirm_title=request.POST.get("confirm_title", ""),
                    reason=request.POST.get("reason", ""),
                )
                messages.success(request, _("The project was deleted."))
                return redirect("projects:list")
            deletion.project_deletion_request(
                context=context, project=project, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("Your request was sent to the administrators."))
            return redirect("projects:delete", project_id=project.pk)
        except (InvalidInput, PermissionDenied) as refused:
            error = refused.message
    page = {
        "project": project,
        "nav": "settings",
        "may_delete": may_delete,
        "pending": pending,
        "error": error,
        "reason": request.POST.get("reason", "") or (pending.reason if pending else ""),
    }
    return render(request, "projects/delete.html", page, status=400 if error else 200)


def _require_admin(request: AuthedRequest) -> None:
    if not request.user.is_superuser:
        raise PermissionDenied(_("Only administrators may see this page."))


@login_required
@domain_errors
def deletion_queue(request: AuthedRequest) -> HttpResponse:
    _require_admin(request)
    decided = ProjectDeletion.objects.exclude(status=RequestStatus.PENDING).select_related(
        "project", "requested_by", "decided_by"
    )[:50]
    context = {
        "pending": deletion.pending_deletions(),
        "decided": decided,
        "deleted": deletion.deleted_projects(),
    }
    return render(request, "projects/delete_queue.html", context)


@login_required
@require_POST
@domain_errors
def deletion_reject(request: AuthedRequest, deletion_id: int) -> HttpResponse:
    _require_admin(request)
    found = get_object_or_404(ProjectDeletion, pk=deletion_id)
    try:
        deletion.project_deletion_reject(
            context=AuditContext.from_request(request),
            deletion=found,
            comment=request.POST.get("comment", ""),
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The request was refused; the project is kept."))
    return redirect("projects:deletions")


@login_required
@require_POST
@domain_errors
def project_restore(request: AuthedRequest, project_id: int) -> HttpResponse:
    # Deleted projects exist for administrators only: to anyone else there is no such project.
    if not request.user.is_superuser:
        raise Http404(_("No such project."))
    project = get_object_or_404(Project, pk=project_id)
    try:
        deletion.project_restore(
            context=AuditContext.from_request(request),
            project=project,
            reason=request.POST.get("reason", ""),
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The project was restored."))
    return redirect("projects:deletions")
