"""Password reset by e-mail: a neutral answer, a link that signs no one in, 2FA still asked."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from opencrf.accounts import two_factor
from opencrf.accounts.models import SecurityEvent
from opencrf.testing.totp import totp_code

pytestmark = pytest.mark.django_db

RESET = reverse("accounts:password_reset")
NEW = "violet harbour tram 58"


def reset_link(smtp, address: str) -> str:
    (message,) = smtp.to(address)
    body = smtp.body(message)
    return re.search(r"https://edc\.example\.ac\.jp(/accounts/password/reset/\S+/)", body).group(1)


def test_known_and_unknown_addresses_get_the_same_answer_and_only_the_known_one_mail(
    client, smtp, pi_paula
):
    known = client.post(RESET, {"email": "paula@example.org"})
    unknown = client.post(RESET, {"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("accounts:password_reset_done")
    assert [m["To"] for m in smtp.messages] == ["paula@example.org"]
    assert smtp.messages[0]["Subject"] == "OpenCRF: choose a new password"
    requested = SecurityEvent.objects.filter(kind="password.reset_requested").order_by("id")
    assert [(e.user, e.username) for e in requested] == [
        (pi_paula, "pi_paula"),
        (None, "nobody@example.org"),
    ]


def test_the_link_sets_a_password_without_signing_in_and_ends_every_session(client, smtp, pi_paula):
    elsewhere = Client()
    elsewhere.force_login(pi_paula)
    client.post(RESET, {"email": "paula@example.org"})

    form_page = client.get(reset_link(smtp, "paula@example.org"), follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}
    )

    assert response["Location"] == reverse("accounts:password_reset_complete")
    assert "_auth_user_id" not in client.session
    pi_paula.refresh_from_db()
    assert pi_paula.check_password(NEW)
    assert elsewhere.get(reverse("projects:list")).status_code == 302
    assert SecurityEvent.objects.filter(kind="password.reset", user=pi_paula).count() == 1


def test_after_a_reset_the_next_login_still_asks_for_the_code(client, smtp, pi_paula):
    device = two_factor.totp_enrolment_start(pi_paula)
    two_factor.totp_enrolment_confirm(
        user=pi_paula,
        device=device,
        code=totp_code(two_factor.totp_secret_base32(device)),
        address="",
    )
    client.post(RESET, {"email": "paula@example.org"})
    form_page = client.get(reset_link(smtp, "paula@example.org"), follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})

    response = client.post(reverse("accounts:login"), {"username": "pi_paula", "password": NEW})

    assert response["Location"] == reverse("accounts:two_factor_verify")
    assert client.get(reverse("projects:list"))["Location"] == reverse("accounts:two_factor_verify")


def test_a_used_link_does_not_work_twice(client, smtp, pi_paula):
    client.post(RESET, {"email": "paula@example.org"})
    link = reset_link(smtp, "paula@example.org")
    form_page = client.get(link, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})

    again = Client().get(link, follow=True)

    assert "This link has already been used or has expired." in again.content.decode()
