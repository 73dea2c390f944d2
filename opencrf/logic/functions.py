"""The built-in functions (GRAMMAR.md §8): arity and implementation.

Every implementation takes evaluated arguments and returns a value; a number that is not
finite becomes blank. `if` is evaluated lazily by the evaluator and has no implementation here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

from opencrf.logic import dates
from opencrf.logic.numeric import TRIMMED, Rounding, finite, parse_numeric, round_number
from opencrf.logic.values import BLANK, Value, is_blank, number_or_blank, to_number, to_text, truthy

DATE_FORMATS = frozenset({"ymd", "mdy", "dmy"})


class Environment(NamedTuple):
    """What functions may read besides their arguments."""

    clock: dates.Clock
    missing_codes: frozenset[str]


Implementation = Callable[[Sequence[Value], Environment], Value]


class Function(NamedTuple):
    min_args: int
    max_args: int | None  # None: any number
    implement: Implementation | None


def arity_text(least: int, most: int | None) -> str:
    """`1 argument`, `1 or 2 arguments`, `3 to 5 arguments`, `at least 1 argument`."""
    noun = "argument" if (most or least) == 1 else "arguments"
    if most is None:
        return f"at least {least} {noun}"
    if most == least:
        return f"{least} {noun}"
    joiner = "or" if most == least + 1 else "to"
    return f"{least} {joiner} {most} {noun}"


# --- Numbers -----------------------------------------------------------------------------------


def _numbers(args: Sequence[Value]) -> list[float] | None:
    """All arguments as numbers, or None if any is blank or not numeric."""
    numbers: list[float] = []
    for arg in args:
        number = to_number(arg)
        if number is None:
            return None
        numbers.append(number)
    return numbers


def _numeric_only(args: Sequence[Value]) -> list[float]:
    """The numeric arguments; blank and other text are skipped (aggregates)."""
    return [number for number in map(to_number, args) if number is not None]


def _rounding(how: Rounding) -> Implementation:
    def implement(args: Sequence[Value], env: Environment) -> Value:
        numbers = _numbers(args)
        if numbers is None:
            return BLANK
        places = numbers[1] if len(numbers) > 1 else 0.0
        return number_or_blank(round_number(numbers[0], places, how))

    return implement


def _unary_math(compute: Callable[[float], float | None]) -> Implementation:
    def implement(args: Sequence[Value], env: Environment) -> Value:
        number = to_number(args[0])
        return BLANK if number is None else number_or_blank(compute(number))

    return implement


def _sqrt(number: float) -> float | None:
    return math.sqrt(number) if number >= 0 else None


def _exponential(number: float) -> float | None:
    try:
        return finite(math.exp(number))
    except OverflowError:
        return None


def _log(args: Sequence[Value], env: Environment) -> Value:
    numbers = _numbers(args)
    if numbers is None or numbers[0] <= 0:
        return BLANK
    if len(numbers) == 1:
        return math.log(numbers[0])
    base = numbers[1]
    if base <= 0 or base == 1:
        return BLANK
    return number_or_blank(finite(math.log(numbers[0]) / math.log(base)))


def _mod(args: Sequence[Value], env: Environment) -> Value:
    numbers = _numbers(args)
    if numbers is None or numbers[1] == 0:
        return BLANK
    return math.fmod(numbers[0], numbers[1])


def _aggregate(compute: Callable[[list[float]], float | None]) -> Implementation:
    def implement(args: Sequence[Value], env: Environment) -> Value:
        numbers = _numeric_only(args)
        result = compute(numbers) if numbers else None
        return BLANK if result is None else number_or_blank(finite(result))

    return implement


def _sum(numbers: list[float]) -> float:
    total = 0.0
    for number in numbers:
        total += number
    return total


def _mean(numbers: list[float]) -> float:
    return _sum(numbers) / len(numbers)


def _median(numbers: list[float]) -> float:
    ordered = sorted(numbers)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _stdev(numbers: list[float]) -> float | None:
    if len(numbers) < 2:
        return None
    mean = _mean(numbers)
    squares = _sum([(number - mean) * (number - mean) for number in numbers])
    return math.sqrt(squares / (len(numbers) - 1))


def _isnumber(args: Sequence[Value], env: Environment) -> Value:
    value = args[0]
    if isinstance(value, bool):
        return False
    return isinstance(value, float) or parse_numeric(value) is not None


def _isinteger(args: Sequence[Value], env: Environment) -> Value:
    value = args[0]
    if isinstance(value, bool):
        return False
    number = value if isinstance(value, float) else parse_numeric(value)
    return number is not None and number.is_integer()


# --- Text --------------------------------------------------------------------------------------


def _texts(args: Sequence[Value]) -> list[str]:
    return [to_text(arg) for arg in args]


def _contains(args: Sequence[Value], env: Environment) -> Value:
    haystack, needle = (text.lower() for text in _texts(args))
    return needle in haystack


def _not_contain(args: Sequence[Value], env: Environment) -> Value:
    return not _contains(args, env)


def _starts_with(args: Sequence[Value], env: Environment) -> Value:
    haystack, needle = (text.lower() for text in _texts(args))
    return haystack.startswith(needle)


def _ends_with(args: Sequence[Value], env: Environment) -> Value:
    haystack, needle = (text.lower() for text in _texts(args))
    return haystack.endswith(needle)


def _find(args: Sequence[Value], env: Environment) -> Value:
    needle, haystack = (text.lower() for text in _texts(args))
    return float(haystack.find(needle) + 1)


def _count(value: Value) -> int | None:
    """A character count or position argument, truncated toward zero; None if not numeric."""
    number = to_number(value)
    return None if number is None else math.trunc(number)


def _left(args: Sequence[Value], env: Environment) -> Value:
    count = _count(args[1])
    if count is None:
        return BLANK
    return to_text(args[0])[: max(count, 0)]


def _right(args: Sequence[Value], env: Environment) -> Value:
    count = _count(args[1])
    if count is None:
        return BLANK
    text = to_text(args[0])
    return text[max(len(text) - count, 0) :] if count > 0 else BLANK


def _mid(args: Sequence[Value], env: Environment) -> Value:
    start, count = _count(args[1]), _count(args[2])
    if start is None or count is None:
        return BLANK
    begin = max(start, 1) - 1
    return to_text(args[0])[begin : begin + max(count, 0)]


def _length(args: Sequence[Value], env: Environment) -> Value:
    return float(len(to_text(args[0])))


def _concat(args: Sequence[Value], env: Environment) -> Value:
    return "".join(_texts(args))


def _concat_ws(args: Sequence[Value], env: Environment) -> Value:
    separator = to_text(args[0])
    return separator.join(to_text(arg) for arg in args[1:] if not is_blank(arg))


def _text_map(transform: Callable[[str], str]) -> Implementation:
    def implement(args: Sequence[Value], env: Environment) -> Value:
        return transform(to_text(args[0]))

    return implement


def _replace_text(args: Sequence[Value], env: Environment) -> Value:
    haystack, search, replacement = _texts(args)
    return haystack.replace(search, replacement) if search else haystack


# --- Dates -------------------------------------------------------------------------------------


def _datediff(args: Sequence[Value], env: Environment) -> Value:
    first = dates.parse_moment(to_text(args[0]), env.clock)
    second = dates.parse_moment(to_text(args[1]), env.clock)
    if first is None or second is None:
        return BLANK
    return number_or_blank(dates.datediff(first, second, to_text(args[2]), _signed(args)))


def _calcdate(args: Sequence[Value], env: Environment) -> Value:
    shaped = dates.parse_shaped(to_text(args[0]), env.clock)
    offset = to_number(args[1])
    if shaped is None or offset is None:
        return BLANK
    result = dates.calcdate(shaped[0], shaped[1], offset, to_text(args[2]))
    return BLANK if result is None else result


def _signed(args: Sequence[Value]) -> bool:
    """The optional last flag; a 4th argument that names a date format is that format."""
    if len(args) == 5:
        return truthy(args[4])
    if len(args) == 4:
        fourth = args[3]
        is_format = isinstance(fourth, str) and fourth.strip(TRIMMED).lower() in DATE_FORMATS
        return False if is_format else truthy(fourth)
    return False


def _date_part(part: Callable[[dt.datetime], int]) -> Implementation:
    def implement(args: Sequence[Value], env: Environment) -> Value:
        moment = dates.parse_moment(to_text(args[0]), env.clock)
        return BLANK if moment is None else float(part(moment))

    return implement


# --- Missing-data codes ------------------------------------------------------------------------


def _is_missing_code(args: Sequence[Value], env: Environment) -> Value:
    return not is_blank(args[0]) and to_text(args[0]) in env.missing_codes


def _is_blank_or_missing_code(args: Sequence[Value], env: Environment) -> Value:
    return is_blank(args[0]) or to_text(args[0]) in env.missing_codes


def _is_blank_not_missing_code(args: Sequence[Value], env: Environment) -> Value:
    return is_blank(args[0])


FUNCTIONS: dict[str, Function] = {
    "if": Function(3, 3, None),
    "datediff": Function(3, 5, _datediff),
    "calcdate": Function(3, 3, _calcdate),
    "round": Function(1, 2, _rounding("round")),
    "roundup": Function(1, 2, _rounding("roundup")),
    "rounddown": Function(1, 2, _rounding("rounddown")),
    "sqrt": Function(1, 1, _unary_math(_sqrt)),
    "abs": Function(1, 1, _unary_math(abs)),
    "exponential": Function(1, 1, _unary_math(_exponential)),
    "log": Function(1, 2, _log),
    "mod": Function(2, 2, _mod),
    "min": Function(1, None, _aggregate(lambda numbers: min(numbers))),
    "max": Function(1, None, _aggregate(lambda numbers: max(numbers))),
    "mean": Function(1, None, _aggregate(_mean)),
    "median": Function(1, None, _aggregate(_median)),
    "sum": Function(1, None, _aggregate(_sum)),
    "stdev": Function(1, None, _aggregate(_stdev)),
    "isnumber": Function(1, 1, _isnumber),
    "isinteger": Function(1, 1, _isinteger),
    "contains": Function(2, 2, _contains),
    "not_contain": Function(2, 2, _not_contain),
    "starts_with": Function(2, 2, _starts_with),
    "ends_with": Function(2, 2, _ends_with),
    "find": Function(2, 2, _find),
    "left": Function(2, 2, _left),
    "right": Function(2, 2, _right),
    "mid": Function(3, 3, _mid),
    "length": Function(1, 1, _length),
    "concat": Function(1, None, _concat),
    "concat_ws": Function(2, None, _concat_ws),
    "upper": Function(1, 1, _text_map(str.upper)),
    "lower": Function(1, 1, _text_map(str.lower)),
    "trim": Function(1, 1, _text_map(lambda text: text.strip(TRIMMED))),
    "replace_text": Function(3, 3, _replace_text),
    "year": Function(1, 1, _date_part(lambda moment: moment.year)),
    "month": Function(1, 1, _date_part(lambda moment: moment.month)),
    "day": Function(1, 1, _date_part(lambda moment: moment.day)),
    "dayoftheweek": Function(1, 1, _date_part(lambda moment: moment.isoweekday())),
    "isblankormissingcode": Function(1, 1, _is_blank_or_missing_code),
    "isblanknotmissingcode": Function(1, 1, _is_blank_not_missing_code),
    "ismissingcode": Function(1, 1, _is_missing_code),
    "hasmissingcode": Function(1, 1, _is_missing_code),
}
