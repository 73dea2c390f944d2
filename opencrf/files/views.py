"""Downloading stored files: always as an attachment, never rendered by the browser."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.views.decorators.http import require_GET

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.downloads import content_disposition
from opencrf.core.views import domain_errors
from opencrf.files import selectors
from opencrf.files.checks import download_type
from opencrf.files.models import StoredFile


def file_response(stored_file: StoredFile) -> FileResponse:
    """The file's bytes as an attachment the browser will neither sniff, render nor cache."""
    response = FileResponse(
        selectors.open_stored_file(stored_file),
        content_type=download_type(stored_file.media_type),
    )
    response["Content-Length"] = str(stored_file.size)
    response["Content-Disposition"] = content_disposition(stored_file.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
@domain_errors
def file_download(request: AuthedRequest, file_id: int) -> FileResponse:
    return file_response(selectors.access_file(request.user, file_id))
