"""Image previews of the files that file fields hold, reached through the record.

Access is checked exactly as `views.file_download` checks it: the record through its
selectors (another data access group's record is missing), then the field (a file field of
this form), then its value (a live file of this project). What may be shown inline, and how,
is `files.previews`' business. Every refusal is the same 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.errors import NotFound
from opencrf.core.views import domain_errors
from opencrf.files import selectors as file_selectors
from opencrf.files.models import StoredFile
from opencrf.files.previews import preview_response
from opencrf.records.views.form_page import FormPage, load_form_page


def form_file(page: FormPage, field_name: str) -> StoredFile:
    """The live file a file field of this form holds, else NotFound."""
    if field_name not in {row.field_name for row in page.fields if row.field_type == "file"}:
        raise NotFound(_("No such file."))
    value = page.stored.values.get(field_name, "") if page.stored is not None else ""
    if not (value.isascii() and value.isdigit()):
        raise NotFound(_("No such file."))
    return file_selectors.file_in_project(page.project, int(value))


@login_required
@require_GET
@domain_errors
def file_preview(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
    field_name: str,
) -> FileResponse:
    """The image a file field of this form holds, inline, to those who may see the record."""
    page = load_form_page(request, project_id, record_id, event_name, form_name, instance)
    return preview_response(form_file(page, field_name))
