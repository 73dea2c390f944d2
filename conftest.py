"""Fixtures shared by every test: a named cast of users and ready-made projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencrf.audit.services import AuditContext

REPO = Path(__file__).resolve().parent
# Copied into the repository (tests/fixtures/SOURCE.md): a clone needs nothing beside it.
FIXTURES = REPO / "tests" / "fixtures"
REDCAP_PROJECTS = FIXTURES / "redcap-projects"
SALT_RCT = FIXTURES / "studies" / "salt_rct"


@pytest.fixture(autouse=True)
def _plain_static_files(settings, tmp_path):
    # Tests render templates without running collectstatic first.
    settings.STORAGES = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _default_language():
    # A request in Japanese leaves Japanese active in the thread (Django's locale middleware
    # activates, never deactivates); the next test's services must speak the default again.
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _complete_sign_ins(monkeypatch):
    # `client.force_login` passes both factors (see opencrf/testing/auth.py), and the site
    # settings kept per process never outlive the test that changed them.
    from django.test import Client

    from opencrf.accounts.site_cache import forget_site_settings
    from opencrf.ops.maintenance import forget_operations_snapshot
    from opencrf.testing.auth import force_login_verified

    monkeypatch.setattr(Client, "force_login", force_login_verified)
    forget_site_settings()
    forget_operations_snapshot()
    yield
    forget_site_settings()
    forget_operations_snapshot()


@pytest.fixture(autouse=True)
def _no_kept_designs():
    # Project ids come back after each test's rollback; a design kept from an earlier test
    # must never be served to the next one.
    from opencrf.dictionary.design import forget_designs

    forget_designs()
    yield
    forget_designs()


@pytest.fixture
def pi_paula(django_user_model):
    """The principal investigator: creates projects and designs them."""
    return django_user_model.objects.create_user(
        username="pi_paula",
        email="paula@example.org",
        password="correct horse battery",
        may_create_projects=True,
    )


@pytest.fixture
def site_b_bea(django_user_model):
    """A coordinator at another site, with no part in Paula's projects."""
    return django_user_model.objects.create_user(
        username="site_b_bea", email="bea@example.org", password="correct horse battery"
    )


@pytest.fixture
def admin_ada(django_user_model):
    return django_user_model.objects.create_superuser(
        username="admin_ada", email="ada@example.org", password="correct horse battery"
    )


@pytest.fixture
def paula_context(pi_paula):
    return AuditContext(actor=pi_paula, source="web")


@pytest.fixture
def classic_project(paula_context):
    from opencrf.projects.services import project_create

    return project_create(context=paula_context, title="Classic study")


@pytest.fixture
def longitudinal_project(paula_context):
    from opencrf.projects.services import project_create

    return project_create(context=paula_context, title="Longitudinal study", is_longitudinal=True)


def dictionary_rows(name: str):
    """The rows of a shared REDCap fixture's dictionary.csv."""
    from opencrf.dictionary.csvio import parse_dictionary_csv

    return parse_dictionary_csv((REDCAP_PROJECTS / name / "dictionary.csv").read_bytes())


@pytest.fixture
def salt_rct(paula_context):
    """The bilingual salt_rct study: dictionary, events, designations, repeats and sites."""
    from opencrf.demo.loader import load_study

    return load_study(
        SALT_RCT, context=paula_context, title="減塩試験 / Salt RCT", is_longitudinal=True
    )
