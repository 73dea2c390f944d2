"""`content=log`: the project's audit trail as REDCap's logging export (spec §2.21).

Rows `{timestamp, username, action, details, record}`, newest first, from the entries the
user may see (another group's records stay hidden, as on the logging page). Actions are named
as REDCap names them, because scripts match on them (`Manage/Design`, `Update record 5`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from django.utils import timezone

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError, forbidden
from opencrf.api.formats import table_response
from opencrf.audit.models import AuditEvent
from opencrf.projects.history import entries_about_group, entries_about_record
from opencrf.projects.logging_views import change_lines, project_log_entries
from opencrf.projects.models import DataAccessGroup

HEADER = ("timestamp", "username", "action", "details", "record")
RECORD_ACTIONS = {
    "record.create": "Create record",
    "form.update": "Update record",
    "form.delete": "Delete record",
    "record.delete": "Delete record",
    "record.rename": "Update record",
    "record.group": "Update record",
    "record.arm": "Update record",
}
LOG_TYPES = {
    "record": list(RECORD_ACTIONS),
    "record_add": ["record.create"],
    "record_edit": ["form.update", "record.rename", "record.group", "record.arm"],
    "record_delete": ["form.delete", "record.delete"],
    "user": [
        "member.add",
        "member.update",
        "member.remove",
        "role.create",
        "role.update",
        "role.delete",
    ],
    "lock_record": ["record.lock", "record.unlock", "form.lock", "form.unlock", "form.sign"],
    "export": ["data.export"],
    "page_view": [],
}


def _redcap_action(entry: AuditEvent) -> str:
    source = " (API)" if entry.source == "api" else " (import)" if entry.source == "import" else ""
    if entry.action in RECORD_ACTIONS:
        return f"{RECORD_ACTIONS[entry.action]}{source} {entry.record}".rstrip()
    if entry.action.startswith(("member.", "role.")):
        return "Edit user role" if entry.action.startswith("role.") else "Edit user"
    return "Manage/Design"


def _details(entry: AuditEvent) -> str:
    lines = change_lines(entry.changes) if entry.changes else []
    return ", ".join([entry.details, *lines] if entry.details else lines)


def _moment(text: str, name: str) -> datetime | None:
    """REDCap's `YYYY-MM-DD HH:MM[:SS]`, and REDCapR's `24:00` for the end of a day."""
    if not text:
        return None
    day, _space, clock = text.partition(" ")
    extra = timedelta()
    if clock.startswith("24:00"):
        clock, extra = "00:00", timedelta(days=1)
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            naive = datetime.strptime(f"{day} {clock}".strip(), pattern)  # noqa: DTZ007
        except ValueError:
            continue
        return timezone.make_aware(naive) + extra
    raise ApiError(f'The value of the parameter "{name}" is not valid')


def _filtered(call: Call, entries: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    params, project = call.params, call.project
    assert project is not None
    log_type = params.text("logtype")
    if log_type == "manage":
        entries = entries.exclude(action__in=[a for kinds in LOG_TYPES.values() for a in kinds])
    elif log_type:
        if log_type not in LOG_TYPES:
            raise ApiError('The value of the parameter "logtype" is not valid')
        entries = entries.filter(action__in=LOG_TYPES[log_type])
    if params.text("user"):
        entries = entries.filter(actor_name=params.text("user"))
    if params.text("record"):
        entries = entries_about_record(entries, project, params.text("record"))
    if params.text("dag"):
        group = DataAccessGroup.objects.filter(
            project=project, pk=params.number("dag") or 0
        ).first()
        if group is None:
            raise ApiError('The value of the parameter "dag" is not valid')
        entries = entries_about_group(entries, group)
    begin = _moment(params.text("beginTime"), "beginTime")
    end = _moment(params.text("endTime"), "endTime")
    if begin:
        entries = entries.filter(at__gte=begin)
    if end:
        entries = entries.filter(at__lte=end)
    return entries


def log(call: Call) -> HttpResponseBase:
    call.require_export()
    if not call.rights.logging:
        raise forbidden("You do not have permissions to use the API")
    assert call.project is not None
    entries = _filtered(call, project_log_entries(call.user, call.project))

    def rows() -> Any:
        for entry in entries.order_by("-sequence").iterator(chunk_size=1000):
            yield {
                "timestamp": timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M"),
                "username": entry.actor_name,
                "action": _redcap_action(entry),
                "details": _details(entry),
                "record": entry.record,
            }

    return table_response(call.format, HEADER, rows())
