"""The Data Access Groups page: groups, who is in which, and the group switcher.

Managing groups needs the data access groups right and no group of one's own; switching
needs only to have been allowed several groups. Services decide and audit.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.core.views import domain_errors
from opencrf.projects import selectors, services
from opencrf.projects.rights_forms import GroupForm, MemberGroupForm


@login_required
@domain_errors
def groups_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = selectors.access_project_groups(request.user, project_id)
    groups = list(
        project.groups.annotate(
            record_count=Count("records", distinct=True),
            member_count=Count("members", distinct=True),
        )
    )
    members = selectors.project_members(project)
    context = {
        "project": project,
        "nav": "groups",
        "groups": groups,
        "member_forms": [(m, MemberGroupForm(None, groups=groups, member=m)) for m in members],
        "group_form": GroupForm(),
    }
    return render(request, "projects/groups.html", context)


def _back(project_id: int) -> HttpResponse:
    return redirect("projects:groups", project_id=project_id)


@login_required
@require_POST
@domain_errors
def group_add(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = selectors.access_project_groups(request.user, project_id)
    form = GroupForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A data access group needs a name."))
        return _back(project.pk)
    try:
        services.group_create(
            context=AuditContext.from_request(request),
            project=project,
            name=form.cleaned_data["name"],
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Group created."))
    return _back(project.pk)


@login_required
@require_POST
@domain_errors
def group_edit(request: AuthedRequest, project_id: int, group_id: int) -> HttpResponse:
    """Rename a group, or delete it (`delete` in the POST)."""
    project = selectors.access_project_groups(request.user, project_id)
    group = get_object_or_404(project.groups, pk=group_id)
    context = AuditContext.from_request(request)
    try:
        if request.POST.get("delete"):
            services.group_delete(context=context, group=group)
            messages.success(request, _("Group deleted."))
        else:
            services.group_rename(context=context, group=group, name=request.POST.get("name", ""))
            messages.success(request, _("Group renamed."))
    except InvalidInput as error:
        messages.error(request, error.message)
    return _back(project.pk)


@login_required
@require_POST
@domain_errors
def member_group(request: AuthedRequest, project_id: int, member_id: int) -> HttpResponse:
    project = selectors.access_project_groups(request.user, project_id)
    member = get_object_or_404(selectors.project_members(project), pk=member_id)
    form = MemberGroupForm(request.POST, groups=list(project.groups.all()), member=member)
    if not form.is_valid():
        messages.error(request, _("Choose groups of this project."))
        return _back(project.pk)
    try:
        services.member_group_set(
            context=AuditContext.from_request(request),
            member=member,
            group=form.cleaned_data["group"],
            allowed=form.cleaned_data["allowed"],
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Group assignment saved."))
    return _back(project.pk)


@login_required
@require_POST
@domain_errors
def group_switch(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Switch the current member's group to another one they are allowed (DAG switcher)."""
    project = selectors.access_project(request.user, project_id)
    wanted = request.POST.get("group", "")
    group = next(
        (g for g in selectors.switchable_groups(request.user, project) if str(g.pk) == wanted), None
    )
    if group is None:
        raise NotFound(_("No such data access group."))
    services.member_group_switch(
        context=AuditContext.from_request(request), project=project, group=group
    )
    messages.success(request, _("You now work in %(group)s.") % {"group": group.name})
    return redirect("records:dashboard", project_id=project.pk)
