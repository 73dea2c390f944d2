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
