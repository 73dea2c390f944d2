"""The User Rights page: members, their rights and roles. Needs the user rights right.

Views parse and render; `rights_services` decides and audits, `selectors` checks access.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.core.views import domain_errors
from opencrf.projects import rights_services, selectors
from opencrf.projects.models import Project, ResolutionRight, Role
from opencrf.projects.right_features import offered
from opencrf.projects.rights import Rights
from opencrf.projects.rights_forms import MemberAddForm, RightsForm


def _instruments(project: Project) -> list[tuple[str, str]]:
    return list(project.instruments.order_by("position", "id").values_list("name", "label"))


def _summary(holder: Any) -> list[str]:
    """The names of the rights a member or role holds, for the list (those offered)."""
    rights = Rights.of(holder, None)
    labels = {f.name: str(f.verbose_name) for f in Role._meta.fields}
    held = [labels[name] for name, held in rights.flags().items() if held and offered(name)]
    if rights.data_resolution != ResolutionRight.NONE:
        level = dict(ResolutionRight.choices).get(rights.data_resolution, rights.data_resolution)
        held.append(_("Queries: %(level)s") % {"level": level})
    return held


@login_required
@domain_errors
def rights_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = selectors.access_project_with(request.user, project_id, "user_rights")
    members = selectors.project_members(project)
    roles = list(project.roles.all())
    context = {
        "project": project,
        "nav": "rights",
        "members": [(m, _summary(m.role or m)) for m in members],
        "roles": [(role, _summary(role), role.members.count()) for role in roles],
        "add_form": MemberAddForm(),
    }
    return render(request, "projects/rights.html", context)


@login_required
@require_POST
@domain_errors
def member_add(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = selectors.access_project_with(request.user, project_id, "user_rights")
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            member = rights_services.member_add(
                context=AuditContext.from_request(request),
                project=project,
                username=form.cleaned_data["username"],
            )
        except InvalidInput as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("%(user)s was added; set their rights below.") % {"user": member.user.username},
            )
            return redirect("projects:rights_member", project_id=project.pk, member_id=member.pk)
    else:
        messages.error(request, _("Give the username of the account to add."))
    return redirect("projects:rights", project_id=project.pk)


@login_required
@domain_errors
def member_edit(request: AuthedRequest, project_id: int, member_id: int) -> HttpResponse:
    project = selectors.access_project_with(request.user, project_id, "user_rights")
    member = get_object_or_404(selectors.project_members(project), pk=member_id)
    roles = list(project.roles.all())
    form = RightsForm(
        request.POST or None, instruments=_instruments(project), holder=member, roles=roles
    )
    context = AuditContext.from_request(request)
    if request.method == "POST":
        try:
            if request.POST.get("remove"):
                rights_services.member_remove(context=context, member=member)
                messages.success(
                    request,
                    _("%(user)s was removed from the project.") % {"user": member.user.username},
                )
                return redirect("projects:rights", project_id=project.pk)
            if form.is_valid():
                rights_services.member_update(
                    context=context,
                    member=member,
                    rights=form.rights(),
                    role=form.cleaned_data["role"],
                    expires_on=form.cleaned_data["expires_on"],
                )
                messages.success(request, _("Rights saved."))
                return redirect("projects:rights", project_id=project.pk)
        except InvalidInput as error:
            form.add_error(None, error.message)
    page = {"project": project, "nav": "rights", "member": member, "form": form}
    return render(request, "projects/rights_member.html", page, status=400 if form.errors else 200)


@login_required
@domain_errors
def role_edit(request: AuthedRequest, project_id: int, role_id: int | None = None) -> HttpResponse:
    """Create a role (no id) or change or delete one."""
    project = selectors.access_project_with(request.user, project_id, "user_rights")
    role = get_object_or_404(project.roles, pk=role_id) if role_id is not None else None
    form = RightsForm(
        request.POST or None, instruments=_instruments(project), holder=role, name_field=True
    )
    context = AuditContext.from_request(request)
    if request.method == "POST":
        try:
            if role is not None and request.POST.get("delete"):
                rights_services.role_delete(context=context, role=role)
                messages.success(request, _("Role deleted."))
                return redirect("projects:rights", project_id=project.pk)
            if form.is_valid():
                _save_role(context, project, role, form)
                messages.success(request, _("Role saved."))
                return redirect("projects:rights", project_id=project.pk)
        except InvalidInput as error:
            form.add_error(None, error.message)
    page = {"project": project, "nav": "rights", "role": role, "form": form}
    return render(request, "projects/rights_role.html", page, status=400 if form.errors else 200)


def _save_role(
    context: AuditContext, project: Project, role: Role | None, form: RightsForm
) -> None:
    name = form.cleaned_data["name"]
    if role is None:
        rights_services.role_create(
            context=context, project=project, name=name, rights=form.rights()
        )
    else:
        rights_services.role_update(context=context, role=role, name=name, rights=form.rights())
