"""The security log page for administrators, and the lost-phone command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from opencrf.accounts import two_factor
from opencrf.accounts.models import SecurityEvent
from opencrf.accounts.services import security_event_create
from opencrf.testing.totp import totp_code

pytestmark = pytest.mark.django_db

LOG = reverse("control:security_log")


def rows(response) -> list[tuple[str, str]]:
    return [(e.kind, e.username) for e in response.context["page"].object_list]


def test_the_log_is_hidden_from_everyone_but_administrators(client, pi_paula):
    assert client.get(LOG).status_code == 404
    client.force_login(pi_paula)
    assert client.get(LOG).status_code == 404


def test_administrators_see_the_newest_event_first_with_the_local_and_utc_time(
    client, admin_ada, pi_paula
):
    first = security_event_create(kind="login.failed", user=pi_paula, address="192.0.2.1")
    SecurityEvent.objects.filter(pk=first.pk).update(at=datetime(2026, 4, 1, 15, 30, tzinfo=UTC))
    security_event_create(kind="lockout", user=pi_paula, address="192.0.2.1")
    client.force_login(admin_ada)

    response = client.get(LOG)

    assert rows(response)[:2] == [("lockout", "pi_paula"), ("login.failed", "pi_paula")]
    page = response.content.decode()
    assert "Time (Asia/Tokyo)" in page
    assert '<time datetime="2026-04-01T15:30:00+00:00" title="2026-04-01 15:30:00 UTC">' in page
    assert "2026-04-02 00:30:00 JST" in page


def test_the_log_filters_by_user_kind_address_and_date(client, admin_ada, pi_paula):
    old = security_event_create(kind="login", user=pi_paula, address="192.0.2.1")
    SecurityEvent.objects.filter(pk=old.pk).update(at=datetime(2026, 1, 5, 3, 0, tzinfo=UTC))
    security_event_create(kind="login.failed", username="stranger", address="203.0.113.9")
    security_event_create(kind="login", user=pi_paula, address="192.0.2.1")
    client.force_login(admin_ada)

    assert rows(client.get(LOG, {"user": "strang"})) == [("login.failed", "stranger")]
    assert rows(client.get(LOG, {"address": "203.0.113."})) == [("login.failed", "stranger")]
    assert rows(client.get(LOG, {"kind": "login", "user": "pi_"})) == [
        ("login", "pi_paula"),
        ("login", "pi_paula"),
    ]
    january = client.get(LOG, {"since": "2026-01-05", "until": "2026-01-05"})
    assert rows(january) == [("login", "pi_paula")]


def test_the_log_is_paged_by_fifty(client, admin_ada):
    SecurityEvent.objects.bulk_create(
        SecurityEvent(
            kind="login.failed", username=f"u{n}", at=datetime.now(UTC) - timedelta(seconds=n)
        )
        for n in range(60)
    )
    client.force_login(admin_ada)

    first = client.get(LOG, {"kind": "login.failed"})
    second = client.get(LOG, {"kind": "login.failed", "page": 2})

    assert len(rows(first)) == 50 and rows(first)[0] == ("login.failed", "u0")
    assert rows(second)[-1] == ("login.failed", "u59")
    assert "kind=login.failed&amp;page=2" in first.content.decode()


def test_a_real_login_leaves_a_login_event_with_user_address_and_utc_time(pi_paula):
    client = Client()
    client.post(
        reverse("accounts:login"),
        {"username": "pi_paula", "password": "correct horse battery"},
        REMOTE_ADDR="192.0.2.55",
    )
    client.post(reverse("accounts:logout"), REMOTE_ADDR="192.0.2.55")

    events = SecurityEvent.objects.filter(user=pi_paula).order_by("id")
    assert [(e.kind, e.address) for e in events] == [
        ("login", "192.0.2.55"),
        ("logout", "192.0.2.55"),
    ]
    assert all(e.at.utcoffset() == timedelta(0) for e in events)


def test_the_lost_phone_command_removes_the_second_factor_and_signs_out(
    capsys, admin_ada, pi_paula
):
    device = two_factor.totp_enrolment_start(pi_paula)
    two_factor.totp_enrolment_confirm(
        user=pi_paula,
        device=device,
        code=totp_code(two_factor.totp_secret_base32(device)),
        address="",
    )
    browser = Client()
    browser.force_login(pi_paula)

    call_command("two_factor_reset", "pi_paula", "--by", "admin_ada")

    assert not TOTPDevice.objects.filter(user=pi_paula).exists()
    assert two_factor.recovery_codes_left(pi_paula) == 0
    assert browser.get(reverse("projects:list")).status_code == 302
    event = SecurityEvent.objects.get(kind="2fa.disabled")
    assert (event.user, event.actor, event.address) == (pi_paula, admin_ada, "command line")
    assert "Removed the second factor of pi_paula" in capsys.readouterr().out


def test_the_lost_phone_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("two_factor_reset", "ghost")
    assert not SecurityEvent.objects.exists()


def test_an_administrator_sees_and_lifts_a_lockout_from_the_log_page(client, admin_ada, pi_paula):
    for n in range(5):
        Client().post(
            reverse("accounts:login"),
            {"username": "pi_paula", "password": "wrong"},
            REMOTE_ADDR=f"203.0.113.{n}",
        )
    client.force_login(admin_ada)
    assert client.get(LOG).context["lockouts"] == {"accounts": ["pi_paula"], "addresses": []}

    response = client.post(LOG, {"username": "pi_paula"}, REMOTE_ADDR="192.0.2.200")

    assert response["Location"] == LOG
    assert client.get(LOG).context["lockouts"] == {"accounts": [], "addresses": []}
    cleared = SecurityEvent.objects.get(kind="lockout.cleared")
    assert (cleared.user, cleared.actor, cleared.address) == (pi_paula, admin_ada, "192.0.2.200")
    paula = Client()
    paula.post(
        reverse("accounts:login"), {"username": "pi_paula", "password": "correct horse battery"}
    )
    assert "_auth_user_id" in paula.session


def test_an_address_locked_by_guesses_is_listed_and_can_be_unlocked(client, admin_ada):
    for n in range(5):
        Client().post(
            reverse("accounts:login"),
            {"username": f"guess{n}", "password": "wrong"},
            REMOTE_ADDR="198.51.100.66",
        )
    client.force_login(admin_ada)
    assert client.get(LOG).context["lockouts"]["addresses"] == ["198.51.100.66"]

    client.post(LOG, {"ip_address": "198.51.100.66"})

    assert client.get(LOG).context["lockouts"]["addresses"] == []


def test_only_administrators_may_unlock(client, pi_paula):
    client.force_login(pi_paula)

    assert client.post(LOG, {"username": "pi_paula"}).status_code == 404
    assert not SecurityEvent.objects.filter(kind="lockout.cleared").exists()


def test_an_administrator_removes_a_lost_second_factor_from_the_log_page(
    client, admin_ada, pi_paula
):
    device = two_factor.totp_enrolment_start(pi_paula)
    two_factor.totp_enrolment_confirm(
        user=pi_paula,
        device=device,
        code=totp_code(two_factor.totp_secret_base32(device)),
        address="",
    )
    browser = Client()
    browser.force_login(pi_paula)
    client.force_login(admin_ada)

    response = client.post(LOG, {"two_factor_reset": "pi_paula"}, REMOTE_ADDR="192.0.2.9")

    assert response["Location"] == LOG
    assert not TOTPDevice.objects.filter(user=pi_paula).exists()
    assert browser.get(reverse("projects:list")).status_code == 302
    event = SecurityEvent.objects.get(kind="2fa.disabled")
    assert (event.user, event.actor, event.address) == (pi_paula, admin_ada, "192.0.2.9")


def test_removing_a_second_factor_that_does_not_exist_changes_nothing(client, admin_ada):
    client.force_login(admin_ada)

    response = client.post(LOG, {"two_factor_reset": "nobody"}, follow=True)

    assert "nobody has no second factor to remove." in response.content.decode()
    assert not SecurityEvent.objects.filter(kind="2fa.disabled").exists()
