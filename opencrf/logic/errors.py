"""Errors raised by the logic engine, their message templates and the engine's limits.

Messages are plain English; the Django layer translates them. Parse errors carry the position
of the fault: a 0-based `offset` and a 1-based `line` and `column` (in characters).
"""

from __future__ import annotations

MAX_LENGTH = 10_000
MAX_DEPTH = 64
MAX_TREE_DEPTH = 250
MAX_STEPS = 100_000

EMPTY = "the expression is empty"
TOO_LONG = "the expression is longer than 10,000 characters"
TOO_DEEP = "the expression is too deeply nested (more than 64 levels)"
TOO_COMPLEX = "the expression is too complex (its operators nest more than 250 levels deep)"
TOO_MANY_STEPS = "the expression takes more than 100,000 steps to evaluate"
UNEXPECTED_CHARACTER = "unexpected character {character} at {where}"
UNTERMINATED_STRING = "unterminated string starting at {where}"
UNCLOSED_BRACKET = "unclosed `[` at {where}"
NUMBER_TOO_LARGE = "the number at {where} is too large"
EXPECTED = "expected {what} at {where}"
UNEXPECTED = "unexpected {what} at {where}"
CHAINED_COMPARISON = "comparisons cannot be chained; use `and` at {where}"
UNKNOWN_FUNCTION = "unknown function `{name}` at {where}"
UNKNOWN_WORD = "unknown word `{name}` at {where}"
MISSING_CALL_PARENTHESIS = "expected `(` after `{name}` at {where}"
WRONG_ARGUMENT_COUNT = "`{name}` takes {expected}, not {given}, at {where}"
INVALID_FIELD_NAME = "`{name}` is not a valid field name at {where}"
INVALID_EVENT_NAME = "`{name}` is not a valid event name at {where}"
UNKNOWN_SMART_VARIABLE = "unknown smart variable `{name}` at {where}"
INVALID_INSTANCE = "`{name}` is not a valid instance at {where}"
INVALID_MODIFIER = "the `:{name}` modifier cannot be used in logic at {where}"
INVALID_CODE = "expected a checkbox code at {where}"
TOO_MANY_BRACKETS = "too many `[…]` parts in one reference at {where}"
UNKNOWN_NODE = "unknown node type `{name}`"
UNKNOWN_FUNCTION_AT_RUN_TIME = "unknown function `{name}`"


class LogicError(Exception):
    """Any error of the logic engine."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LogicSyntaxError(LogicError):
    """The expression text cannot be parsed."""

    def __init__(self, message: str, offset: int, line: int, column: int) -> None:
        super().__init__(message)
        self.offset = offset
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        return f"LogicSyntaxError({self.message!r}, offset={self.offset})"


class LogicEvaluationError(LogicError):
    """The expression parsed but cannot be evaluated (a limit was reached)."""


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset`; only `\\n` ends a line."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def where(text: str, offset: int) -> str:
    """`column 7`, or `line 2, column 7` when the expression has more than one line."""
    line, column = line_and_column(text, offset)
    return f"column {column}" if line == 1 else f"line {line}, column {column}"


def syntax_error(text: str, offset: int, template: str, **parts: object) -> LogicSyntaxError:
    """A LogicSyntaxError at `offset` whose message is `template` filled with `parts`."""
    line, column = line_and_column(text, offset)
    return LogicSyntaxError(
        template.format(where=where(text, offset), **parts), offset, line, column
    )
