"""Control-centre pages of operations (/control/ops/): overview, backups, incidents, calendar.

Thin views: parse the form, call a service (ops.maintenance, ops.incidents), render. Every
view is `administrator_required` (a 404 for anyone else) and every change needs POST.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.decorators import administrator_required
from opencrf.accounts.models import User
from opencrf.core.errors import InvalidInput
from opencrf.core.middleware import client_address
from opencrf.ops import maintenance
from opencrf.ops.forms import (
    IncidentFilterForm,
    IncidentForm,
    IncidentResolveForm,
    IncidentUpdateForm,
    MaintenanceModeForm,
    MaintenanceWindowForm,
    local_now,
)
from opencrf.ops.health import run_checks, runner_problem
from opencrf.ops.incidents import incident_record, incident_update
from opencrf.ops.instance import instance_role
from opencrf.ops.models import (
    BackupRun,
    DrillRun,
    Incident,
    IncidentStatus,
    MaintenanceWindow,
    WorkerHeartbeat,
)

MANUAL_BACKUP_TASK = "opencrf.ops.backups.tasks.manual_backup"


def _admin(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _local_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Render a page of this area; its templates name the time zone of the times shown."""
    return render(request, template, {"time_zone": settings.TIME_ZONE, **context})


# --- Overview ---


def _heartbeats(now: datetime) -> list[tuple[WorkerHeartbeat, bool]]:
    """Each runner, and whether it works: beating, and not stuck on one job (see health)."""
    return [(beat, runner_problem(beat, now) is None) for beat in WorkerHeartbeat.objects.all()]


@administrator_required
def overview(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    status = maintenance.maintenance_status()
    context = {
        "section": "ops",
        "checks": run_checks(),
        "heartbeats": _heartbeats(now),
        "status": status,
        "mode_form": MaintenanceModeForm(initial={"message": status.message}),
        "role": instance_role(),
        "backups": BackupRun.objects.order_by("-started_at", "-id")[:5],
        "drills": DrillRun.objects.order_by("-started_at", "-id")[:5],
        "open_incidents": Incident.objects.filter(status=IncidentStatus.OPEN)[:10],
        "next_window": MaintenanceWindow.objects.filter(done=False, ends_at__gt=now).first(),
    }
    return _render(request, "ops/overview.html", context)


@administrator_required
@require_POST
def maintenance_mode(request: HttpRequest) -> HttpResponse:
    """The switch: `action=on` (with a message) or `action=off`."""
    admin = _admin(request)
    action = request.POST.get("action")
    form = MaintenanceModeForm(request.POST)
    if action == "on" and form.is_valid():
        maintenance.maintenance_start(
            by=admin.username,
            message=form.cleaned_data["message"],
            actor=admin,
            address=client_address(request),
        )
        messages.success(
            request, _("Maintenance mode is on: changes are refused until you end it.")
        )
    elif action == "off":
        maintenance.maintenance_stop(
            by=admin.username, actor=admin, address=client_address(request)
        )
        messages.success(request, _("Maintenance mode is off: changes are accepted again."))
    elif action == "on":
        messages.error(request, _("The message may have at most 500 characters."))
    else:
        messages.error(request, _("Choose whether to turn maintenance mode on or off."))
    return redirect("ops_control:index")


# --- Backups ---


@administrator_required
def backups(request: HttpRequest) -> HttpResponse:
    context = {
        "section": "ops_backups",
        "backups": Paginator(BackupRun.objects.order_by("-started_at", "-id"), 50).get_page(
            request.GET.get("page")
        ),
        "drills": DrillRun.objects.order_by("-started_at", "-id")[:50],
    }
    return _render(request, "ops/backups.html", context)


@administrator_required
@require_POST
def backup_now(request: HttpRequest) -> HttpResponse:
    """Queue a backup for the worker; the page says plainly when backups are not installed."""
    try:
        manual_backup = import_string(MANUAL_BACKUP_TASK)
    except ImportError:
        messages.error(request, _("Backups are not available: the backup module is missing."))
        return redirect("ops_control:backups")
    manual_backup.enqueue()
    messages.success(
        request, _("A backup is queued; it appears in the list when the worker starts it.")
    )
    return redirect("ops_control:backups")


# --- Incidents ---


def _month_range(year: int, month: int | None) -> tuple[datetime, datetime]:
    zone = _local_zone()
    if month is None:
        return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end


def _filtered_incidents(form: IncidentFilterForm) -> QuerySet[Incident]:
    incidents = Incident.objects.select_related("created_by")
    if not form.is_valid():
        return incidents
    data = form.cleaned_data
    if data.get("level"):
        incidents = incidents.filter(level=data["level"])
    if data.get("status"):
        incidents = incidents.filter(status=data["status"])
    if data.get("year"):
        start, end = _month_range(data["year"], data.get("month"))
        incidents = incidents.filter(started_at__gte=start, started_at__lt=end)
    return incidents


@administrator_required
def incidents(request: HttpRequest) -> HttpResponse:
    form = IncidentFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("A filter was not valid and is ignored."))
    page = Paginator(_filtered_incidents(form), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "section": "ops_incidents",
        "form": form,
        "page": page,
        "filter_query": query.urlencode(),
    }
    return _render(request, "ops/incidents.html", context)


