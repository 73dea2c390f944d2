"""Survey fields in reports and export files: `redcap_survey_identifier` and each survey
form's `<form>_timestamp` (REDCap's report option "Include the survey identifier field and
survey timestamp fields", and the checkbox of its export dialog).

The columns themselves come from surveys, through the column extension registry of
`records.export` (exports may not import surveys): the same cells, in the same places, as the
API's `exportSurveyFields=true`. This module keeps what the de-identification allows — the
identifier is a participant's own label, removed with the identifier fields; the timestamps
are dates, removed with the dates — and types them: the identifier a string, a timestamp a
datetime whose `[not completed]` is a missing value in the formats that type their columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from opencrf.dictionary.design import ProjectDesign
from opencrf.exports.deidentify import Deidentify
from opencrf.projects.models import Event, Project
from opencrf.records.export import (
    SURVEY_FIELDS_EXTENSION,
    SURVEY_IDENTIFIER_COLUMN,
    SURVEY_NOT_COMPLETED,
    ColumnExtension,
    Layout,
    StoredRecord,
    column_extension,
)

TIMESTAMP_SUFFIX = "_timestamp"


def is_identifier(name: str) -> bool:
    return name == SURVEY_IDENTIFIER_COLUMN


class SurveyColumns:
    """The survey extension's columns that `deidentify` keeps (a `ColumnExtension`)."""

    def __init__(self, inner: ColumnExtension, layout: Layout, deidentify: Deidentify) -> None:
        self.inner = inner
        found = inner.positions(layout.base_header)
        self.keep = [
            not deidentify.remove_identifiers
            if is_identifier(name)
            else not deidentify.remove_dates
            for _at, name, _label in found
        ]

    def positions(self, header: Sequence[str]) -> list[tuple[int, str, str]]:
        found = self.inner.positions(header)
        return [added for added, kept in zip(found, self.keep, strict=True) if kept]

    def load(self, record_pks: Sequence[int]) -> None:
        self.inner.load(record_pks)

    def cells(
        self, record: StoredRecord, event: Event, repeat_form: str, instance: int | None
    ) -> list[str]:
        cells = self.inner.cells(record, event, repeat_form, instance)
        return [cell for cell, kept in zip(cells, self.keep, strict=True) if kept]


def survey_columns(
    project: Project, design: ProjectDesign, layout: Layout, deidentify: Deidentify
) -> SurveyColumns | None:
    """The survey columns of an export of `layout`; None when the project has surveys off or
    the de-identification leaves none."""
    if deidentify.remove_identifiers and deidentify.remove_dates:
        return None
    inner = column_extension(SURVEY_FIELDS_EXTENSION, project, design, layout)
    if inner is None:
        return None
    columns = SurveyColumns(inner, layout, deidentify)
    return columns if any(columns.keep) else None


def identifier_label() -> str:
    return _("Survey Identifier")


def timestamp_label() -> str:
    return _("Survey Timestamp")


def timestamp_form(name: str) -> str:
    return name.removesuffix(TIMESTAMP_SUFFIX)


NOT_COMPLETED = SURVEY_NOT_COMPLETED
