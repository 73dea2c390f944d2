"""Two-factor authentication: enrolment, the code step at login, recovery codes, the policy."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from opencrf.accounts import two_factor
from opencrf.accounts.models import SecurityEvent, TwoFactorPolicy
from opencrf.accounts.selectors import site_settings
from opencrf.accounts.sessions import AUTH_AT
from opencrf.testing.auth import password_only_login
from opencrf.testing.totp import current_step, totp_code

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LOGIN = reverse("accounts:login")
VERIFY = reverse("accounts:two_factor_verify")
ENROL = reverse("accounts:two_factor_enrol")
PROJECTS = reverse("projects:list")


def log_in(client: Client, username: str, password: str = PASSWORD, **extra: str):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def enrolled(user) -> tuple[str, list[str]]:
    """Enrol `user` directly; returns the base32 secret and the recovery codes."""
    device = two_factor.totp_enrolment_start(user)
    secret = two_factor.totp_secret_base32(device)
    codes = two_factor.totp_enrolment_confirm(
        user=user, device=device, code=totp_code(secret), address="192.0.2.1"
    )
    assert codes is not None
    return secret, codes


def kinds(user) -> list[str]:
    return list(
        SecurityEvent.objects.filter(user=user).order_by("at", "id").values_list("kind", flat=True)
    )


def set_policy(policy: str) -> None:
    settings = site_settings()
    settings.two_factor = policy
    settings.save()


def test_an_administrator_without_a_device_is_taken_to_enrolment_and_nowhere_else(
    client, admin_ada
):
    response = log_in(client, "admin_ada")

    assert response["Location"] == ENROL
    assert client.get(PROJECTS)["Location"] == ENROL
    assert client.get(reverse("control:security_log"))["Location"] == ENROL
    assert not TOTPDevice.objects.filter(user=admin_ada, confirmed=True).exists()
    assert "login" not in kinds(admin_ada)


def test_enrolling_with_a_real_code_turns_two_factor_on_and_shows_ten_recovery_codes(
    client, admin_ada
):
    log_in(client, "admin_ada")
    page = client.get(ENROL).content.decode()
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert 'src="data:image/svg+xml;base64,' in page

    response = client.post(ENROL, {"code": totp_code(secret)})

    codes = re.findall(
        r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>", response.content.decode()
    )
    assert len(set(codes)) == 10
    assert client.get(PROJECTS).status_code == 200
    assert TOTPDevice.objects.get(user=admin_ada).confirmed
    assert kinds(admin_ada)[-3:] == ["2fa.enrolled", "sessions.revoked", "login"]


def test_recovery_codes_are_stored_only_as_digests(admin_ada):
    _secret, codes = enrolled(admin_ada)

    stored = set(StaticToken.objects.filter(device__user=admin_ada).values_list("token", flat=True))
    assert len(stored) == 10
    assert not stored & {c.replace("-", "") for c in codes} and not stored & set(codes)
    assert stored == {two_factor.recovery_code_digest(c) for c in codes}


def test_a_wrong_enrolment_code_turns_nothing_on(client, admin_ada):
    log_in(client, "admin_ada")
    client.get(ENROL)

    response = client.post(ENROL, {"code": "000000"})

    assert response.status_code == 200
    assert "That code is not valid." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=admin_ada, confirmed=True).exists()
    assert client.get(PROJECTS)["Location"] == ENROL


def test_login_asks_for_the_code_after_the_password_and_accepts_a_real_one(client, admin_ada):
    secret, _codes = enrolled(admin_ada)

    assert log_in(client, "admin_ada")["Location"] == VERIFY
    assert client.get(PROJECTS)["Location"] == VERIFY

    response = client.post(VERIFY, {"code": totp_code(secret, step_number=current_step() + 1)})

    assert response["Location"] == PROJECTS
    assert client.get(PROJECTS).status_code == 200
    login = SecurityEvent.objects.filter(user=admin_ada, kind="login").get()
    assert login.details == {"second_factor": "totp"}


def test_a_wrong_code_is_refused_logged_and_leaves_the_session_unverified(client, admin_ada):
    enrolled(admin_ada)
    log_in(client, "admin_ada", REMOTE_ADDR="198.51.100.9")

    response = client.post(VERIFY, {"code": "123456"}, REMOTE_ADDR="198.51.100.9")

    assert response.status_code == 200
    assert "That code is not valid." in response.content.decode()
    assert client.get(PROJECTS)["Location"] == VERIFY
    failed = SecurityEvent.objects.get(user=admin_ada, kind="2fa.failed")
    assert failed.address == "198.51.100.9"
    assert not SecurityEvent.objects.filter(user=admin_ada, kind="login").exists()


def test_a_recovery_code_works_once(client, admin_ada):
    _secret, codes = enrolled(admin_ada)
    log_in(client, "admin_ada")

    assert client.post(VERIFY, {"code": codes[3].upper()})["Location"] == PROJECTS
    assert two_factor.recovery_codes_left(admin_ada) == 9
    event = SecurityEvent.objects.get(user=admin_ada, kind="2fa.recovery_used")
    assert event.details == {"codes_left": 9}

    again = Client()
    log_in(again, "admin_ada")
    response = again.post(VERIFY, {"code": codes[3]})
    assert response.status_code == 200
    assert again.get(PROJECTS)["Location"] == VERIFY


def test_wrong_codes_count_towards_the_lockout(client, admin_ada):
    _secret, _codes = enrolled(admin_ada)
    settings = site_settings()
    settings.lockout_failures = 3
    settings.save()
    log_in(client, "admin_ada")

    client.post(VERIFY, {"code": "111111"})
    client.post(VERIFY, {"code": "222222"})
    response = client.post(VERIFY, {"code": "333333"})

    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session
    assert SecurityEvent.objects.filter(user=admin_ada, kind="lockout").count() == 1
    refused = log_in(client, "admin_ada")
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session


def test_with_the_policy_off_an_administrator_logs_in_with_the_password_alone(client, admin_ada):
    set_policy(TwoFactorPolicy.OFF)

    assert log_in(client, "admin_ada")["Location"] == PROJECTS
    assert client.get(PROJECTS).status_code == 200


def test_an_enrolled_user_is_asked_for_the_code_even_with_the_policy_off(client, pi_paula):
    set_policy(TwoFactorPolicy.OFF)
    enrolled(pi_paula)

    assert log_in(client, "pi_paula")["Location"] == VERIFY


def test_with_the_policy_for_everyone_every_user_must_enrol(client, pi_paula):
    assert log_in(client, "pi_paula")["Location"] == PROJECTS
    client.post(reverse("accounts:logout"))

    set_policy(TwoFactorPolicy.EVERYONE)

    assert log_in(client, "pi_paula")["Location"] == ENROL
    assert client.get(PROJECTS)["Location"] == ENROL


def test_turning_two_factor_off_needs_a_recent_confirmation(client, pi_paula):
    secret, _codes = enrolled(pi_paula)
    client.force_login(pi_paula)
    session = client.session
    session[AUTH_AT] = 0
    session.save()

    response = client.post(reverse("accounts:two_factor_disable"))

    assert response["Location"].startswith(reverse("accounts:reauth"))
    assert TOTPDevice.objects.filter(user=pi_paula, confirmed=True).exists()

    confirm = client.post(
        reverse("accounts:reauth") + "?next=/accounts/me/",
        {"password": PASSWORD, "code": totp_code(secret, step_number=current_step() + 1)},
    )
    assert confirm.status_code == 302
    client.post(reverse("accounts:two_factor_disable"))
    assert not TOTPDevice.objects.filter(user=pi_paula).exists()
    assert "2fa.disabled" in kinds(pi_paula)


def test_new_recovery_codes_replace_the_old_ones(client, pi_paula):
    _secret, old = enrolled(pi_paula)
    client.force_login(pi_paula)

    response = client.post(reverse("accounts:two_factor_recovery_codes"))

    new = re.findall(r"<li>([a-z2-9-]{19})</li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert two_factor.recovery_codes_left(pi_paula) == 10


def test_the_first_administrator_enrols_then_replaces_the_one_time_password(client, admin_ada):
    admin_ada.must_change_password = True
    admin_ada.save()
    log_in(client, "admin_ada")
    assert client.get(PROJECTS)["Location"] == ENROL
    secret = re.search(
        r'data-testid="totp-secret">([A-Z2-7]+)<', client.get(ENROL).content.decode()
    ).group(1)
    client.post(ENROL, {"code": totp_code(secret)})

    assert client.get(PROJECTS)["Location"] == reverse("accounts:password_change")
    new = "saffron ladder quiet 31"
    changed = client.post(
        reverse("accounts:password_change"), {"new_password1": new, "new_password2": new}
    )

    assert changed["Location"] == PROJECTS
    assert client.get(PROJECTS).status_code == 200
    assert kinds(admin_ada)[-1] == "password.changed"


def test_a_forced_enrolment_left_open_past_ten_minutes_asks_for_the_password_again(
    client, admin_ada
):
    log_in(client, "admin_ada")
    session = client.session
    session[AUTH_AT] = 0
    session.save()

    assert (
        client.get(ENROL)["Location"]
        == f"{reverse('accounts:reauth')}?next=%2Faccounts%2Ftwo-factor%2Fenrol%2F"
    )
    confirm = client.post(reverse("accounts:reauth"), {"password": PASSWORD, "next": ENROL})

    assert confirm["Location"] == ENROL
    assert client.get(ENROL).status_code == 200


def test_replacing_the_device_needs_the_current_code_first(client, pi_paula):
    enrolled(pi_paula)
    password_only_login(client, pi_paula)

    assert client.get(ENROL)["Location"] == VERIFY
    assert client.get(PROJECTS)["Location"] == VERIFY
