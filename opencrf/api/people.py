"""Users, roles, their assignments and data access groups (spec §2.16–2.18), as REDCap 16.0
shows them (the version `content=version` names): flags 0/1, per-form rights as REDCap's codes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.api.formats import count_response, plain_response, table_response
from opencrf.api.parsing import parse_rows
from opencrf.dictionary.design import design_of
from opencrf.projects.models import DataAccessGroup, ProjectMember, ResolutionRight, Role
from opencrf.projects.rights import Rights
from opencrf.projects.rights_services import (
    member_add,
    member_remove,
    member_update,
    role_create,
    role_delete,
    role_update,
)
from opencrf.projects.services import (
    group_create,
    group_delete,
    group_rename,
    member_group_set,
    member_group_switch,
)

# REDCap 15.6 and later: data entry rights as bits over 128 (1 read only, 2 view & edit, 8 edit
# survey responses, 16 delete). Editing a form here includes deleting its data, so both carry
# the delete bit. Export rights: 0 none, 1 full, 2 de-identified, 3 identifiers removed.
FORM_CODES = {"none": 128, "read": 129, "edit": 146, "survey_edit": 154}
EXPORT_CODES = {"none": 0, "full": 1, "deidentified": 2, "remove_identifiers": 3}
# REDCap's Data Resolution Workflow right: 0 no access, 1 view only, 2 respond only, 3 open,
# close and respond, 4 open only, 5 open and respond.
RESOLUTION_CODES: dict[str, int] = {
    ResolutionRight.NONE: 0,
    ResolutionRight.VIEW: 1,
    ResolutionRight.RESPOND: 2,
    ResolutionRight.OPEN_CLOSE_RESPOND: 3,
    ResolutionRight.OPEN: 4,
    ResolutionRight.OPEN_RESPOND: 5,
}
RESOLUTION_RIGHTS = {str(code): right for right, code in RESOLUTION_CODES.items()}
# REDCap's `lock_records`: 0 none, 1 lock and unlock, 2 the same with e-signature authority.
LOCK_CODES = ("0", "1", "2")
# REDCap's flags in its order, and the OpenCRF right each one reads (None: not a right here).
# `data_quality_resolution` and `lock_records` carry codes beyond 0/1: see `_coded`.
FLAGS: tuple[tuple[str, str | None], ...] = (
    ("design", "design"),
    ("alerts", "alerts"),
    ("user_rights", "user_rights"),
    ("data_access_groups", "data_access_groups"),
    ("reports", "reports"),
    ("stats_and_charts", None),
    ("manage_survey_participants", "survey_participants"),
    ("calendar", None),
    ("data_import_tool", "data_import"),
    ("data_comparison_tool", None),
    ("logging", "logging"),
    ("email_logging", None),
    ("file_repository", None),
    ("data_quality_create", "data_quality"),
    ("data_quality_execute", "data_quality_execute"),
    ("data_quality_resolution", None),
    ("api_export", "api_export"),
    ("api_import", "api_import"),
    ("api_modules", None),
    ("mobile_app", None),
    ("mobile_app_download_data", None),
    ("record_create", "record_create"),
    ("record_rename", "record_rename"),
    ("record_delete", "record_delete"),
    ("lock_records_all_forms", "lock_unlock"),
    ("lock_records", None),
    ("lock_records_customization", "lock_unlock"),
    ("mycap_participants", None),
    ("random_setup", "randomization_setup"),
    ("random_dashboard", "randomization_dashboard"),
    ("random_perform", "randomization_perform"),
)
USER_KEYS = (
    "username",
    "email",
    "firstname",
    "lastname",
    "expiration",
    "data_access_group",
    "data_access_group_id",
    "data_access_group_label",
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


def _lock_code(rights: Rights) -> int:
    """REDCap has no signing without locking: the e-signature right alone exports as 0."""
    if not rights.lock_unlock:
        return 0
    return 2 if rights.e_signature else 1


def _flags(rights: Rights, as_text: bool) -> dict[str, Any]:
    values = {name: int(bool(getattr(rights, right))) if right else 0 for name, right in FLAGS}
    values["data_quality_resolution"] = RESOLUTION_CODES.get(rights.data_resolution, 0)
    values["lock_records"] = _lock_code(rights)
    return {name: str(value) for name, value in values.items()} if as_text else values


def _members(call: Call) -> Iterable[ProjectMember]:
    return (
        ProjectMember.objects.filter(project=call.project)
        .select_related("user", "group", "role")
        .order_by("user__username")
    )


def users(call: Call) -> HttpResponseBase:
    if call.action == "delete":
        return users_delete(call)
    if call.has_data():
        return users_import(call)
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
                "data_access_group_label": member.group.name if member.group else "",
                **_flags(rights, as_text=False),
                "forms": _nested(call, forms),
                "forms_export": _nested(call, exports),
            }
        )
    return table_response(call.format, USER_KEYS, rows, root="users")


def roles(call: Call) -> HttpResponseBase:
    if call.action == "delete":
        return roles_delete(call)
    if call.has_data():
        return roles_import(call)
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
    if call.has_data():
        return role_mapping_import(call)
    call.require_export()
    header = ("username", "unique_role_name", "data_access_group")
    rows = [
        {
            "username": m.user.username,
            "unique_role_name": m.role.unique_name if m.role else "",
            "data_access_group": m.group.unique_name if m.group else "",
        }
        for m in _members(call)
    ]
    return table_response(call.format, header, rows, root="items")


def _refuse_grouped(call: Call) -> None:
    if call.rights.group_id is not None:
        raise ApiError(DAG_MANAGEMENT_REFUSED)


def dags(call: Call) -> HttpResponseBase:
    if call.action == "switch":
        return dag_switch(call)
    if call.action == "delete":
        return dags_delete(call)
    if call.has_data():
        return dags_import(call)
    call.require_export()
    _refuse_grouped(call)
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
    if call.has_data():
        return dag_mapping_import(call)
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


# --- Imports and deletes ------------------------------------------------------------------

# REDCap before 15.6, still accepted on import (PyCap's examples send them).
LEGACY_FORM_RIGHTS = {"0": "none", "1": "edit", "2": "read", "3": "survey_edit"}
EXPORT_RIGHTS = {str(code): right for right, code in EXPORT_CODES.items()}
# REDCap's legacy all-forms export right (still accepted on import).
DATA_EXPORT = {"0": "none", "1": "full", "2": "deidentified", "3": "remove_identifiers"}


def _rows(call: Call) -> list[dict[str, Any]]:
    return parse_rows(call.params.raw("data"), call.format, nested=True)


def _codes(value: Any) -> dict[str, str]:
    """Form rights as sent: `{"form": 1}` (JSON), `form:1,form:2` (CSV), nested XML text."""
    if isinstance(value, dict):
        return {str(form): str(code) for form, code in value.items()}
    pairs = [part.split(":", 1) for part in str(value or "").split(",") if ":" in part]
    return {form.strip(): code.strip() for form, code in pairs}


def _rights(row: Mapping[str, Any], forms: list[str]) -> dict[str, Any]:
    """OpenCRF rights from REDCap's keys; keys not given are left as they are."""
    rights: dict[str, Any] = {}
    for name, right in FLAGS:
        if right and str(row.get(name, "")).strip() in ("0", "1"):
            rights[right] = rights.get(right, False) or row[name].strip() == "1"
    _coded(row, rights)
    if "forms" in row and row["forms"] not in ("", None):
        given = _codes(row["forms"])
        rights["form_rights"] = {f: _form_right(c) for f, c in given.items() if f in forms}
    exports = _codes(row.get("forms_export", ""))
    if exports:
        rights["export_rights"] = {
            f: EXPORT_RIGHTS.get(c, "none") for f, c in exports.items() if f in forms
        }
    elif str(row.get("data_export", "")).strip() in DATA_EXPORT:
        level = DATA_EXPORT[str(row["data_export"]).strip()]
        rights["export_rights"] = dict.fromkeys(forms, level)
    return rights


