from opencrf.logic import Session, parse, parse_shared


def test_a_session_sees_values_changed_between_expressions():
    values = {"a": "2"}
    session = Session(values, {})
    assert session.evaluate(parse("[a] * 3"), "calc") == 6
    values["a"] = "5"
    assert session.evaluate(parse("[a] > 4")) is True


def test_the_step_limit_applies_to_each_expression_of_a_session():
    session = Session({}, {})
    ast = parse("sum(" + ",".join(["1"] * 2000) + ")")
    assert [session.evaluate(ast, "calc") for _ in range(100)] == [2000] * 100


def test_the_shared_parse_is_the_cached_tree_and_parse_is_a_private_copy():
    text = "[x] + 1"
    assert parse_shared(text) is parse_shared(text)
    assert parse(text) == parse_shared(text)
    assert parse(text) is not parse_shared(text)
