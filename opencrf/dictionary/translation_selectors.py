"""Reads of multi-language forms: a project's translatable texts, languages and progress."""

from __future__ import annotations

from dataclasses import dataclass

from opencrf.dictionary.translation_models import ProjectLanguage
from opencrf.dictionary.translations import (
    Item,
    Key,
    design_items,
    event_items,
    extra_items,
    text_hash,
)
from opencrf.projects.models import Project


def project_items(project: Project) -> list[Item]:
    """Every translatable text of the project: the dictionary's, the arm and event names of a
    longitudinal project, then other apps'."""
    rows = [field.as_row() for field in project.fields.all()]
    labels = dict(project.instruments.values_list("name", "label"))
    return design_items(rows, labels) + _event_items(project) + extra_items(project)


def _event_items(project: Project) -> list[Item]:
    if not project.is_longitudinal:
        return []  # a classic project's one event is never shown by name
    arms = project.arms.order_by("number").values_list("number", "name")
    events = project.events.order_by("arm__number", "position", "id").values_list(
        "unique_name", "name"
    )
    return event_items(arms, events)


def translation_table(project: Project, code: str) -> dict[Key, str]:
    """The translations of one language, by key."""
    return {
        (kind, name, index): text
        for kind, name, index, text in project.translations.filter(language=code).values_list(
            "kind", "name", "index", "text"
        )
    }


@dataclass(frozen=True, slots=True)
class LanguageProgress:
    language: ProjectLanguage
    items: int
    translated: int
    outdated: int

    @property
    def percent(self) -> int:
        return 100 if not self.items else (100 * self.translated) // self.items


def language_progress(project: Project) -> list[LanguageProgress]:
    """Each language with how many of the design's texts it translates, and how many are stale."""
    items = {item.key: item for item in project_items(project)}
    found: dict[str, tuple[int, int]] = {}
    for language, kind, name, index, digest in project.translations.values_list(
        "language", "kind", "name", "index", "default_hash"
    ):
        item = items.get((kind, name, index))
        if item is None:
            continue
        translated, outdated = found.get(language, (0, 0))
        found[language] = (translated + 1, outdated + (digest != text_hash(item.default)))
    return [
        LanguageProgress(
            language,
            len(items),
            len(items) if language.is_base else found.get(language.code, (0, 0))[0],
            0 if language.is_base else found.get(language.code, (0, 0))[1],
        )
        for language in project.languages.all()
    ]
