"""Survey texts in multi-language forms: each survey's title, instructions and completion text.

Registered with `dictionary.translations.register_items`, so they travel in the translation
file beside the dictionary's texts, with REDCap's type names.
"""

from __future__ import annotations

from collections.abc import Iterator

from opencrf.dictionary.translations import Item, Table
from opencrf.projects.models import Project
from opencrf.surveys.models import Survey

SURVEY_TITLE = "survey-title"
SURVEY_INSTRUCTIONS = "survey-instructions"
SURVEY_COMPLETION = "survey-acknowledgement"


def survey_items(project: Project) -> Iterator[Item]:
    for survey in Survey.objects.filter(project=project).order_by("id"):
        for kind, text in (
            (SURVEY_TITLE, survey.title),
            (SURVEY_INSTRUCTIONS, survey.instructions),
            (SURVEY_COMPLETION, survey.completion_text),
        ):
            if text.strip():
                yield Item(kind, survey.form_name, "", text)


def survey_text(table: Table, survey: Survey, kind: str, default: str) -> str:
    """One of the survey's texts in the page's language, or `default` (its base text)."""
    return table.get((kind, survey.form_name, ""), default)
