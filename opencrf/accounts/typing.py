"""Types for views behind `login_required`."""

from __future__ import annotations

from django.http import HttpRequest

from opencrf.accounts.models import User


class AuthedRequest(HttpRequest):
    """A request whose user has logged in (views guarded by `login_required`)."""

    user: User
