"""The operators `= <> < <= > >= + - * / ^` on run-time values (GRAMMAR.md §5)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from opencrf.logic.numeric import finite, power
from opencrf.logic.values import BLANK, Value, is_blank, to_number, to_text

ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def equals(left: Value, right: Value) -> bool:
    left_number, right_number = to_number(left), to_number(right)
    if left_number is not None and right_number is not None:
        return left_number == right_number
    return to_text(left) == to_text(right)


def ordered(op: str, left: Value, right: Value) -> bool:
    """`<`, `<=`, `>`, `>=`: false when either side is blank (GRAMMAR.md §5, **Choice**)."""
    if is_blank(left) or is_blank(right):
        return False
    compare = ORDERINGS[op]
    left_number, right_number = to_number(left), to_number(right)
    if left_number is not None and right_number is not None:
        return compare(left_number, right_number)
    return compare(to_text(left), to_text(right))


def _divide(left: float, right: float) -> float | None:
    return None if right == 0 else finite(left / right)


ARITHMETIC: dict[str, Callable[[float, float], float | None]] = {
    "+": lambda left, right: finite(left + right),
    "-": lambda left, right: finite(left - right),
    "*": lambda left, right: finite(left * right),
    "/": _divide,
    "^": power,
}


def arithmetic(op: str, left: Value, right: Value) -> Value:
    """Blank when either operand is blank or not numeric, or the result is not finite."""
    left_number, right_number = to_number(left), to_number(right)
    if left_number is None or right_number is None:
        return BLANK
    result = ARITHMETIC[op](left_number, right_number)
    return BLANK if result is None else result


def negate(op: str, operand: Value) -> Value:
    number = to_number(operand)
    if number is None:
        return BLANK
    return -number if op == "-" else number


def compare(op: str, left: Value, right: Value) -> bool:
    if op == "=":
        return equals(left, right)
    if op == "<>":
        return not equals(left, right)
    return ordered(op, left, right)
