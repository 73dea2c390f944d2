"""Whole numbers read from request text: only ASCII digits, and not too many of them."""

from __future__ import annotations

import pytest

from opencrf.core.numbers import whole_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("7", 7),
        ("007", 7),
        ("123456789012345678", 123456789012345678),
        ("1234567890123456789", None),  # more than 18 digits: beyond a database integer
        ("9" * 5000, None),  # `int` itself refuses more than 4,300 digits
        ("", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("²", None),  # isdigit() says yes, int() raises
        ("٣", None),  # isdigit() says yes, int() reads 3
        ("１", None),  # full-width digit one
    ],
)
def test_whole_number(text, expected):
    assert whole_number(text) == expected


def test_whole_number_within_fewer_digits():
    assert (whole_number("100", 3), whole_number("1000", 3)) == (100, None)
