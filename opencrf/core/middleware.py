"""Request-wide concerns: a request id for logs and audit, size and text of requests, and a
strict Content Security Policy."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from opencrf.core.request_text import TextRefused, check_form, check_path, check_query

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class RequestIdMiddleware:
    """Give every request an id (kept from a trusted proxy's X-Request-ID when well formed)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "") if settings.BEHIND_PROXY else ""
        request.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


class RequestSizeMiddleware:
    """Refuse form-encoded page requests larger than any page form needs (413).

    Django's own limit on form fields is raised for the API (imports carry their data as a
    form field); pages keep a small one, checked before the body is read.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        form_encoded = request.content_type == "application/x-www-form-urlencoded"
        if form_encoded and not request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.OPENCRF_FORM_MAX_BYTES:
                return too_large(settings.OPENCRF_FORM_MAX_BYTES)
        return self.get_response(request)


def too_large(limit: int) -> HttpResponse:
    """413 naming the limit, so that whoever sent it knows what to shorten."""
    message = _(
        "The request is too large: a page accepts at most %(limit)s bytes of form fields."
    ) % {"limit": f"{limit:,}"}
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class RequestTextMiddleware:
    """Refuse (400) a request whose address, query string or form fields hold a NUL character
    or invalid UTF-8 (see core/request_text.py), before any view or database sees it.

    The address is checked for every request; the query string and form fields once the view
    is known, so that a view answering in a format of its own (the API: REDCap's error body in
    the caller's format) can check them itself. Must come before CsrfViewMiddleware, which
    would otherwise parse the form leniently first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_path(request)
        except TextRefused as refused:
            return _bad_request(refused.message)
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if getattr(view, "checks_own_request_text", False):
            return None
        try:
            check_query(request)
            check_form(request)
        except TextRefused as refused:
            return _bad_request(refused.message)
        except RequestDataTooBig:
            # A multipart page form (data entry) over Django's limit on its non-file fields:
            # Django would answer a bare "Bad Request (400)".
            return too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return None


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


class ContentSecurityPolicyMiddleware:
    """No inline scripts or styles, nothing from other origins: labels can never run code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


def client_address(request: HttpRequest) -> str:
    """The client's address: behind a proxy, the one the proxy appended to X-Forwarded-For.

    Only the right-most entry is the proxy's own statement; earlier ones come from the client.
    """
    forwarded = request.headers.get("X-Forwarded-For", "") if settings.BEHIND_PROXY else ""
    if forwarded.strip():
        return forwarded.split(",")[-1].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))
