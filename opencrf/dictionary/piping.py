"""Piping: `[field]`, `[field:label]`, `[field:value]` and smart variables inside labels.

REDCap replaces these references in field labels, notes, section headers and choice labels
with the record's data. The result is plain text: templates escape it like any label, so a
piped value can never become markup.

- `[field]` shows a choice field's label (a checkbox's checked labels, comma-separated) and any
  other field's value; `[field:value]` shows the stored code; `[field:label]` the label;
  `[field:checked]` / `[field:unchecked]` list a checkbox's checked or unchecked labels.
- `[event_name][field]` reads another event, from `data` (`{event: {field: value}}`).
- A blank value shows as `______`, as in REDCap, so a reader sees where data will appear.
- A bracket that names no field or smart variable is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from opencrf.dictionary.checks import CHOICE_TYPES
from opencrf.dictionary.choices import checkbox_column, parse_choices
from opencrf.dictionary.columns import FieldRow

BLANK = "______"
_YES_NO = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}
_REFERENCE = re.compile(
    r"\[(?:(?P<event>[a-z][a-z0-9_]*)\]\[)?"
    r"(?P<name>[a-z][a-z0-9_-]*)"
    r"(?::(?P<modifier>label|value|checked|unchecked))?\]"
)

Piper = Callable[[str], str]


def make_piper(
    fields: Mapping[str, FieldRow],
    values: Mapping[str, str],
    *,
    data: Mapping[str, Mapping[str, str]] | None = None,
    smart: Mapping[str, str] | None = None,
    choice_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> Piper:
    """A function that pipes the record's data into one text.

    `fields` are the project's dictionary rows by name (piping may read any instrument);
    `smart` maps smart variables such as `record-name` to their values; `choice_labels` can
    supply translated labels for yes/no and true/false.
    """
    yes_no = {**_YES_NO, **(choice_labels or {})}

    def replace(match: re.Match[str]) -> str:
        name, event = match["name"], match["event"]
        if smart is not None and event is None and name in smart:
            return smart[name] or BLANK
        row = fields.get(name)
        if row is None:
            return match[0]
        source = values if event is None else (data or {}).get(event, {})
        return _piped(row, source, match["modifier"] or "", yes_no) or BLANK

    def pipe(text: str) -> str:
        return _REFERENCE.sub(replace, text) if "[" in text else text

    return pipe


def _piped(
    row: FieldRow,
    values: Mapping[str, str],
    modifier: str,
    yes_no: Mapping[str, Mapping[str, str]],
) -> str:
    if row.field_type == "checkbox":
        return _checkbox_text(row, values, modifier)
    value = values.get(row.field_name, "")
    if modifier == "value" or not value:
        return value
    if row.field_type in CHOICE_TYPES:
        labels = {c.code: c.label for c in parse_choices(row.select_choices_or_calculations)}
        return labels.get(value, value)
    return str(yes_no.get(row.field_type, {}).get(value, value))


def _checkbox_text(row: FieldRow, values: Mapping[str, str], modifier: str) -> str:
    choices = parse_choices(row.select_choices_or_calculations)
    checked = [c for c in choices if values.get(checkbox_column(row.field_name, c.code)) == "1"]
    chosen = [c for c in choices if c not in checked] if modifier == "unchecked" else checked
    if modifier == "value":
        return ", ".join(c.code for c in chosen)
    return ", ".join(c.label for c in chosen)
