"""Hostile input: clear errors, never a crash, a hang or code execution."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from opencrf.logic import (
    LogicEvaluationError,
    LogicSyntaxError,
    evaluate_ast,
    parse,
    references,
)
from opencrf.logic.errors import TOO_DEEP, TOO_LONG, TOO_MANY_STEPS

PACKAGE = Path(__file__).resolve().parents[1]


def test_ten_thousand_open_parentheses_give_a_depth_error():
    with pytest.raises(LogicSyntaxError, match=re.escape(TOO_DEEP)):
        parse("(" * 10_000)


def test_deeply_nested_balanced_parentheses_give_a_depth_error():
    with pytest.raises(LogicSyntaxError, match=re.escape(TOO_DEEP)):
        parse("(" * 4_999 + "1" + ")" * 4_999)


def test_twenty_thousand_characters_are_refused_before_parsing():
    with pytest.raises(LogicSyntaxError, match=re.escape(TOO_LONG)):
        parse("(" * 10_000 + "1" + ")" * 10_000)


def left_chain(length: int) -> dict:
    node: dict = {"type": "number", "value": 1, "pos": 0}
    for _ in range(length):
        node = {
            "type": "binary",
            "op": "+",
            "left": node,
            "right": {"type": "number", "value": 1, "pos": 0},
            "pos": 0,
        }
    return node


def test_long_operator_chains_are_walked_without_recursion():
    assert evaluate_ast(left_chain(20_000), {}, {}, "calc") == 20_001


def test_evaluation_stops_after_the_step_limit():
    with pytest.raises(LogicEvaluationError, match=re.escape(TOO_MANY_STEPS)):
        evaluate_ast(left_chain(60_000), {}, {}, "calc")


def test_a_hand_made_deep_ast_gives_an_evaluation_error_not_a_recursion_error():
    node: dict = {"type": "number", "value": 1, "pos": 0}
    for _ in range(5_000):
        node = {"type": "unary", "op": "-", "operand": node, "pos": 0}
    with pytest.raises(LogicEvaluationError, match=re.escape(TOO_DEEP)):
        evaluate_ast(node, {}, {}, "calc")


def test_references_of_a_long_chain_are_found_without_recursion():
    node = left_chain(20_000)
    node["right"] = {
        "type": "field",
        "name": "x",
        "code": None,
        "event": None,
        "instance": None,
        "pos": 0,
    }
    assert references(node) == {(None, "x")}


def test_unknown_node_types_and_functions_are_evaluation_errors():
    with pytest.raises(LogicEvaluationError, match="unknown node type `python`"):
        evaluate_ast({"type": "python", "pos": 0}, {}, {}, "logic")  # type: ignore[arg-type]
    call = {"type": "call", "name": "__import__", "args": [], "pos": 0}
    with pytest.raises(LogicEvaluationError, match="unknown function `__import__`"):
        evaluate_ast(call, {}, {}, "logic")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        "[__class__]",
        "eval('1')",
        "exec('1')",
        "().__class__",
        "open('x')",
    ],
)
def test_python_looking_input_is_a_syntax_error(text):
    with pytest.raises(LogicSyntaxError):
        parse(text)


def test_random_input_only_ever_raises_logic_errors():
    alphabet = [
        *list("[]()'\",.+-*/^=<>!&|# \n\t01239abcdefor_:"),
        "and ",
        "if(",
        "datediff(",
        "\x00",
        "а",
        "−",
    ]
    generator = random.Random(20260423)
    for _ in range(4_000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 40)))
        try:
            ast = parse(text)
        except LogicSyntaxError:
            continue
        for mode in ("logic", "calc", "text"):
            evaluate_ast(
                ast,
                {"a": "1", "b": "x"},
                {"today": "2026-04-23", "now": "2026-04-23 10:00:00"},
                mode,
            )


def test_the_package_never_calls_eval_exec_or_compile():
    pattern = re.compile(r"(?<![\w.])(eval|exec|compile|literal_eval|__import__)\(")
    for path in PACKAGE.glob("*.py"):
        assert not pattern.search(path.read_text(encoding="utf-8")), path.name


def test_the_package_imports_nothing_from_django():
    code = (
        "import sys, opencrf.logic.corpus;"
        "print(sorted(m for m in sys.modules if m.startswith('django')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"
