"""Authentication that refuses suspended and expired accounts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.utils import timezone


class AccountStatusBackend(ModelBackend):
    """Django's username-and-password backend, closed to suspended or expired accounts.

    `user_can_authenticate` also decides whether a session still holds its user
    (`ModelBackend.get_user`), so a suspension or expiry ends open sessions too.
    """

    def user_can_authenticate(self, user: Any) -> bool:
        if not super().user_can_authenticate(user):
            return False
        if getattr(user, "suspended_at", None) is not None:
            return False
        expires_on = getattr(user, "expires_on", None)
        return expires_on is None or expires_on >= timezone.localdate()
