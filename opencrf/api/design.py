"""Design imports (spec §2.7, §2.10–2.13): the data dictionary, arms, events, the instrument–event
mapping and repeat settings. Needs the design right and the API import
right, and a project in development, as in REDCap."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError, forbidden
from opencrf.api.formats import count_response
from opencrf.api.parsing import parse_rows
from opencrf.dictionary.columns import API_COLUMNS, UI_HEADERS, FieldRow
from opencrf.dictionary.design import design_of
from opencrf.dictionary.models import RevisionSource
from opencrf.dictionary.services import DictionaryInvalid, dictionary_apply
from opencrf.projects.models import Project, ProjectStatus
from opencrf.projects.services import (
    arm_create,
    arm_delete,
    arm_rename,
    event_create,
    event_delete,
    event_instruments_set,
    event_update,
    repeat_settings_set,
)

_UI_TO_API = dict(zip(UI_HEADERS, API_COLUMNS, strict=True))


def _require_design(call: Call) -> None:
    call.require_import()
    if not call.rights.design:
        raise forbidden("You do not have permissions to use the API")


def metadata_import(call: Call) -> HttpResponseBase:
    """Replace the whole dictionary; answers the number of fields."""
    _require_design(call)
    assert call.project is not None
    # REDCap refuses metadata imports outside development; production changes go through a
    # draft, which the API cannot make.
    if call.project.status != ProjectStatus.DEVELOPMENT:
        raise ApiError(
            "Metadata can only be imported while the project is in development status. "
            "Use draft mode in the web interface to change a project in production."
        )
    rows = [_field_row(row) for row in parse_rows(call.params.raw("data"), call.format)]
    if not rows:
        raise ApiError("The data dictionary is empty.")
    try:
        dictionary_apply(
            context=call.context, project=call.project, rows=rows, source=RevisionSource.API
        )
    except DictionaryInvalid as error:
        lines = [
            f"row {p.row}, {p.column or '-'}: {p.message}" if p.row else p.message
            for p in error.problems
        ]
        raise ApiError("\n".join(lines)) from None
    return count_response(len(rows), call.return_format)


def _field_row(values: dict[str, str]) -> FieldRow:
    """One dictionary row by API names (or the web UI's headers); numbers as REDCap writes them."""
    named = {_UI_TO_API.get(key, key): value for key, value in values.items()}
    for bound in ("text_validation_min", "text_validation_max"):
        text = named.get(bound, "")
        if text.endswith(".0") and text[:-2].lstrip("-").isdigit():
            named[bound] = text[:-2]  # pandas writes 130 as 130.0
    return FieldRow.from_dict(named)


def _rows(call: Call) -> list[dict[str, str]]:
    return parse_rows(call.params.raw("data"), call.format)


def _number(value: str, what: str) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 10_000:
        raise ApiError(f"The {what} '{text}' is not a whole number above 0.")
    return int(text)


def _project(call: Call) -> Project:
    assert call.project is not None
    return call.project


def arms_import(call: Call) -> HttpResponseBase:
    """Add or rename arms; with override=1, arms not in the data are deleted too."""
    _require_design(call)
    project = _project(call)
    rows = _rows(call)
    wanted = {_number(row.get("arm_num", ""), "arm number"): row.get("name", "") for row in rows}
    with transaction.atomic():
        existing = {arm.number: arm for arm in project.arms.all()}
        for number, name in wanted.items():
            if number in existing:
                if existing[number].name != name.strip():
                    arm_rename(context=call.context, arm=existing[number], name=name)
            else:
                arm_create(context=call.context, project=project, number=number, name=name)
        if call.params.flag("override"):
            for number, arm in existing.items():
                if number not in wanted:
                    arm_delete(context=call.context, arm=arm)
    return count_response(len(wanted), call.return_format)


def arms_delete(call: Call) -> HttpResponseBase:
    _require_design(call)
    project = _project(call)
    numbers = [_number(text, "arm number") for text in call.params.items("arms")]
    arms = {arm.number: arm for arm in project.arms.filter(number__in=numbers)}
    missing = [str(number) for number in numbers if number not in arms]
    if missing:
        raise ApiError("These arms do not exist: " + ", ".join(missing))
    with transaction.atomic():
        for arm in arms.values():
            arm_delete(context=call.context, arm=arm)
    return count_response(len(arms), call.return_format)


def _offset(row: dict[str, str], name: str) -> int:
    text = row.get(name, "").strip()
    if text == "":
        return 0
    try:
        return int(float(text))
    except ValueError:
        raise ApiError(f"The {name} '{text}' is not a number.") from None


def events_import(call: Call) -> HttpResponseBase:
    """Update events named by their unique name, create the others in their arm; override=1
    deletes the events not in the data."""
    _require_design(call)
    project = _project(call)
    rows = _rows(call)
    with transaction.atomic():
        arms = {arm.number: arm for arm in project.arms.all()}
        existing = {event.unique_name: event for event in project.events.all()}
        kept: set[str] = set()
        for row in rows:
            arm = arms.get(_number(row.get("arm_num", ""), "arm number"))
            if arm is None:
                raise ApiError(f"The arm '{row.get('arm_num')}' does not exist.")
            values: dict[str, Any] = {
                "name": row.get("event_name", ""),
                "day_offset": _offset(row, "day_offset"),
                "offset_min": _offset(row, "offset_min"),
                "offset_max": _offset(row, "offset_max"),
                "custom_label": row.get("custom_event_label", ""),
            }
            unique = row.get("unique_event_name", "").strip()
            if unique in existing:
                event_update(context=call.context, event=existing[unique], values=values)
                kept.add(unique)
            else:
                created = event_create(context=call.context, arm=arm, unique_name=unique, **values)
                kept.add(created.unique_name)
        if call.params.flag("override"):
            for name, event in existing.items():
                if name not in kept:
                    event_delete(context=call.context, event=event)
    return count_response(len(rows), call.return_format)


def events_delete(call: Call) -> HttpResponseBase:
    _require_design(call)
    project = _project(call)
    names = call.params.items("events")
    events = {e.unique_name: e for e in project.events.filter(unique_name__in=names)}
    missing = [name for name in names if name not in events]
    if missing:
        raise ApiError("These events do not exist: " + ", ".join(missing))
    with transaction.atomic():
        for event in events.values():
            event_delete(context=call.context, event=event)
    return count_response(len(events), call.return_format)


def mapping_import(call: Call) -> HttpResponseBase:
    """Replace the whole instrument–event mapping."""
    _require_design(call)
    project = _project(call)
    design = design_of(project)
    events = {event.unique_name: event for event in design.events}
    pairs = []
    for row in _rows(call):
        event = events.get(row.get("unique_event_name", "").strip())
        if event is None:
            raise ApiError(f"The event '{row.get('unique_event_name', '')}' does not exist.")
        pairs.append((event.pk, row.get("form", "").strip()))
    forms = [instrument.name for instrument in design.instruments]
    count = event_instruments_set(
        context=call.context, project=project, designations=pairs, known_forms=forms
    )
    return count_response(count, call.return_format)


def repeats_import(call: Call) -> HttpResponseBase:
    """Replace the repeating instruments and events."""
    _require_design(call)
    project = _project(call)
    design = design_of(project)
    events = {event.unique_name: event for event in design.events}
    settings: dict[tuple[int, str], str] = {}
    for row in _rows(call):
        name = row.get("event_name", "").strip()
        event = events.get(name) if project.is_longitudinal else design.events[0]
        if event is None:
            raise ApiError(f"The event '{name}' does not exist.")
        settings[(event.pk, row.get("form_name", "").strip())] = row.get("custom_form_label", "")
    forms = [instrument.name for instrument in design.instruments]
    count = repeat_settings_set(
        context=call.context, project=project, settings=settings, known_forms=forms
    )
    return count_response(count, call.return_format)
