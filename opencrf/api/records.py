"""`content=record`: export (flat or EAV), and later import, delete and rename (spec §2.1–2.4)."""

from __future__ import annotations

from datetime import datetime

import orjson
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.api.formats import CONTENT_TYPES, DELIMITERS, csv_line, table_response
from opencrf.api.parsing import parse_rows
from opencrf.dictionary.choices import checkbox_column
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.records.export import (
    ExportOptions,
    eav_header,
    eav_rows,
    export_layout,
    flat_rows,
)
from opencrf.records.imports import (
    ImportOptions,
    ImportRefused,
    ImportResult,
    UnknownFields,
    records_import,
)
from opencrf.records.models import FormData, Record
from opencrf.records.selectors import records_visible_to


def record(call: Call) -> HttpResponseBase:
    action = call.params.text("action")
    if action in ("", "export", "import") and call.has_data():
        return import_(call)
    if action in ("", "export"):
        return export(call)
    raise ApiError('The value of the parameter "action" is not valid')


def export(call: Call) -> HttpResponseBase:
    call.require_export()
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
        groups=params.flag("exportDataAccessGroups") and call.rights.group_id is None,
        export_right=call.rights.export,
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


def import_(call: Call) -> HttpResponseBase:
    call.require_import()
    project = call.project
    assert project is not None
    params = call.params
    delimiter = DELIMITERS.get(params.text("csvDelimiter") or ",")
    if delimiter is None:
        raise ApiError('The value of the parameter "csvDelimiter" is not valid')
    if params.choice("type", ("flat", "eav"), "flat") == "eav":
        rows = _from_eav(parse_rows(params.raw("data"), call.format, delimiter), design_of(project))
    else:
        rows = parse_rows(params.raw("data"), call.format, delimiter)
    options = ImportOptions(
        overwrite=params.choice("overwriteBehavior", ("normal", "overwrite"), "normal")
        == "overwrite",
        force_auto_number=params.flag("forceAutoNumber"),
        date_format=params.choice("dateFormat", ("YMD", "MDY", "DMY"), "YMD"),
    )
    returns = params.choice("returnContent", ("count", "ids", "auto_ids", "nothing"), "count")
    try:
        result = records_import(context=call.context, project=project, rows=rows, options=options)
    except UnknownFields as error:
        raise ApiError(
            "The following fields were not found in the project as real data fields: "
            + ", ".join(error.names)
        ) from None
    except ImportRefused as error:
        lines = [",".join(_quoted(p.record, p.field, p.value, p.message)) for p in error.problems]
        raise ApiError("\n".join(lines)) from None
    return _import_result(result, returns, call.return_format)


def _quoted(*values: str) -> list[str]:
    """REDCap's error lines quote every column: `"record","field","value","message"`."""
    return ['"' + value.replace('"', '""') + '"' for value in values]


def _from_eav(rows: list[dict[str, str]], design: ProjectDesign) -> list[dict[str, str]]:
    """EAV rows (record, field_name, value, and the event and repeat columns) as flat rows.

    A checkbox comes as `field___code` with 0 or 1, or as the base name with the ticked code
    (the form EAV exports use).
    """
    checkboxes = {row.field_name for row in design.rows if row.field_type == "checkbox"}
    keys = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
    flat: dict[tuple[str, ...], dict[str, str]] = {}
    for row in rows:
        if "record" not in row or "field_name" not in row:
            raise ApiError("EAV data needs the columns record, field_name and value.")
        key = (row["record"], *(row.get(name, "") for name in keys))
        target = flat.setdefault(key, {name: row.get(name, "") for name in keys if name in row})
        target[design.record_id_field] = row["record"]
        name, value = row["field_name"], row.get("value", "")
        if name in checkboxes:
            target[checkbox_column(name, value)] = "1"
        else:
            target[name] = value
    return list(flat.values())


def _import_result(result: ImportResult, returns: str, return_format: str) -> HttpResponseBase:
    if returns == "nothing":
        return HttpResponse("", content_type=CONTENT_TYPES["text"])
    if returns == "ids":
        if return_format == "json":
            return HttpResponse(orjson.dumps(result.records), content_type=CONTENT_TYPES["json"])
        if return_format == "csv":
            text = "".join(csv_line([value]) for value in ["id", *result.records])
            return HttpResponse(text, content_type=CONTENT_TYPES["csv"])
    if returns == "auto_ids":
        pairs = [f"{new},{given}" for new, given in result.auto_ids]
        if return_format == "json":
            return HttpResponse(orjson.dumps(pairs), content_type=CONTENT_TYPES["json"])
        text = "".join(csv_line([value]) for value in ["id", *pairs])
        return HttpResponse(text, content_type=CONTENT_TYPES["csv"])
    count = len(result.records)
    if return_format == "json":
        return HttpResponse(orjson.dumps({"count": count}), content_type=CONTENT_TYPES["json"])
    if return_format == "xml":
        body = f'<?xml version="1.0" encoding="UTF-8" ?><count>{count}</count>'
        return HttpResponse(body, content_type=CONTENT_TYPES["xml"])
    return HttpResponse(str(count), content_type=CONTENT_TYPES["text"])
