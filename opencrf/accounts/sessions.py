"""Session limits and recent authentication, kept as timestamps in the session.

- `LOGIN_AT`: when the user signed in (the absolute lifetime counts from here);
- `SEEN_AT`: the last request (the idle timeout counts from here; written at most once a
  minute, so an active user costs one session write per minute, not one per request);
- `AUTH_AT`: the last time the user proved who they are (password, and code when enrolled);
  changing the e-mail address, the password or two-factor settings needs one within
  `RECENT_AUTH_SECONDS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models import F
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from opencrf.accounts.models import User
from opencrf.accounts.services import security_event_create
from opencrf.accounts.site_cache import current_site_settings
from opencrf.core.middleware import client_address

LOGIN_AT = "opencrf_login_at"
SEEN_AT = "opencrf_seen_at"
AUTH_AT = "opencrf_auth_at"
RECENT_AUTH_SECONDS = 10 * 60
SEEN_WRITE_SECONDS = 60

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def now() -> float:
    return time.time()


@receiver(user_logged_in)
def _start_session_clocks(sender: Any, request: HttpRequest, user: User, **_kwargs: Any) -> None:
    moment = now()
    request.session[LOGIN_AT] = moment
    request.session[SEEN_AT] = moment
    request.session[AUTH_AT] = moment


def mark_authenticated(request: HttpRequest) -> None:
    """The user has just proved who they are again (re-authentication or the code step)."""
    request.session[AUTH_AT] = now()


def seconds_left(request: HttpRequest) -> int:
    """Seconds before this session ends, by the idle timeout or the absolute lifetime."""
    policy = current_site_settings()
    moment = now()
    session = request.session
    idle_left = session.get(SEEN_AT, moment) + policy.session_idle_minutes * 60 - moment
    life_left = session.get(LOGIN_AT, moment) + policy.session_max_hours * 3600 - moment
    return int(min(idle_left, life_left))


def session_touch(request: HttpRequest, *, force: bool = False) -> None:
    """Record activity (at most one session write a minute unless `force`)."""
    moment = now()
    if force or moment - request.session.get(SEEN_AT, 0) >= SEEN_WRITE_SECONDS:
        request.session[SEEN_AT] = moment
        # A session from before these clocks existed starts its lifetime now.
        request.session.setdefault(LOGIN_AT, moment)


def recently_authenticated(request: HttpRequest) -> bool:
    return now() - float(request.session.get(AUTH_AT, 0)) < RECENT_AUTH_SECONDS


def recent_auth_required(view: ViewFunc) -> ViewFunc:
    """Send the user to confirm their password (and code) first, unless done in 10 minutes."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{reverse('accounts:login')}?{urlencode({'next': request.path})}")
        if not recently_authenticated(request):
            return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': request.path})}")
        return view(request, *args, **kwargs)

    return wrapped  # type: ignore[return-value]


@transaction.atomic
def sessions_revoke_others(request: HttpRequest, user: User) -> None:
    """Sign out every other session of `user`, keeping this one (the epoch salts the hash)."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    update_session_auth_hash(request, user)
    security_event_create(kind="sessions.revoked", user=user, address=client_address(request))


def sessions_end_all(user: User) -> None:
    """Sign out every session of `user` (an administrator's action; no request involved)."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
