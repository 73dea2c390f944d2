"""A pytest plugin loaded before Django (`-p opencrf.testing.env`): the test environment.

Tests run with production settings; they only need a key and a scratch data folder.
"""

from __future__ import annotations

import os
import secrets
import tempfile

os.environ.setdefault("OPENCRF_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("OPENCRF_DATA_DIR", tempfile.mkdtemp(prefix="opencrf-test-"))
os.makedirs(os.path.join(os.environ["OPENCRF_DATA_DIR"], "static"), exist_ok=True)
os.environ.setdefault("OPENCRF_HTTPS", "false")
# No periodic job starts by the clock inside a test server; tests call the jobs themselves.
os.environ.setdefault("OPENCRF_BACKUP_TIME", "")
os.environ.setdefault("OPENCRF_DRILL_TIME", "")


def pytest_configure(config: object) -> None:
    # Test-only: cheap Argon2 for the users every test creates (see testing/hashers.py). It
    # takes the place of Django's Argon2 hasher (one hasher per algorithm name, so a login never
    # rehashes); it still verifies any Argon2 hash, whatever its cost.
    from django.conf import settings
    from django.contrib.auth import hashers

    quick = "opencrf.testing.hashers.QuickArgon2PasswordHasher"
    others = [
        name for name in settings.PASSWORD_HASHERS if not name.endswith(".Argon2PasswordHasher")
    ]
    settings.PASSWORD_HASHERS = [quick, *(name for name in others if name != quick)]
    # Both are functools caches; django-stubs types them as plain functions.
    hashers.get_hashers.cache_clear()  # type: ignore[attr-defined]
    hashers.get_hashers_by_algorithm.cache_clear()  # type: ignore[attr-defined]
