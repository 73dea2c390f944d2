"""Per-request account rules: the user's language, a forced password change (one-time or
expired password), session limits, and two-factor authentication before anything else."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from opencrf.accounts import sessions, two_factor
from opencrf.accounts.passwords import password_expired

# Set at the password step for a user with a device: the code step is still due.
TWO_FACTOR_PENDING = "opencrf_2fa_pending"


def _is_allowed(request: HttpRequest, names: Iterable[str]) -> bool:
    if request.path.startswith(("/static/", "/-/")):
        return True
    return request.path in {reverse(name) for name in names}


class UserLanguageMiddleware:
    """A signed-in user's saved language wins over the browser's preference."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = getattr(request.user, "language", "")
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language:
            response.headers.setdefault("Content-Language", language)
        return response


class PasswordChangeRequiredMiddleware:
    """Until a one-time or expired password is replaced, every page leads to the change form."""

    allowed_names = (
        "accounts:password_change",
        "accounts:reauth",
        "accounts:logout",
        "accounts:two_factor_verify",
        "accounts:two_factor_enrol",
        "accounts:keep_alive",
        "set_language",
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._change_due(request) and not _is_allowed(request, self.allowed_names):
            return redirect("accounts:password_change")
        return self.get_response(request)

    def _change_due(self, request: HttpRequest) -> bool:
        user = request.user
        if not user.is_authenticated:
            return False
        return bool(getattr(user, "must_change_password", False)) or password_expired(user)


class SessionLimitsMiddleware:
    """End sessions idle too long or older than the longest session, with a message."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            left = sessions.seconds_left(request)
            if left <= 0:
                return self._sign_out(request)
            sessions.session_touch(request)
            request.session_seconds_left = sessions.seconds_left(request)  # type: ignore[attr-defined]
        return self.get_response(request)

    def _sign_out(self, request: HttpRequest) -> HttpResponse:
        request.logout_reason = "expired"  # type: ignore[attr-defined]
        logout(request)
        messages.info(request, _("You were signed out because the session ran out. Log in again."))
        login_url = reverse("accounts:login")
        if request.method == "GET" and not request.headers.get("HX-Request"):
            return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
        if request.headers.get("HX-Request"):
            # An htmx request would swap the login page into a fragment: send the page there.
            answer = HttpResponse(status=204)
            answer["HX-Redirect"] = login_url
            return answer
        return redirect(login_url)


class TwoFactorMiddleware:
    """Until the second step is done (or, where required, a device enrolled), only the
    sign-in pages are reachable."""

    allowed_names = (
        "accounts:login",
        "accounts:logout",
        "accounts:two_factor_verify",
        "accounts:two_factor_enrol",
        "accounts:reauth",
        "accounts:keep_alive",
        "set_language",
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        target = self._step_due(request)
        if target and not _is_allowed(request, self.allowed_names):
            return redirect(target)
        return self.get_response(request)

    def _step_due(self, request: HttpRequest) -> str:
        user = request.user
        if not user.is_authenticated or user.is_verified():  # type: ignore[attr-defined]
            return ""
        if request.session.get(TWO_FACTOR_PENDING):
            return "accounts:two_factor_verify"
        if two_factor.two_factor_required(user):
            return "accounts:two_factor_enrol"
        return ""
