"""The people of the account tests, and the real SMTP server their e-mails go to."""

from __future__ import annotations

import pytest

from opencrf.accounts.models import SiteSettings
from opencrf.testing.smtp import smtp  # noqa: F401 (a fixture)


@pytest.fixture
def admin_ada(django_user_model):
    """The site administrator."""
    return django_user_model.objects.create_superuser(
        username="admin_ada", email="ada@hosp.example.ac.jp", password="correct horse battery"
    )


@pytest.fixture
def internal_domain(db):
    site, _created = SiteSettings.objects.get_or_create(pk=1)
    site.internal_email_domains = "hosp.example.ac.jp\n@med.example.ac.jp"
    site.save()
    return site
