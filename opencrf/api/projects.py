"""`content=project`: a project's information, or (with a super token) a new project (§2.14)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError, forbidden
from opencrf.api.formats import CONTENT_TYPES, count_response, object_response, plain_response
from opencrf.api.parsing import parse_rows
from opencrf.api.tokens import token_create
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.design import design_of
from opencrf.projects.models import ProjectStatus, Purpose
from opencrf.projects.services import project_create, project_update_settings
from opencrf.randomization.services import setup_of
from opencrf.records.project_xml import project_create_from_xml, project_xml_write

FLAGS = ("is_longitudinal", "surveys_enabled", "record_autonumbering_enabled")


def project(call: Call) -> HttpResponseBase:
    if call.project is not None:
        if call.has_data():
            raise ApiError('The value of the parameter "content" is not valid')
        return project_info(call)
    if not call.has_data():
        raise forbidden()
    return create(call)


def _attributes(call: Call) -> dict[str, str]:
    rows = parse_rows(call.params.raw("data"), call.format)
    if len(rows) != 1:
        raise ApiError("The data must describe exactly one project.")
    return rows[0]


def _flag(values: dict[str, str], name: str, default: bool = False) -> bool:
    text = values.get(name, "").strip()
    if text == "":
        return default
    if text not in ("0", "1"):
        raise ApiError(f"The value of {name} must be 0 or 1.")
    return text == "1"


def create(call: Call) -> HttpResponseBase:
    """A new project from its attributes, or from Project XML in `odm` (its design, records
    and files); answers the creator's new project token, bare."""
    if not call.user.is_superuser:
        raise forbidden()
    values = _attributes(call)
    title = values.get("project_title", "").strip()
    purpose = values.get("purpose", "").strip()
    if not title:
        raise ApiError("The project_title is missing.")
    if purpose not in {str(code) for code in Purpose.values}:
        raise ApiError("The purpose must be 0, 1, 2, 3 or 4.")
    odm = call.params.raw("odm")
    with transaction.atomic():
        if odm.strip():
            created = project_create_from_xml(
                context=call.context, data=odm.encode("utf-8"), title=title
            )
        else:
            created = project_create(
                context=call.context,
                title=title,
                purpose=int(purpose),
                purpose_other=values.get("purpose_other", ""),
                notes=values.get("project_notes", ""),
                is_longitudinal=_flag(values, "is_longitudinal"),
                surveys_enabled=_flag(values, "surveys_enabled"),
            )
            autonumbering = _flag(values, "record_autonumbering_enabled", default=True)
            if autonumbering != created.record_autonumbering:
                project_update_settings(
                    context=call.context,
                    project=created,
                    values={"record_autonumbering": autonumbering},
                )
        token = token_create(context=call.context, user=call.user, project=created)
    return plain_response(token)


# REDCap's editable project attributes → OpenCRF's project settings, with how to read each.
SETTINGS_KEYS: dict[str, tuple[str, str]] = {
    "project_title": ("title", "text"),
    "purpose": ("purpose", "purpose"),
    "purpose_other": ("purpose_other", "text"),
    "project_notes": ("notes", "text"),
    "custom_record_label": ("custom_record_label", "text"),
    "is_longitudinal": ("is_longitudinal", "flag"),
    "surveys_enabled": ("surveys_enabled", "flag"),
    "record_autonumbering_enabled": ("record_autonumbering", "flag"),
}


def project_settings(call: Call) -> HttpResponseBase:
    """`content=project_settings`: update the project's attributes; answers how many values
    were accepted. REDCap attributes OpenCRF does not keep (IRB number, PI names, …) are
    ignored and not counted; an invalid value refuses the whole import."""
    call.require_import()
    if not call.rights.design:
        raise forbidden("You do not have permissions to use the API")
    project = call.project
    assert project is not None
    if not call.has_data():
        raise ApiError('The parameter "data" is missing.')
    attributes = _attributes(call)
    values: dict[str, Any] = {}
    for key, (setting, kind) in SETTINGS_KEYS.items():
        if key not in attributes:
            continue
        text = attributes[key]
        if kind == "flag":
            values[setting] = _flag(attributes, key, default=getattr(project, setting))
        elif kind == "purpose":
            if text.strip() not in {str(code) for code in Purpose.values}:
                raise ApiError("The purpose must be 0, 1, 2, 3 or 4.")
            values[setting] = int(text)
        else:
            values[setting] = text
    try:
        project_update_settings(context=call.context, project=project, values=values)
    except InvalidInput as error:
        raise ApiError(error.message) from None
    return count_response(len(values), call.return_format)


def project_xml(call: Call) -> HttpResponseBase:
    """The project as Project XML; records (and their files) unless only metadata is asked."""
    call.require_export()
    assert call.project is not None
    with_data = not call.params.flag("returnMetadataOnly")
    chunks = project_xml_write(
        call.project,
        call.user,
        include_data=with_data,
        include_files=with_data and call.params.flag("exportFiles"),
    )
    return StreamingHttpResponse(chunks, content_type=CONTENT_TYPES["xml"])


def _redcap_time(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def project_info(call: Call) -> HttpResponseBase:
    call.require_export()
    project = call.project
    assert project is not None
    design = design_of(project)
    info: dict[str, Any] = {
        "project_id": project.pk,
        "project_title": project.title,
        "creation_time": _redcap_time(project.created_at),
        "production_time": _redcap_time(project.production_at),
        "in_production": int(project.status == ProjectStatus.PRODUCTION),
        "project_language": "English",
        "purpose": project.purpose,
        "purpose_other": project.purpose_other,
        "project_notes": project.notes,
        "custom_record_label": project.custom_record_label,
        "secondary_unique_field": "",
        "is_longitudinal": int(project.is_longitudinal),
        "has_repeating_instruments_or_events": int(bool(design.repeats)),
        "surveys_enabled": int(project.surveys_enabled),
        "scheduling_enabled": 0,
        "record_autonumbering_enabled": int(project.record_autonumbering),
        "randomization_enabled": int(setup_of(project) is not None),
        "ddp_enabled": 0,
        "project_irb_number": "",
        "project_grant_number": "",
        "project_pi_firstname": "",
        "project_pi_lastname": "",
        "project_pi_email": "",
        "display_today_now_button": 1,
        "missing_data_codes": "",
        "external_modules": "",
        "bypass_branching_erase_field_prompt": 0,
    }
    return object_response(call.format, info)
