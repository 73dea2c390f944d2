"""Session limits, the keep-alive, other sessions, re-authentication and CSRF on sign-in."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from opencrf.accounts import sessions
from opencrf.accounts.models import SecurityEvent
from opencrf.accounts.selectors import site_settings

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
PROJECTS = reverse("projects:list")
LOGIN = reverse("accounts:login")
REAUTH = reverse("accounts:reauth")


def shift_session(client: Client, **seconds_ago: float) -> None:
    """Move the session's clocks back: `login`, `seen` or `auth` seconds ago."""
    keys = {"login": sessions.LOGIN_AT, "seen": sessions.SEEN_AT, "auth": sessions.AUTH_AT}
    session = client.session
    for name, ago in seconds_ago.items():
        session[keys[name]] = sessions.now() - ago
    session.save()


def signed_in_client(user) -> Client:
    client = Client()
    client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert "_auth_user_id" in client.session
    return client


def test_a_session_idle_longer_than_the_limit_is_signed_out_with_a_message(pi_paula):
    client = signed_in_client(pi_paula)
    shift_session(client, seen=31 * 60)

    response = client.get(PROJECTS, follow=True)

    assert response.redirect_chain[0] == (f"{LOGIN}?next=%2Fprojects%2F", 302)
    assert "You were signed out because the session ran out." in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = SecurityEvent.objects.filter(kind="logout").get()
    assert (event.user, event.details) == (pi_paula, {"reason": "expired"})


def test_a_session_active_within_the_limit_stays(pi_paula):
    client = signed_in_client(pi_paula)
    shift_session(client, seen=29 * 60)

    assert client.get(PROJECTS).status_code == 200


def test_the_idle_limit_follows_the_site_settings(pi_paula):
    settings = site_settings()
    settings.session_idle_minutes = 5
    settings.save()
    client = signed_in_client(pi_paula)
    shift_session(client, seen=6 * 60)

    assert client.get(PROJECTS).status_code == 302


def test_a_session_older_than_the_longest_lifetime_ends_however_active(pi_paula):
    client = signed_in_client(pi_paula)
    shift_session(client, login=12 * 3600 + 1, seen=10)

    assert client.get(PROJECTS)["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_activity_is_written_to_the_session_at_most_once_a_minute(pi_paula):
    client = signed_in_client(pi_paula)
    shift_session(client, seen=20)
    before = client.session[sessions.SEEN_AT]

    client.get(PROJECTS)
    assert client.session[sessions.SEEN_AT] == before

    shift_session(client, seen=61)
    client.get(PROJECTS)
    assert client.session[sessions.SEEN_AT] > before


def test_pages_carry_the_seconds_left_for_the_idle_warning(pi_paula):
    client = signed_in_client(pi_paula)

    page = client.get(PROJECTS).content.decode()

    assert 1790 <= int(re.search(r'data-session-seconds="(\d+)"', page).group(1)) <= 1800
    assert f'data-keep-alive-url="{reverse("accounts:keep_alive")}"' in page
    assert "opencrf/session.js" in page


def test_the_keep_alive_counts_as_activity_and_needs_post_and_csrf(pi_paula):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pi_paula)
    shift_session(client, seen=25 * 60)
    url = reverse("accounts:keep_alive")

    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    token = client.get(reverse("accounts:me")).context["csrf_token"]
    response = client.post(url, HTTP_X_CSRFTOKEN=str(token))

    assert response.status_code == 200
    assert response.json()["seconds_left"] >= 1799


def test_logging_out_my_other_sessions_keeps_this_one(pi_paula):
    here, elsewhere = signed_in_client(pi_paula), signed_in_client(pi_paula)

    response = here.post(reverse("accounts:sessions_sign_out"))

    assert response["Location"] == reverse("accounts:me")
    assert here.get(PROJECTS).status_code == 200
    assert elsewhere.get(PROJECTS)["Location"].startswith(LOGIN)
    assert SecurityEvent.objects.filter(kind="sessions.revoked", user=pi_paula).count() == 1


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("accounts:email_change", {"email": "new@example.org"}),
        (
            "accounts:password_change",
            {
                "new_password1": "another long passphrase 9",
                "new_password2": "another long passphrase 9",
            },
        ),
        ("accounts:two_factor_enrol", {"code": "123456"}),
    ],
)
def test_changing_email_password_or_two_factor_needs_a_recent_confirmation(
    pi_paula, url_name, data
):
    client = signed_in_client(pi_paula)
    shift_session(client, auth=11 * 60)
    password_before = pi_paula.password

    response = client.post(reverse(url_name), data)

    assert response["Location"] == f"{REAUTH}?next={reverse(url_name).replace('/', '%2F')}"
    pi_paula.refresh_from_db()
    assert (pi_paula.email, pi_paula.password) == ("paula@example.org", password_before)


def test_after_confirming_the_password_the_email_can_be_changed(pi_paula):
    client = signed_in_client(pi_paula)
    shift_session(client, auth=11 * 60)
    url = reverse("accounts:email_change")

    wrong = client.post(f"{REAUTH}?next={url}", {"password": "not it", "next": url})
    assert wrong.status_code == 200
    right = client.post(f"{REAUTH}?next={url}", {"password": PASSWORD, "next": url})
    assert right["Location"] == url
    client.post(url, {"email": "paula@new.example.org"})

    pi_paula.refresh_from_db()
    assert pi_paula.email == "paula@new.example.org"
    event = SecurityEvent.objects.get(kind="email.changed")
    assert event.details == {"old": "paula@example.org", "new": "paula@new.example.org"}


def test_the_confirmation_page_sends_nobody_off_site(pi_paula):
    client = signed_in_client(pi_paula)

    response = client.post(f"{REAUTH}", {"password": PASSWORD, "next": "https://evil.example/"})

    assert response["Location"] == reverse("accounts:me")


def test_login_needs_a_csrf_token(pi_paula):
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN, {"username": "pi_paula", "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_logout_needs_a_csrf_token(pi_paula):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pi_paula)

    assert client.post(reverse("accounts:logout")).status_code == 403
    assert "_auth_user_id" in client.session


def test_the_account_page_shows_the_profile_and_the_security_settings(pi_paula):
    client = signed_in_client(pi_paula)

    page = client.get(reverse("accounts:me")).content.decode()

    assert "paula@example.org" in page
    assert 'data-testid="two-factor-status">Off.' in page
    assert "Log out my other sessions" in page


def test_an_expired_htmx_request_sends_the_whole_page_to_the_login(pi_paula):
    client = signed_in_client(pi_paula)
    shift_session(client, seen=31 * 60)

    response = client.get(PROJECTS, HTTP_HX_REQUEST="true")

    assert (response.status_code, response["HX-Redirect"]) == (204, LOGIN)
    assert "_auth_user_id" not in client.session


def test_a_session_without_a_login_time_starts_its_lifetime_at_its_next_request(pi_paula):
    client = signed_in_client(pi_paula)
    session = client.session
    del session[sessions.LOGIN_AT]
    session[sessions.SEEN_AT] = sessions.now() - 120
    session.save()

    client.get(PROJECTS)

    assert sessions.now() - client.session[sessions.LOGIN_AT] < 60
