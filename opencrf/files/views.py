"""Downloading stored files: always as an attachment, never rendered by the browser."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.views.decorators.http import require_GET

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.views import domain_errors
from opencrf.files import selectors
from opencrf.files.checks import download_type
from opencrf.files.models import StoredFile

_NOT_FILENAME_SAFE = re.compile(r"[^A-Za-z0-9 ._()+-]")


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_FILENAME_SAFE.sub("_", decomposed)


def ascii_filename(name: str) -> str:
    """A plain-ASCII stand-in for clients that ignore `filename*`: accents dropped, else "file"."""
    suffix = PurePosixPath(name).suffix
    stem = _ascii(name[: len(name) - len(suffix)]).strip(" ")
    if not stem.strip(" ._"):
        stem = "file"
    return stem + _ascii(suffix)


def attachment_disposition(name: str) -> str:
    """RFC 6266 / 5987: an ASCII fallback, then the exact UTF-8 name percent-encoded."""
    return (
        f"attachment; filename=\"{ascii_filename(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
    )


def file_response(stored_file: StoredFile) -> FileResponse:
    """The file's bytes as an attachment the browser will neither sniff, render nor cache."""
    response = FileResponse(
        selectors.open_stored_file(stored_file),
        content_type=download_type(stored_file.media_type),
    )
    response["Content-Length"] = str(stored_file.size)
    response["Content-Disposition"] = attachment_disposition(stored_file.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
@domain_errors
def file_download(request: AuthedRequest, file_id: int) -> FileResponse:
    return file_response(selectors.access_file(request.user, file_id))
