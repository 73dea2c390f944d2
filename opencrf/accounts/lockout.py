"""Lockout after repeated failures (django-axes), tuned by the administrator's settings.

Failures are counted per account and, separately, per client address (AXES_LOCKOUT_PARAMETERS
`["username", "ip_address"]`); either count reaching `lockout_failures` within
`lockout_minutes` of the last failure locks that account or address for `lockout_minutes`.
A wrong two-factor code counts as a failure of the account it was typed for.

A locked-out attempt looks exactly like a wrong password: the same page, the same message,
and a password hash computed anyway, so that neither the words nor the time taken tell an
attacker whether an account exists or is locked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from django.contrib.auth.signals import user_login_failed
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from opencrf.accounts.models import User
from opencrf.accounts.services import security_event_create
from opencrf.accounts.site_cache import current_site_settings
from opencrf.core.middleware import client_address


def failure_limit(request: HttpRequest | None = None, credentials: Any = None) -> int:
    """AXES_FAILURE_LIMIT: failures before a lockout."""
    return max(1, current_site_settings().lockout_failures)


def cool_off(request: HttpRequest | None = None) -> timedelta:
    """AXES_COOLOFF_TIME: how long a lockout lasts, and how long a failure is remembered."""
    return timedelta(minutes=max(1, current_site_settings().lockout_minutes))


def axes_client_address(request: HttpRequest) -> str:
    """AXES_CLIENT_IP_CALLABLE: the address the security log records (proxy-aware)."""
    return client_address(request)


class LockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]
    """Axes's gatekeeper backend, spending a password hash's time on a locked-out attempt.

    Without the hash, a locked-out account would answer faster than any other: the
    following backend (which hashes even for unknown usernames) never runs.
    """

    def authenticate(
        self,
        request: HttpRequest,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            make_password(password or "")
            raise


def is_locked_out(request: HttpRequest, username: str) -> bool:
    return not AxesProxyHandler.is_allowed(request, {"username": username})


def failure_record(request: HttpRequest, username: str) -> None:
    """Count a failure of `username` from this request's address (e.g. a wrong 2FA code)."""
    user_login_failed.send(
        sender="opencrf.accounts.two_factor", credentials={"username": username}, request=request
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: keep the page the view rendered (the wrong-password page)."""
    if original_response is None:
        raise ValueError("axes passed no response to keep")
    return original_response


def lockouts_current() -> dict[str, list[str]]:
    """Accounts (usernames as typed) and addresses locked out now, for administrators."""
    since = timezone.now() - cool_off()
    recent = AccessAttempt.objects.filter(attempt_time__gte=since)
    limit = failure_limit()

    def locked(field: str) -> list[str]:
        totals = recent.values(field).annotate(total=Sum("failures_since_start"))
        return sorted(str(row[field]) for row in totals.filter(total__gte=limit) if row[field])

    return {"accounts": locked("username"), "addresses": locked("ip_address")}


def lockout_clear(*, actor: User, address: str, username: str = "", ip_address: str = "") -> int:
    """Forget the failures of one account or one address (an administrator unlocks it)."""
    if bool(username) == bool(ip_address):
        raise ValueError("give exactly one of username and ip_address")
    if username:
        cleared = AxesProxyHandler.reset_attempts(username=username)
    else:
        cleared = AxesProxyHandler.reset_attempts(ip_address=ip_address)
    security_event_create(
        kind="lockout.cleared",
        user=User.objects.filter(username=username).first() if username else None,
        username=username,
        actor=actor,
        address=address,
        details={"address": ip_address} if ip_address else {},
    )
    return int(cleared)
