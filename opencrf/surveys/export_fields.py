"""Survey fields in flat exports (REDCap's `exportSurveyFields=true`).

With surveys enabled, `redcap_survey_identifier` comes right after the identifier columns
(record id, event, repeat columns, group), and `<form>_timestamp` right before the first
exported column of each survey form. A timestamp is when the response was completed
(`YYYY-MM-DD HH:MM:SS`, server time), `[not completed]` for a response started and not
completed, blank otherwise and in rows the form does not belong to. The identifier is the
participant identifier of the record's invitation (the participant list), blank if none.

Records may not import surveys, so `records.export` calls this through its column
extension registry (`SurveysConfig.ready` registers `survey_fields`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from opencrf.dictionary.design import ProjectDesign
from opencrf.projects.models import Event, Project
from opencrf.records.export import (
    SURVEY_FIELDS_EXTENSION,
    SURVEY_IDENTIFIER_COLUMN,
    SURVEY_NOT_COMPLETED,
    Layout,
    StoredRecord,
)
from opencrf.surveys.models import Survey, SurveyResponse

EXTENSION = SURVEY_FIELDS_EXTENSION
SURVEY_IDENTIFIER = SURVEY_IDENTIFIER_COLUMN
NOT_COMPLETED = SURVEY_NOT_COMPLETED
IDENTIFIER_LABEL = "Survey Identifier"
TIMESTAMP_LABEL = "Survey Timestamp"


def timestamp_column(form_name: str) -> str:
    return f"{form_name}_timestamp"


def survey_timestamp(response: SurveyResponse | None) -> str:
    """A response's `<form>_timestamp` value."""
    if response is None:
        return ""
    return _timestamp(response.status, response.completed_at)


def _timestamp(status: str, completed_at: datetime | None) -> str:
    if status == SurveyResponse.Status.COMPLETED and completed_at is not None:
        return timezone.localtime(completed_at).strftime("%Y-%m-%d %H:%M:%S")
    if status == SurveyResponse.Status.PARTIAL:
        return NOT_COMPLETED
    return ""


class SurveyFields:
    """The survey columns of one export (a `records.export.ColumnExtension`)."""

    def __init__(self, project: Project, design: ProjectDesign, layout: Layout) -> None:
        self.project = project
        self.design = design
        self.layout = layout
        surveys = set(Survey.objects.filter(project=project).values_list("form_name", flat=True))
        exported = {c.form for c in layout.data if c.name != layout.record_field}
        # Survey forms in the project's order that have a column in this export.
        self.forms = [
            i.name for i in design.instruments if i.name in surveys and i.name in exported
        ]
        self._times: dict[tuple[int, int, str, int], str] = {}
        self._identifiers: dict[int, str] = {}
        self._loaded: set[int] = set()

    def positions(self, header: Sequence[str]) -> list[tuple[int, str, str]]:
        data = [c for c in self.layout.data if c.name != self.layout.record_field]
        keys = len(header) - len(data)  # record id, event, repeat and group columns
        found: list[tuple[int, str, str]] = [(keys, SURVEY_IDENTIFIER, IDENTIFIER_LABEL)]
        first_of: dict[str, int] = {}
        for offset, column in enumerate(data):
            first_of.setdefault(column.form, keys + offset)
        for form in self.forms:
            found.append((first_of[form], timestamp_column(form), TIMESTAMP_LABEL))
        found.sort(key=lambda item: item[0])  # stable: the identifier stays first
        return found

    def load(self, record_pks: Sequence[int]) -> None:
        """The responses of a chunk of records (the previous chunk's are let go)."""
        self._times, self._identifiers = {}, {}
        self._loaded = set(record_pks)
        self._read(record_pks)

    def _read(self, record_pks: Sequence[int]) -> None:
        if not record_pks:
            return
        rows = (
            SurveyResponse.objects.filter(project=self.project, record_id__in=record_pks)
            .order_by("pk")
            .values_list(
                "record_id",
                "event_id",
                "survey__form_name",
                "instance",
                "status",
                "completed_at",
                "participant__identifier",
            )
        )
        for record_pk, event_id, form, instance, status, completed_at, identifier in rows:
            self._times[(record_pk, event_id, form, instance)] = _timestamp(status, completed_at)
            if identifier and record_pk not in self._identifiers:
                self._identifiers[record_pk] = identifier

    def cells(
        self, record: StoredRecord, event: Event, repeat_form: str, instance: int | None
    ) -> list[str]:
        if record.pk not in self._loaded:  # a record without stored forms
            self._loaded.add(record.pk)
            self._read([record.pk])
        cells = [self._identifiers.get(record.pk, "")]
        repeating = self.design.repeating_at(event) if self.forms else set()
        whole_event = "" in repeating
        for form in self.forms:
            if not self.design.has_form(self.project, event, form):
                cells.append("")
                continue
            if whole_event:
                number = instance or 1
            elif repeat_form:
                number = instance or 1 if form == repeat_form else 0
            else:
                number = 0 if form in repeating else 1
            cells.append(self._times.get((record.pk, event.pk, form, number), "") if number else "")
        return cells


def survey_fields(project: Project, design: ProjectDesign, layout: Layout) -> SurveyFields | None:
    """The survey columns of an export; none when the project has surveys off."""
    if not project.surveys_enabled:
        return None
    return SurveyFields(project, design, layout)
