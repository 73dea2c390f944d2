"""The calendar pages: month and list views, ad-hoc entries, set-up, iCalendar export, and the
record page's schedule actions. Thin: parse, call a selector or service, render."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput
from opencrf.core.views import domain_errors
from opencrf.dictionary.design import design_of
from opencrf.projects.models import DataAccessGroup, Project
from opencrf.projects.selectors import access_project, access_project_design, member_rights
from opencrf.records.selectors import access_record
from opencrf.scheduling import dates, selectors, services
from opencrf.scheduling.ical import CalendarItem, calendar_lines
from opencrf.scheduling.models import CalendarEntry, Visit

# The iCalendar export covers visits planned from a year ago to three years ahead.
ICAL_PAST_DAYS, ICAL_FUTURE_DAYS = 366, 3 * 366


@dataclass(frozen=True)
class Filters:
    """The calendar's filters as asked for and understood."""

    month: date
    group: DataAccessGroup | None
    status: str
    groups: list[DataAccessGroup]

    def query(self, **changes: str) -> str:
        values = {
            "month": self.month.strftime("%Y-%m"),
            "group": str(self.group.pk) if self.group else "",
            "status": self.status,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v})


def _filters(request: AuthedRequest, project: Project, today: date) -> Filters:
    """Parse `month`, `group` and `status`; a value not understood is said and left out."""
    rights = member_rights(request.user, project)
    groups = [] if rights.group_id is not None else list(project.groups.all())
    asked_group, status = request.GET.get("group", ""), request.GET.get("status", "")
    group = next((g for g in groups if str(g.pk) == asked_group), None)
    if asked_group and group is None:
        messages.error(request, _("Site: no such data access group; showing every site."))
    if status and status not in selectors.STATUSES:
        messages.error(request, _("Status: unknown status; showing every status."))
        status = ""
    return Filters(dates.parse_month(request.GET.get("month", ""), today), group, status, groups)


@dataclass
class Day:
    day: date
    in_month: bool
    today: bool = False
    visits: list[selectors.VisitRow] = field(default_factory=list)
    entries: list[CalendarEntry] = field(default_factory=list)


def _calendar_context(
    request: AuthedRequest, project: Project, first: date, last: date, today: date
) -> dict[str, object]:
    filters = _filters(request, project, today)
    group_id = filters.group.pk if filters.group else None
    visits = selectors.calendar_visits(
        request.user, project, first, last, today=today, group_id=group_id, status=filters.status
    )
    entries = (
        []
        if filters.status
        else selectors.calendar_entries(request.user, project, first, last, group_id=group_id)
    )
    rights = member_rights(request.user, project)
    return {
        "project": project,
        "nav": "calendar",
        "filters": filters,
        "statuses": selectors.status_labels(),
        "visits": selectors.visit_rows(visits, today),
        "weekdays": [WEEKDAYS_ABBR[day] for day in (6, 0, 1, 2, 3, 4, 5)],
        "entries": entries,
        "today": today,
        "may_edit": selectors.may_edit_schedules(rights),
        "may_design": rights.design,
        "previous": filters.query(month=dates.previous_month(filters.month).strftime("%Y-%m")),
        "next": filters.query(month=dates.next_month(filters.month).strftime("%Y-%m")),
        "this_month": filters.query(month=today.strftime("%Y-%m")),
    }


def _month_range(request: AuthedRequest, project: Project, today: date) -> tuple[date, date]:
    first = dates.parse_month(request.GET.get("month", ""), today)
    return first, dates.month_end(first)


