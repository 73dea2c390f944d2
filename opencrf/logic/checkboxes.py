"""Checkbox option keys, as `opencrf.dictionary.choices.checkbox_column` writes them."""

from __future__ import annotations

import re

_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")


def checkbox_key(field: str, code: str) -> str:
    """The stored key of one checkbox option: (`race`, `A`) → `race___a`, `-99` → `race____99`."""
    return f"{field}___{_NOT_ALPHANUMERIC.sub('_', code.lower())}"
