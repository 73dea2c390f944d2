"""Whole numbers read from request text: ids, page numbers, versions, limits."""

from __future__ import annotations


def whole_number(text: str, max_digits: int = 18) -> int | None:
    """`text` as a whole number when it is written with ASCII digits only (at most
    `max_digits` of them), else None.

    `str.isdigit` alone is not enough: it accepts '²', which `int` refuses, and '٣', which
    `int` reads as 3; and a long run of digits is neither an id nor a count (beyond 4,300
    digits `int` raises, beyond 18 the database's integers overflow).
    """
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None
