"""Guards for views: the control centre exists only for administrators."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.http import Http404, HttpRequest, HttpResponse

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def administrator_required(view: ViewFunc) -> ViewFunc:
    """Let superusers through; everyone else, signed in or not, gets a plain 404."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_superuser):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped  # type: ignore[return-value]
