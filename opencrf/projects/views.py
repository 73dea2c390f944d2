"""Project pages: thin — parse, call a selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.core.views import domain_errors
from opencrf.projects import selectors, services
from opencrf.projects.forms import ArmForm, EventForm, ProjectCreateForm, ProjectSettingsForm
from opencrf.projects.models import ProjectStatus


@login_required
def project_list(request: AuthedRequest) -> HttpResponse:
    # Completed projects are hidden, as REDCap hides them, until the user asks to see them.
    show_completed = request.GET.get("completed") == "1"
    projects = (
        selectors.projects_visible_to(request.user)
        .annotate(instrument_count=Count("instruments", distinct=True))
        .order_by("title", "id")
    )
    if not show_completed:
        projects = projects.exclude(status=ProjectStatus.COMPLETED)
    context = {"projects": projects, "show_completed": show_completed}
    return render(request, "projects/list.html", context)


@login_required
def project_new(request: AuthedRequest) -> HttpResponse:
    if not (request.user.is_superuser or request.user.may_create_projects):
        return redirect("project_requests:new")
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(
                context=AuditContext.from_request(request), **form.cleaned_data
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Project created."))
            return redirect("projects:home", project_id=project.pk)
    return render(request, "projects/create.html", {"form": form})


@login_required
@domain_errors
def project_home(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = selectors.access_project(request.user, project_id)
    context = {
        "project": project,
        "can_design": selectors.can_design(request.user, project),
        "instruments": project.instruments.annotate(field_count=Count("fields")),
        "events": selectors.project_events(project),
        "arm_count": project.arms.count(),
        "revision_count": project.revisions.count(),
    }
    return render(request, "projects/home.html", context)


@login_required
@domain_errors
def project_settings(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = selectors.access_project_design(request.user, project_id)
    initial = {name: getattr(project, name) for name in ProjectSettingsForm.base_fields}
    form = ProjectSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update_settings(
                context=AuditContext.from_request(request),
                project=project,
                values=form.cleaned_data,
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("projects:settings", project_id=project.pk)
    return render(request, "projects/settings.html", {"project": project, "form": form})


@login_required
@domain_errors
def events_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = selectors.access_project_design(request.user, project_id)
    arms = project.arms.prefetch_related("events")
    context = {
        "project": project,
        "arms": arms,
        "can_design": selectors.can_design(request.user, project),
        "arm_form": ArmForm(initial={"number": (arms.count() or 0) + 1}),
        "event_form": EventForm(),
    }
    return render(request, "projects/events.html", context)


def _redirect_with_error(
    request: HttpRequest, error: InvalidInput, project_id: int
) -> HttpResponse:
    messages.error(request, error.message)
    return redirect("projects:events", project_id=project_id)


@login_required
@require_POST
@domain_errors
def arm_add(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = selectors.access_project_design(request.user, project_id)
    form = ArmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the arm number and name."))
        return redirect("projects:events", project_id=project.pk)
    try:
        services.arm_create(
            context=AuditContext.from_request(request), project=project, **form.cleaned_data
        )
    except InvalidInput as error:
        return _redirect_with_error(request, error, project.pk)
    messages.success(request, _("Arm added."))
    return redirect("projects:events", project_id=project.pk)


@login_required
@require_POST
@domain_errors
def arm_edit(request: AuthedRequest, project_id: int, number: int) -> HttpResponse:
    project = selectors.access_project_design(request.user, project_id)
    arm = get_object_or_404(project.arms, number=number)
    context = AuditContext.from_request(request)
    try:
        if request.POST.get("delete"):
            services.arm_delete(context=context, arm=arm)
            messages.success(request, _("Arm deleted."))
        else:
            services.arm_rename(context=context, arm=arm, name=request.POST.get("name", ""))
            messages.success(request, _("Arm renamed."))
    except InvalidInput as error:
        return _redirect_with_error(request, error, project.pk)
    return redirect("projects:events", project_id=project.pk)


@login_required
@require_POST
@domain_errors
def event_add(request: AuthedRequest, project_id: int, number: int) -> HttpResponse:
    project = selectors.access_project_design(request.user, project_id)
    arm = get_object_or_404(project.arms, number=number)
    form = EventForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the event's name, offset and window."))
        return redirect("projects:events", project_id=project.pk)
    try:
        services.event_create(
            context=AuditContext.from_request(request), arm=arm, **form.cleaned_data
        )
    except InvalidInput as error:
        return _redirect_with_error(request, error, project.pk)
    messages.success(request, _("Event added."))
    return redirect("projects:events", project_id=project.pk)


@login_required
@domain_errors
def event_edit(request: AuthedRequest, project_id: int, event_id: int) -> HttpResponse:
    project = selectors.access_project_design(request.user, project_id)
    event = get_object_or_404(project.events, pk=event_id)
    initial = {name: getattr(event, name) for name in EventForm.base_fields}
    form = EventForm(request.POST or None, initial=initial)
    context = AuditContext.from_request(request)
    if request.method == "POST":
        try:
            if request.POST.get("delete"):
                services.event_delete(context=context, event=event)
                messages.success(request, _("Event deleted."))
                return redirect("projects:events", project_id=project.pk)
            if form.is_valid():
                services.event_update(context=context, event=event, values=form.cleaned_data)
                messages.success(request, _("Event saved."))
                return redirect("projects:events", project_id=project.pk)
        except InvalidInput as error:
            form.add_error(None, error.message)
    return render(
        request, "projects/event_edit.html", {"project": project, "event": event, "form": form}
    )
