"""The project's Logging page (REDCap's "Logging"): its audit trail, filtered, and as CSV.

Filters arrive as GET parameters; an invalid one is named in a message and ignored, so the page
always answers. Times are shown, and dates of the range read, in settings.TIME_ZONE; the database
holds UTC.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import orjson
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opencrf.accounts.models import User
from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.models import AuditEvent
from opencrf.core.downloads import content_disposition
from opencrf.core.views import domain_errors
from opencrf.projects import selectors
from opencrf.projects.history import entries_about_record, log_entries_visible_to
from opencrf.projects.models import Project

PAGE_SIZE = 50
CSV_CHUNK_SIZE = 2000
# A cell starting with one of these is a formula to a spreadsheet (DESIGN §5.10).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

ACTION_LABELS = {
    "project.create": gettext_lazy("Create project"),
    "project.update": gettext_lazy("Update project settings"),
    "project.delete": gettext_lazy("Delete project"),
    "project.delete_request": gettext_lazy("Request project deletion"),
    "project.delete_reject": gettext_lazy("Refuse project deletion"),
    "project.restore": gettext_lazy("Restore project"),
    "arm.create": gettext_lazy("Create arm"),
    "arm.update": gettext_lazy("Rename arm"),
    "arm.delete": gettext_lazy("Delete arm"),
    "event.create": gettext_lazy("Create event"),
    "event.update": gettext_lazy("Update event"),
    "event.delete": gettext_lazy("Delete event"),
    "event.replace": gettext_lazy("Replace arms and events"),
    "mapping.update": gettext_lazy("Designate instruments"),
    "repeat.update": gettext_lazy("Set repeating instruments and events"),
    "group.create": gettext_lazy("Create data access group"),
    "group.update": gettext_lazy("Rename data access group"),
    "group.delete": gettext_lazy("Delete data access group"),
    "member.add": gettext_lazy("Add user"),
    "member.update": gettext_lazy("Update user rights"),
    "member.remove": gettext_lazy("Remove user"),
    "member.group": gettext_lazy("Assign user to data access group"),
    "member.switch": gettext_lazy("Switch data access group"),
    "role.create": gettext_lazy("Create role"),
    "role.update": gettext_lazy("Update role"),
    "role.delete": gettext_lazy("Delete role"),
    "record.group": gettext_lazy("Move record to data access group"),
    "dictionary.update": gettext_lazy("Update data dictionary"),
    "instrument.update": gettext_lazy("Update instrument"),
    "record.create": gettext_lazy("Create record"),
    "record.delete": gettext_lazy("Delete record"),
    "record.rename": gettext_lazy("Rename record"),
    "record.arm": gettext_lazy("Change the arms of a record"),
    "form.update": gettext_lazy("Update form"),
    "form.delete": gettext_lazy("Delete form"),
    "form.lock": gettext_lazy("Lock form"),
    "form.sign": gettext_lazy("E-sign form"),
    "form.lock_text": gettext_lazy("Set lock text"),
    "record.purge": gettext_lazy("Delete test records"),
    "project.status": gettext_lazy("Change project status"),
    "project.status_request": gettext_lazy("Request project status change"),
    "project.status_request_reject": gettext_lazy("Refuse project status change"),
    "draft.enter": gettext_lazy("Enter draft mode"),
    "draft.update": gettext_lazy("Change draft"),
    "draft.submit": gettext_lazy("Submit draft"),
    "draft.apply": gettext_lazy("Apply draft"),
    "draft.reject": gettext_lazy("Reject draft"),
    "draft.discard": gettext_lazy("Discard draft"),
    "language.create": gettext_lazy("Add language"),
    "language.base": gettext_lazy("Set base language"),
    "language.delete": gettext_lazy("Remove language"),
    "translation.upload": gettext_lazy("Upload translations"),
    "translation.update": gettext_lazy("Update translations"),
    "translation.copy": gettext_lazy("Copy translations"),
    "translation.import": gettext_lazy("Import translations"),
    "dq_rule.create": gettext_lazy("Create data quality rule"),
    "dq_rule.update": gettext_lazy("Update data quality rule"),
    "dq_rule.delete": gettext_lazy("Delete data quality rule"),
    "dq_rule.move": gettext_lazy("Reorder data quality rules"),
    "dq_result.exclude": gettext_lazy("Exclude data quality result"),
    "dq_check.warn": gettext_lazy("Edit check warning"),
    "dq_check.confirm": gettext_lazy("Confirm edit check"),
    "dq_check.override": gettext_lazy("Override edit check"),
    "query.open": gettext_lazy("Open query"),
    "query.respond": gettext_lazy("Respond to query"),
    "query.close": gettext_lazy("Close query"),
    "query.reopen": gettext_lazy("Reopen query"),
    "query.verify": gettext_lazy("Verify query"),
    "comment.add": gettext_lazy("Add field comment"),
    "comment.edit": gettext_lazy("Edit field comment"),
    "comment.delete": gettext_lazy("Delete field comment"),
    "verification.verify": gettext_lazy("Verify against source"),
    "verification.unverify": gettext_lazy("Take back source verification"),
    "verification.invalidated": gettext_lazy("Source verification no longer valid"),
    "form.unlock": gettext_lazy("Unlock form"),
    "record.lock": gettext_lazy("Lock record"),
    "record.unlock": gettext_lazy("Unlock record"),
    "project.requested": gettext_lazy("Request project"),
    "project.request_approved": gettext_lazy("Approve project request"),
    "project.request_rejected": gettext_lazy("Reject project request"),
    "api.token_create": gettext_lazy("Create API token"),
    "api.token_regenerate": gettext_lazy("Regenerate API token"),
    "api.token_delete": gettext_lazy("Delete API token"),
    "file.store": gettext_lazy("Upload file"),
    "file.delete": gettext_lazy("Delete file"),
    "file.refused": gettext_lazy("Refuse infected file"),
    "repository.folder": gettext_lazy("Create folder in file repository"),
    "report.create": gettext_lazy("Create report"),
    "report.update": gettext_lazy("Update report"),
    "report.copy": gettext_lazy("Copy report"),
    "report.delete": gettext_lazy("Delete report"),
    "data.export": gettext_lazy("Export data"),
    "export.request": gettext_lazy("Request export file"),
    "export.download": gettext_lazy("Download export file"),
    "export.expire": gettext_lazy("Expire export file"),
    "training.reset": gettext_lazy("Reset training instance"),
    "survey.enable": gettext_lazy("Enable survey"),
    "survey.update": gettext_lazy("Update survey settings"),
    "survey.disable": gettext_lazy("Disable survey"),
    "survey.consent": gettext_lazy("Sign e-consent"),
    "survey.participant_add": gettext_lazy("Add survey participant"),
    "survey.participant_update": gettext_lazy("Update survey participant"),
    "survey.participant_delete": gettext_lazy("Delete survey participant"),
    "survey.auto_invitation.save": gettext_lazy("Save automated survey invitation"),
    "survey.invitation.scheduled": gettext_lazy("Schedule survey invitation"),
    "survey.invitation.cancelled": gettext_lazy("Cancel survey invitation"),
    "survey.invitation.skipped": gettext_lazy("Skip survey invitation"),
    "survey.invitation.sent": gettext_lazy("Send survey invitation"),
    "survey.link_export": gettext_lazy("Export survey link (API)"),
    "survey.access_code_export": gettext_lazy("Export survey access code (API)"),
    "survey.return_code_export": gettext_lazy("Export survey return code (API)"),
    "survey.queue_link_export": gettext_lazy("Export survey queue link (API)"),
    "survey.participants_export": gettext_lazy("Export survey participant list (API)"),
    "schedule.anchor": gettext_lazy("Set schedule start date field"),
    "schedule.generate": gettext_lazy("Generate visit schedule"),
    "schedule.regenerate": gettext_lazy("Regenerate visit schedule"),
    "schedule.delete": gettext_lazy("Remove visit schedule"),
    "schedule.visit_move": gettext_lazy("Move planned visit"),
    "calendar.entry_create": gettext_lazy("Add calendar entry"),
    "calendar.entry_update": gettext_lazy("Update calendar entry"),
    "calendar.entry_delete": gettext_lazy("Delete calendar entry"),
    "calendar.export": gettext_lazy("Export calendar (iCalendar)"),
    "alert.create": gettext_lazy("Create alert"),
    "alert.update": gettext_lazy("Update alert"),
    "alert.enable": gettext_lazy("Enable alert"),
    "alert.disable": gettext_lazy("Disable alert"),
    "alert.copy": gettext_lazy("Copy alert"),
    "alert.delete": gettext_lazy("Delete alert"),
    "alert.notification.scheduled": gettext_lazy("Schedule alert notification"),
    "alert.notification.cancelled": gettext_lazy("Cancel alert notification"),
    "alert.notification.resend": gettext_lazy("Resend alert notification"),
    "randomization.setup": gettext_lazy("Set up randomization"),
    "randomization.table_replace": gettext_lazy("Save allocation table"),
    "randomization.table_add": gettext_lazy("Add rows to the production allocation table"),
    "randomization.table_download": gettext_lazy("Download allocation table"),
    "randomization.erase": gettext_lazy("Erase development allocations"),
    "randomization.allocate": gettext_lazy("Randomize record"),
    "randomization.export": gettext_lazy("Export allocation list"),
    "randomization.blinding": gettext_lazy("Change randomization blinding"),
    "randomization.unblind": gettext_lazy("Emergency unblinding of a record"),
}

# Fixed texts that code writes into an entry's details, in English as kept (the audit hash
# covers them), shown translated. A part in (?P<name>...) is data, put back as it was.
_DETAIL_PATTERNS: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(pattern, re.DOTALL), text)
    for pattern, text in (
        (
            r"E-consent signed \(version (?P<version>.*)\)",
            gettext_lazy("E-consent signed (version %(version)s)"),
        ),
        (
            r"Download survey link \(API\): (?P<what>.*)",
            gettext_lazy("Download survey link (API): %(what)s"),
        ),
        (
            r"Download survey access code \(API\): (?P<what>.*)",
            gettext_lazy("Download survey access code (API): %(what)s"),
        ),
        (
            r"Download survey return code \(API\): (?P<what>.*)",
            gettext_lazy("Download survey return code (API): %(what)s"),
        ),
        (r"Download survey queue link \(API\)", gettext_lazy("Download survey queue link (API)")),
        (
            r"Download survey participant list \(API\): (?P<what>.*)",
            gettext_lazy("Download survey participant list (API): %(what)s"),
        ),
        (r"Upload file: (?P<name>.*)", gettext_lazy("Upload file: %(name)s")),
        (r"Refuse infected file: (?P<name>.*)", gettext_lazy("Refuse infected file: %(name)s")),
        (r"Delete file: (?P<name>.*)", gettext_lazy("Delete file: %(name)s")),
        (r"Create folder: (?P<name>.*)", gettext_lazy("Create folder: %(name)s")),
        (r"API token of (?P<user>.*)", gettext_lazy("API token of %(user)s")),
        (r"automated invitation (?P<n>\d+)", gettext_lazy("automated invitation %(n)s")),
        (
            r"automated invitation (?P<n>\d+): condition false",
            gettext_lazy("automated invitation %(n)s: condition false"),
        ),
        (
            r"automated invitation (?P<n>\d+): no e-mail address",
            gettext_lazy("automated invitation %(n)s: no e-mail address"),
        ),
        (r"compose", gettext_lazy("compose")),
        (r"compose; reminder (?P<n>\d+)", gettext_lazy("compose; reminder %(n)s")),
        (r"resend of invitation (?P<old>\d+)", gettext_lazy("resend of invitation %(old)s")),
        (
            r"resend of invitation (?P<old>\d+); reminder (?P<n>\d+)",
            gettext_lazy("resend of invitation %(old)s; reminder %(n)s"),
        ),
        (r"invitation (?P<n>\d+)", gettext_lazy("invitation %(n)s")),
        (r"participant (?P<n>\d+)", gettext_lazy("participant %(n)s")),
    )
)


def action_label(code: str) -> str:
    """The translated label of an action code; unknown codes are shown as they are."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def details_text(details: str) -> str:
    """An entry's details, translated when they are one of the fixed texts code writes."""
    for pattern, text in _DETAIL_PATTERNS:
        match = pattern.fullmatch(details)
        if match is not None:
            return str(text) % match.groupdict()
    return details


