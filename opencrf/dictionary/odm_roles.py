"""REDCap's user-role attributes in Project XML, and OpenCRF's rights they stand for.

REDCap writes a role's rights under legacy names (spec §5): `data_entry="[form,n]…"` for the
data-entry rights, `data_export_instruments="[form,n]…"` for the export rights, and one
attribute per on/off right. Reading keeps what OpenCRF has a right for and drops the rest
(calendar, mobile app, …); writing gives every attribute OpenCRF can fill.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from opencrf.dictionary.odm import RoleSpec
from opencrf.projects.models import ResolutionRight, Role
from opencrf.projects.rights import Rights

# OpenCRF's flags ← REDCap's legacy right names. `lock_record` (0/1/2) and
# `data_quality_resolution` (0–5) carry codes: see `_coded_rights` and `_coded_attributes`.
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
    "lock_unlock": ("lock_record_multiform", "lock_record_customize"),
    "logging": ("data_logging",),
    "data_quality": ("data_quality_design",),
    "data_quality_execute": ("data_quality_execute",),
    "alerts": ("alerts",),
    "randomization_setup": ("random_setup",),
    "randomization_dashboard": ("random_dashboard",),
    "randomization_perform": ("random_perform",),
}
# REDCap's Data Resolution Workflow codes, as the API's `data_quality_resolution` has them.
RESOLUTION_CODES = {
    "0": ResolutionRight.NONE,
    "1": ResolutionRight.VIEW,
    "2": ResolutionRight.RESPOND,
    "3": ResolutionRight.OPEN_CLOSE_RESPOND,
    "4": ResolutionRight.OPEN,
    "5": ResolutionRight.OPEN_RESPOND,
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
    rights.update(_coded_rights(given, locks_all_forms=rights["lock_unlock"]))
    return rights


def _coded_rights(given: Mapping[str, str], *, locks_all_forms: bool) -> dict[str, Any]:
    """`lock_record`: 1 lock, 2 lock with e-signature authority; an unknown resolution code
    gives no access, as an unknown data entry code does."""
    lock = given.get("lock_record", "0").strip()
    resolution = given.get("data_quality_resolution", "0").strip()
    return {
        "lock_unlock": locks_all_forms or lock in ("1", "2"),
        "e_signature": lock == "2",
        "data_resolution": str(RESOLUTION_CODES.get(resolution, ResolutionRight.NONE)),
    }


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
    attributes.update(_coded_attributes(rights))
    form_codes = {right: code for code, right in FORM_RIGHT_CODES.items()}
    export_codes = {right: code for code, right in EXPORT_RIGHT_CODES.items()}
    attributes["data_entry"] = "".join(f"[{f},{form_codes[rights.form(f)]}]" for f in forms)
    attributes["data_export_instruments"] = "".join(
        f"[{f},{export_codes[rights.export(f)]}]" for f in forms
    )
    return attributes


def _coded_attributes(rights: Rights) -> dict[str, str]:
    """REDCap cannot sign without locking: the e-signature right alone is written as 0."""
    lock = ("2" if rights.e_signature else "1") if rights.lock_unlock else "0"
    codes = {str(right): code for code, right in RESOLUTION_CODES.items()}
    return {"lock_record": lock, "data_quality_resolution": codes.get(rights.data_resolution, "0")}
