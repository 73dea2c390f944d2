"""A project's design, read once and kept by each process until it changes.

Every data-entry request needs the project's events, designations, repeat settings, instruments
and fields; they change rarely (a design change) while data changes all day. `design_of` keeps
one immutable snapshot per project, keyed on the project row's `design_version`, which every
design service raises in the transaction that changes the design (`projects.services.
design_changed`). Each request reads the project row anyway, so a process sees a newer version
as soon as it is committed, whatever process committed it, and builds a new snapshot.

Snapshots are stored only when built outside a transaction: inside one, the rows read might
still be rolled back (and the version with them), so that snapshot serves its caller only.
The transaction a test case wraps around each test does not count (as for Django's own
`durable` check), so the whole suite runs with the cache on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.models import Instrument
from opencrf.dictionary.translations import Table, language_matches, translate_rows
from opencrf.projects.models import Event, Project, RepeatSetting

MAX_PROJECTS = 128


@dataclass(frozen=True)
class ProjectDesign:
    """Events (arm, position order), instruments and fields of one project at one version.

    Shared between requests and threads: never modify it or the model instances it holds.
    """

    events: tuple[Event, ...]
    instruments: tuple[Instrument, ...]
    designated: Mapping[int, frozenset[str]]
    repeats: Mapping[tuple[int, str], str]
    rows: tuple[FieldRow, ...]
    # Multi-language forms: the dictionary's own language, and each other language's texts.
    base_language: str = ""
    translations: Mapping[str, Table] = field(default_factory=dict)

    @property
    def record_id_field(self) -> str:
        """The project's first field, which holds the record id."""
        return self.rows[0].field_name if self.rows else ""

    def form_rows(self, form_name: str) -> list[FieldRow]:
        return [row for row in self.rows if row.form_name == form_name]

    def texts_in(self, language: str | None) -> Table:
        """The translated texts for `language` (a page's language), empty when it is the base
        language or one the project does not have: the dictionary's own texts then apply."""
        if not language or not self.translations:
            return {}
        if self.base_language.lower() == language.lower():
            return {}
        exact = self.translations.get(language) or next(
            (
                table
                for code, table in self.translations.items()
                if code.lower() == language.lower()
            ),
            None,
        )
        if exact is not None:
            return exact
        if self.base_language and language_matches(self.base_language, language):
            return {}
        return next(
            (
                table
                for code, table in self.translations.items()
                if language_matches(code, language)
            ),
            {},
        )

    def shown_rows(self, rows: Iterable[FieldRow], language: str | None) -> list[FieldRow]:
        """`rows` as a page in `language` shows them: translated texts, base texts otherwise."""
        return translate_rows(rows, self.texts_in(language))

    def instrument_label(self, instrument: Instrument, language: str | None) -> str:
        return self.texts_in(language).get(("form-name", instrument.name, ""), instrument.label)

    def events_of_arm(self, arm_id: int) -> list[Event]:
        return [event for event in self.events if event.arm_id == arm_id]

    def has_form(self, project: Project, event: Event, form_name: str) -> bool:
        """Whether the event collects the form (a classic project's event has every form)."""
        if project.is_longitudinal:
            return form_name in self.designated.get(event.pk, frozenset())
        return any(instrument.name == form_name for instrument in self.instruments)

    def repeats_form(self, event: Event, form_name: str) -> bool:
        """Whether the form repeats at the event, on its own or as part of a repeating event."""
        return (event.pk, form_name) in self.repeats or (event.pk, "") in self.repeats

    def repeating_at(self, event: Event) -> set[str]:
        """The repeat settings of an event: form names, or "" when the whole event repeats."""
        return {form for event_id, form in self.repeats if event_id == event.pk}


_Key = tuple[int, datetime, int]
_cache: OrderedDict[_Key, ProjectDesign] = OrderedDict()
_lock = threading.Lock()


def design_of(project: Project) -> ProjectDesign:
    """The design of `project` at the version its row says, from this process's cache if kept."""
    key = (project.pk, project.created_at, project.design_version)
    with _lock:
        design = _cache.get(key)
        if design is not None:
            _cache.move_to_end(key)
            return design
    design = _read(project)
    if _reads_are_committed():
        with _lock:
            _cache[key] = design
            while len(_cache) > MAX_PROJECTS:
                _cache.popitem(last=False)
    return design


def _reads_are_committed() -> bool:
    """Whether no transaction of ours is open, so what was read cannot be rolled back."""
    return all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def forget_designs() -> None:
    """Drop every kept design (tests; a process never needs to)."""
    with _lock:
        _cache.clear()


def _read(project: Project) -> ProjectDesign:
    events = tuple(project.events.select_related("arm").order_by("arm__number", "position", "id"))
    designated: dict[int, set[str]] = {event.pk: set() for event in events}
    for event_id, form_name in project.events.values_list("id", "instruments__form_name"):
        if form_name:
            designated[event_id].add(form_name)
    repeats = {
        (event_id, form): label
        for event_id, form, label in RepeatSetting.objects.filter(
            event__project=project
        ).values_list("event_id", "form_name", "custom_label")
    }
    languages = list(project.languages.values_list("code", "is_base"))
    translations: dict[str, dict[tuple[str, str, str], str]] = {
        code: {} for code, is_base in languages if not is_base
    }
    if translations:
        for language, kind, name, index, text in project.translations.values_list(
            "language", "kind", "name", "index", "text"
        ):
            if language in translations:
                translations[language][(kind, name, index)] = text
    return ProjectDesign(
        base_language=next((code for code, is_base in languages if is_base), ""),
        translations=translations,
        events=events,
        instruments=tuple(project.instruments.all()),
        designated={event_id: frozenset(forms) for event_id, forms in designated.items()},
        repeats=repeats,
        rows=tuple(field.as_row() for field in project.fields.all()),
    )