@administrator_required
def incident_new(request: HttpRequest) -> HttpResponse:
    form = IncidentForm(request.POST or None, initial={"started_at": local_now()})
    if request.method == "POST" and form.is_valid():
        try:
            incident = incident_record(actor=_admin(request), **form.cleaned_data)
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The incident is recorded."))
            return redirect("ops_control:incident", incident_id=incident.pk)
    return _render(request, "ops/incident_new.html", {"form": form, "section": "ops_incidents"})


@administrator_required
def incident_detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.select_related("created_by"), pk=incident_id)
    initial = {"level": incident.level, "impact": incident.impact, "actions": incident.actions}
    form = IncidentUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            incident_update(incident, **form.cleaned_data)
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The incident is saved."))
            return redirect("ops_control:incident", incident_id=incident.pk)
    context = {
        "incident": incident,
        "form": form,
        "resolve_form": IncidentResolveForm(initial={"ended_at": local_now()}),
        "section": "ops_incidents",
    }
    return _render(request, "ops/incident_detail.html", context)


@administrator_required
@require_POST
def incident_resolve(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_id)
    form = IncidentResolveForm(request.POST)
    if incident.status == IncidentStatus.RESOLVED:
        messages.error(request, _("The incident is already resolved."))
    elif not form.is_valid():
        messages.error(request, _("Give the date and time the incident ended."))
    else:
        try:
            incident_update(incident, resolve_at=form.cleaned_data["ended_at"])
        except InvalidInput as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The incident is resolved."))
    return redirect("ops_control:incident", incident_id=incident.pk)


# --- The maintenance calendar ---


@administrator_required
def calendar(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    windows = MaintenanceWindow.objects.select_related("created_by")
    context = {
        "section": "ops_calendar",
        "upcoming": windows.filter(done=False, ends_at__gt=now),
        "past": windows.filter(Q(done=True) | Q(ends_at__lte=now)).order_by("-starts_at")[:50],
        "now": now,
    }
    return _render(request, "ops/calendar.html", context)


def _window_values(form: MaintenanceWindowForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.fields}


@administrator_required
def window_new(request: HttpRequest) -> HttpResponse:
    form = MaintenanceWindowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            maintenance.maintenance_window_create(actor=_admin(request), **_window_values(form))
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The maintenance is on the calendar."))
            return redirect("ops_control:calendar")
    context = {"form": form, "window": None, "section": "ops_calendar"}
    return _render(request, "ops/window_form.html", context)


@administrator_required
def window_edit(request: HttpRequest, window_id: int) -> HttpResponse:
    window = get_object_or_404(MaintenanceWindow, pk=window_id)
    initial = {
        "title": window.title,
        "kind": window.kind,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        "announce_days": window.announce_days,
        "description": window.description,
    }
    form = MaintenanceWindowForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            maintenance.maintenance_window_update(window, **_window_values(form))
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The maintenance is saved."))
            return redirect("ops_control:calendar")
    context = {"form": form, "window": window, "section": "ops_calendar"}
    return _render(request, "ops/window_form.html", context)


@administrator_required
@require_POST
def window_done(request: HttpRequest, window_id: int) -> HttpResponse:
    window = get_object_or_404(MaintenanceWindow, pk=window_id)
    maintenance.maintenance_window_mark_done(window)
    messages.success(request, _("The maintenance is marked done; its banner is gone."))
    return redirect("ops_control:calendar")


@administrator_required
@require_POST
def window_delete(request: HttpRequest, window_id: int) -> HttpResponse:
    window = get_object_or_404(MaintenanceWindow, pk=window_id)
    try:
        maintenance.maintenance_window_delete(window)
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The maintenance is removed from the calendar."))
    return redirect("ops_control:calendar")
