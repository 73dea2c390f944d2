"""Rate limits of the public survey pages: a sliding window counted in the database.

Each limit counts events per key (an address, a link) in fixed one-window buckets; the
count of the sliding window is this bucket's plus the previous bucket's weighted by how much
of it still lies in the window (the usual sliding-window counter). The counts are kept
in the database (`opencrf.core.counters`), so every server process and node counts together.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings

from opencrf.core.counters import count_add, counts

_clock = time.time  # the seconds the windows are counted in (tests hold it still)


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` events per `seconds` for one key of this limit's `name`."""

    name: str
    count: int
    seconds: int


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def posts_per_address() -> Limit:
    """Answers submitted from one address (a clinic's shared network counts as one)."""
    return Limit("post-address", _setting("OPENCRF_SURVEY_POSTS_PER_ADDRESS", 120), 60)


def posts_per_link() -> Limit:
    """Answers submitted through one link: a person turns a page every few seconds at most."""
    return Limit("post-link", _setting("OPENCRF_SURVEY_POSTS_PER_LINK", 30), 60)


def starts_per_address() -> Limit:
    """New responses started through public links from one address."""
    return Limit("start-address", _setting("OPENCRF_SURVEY_STARTS_PER_ADDRESS", 60), 60)


def code_tries_per_address() -> Limit:
    """Access codes typed from one address (codes are short: guessing must stay slow)."""
    return Limit("code-address", _setting("OPENCRF_SURVEY_CODE_TRIES_PER_ADDRESS", 20), 600)


def return_tries_per_link() -> Limit:
    """Return codes tried for one link."""
    return Limit("return-link", _setting("OPENCRF_SURVEY_RETURN_TRIES_PER_LINK", 10), 3600)


def _key(limit: Limit, key: str, bucket: int) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]
    return f"opencrf:survey-rate:{limit.name}:{digest}:{bucket}"


def _count(limit: Limit, key: str, now: float) -> tuple[int, int]:
    bucket = int(now // limit.seconds)
    elapsed = (now % limit.seconds) / limit.seconds
    found = counts([_key(limit, key, bucket), _key(limit, key, bucket - 1)])
    current = int(found.get(_key(limit, key, bucket), 0))
    previous = int(found.get(_key(limit, key, bucket - 1), 0))
    # Rounded up: just after a bucket turns, the previous one still counts in full.
    return current + math.ceil(previous * (1 - elapsed)), bucket


def exceeded(limit: Limit, key: str, *, now: float | None = None) -> bool:
    """Whether one more event for `key` would go over the limit (nothing is counted)."""
    counted, _bucket = _count(limit, key, _clock() if now is None else now)
    return counted >= limit.count


def hit(limit: Limit, key: str, *, now: float | None = None) -> bool:
    """Count one event for `key`; False when it goes over the limit (and must be refused)."""
    moment = _clock() if now is None else now
    counted, bucket = _count(limit, key, moment)
    if counted >= limit.count:
        return False
    count_add(_key(limit, key, bucket), keep_seconds=limit.seconds * 2)
    return True
