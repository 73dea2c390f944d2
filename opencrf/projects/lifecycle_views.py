"""The project status page: where a project stands, the moves the user may make, and (for
administrators) the pending request to go to production."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.core.views import domain_errors
from opencrf.projects import lifecycle
from opencrf.projects.models import ProjectStatus
from opencrf.projects.request_models import RequestStatus
from opencrf.projects.selectors import access_project


@login_required
@domain_errors
def status_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    context = AuditContext.from_request(request)
    pending = project.status_requests.filter(status=RequestStatus.PENDING).first()
    return render(
        request,
        "projects/status.html",
        {
            "project": project,
            "nav": "status",
            "moves": [] if pending else lifecycle.moves_for(context, project),
            "pending": pending,
            "needs_approval": lifecycle.needs_approval(context, project, ProjectStatus.PRODUCTION),
            "is_admin": request.user.is_superuser,
            "history": project.status_requests.exclude(status=RequestStatus.PENDING)[:10],
        },
    )


@login_required
@require_POST
@domain_errors
def status_move(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    try:
        pending = lifecycle.project_status_move(
            context=AuditContext.from_request(request),
            project=project,
            to=request.POST.get("to", ""),
            reason=request.POST.get("reason", ""),
            keep_records=request.POST.get("test_records", "keep") != "delete",
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        if pending is not None:
            messages.success(
                request, _("Your request was sent; an administrator will approve or reject it.")
            )
        else:
            messages.success(
                request,
                _("The project is now in %(status)s.") % {"status": project.get_status_display()},
            )
    return redirect("projects:status", project_id=project.pk)


@login_required
@require_POST
@domain_errors
def status_request_decide(request: AuthedRequest, project_id: int, request_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    context = AuditContext.from_request(request)
    comment = request.POST.get("comment", "")
    try:
        if request.POST.get("decision") == "approve":
            lifecycle.status_request_approve(
                context=context, request_id=request_id, comment=comment
            )
            messages.success(request, _("Approved: the project has moved."))
        else:
            lifecycle.status_request_reject(context=context, request_id=request_id, comment=comment)
            messages.success(request, _("The request was rejected."))
    except InvalidInput as error:
        messages.error(request, error.message)
    return redirect(request.POST.get("next") or "projects:status", project_id=project.pk)
