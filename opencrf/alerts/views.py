"""The Alerts & Notifications pages: the list, the editor, and the notification log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.alerts import log, services
from opencrf.alerts.models import Alert, FireMode, Language, Notification, RepeatUnit, Trigger
from opencrf.alerts.services import AlertSettings
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.core.views import domain_errors
from opencrf.dictionary.design import design_of
from opencrf.projects.models import Project, ProjectMember, Role
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import access_project, member_rights

LOG_PAGE = 50


def _access(request: AuthedRequest, project_id: int) -> tuple[Project, Rights]:
    project = access_project(request.user, project_id)
    rights = services.require_alerts_right(AuditContext.from_request(request), project)
    return project, rights


@login_required
@domain_errors
def alert_list(request: AuthedRequest, project_id: int) -> HttpResponse:
    project, rights = _access(request, project_id)
    alerts = list(services.alerts_visible(rights, project))
    context = {"project": project, "nav": "alerts", "alerts": alerts, "triggers": Trigger}
    return render(request, "alerts/list.html", context)


@dataclass(frozen=True)
class Choices:
    """What the editor offers: the project's forms, events, members, roles and fields."""

    forms: list[tuple[str, str]]
    events: list[tuple[int, str]]
    users: list[tuple[int, str]]
    roles: list[tuple[int, str]]
    email_fields: list[tuple[str, str]]
    file_fields: list[tuple[str, str]]


def _choices(project: Project) -> Choices:
    design = design_of(project)
    members = ProjectMember.objects.filter(project=project).select_related("user")
    text_rows = [row for row in design.rows if row.field_type == "text"]
    emails = [r for r in text_rows if r.text_validation_type_or_show_slider_number == "email"]
    return Choices(
        forms=[(i.name, i.label or i.name) for i in design.instruments],
        events=[(e.pk, e.unique_name) for e in design.events],
        users=[(m.user_id, m.user.username) for m in members.order_by("user__username")],
        roles=[(r.pk, r.name) for r in Role.objects.filter(project=project).order_by("name")],
        email_fields=[(r.field_name, r.field_name) for r in (emails or text_rows)],
        file_fields=[(r.field_name, r.field_name) for r in design.rows if r.field_type == "file"],
    )


def _number(post: Any, name: str, label: str, blank: str = "0") -> int:
    text = post.get(name, "").strip() or blank
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            _("%(field)s must be a whole number, not %(value)s.") % {"field": label, "value": text}
        ) from None


def _ids(post: Any, name: str) -> list[int]:
    values = post.getlist(name)
    if not all(value.isdigit() for value in values):
        raise InvalidInput(_("No such user or role in this project."))
    return [int(value) for value in values]


