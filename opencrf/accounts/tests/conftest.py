"""The people of the account tests, the real SMTP server their e-mails go to, and jobs run
at once."""

from __future__ import annotations

import pytest

from opencrf.accounts.models import SiteSettings
from opencrf.testing.smtp import smtp  # noqa: F401 (a fixture)


@pytest.fixture(autouse=True)
def jobs_run_at_once(settings):
    """Jobs (the e-mails of password resets and account requests) run when enqueued, so a
    test reads their mail at once; test_mail_jobs.py holds them back to see the request alone."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


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
