"""Versioned terms of use: published by an administrator, accepted again by everyone."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.accounts import services
from opencrf.accounts.models import TermsAcceptance, TermsVersion
from opencrf.core.errors import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def terms_v1(admin_ada):
    version = services.terms_create(actor=admin_ada, text_ja="", text_en="Version one terms")
    return services.terms_publish(version=version, actor=admin_ada)


def test_without_published_terms_nobody_is_asked(client, pi_paula, admin_ada):
    services.terms_create(actor=admin_ada, text_ja="下書き", text_en="Draft")
    client.force_login(pi_paula)
    assert client.get(reverse("projects:list")).status_code == 200


def test_published_terms_stop_every_page_until_accepted(client, pi_paula, terms_v1):
    client.force_login(pi_paula)
    response = client.get(reverse("projects:list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:terms_accept") + "?next=%2Fprojects%2F"

    page = client.get(response["Location"])
    assert "Version one terms" in page.content.decode()
    done = client.post(reverse("accounts:terms_accept"), {"agree": "on", "next": "/projects/"})
    assert done["Location"] == "/projects/"
    assert client.get(reverse("projects:list")).status_code == 200
    acceptance = TermsAcceptance.objects.get(user=pi_paula)
    assert acceptance.version == terms_v1


def test_administrators_accept_the_terms_too(client, admin_ada, terms_v1):
    client.force_login(admin_ada)
    assert client.get(reverse("control:users")).status_code == 302


def test_logout_and_the_language_switch_stay_open(client, pi_paula, terms_v1):
    client.force_login(pi_paula)
    assert client.post(reverse("set_language"), {"language": "ja", "next": "/"}).status_code == 302
    assert client.get("/-/alive").status_code == 200
    client.post(reverse("accounts:logout"))
    assert "_auth_user_id" not in client.session


def test_not_ticking_the_box_accepts_nothing(client, pi_paula, terms_v1):
    client.force_login(pi_paula)
    response = client.post(reverse("accounts:terms_accept"), {"next": "/projects/"})
    assert response.status_code == 200
    assert not TermsAcceptance.objects.exists()


def test_a_new_version_asks_again(client, pi_paula, admin_ada, terms_v1):
    services.terms_accept(user=pi_paula, version=terms_v1)
    client.force_login(pi_paula)
    assert client.get(reverse("projects:list")).status_code == 200

    v2 = services.terms_create(actor=admin_ada, text_ja="第2版", text_en="Version two")
    assert client.get(reverse("projects:list")).status_code == 200
    services.terms_publish(version=v2, actor=admin_ada)
    assert client.get(reverse("projects:list")).status_code == 302


def test_a_next_address_off_the_site_is_ignored(client, pi_paula, terms_v1):
    client.force_login(pi_paula)
    done = client.post(
        reverse("accounts:terms_accept"), {"agree": "on", "next": "https://evil.example/"}
    )
    assert done["Location"] == reverse("projects:list")


def test_the_text_falls_back_to_the_other_language(client, pi_paula, terms_v1):
    client.force_login(pi_paula)
    page = client.get(reverse("accounts:terms_accept"), HTTP_ACCEPT_LANGUAGE="ja")
    assert "Version one terms" in page.content.decode()


def test_terms_text_is_shown_inert(client, admin_ada):
    version = services.terms_create(
        actor=admin_ada, text_ja="", text_en='<script>alert(1)</script><img SRC=x OnError="x">'
    )
    services.terms_publish(version=version, actor=admin_ada)
    page = client.get(reverse("accounts:terms")).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img SRC=x OnError=&quot;x&quot;&gt;" in page


def test_versions_are_numbered_and_published_only_once(admin_ada, terms_v1):
    v2 = services.terms_create(actor=admin_ada, text_ja="二", text_en="")
    assert v2.number == 2
    with pytest.raises(InvalidInput):
        services.terms_publish(version=terms_v1, actor=admin_ada)
    with pytest.raises(InvalidInput):
        services.terms_create(actor=admin_ada, text_ja=" ", text_en="")
    assert TermsVersion.objects.count() == 2
