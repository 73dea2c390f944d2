"""Per-request account upkeep: terms of use to accept, and the last-activity time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from opencrf.accounts.models import User
from opencrf.accounts.selectors import terms_to_accept

ACTIVITY_RESOLUTION = timedelta(minutes=5)

# Account pages (log out, password, two-factor, the terms themselves), the language switch,
# static files and health checks stay open while new terms wait to be accepted.
_OPEN_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/-/")


class TermsAcceptanceMiddleware:
    """Signed-in users, administrators too, accept the terms in force before anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(_OPEN_PREFIXES):
            assert isinstance(user, User)
            if terms_to_accept(user) is not None:
                target = reverse("accounts:terms_accept")
                if request.method == "GET":
                    target += "?" + urlencode({"next": request.get_full_path()})
                return redirect(target)
        return self.get_response(request)


class LastActivityMiddleware:
    """Keep User.last_activity_at to within five minutes: at most one UPDATE per five minutes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            assert isinstance(user, User)
            now = timezone.now()
            seen = user.last_activity_at
            if seen is None or now - seen >= ACTIVITY_RESOLUTION:
                User.objects.filter(pk=user.pk).update(last_activity_at=now)
                user.last_activity_at = now
        return self.get_response(request)
