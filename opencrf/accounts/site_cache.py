"""The site settings as read on every request: one row, kept per process for a few seconds.

Middleware consults the policy (two-factor, session limits, password age) on each request;
reading the row each time would add a query to every page. A change made in this process
is seen at once (the row's post_save clears the copy); other processes see it within
`KEEP_SECONDS`.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from opencrf.accounts.models import SiteSettings
from opencrf.accounts.selectors import site_settings

KEEP_SECONDS = 5.0

_kept: dict[str, Any] = {}


def current_site_settings() -> SiteSettings:
    """The site settings, read at most once every few seconds by this process."""
    kept = _kept.get("settings")
    if kept is not None and time.monotonic() - _kept["at"] < KEEP_SECONDS:
        return kept  # type: ignore[no-any-return]
    fresh = site_settings()
    _kept.update(settings=fresh, at=time.monotonic())
    return fresh


def forget_site_settings() -> None:
    _kept.clear()


@receiver(post_save, sender=SiteSettings)
def _forget_on_save(**_kwargs: Any) -> None:
    forget_site_settings()
