"""Numbers: recognising numeric text, formatting like JavaScript, rounding on decimal text.

Both evaluators must produce the same doubles and the same text, so every operation here is
specified in GRAMMAR.md §5, §7 and §8 in terms that JavaScript can reproduce exactly.
"""

from __future__ import annotations

import decimal
import math
import re
from typing import Literal, TypeAlias

TRIMMED = " \t\n\r\f\v"
# A decimal comma (`1,54`, how `number_comma_decimal` fields store numbers) reads as a point.
NUMERIC = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+|[0-9]*,[0-9]+)")
MAX_MULTIPLIED_EXPONENT = 64
MAX_PLACES = 400

Rounding: TypeAlias = Literal["round", "roundup", "rounddown"]
DECIMAL_ROUNDING: dict[Rounding, str] = {
    "round": decimal.ROUND_HALF_UP,
    "roundup": decimal.ROUND_UP,
    "rounddown": decimal.ROUND_DOWN,
}
_CONTEXT = decimal.Context(prec=2000, Emax=999_999, Emin=-999_999)


def finite(number: float) -> float | None:
    """`number`, or None (blank) when it is infinite or NaN."""
    return number if math.isfinite(number) else None


def parse_numeric(text: str) -> float | None:
    """The number of a numeric-looking string, else None.

    Text whose value is too large for a double is not numeric, so infinity never appears.
    """
    stripped = text.strip(TRIMMED)
    if not NUMERIC.fullmatch(stripped):
        return None
    return finite(float(stripped.replace(",", ".")))


def format_number(number: float) -> str:
    """`number` as JavaScript's `Number.prototype.toString` writes it."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    digits, exponent = _shortest_digits(abs(number))
    return sign + _place_point(digits, exponent)


def _shortest_digits(number: float) -> tuple[str, int]:
    """(digits, n) with number = 0.digits × 10^n and digits the shortest that round-trip."""
    parts = decimal.Decimal(repr(number)).normalize(_CONTEXT).as_tuple()
    digits = "".join(str(digit) for digit in parts.digits)
    assert isinstance(parts.exponent, int)
    return digits, len(digits) + parts.exponent


def _place_point(digits: str, n: int) -> str:
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    exponent = f"{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{mantissa}e{exponent}"


def round_number(number: float, places: float, how: Rounding) -> float | None:
    """`number` rounded to `places` decimals (truncated to an integer) on its decimal text."""
    places = max(-MAX_PLACES, min(MAX_PLACES, math.trunc(places)))
    text = decimal.Decimal(format_number(number))
    step = decimal.Decimal(1).scaleb(-places)
    rounded = text.quantize(step, rounding=DECIMAL_ROUNDING[how], context=_CONTEXT)
    return finite(float(rounded))


def power(base: float, exponent: float) -> float | None:
    """`base ^ exponent`; small integer exponents multiply step by step (GRAMMAR.md §5)."""
    if exponent.is_integer() and abs(exponent) <= MAX_MULTIPLIED_EXPONENT:
        result = 1.0
        for _ in range(int(abs(exponent))):
            result *= base
        if exponent >= 0:
            return finite(result)
        return finite(1.0 / result) if result != 0 else None
    try:
        return finite(math.pow(base, exponent))
    except (OverflowError, ValueError):
        return None
