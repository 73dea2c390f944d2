"""The one endpoint of the REDCap-compatible API: POST /api/ (spec §1).

Everything is chosen by body parameters. The view finds the token, builds a `Call` and hands it
to the handler of its `content`; every refusal is a REDCap error body in the caller's format.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.datastructures import MultiValueDict
from django.utils.translation import override
from django.views.decorators.csrf import csrf_exempt

from opencrf.api.calls import Call, return_format_of
from opencrf.api.contents import HANDLERS
from opencrf.api.errors import ApiError, forbidden
from opencrf.api.formats import error_response
from opencrf.api.params import Params
from opencrf.api.tokens import token_find
from opencrf.audit.models import AuditSource
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.core.maintenance import read_only_reason
from opencrf.core.request_text import (
    FORM_ENCODED,
    MULTIPART,
    TextRefused,
    check_multipart,
    check_query,
    checks_own_request_text,
    form_pairs,
)
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import access_project, member_rights

logger = logging.getLogger(__name__)
MAX_FIELDS = 200_000


@checks_own_request_text  # refusals in REDCap's error body, not core's plain text
@csrf_exempt  # authenticated by the token in the body, never by a cookie
def api_endpoint(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        return error_response("The requested method is not implemented.", "xml", 501)
    try:
        params = Params(_body(request))
    except BodyRefused as refused:
        return error_response(refused.message, return_format_of(refused.params), 400)
    except (RequestDataTooBig, TooManyFieldsSent, ValueError):
        limit = settings.OPENCRF_API_MAX_BYTES // (1024 * 1024)
        message = f"The request is larger than this server accepts ({limit} MB) or malformed."
        return error_response(message, "xml", 413)
    try:
        return _dispatch(request, params)
    except ApiError as error:
        return error_response(error.message, return_format_of(params), error.status)
    except PermissionDenied as error:
        return error_response(str(error.message), return_format_of(params), 403)
    except (InvalidInput, NotFound) as error:
        return error_response(str(error.message), return_format_of(params), 400)


class BodyRefused(Exception):
    """The parameters hold a NUL or invalid UTF-8; `params` are what could be read of them,
    enough to answer in the caller's return format."""

    def __init__(self, message: str, params: Params) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def _body(request: HttpRequest) -> MultiValueDict[str, str]:
    """The parameters. A form-encoded body (a record import's `data`) may be larger, and hold
    more fields (PyCap lists every field name), than Django allows a web form. A NUL or
    invalid UTF-8 anywhere in them, or in the query string, is refused (never replaced)."""
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.OPENCRF_API_MAX_BYTES:
        raise RequestDataTooBig("API request too large")
    if request.content_type == MULTIPART:
        return _multipart_body(request)  # files stream to disk, the few other fields are small
    raw = request.read(length) if request.content_type == FORM_ENCODED else b""
    try:
        with override("en"):  # REDCap's errors are English whatever the client's language
            check_query(request)
            pairs = form_pairs(raw, "the request body", MAX_FIELDS)
    except TextRefused as refused:
        lenient = parse_qsl(raw.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS)
        raise BodyRefused(refused.message, Params(_values(lenient))) from None
    return _values(pairs)


def _multipart_body(request: HttpRequest) -> MultiValueDict[str, str]:
    try:
        with override("en"):
            check_query(request)
            check_multipart(request, "the request body")
    except TextRefused as refused:
        # Invalid UTF-8 stops the parse; the stream cannot be read twice, so POST is empty
        # and the error comes in XML. A NUL leaves the fields parsed.
        raise BodyRefused(refused.message, Params(request.POST)) from None
    return request.POST


def _values(pairs: list[tuple[str, str]]) -> MultiValueDict[str, str]:
    values: MultiValueDict[str, str] = MultiValueDict()
    for name, value in pairs:
        values.appendlist(name, value)
    return values


def _dispatch(request: HttpRequest, params: Params) -> HttpResponseBase:
    found = token_find(params.raw("token"))
    if found is None:
        raise forbidden()
    project, rights = None, Rights()
    if found.project is not None:
        try:
            project = access_project(found.user, found.project_id)  # type: ignore[arg-type]
            rights = member_rights(found.user, project)
        except NotFound:
            raise forbidden() from None
        if not (rights.api_export or rights.api_import):
            raise forbidden()
    context = replace(AuditContext.from_request(request, source=AuditSource.API), actor=found.user)
    call = Call(request, params, found, found.user, project, context, rights)
    handler = HANDLERS.get(call.content)
    if handler is None:
        raise ApiError('The value of the parameter "content" is not valid')
    if project is None and not handler.super_token:
        raise forbidden()
    if _writes(call) and (reason := read_only_reason()) is not None:
        raise ApiError(reason, status=503)
    return handler.run(call)


WRITE_ACTIONS = frozenset({"import", "delete", "rename", "switch", "createFolder", "randomize"})


def _writes(call: Call) -> bool:
    """Whether the call would change anything: data sent, a changing action, or a new
    project. Reads go on during maintenance; writes are refused."""
    return (
        call.has_data()
        or call.params.text("action") in WRITE_ACTIONS
        or (call.content == "project" and call.project is None)
    )
