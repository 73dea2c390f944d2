"""Control centre pages for administrators: accounts, approvals, terms and site settings."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from opencrf.accounts.decorators import administrator_required


@administrator_required
def control_home(request: HttpRequest) -> HttpResponse:
    return redirect("control:users")
