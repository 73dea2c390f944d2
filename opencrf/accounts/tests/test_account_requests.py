"""Requesting an account, its approval or rejection, and activation by e-mailed link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from opencrf.accounts import services
from opencrf.accounts.models import (
    AccountRequest,
    AccountRequestStatus,
    SecurityEvent,
    TermsAcceptance,
    User,
)
from opencrf.core.errors import InvalidInput

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long and unusual passphrase 42"
REQUEST = {
    "last_name": "Tanaka",
    "first_name": "Hana",
    "email": "hana@other-univ.example.jp",
    "institution": "Other University Hospital",
    "department": "Cardiology",
    "position": "Research nurse",
    "purpose": "Data entry for the SALT trial at site B.",
    "agree": "on",
}


@pytest.fixture
def published_terms(admin_ada):
    version = services.terms_create(
        actor=admin_ada, text_ja="利用規約 第1版", text_en="Terms of use, version 1"
    )
    return services.terms_publish(version=version, actor=admin_ada)


def _request(client, commits, **changes):
    with commits(execute=True):
        return client.post(reverse("accounts:request"), {**REQUEST, **changes})


def _activation_token(inbox, address):
    [message] = [m for m in inbox.to(address) if "Activate" in m["Subject"]]
    return re.search(r"/accounts/activate/([\w-]+)/", inbox.body(message)).group(1)


def _approve(admin, username="hana", now=None):
    request = AccountRequest.objects.get(email=REQUEST["email"])
    return services.account_request_approve(request=request, actor=admin, username=username)


# --- Requesting ---


def test_a_request_is_recorded_with_the_terms_agreed_and_a_neutral_receipt_is_sent(
    client, smtp, admin_ada, published_terms, django_capture_on_commit_callbacks
):
    response = _request(client, django_capture_on_commit_callbacks, REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:request_sent")
    request = AccountRequest.objects.get()
    assert (request.last_name, request.institution, request.status) == (
        "Tanaka",
        "Other University Hospital",
        AccountRequestStatus.PENDING,
    )
    assert request.terms_version == published_terms
    [receipt] = smtp.to("hana@other-univ.example.jp")
    assert receipt["Subject"] == "We received your account request"
    assert receipt["To"] == "hana@other-univ.example.jp"
    assert receipt["From"] == "edc@example.ac.jp"
    [notice] = smtp.to("ada@hosp.example.ac.jp")
    assert notice["Subject"] == "New account request: Tanaka Hana"
    assert f"https://edc.example.ac.jp/control/account-requests/{request.pk}/" in smtp.body(notice)
    assert SecurityEvent.objects.filter(kind="account.requested").count() == 1


def test_the_request_page_shows_the_terms_in_the_visitors_language(client, published_terms):
    english = client.get(reverse("accounts:request"), HTTP_ACCEPT_LANGUAGE="en")
    japanese = client.get(reverse("accounts:request"), HTTP_ACCEPT_LANGUAGE="ja")
    assert "Terms of use, version 1" in english.content.decode()
    assert "利用規約 第1版" in japanese.content.decode()


def test_a_request_without_agreeing_to_the_terms_is_refused(
    client, smtp, published_terms, django_capture_on_commit_callbacks
):
    response = _request(client, django_capture_on_commit_callbacks, agree="")
    assert response.status_code == 200
    assert response.context["form"].errors["agree"] == ["This field is required."]
    assert not AccountRequest.objects.exists()
    assert smtp.messages == []


def test_a_purpose_of_ten_thousand_characters_is_refused(
    client, smtp, django_capture_on_commit_callbacks
):
    response = _request(client, django_capture_on_commit_callbacks, purpose="x" * 10_000)
    assert response.context["form"].errors["purpose"] == [
        "Ensure this value has at most 2000 characters (it has 10000)."
    ]
    assert not AccountRequest.objects.exists()
    assert smtp.messages == []


def test_a_name_carrying_a_mail_header_is_refused(
    client, smtp, admin_ada, django_capture_on_commit_callbacks
):
    response = _request(
        client, django_capture_on_commit_callbacks, first_name="Eve\r\nBcc: victim@example.org"
    )
    assert response.context["form"].errors["first_name"] == [
        "Use a single line without control characters."
    ]
    assert not AccountRequest.objects.exists()
    assert smtp.messages == []


def test_subjects_lose_line_breaks_whatever_reaches_the_mailer(
    smtp, admin_ada, django_capture_on_commit_callbacks
):
    values = {k: v for k, v in REQUEST.items() if k != "agree"}
    values["first_name"] = "Eve\nBcc: victim@example.org"
    with django_capture_on_commit_callbacks(execute=True):
        services.account_request_create(**values, terms_version=None)
    [notice] = smtp.to("ada@hosp.example.ac.jp")
    assert notice["Subject"] == "New account request: Tanaka Eve Bcc: victim@example.org"
    assert notice["Bcc"] is None
    assert all("victim@example.org" not in rcpt for rcpt in smtp.envelopes)


def test_an_address_already_known_gets_the_same_answer_and_nothing_is_sent(
    client, smtp, admin_ada, django_capture_on_commit_callbacks, django_user_model
):
    django_user_model.objects.create_user(username="hana", email="Hana@Other-Univ.example.jp")
    known = _request(client, django_capture_on_commit_callbacks)
    fresh = _request(client, django_capture_on_commit_callbacks, email="new@example.jp")

    assert (known.status_code, known["Location"]) == (fresh.status_code, fresh["Location"])
    assert list(AccountRequest.objects.values_list("email", flat=True)) == ["new@example.jp"]
    assert smtp.to("hana@other-univ.example.jp") == []


def test_a_second_request_while_one_is_pending_records_nothing(
    client, smtp, django_capture_on_commit_callbacks
):
    _request(client, django_capture_on_commit_callbacks)
    _request(client, django_capture_on_commit_callbacks)
    assert AccountRequest.objects.count() == 1
    assert len(smtp.to("hana@other-univ.example.jp")) == 1


def test_the_request_form_needs_a_csrf_token(smtp):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("accounts:request"), REQUEST)
    assert response.status_code == 403
    assert not AccountRequest.objects.exists()


# --- Approval, rejection, activation ---


def test_approval_creates_the_account_and_emails_a_link_that_works_once(
    client, smtp, admin_ada, internal_domain, published_terms, django_capture_on_commit_callbacks
):
    _request(client, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        user = _approve(admin_ada)

    assert (user.username, user.institution, user.position) == (
        "hana",
        "Other University Hospital",
        "Research nurse",
    )
    assert user.may_create_projects is False
    assert not user.has_usable_password()
    assert TermsAcceptance.objects.filter(user=user, version=published_terms).exists()
    [mail] = [m for m in smtp.to("hana@other-univ.example.jp") if "Activate" in m["Subject"]]
    assert mail["Subject"] == "Activate your OpenCRF account"
    token = _activation_token(smtp, "hana@other-univ.example.jp")

    url = reverse("accounts:activate", args=[token])
    assert client.get(url).status_code == 200
    done = client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("accounts:login")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    again = client.post(url, {"new_password1": "another long phrase 77", "new_password2": "x"})
    assert again.status_code == 404
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert list(
        SecurityEvent.objects.filter(user=user).order_by("at", "id").values_list("kind", flat=True)
    ) == ["account.approved", "account.activated"]


def test_an_internal_address_may_create_projects(
    admin_ada, internal_domain, django_capture_on_commit_callbacks, smtp
):
    request = services.account_request_create(
        **{k: v for k, v in REQUEST.items() if k != "agree"} | {"email": "kai@med.example.ac.jp"},
        terms_version=None,
    )
    user = services.account_request_approve(request=request, actor=admin_ada, username="kai")
    assert user.may_create_projects is True


def test_an_activation_link_stops_working_after_72_hours(
    smtp, admin_ada, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.user_create(actor=admin_ada, username="hana", email=REQUEST["email"])
    token = _activation_token(smtp, REQUEST["email"])
    later = timezone.now() + timedelta(hours=72, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    response = Client().get(reverse("accounts:activate", args=[token]))
    assert response.status_code == 404
    with pytest.raises(InvalidInput):
        services.user_activate(token=token, password=NEW_PASSWORD)
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_an_activation_link_still_works_just_before_it_expires(smtp, admin_ada):
    services.user_create(actor=admin_ada, username="hana", email=REQUEST["email"])
    token = services.activation_send(user=User.objects.get(username="hana"))
    almost = timezone.now() + timedelta(hours=71, minutes=59)
    user = services.user_activate(token=token, password=NEW_PASSWORD, now=almost)
    assert user.check_password(NEW_PASSWORD)


def test_a_resent_link_replaces_the_earlier_one(smtp, admin_ada):
    user = services.user_create(actor=admin_ada, username="hana", email=REQUEST["email"])
    first = services.activation_send(user=user)
    second = services.activation_send(user=user)
    assert services.activation_user(first) is None
    assert services.activation_user(second) == user


def test_a_token_only_activates_its_own_account(smtp, admin_ada, client):
    hana = services.user_create(actor=admin_ada, username="hana", email=REQUEST["email"])
    kai = services.user_create(actor=admin_ada, username="kai", email="kai@example.jp")
    token = services.activation_send(user=hana)

    client.post(
        reverse("accounts:activate", args=[token]),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, "username": "kai"},
    )
    hana.refresh_from_db()
    kai.refresh_from_db()
    assert hana.check_password(NEW_PASSWORD)
    assert not kai.has_usable_password()


def test_a_made_up_token_is_refused(client):
    assert client.get(reverse("accounts:activate", args=["x" * 43])).status_code == 404


def test_a_weak_password_is_refused_and_the_link_keeps_working(smtp, admin_ada, client):
    user = services.user_create(actor=admin_ada, username="hana", email=REQUEST["email"])
    token = services.activation_send(user=user)
    url = reverse("accounts:activate", args=[token])
    response = client.post(url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert services.activation_user(token) == user


def test_rejection_needs_a_reason_and_emails_it(
    client, smtp, admin_ada, django_capture_on_commit_callbacks
):
    _request(client, django_capture_on_commit_callbacks)
    request = AccountRequest.objects.get()
    with pytest.raises(InvalidInput):
        services.account_request_reject(request=request, actor=admin_ada, reason="  ")
    request.refresh_from_db()
    assert request.status == AccountRequestStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        services.account_request_reject(
            request=request, actor=admin_ada, reason="Please apply through your PI."
        )
    request.refresh_from_db()
    assert (request.status, request.decided_by) == (AccountRequestStatus.REJECTED, admin_ada)
    rejection = smtp.to(REQUEST["email"])[-1]
    assert rejection["Subject"] == "Your account request was not approved"
    assert "Please apply through your PI." in smtp.body(rejection)
    assert not User.objects.filter(email=REQUEST["email"]).exists()


def test_a_decided_request_cannot_be_decided_again(smtp, admin_ada):
    request = services.account_request_create(
        **{k: v for k, v in REQUEST.items() if k != "agree"}, terms_version=None
    )
    services.account_request_reject(request=request, actor=admin_ada, reason="No.")
    with pytest.raises(InvalidInput):
        services.account_request_approve(request=request, actor=admin_ada, username="hana")
    assert not User.objects.filter(username="hana").exists()


def test_a_taken_user_name_is_refused_on_approval(smtp, admin_ada):
    request = services.account_request_create(
        **{k: v for k, v in REQUEST.items() if k != "agree"}, terms_version=None
    )
    with pytest.raises(InvalidInput, match="already taken"):
        services.account_request_approve(request=request, actor=admin_ada, username="Admin_Ada")
    request.refresh_from_db()
    assert request.status == AccountRequestStatus.PENDING


def test_mail_goes_out_in_the_recipients_language(
    smtp, admin_ada, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.user_create(
            actor=admin_ada, username="hana", email=REQUEST["email"], language="ja"
        )
    [mail] = smtp.to(REQUEST["email"])
    with translation.override("ja"):
        assert mail["Subject"] == translation.gettext("Activate your OpenCRF account")
    assert "hana" in smtp.body(mail)
