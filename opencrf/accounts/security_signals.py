"""Security log entries for what Django and django-axes announce by signal.

Logins are logged by the views, once both steps are done; failures, lockouts and logouts
come from here, whatever view or backend caused them.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from opencrf.accounts import sessions as _session_clocks  # noqa: F401  (connects its receiver)
from opencrf.accounts.models import User
from opencrf.accounts.services import security_event_create
from opencrf.core.middleware import client_address

# Sent for a wrong two-factor code: logged as `2fa.failed` by the view, counted by axes.
CODE_FAILURE_SENDER = "opencrf.accounts.two_factor"


def _user_named(username: str) -> User | None:
    return User.objects.filter(username=username).first() if username else None


@receiver(user_login_failed)
def _log_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_kw: Any
) -> None:
    if sender == CODE_FAILURE_SENDER or request is None:
        return
    username = str(credentials.get("username") or "")[:150]
    security_event_create(
        kind="login.failed",
        user=_user_named(username),
        username=username,
        address=client_address(request),
        details={"locked_out": bool(getattr(request, "axes_locked_out", False))},
    )


@receiver(user_locked_out)
def _log_lockout(
    sender: Any, request: HttpRequest, username: str | None = None, **_kw: Any
) -> None:
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:  # an attempt during a lockout, already logged as a failure
        return
    security_event_create(
        kind="lockout",
        user=_user_named(username or ""),
        username=username or "",
        address=client_address(request),
        details={"failures": failures},
    )


@receiver(user_logged_out)
def _log_logout(sender: Any, request: HttpRequest, user: User | None, **_kw: Any) -> None:
    if user is None:
        return
    security_event_create(
        kind="logout",
        user=user,
        address=client_address(request),
        details={"reason": getattr(request, "logout_reason", "user")},
    )