def _given_code(row: Mapping[str, Any], name: str, codes: Iterable[str]) -> str | None:
    """The code `row` gives for `name`, None when not given; an unknown code is refused."""
    code = str(row.get(name, "")).strip()
    if not code:
        return None
    if code not in codes:
        known = ", ".join(sorted(codes))
        raise ApiError(f"The value '{code[:40]}' of '{name}' is not one of {known}.")
    return code


def _coded(row: Mapping[str, Any], rights: dict[str, Any]) -> None:
    """The rights of REDCap's coded keys into `rights`: the resolution right, and lock with
    (2) or without (1) e-signature authority."""
    resolution = _given_code(row, "data_quality_resolution", RESOLUTION_RIGHTS)
    if resolution is not None:
        rights["data_resolution"] = str(RESOLUTION_RIGHTS[resolution])
    lock = _given_code(row, "lock_records", LOCK_CODES)
    if lock is not None:
        rights["lock_unlock"] = rights.get("lock_unlock", False) or lock != "0"
        rights["e_signature"] = lock == "2"


def _form_right(code: str) -> str:
    """A data entry right from a legacy code (0–3) or REDCap 15.6's bits over 128."""
    if code in LEGACY_FORM_RIGHTS:
        return LEGACY_FORM_RIGHTS[code]
    bits = int(code) - 128 if code.isascii() and code.isdigit() and len(code) <= 3 else -1
    if bits < 0 or bits > 31:
        return "none"
    if bits & 8:
        return "survey_edit"
    if bits & 2:
        return "edit"
    return "read" if bits & 1 else "none"


