"""The codebook: every field of a project's design as one printable, searchable listing.

REDCap's Codebook page, built from the same design snapshot data entry uses (`design_of`):
each instrument with the events it is designated to (longitudinal projects), then each of
its fields with every column of the data dictionary worth reading. Values are plain text;
templates escape them, so a label holding HTML is shown as text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from opencrf.dictionary.choices import checkbox_column, parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign
from opencrf.projects.models import Event, Project

ACTION_TAG = re.compile(r"@[A-Z][A-Z0-9_-]*")
CHOICE_TYPES = frozenset({"radio", "dropdown", "checkbox"})
BOOLEAN_CHOICES = {
    "yesno": (("1", "Yes"), ("0", "No")),
    "truefalse": (("1", "True"), ("0", "False")),
}


@dataclass(frozen=True)
class CodebookField:
    number: int  # the field's position in the whole project, from 1
    row: FieldRow
    variables: tuple[str, ...]  # the export columns: a checkbox has one per choice
    choices: tuple[tuple[str, str], ...]  # (code, label)
    calculation: str
    action_tags: tuple[str, ...]
    text: str  # everything searched, lower-cased

    @property
    def annotation_adds(self) -> bool:
        """Whether the annotation says more than the bare action tags listed."""
        return self.row.field_annotation.split() != list(self.action_tags)

    def matches(self, query: str) -> bool:
        return all(word in self.text for word in query.lower().split())


@dataclass(frozen=True)
class CodebookInstrument:
    name: str
    label: str
    events: tuple[Event, ...]
    fields: tuple[CodebookField, ...]


def codebook(project: Project, design: ProjectDesign, query: str = "") -> list[CodebookInstrument]:
    """The instruments in order with their fields; with `query`, only fields matching every
    word of it (in any column), and only instruments with such a field."""
    fields = _fields(design.rows)
    listing = []
    for instrument in design.instruments:
        chosen = tuple(f for f in fields if f.row.form_name == instrument.name and f.matches(query))
        if query and not chosen:
            continue
        events = tuple(
            event
            for event in design.events
            if project.is_longitudinal and instrument.name in design.designated.get(event.pk, ())
        )
        listing.append(CodebookInstrument(instrument.name, instrument.label, events, chosen))
    return listing


def _fields(rows: Sequence[FieldRow]) -> list[CodebookField]:
    return [_field(number, row) for number, row in enumerate(rows, start=1)]


def _field(number: int, row: FieldRow) -> CodebookField:
    kind = row.field_type
    if kind in CHOICE_TYPES:
        choices = tuple(
            (c.code, c.label) for c in parse_choices(row.select_choices_or_calculations)
        )
    else:
        choices = BOOLEAN_CHOICES.get(kind, ())
    variables = (
        tuple(checkbox_column(row.field_name, code) for code, _label in choices)
        if kind == "checkbox"
        else (row.field_name,)
    )
    calculation = row.select_choices_or_calculations if kind == "calc" else ""
    tags = tuple(dict.fromkeys(ACTION_TAG.findall(row.field_annotation)))
    text = " ".join(
        [*row.as_tuple(), *variables, *(f"{code} {label}" for code, label in choices)]
    ).lower()
    return CodebookField(number, row, variables, choices, calculation, tags, text)
