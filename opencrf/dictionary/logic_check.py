"""Checking the logic written in a data dictionary: branching logic, calculations, action tags.

Every expression is parsed by the logic engine; a syntax error is reported with its column, and
a reference to a field the dictionary does not define is reported by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from django.utils.translation import gettext as _

from opencrf.dictionary.choices import checkbox_column, parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign
from opencrf.dictionary.problems import Problem, header_of
from opencrf.logic import LogicSyntaxError, parse, references

CALC_TAGS = ("@CALCTEXT", "@CALCDATE")


def logic_checker(rows: Sequence[FieldRow]) -> Callable[[str], str | None]:
    """For `check_dictionary`: the problem with one expression, or None when it is sound."""
    names = {row.field_name for row in rows}

    def check(text: str) -> str | None:
        try:
            ast = parse(text)
        except LogicSyntaxError as error:
            return _("The logic cannot be read: %(detail)s.") % {"detail": error.message}
        unknown = sorted({name for _event, name in references(ast)} - names)
        if unknown:
            return _("The logic refers to fields that do not exist: %(names)s.") % {
                "names": ", ".join(unknown)
            }
        return None

    return check


def action_tag_problems(
    rows: Sequence[FieldRow],
    *,
    row_numbers: Sequence[int] | None,
    tags_of: Callable[[str], dict[str, str]],
) -> list[Problem]:
    """Problems in the expressions of `@CALCTEXT(…)` and `@CALCDATE(…)` annotations."""
    check = logic_checker(rows)
    numbers = row_numbers or [index + 2 for index in range(len(rows))]
    problems = []
    for number, row in zip(numbers, rows, strict=True):
        for tag, argument in _calc_tags(tags_of(row.field_annotation)):
            message = check(argument) if argument.strip() else _("The tag has no expression.")
            if message:
                problems.append(
                    Problem(
                        number,
                        header_of("field_annotation"),
                        f"{tag}({argument})",
                        "logic_syntax",
                        message,
                    )
                )
    return problems


def _calc_tags(tags: dict[str, str]) -> Iterable[tuple[str, str]]:
    return ((tag, tags[tag]) for tag in CALC_TAGS if tag in tags)


def checkbox_columns(rows: Iterable[FieldRow]) -> set[str]:
    """Every `field___code` column the dictionary's checkboxes define."""
    return {
        checkbox_column(row.field_name, choice.code)
        for row in rows
        if row.field_type == "checkbox"
        for choice in parse_choices(row.select_choices_or_calculations)
    }


def logic_problem(design: ProjectDesign, text: str) -> str | None:
    """What is wrong with logic written against a project (a report filter, a survey queue
    condition), or None; a syntax error names its line and column, a missing field or event
    its name."""
    if not text.strip():
        return None
    try:
        ast = parse(text)
    except LogicSyntaxError as error:
        return _("The logic cannot be read at line %(line)s, column %(column)s: %(detail)s.") % {
            "line": error.line,
            "column": error.column,
            "detail": error.message,
        }
    names = {row.field_name for row in design.rows}
    names |= {f"{instrument.name}_complete" for instrument in design.instruments}
    unknown = sorted({name for _event, name in references(ast)} - names)
    if unknown:
        return _("The logic refers to fields that do not exist: %(names)s.") % {
            "names": ", ".join(unknown)
        }
    events = {event.unique_name for event in design.events}
    named = sorted(
        {e for e, _n in references(ast) if e and not e.endswith("-event-name") and e not in events}
    )
    if named:
        return _("The logic refers to events that do not exist: %(names)s.") % {
            "names": ", ".join(named)
        }
    return None
