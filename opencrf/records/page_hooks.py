"""Extension points of the record pages, for apps that sit above records (surveys).

Records must not import those apps; they register here instead, from their AppConfig.ready():

- record page panels: HTML shown on a record's home page below its event grid;
- form notes: a note shown above a data entry form, which may also make the form read-only
  on that page (a completed survey response without the right to edit responses);
- field marks: small escaped HTML beside a field of a saved form (its query or comment thread,
  its source verification), keyed by field name.

Hooks are called in registration order; each gets the page's context as one frozen value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.safestring import SafeString

from opencrf.projects.models import Event, Project
from opencrf.projects.rights import Rights
from opencrf.records.models import FormData, Record


@dataclass(frozen=True)
class RecordPage:
    """A saved record's home page, as the user may see it."""

    request: HttpRequest
    project: Project
    record: Record
    rights: Rights
    events: Sequence[Event]


@dataclass(frozen=True)
class FormPlace:
    """One form instance of a saved record on the data entry page."""

    project: Project
    record: Record
    event: Event
    form_name: str
    instance: int
    rights: Rights
    stored: FormData | None


@dataclass(frozen=True)
class FormNote:
    """What a hook says about a form: escaped HTML to show, and whether it is read-only here."""

    html: SafeString
    readonly: bool = False


RecordPanel = Callable[[RecordPage], SafeString | None]
FormNoteHook = Callable[[FormPlace], FormNote | None]
FieldMarksHook = Callable[[FormPlace, Sequence[str]], Mapping[str, SafeString]]

_record_panels: list[RecordPanel] = []
_form_notes: list[FormNoteHook] = []
_field_marks: list[FieldMarksHook] = []


def record_panel_register(panel: RecordPanel) -> None:
    if panel not in _record_panels:
        _record_panels.append(panel)


def form_note_register(hook: FormNoteHook) -> None:
    if hook not in _form_notes:
        _form_notes.append(hook)


def record_panels(page: RecordPage) -> list[SafeString]:
    """The HTML of every registered panel that has something to show for this record."""
    return [html for panel in _record_panels if (html := panel(page))]


def field_marks_register(hook: FieldMarksHook) -> None:
    if hook not in _field_marks:
        _field_marks.append(hook)


def form_notes(place: FormPlace) -> list[FormNote]:
    return [note for hook in _form_notes if (note := hook(place)) is not None]


def field_marks(place: FormPlace, field_names: Sequence[str]) -> dict[str, list[SafeString]]:
    """Field name → the marks every registered hook gives it, for the form's fields."""
    marks: dict[str, list[SafeString]] = {}
    for hook in _field_marks:
        for name, html in hook(place, field_names).items():
            marks.setdefault(name, []).append(html)
    return marks
