"""REDCap's rules for generated unique names (events, data access groups)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
EVENT_STEM_LENGTH = 18
GROUP_STEM_LENGTH = 18


def slug(text: str, *, limit: int, fallback: str) -> str:
    """Lower-case ASCII letters and digits joined by `_`, cut to `limit` characters."""
    normal = unicodedata.normalize("NFKC", text).lower()
    stem = _NON_ALNUM.sub("_", normal).strip("_")[:limit].rstrip("_")
    return stem or fallback


def unique_event_name(name: str, arm_number: int, taken: Collection[str]) -> str:
    """`Event 1` in arm 1 → `event_1_arm_1`; a clash gets `_2`, `_3`… before the arm suffix."""
    stem = slug(name, limit=EVENT_STEM_LENGTH, fallback="event")
    candidate = f"{stem}_arm_{arm_number}"
    counter = 2
    while candidate in taken:
        candidate = f"{stem}_{counter}_arm_{arm_number}"
        counter += 1
    return candidate


def unique_group_name(name: str, taken: Collection[str]) -> str:
    """`Test DAG` → `test_dag`; a clash gets `_2`, `_3`…"""
    stem = slug(name, limit=GROUP_STEM_LENGTH, fallback="group")
    candidate, counter = stem, 2
    while candidate in taken:
        candidate = f"{stem}_{counter}"
        counter += 1
    return candidate
