"""The 18 columns of a REDCap data dictionary, and one row of it as a value.

A dictionary travels in two spellings of the same 18 columns: the API names
(`field_name`, …) and the headers REDCap's web UI writes (`Variable / Field Name`, …).
Both are accepted on upload; downloads use the UI headers, the API uses its names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Self

API_COLUMNS: tuple[str, ...] = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)

UI_HEADERS: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One row of a data dictionary: every value a string, `""` when empty."""

    field_name: str
    form_name: str
    section_header: str = ""
    field_type: str = "text"
    field_label: str = ""
    select_choices_or_calculations: str = ""
    field_note: str = ""
    text_validation_type_or_show_slider_number: str = ""
    text_validation_min: str = ""
    text_validation_max: str = ""
    identifier: str = ""
    branching_logic: str = ""
    required_field: str = ""
    custom_alignment: str = ""
    question_number: str = ""
    matrix_group_name: str = ""
    matrix_ranking: str = ""
    field_annotation: str = ""

    def as_dict(self) -> dict[str, str]:
        """The row keyed by API column name, in dictionary order."""
        return {name: getattr(self, name) for name in API_COLUMNS}

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(getattr(self, name) for name in API_COLUMNS)

    @classmethod
    def from_dict(cls, values: dict[str, str]) -> Self:
        """Build a row from API-named keys; missing keys are blank, unknown keys ignored."""
        return cls(**{name: str(values.get(name, "") or "") for name in API_COLUMNS})

    def replace(self, **changes: str) -> Self:
        return dataclasses.replace(self, **changes)


assert tuple(f.name for f in dataclasses.fields(FieldRow)) == API_COLUMNS
