from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.ops import health

pytestmark = pytest.mark.django_db


def test_alive_answers_without_checking_anything(client):
    response = client.get(reverse("ops:alive"))
    assert (response.status_code, response.json()) == (200, {"status": "alive"})


def test_ready_checks_database_migrations_and_storage(client):
    response = client.get(reverse("ops:ready"))
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ready"
    assert sorted(body["checks"]) == ["database", "migrations", "storage"]
    assert body["checks"]["migrations"] == {"ok": True, "detail": "applied"}


def test_a_failing_check_answers_503_naming_only_the_error_class(client, monkeypatch):
    def broken() -> str:
        raise PermissionError("/secret/path is not writable")

    monkeypatch.setitem(health.CHECKS, "storage", broken)
    response = client.get(reverse("ops:ready"))

    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == {"ok": False, "detail": "PermissionError"}
    assert "/secret/path" not in response.content.decode()


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get(reverse("accounts:login"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert len(response["X-Request-ID"]) == 32


def test_a_clients_request_id_is_ignored_unless_a_proxy_is_trusted(client, settings):
    settings.BEHIND_PROXY = False
    response = client.get(reverse("ops:alive"), HTTP_X_REQUEST_ID="client-chosen")
    assert response["X-Request-ID"] != "client-chosen"

    settings.BEHIND_PROXY = True
    response = client.get(reverse("ops:alive"), HTTP_X_REQUEST_ID="proxy-given")
    assert response["X-Request-ID"] == "proxy-given"


def test_the_client_address_comes_from_the_proxy_only_when_trusted(rf, settings):
    from opencrf.core.middleware import client_address

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="127.0.0.1")
    settings.BEHIND_PROXY = False
    assert client_address(request) == "127.0.0.1"
    settings.BEHIND_PROXY = True
    assert client_address(request) == "203.0.113.9"
