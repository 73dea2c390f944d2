"""Counters shared by every process: the store behind sliding-window rate limits.

Each counter is one row, incremented in SQL (`count = count + 1`), so concurrent requests in
any process or node never lose a count. Expired rows are deleted whenever a new counter is
made, which happens at most once per key and window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F

from opencrf.core.models import RateCounter


def counts(keys: Iterable[str]) -> dict[str, int]:
    """The current count of each key that has one (expired or missing keys are left out)."""
    now = datetime.now(UTC)
    rows = RateCounter.objects.filter(key__in=list(keys), expires_at__gt=now)
    return dict(rows.values_list("key", "count"))


def count_add(key: str, *, keep_seconds: int) -> None:
    """Add one to `key`, making it (kept `keep_seconds`) when it does not exist yet."""
    with transaction.atomic():
        if RateCounter.objects.filter(key=key).update(count=F("count") + 1):
            return
        now = datetime.now(UTC)
        RateCounter.objects.filter(expires_at__lte=now).delete()
        try:
            with transaction.atomic():
                RateCounter.objects.create(
                    key=key, count=1, expires_at=now + timedelta(seconds=keep_seconds)
                )
        except IntegrityError:  # made by a concurrent request in the meantime
            RateCounter.objects.filter(key=key).update(count=F("count") + 1)
