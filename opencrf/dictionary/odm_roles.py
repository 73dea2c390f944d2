"""REDCap's user-role attributes in Project XML, and OpenCRF's rights they stand for.

REDCap writes a role's rights under legacy names (spec §5): `data_entry="[form,n]…"` for the
data-entry rights, `data_export_instruments="[form,n]…"` for the export rights, and one
attribute per on/off right. Reading keeps what OpenCRF has a right for and drops the rest
(calendar, randomisation, …); writing gives every attribute OpenCRF can fill.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from opencrf.dictionary.odm import RoleSpec
from opencrf.projects.models import Role
from opencrf.projects.rights import Rights

# OpenCRF's flags ← REDCap's legacy right names (data quality is one right here).
ROLE_FLAGS = {
    "design": ("design",),
    "user_rights": ("user_rights",),
    "data_access_groups": ("data_access_groups",),
    "reports": ("reports",),
    "survey_participants": ("participants",),
    "data_import": ("data_import_tool",),
    "api_export": ("api_export",),
    "api_import": ("api_import",),
    "record_create": ("record_create",),
    "record_rename": ("record_rename",),
    "record_delete": ("record_delete",),
    "lock_unlock": ("lock_record",),
    "logging": ("data_logging",),
    "data_quality": ("data_quality_design", "data_quality_execute"),
}
# `data_entry="[form,n]…"`: REDCap's codes for data-entry and export rights.
FORM_RIGHT_CODES = {"0": "none", "1": "edit", "2": "read", "3": "survey_edit"}
EXPORT_RIGHT_CODES = {"0": "none", "1": "full", "2": "deidentified", "3": "remove_identifiers"}
_PAIR = re.compile(r"\[([^,\]]+),([^\]]*)\]")


def role_rights(role: RoleSpec, forms: Sequence[str]) -> dict[str, Any]:
    """A role's REDCap rights attributes as OpenCRF rights (legacy names mapped, spec §5)."""
    given = role.rights
    rights: dict[str, Any] = {
        flag: any(given.get(name, "0").strip() not in ("", "0") for name in names)
        for flag, names in ROLE_FLAGS.items()
    }
    known = set(forms)
    rights["form_rights"] = _instrument_rights(given.get("data_entry", ""), FORM_RIGHT_CODES, known)
    exports = _instrument_rights(
        given.get("data_export_instruments", ""), EXPORT_RIGHT_CODES, known
    )
    legacy = given.get("data_export_tool", "").strip()
    if not exports and legacy in EXPORT_RIGHT_CODES:
        exports = dict.fromkeys(forms, EXPORT_RIGHT_CODES[legacy])
    rights["export_rights"] = exports
    return rights


def _instrument_rights(text: str, codes: Mapping[str, str], known: set[str]) -> dict[str, str]:
    return {
        form.strip(): codes[code.strip()]
        for form, code in _PAIR.findall(text)
        if form.strip() in known and code.strip() in codes
    }


def role_attributes(role: Role, forms: Sequence[str]) -> dict[str, str]:
    """A role as REDCap's `UserRoles` attributes, every instrument's rights spelled out."""
    attributes = {"role_name": role.name, "unique_role_name": role.unique_name}
    for flag, names in ROLE_FLAGS.items():
        for name in names:
            attributes[name] = "1" if getattr(role, flag) else "0"
    rights = Rights.of(role, None)
    form_codes = {right: code for code, right in FORM_RIGHT_CODES.items()}
    export_codes = {right: code for code, right in EXPORT_RIGHT_CODES.items()}
    attributes["data_entry"] = "".join(f"[{f},{form_codes[rights.form(f)]}]" for f in forms)
    attributes["data_export_instruments"] = "".join(
        f"[{f},{export_codes[rights.export(f)]}]" for f in forms
    )
    return attributes
