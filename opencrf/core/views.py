"""Turning domain errors into pages, in one place."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from opencrf.core.errors import NotFound, PermissionDenied

_R = TypeVar("_R", bound=HttpResponseBase)


def domain_errors(view: Callable[..., _R]) -> Callable[..., _R | HttpResponse]:
    """NotFound becomes 404 and PermissionDenied a 403 page naming the reason."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> _R | HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404(error.message) from None
        except PermissionDenied as error:
            return render(request, "403.html", {"reason": error.message}, status=403)

    return wrapper
