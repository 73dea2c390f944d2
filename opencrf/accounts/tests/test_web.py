from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def test_logging_in_leads_to_my_projects(client, pi_paula):
    response = client.post(
        reverse("accounts:login"), {"username": "pi_paula", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain == [(reverse("projects:list"), 302)]
    assert "My Projects" in response.content.decode()


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, pi_paula):
    known = client.post(reverse("accounts:login"), {"username": "pi_paula", "password": "nope"})
    unknown = client.post(reverse("accounts:login"), {"username": "nobody", "password": "nope"})

    assert known.status_code == unknown.status_code == 200
    assert known.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_logout_needs_post(client, pi_paula):
    client.force_login(pi_paula)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert "_auth_user_id" in client.session
    client.post(reverse("accounts:logout"))
    assert "_auth_user_id" not in client.session


def test_pages_need_a_login(client):
    response = client.get(reverse("projects:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_language_follows_the_browser(client):
    response = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="ja")
    assert '<html lang="ja">' in response.content.decode()


def test_a_chosen_language_is_remembered_on_the_account(client, pi_paula):
    client.force_login(pi_paula)
    client.post(reverse("set_language"), {"language": "ja", "next": "/projects/"})
    pi_paula.refresh_from_db()
    assert pi_paula.language == "ja"

    client.cookies.clear()
    client.force_login(pi_paula)
    page = client.get(reverse("projects:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="ja">' in page.content.decode()


def test_an_unknown_language_is_ignored(client, pi_paula):
    client.force_login(pi_paula)
    client.post(reverse("set_language"), {"language": "xx", "next": "/projects/"})
    pi_paula.refresh_from_db()
    assert pi_paula.language == ""


def test_the_language_switch_does_not_redirect_off_site(client, pi_paula):
    client.force_login(pi_paula)
    response = client.post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("projects:list")


def test_a_one_time_password_must_be_replaced_before_anything_else(client, pi_paula):
    pi_paula.must_change_password = True
    pi_paula.save()
    client.force_login(pi_paula)

    assert client.get(reverse("projects:list"))["Location"] == reverse("accounts:password_change")
    response = client.post(
        reverse("accounts:password_change"),
        {
            "new_password1": "a much longer passphrase 7",
            "new_password2": "a much longer passphrase 7",
        },
    )
    assert response["Location"] == reverse("projects:list")
    pi_paula.refresh_from_db()
    assert not pi_paula.must_change_password
    assert pi_paula.check_password("a much longer passphrase 7")


def test_a_short_new_password_is_refused(client, pi_paula):
    client.force_login(pi_paula)
    response = client.post(
        reverse("accounts:password_change"), {"new_password1": "short1", "new_password2": "short1"}
    )
    assert response.status_code == 200
    pi_paula.refresh_from_db()
    assert pi_paula.check_password(PASSWORD)


def test_passwords_are_hashed_with_argon2(pi_paula):
    assert pi_paula.password.startswith("argon2$")
