"""Users, roles, their assignments and data access groups (spec §2.16–2.18), as REDCap 14.0
shows them: flags 0/1, per-form rights as REDCap's codes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.api.formats import table_response
from opencrf.dictionary.design import design_of
from opencrf.projects.models import DataAccessGroup, ProjectMember, Role
from opencrf.projects.rights import Rights

# REDCap (before 15.6): data entry 0 none, 1 view & edit, 2 read only, 3 edit survey responses;
# export 0 none, 1 full, 2 de-identified, 3 identifiers removed.
FORM_CODES = {"none": 0, "edit": 1, "read": 2, "survey_edit": 3}
EXPORT_CODES = {"none": 0, "full": 1, "deidentified": 2, "remove_identifiers": 3}
# REDCap's flags in its order, and the OpenCRF right each one reads (None: not a feature here).
FLAGS: tuple[tuple[str, str | None], ...] = (
    ("design", "design"),
    ("alerts", None),
    ("user_rights", "user_rights"),
    ("data_access_groups", "data_access_groups"),
    ("reports", None),
    ("stats_and_charts", None),
    ("manage_survey_participants", None),
    ("calendar", None),
    ("data_import_tool", "data_import"),
    ("data_comparison_tool", None),
    ("logging", "logging"),
    ("file_repository", None),
    ("data_quality_create", "data_quality"),
    ("data_quality_execute", "data_quality"),
    ("api_export", "api_export"),
    ("api_import", "api_import"),
    ("mobile_app", None),
    ("mobile_app_download_data", None),
    ("record_create", "record_create"),
    ("record_rename", "record_rename"),
    ("record_delete", "record_delete"),
    ("lock_records_customization", "lock_unlock"),
    ("lock_records", "lock_unlock"),
    ("lock_records_all_forms", "lock_unlock"),
)
USER_KEYS = (
    "username",
    "email",
    "firstname",
    "lastname",
    "expiration",
    "data_access_group",
    "data_access_group_id",
    *(name for name, _right in FLAGS),
    "forms",
    "forms_export",
)
ROLE_KEYS = (
    "unique_role_name",
    "role_label",
    *(name for name, _r in FLAGS),
    "forms",
    "forms_export",
)
DAG_MANAGEMENT_REFUSED = (
    "You do not have permission to export/import/delete Data Access Groups because you have "
    "beed assigned to a Data Access Group.."
)


def _form_maps(call: Call, rights: Rights) -> tuple[dict[str, int], dict[str, int]]:
    forms = [instrument.name for instrument in design_of(call.project).instruments]  # type: ignore[arg-type]
    return (
        {form: FORM_CODES.get(rights.form(form), 0) for form in forms},
        {form: EXPORT_CODES.get(rights.export(form), 0) for form in forms},
    )


def _nested(call: Call, values: Mapping[str, int]) -> Any:
    """Form rights: an object in JSON and XML, `form:code,form:code` in CSV."""
    if call.format == "csv":
        return ",".join(f"{form}:{code}" for form, code in values.items())
    return dict(values)


def _flags(rights: Rights, as_text: bool) -> dict[str, Any]:
    values = {name: int(bool(getattr(rights, right))) if right else 0 for name, right in FLAGS}
    return {name: str(value) for name, value in values.items()} if as_text else values


def _members(call: Call) -> Iterable[ProjectMember]:
    return (
        ProjectMember.objects.filter(project=call.project)
        .select_related("user", "group", "role")
        .order_by("user__username")
    )


def users(call: Call) -> HttpResponseBase:
    call.require_export()
    rows = []
    for member in _members(call):
        rights = Rights.of(member.role or member, member.group_id)
        forms, exports = _form_maps(call, rights)
        user = member.user
        rows.append(
            {
                "username": user.username,
                "email": user.email,
                "firstname": user.first_name,
                "lastname": user.last_name,
                "expiration": member.expires_on.isoformat() if member.expires_on else "",
                "data_access_group": member.group.unique_name if member.group else "",
                "data_access_group_id": member.group_id or "",
                **_flags(rights, as_text=False),
                "forms": _nested(call, forms),
                "forms_export": _nested(call, exports),
            }
        )
    return table_response(call.format, USER_KEYS, rows, root="users")


def roles(call: Call) -> HttpResponseBase:
    call.require_export()
    rows = []
    for role in Role.objects.filter(project=call.project).order_by("id"):
        rights = Rights.of(role, None)
        forms, exports = _form_maps(call, rights)
        rows.append(
            {
                "unique_role_name": role.unique_name,
                "role_label": role.name,
                **_flags(rights, as_text=True),
                "forms": _nested(call, forms),
                "forms_export": _nested(call, exports),
            }
        )
    return table_response(call.format, ROLE_KEYS, rows, root="roles")


def role_mapping(call: Call) -> HttpResponseBase:
    call.require_export()
    rows = [
        {"username": m.user.username, "unique_role_name": m.role.unique_name if m.role else ""}
        for m in _members(call)
    ]
    return table_response(call.format, ("username", "unique_role_name"), rows, root="items")


def _refuse_grouped(call: Call) -> None:
    if call.rights.group_id is not None:
        raise ApiError(DAG_MANAGEMENT_REFUSED)


def dags(call: Call) -> HttpResponseBase:
    call.require_export()
    _refuse_grouped(call)
    if call.action == "switch":
        raise ApiError("You do not have permission to switch data access groups")
    header = ("data_access_group_name", "unique_group_name", "data_access_group_id")
    rows = [
        {
            "data_access_group_name": group.name,
            "unique_group_name": group.unique_name,
            "data_access_group_id": group.pk,
        }
        for group in DataAccessGroup.objects.filter(project=call.project).order_by("id")
    ]
    return table_response(call.format, header, rows)


def dag_mapping(call: Call) -> HttpResponseBase:
    call.require_export()
    _refuse_grouped(call)
    header = ("username", "redcap_data_access_group")
    rows = [
        {
            "username": m.user.username,
            "redcap_data_access_group": m.group.unique_name if m.group else "",
        }
        for m in _members(call)
    ]
    return table_response(call.format, header, rows)
