"""System checks of the audit app, failing `opencrf check --deploy`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

# A checkpoint signed under a guessable key proves nothing: whoever guesses it forges one.
MIN_AUDIT_KEY = 32


@checks.register(checks.Tags.security, deploy=True)
def audit_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A set OPENCRF_AUDIT_KEY must be long; unset, the key is derived from the secret key."""
    key = settings.OPENCRF_AUDIT_KEY
    if not key or len(key) >= MIN_AUDIT_KEY:
        return []
    message = (
        f"OPENCRF_AUDIT_KEY has {len(key)} characters; it signs the audit checkpoints and needs "
        f"at least {MIN_AUDIT_KEY} random ones (e.g. python3 -c 'import secrets; "
        "print(secrets.token_urlsafe(50))'). Set it once and keep it."
    )
    return [checks.Error(message, id="audit.E001")]
