"""The public API of `opencrf.logic` (GRAMMAR.md §11)."""

from __future__ import annotations

import pytest

from opencrf.logic import (
    LogicError,
    LogicEvaluationError,
    LogicSyntaxError,
    check_syntax,
    evaluate,
    format_number,
    format_result,
    functions_used,
    parse,
    references,
)


def test_parse_returns_a_fresh_copy_each_time():
    first = parse("[a] + 1")
    first["op"] = "-"
    assert parse("[a] + 1")["op"] == "+"


def test_parse_gives_the_documented_shapes():
    assert parse("round([w], 1) > -2") == {
        "type": "binary",
        "op": ">",
        "left": {
            "type": "call",
            "name": "round",
            "args": [
                {
                    "type": "field",
                    "name": "w",
                    "code": None,
                    "event": None,
                    "instance": None,
                    "pos": 6,
                },
                {"type": "number", "value": 1, "pos": 11},
            ],
            "pos": 0,
        },
        "right": {
            "type": "unary",
            "op": "-",
            "operand": {"type": "number", "value": 2, "pos": 17},
            "pos": 16,
        },
        "pos": 14,
    }


def test_operators_are_normalised_and_names_lower_cased():
    ast = parse("ROUND(1) == 1 && 2 != 3 || true")
    assert ast["op"] == "or"
    assert ast["left"]["op"] == "and"
    assert ast["left"]["left"]["op"] == "="
    assert ast["left"]["left"]["left"]["name"] == "round"
    assert ast["left"]["right"]["op"] == "<>"


def test_references_name_every_event_and_field_read():
    ast = parse("[a] + [baseline_arm_1][b] + [previous-event-name][c(1)][2] + [record-name]")
    assert references(ast) == {(None, "a"), ("baseline_arm_1", "b"), ("previous-event-name", "c")}


def test_functions_used_names_every_call():
    assert functions_used(parse("if(round([a]) > 1, sum(1, max(2)), 0)")) == {
        "if",
        "round",
        "sum",
        "max",
    }


def test_check_syntax_gives_none_for_sound_logic():
    assert check_syntax("[age] >= 18") is None


def test_check_syntax_gives_the_position_of_the_fault():
    error = check_syntax("[a] = 1 and\n  (2")
    assert isinstance(error, LogicSyntaxError) and isinstance(error, LogicError)
    assert (error.message, error.offset, error.line, error.column) == (
        "expected `)` at line 2, column 5",
        16,
        2,
        5,
    )


def test_blank_logic_is_a_syntax_error_that_callers_treat_as_absent():
    with pytest.raises(LogicSyntaxError, match="the expression is empty"):
        parse("  ")


def test_evaluate_accepts_a_parsed_ast():
    assert evaluate(parse("[a] * 2"), {"a": "21"}, mode="calc") == 42


def test_calc_results_are_ints_when_integral():
    result = evaluate("5 / 2 * 2", {}, mode="calc")
    assert result == 5 and type(result) is int


def test_logic_results_are_booleans():
    assert evaluate("[a]", {"a": "2"}) is True


def test_values_that_are_not_strings_count_as_blank():
    assert evaluate("[a] = ''", {"a": None}) is True  # type: ignore[dict-item]


def test_today_defaults_to_the_real_clock():
    assert evaluate("datediff('today', 'now', 'd') < 1", {}) is True


def test_evaluation_errors_are_logic_errors():
    assert issubclass(LogicEvaluationError, LogicError)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-12.0, "-12"),
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (1.5e-7, "1.5e-7"),
        (123e-20, "1.23e-18"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (2.0**53, "9007199254740992"),
        (123456789.123, "123456789.123"),
        (-1.5e300, "-1.5e+300"),
        (float("inf"), "Infinity"),
        (float("nan"), "NaN"),
    ],
)
def test_numbers_are_formatted_like_javascript(number, text):
    assert format_number(number) == text


@pytest.mark.parametrize(
    ("result", "text"), [(True, "1"), (False, "0"), (3, "3"), (2.5, "2.5"), ("", ""), ("x", "x")]
)
def test_results_are_formatted_for_storage(result, text):
    assert format_result(result) == text
