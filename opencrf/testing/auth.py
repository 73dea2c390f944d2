"""`Client.force_login` for tests: a complete sign-in, both factors where the site asks.

Most tests sign in to test something else; with two-factor authentication required for
administrators by default, a plain `force_login` would leave an administrator's session
half signed in (every page leads to the code step). The root conftest patches
`Client.force_login` with `force_login_verified`, which also marks the session as verified
by an authenticator device, exactly as the code step does. Tests of the sign-in steps
themselves use `password_only_login` (Django's own `force_login`) or the login pages.
"""

from __future__ import annotations

from typing import Any

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

password_only_login = Client.force_login


def force_login_verified(client: Client, user: Any, backend: str | None = None) -> None:
    from opencrf.accounts.two_factor import (
        DEVICE_NAME,
        totp_device,
        two_factor_enrolled,
        two_factor_required,
    )

    password_only_login(client, user, backend)
    if not (two_factor_required(user) or two_factor_enrolled(user)):
        return
    device = totp_device(user) or TOTPDevice.objects.create(
        user=user, name=DEVICE_NAME, confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
