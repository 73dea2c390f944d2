"""Banners every page shows: training instance, maintenance mode, planned maintenance."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def operations_banners(request: HttpRequest) -> dict[str, Any]:
    return {}
