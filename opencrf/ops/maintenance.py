"""Maintenance mode and the maintenance calendar.

Maintenance mode is one switch (`OperationsState`, pk 1): while it is on, every page shows a
read-only banner and every write request from a page is refused with HTTP 503 before it
reaches its view, so nothing changes; reading still works, and so does signing in. The API
asks `opencrf.core.maintenance.read_only_reason()`, which this module answers.

The calendar holds planned work (`MaintenanceWindow`); a banner announces each window from
`announce_days` before its start until it ends or is marked done.

Pages read the switch and the calendar through `operations_snapshot()`, kept per process for
`KEEP_SECONDS` (a change made by this process is seen at once, by the others within those
seconds). Writes never trust that copy: the middleware reads the switch afresh before letting
one through, so no process accepts a change once maintenance mode is on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.accounts.services import security_event_create
from opencrf.core.errors import InvalidInput
from opencrf.ops.models import MaintenanceKind, MaintenanceWindow, OperationsState

logger = logging.getLogger(__name__)

KEEP_SECONDS = 5.0
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Writes that stay open in maintenance mode: signing in and out (people must still be able to
# read), the steps a sign-in may require, the language, and the switch that ends it.
OPEN_IN_MAINTENANCE = frozenset(
    {
        "accounts:login",
        "accounts:logout",
        "accounts:two_factor_verify",
        "accounts:two_factor_enrol",
        "accounts:reauth",
        "accounts:password_change",
        "accounts:terms_accept",
        "accounts:keep_alive",
        "set_language",
        "ops_control:maintenance_mode",
        # The API parses its own body and asks `core.maintenance.read_only_reason` itself.
        "api",
    }
)


@dataclass(frozen=True, slots=True)
class MaintenanceStatus:
    on: bool
    message: str = ""
    since: datetime | None = None
    by: str = ""


@dataclass(frozen=True, slots=True)
class PlannedWindow:
    """What the banner needs of a window, kept in the per-process copy."""

    pk: int
    title: str
    starts_at: datetime
    ends_at: datetime
    announce_from: datetime


@dataclass(frozen=True, slots=True)
class OperationsSnapshot:
    status: MaintenanceStatus
    windows: tuple[PlannedWindow, ...]

    def announced(self, now: datetime | None = None) -> list[PlannedWindow]:
        now = now or timezone.now()
        return [w for w in self.windows if w.announce_from <= now < w.ends_at]


# --- Maintenance mode ---


def _status(row: OperationsState | None) -> MaintenanceStatus:
    if row is None or not row.maintenance_mode:
        return MaintenanceStatus(on=False)
    return MaintenanceStatus(
        on=True,
        message=row.maintenance_message,
        since=row.maintenance_started_at,
        by=row.maintenance_started_by,
    )


def maintenance_status() -> MaintenanceStatus:
    """The switch as the database holds it now (one query)."""
    return _status(OperationsState.objects.filter(pk=1).first())


def _locked_state() -> OperationsState:
    OperationsState.objects.get_or_create(pk=1)
    return OperationsState.objects.select_for_update().get(pk=1)


def maintenance_start(
    *, by: str, message: str = "", actor: User | None = None, address: str = ""
) -> OperationsState:
    """Turn maintenance mode on (or change its message while on); logged in the security log."""
    message = message.strip()
    if len(message) > 500:
        raise InvalidInput(_("The message may have at most 500 characters."))
    with transaction.atomic():
        state = _locked_state()
        was_on = state.maintenance_mode
        state.maintenance_mode = True
        state.maintenance_message = message
        if not was_on:
            state.maintenance_started_at = timezone.now()
            state.maintenance_started_by = by[:150]
        state.save()
        security_event_create(
            kind="maintenance.started",
            username=by,
            actor=actor,
            address=address,
            details={"message": message, "was_on": was_on},
        )
    forget_operations_snapshot()
    return state


def maintenance_stop(*, by: str, actor: User | None = None, address: str = "") -> OperationsState:
    """Turn maintenance mode off; logged in the security log (nothing happens if it was off)."""
    with transaction.atomic():
        state = _locked_state()
        if state.maintenance_mode:
            started = state.maintenance_started_at
            state.maintenance_mode = False
            state.maintenance_message = ""
            state.maintenance_started_at = None
            state.maintenance_started_by = ""
            state.save()
            security_event_create(
                kind="maintenance.stopped",
                username=by,
                actor=actor,
                address=address,
                details={"started_at": started.isoformat() if started else ""},
            )
    forget_operations_snapshot()
    return state


def refusal_text(message: str) -> str:
    """The sentence a refused write gets; the operator's message follows it."""
    text = _("OpenCRF is in maintenance mode: changes are not accepted until it ends.")
    return f"{text} {message}" if message else text