def _expiry(text: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(f"The expiration '{text}' is not a date (YYYY-MM-DD).") from None


def _group(call: Call, unique_name: str) -> DataAccessGroup | None:
    if not unique_name.strip():
        return None
    group = DataAccessGroup.objects.filter(
        project=call.project, unique_name=unique_name.strip()
    ).first()
    if group is None:
        raise ApiError(f"The data access group '{unique_name}' does not exist.")
    return group


def _member(call: Call, username: str) -> ProjectMember:
    member = ProjectMember.objects.filter(project=call.project, user__username=username).first()
    if member is None:
        raise ApiError(f"The user '{username}' is not a member of this project.")
    return member


def _forms(call: Call) -> list[str]:
    return [instrument.name for instrument in design_of(call.project).instruments]  # type: ignore[arg-type]


def users_import(call: Call) -> HttpResponseBase:
    call.require_import()
    project = call.project
    assert project is not None
    forms = _forms(call)
    rows = _rows(call)
    with transaction.atomic():
        for row in rows:
            username = str(row.get("username", "")).strip()
            rights = _rights(row, forms)
            existing = ProjectMember.objects.filter(
                project=project, user__username=username
            ).first()
            if existing is None:
                member = member_add(
                    context=call.context,
                    project=project,
                    username=username,
                    rights=rights,
                    expires_on=_expiry(row.get("expiration", "")),
                )
            else:
                member = existing
                expiry: Any = _expiry(row["expiration"]) if "expiration" in row else "keep"
                member_update(context=call.context, member=member, rights=rights, expires_on=expiry)
            if "data_access_group" in row:
                member_group_set(
                    context=call.context,
                    member=member,
                    group=_group(call, row["data_access_group"]),
                )
    return count_response(len(rows), call.return_format)


def users_delete(call: Call) -> HttpResponseBase:
    call.require_import()
    names = call.params.items("users")
    with transaction.atomic():
        for username in names:
            member_remove(context=call.context, member=_member(call, username))
    return count_response(len(names), call.return_format)


def roles_import(call: Call) -> HttpResponseBase:
    call.require_import()
    project = call.project
    assert project is not None
    forms = _forms(call)
    rows = _rows(call)
    with transaction.atomic():
        for row in rows:
            unique = str(row.get("unique_role_name", "")).strip()
            label = str(row.get("role_label", "")).strip()
            if not unique:
                role_create(
                    context=call.context, project=project, name=label, rights=_rights(row, forms)
                )
                continue
            role = Role.objects.filter(project=project, unique_name=unique).first()
            if role is None:
                raise ApiError(f"The role '{unique}' does not exist.")
            role_update(
                context=call.context, role=role, name=label or None, rights=_rights(row, forms)
            )
    return count_response(len(rows), call.return_format)


def roles_delete(call: Call) -> HttpResponseBase:
    call.require_import()
    names = call.params.items("roles")
    with transaction.atomic():
        for unique in names:
            role = Role.objects.filter(project=call.project, unique_name=unique).first()
            if role is None:
                raise ApiError(f"The role '{unique}' does not exist.")
            role_delete(context=call.context, role=role)
    return count_response(len(names), call.return_format)


def role_mapping_import(call: Call) -> HttpResponseBase:
    call.require_import()
    rows = _rows(call)
    with transaction.atomic():
        for row in rows:
            member = _member(call, str(row.get("username", "")).strip())
            unique = str(row.get("unique_role_name", "")).strip()
            role = Role.objects.filter(project=call.project, unique_name=unique).first()
            if unique and role is None:
                raise ApiError(f"The role '{unique}' does not exist.")
            member_update(context=call.context, member=member, role=role)
            if "data_access_group" in row:  # REDCap 15.8.2 and later send the group too
                group = _group(call, str(row["data_access_group"] or ""))
                member_group_set(context=call.context, member=member, group=group)
    return count_response(len(rows), call.return_format)


def dags_import(call: Call) -> HttpResponseBase:
    call.require_import()
    _refuse_grouped(call)
    project = call.project
    assert project is not None
    rows = _rows(call)
    with transaction.atomic():
        for row in rows:
            name = str(row.get("data_access_group_name", "")).strip()
            unique = str(row.get("unique_group_name", "")).strip()
            existing = DataAccessGroup.objects.filter(project=project, unique_name=unique).first()
            if unique and existing is not None:
                group_rename(context=call.context, group=existing, name=name)
            else:
                group_create(context=call.context, project=project, name=name, unique_name=unique)
    return count_response(len(rows), call.return_format)


def dags_delete(call: Call) -> HttpResponseBase:
    call.require_import()
    _refuse_grouped(call)
    names = call.params.items("dags")
    with transaction.atomic():
        for unique in names:
            group = _group(call, unique)
            assert group is not None
            group_delete(context=call.context, group=group)
    return count_response(len(names), call.return_format)


def dag_switch(call: Call) -> HttpResponseBase:
    call.require_export()
    group = _group(call, call.params.text("dag"))
    if group is None:
        raise ApiError('The parameter "dag" is missing')
    assert call.project is not None
    member_group_switch(context=call.context, project=call.project, group=group)
    return plain_response("1")


def dag_mapping_import(call: Call) -> HttpResponseBase:
    call.require_import()
    _refuse_grouped(call)
    rows = _rows(call)
    with transaction.atomic():
        for row in rows:
            member = _member(call, str(row.get("username", "")).strip())
            group = _group(call, str(row.get("redcap_data_access_group", "")))
            member_group_set(context=call.context, member=member, group=group)
    return count_response(len(rows), call.return_format)
