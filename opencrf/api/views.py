"""The one endpoint of the REDCap-compatible API: POST /api/ (spec §1).

Everything is chosen by body parameters. The view finds the token, builds a `Call` and hands it
to the handler of its `content`; every refusal is a REDCap error body in the caller's format.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest
from django.http.response import HttpResponseBase
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
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import access_project, member_rights

logger = logging.getLogger(__name__)


@csrf_exempt  # authenticated by the token in the body, never by a cookie
def api_endpoint(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        return error_response("The requested method is not implemented.", "xml", 501)
    try:
        params = Params(request.POST)
    except (RequestDataTooBig, TooManyFieldsSent):
        return error_response("The request is too large.", "xml", 413)
    try:
        return _dispatch(request, params)
    except ApiError as error:
        return error_response(error.message, return_format_of(params), error.status)
    except PermissionDenied as error:
        return error_response(str(error.message), return_format_of(params), 403)
    except (InvalidInput, NotFound) as error:
        return error_response(str(error.message), return_format_of(params), 400)


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
    return handler.run(call)
