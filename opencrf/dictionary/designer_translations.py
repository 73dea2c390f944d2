"""Multi-language forms in the designer's field editor: one field's texts in each language.

The editor shows, for every language but the base, the field's label, note, section header
and choice labels; saving the field saves them too, in the same transaction. Translations
change what pages show, not the design, so (as in REDCap) they apply at once, also in
production: only texts of fields and choices that exist in the live design can be given —
a field added in a draft gets its translations once the draft is applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.choices import choice_codes, parse_choice
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.translation_models import ProjectLanguage
from opencrf.dictionary.translation_selectors import project_items, translation_table
from opencrf.dictionary.translation_services import translations_set
from opencrf.dictionary.translations import (
    FIELD_ENUM,
    FIELD_HEADER,
    FIELD_LABEL,
    FIELD_NOTE,
    Key,
)
from opencrf.projects.models import Project

TEXT_KINDS = ((FIELD_LABEL, "label"), (FIELD_NOTE, "note"), (FIELD_HEADER, "header"))
PARTS = ("label", "note", "header", "choices")


@dataclass(frozen=True)
class LanguageTexts:
    """What the editor shows for one language: its inputs' names and current values."""

    language: ProjectLanguage
    label: str
    note: str
    header: str
    choices: str

    def input_name(self, part: str) -> str:
        return f"tr-{self.language.code}-{part}"


def translated_languages(project: Project) -> list[ProjectLanguage]:
    return list(project.languages.filter(is_base=False))


def editor_texts(project: Project, row: FieldRow | None) -> list[LanguageTexts]:
    """Each translated language's texts of the field (blank for a new field)."""
    found = []
    for language in translated_languages(project):
        table = translation_table(project, language.code) if row else {}
        name = row.field_name if row else ""
        choices = "\n".join(
            f"{index}, {text}"
            for (kind, field, index), text in table.items()
            if kind == FIELD_ENUM and field == name
        )
        found.append(
            LanguageTexts(
                language,
                label=table.get((FIELD_LABEL, name, ""), ""),
                note=table.get((FIELD_NOTE, name, ""), ""),
                header=table.get((FIELD_HEADER, name, ""), ""),
                choices=choices,
            )
        )
    return found


def save_field_texts(
    *, context: AuditContext, project: Project, row: FieldRow, posted: Mapping[str, str]
) -> None:
    """Save the posted translations of `row` (run in the field save's transaction)."""
    live = {item.key for item in project_items(project) if item.name == row.field_name}
    for language in translated_languages(project):
        prefix = f"tr-{language.code}-"
        if not any(key.startswith(prefix) for key in posted):
            continue
        texts: dict[Key, str] = {}
        for kind, part in TEXT_KINDS:
            key = (kind, row.field_name, "")
            if key in live:
                texts[key] = posted.get(prefix + part, "").strip()
        texts.update(_choice_texts(posted.get(prefix + "choices", ""), row, live, language))
        if texts:
            translations_set(context=context, project=project, code=language.code, texts=texts)


def _choice_texts(
    text: str, row: FieldRow, live: set[Key], language: ProjectLanguage
) -> dict[Key, str]:
    given: dict[Key, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        choice = parse_choice(line)
        key = (FIELD_ENUM, row.field_name, choice.code)
        if key not in live and choice.code in choice_codes(row.select_choices_or_calculations):
            continue  # a choice new in a draft: translated once the draft is applied
        if key not in live:
            raise InvalidInput(
                _(
                    "%(language)s, choice line %(line)d: the field has no choice with the "
                    "code “%(code)s”. Write each line as code, label."
                )
                % {"language": language.display_name, "line": number, "code": choice.code}
            )
        given[key] = choice.label
    # A live choice left out of the lines loses its translation.
    for key in live:
        if key[0] == FIELD_ENUM and key not in given:
            given[key] = ""
    return given
