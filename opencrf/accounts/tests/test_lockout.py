"""Lockout after repeated failures, per account and per address, and one answer for all."""

from __future__ import annotations

import re
from datetime import timedelta

import axes.handlers.proxy
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from opencrf.accounts.models import SecurityEvent
from opencrf.accounts.selectors import site_settings

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LOGIN = reverse("accounts:login")
PROJECTS = reverse("projects:list")
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def attempt(username: str, password: str, address: str) -> tuple[Client, object]:
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)
    return client, response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def later(monkeypatch, minutes: int) -> None:
    moved = timezone.now() + timedelta(minutes=minutes)
    monkeypatch.setattr(axes.handlers.proxy, "now", lambda: moved)


def test_failures_for_one_account_from_many_addresses_lock_the_account(pi_paula, monkeypatch):
    for n in range(5):
        attempt("pi_paula", "wrong", f"203.0.113.{n}")

    client, response = attempt("pi_paula", PASSWORD, "203.0.113.77")

    assert response.status_code == 200
    assert not signed_in(client)
    lockout = SecurityEvent.objects.get(kind="lockout")
    assert (lockout.user, lockout.address, lockout.details) == (
        pi_paula,
        "203.0.113.4",
        {"failures": 5},
    )

    later(monkeypatch, 16)
    client, response = attempt("pi_paula", PASSWORD, "203.0.113.77")
    assert response["Location"] == PROJECTS
    assert signed_in(client)


def test_four_failures_do_not_lock_the_account(pi_paula):
    for _ in range(4):
        attempt("pi_paula", "wrong", "203.0.113.1")

    client, _response = attempt("pi_paula", PASSWORD, "203.0.113.1")

    assert signed_in(client)


def test_failures_for_many_accounts_from_one_address_lock_the_address(pi_paula, monkeypatch):
    for n in range(5):
        attempt(f"guess_{n}", "wrong", "198.51.100.20")

    blocked, _response = attempt("pi_paula", PASSWORD, "198.51.100.20")
    elsewhere, _response = attempt("pi_paula", PASSWORD, "198.51.100.21")

    assert not signed_in(blocked)
    assert signed_in(elsewhere)
    assert SecurityEvent.objects.get(kind="lockout").address == "198.51.100.20"

    later(monkeypatch, 16)
    unblocked, _response = attempt("pi_paula", PASSWORD, "198.51.100.20")
    assert signed_in(unblocked)


def test_the_limit_and_the_window_follow_the_site_settings(pi_paula, monkeypatch):
    settings = site_settings()
    settings.lockout_failures, settings.lockout_minutes = 2, 60
    settings.save()
    attempt("pi_paula", "wrong", "192.0.2.1")
    attempt("pi_paula", "wrong", "192.0.2.2")

    later(monkeypatch, 30)
    still, _response = attempt("pi_paula", PASSWORD, "192.0.2.3")
    assert not signed_in(still)

    later(monkeypatch, 61)
    free, _response = attempt("pi_paula", PASSWORD, "192.0.2.3")
    assert signed_in(free)


def test_unknown_known_and_locked_accounts_get_byte_identical_pages(django_user_model):
    settings = site_settings()
    settings.lockout_failures = 3
    settings.save()
    _client, unknown = attempt("ghost_gus", "wrong password", "192.0.2.10")
    django_user_model.objects.create_user(username="ghost_gus", password=PASSWORD)
    _client, known = attempt("ghost_gus", "wrong password", "192.0.2.11")
    attempt("ghost_gus", "wrong password", "192.0.2.12")
    _client, locked = attempt("ghost_gus", PASSWORD, "192.0.2.13")

    pages = [CSRF_INPUT.sub(b"", r.content) for r in (unknown, known, locked)]
    assert [r.status_code for r in (unknown, known, locked)] == [200, 200, 200]
    assert pages[0] == pages[1] == pages[2]
    assert b"Your username or password is incorrect, or the account is locked." in pages[0]


def test_an_inactive_account_gets_the_same_page_as_a_wrong_password(django_user_model):
    django_user_model.objects.create_user(username="old_olga", password=PASSWORD, is_active=False)
    _client, inactive = attempt("old_olga", PASSWORD, "192.0.2.30")
    _client, wrong = attempt("old_olga", "not it", "192.0.2.31")

    assert CSRF_INPUT.sub(b"", inactive.content) == CSRF_INPUT.sub(b"", wrong.content)


def test_each_failure_is_logged_with_the_name_typed_and_the_address(pi_paula):
    attempt("pi_paula", "wrong", "192.0.2.40")
    attempt("nobody_here", "wrong", "192.0.2.41")

    failures = SecurityEvent.objects.filter(kind="login.failed").order_by("id")
    assert [(e.user, e.username, e.address) for e in failures] == [
        (pi_paula, "pi_paula", "192.0.2.40"),
        (None, "nobody_here", "192.0.2.41"),
    ]
    assert all(e.at.utcoffset() == timedelta(0) for e in failures)


def test_behind_a_proxy_the_forwarded_address_is_counted(settings, pi_paula):
    settings.BEHIND_PROXY = True
    client = Client()
    for _ in range(5):
        client.post(
            LOGIN,
            {"username": f"x{_}", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.50",
        )

    other = Client()
    other.post(
        LOGIN,
        {"username": "pi_paula", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.51",
    )

    assert signed_in(other)
    assert SecurityEvent.objects.get(kind="lockout").address == "203.0.113.50"
