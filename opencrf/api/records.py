"""`content=record`: export (flat or EAV), and later import, delete and rename (spec §2.1–2.4)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.api.formats import DELIMITERS, table_response
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.projects.models import ProjectMember
from opencrf.records.export import (
    ExportOptions,
    eav_header,
    eav_rows,
    export_layout,
    flat_rows,
)
from opencrf.records.models import FormData, Record
from opencrf.records.selectors import records_visible_to


def record(call: Call) -> HttpResponseBase:
    action = call.params.text("action")
    if action in ("", "export") and not call.has_data():
        return export(call)
    raise ApiError('The value of the parameter "action" is not valid')


def export(call: Call) -> HttpResponseBase:
    project = call.project
    assert project is not None
    design = design_of(project)
    params = call.params
    _check_names(design, params.items("fields"), params.items("forms"))
    layout = export_layout(
        project,
        design,
        fields=params.items("fields"),
        forms=params.items("forms"),
        groups=params.flag("exportDataAccessGroups") and not _in_a_group(call),
    )
    options = ExportOptions(
        labels=params.choice("rawOrLabel", ("raw", "label"), "raw") == "label",
        checkbox_labels=params.flag("exportCheckboxLabel"),
        blank_gray_status=params.flag("exportBlankForGrayFormStatus"),
        groups=layout.groups,
        events=frozenset(_events(design, params.items("events"))),
    )
    records = _records(call, params.items("records"))
    delimiter = DELIMITERS.get(params.text("csvDelimiter") or ",")
    if delimiter is None:
        raise ApiError('The value of the parameter "csvDelimiter" is not valid')
    if params.choice("type", ("flat", "eav"), "flat") == "eav":
        rows = eav_rows(project, design, records, layout, options)
        return table_response(
            call.format, eav_header(layout), rows, root="records", delimiter=delimiter
        )
    rows = flat_rows(project, design, records, layout, options)
    return table_response(call.format, layout.header, rows, root="records", delimiter=delimiter)


def _in_a_group(call: Call) -> bool:
    return ProjectMember.objects.filter(
        project=call.project, user=call.user, group__isnull=False
    ).exists()


def _check_names(design: ProjectDesign, fields: list[str], forms: list[str]) -> None:
    known = {row.field_name for row in design.rows}
    known |= {f"{instrument.name}_complete" for instrument in design.instruments}
    unknown = [name for name in fields if name not in known]
    if unknown:
        listed = ", ".join(f"'{name}'" for name in unknown)
        raise ApiError(f'The following values in the parameter "fields" are not valid: {listed}')
    instruments = {instrument.name for instrument in design.instruments}
    unknown = [name for name in forms if name not in instruments]
    if unknown:
        listed = ", ".join(f"'{name}'" for name in unknown)
        raise ApiError(f'The following values in the parameter "forms" are not valid: {listed}')


def _events(design: ProjectDesign, names: list[str]) -> list[str]:
    known = {event.unique_name for event in design.events}
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(f"'{name}'" for name in unknown)
        raise ApiError(f'The following values in the parameter "events" are not valid: {listed}')
    return names


def _records(call: Call, wanted: list[str]) -> QuerySet[Record]:
    assert call.project is not None
    records = records_visible_to(call.user, call.project)
    if wanted:
        records = records.filter(record_id__in=wanted)
    begin = _moment(call.params.text("dateRangeBegin"), "dateRangeBegin")
    end = _moment(call.params.text("dateRangeEnd"), "dateRangeEnd")
    if begin or end:
        changed = FormData.objects.filter(record=OuterRef("pk"))
        if begin:
            changed = changed.filter(updated_at__gte=begin)
        if end:
            changed = changed.filter(updated_at__lte=end)
        records = records.filter(Exists(changed))
    return records


def _moment(text: str, name: str) -> datetime | None:
    """`YYYY-MM-DD HH:MM:SS` (or a date) in the server's time zone."""
    if not text:
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            naive = datetime.strptime(text, pattern)  # noqa: DTZ007 - server time, made aware
            return timezone.make_aware(naive)
        except ValueError:
            continue
    raise ApiError(f'The value of the parameter "{name}" is not valid')