def read_only_reason() -> str | None:
    """For `opencrf.core.maintenance`: the refusal while maintenance mode is on (read fresh)."""
    status = maintenance_status()
    return refusal_text(status.message) if status.on else None


# --- The calendar ---


def window_announce_from(window: MaintenanceWindow) -> datetime:
    return window.starts_at - timedelta(days=window.announce_days)


def window_announced(window: MaintenanceWindow, now: datetime | None = None) -> bool:
    """Whether the banner shows `window` at `now`: from its announcement until its end."""
    now = now or timezone.now()
    return not window.done and window_announce_from(window) <= now < window.ends_at


def _checked_window(
    *, title: str, kind: str, starts_at: datetime, ends_at: datetime, announce_days: int
) -> str:
    title = title.strip()
    if not title:
        raise InvalidInput(_("Planned maintenance needs a title."))
    if kind not in MaintenanceKind.values:
        raise InvalidInput(_("Choose the kind of maintenance."))
    if ends_at <= starts_at:
        raise InvalidInput(_("The maintenance must end after it starts."))
    if not 0 <= announce_days <= 365:
        raise InvalidInput(_("Announce it between 0 and 365 days before it starts."))
    return title


def maintenance_window_create(
    *,
    actor: User | None,
    title: str,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    announce_days: int = 7,
) -> MaintenanceWindow:
    """Put planned maintenance on the calendar."""
    title = _checked_window(
        title=title, kind=kind, starts_at=starts_at, ends_at=ends_at, announce_days=announce_days
    )
    window = MaintenanceWindow.objects.create(
        title=title,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        description=description,
        announce_days=announce_days,
        created_by=actor,
    )
    forget_operations_snapshot()
    return window


def maintenance_window_update(
    window: MaintenanceWindow,
    *,
    title: str,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    announce_days: int = 7,
) -> MaintenanceWindow:
    """Change planned maintenance (its time, title, announcement)."""
    window.title = _checked_window(
        title=title, kind=kind, starts_at=starts_at, ends_at=ends_at, announce_days=announce_days
    )
    window.kind = kind
    window.starts_at = starts_at
    window.ends_at = ends_at
    window.description = description
    window.announce_days = announce_days
    window.save()
    forget_operations_snapshot()
    return window


def maintenance_window_mark_done(window: MaintenanceWindow) -> MaintenanceWindow:
    """The work is finished: the window leaves the banner (and stays in the calendar)."""
    window.done = True
    window.save(update_fields=["done"])
    forget_operations_snapshot()
    return window


def maintenance_window_delete(window: MaintenanceWindow, *, now: datetime | None = None) -> None:
    """Remove planned maintenance that has not started; the past stays for the reports."""
    now = now or timezone.now()
    if window.starts_at <= now:
        raise InvalidInput(
            _("Only maintenance that has not started can be deleted; mark it done instead.")
        )
    window.delete()
    forget_operations_snapshot()


def upcoming_windows(now: datetime | None = None) -> list[MaintenanceWindow]:
    """Windows not done that have not ended, soonest first."""
    now = now or timezone.now()
    return list(MaintenanceWindow.objects.filter(done=False, ends_at__gt=now))


# --- The per-process copy pages read ---

_kept: dict[str, Any] = {}


def operations_snapshot() -> OperationsSnapshot:
    """The switch and the windows to announce, read at most once every few seconds."""
    kept = _kept.get("snapshot")
    if kept is not None and time.monotonic() - _kept["at"] < KEEP_SECONDS:
        return kept  # type: ignore[no-any-return]
    windows = tuple(
        PlannedWindow(w.pk, w.title, w.starts_at, w.ends_at, window_announce_from(w))
        for w in upcoming_windows()
    )
    fresh = OperationsSnapshot(status=maintenance_status(), windows=windows)
    _kept.update(snapshot=fresh, at=time.monotonic())
    return fresh


def forget_operations_snapshot() -> None:
    _kept.clear()


# --- Refusing writes ---


def _write_is_open(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.view_name in OPEN_IN_MAINTENANCE


class MaintenanceModeMiddleware:
    """While maintenance mode is on, refuse every write request from a page with HTTP 503.

    Reads pass untouched (no query). A write costs one primary-key read of the switch, so a
    process with a stale copy never lets one through.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in WRITE_METHODS and not _write_is_open(request):
            status = maintenance_status()
            if status.on:
                return refusal_response(request, status)
        return self.get_response(request)


def refusal_response(request: HttpRequest, status: MaintenanceStatus) -> HttpResponse:
    forget_operations_snapshot()  # the banner of this answer must show the mode
    context = {"refusal": refusal_text(""), "message": status.message}
    response = render(request, "ops/maintenance_refused.html", context, status=503)
    # A planned refusal, not a server error: one info line instead of django.request's error.
    response._has_been_logged = True  # type: ignore[attr-defined]
    logger.info("Maintenance mode: refused %s %s", request.method, request.path)
    return response
