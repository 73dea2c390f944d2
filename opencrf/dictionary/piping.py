"""Piping: `[field]`, `[field:label]`, `[field:value]` and smart variables inside labels.

REDCap replaces these references in field labels, notes, section headers and choice labels
with the record's data. The result is plain text: templates escape it like any label, so a
piped value can never become markup.

- `[field]` shows a choice field's label (a checkbox's checked labels, comma-separated) and any
  other field's value; `[field:value]` shows the stored code; `[field:label]` the label;
  `[field:checked]` / `[field:unchecked]` list a checkbox's checked or unchecked labels.
- `[event_name][field]` reads another event's non-repeating data (instance 1) from `data`, in
  the logic context's shape (`{event: {instance: {field: value}}}`, `form_logic.record_data`).
- A blank value shows as `______`, as in REDCap, so a reader sees where data will appear.
- A bracket that names no field or smart variable is left as it is.

Live piping: a piper told which fields are on the page (`Piper.live_for`, which
`rendering.instrument_layout` calls with the form's own fields) wraps each reference to one of
them in `<span class="crf-pipe" data-pipe="field" data-pipe-mode="label|value|checked|
unchecked">`, carrying what `form-logic.js` (`pipeText`) needs to redo `_piped` in the browser
as the field changes. Such a text comes back as a SafeString in which everything else is
escaped here; a text without live references stays plain text for the template to escape.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

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

# Fields whose value the page has no input for: piped from the server only.
_NOT_LIVE = frozenset({"file", "descriptive"})


@dataclass(frozen=True)
class Piper:
    """Pipes the record's data into texts: call it for markup, `plain` for text only.

    `fields` are the project's dictionary rows by name (piping may read any instrument);
    `smart` maps smart variables such as `record-name` to their values; `yes_no` holds the
    labels of yes/no and true/false; `live` names the fields piped live (see the module).
    """

    fields: Mapping[str, FieldRow]
    values: Mapping[str, str]
    data: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    smart: Mapping[str, str] | None = None
    yes_no: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: _YES_NO)
    live: frozenset[str] = frozenset()

    def live_for(self, names: Iterable[str]) -> Piper:
        """This piper, piping the given fields live (those the page has an input for)."""
        rows = (self.fields.get(name) for name in names)
        live = {row.field_name for row in rows if row and row.field_type not in _NOT_LIVE}
        return dataclasses.replace(self, live=frozenset(live))

    def plain(self, text: str) -> str:
        """`text` with every reference replaced by plain text (for `<option>` and titles)."""
        return _REFERENCE.sub(self._text, text) if "[" in text else text

    def __call__(self, text: str) -> str:
        """`text` piped; a SafeString with live spans if it refers to a live field."""
        if "[" not in text or not any(map(self._is_live, _REFERENCE.finditer(text))):
            return self.plain(text)
        parts: list[str] = []
        position = 0
        for match in _REFERENCE.finditer(text):
            parts.append(escape(text[position : match.start()]))
            parts.append(self._span(match) if self._is_live(match) else escape(self._text(match)))
            position = match.end()
        parts.append(escape(text[position:]))
        return mark_safe("".join(parts))  # noqa: S308 - every part is escaped above

    def _is_live(self, match: re.Match[str]) -> bool:
        name = match["name"]
        return match["event"] is None and name in self.live and name not in (self.smart or {})

    def _text(self, match: re.Match[str]) -> str:
        name, event = match["name"], match["event"]
        if self.smart is not None and event is None and name in self.smart:
            return self.smart[name] or BLANK
        row = self.fields.get(name)
        if row is None:
            return match[0]
        source = self.values if event is None else self.data.get(event, {}).get("1", {})
        return _piped(row, source, match["modifier"] or "", self.yes_no) or BLANK

    def _span(self, match: re.Match[str]) -> SafeString:
        row = self.fields[match["name"]]
        choices = pipe_choices(row, self.yes_no)
        listed = json.dumps(choices, ensure_ascii=False) if choices else ""
        return format_html(
            '<span class="crf-pipe" data-pipe="{}" data-pipe-mode="{}" data-pipe-type="{}"{}>'
            "{}</span>",
            row.field_name,
            match["modifier"] or "label",
            row.field_type,
            format_html(' data-pipe-choices="{}"', listed) if listed else "",
            self._text(match),
        )


def make_piper(
    fields: Mapping[str, FieldRow],
    values: Mapping[str, str],
    *,
    data: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
    smart: Mapping[str, str] | None = None,
    choice_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> Piper:
    """A function that pipes the record's data into one text (see `Piper`).

    `choice_labels` can supply translated labels for yes/no and true/false.
    """
    yes_no = {**_YES_NO, **(choice_labels or {})}
    return Piper(fields, values, data or {}, smart, yes_no)


def pipe_choices(row: FieldRow, yes_no: Mapping[str, Mapping[str, str]]) -> list[list[str]]:
    """The [code, label] pairs `_piped` reads for a field: what the browser needs to redo it.

    A checkbox keeps every choice in order (its text lists them), each with the column its
    box is stored under as a third item; a dropdown or radio keeps one pair per code, as
    `_piped`'s lookup does (the last label of a repeated code wins).
    """
    if row.field_type == "checkbox":
        return [
            [c.code, c.label, checkbox_column(row.field_name, c.code)]
            for c in parse_choices(row.select_choices_or_calculations)
        ]
    if row.field_type in CHOICE_TYPES:
        labels = {c.code: c.label for c in parse_choices(row.select_choices_or_calculations)}
        return [[code, label] for code, label in labels.items()]
    return [[code, str(label)] for code, label in yes_no.get(row.field_type, {}).items()]


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
