"""System checks of the accounts app, failing `opencrf check --deploy` (plain `opencrf check`
prints the same as a WARN line)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from opencrf.config.site_url import FALLBACK, unset_warning, unset_warning_outside_serve


@checks.register(checks.Tags.security, deploy=True)
def site_url_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Outside debug mode, an unset OPENCRF_SITE_URL makes e-mailed links point elsewhere."""
    warning = site_url_warning()
    return [] if warning is None else [checks.Warning(warning, id="accounts.W001")]


def site_url_warning() -> str | None:
    if settings.DEBUG or settings.OPENCRF_SITE_URL_CONFIGURED:
        return None
    if settings.OPENCRF_SITE_URL == FALLBACK:  # not put in by `opencrf serve`: its port is unknown
        return unset_warning_outside_serve()
    return unset_warning(settings.OPENCRF_SITE_URL)
