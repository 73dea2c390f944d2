"""What a member may do in a project: REDCap's rights, as one immutable value.

`selectors.member_rights` builds it from the member's role (when set) or the member's own
rights; views and services ask it, templates only show its answers.

An instrument missing from `form_rights` / `export_rights` is one added after the rights were
set. REDCap writes rights for a new instrument when it is created: "View & edit" (and full
export) for users with Project Design rights, "No access" for everyone else. OpenCRF decides
the same when it reads the rights, so nobody gains access to a form by its mere creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opencrf.projects.models import (
    RIGHT_FLAGS,
    ExportRight,
    FormRight,
    ResolutionRight,
    RightsFields,
)

EDITABLE = frozenset({FormRight.EDIT, FormRight.SURVEY_EDIT})
OPENERS = frozenset(
    {ResolutionRight.OPEN, ResolutionRight.OPEN_RESPOND, ResolutionRight.OPEN_CLOSE_RESPOND}
)
RESPONDERS = frozenset(
    {ResolutionRight.RESPOND, ResolutionRight.OPEN_RESPOND, ResolutionRight.OPEN_CLOSE_RESPOND}
)


@dataclass(frozen=True, slots=True)
class Rights:
    """A member's rights in one project. `group_id` None means the member sees every record."""

    design: bool = False
    user_rights: bool = False
    data_access_groups: bool = False
    reports: bool = False
    survey_participants: bool = False
    data_import: bool = False
    api_export: bool = False
    api_import: bool = False
    record_create: bool = False
    record_rename: bool = False
    record_delete: bool = False
    lock_unlock: bool = False
    e_signature: bool = False
    logging: bool = False
    data_quality: bool = False
    data_quality_execute: bool = False
    data_quality_override: bool = False
    source_verify: bool = False
    alerts: bool = False
    randomization_setup: bool = False
    randomization_dashboard: bool = False
    randomization_perform: bool = False
    data_resolution: str = ResolutionRight.NONE
    forms: Mapping[str, str] = field(default_factory=dict)
    exports: Mapping[str, str] = field(default_factory=dict)
    group_id: int | None = None
    is_admin: bool = False

    @classmethod
    def everything(cls) -> Rights:
        """An administrator's (or the system's) rights: all of them, every record."""
        flags: dict[str, Any] = dict.fromkeys(RIGHT_FLAGS, True)
        return cls(**flags, data_resolution=ResolutionRight.OPEN_CLOSE_RESPOND, is_admin=True)

    @classmethod
    def of(cls, holder: RightsFields, group_id: int | None) -> Rights:
        flags: dict[str, Any] = {name: getattr(holder, name) for name in RIGHT_FLAGS}
        return cls(
            **flags,
            data_resolution=holder.data_resolution,
            forms=dict(holder.form_rights or {}),
            exports=dict(holder.export_rights or {}),
            group_id=group_id,
        )

    def form(self, form_name: str) -> str:
        """The data-entry right on an instrument (a FormRight value)."""
        if self.is_admin:
            return FormRight.EDIT
        default = FormRight.EDIT if self.design else FormRight.NONE
        return self.forms.get(form_name, default)

    def export(self, form_name: str) -> str:
        """The export right on an instrument (an ExportRight value)."""
        if self.is_admin:
            return ExportRight.FULL
        default = ExportRight.FULL if self.design else ExportRight.NONE
        return self.exports.get(form_name, default)

    def can_see_form(self, form_name: str) -> bool:
        return self.form(form_name) != FormRight.NONE

    def can_edit_form(self, form_name: str) -> bool:
        return self.form(form_name) in EDITABLE

    def can_edit_survey_responses(self, form_name: str) -> bool:
        """REDCap's "edit survey responses": a completed response stays read-only without it."""
        return self.is_admin or self.form(form_name) == FormRight.SURVEY_EDIT

    def can_view_queries(self) -> bool:
        return self.data_resolution != ResolutionRight.NONE

    def can_open_queries(self) -> bool:
        return self.data_resolution in OPENERS

    def can_respond_queries(self) -> bool:
        return self.data_resolution in RESPONDERS

    def can_close_queries(self) -> bool:
        """Close, reopen and verify: REDCap's "open, close, and respond" only."""
        return self.data_resolution == ResolutionRight.OPEN_CLOSE_RESPOND

    def flags(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in RIGHT_FLAGS}
