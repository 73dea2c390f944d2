"""The logic a form page runs in the browser: parsed once here, evaluated by `form-logic.js`.

The page receives, as JSON (`json_script`), every field's branching logic and calculation as an
AST, the evaluation context, and which fields depend on which, so that a change re-evaluates
only what reads the changed field. Text is never sent for the browser to parse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.utils import timezone

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.rendering import parse_action_tags
from opencrf.logic import (
    LogicError,
    LogicSyntaxError,
    Node,
    Session,
    format_result,
    parse_shared,
    references,
)


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
        return parse_shared(text)
    except LogicSyntaxError:
        # The dictionary check refuses bad logic; an old revision may still hold some.
        return None


RecordData = dict[str, dict[str, dict[str, str]]]
"""A record's stored values as logic and piping read them (context `data`), in one shape:
`{unique event name: {instance number as text: {column: value}}}` — a non-repeating form is
instance "1"; checkbox options are their `field___code` columns."""


def record_data(forms: Iterable[tuple[str, int, Mapping[str, str]]]) -> RecordData:
    """The `data` of the logic context from (unique event name, instance, values) per form."""
    data: RecordData = {}
    for event_name, instance, values in forms:
        data.setdefault(event_name, {}).setdefault(str(instance), {}).update(values)
    return data


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


@dataclass(frozen=True)
class CompiledForm:
    """A form's parsed logic: (row, branching, calculation, mode) per field, and how many
    passes its calculations need (two only when one reads a calculation at or after it)."""

    fields: tuple[tuple[FieldRow, Node | None, Node | None, str], ...]
    passes: int

    @property
    def calculates(self) -> bool:
        return any(calc is not None for _row, _branching, calc, _mode in self.fields)


def compile_form(fields: Sequence[FieldRow]) -> CompiledForm:
    """The form's logic parsed once per process (rows are immutable, so the cache is safe):
    an import of many records parses each expression once."""
    return _compile_rows(tuple(fields))


@lru_cache(maxsize=256)
def _compile_rows(fields: tuple[FieldRow, ...]) -> CompiledForm:
    compiled = []
    for row in fields:
        expression, mode = calculation_of(row)
        compiled.append((row, _ast(row.branching_logic), _ast(expression), mode))
    calcs = [(row.field_name, c) for row, _branching, c, _mode in compiled if c is not None]
    names = [name for name, _calc in calcs]
    reads_later = any(
        name in names[position:]
        for position, (_name, calc) in enumerate(calcs)
        for _event, name in references(calc)
    )
    passes = 2 if reads_later else 1
    return CompiledForm(tuple(compiled), passes)


def evaluate_form(
    fields: Sequence[FieldRow], values: Mapping[str, str], context: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], dict[str, bool]]:
    """Server-side twin of the page: (calculated values, visibility) of a form's fields.

    Calculations run in dictionary order, each seeing the results before it; a second pass
    settles calculations that read a later one. Every save recomputes calculations this way,
    whatever the path (web, import, API), so stored results never depend on a browser.
    """
    form = compile_form(fields)
    full_context = {**clock(), **(context or {})}
    results = calculate_form(form, values, full_context)
    session = Session({**values, **results}, full_context)
    shown = {
        row.field_name: branching is None or _shown(session, branching)
        for row, branching, _calc, _mode in form.fields
    }
    return results, shown


def calculate_form(
    form: CompiledForm, values: Mapping[str, str], context: Mapping[str, Any]
) -> dict[str, str]:
    """The calculated values of a compiled form, as `evaluate_form` computes them; `context`
    must hold the `clock()` keys (an import reads the clock once for many records)."""
    current = dict(values)
    session = Session(current, context)
    results: dict[str, str] = {}
    for _pass in range(form.passes):
        for row, _branching, calc, mode in form.fields:
            if calc is not None:
                value = _calculate(session, calc, mode)
                results[row.field_name] = current[row.field_name] = value
    return results


def clock() -> dict[str, str]:
    """One reading of the server's clock for a whole form, so `today` cannot change mid-save."""
    now = timezone.localtime()
    return {"today": now.strftime("%Y-%m-%d"), "now": now.strftime("%Y-%m-%d %H:%M:%S")}


def _calculate(session: Session, calc: Node, mode: str) -> str:
    try:
        result = session.evaluate(calc, "calc" if mode == "calc" else "text")
    except LogicError:
        return ""
    return format_result(result)


def _shown(session: Session, branching: Node) -> bool:
    try:
        return bool(session.evaluate(branching, "logic"))
    except LogicError:
        return True  # a field whose logic cannot run stays visible rather than silently hidden