@login_required
@require_GET
@domain_errors
def calendar_month(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    today = timezone.localdate()
    first, _last = _month_range(request, project, today)
    weeks = dates.month_weeks(first)
    context = _calendar_context(request, project, weeks[0][0], weeks[-1][-1], today)
    days = {d: Day(d, d.month == first.month, d == today) for week in weeks for d in week}
    rows: list[selectors.VisitRow] = context["visits"]  # type: ignore[assignment]
    for row in rows:
        days[row.visit.planned_date].visits.append(row)
    entries: list[CalendarEntry] = context["entries"]  # type: ignore[assignment]
    for entry in entries:
        days[entry.date].entries.append(entry)
    context["weeks"] = [[days[day] for day in week] for week in weeks]
    context["view"] = "month"
    return render(request, "scheduling/calendar.html", context)


@login_required
@require_GET
@domain_errors
def calendar_list(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    today = timezone.localdate()
    first, last = _month_range(request, project, today)
    context = _calendar_context(request, project, first, last, today)
    context["view"] = "list"
    return render(request, "scheduling/calendar.html", context)


# --- Ad-hoc entries -----------------------------------------------------------------------


def _entry_input(request: AuthedRequest) -> services.EntryInput:
    """The entry form's fields, parsed; InvalidInput names the field that is wrong."""
    day = dates.parse_date(request.POST.get("date", ""), _("Date"))
    return services.EntryInput(
        date=day,
        time=_parse_time(request.POST.get("time", "")),
        title=request.POST.get("title", ""),
        notes=request.POST.get("notes", ""),
        record_id=request.POST.get("record_id", ""),
    )


def _parse_time(text: str) -> time | None:
    if not text.strip():
        return None
    try:
        return time.fromisoformat(text.strip()[:8])
    except ValueError:
        raise InvalidInput(
            _("Time: “%(value)s” is not a time (HH:MM).") % {"value": text.strip()[:20]}
        ) from None


def _calendar_url(project: Project, day: date) -> str:
    return reverse("scheduling:calendar", args=[project.pk]) + f"?month={day:%Y-%m}"


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def entry_new(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    selectors.require_schedule_editor(request.user, project)
    context: dict[str, object] = {"project": project, "nav": "calendar", "entry": None}
    if request.method == "POST":
        try:
            entry = services.entry_create(
                context=AuditContext.from_request(request),
                user=request.user,
                project=project,
                data=_entry_input(request),
            )
        except InvalidInput as error:
            context["error"] = error.message
        else:
            messages.success(request, _("The calendar entry was added."))
            return redirect(_calendar_url(project, entry.date))
    context["form"] = request.POST if request.method == "POST" else _blank_form(request)
    return render(request, "scheduling/entry_form.html", context, status=_status(context))


def _blank_form(request: AuthedRequest) -> dict[str, str]:
    return {"date": request.GET.get("date", "")[:10], "record_id": request.GET.get("record", "")}


def _status(context: dict[str, object]) -> int:
    return 400 if "error" in context else 200


def _entry_form(entry: CalendarEntry) -> dict[str, str]:
    return {
        "date": entry.date.isoformat(),
        "time": entry.time.strftime("%H:%M") if entry.time else "",
        "title": entry.title,
        "notes": entry.notes,
        "record_id": entry.record.record_id if entry.record else "",
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def entry_edit(request: AuthedRequest, project_id: int, entry_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    entry = selectors.access_entry(request.user, project, entry_id)
    rights = member_rights(request.user, project)
    may_edit = selectors.may_edit_entry(rights, entry)
    context: dict[str, object] = {
        "project": project,
        "nav": "calendar",
        "entry": entry,
        "may_edit": may_edit,
    }
    if request.method == "POST":
        try:
            services.entry_update(
                context=AuditContext.from_request(request),
                user=request.user,
                entry=entry,
                data=_entry_input(request),
            )
        except InvalidInput as error:
            context["error"] = error.message
        else:
            messages.success(request, _("The calendar entry was saved."))
            return redirect(_calendar_url(project, entry.date))
    context["form"] = request.POST if request.method == "POST" else _entry_form(entry)
    return render(request, "scheduling/entry_form.html", context, status=_status(context))


@login_required
@require_POST
@domain_errors
def entry_delete(request: AuthedRequest, project_id: int, entry_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    entry = selectors.access_entry(request.user, project, entry_id)
    try:
        services.entry_delete(
            context=AuditContext.from_request(request), user=request.user, entry=entry
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The calendar entry was deleted."))
    return redirect(_calendar_url(project, entry.date))


# --- Set-up -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorChoice:
    value: str  # "<field name>@<event unique name>"
    label: str


def _anchor_choices(project: Project) -> dict[int, list[AnchorChoice]]:
    """Arm id → every (date field, event of the arm collecting its form) to start from."""
    design = design_of(project)
    fields = services.date_fields(project)
    choices: dict[int, list[AnchorChoice]] = {}
    for event in design.events:
        for field_name, form_name in fields.items():
            if design.has_form(project, event, form_name):
                label = f"{field_name} ({event.name})" if project.is_longitudinal else field_name
                choice = AnchorChoice(f"{field_name}@{event.unique_name}", label)
                choices.setdefault(event.arm_id, []).append(choice)
    return choices


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def setup(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project_design(request.user, project_id)
    if request.method == "POST":
        try:
            changed = _save_anchors(request, project)
        except InvalidInput as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("The start dates were saved; %(count)s schedules were built or changed.")
                % {"count": changed},
            )
        return redirect("scheduling:setup", project.pk)
    anchors = selectors.project_anchors(project)
    choices = _anchor_choices(project)
    arms = [
        {
            "arm": arm,
            "choices": choices.get(arm.pk, []),
            "current": (
                f"{anchors[arm.pk].field_name}@{anchors[arm.pk].event.unique_name}"
                if arm.pk in anchors
                else ""
            ),
        }
        for arm in project.arms.all()
    ]
    events = project.events.select_related("arm").order_by("arm__number", "position", "id")
    context = {"project": project, "nav": "calendar", "arms": arms, "events": events}
    return render(request, "scheduling/setup.html", context)


@transaction.atomic  # every arm's choice, or none of them
def _save_anchors(request: AuthedRequest, project: Project) -> int:
    context = AuditContext.from_request(request)
    changed = 0
    for arm in project.arms.all():
        asked = request.POST.get(f"arm_{arm.number}", "")
        field_name, _at, event_name = asked.partition("@")
        event = project.events.filter(unique_name=event_name).first() if field_name else None
        changed += services.anchor_set(
            context=context, project=project, arm=arm, field_name=field_name, event=event
        )
    return changed


@login_required
@require_POST
@domain_errors
def rebuild(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project_design(request.user, project_id)
    changed = services.schedules_rebuild(
        context=AuditContext.from_request(request), project=project
    )
    messages.success(request, _("%(count)s schedules were rebuilt.") % {"count": changed})
    return redirect("scheduling:setup", project.pk)


# --- The record page's actions ------------------------------------------------------------


def _record_url(project: Project, record_id: str) -> str:
    return reverse("records:home", args=[project.pk, record_id]) + "#record-schedule"


@login_required
@require_POST
@domain_errors
def record_generate(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    project = access_project(request.user, project_id)
    record = access_record(request.user, project, record_id)
    asked_arm = request.POST.get("arm", "")
    plain = asked_arm.isascii() and asked_arm.isdigit() and len(asked_arm) <= 6
    arm = project.arms.filter(number=int(asked_arm)).first() if plain else None
    try:
        if arm is None:
            raise InvalidInput(_("Arm: no such arm."))
        start = dates.parse_date(request.POST.get("start", ""), _("Start date"))
        services.schedule_generate(
            context=AuditContext.from_request(request),
            user=request.user,
            record=record,
            arm=arm,
            start=start,
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The schedule was generated."))
    return redirect(_record_url(project, record.record_id))


@login_required
@require_POST
@domain_errors
def visit_move(
    request: AuthedRequest, project_id: int, record_id: str, event_name: str
) -> HttpResponse:
    project = access_project(request.user, project_id)
    record = access_record(request.user, project, record_id)
    visit = selectors.access_visit(request.user, record, event_name)
    try:
        asked = request.POST.get("planned", "")
        planned = dates.parse_date(asked, _("Planned date")) if asked.strip() else None
        services.visit_move(
            context=AuditContext.from_request(request),
            user=request.user,
            visit=visit,
            planned=planned,
            reason=request.POST.get("reason", ""),
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The visit was planned again."))
    return redirect(_record_url(project, record.record_id))


# --- iCalendar ----------------------------------------------------------------------------


@login_required
@require_GET
@domain_errors
def ical(request: AuthedRequest, project_id: int) -> StreamingHttpResponse:
    """The visits the user may see, as an .ics file (a download: no secret feed address
    that would let a calendar program in without the user's sign-in)."""
    project = access_project(request.user, project_id)
    today = timezone.localdate()
    span = (today - timedelta(days=ICAL_PAST_DAYS), today + timedelta(days=ICAL_FUTURE_DAYS))
    visits = selectors.visits_visible_to(request.user, project).filter(planned_date__range=span)
    host = request.get_host().split(":")[0] or "opencrf"
    ordered = visits.order_by("planned_date", "record__sort_key", "event__position")
    language = translation.get_language()

    def items() -> Iterator[CalendarItem]:
        # Streamed after the view returns: the page's language, whatever the thread has then.
        with translation.override(language):
            for visit in ordered.iterator(chunk_size=2000):
                yield _ical_item(visit, host, today)

    with transaction.atomic():
        audit_event_create(
            context=AuditContext.from_request(request),
            project_id=project.pk,
            action="calendar.export",
            details="iCalendar",
        )
    lines = calendar_lines(project.title, items(), timezone.now())
    response = StreamingHttpResponse(lines, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="visits-{project.pk}.ics"'
    return response


def _ical_item(visit: Visit, host: str, today: date) -> CalendarItem:
    """A visit as an all-day event: the record id and the event, nothing else of the record."""
    summary = _("Record %(record)s: %(event)s") % {
        "record": visit.record.record_id,
        "event": visit.event.name,
    }
    description = _("Window: %(start)s to %(end)s. Status: %(status)s.") % {
        "start": visit.window_start.isoformat(),
        "end": visit.window_end.isoformat(),
        "status": selectors.status_labels()[selectors.visit_status(visit, today)],
    }
    uid = f"visit-{visit.record_id}-{visit.event_id}@{host}"
    return CalendarItem(uid=uid, day=visit.planned_date, summary=summary, description=description)
