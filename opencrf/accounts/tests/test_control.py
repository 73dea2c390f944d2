"""The control centre: administrators only, every change by POST, hostile strings inert."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from opencrf.accounts import control_urls, services
from opencrf.accounts.models import (
    AccountRequest,
    AccountRequestStatus,
    SecurityEvent,
    SiteSettings,
    User,
)

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert(1)</script>"><img src=x OnErRoR=alert(2)></title><script>'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _control_paths(user_id: int, request_id: int, version_id: int) -> list[str]:
    ids = {"user_id": user_id, "request_id": request_id, "version_id": version_id}
    paths = []
    for pattern in control_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        names = re.findall(r"<int:(\w+)>", str(pattern.pattern))
        paths.append(reverse(f"control:{pattern.name}", kwargs={name: ids[name] for name in names}))
    return paths


@pytest.fixture
def pending_request(db):
    return services.account_request_create(
        first_name=HOSTILE,
        last_name="Tanaka",
        email="hana@other.example.jp",
        institution=HOSTILE,
        purpose=HOSTILE,
        terms_version=None,
    )


@pytest.fixture
def draft_terms(admin_ada):
    return services.terms_create(actor=admin_ada, text_ja="規約", text_en="Terms")


@pytest.fixture
def admin_client(client, admin_ada):
    client.force_login(admin_ada)
    return client


def test_every_control_page_is_a_404_for_anyone_but_an_administrator(
    client, pi_paula, pending_request, draft_terms
):
    paths = _control_paths(pi_paula.pk, pending_request.pk, draft_terms.pk)
    before = (User.objects.get(pk=pi_paula.pk).suspended_at, SecurityEvent.objects.count())
    for signed_in in (False, True):
        if signed_in:
            client.force_login(pi_paula)
        for path in paths:
            assert client.get(path).status_code == 404, path
            assert client.post(path, {"reason": "x", "action": "reject"}).status_code == 404, path
    assert (User.objects.get(pk=pi_paula.pk).suspended_at, SecurityEvent.objects.count()) == before
    pending_request.refresh_from_db()
    assert pending_request.status == AccountRequestStatus.PENDING


def test_every_control_page_opens_for_an_administrator(
    admin_client, pi_paula, pending_request, draft_terms
):
    post_only = ("/suspend/", "/unsuspend/", "/activation/")
    for path in _control_paths(pi_paula.pk, pending_request.pk, draft_terms.pk):
        response = admin_client.get(path, follow=True)
        assert response.status_code == (405 if path.endswith(post_only) else 200), path


def test_hostile_names_are_inert_on_the_administrators_pages(
    admin_client, pending_request, admin_ada
):
    queue = admin_client.get(reverse("control:account_requests")).content.decode()
    detail = admin_client.get(
        reverse("control:account_request", args=[pending_request.pk])
    ).content.decode()
    for page in (queue, detail):
        assert "<script>alert(1)" not in page
        assert "OnErRoR=alert(2)>" not in page
        assert ESCAPED in page

    user = services.account_request_approve(
        request=pending_request, actor=admin_ada, username="hana"
    )
    listing = admin_client.get(reverse("control:users")).content.decode()
    profile = admin_client.get(reverse("control:user", args=[user.pk])).content.decode()
    for page in (listing, profile):
        assert "<script>alert(1)" not in page
        assert ESCAPED in page


def test_approving_through_the_page_suggests_the_mail_local_part(admin_client, pending_request):
    page = admin_client.get(reverse("control:account_request", args=[pending_request.pk]))
    assert page.context["approve_form"].initial == {"username": "hana"}

    response = admin_client.post(
        reverse("control:account_request", args=[pending_request.pk]),
        {"action": "approve", "username": "hana.tanaka"},
    )
    user = User.objects.get(username="hana.tanaka")
    assert response["Location"] == reverse("control:user", args=[user.pk])
    pending_request.refresh_from_db()
    assert (pending_request.status, pending_request.user) == (AccountRequestStatus.APPROVED, user)


def test_a_decided_request_refuses_a_second_decision_through_the_page(
    admin_client, pending_request, admin_ada
):
    services.account_request_reject(request=pending_request, actor=admin_ada, reason="No.")
    response = admin_client.post(
        reverse("control:account_request", args=[pending_request.pk]),
        {"action": "approve", "username": "hana"},
    )
    assert response.status_code == 404
    assert not User.objects.filter(username="hana").exists()


def test_suspending_needs_the_csrf_token(admin_ada, pi_paula):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_ada)
    url = reverse("control:user_suspend", args=[pi_paula.pk])
    assert client.post(url, {"reason": "Left"}).status_code == 403
    assert User.objects.get(pk=pi_paula.pk).suspended_at is None

    client.get(reverse("control:user", args=[pi_paula.pk]))
    token = client.cookies["csrftoken"].value
    response = client.post(url, {"reason": "Left", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert User.objects.get(pk=pi_paula.pk).suspended_reason == "Left"


def test_suspending_needs_post(admin_client, pi_paula):
    url = reverse("control:user_suspend", args=[pi_paula.pk])
    assert admin_client.get(url).status_code == 405
    assert User.objects.get(pk=pi_paula.pk).suspended_at is None


def test_an_administrator_cannot_suspend_themself(admin_client, admin_ada):
    admin_client.post(reverse("control:user_suspend", args=[admin_ada.pk]), {"reason": "Oops"})
    assert User.objects.get(pk=admin_ada.pk).suspended_at is None


def test_the_user_page_changes_expiry_and_project_creation(admin_client, pi_paula, admin_ada):
    response = admin_client.post(
        reverse("control:user", args=[pi_paula.pk]),
        {
            "last_name": "Paula",
            "first_name": "",
            "email": "paula@example.org",
            "institution": "Univ",
            "department": "",
            "position": "",
            "language": "ja",
            "expires_on": "2027-03-31",
        },
    )
    assert response.status_code == 302
    paula = User.objects.get(pk=pi_paula.pk)
    assert (str(paula.expires_on), paula.may_create_projects, paula.language) == (
        "2027-03-31",
        False,
        "ja",
    )
    event = SecurityEvent.objects.get(kind="account.changed")
    assert event.actor == admin_ada
    assert event.details["may_create_projects"] == ["True", "False"]


def test_creating_an_account_directly_sends_the_activation(
    admin_client, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("control:user_new"),
            {"username": "kai", "email": "kai@example.jp", "last_name": "Kai"},
        )
    user = User.objects.get(username="kai")
    [mail] = smtp.to("kai@example.jp")
    assert mail["Subject"] == "Activate your OpenCRF account"
    assert smtp.envelopes == [["kai@example.jp"]]
    assert SecurityEvent.objects.get(kind="account.created").user == user


def test_the_site_settings_page_saves_valid_values(admin_client):
    form = admin_client.get(reverse("control:settings")).context["form"]
    values = {name: value for name, value in form.initial.items() if value is not None}
    values.update(
        internal_email_domains="Hosp.Example.ac.jp\n@med.example.ac.jp", lockout_failures=7
    )
    values.pop("password_character_classes", None)
    response = admin_client.post(reverse("control:settings"), values)
    assert response.status_code == 302
    site = SiteSettings.objects.get(pk=1)
    assert site.internal_domains() == ["hosp.example.ac.jp", "med.example.ac.jp"]
    assert site.lockout_failures == 7
    assert SecurityEvent.objects.get(kind="settings.changed").details["lockout_failures"] == [
        "5",
        "7",
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("password_min_length", 7),
        ("password_min_length", 129),
        ("lockout_failures", 2),
        ("lockout_failures", 51),
        ("internal_email_domains", "not a domain!"),
    ],
)
def test_the_site_settings_page_refuses_values_out_of_range(admin_client, name, value):
    form = admin_client.get(reverse("control:settings")).context["form"]
    values = {k: v for k, v in form.initial.items() if v is not None}
    values.pop("password_character_classes", None)
    values[name] = value
    response = admin_client.post(reverse("control:settings"), values)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [name]
    assert SiteSettings.objects.get(pk=1).lockout_failures == 5
    assert not SecurityEvent.objects.filter(kind="settings.changed").exists()


def test_publishing_terms_through_the_page(admin_client, draft_terms):
    admin_client.post(reverse("control:terms_version", args=[draft_terms.pk]))
    draft_terms.refresh_from_db()
    assert draft_terms.published_at is not None


def test_the_users_list_finds_by_institution(admin_client, pi_paula, django_user_model):
    pi_paula.institution = "Kyoto Univ"
    pi_paula.save()
    page = admin_client.get(reverse("control:users"), {"q": "kyoto"})
    assert [user.username for user, _status in page.context["rows"]] == ["pi_paula"]


def test_a_request_is_found_in_the_queue(admin_client, pending_request):
    page = admin_client.get(reverse("control:account_requests"))
    assert list(page.context["pending"]) == [pending_request]
    assert AccountRequest.objects.count() == 1


def test_only_administrators_see_the_control_centre_in_the_menu(client, admin_ada, pi_paula):
    link = f'href="{reverse("control:home")}"'
    client.force_login(pi_paula)
    assert link not in client.get(reverse("projects:list")).content.decode()
    client.force_login(admin_ada)
    assert link in client.get(reverse("projects:list")).content.decode()


def test_the_login_page_leads_to_the_account_request(client):
    page = client.get(reverse("accounts:login")).content.decode()
    assert f'href="{reverse("accounts:request")}"' in page


def test_the_users_list_costs_the_same_for_many_users(
    admin_client, django_user_model, django_assert_max_num_queries
):
    admin_client.get(reverse("control:users"))
    for n in range(30):
        django_user_model.objects.create(username=f"user{n:02}", email=f"u{n}@example.jp")
    with django_assert_max_num_queries(8):
        page = admin_client.get(reverse("control:users"))
    assert len(page.context["rows"]) == 31