@dataclass(frozen=True, slots=True)
class LogRow:
    """One audit entry as shown on the page and in the export."""

    time: str
    user: str
    action: str
    record: str
    event: str
    instrument: str
    instance: str
    details: str
    changes: list[str]
    reason: str


class LoggingFilterForm(forms.Form):
    record = forms.CharField(required=False, max_length=100, label=gettext_lazy("Record"))
    user = forms.CharField(required=False, max_length=150, label=gettext_lazy("User"))
    action = forms.ChoiceField(required=False, label=gettext_lazy("Action"))
    date_from = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], label=gettext_lazy("From")
    )
    date_to = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label=gettext_lazy("To"))

    def __init__(self, data: Mapping[str, Any], actions: Iterable[str]) -> None:
        super().__init__(data)
        choices = [(code, action_label(code)) for code in actions]
        self.fields["action"].choices = [("", _("All actions")), *choices]  # type: ignore[attr-defined]

    def valid_filters(self) -> dict[str, Any]:
        """The filters that passed validation; the others are dropped."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}


def project_log_entries(user: User, project: Project) -> QuerySet[AuditEvent]:
    """The project's audit entries `user` may see (the page, its CSV and the API's `log`)."""
    return log_entries_visible_to(user, project)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def _apply_filters(
    project: Project, entries: QuerySet[AuditEvent], filters: Mapping[str, Any]
) -> QuerySet[AuditEvent]:
    if "record" in filters:
        entries = entries_about_record(entries, project, filters["record"])
    if "user" in filters:
        entries = entries.filter(actor_name=filters["user"])
    if "action" in filters:
        entries = entries.filter(action=filters["action"])
    if "date_from" in filters:
        entries = entries.filter(at__gte=_day_start(filters["date_from"]))
    if "date_to" in filters:
        entries = entries.filter(at__lt=_day_start(filters["date_to"] + timedelta(days=1)))
    return entries.order_by("-sequence")


def _filter_form(request: AuthedRequest, project: Project) -> LoggingFilterForm:
    actions = (
        project_log_entries(request.user, project)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
    return LoggingFilterForm(request.GET, actions)


def _report_ignored_filters(request: AuthedRequest, form: LoggingFilterForm) -> None:
    for name in form.errors:
        value = form.data.get(name, "")
        if name in ("date_from", "date_to"):
            message = _(
                "“%(value)s” is not a date (YYYY-MM-DD); the “%(filter)s” filter was ignored."
            )
        else:
            message = _("“%(value)s” is not a valid value; the “%(filter)s” filter was ignored.")
        messages.warning(request, message % {"value": value, "filter": form.fields[name].label})


def change_lines(changes: Mapping[str, Any]) -> list[str]:
    """`field: 'old' → 'new'` for each [old, new] pair; other summaries as compact JSON.

    Sorted by name: PostgreSQL's jsonb does not keep the order the keys were written in.
    """
    lines = []
    for name, value in sorted(changes.items()):
        if (
            isinstance(value, list)
            and len(value) == 2
            and not any(isinstance(part, (list, dict)) for part in value)
        ):
            old, new = ("" if part is None else str(part) for part in value)
            lines.append(f"{name}: '{old}' → '{new}'")
        elif value not in ([], {}, "", None):
            lines.append(f"{name}: {orjson.dumps(value).decode()}")
    return lines


def _log_row(entry: AuditEvent) -> LogRow:
    return LogRow(
        time=timezone.localtime(entry.at, timezone.get_default_timezone()).strftime(
            "%Y-%m-%d %H:%M:%S"
        ),
        user=entry.actor_name or _("(system)"),
        action=action_label(entry.action),
        record=entry.record,
        event=entry.event,
        instrument=entry.instrument,
        instance="" if entry.instance is None else str(entry.instance),
        details=details_text(entry.details),
        changes=change_lines(entry.changes if isinstance(entry.changes, dict) else {}),
        reason=entry.reason,
    )


@login_required
@domain_errors
def logging_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = selectors.access_project_with(request.user, project_id, "logging")
    form = _filter_form(request, project)
    filters = form.valid_filters()
    _report_ignored_filters(request, form)
    entries = _apply_filters(project, project_log_entries(request.user, project), filters)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "nav": "logging",
        "time_zone": settings.TIME_ZONE,
        "form": form,
        "page": page,
        "rows": [_log_row(entry) for entry in page.object_list],
    }
    return render(request, "projects/logging.html", context)


class _Echo:
    """A file-like object whose `write` returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def neutralise(cell: str) -> str:
    """Prefix `'` to a cell a spreadsheet would read as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _csv_header() -> list[str]:
    return [
        _("Time"),
        _("User"),
        _("Action"),
        _("Record"),
        _("Event"),
        _("Instrument"),
        _("Instance"),
        _("Details"),
        _("Changes"),
        _("Reason"),
    ]


def _csv_cells(row: LogRow) -> list[str]:
    cells = [row.time, row.user, row.action, row.record, row.event, row.instrument]
    cells += [row.instance, row.details, "\n".join(row.changes), row.reason]
    return cells


def _csv_lines(entries: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([neutralise(cell) for cell in _csv_header()])
    for entry in entries:
        yield writer.writerow([neutralise(cell) for cell in _csv_cells(_log_row(entry))])


@login_required
@domain_errors
def logging_export(request: AuthedRequest, project_id: int) -> StreamingHttpResponse:
    project = selectors.access_project_with(request.user, project_id, "logging")
    filters = _filter_form(request, project).valid_filters()
    entries = _apply_filters(project, project_log_entries(request.user, project), filters)
    response = StreamingHttpResponse(
        _csv_lines(entries.iterator(chunk_size=CSV_CHUNK_SIZE)),
        content_type="text/csv; charset=utf-8",
    )
    today = timezone.localdate(timezone=timezone.get_default_timezone())
    filename = f"opencrf_project{project.pk}_logging_{today:%Y-%m-%d}.csv"
    response["Content-Disposition"] = content_disposition(filename)
    return response
