"""Banners every page shows: training instance, maintenance mode, planned maintenance.

The context processor hands templates a lazy list: a page that never shows it costs nothing,
and one that does reads the per-process copy of the switch and the calendar
(`ops.maintenance.operations_snapshot`), not the database, on most requests.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from opencrf.ops.maintenance import OperationsSnapshot, operations_snapshot, refusal_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Banner:
    kind: str  # training, validation, maintenance_mode, planned
    style: str  # a Bootstrap alert colour
    text: str


def local_time(value: datetime) -> str:
    """`YYYY-MM-DD HH:MM` in the site's time zone (settings.TIME_ZONE)."""
    return timezone.localtime(value, zoneinfo.ZoneInfo(settings.TIME_ZONE)).strftime(
        "%Y-%m-%d %H:%M"
    )


def role_banner(role: str) -> Banner | None:
    if role == "training":
        text = _("Training instance: data is reset every night and no e-mail is sent.")
        return Banner("training", "info", text)
    if role == "validation":
        text = _("Validation instance: for testing upgrades; not for real data.")
        return Banner("validation", "secondary", text)
    return None


def current_banners(now: datetime | None = None) -> list[Banner]:
    """The banners to show now, most urgent first (escaped by the template)."""
    banners = role_banners()
    try:
        snapshot = operations_snapshot()
    except DatabaseError:  # a page (even an error page) must not fail for want of its banner
        logger.warning("Could not read maintenance mode and the calendar for the banners")
        return banners
    return [*_operations(snapshot, now), *banners]


def role_banners() -> list[Banner]:
    role = role_banner(settings.OPENCRF_INSTANCE_ROLE)
    return [] if role is None else [role]


def _operations(snapshot: OperationsSnapshot, now: datetime | None) -> list[Banner]:
    banners = []
    if snapshot.status.on:
        banners.append(Banner("maintenance_mode", "warning", refusal_text(snapshot.status.message)))
    for window in snapshot.announced(now):
        text = _("Planned maintenance: %(title)s, %(start)s–%(end)s (local time)") % {
            "title": window.title,
            "start": local_time(window.starts_at),
            "end": local_time(window.ends_at),
        }
        banners.append(Banner("planned", "info", text))
    return banners


def operations_banners(request: HttpRequest) -> dict[str, Any]:
    return {"operations_banners": SimpleLazyObject(current_banners)}
