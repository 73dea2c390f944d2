"""The project's API page: a member's token (made, shown once, regenerated, withdrawn) and,
for members with the user-rights right, everyone's tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from opencrf.accounts.models import User
from opencrf.accounts.typing import AuthedRequest
from opencrf.api import tokens
from opencrf.api.contents import REDCAP_VERSION
from opencrf.api.models import ApiToken
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.core.views import domain_errors
from opencrf.projects.models import Project
from opencrf.projects.selectors import access_project, member_rights


def _page(request: AuthedRequest, project: Project, new_token: str = "") -> HttpResponse:
    rights = member_rights(request.user, project)
    mine = tokens.project_token(request.user, project)
    others = (
        ApiToken.objects.filter(project=project).select_related("user").order_by("user__username")
        if rights.user_rights
        else ApiToken.objects.none()
    )
    context = {
        "project": project,
        "nav": "api",
        "rights": rights,
        "may_use_api": rights.api_export or rights.api_import,
        "token": mine,
        "new_token": new_token,
        "others": others,
        "endpoint": request.build_absolute_uri(reverse("api")),
        "redcap_version": REDCAP_VERSION,
    }
    response = render(request, "api/page.html", context)
    if new_token:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@domain_errors
@require_GET
def api_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    return _page(request, access_project(request.user, project_id))


@login_required
@domain_errors
@require_POST
def token_action(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Create, regenerate or delete a token; a new token is shown on this response only."""
    project = access_project(request.user, project_id)
    context = AuditContext.from_request(request)
    action = request.POST.get("action", "")
    try:
        if action == "create":
            return _page(
                request,
                project,
                tokens.token_create(context=context, user=request.user, project=project),
            )
        if action == "regenerate":
            return _page(
                request,
                project,
                tokens.token_regenerate(context=context, user=request.user, project=project),
            )
        if action == "delete":
            tokens.token_delete(context=context, user=_owner(request, project), project=project)
            messages.success(request, _("The API token was deleted."))
            return redirect("api:page", project_id=project.pk)
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect("api:page", project_id=project.pk)
    raise InvalidInput(_("Unknown action."))


def _owner(request: AuthedRequest, project: Project) -> User:
    """Whose token to delete: one's own, or (with the user-rights right) another member's."""
    username = request.POST.get("user", "")
    if not username or username == request.user.username:
        return request.user
    if not member_rights(request.user, project).user_rights:
        raise NotFound(_("No such token."))
    owner = User.objects.filter(username=username).first()
    if owner is None:
        raise NotFound(_("No such token."))
    return owner
