"""Inline previews of stored images: which files qualify, and the locked-down response.

Only raster images whose type was found by content sniffing at upload (PNG, JPEG, GIF, WebP)
are previewable, and their first bytes are checked again when served: SVG (which can hold
scripts), PDF, text and everything else are refused. The response forbids sniffing, runs in
a sandbox with nothing allowed, and is never cached, so even a mislabelled file could not
act as a page. Access is the caller's business (see `records.file_views`).
"""

from __future__ import annotations

from django.http import FileResponse
from django.utils.translation import gettext as _

from opencrf.core.downloads import content_disposition
from opencrf.core.errors import NotFound
from opencrf.files import checks, selectors
from opencrf.files.models import StoredFile

# Each previewable type and the bytes its content must hold at the given offsets.
_RASTER_MAGIC: dict[str, tuple[tuple[int, bytes], ...]] = {
    checks.PNG: ((0, b"\x89PNG\r\n\x1a\n"),),
    checks.JPEG: ((0, b"\xff\xd8\xff"),),
    checks.GIF: ((0, b"GIF8"),),
    checks.WEBP: ((0, b"RIFF"), (8, b"WEBP")),
}
PREVIEW_TYPES = frozenset(_RASTER_MAGIC)
_HEAD_BYTES = 12


def is_previewable(stored_file: StoredFile) -> bool:
    """Whether the file's sniffed type is a raster image a browser may show inline."""
    return stored_file.media_type in PREVIEW_TYPES


def starts_as(head: bytes, media_type: str) -> bool:
    """Whether `head` begins as a `media_type` image must (False for other types)."""
    magic = _RASTER_MAGIC.get(media_type, ())
    return bool(magic) and all(head[at : at + len(m)] == m for at, m in magic)


def preview_response(stored_file: StoredFile) -> FileResponse:
    """The image inline as its sniffed type, read through the storage API; else NotFound."""
    if not is_previewable(stored_file):
        raise NotFound(_("No such file."))
    handle = selectors.open_stored_file(stored_file)
    if not starts_as(handle.read(_HEAD_BYTES), stored_file.media_type):
        handle.close()
        raise NotFound(_("No such file."))
    handle.seek(0)
    response = FileResponse(handle, content_type=stored_file.media_type)
    response["Content-Length"] = str(stored_file.size)
    response["Content-Disposition"] = content_disposition(stored_file.original_name, "inline")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
