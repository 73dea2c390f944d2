"""One API call: who makes it, for which project, in which formats."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from opencrf.accounts.models import User
from opencrf.api.errors import NO_IMPORT, forbidden
from opencrf.api.models import ApiToken
from opencrf.api.params import Params
from opencrf.audit.services import AuditContext
from opencrf.projects.models import Project
from opencrf.projects.rights import Rights

FORMATS = ("json", "csv", "xml")
DEFAULT_FORMAT = "xml"  # REDCap's documented default when `format` is left out


@dataclass
class Call:
    request: HttpRequest
    params: Params
    token: ApiToken
    user: User
    project: Project | None
    context: AuditContext
    rights: Rights

    def require_export(self) -> None:
        if not self.rights.api_export:
            raise forbidden()

    def require_import(self) -> None:
        if not self.rights.api_import:
            raise forbidden(NO_IMPORT)

    @property
    def content(self) -> str:
        return self.params.text("content")

    @property
    def action(self) -> str:
        return self.params.text("action") or "export"

    @property
    def format(self) -> str:
        value = self.params.text("format").lower()
        return value if value in (*FORMATS, "odm") else DEFAULT_FORMAT

    @property
    def return_format(self) -> str:
        return return_format_of(self.params)

    def has_data(self) -> bool:
        return self.params.raw("data") != ""


def return_format_of(params: Params) -> str:
    """The format of errors and import results: `returnFormat`, else `format`, else XML."""
    for name in ("returnFormat", "format"):
        value = params.text(name).lower()
        if value in FORMATS:
            return value
    return DEFAULT_FORMAT
