"""System checks of the accounts app, shown by `opencrf check` (and failing `--deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from opencrf.config.site_url import unset_warning


@checks.register(checks.Tags.security)
def site_url_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Outside debug mode, an unset OPENCRF_SITE_URL makes e-mailed links point elsewhere."""
    if settings.DEBUG or settings.OPENCRF_SITE_URL_CONFIGURED:
        return []
    return [checks.Warning(unset_warning(settings.OPENCRF_SITE_URL), id="accounts.W001")]
