"""Writes to accounts: `user_<verb>`, and the security log (`security_event_create`)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from opencrf.accounts.models import SecurityEvent, User
from opencrf.core.errors import InvalidInput

_ONE_TIME_ALPHABET = string.ascii_letters + string.digits


def security_event_create(
    *,
    kind: str,
    user: User | None = None,
    username: str = "",
    actor: User | None = None,
    address: str = "",
    details: Mapping[str, Any] | None = None,
) -> SecurityEvent:
    """Add one entry to the security log (UTC time now).

    `kind` is a dotted name such as `login.failed`, `lockout`, `2fa.enrolled`,
    `password.reset`, `account.approved`, `rights.changed`, `token.created`; `user` is the
    account concerned (None for an unknown username, kept in `username`), `actor` who acted
    when not the user (an administrator), `address` the client address
    (`core.middleware.client_address`).
    """
    return SecurityEvent.objects.create(
        kind=kind,
        user=user,
        username=(username or (user.username if user is not None else ""))[:150],
        actor=actor,
        address=address[:64],
        details=dict(details or {}),
    )


def one_time_password() -> str:
    """A random 20-character password to be changed at first login."""
    return "".join(secrets.choice(_ONE_TIME_ALPHABET) for _ in range(20))


@transaction.atomic
def user_create_admin(
    *, username: str, email: str, password: str, must_change_password: bool = False
) -> User:
    """Create an administrator, or return the existing one of that name unchanged."""
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    user = User(username=username, email=email, is_staff=True, is_superuser=True)
    try:
        validate_password(password, user)
    except Exception as error:
        raise InvalidInput(" ".join(getattr(error, "messages", [str(error)]))) from None
    user.set_password(password)
    user.must_change_password = must_change_password
    user.save()
    return user


def user_set_language(*, user: User, language: str) -> None:
    """Remember the interface language the user chose ("" follows the browser)."""
    codes = {code for code, _name in settings.LANGUAGES}
    if language and language not in codes:
        raise InvalidInput(_("Unknown language: %(code)s") % {"code": language})
    user.language = language
    user.save(update_fields=["language"])
    if language:
        translation.activate(language)


def user_change_password(*, user: User, password: str) -> None:
    validate_password(password, user)
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
