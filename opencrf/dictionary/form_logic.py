"""The logic a form page runs in the browser: parsed once here, evaluated by `form-logic.js`.

The page receives, as JSON (`json_script`), every field's branching logic and calculation as an
AST, the evaluation context, and which fields depend on which, so that a change re-evaluates
only what reads the changed field. Text is never sent for the browser to parse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.rendering import parse_action_tags
from opencrf.logic import LogicSyntaxError, Node, parse, references


def calculation_of(row: FieldRow) -> tuple[str, str]:
    """(expression, mode) of a field's calculation; ("", "") when it has none."""
    if row.field_type == "calc":
        return row.select_choices_or_calculations, "calc"
    tags = parse_action_tags(row.field_annotation)
    if "@CALCTEXT" in tags:
        return tags["@CALCTEXT"], "text"
    if "@CALCDATE" in tags:
        return f"calcdate({tags['@CALCDATE']})", "text"
    return "", ""


def _ast(text: str) -> Node | None:
    if not text.strip():
        return None
    try:
        return parse(text)
    except LogicSyntaxError:
        # The dictionary check refuses bad logic; an old revision may still hold some.
        return None


def form_logic_spec(
    fields: Sequence[FieldRow], context: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The `crf-logic` JSON of one form: ASTs, context and the dependency map."""
    spec: dict[str, Any] = {}
    depends: dict[str, list[str]] = {}
    for row in fields:
        expression, mode = calculation_of(row)
        branching, calc = _ast(row.branching_logic), _ast(expression)
        if branching is None and calc is None:
            continue
        spec[row.field_name] = {
            "branching": branching,
            "calc": calc,
            "mode": mode,
            "type": row.field_type,
        }
        for ast in (branching, calc):
            for event, name in references(ast) if ast is not None else ():
                if event is None and row.field_name not in depends.setdefault(name, []):
                    depends[name].append(row.field_name)
    return {"fields": spec, "context": dict(context or {}), "depends": depends}
