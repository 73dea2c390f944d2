"""OpenCRF's logic language: branching logic, calculations, `@CALCTEXT`, filters and rules.

The contract is `GRAMMAR.md` beside this file. A map of the package:

- `tokens` (lexer) → `references` (bracketed references) → `parser` → AST (`nodes`)
- `evaluator` walks the AST using `operators`, `functions`, `values`, `numbers` and `dates`
- `corpus` runs and compiles the example corpus shared with the JavaScript evaluator

Pure Python: nothing here imports Django, and nothing is ever passed to `eval`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from opencrf.logic.errors import LogicError, LogicEvaluationError, LogicSyntaxError
from opencrf.logic.evaluator import Evaluator, result
from opencrf.logic.nodes import Node, children
from opencrf.logic.numeric import format_number
from opencrf.logic.parser import parse_text

__all__ = [
    "LogicError",
    "LogicEvaluationError",
    "LogicSyntaxError",
    "Mode",
    "Node",
    "Session",
    "check_syntax",
    "evaluate",
    "evaluate_ast",
    "format_number",
    "format_result",
    "functions_used",
    "parse",
    "parse_shared",
    "references",
]

Mode: TypeAlias = Literal["logic", "calc", "text"]
Result: TypeAlias = bool | int | float | str


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Node:
    return parse_text(text)


def parse(text: str) -> Node:
    """The AST of `text` (a fresh copy the caller may keep or change).

    Raises LogicSyntaxError, also for blank text: callers treat blank logic as absent
    ("always shown", "no calculation") before parsing.
    """
    return copy.deepcopy(_parse_cached(text))


def parse_shared(text: str) -> Node:
    """The AST of `text` from the parse cache, shared by every caller: never modify it.

    For hot paths that evaluate many expressions on every save; `parse` gives a private copy.
    """
    return _parse_cached(text)


def check_syntax(text: str) -> LogicSyntaxError | None:
    """The syntax error of `text`, or None when it parses."""
    try:
        _parse_cached(text)
    except LogicSyntaxError as error:
        return error
    return None


def evaluate(
    expression: str | Node,
    values: Mapping[str, str],
    *,
    mode: Mode = "logic",
    **context: Any,
) -> Result:
    """Evaluate `expression` (text or AST) with the current form's `values`.

    `mode="logic"` gives a bool, `"calc"` a number or `""`, `"text"` a string. `context`
    holds the keys of GRAMMAR.md §6 (`record`, `event`, `events`, `instance`, `data`,
    `today`, `now`, `missing_codes`, …). Raises LogicSyntaxError or LogicEvaluationError.
    """
    ast = _parse_cached(expression) if isinstance(expression, str) else expression
    return evaluate_ast(ast, values, context, mode)


def evaluate_ast(
    ast: Node, values: Mapping[str, str], context: Mapping[str, Any], mode: Mode
) -> Result:
    """Evaluate a parsed AST; the lower-level form of `evaluate`."""
    return result(Evaluator(values, context).evaluate(ast), mode)


class Session:
    """Evaluate many expressions against one `values` mapping and one context.

    Saving a form evaluates every calculation and branching logic with the same data; a
    session prepares the context once. `values` may change between calls (a calculation's
    result is seen by the next one). Limits apply to each expression on its own.
    """

    def __init__(self, values: Mapping[str, str], context: Mapping[str, Any]) -> None:
        self._evaluator = Evaluator(values, context)

    def evaluate(self, ast: Node, mode: Mode = "logic") -> Result:
        self._evaluator.steps = 0
        self._evaluator.depth = 0
        return result(self._evaluator.evaluate(ast), mode)


def format_result(value: Result) -> str:
    """The text stored for a result: numbers as GRAMMAR.md §7, booleans `1`/`0`, blank `""`."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return format_number(float(value))
    return value


def _walk(ast: Node) -> list[Node]:
    """Every node of `ast`, without recursion (chains of operators may be long)."""
    found, stack = [], [ast]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(children(node))
    return found


def references(ast: Node) -> set[tuple[str | None, str]]:
    """The (event, field) pairs `ast` reads.

    `event` is None for the current event, a unique event name, or an event smart variable
    such as `previous-event-name`. A checkbox option `[f(1)]` is reported as field `f`.
    """
    found: set[tuple[str | None, str]] = set()
    for node in _walk(ast):
        if node["type"] == "field":
            event = node["event"]
            found.add((event["smart"] if isinstance(event, dict) else event, node["name"]))
    return found


def functions_used(ast: Node) -> set[str]:
    """The names of the functions `ast` calls."""
    return {node["name"] for node in _walk(ast) if node["type"] == "call"}
