"""`content=record`: export (flat or EAV), and later import, delete and rename (spec §2.1–2.4)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

import orjson
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from opencrf.api.calls import Call
from opencrf.api.errors import NO_DELETE, ApiError, forbidden
from opencrf.api.formats import (
    CONTENT_TYPES,
    DELIMITERS,
    cells_response,
    count_response,
    csv_line,
    plain_response,
    table_response,
)
from opencrf.api.idempotency import once
from opencrf.api.parsing import parse_rows
from opencrf.api.randomize import randomize
from opencrf.dictionary.choices import checkbox_column
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.exports.table import references_of, refuse_hidden
from opencrf.logic import LogicSyntaxError, Node, parse_shared
from opencrf.projects.models import ExportRight
from opencrf.records.export import (
    ExportOptions,
    Layout,
    column_extension,
    eav_header,
    eav_rows,
    export_layout,
    flat_cells,
)
from opencrf.records.export_copy import PHP_CSV, copy_csv
from opencrf.records.imports import (
    ImportOptions,
    ImportRefused,
    ImportResult,
    UnknownFields,
    records_import,
)
from opencrf.records.models import FormData, Record, RecordArm
from opencrf.records.project_xml import project_xml_write
from opencrf.records.selectors import records_visible_to
from opencrf.records.services import (
    form_delete,
    record_arm_remove,
    record_delete,
    record_rename,
)
from opencrf.surveys.export_fields import EXTENSION as SURVEY_FIELDS


def record(call: Call) -> HttpResponseBase:
    action = call.params.text("action")
    if action in ("", "export", "import") and call.has_data():
        return once(call, import_)
    if action in ("", "export"):
        return export(call)
    if action == "delete":
        return once(call, delete)
    if action == "rename":
        return rename(call)
    if action == "randomize":
        return once(call, randomize)
    raise ApiError('The value of the parameter "action" is not valid')


def _survey_fields_allowed(call: Call, layout: Layout) -> bool:
    """Survey fields only with full export rights on every exported form: the identifier is
    an identifier and the timestamps are dates, which the other export rights remove."""
    forms = {column.form for column in layout.data}
    return all(call.rights.export(form) == ExportRight.FULL for form in forms)


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
    if params.flag("exportSurveyFields") and _survey_fields_allowed(call, layout):
        # With surveys enabled: the survey identifier and each survey's completion time.
        layout.extension = column_extension(SURVEY_FIELDS, project, design, layout)
    options = ExportOptions(
        labels=params.choice("rawOrLabel", ("raw", "label"), "raw") == "label",
        checkbox_labels=params.flag("exportCheckboxLabel"),
        blank_gray_status=params.flag("exportBlankForGrayFormStatus"),
        groups=layout.groups,
        events=frozenset(_events(design, params.items("events"))),
        filter=_filter(call, params.raw("filterLogic")),
        decimal_comma=_decimal_comma(params.text("decimalCharacter")),
    )
    if call.format == "odm":
        wanted = params.flag("exportSurveyFields") and _survey_fields_allowed(call, layout)
        return _odm(call, survey_fields=wanted)
    records = _records(call, params.items("records"))
    delimiter = DELIMITERS.get(params.text("csvDelimiter") or ",")
    if delimiter is None:
        raise ApiError('The value of the parameter "csvDelimiter" is not valid')
    if params.choice("type", ("flat", "eav"), "flat") == "eav":
        rows = eav_rows(project, design, records, layout, options)
        return table_response(
            call.format,
            eav_header(layout),
            rows,
            root="records",
            delimiter=delimiter,
            empty_body=True,
        )
    label_headers = params.choice("rawOrLabelHeaders", ("raw", "label"), "raw") == "label"
    shown = layout.label_header(design) if label_headers else layout.header
    if call.format == "csv":
        copied = copy_csv(
            project,
            design,
            records,
            layout,
            options,
            dialect=PHP_CSV,
            delimiter=delimiter,
            rewrite_line=lambda cells: csv_line(cells, delimiter),
        )
        if copied is not None:  # the database writes the same lines (records/export_copy.py)
            body = _after_header(csv_line(shown, delimiter).encode(), copied)
            return StreamingHttpResponse(body, content_type=CONTENT_TYPES["csv"])
    cells = flat_cells(project, design, records, layout, options)
    return cells_response(
        call.format,
        layout.header,
        cells,
        root="records",
        delimiter=delimiter,
        shown_header=layout.label_header(design) if label_headers else None,
        empty_body=True,  # REDCap answers no rows with an empty body, in CSV too
    )


def _after_header(header: bytes, blocks: Iterable[bytes]) -> Iterator[bytes]:
    """The header, then the blocks; no rows make an empty body, as REDCap answers."""
    first = True
    for block in blocks:
        if first:
            yield header
            first = False
        yield block


def _odm(call: Call, *, survey_fields: bool) -> HttpResponseBase:
    """`format=odm`: the project's Project XML with the chosen records' ClinicalData, with the
    survey identifier and timestamps when `exportSurveyFields` asks and the rights allow."""
    assert call.project is not None
    chunks = project_xml_write(
        call.project,
        call.user,
        include_data=True,
        include_files=False,
        record_ids=call.params.items("records"),
        survey_fields=frozenset({"identifier", "timestamps"}) if survey_fields else frozenset(),
    )
    return StreamingHttpResponse(chunks, content_type=CONTENT_TYPES["xml"])


def _decimal_comma(text: str) -> bool:
    """decimalCharacter: `,` (or its name, `comma`) writes numbers with a decimal comma."""
    if text in ("", ".", "dot", "period"):
        return False
    if text in (",", "comma"):
        return True
    raise ApiError('The value of the parameter "decimalCharacter" is not valid')


def _filter(call: Call, text: str) -> Node | None:
    """filterLogic, parsed once; bad logic is refused with where it went wrong, and logic
    naming a field the caller may not see (exports.table.filterable) with the field named:
    the records it keeps would tell that field's values."""
    if not text.strip():
        return None
    try:
        logic = parse_shared(text)
    except LogicSyntaxError as error:
        raise ApiError(f"The filterLogic is not valid: {error}") from None
    assert call.project is not None
    refuse_hidden(call.rights, call.project, references_of(logic))  # PermissionDenied: 403
    return logic


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
        # The new id first, as redcapAPI reads it; the given id beside it.
        rows = [("id", "original_id"), *result.auto_ids]
        text = "".join(csv_line(row) for row in rows)
        return HttpResponse(text, content_type=CONTENT_TYPES["csv"])
    count = len(result.records)
    if return_format == "json":
        return HttpResponse(orjson.dumps({"count": count}), content_type=CONTENT_TYPES["json"])
    if return_format == "xml":
        body = f'<?xml version="1.0" encoding="UTF-8" ?><count>{count}</count>'
        return HttpResponse(body, content_type=CONTENT_TYPES["xml"])
    return HttpResponse(str(count), content_type=CONTENT_TYPES["text"])


