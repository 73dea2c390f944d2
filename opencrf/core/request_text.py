"""Text a request carries: a NUL character or invalid UTF-8 is refused, never stored or replaced.

PostgreSQL's text cannot hold NUL (a query holding one fails with a server error); SQLite
stores it. Refusing it at the edge makes both databases behave alike, and nothing downstream
(lookups by record id, searches, filters) ever sees one.

Django decodes form fields with `errors="replace"`, so invalid UTF-8 silently becomes U+FFFD.
`STRICT_UTF8` names a codec that always decodes strictly, whatever `errors` its caller asks
for: with `request.encoding = STRICT_UTF8`, parsing a multipart body raises on invalid bytes
instead. File contents are never decoded, so binary uploads (images) pass untouched.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext as _

STRICT_UTF8 = "opencrf_strict_utf_8"
FORM_ENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class TextRefused(ValueError):
    """The request's text holds a NUL or invalid UTF-8; `message` says where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _strict_decode(data: Any, errors: str = "strict", /) -> tuple[str, int]:
    return codecs.utf_8_decode(data, "strict", True)


class _StrictIncrementalDecoder(codecs.BufferedIncrementalDecoder):
    def _buffer_decode(self, data: Any, errors: str, final: bool) -> tuple[str, int]:
        return codecs.utf_8_decode(data, "strict", final)


def _find_codec(name: str) -> codecs.CodecInfo | None:
    if name != STRICT_UTF8:
        return None
    utf_8 = codecs.lookup("utf-8")
    return codecs.CodecInfo(
        name=STRICT_UTF8,
        encode=utf_8.encode,
        decode=_strict_decode,
        incrementalencoder=utf_8.incrementalencoder,
        incrementaldecoder=_StrictIncrementalDecoder,
        streamreader=utf_8.streamreader,
        streamwriter=utf_8.streamwriter,
    )


codecs.register(_find_codec)


def nul_refused(where: str, name: str = "") -> TextRefused:
    if name:
        message = _(
            "The field “%(name)s” in %(where)s contains a NUL character, which is not accepted."
        )
    else:
        message = _("%(where)s contains a NUL character, which is not accepted.")
    return TextRefused(capfirst(message % {"where": where, "name": name}))


def utf8_refused(where: str) -> TextRefused:
    return TextRefused(capfirst(_("%(where)s is not valid UTF-8 text.") % {"where": where}))


def wsgi_text(raw: str, where: str) -> str:
    """A WSGI environ string (bytes decoded as Latin-1, PEP 3333) read as strict UTF-8."""
    try:
        data = raw.encode("latin-1")
    except UnicodeEncodeError:  # already text (some test clients)
        data = raw.encode("utf-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise utf8_refused(where) from None
    if "\x00" in text:
        raise nul_refused(where)
    return text


def form_pairs(
    body: bytes | str, where: str, max_fields: int | None = None
) -> list[tuple[str, str]]:
    """The name–value pairs of a form-encoded body or query string, decoded strictly."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=max_fields)
    except UnicodeDecodeError:
        raise utf8_refused(where) from None
    refuse_nul(pairs, where)
    return pairs


def refuse_nul(pairs: Iterable[tuple[str, str | list[str]]], where: str) -> None:
    """Raise when a name or a value holds a NUL; the message names the field (not its value)."""
    for name, value in pairs:
        values = value if isinstance(value, list) else [value]
        if "\x00" in name:
            raise nul_refused(where)
        if any("\x00" in text for text in values):
            raise nul_refused(where, name)


def check_path(request: HttpRequest) -> None:
    """Only NUL: Django keeps invalid UTF-8 of an address percent-encoded (`%FF`), so it never
    reaches a view as replaced text, and the raw bytes are gone by the time a request exists."""
    if "\x00" in request.path_info:
        raise nul_refused(_("the address"))


def check_query(request: HttpRequest) -> None:
    raw = wsgi_text(str(request.META.get("QUERY_STRING", "")), _("the query string"))
    form_pairs(raw, _("the query string"))


def check_form(request: HttpRequest) -> None:
    """Form fields of a page request; multipart file contents are left alone, file names not."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.content_type == FORM_ENCODED:
        form_pairs(request.body, _("the form"), settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)
    elif request.content_type == MULTIPART:
        check_multipart(request, _("the form"))


def check_multipart(request: HttpRequest, where: str) -> None:
    """Parse a multipart body strictly (see the module) and refuse a NUL in any field."""
    request.encoding = STRICT_UTF8
    try:
        fields, files = request.POST, request.FILES
    except UnicodeDecodeError:
        raise utf8_refused(where) from None
    refuse_nul(fields.lists(), where)
    names = ((field, [upload.name or "" for upload in uploads]) for field, uploads in files.lists())
    refuse_nul(names, where)


View = TypeVar("View", bound=Callable[..., Any])


def checks_own_request_text(view: View) -> View:
    """Mark a view that refuses bad request text itself, in a format of its own (the API)."""
    view.checks_own_request_text = True  # type: ignore[attr-defined]
    return view