def settings_from_post(post: Any) -> AlertSettings:
    """The alert's settings as posted; a malformed number or id refuses the whole form."""
    event = post.get("event_id", "")
    if event and not event.isdigit():
        raise InvalidInput(_("No such event."))
    texts = ("title", "trigger", "form_name", "condition_logic", "fire_mode", "date_logic")
    bodies = ("addresses", "language", "subject_ja", "body_ja", "subject_en", "body_en")
    return AlertSettings(
        **{name: post.get(name, "") for name in (*texts, *bodies)},
        event_id=int(event) if event else None,
        user_ids=_ids(post, "user_ids"),
        role_ids=_ids(post, "role_ids"),
        email_fields=post.getlist("email_fields"),
        attach_fields=post.getlist("attach_fields"),
        repeat_unit=post.get("repeat_unit", RepeatUnit.DAYS),
        cancel_when_false=post.get("cancel_when_false") == "on",
        delay_minutes=_number(post, "delay_minutes", _("Delay")),
        overdue_days=_number(post, "overdue_days", _("Days after the window end"), blank="1"),
        repeat_every=_number(post, "repeat_every", _("Repeat every")),
        repeat_max=_number(post, "repeat_max", _("Times at most")),
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def alert_edit(
    request: AuthedRequest, project_id: int, alert_id: int | None = None
) -> HttpResponse:
    project, rights = _access(request, project_id)
    alert = services.access_alert(rights, project, alert_id) if alert_id else None
    data = AlertSettings.of(alert) if alert else AlertSettings(title="", subject_ja="")
    error = ""
    if request.method == "POST":
        context = AuditContext.from_request(request)
        try:
            data = settings_from_post(request.POST)
            if alert is None:
                services.alert_create(context=context, project=project, settings=data)
            else:
                services.alert_update(context=context, alert=alert, settings=data)
        except InvalidInput as refused:
            error = refused.message
        else:
            messages.success(request, _("The alert was saved."))
            return redirect("alerts:list", project.pk)
    page = {
        "project": project,
        "nav": "alerts",
        "alert": alert,
        "data": data,
        "error": error,
        "choices": _choices(project),
        "triggers": Trigger.choices,
        "fire_modes": FireMode.choices,
        "units": RepeatUnit.choices,
        "languages": Language.choices,
        "longitudinal": project.is_longitudinal,
    }
    return render(request, "alerts/edit.html", page, status=400 if error else 200)


def _posted_alert(request: AuthedRequest, project_id: int, alert_id: int) -> Alert:
    project, rights = _access(request, project_id)
    return services.access_alert(rights, project, alert_id)


@login_required
@require_POST
@domain_errors
def alert_toggle(request: AuthedRequest, project_id: int, alert_id: int) -> HttpResponse:
    alert = _posted_alert(request, project_id, alert_id)
    active = request.POST.get("active") == "1"
    services.alert_set_active(
        context=AuditContext.from_request(request), alert=alert, active=active
    )
    messages.success(
        request, _("The alert was enabled.") if active else _("The alert was disabled.")
    )
    return redirect("alerts:list", project_id)


@login_required
@require_POST
@domain_errors
def alert_copy(request: AuthedRequest, project_id: int, alert_id: int) -> HttpResponse:
    alert = _posted_alert(request, project_id, alert_id)
    copy = services.alert_copy(context=AuditContext.from_request(request), alert=alert)
    messages.success(request, _("The alert was copied; the copy is disabled until you enable it."))
    return redirect("alerts:edit", project_id, copy.pk)


@login_required
@require_POST
@domain_errors
def alert_delete(request: AuthedRequest, project_id: int, alert_id: int) -> HttpResponse:
    alert = _posted_alert(request, project_id, alert_id)
    services.alert_delete(context=AuditContext.from_request(request), alert=alert)
    messages.success(request, _("The alert was deleted; its notifications stay in the log."))
    return redirect("alerts:list", project_id)


@dataclass(frozen=True)
class LogRow:
    notification: Notification
    recipients: list[dict[str, str]]
    error: str
    attachments: list[dict[str, str]]


def _log_row(row: Notification) -> LogRow:
    recipients = [{**r, "error": log.reason_text(r.get("error", ""))} for r in row.recipients]
    attachments = [{**a, "error": log.reason_text(a.get("error", ""))} for a in row.attachments]
    return LogRow(row, recipients, log.reason_text(row.error), attachments)


@login_required
@domain_errors
def notification_log(request: AuthedRequest, project_id: int) -> HttpResponse:
    project, rights = _access(request, project_id)
    rows = log.notifications_visible(rights, project)
    status = request.GET.get("status", "")
    if status in Notification.Status.values:
        rows = rows.filter(status=status)
    page = Paginator(rows, LOG_PAGE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "nav": "alerts",
        "page": page,
        "rows": [_log_row(row) for row in page.object_list],
        "status": status,
        "statuses": Notification.Status.choices,
        "resendable": log.RESENDABLE,
        "member": member_rights(request.user, project),
    }
    return render(request, "alerts/log.html", context)


@login_required
@require_POST
@domain_errors
def notification_resend(
    request: AuthedRequest, project_id: int, notification_id: int
) -> HttpResponse:
    project, _rights = _access(request, project_id)
    context = AuditContext.from_request(request)
    try:
        log.notification_resend(context=context, project=project, notification_id=notification_id)
    except InvalidInput as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The notification will be sent again within a minute."))
    return redirect("alerts:log", project.pk)


@login_required
@require_POST
@domain_errors
def notification_cancel(
    request: AuthedRequest, project_id: int, notification_id: int
) -> HttpResponse:
    project, _rights = _access(request, project_id)
    context = AuditContext.from_request(request)
    try:
        log.notification_cancel(context=context, project=project, notification_id=notification_id)
    except InvalidInput as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The notification was cancelled."))
    return redirect("alerts:log", project.pk)