def delete(call: Call) -> HttpResponseBase:
    """Delete records, or one form, event or instance of them (spec §2.3): all or none."""
    call.require_import()
    if not call.rights.record_delete:  # REDCap asks for it even to delete one form's data
        raise forbidden(NO_DELETE)
    project = call.project
    assert project is not None
    params = call.params
    wanted = params.items("records")
    if not wanted:
        raise ApiError('The parameter "records" is missing')
    design = design_of(project)
    found = {
        r.record_id: r for r in records_visible_to(call.user, project).filter(record_id__in=wanted)
    }
    missing = [name for name in wanted if name not in found]
    if missing:
        raise ApiError(
            "One or more of the records provided cannot be deleted because they do not exist "
            "in the project. The following records do not exist: " + ", ".join(missing)
        )
    arm = params.number("arm")
    instrument = params.text("instrument")
    event_name = params.text("event")
    instance = params.number("repeat_instance")
    if instrument and instrument not in {i.name for i in design.instruments}:
        raise ApiError(f"The instrument '{instrument}' does not exist")
    events = [e for e in design.events if not event_name or e.unique_name == event_name]
    if event_name and not events:
        raise ApiError(f"The event '{event_name}' does not exist")
    arms_of: dict[int, set[int]] = {}  # record pk → arm numbers
    links = RecordArm.objects.filter(record__in=found.values())
    for record_pk, number in links.values_list("record_id", "arm__number"):
        arms_of.setdefault(record_pk, set()).add(number)
    # With `arm`, only that arm's data goes; a record also in other arms stays in those.
    targets = [r for r in found.values() if arm is None or arm in arms_of.get(r.pk, set())]
    event_ids = {e.pk for e in events if arm is None or e.arm.number == arm}
    whole = not (instrument or event_name or instance is not None)
    in_arm = project.arms.filter(number=arm).first() if arm is not None else None
    with transaction.atomic():
        for target in targets:
            if whole and in_arm is not None and len(arms_of[target.pk]) > 1:
                record_arm_remove(context=call.context, record=target, arm=in_arm)
            else:
                _delete_in(call, target, instrument, event_ids, instance, whole=whole)
    return count_response(len(targets), call.return_format)


def _delete_in(
    call: Call,
    record: Record,
    instrument: str,
    event_ids: set[int],
    instance: int | None,
    *,
    whole: bool,
) -> None:
    if whole:
        record_delete(context=call.context, record=record)
        return
    forms = FormData.objects.filter(record=record, event_id__in=event_ids).select_related("event")
    if instrument:
        forms = forms.filter(form_name=instrument)
    if instance is not None:
        forms = forms.filter(instance=instance)
    for form in forms.order_by("event_id", "form_name", "instance"):
        form_delete(
            context=call.context,
            record=record,
            event=form.event,
            form_name=form.form_name,
            instance=form.instance,
        )


def rename(call: Call) -> HttpResponseBase:
    call.require_import()
    project = call.project
    assert project is not None
    old, new = call.params.text("record"), call.params.text("new_record_name")
    if not old or not new:
        raise ApiError('The parameters "record" and "new_record_name" are required')
    found = records_visible_to(call.user, project).filter(record_id=old).first()
    if found is None:
        raise ApiError(f'The record "{old}" does not exist')
    record_rename(context=call.context, record=found, new_id=new)
    return plain_response("1")
