from __future__ import annotations

from opencrf.accounts.models import SiteSettings, User


def administrators_exist() -> bool:
    return User.objects.filter(is_superuser=True, is_active=True).exists()


def site_settings() -> SiteSettings:
    """The administrator's settings (created with their defaults on first use)."""
    settings, _created = SiteSettings.objects.get_or_create(pk=1)
    return settings
