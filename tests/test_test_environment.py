"""The suite's own environment: cheap password hashing in tests, production strength elsewhere."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.urls import reverse

from opencrf.config import settings as production_settings


def test_production_hashes_passwords_with_argon2_at_djangos_cost():
    assert production_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )


def test_the_suite_hashes_with_argon2_at_the_lowest_cost():
    assert settings.PASSWORD_HASHERS[0] == "opencrf.testing.hashers.QuickArgon2PasswordHasher"
    assert make_password("correct horse battery").startswith("argon2$argon2id$v=19$m=64,t=1,p=1$")


def test_a_production_strength_hash_still_verifies():
    # Made with Django's cost (m=102400, t=2, p=8) and a fixed salt.
    production = (
        "argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHRzb21lc2FsdA$"
        "mNK8ZQcbEhPOTu4tJFqncjxBXJeb6Cjl5Wo3nK3UZTQ"
    )
    assert check_password("correct horse battery", production) is True
    assert check_password("correct horse batter", production) is False


@pytest.mark.django_db
def test_signing_in_does_not_rehash_the_password(client, pi_paula):
    stored = pi_paula.password

    response = client.post(
        reverse("accounts:login"), {"username": "pi_paula", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    pi_paula.refresh_from_db()
    assert pi_paula.password == stored
