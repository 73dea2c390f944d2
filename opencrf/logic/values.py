"""Run-time values and their conversions (GRAMMAR.md §5).

A value is blank (`""`), a string, a number (a finite float) or a boolean.
"""

from __future__ import annotations

from typing import TypeAlias

from opencrf.logic.numeric import format_number, parse_numeric

Value: TypeAlias = bool | float | str
BLANK = ""


def is_blank(value: Value) -> bool:
    return isinstance(value, str) and value == BLANK


def to_number(value: Value) -> float | None:
    """The number a value stands for: booleans are 1/0; blank and other text are None."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    return parse_numeric(value)


def to_text(value: Value) -> str:
    """The text of a value: numbers as JavaScript writes them, booleans as `1`/`0`."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return format_number(value)
    return value


def truthy(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value != 0 and value == value
    if value == BLANK:
        return False
    number = parse_numeric(value)
    return True if number is None else number != 0


def number_or_blank(number: float | None) -> Value:
    return BLANK if number is None else number
