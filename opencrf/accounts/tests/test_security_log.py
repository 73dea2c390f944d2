"""The security log and the administrator's settings: the shared base of account security."""

from __future__ import annotations

import pytest
from django.test import Client

from opencrf.accounts.models import SecurityEvent, TwoFactorPolicy
from opencrf.accounts.selectors import site_settings
from opencrf.accounts.services import security_event_create

pytestmark = pytest.mark.django_db


def test_a_security_event_keeps_user_actor_address_and_details(pi_paula, admin_ada):
    event = security_event_create(
        kind="account.suspended",
        user=pi_paula,
        actor=admin_ada,
        address="192.0.2.7",
        details={"reason": "left the university"},
    )

    stored = SecurityEvent.objects.get(pk=event.pk)
    assert (stored.kind, stored.user, stored.username, stored.actor, stored.address) == (
        "account.suspended",
        pi_paula,
        pi_paula.username,
        admin_ada,
        "192.0.2.7",
    )
    assert stored.details == {"reason": "left the university"}


def test_an_unknown_username_is_kept_as_typed_and_cut_to_the_column(db):
    event = security_event_create(kind="login.failed", username="x" * 300, address="a" * 100)

    assert (event.user, len(event.username), len(event.address)) == (None, 150, 64)


def test_the_site_settings_start_with_safe_defaults():
    settings = site_settings()

    assert (settings.pk, settings.password_min_length, settings.two_factor) == (
        1,
        12,
        TwoFactorPolicy.ADMINISTRATORS,
    )
    assert (settings.lockout_failures, settings.session_idle_minutes) == (5, 30)
    assert site_settings().pk == 1


def test_internal_domains_are_read_one_per_line_without_at_signs():
    settings = site_settings()
    settings.internal_email_domains = "@Example.ac.jp\n  hosp.example.jp \n\n"

    assert settings.internal_domains() == ["example.ac.jp", "hosp.example.jp"]


def test_raising_the_session_epoch_signs_out_the_users_other_sessions(pi_paula):
    browser = Client()
    browser.force_login(pi_paula)
    assert browser.get("/projects/").status_code == 200

    pi_paula.session_epoch += 1
    pi_paula.save(update_fields=["session_epoch"])

    assert browser.get("/projects/").status_code == 302
