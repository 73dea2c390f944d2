"""Records' answers to the online designer's questions about stored data (see
`dictionary.designer_data`): how many form instances an instrument holds, which choice codes
hold values, and what a calculation gives for one record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from opencrf.accounts.models import User
from opencrf.dictionary.choices import checkbox_column, parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.form_logic import clock
from opencrf.logic import evaluate, format_result
from opencrf.projects.models import Project
from opencrf.records.models import FormData
from opencrf.records.selectors import access_record, records_visible_to


class RecordsDesignerData:
    def form_counts(self, project: Project) -> dict[str, int]:
        counted = Counter(
            FormData.objects.filter(project=project).values_list("form_name", flat=True)
        )
        return dict(counted)

    def code_counts(self, project: Project, row: FieldRow) -> dict[str, int]:
        codes = [choice.code for choice in parse_choices(row.select_choices_or_calculations)]
        stored = FormData.objects.filter(project=project, form_name=row.form_name)
        counts: Counter[str] = Counter()
        for values in stored.values_list("values", flat=True).iterator():
            for code in codes:
                if _holds(values, row, code):
                    counts[code] += 1
        return dict(counts)

    def value_count(self, project: Project, row: FieldRow) -> int:
        stored = FormData.objects.filter(project=project, form_name=row.form_name)
        return sum(
            1
            for values in stored.values_list("values", flat=True).iterator()
            if _has_value(values, row)
        )

    def record_ids(self, user: User, project: Project, limit: int) -> list[str]:
        visible = records_visible_to(user, project).order_by("sort_key", "id")
        return list(visible.values_list("record_id", flat=True)[:limit])

    def calc_result(
        self,
        user: User,
        project: Project,
        record_id: str,
        event_name: str,
        rows: Sequence[FieldRow],
        expression: str,
    ) -> str:
        record = access_record(user, project, record_id)
        data: dict[str, dict[str, dict[str, str]]] = {}
        for form in FormData.objects.filter(record=record).select_related("event"):
            data.setdefault(form.event.unique_name, {}).setdefault(str(form.instance), {}).update(
                form.values
            )
        values = data.get(event_name, {}).get("1", {})
        context = {
            **clock(),
            "record": record.record_id,
            "event": event_name,
            "events": [event.unique_name for event in project.events.order_by("position")],
            "instance": 1,
            "data": data,
            "project_id": project.pk,
        }
        return format_result(evaluate(expression, values, mode="calc", **context))


def _has_value(values: dict[str, str], row: FieldRow) -> bool:
    """Whether a form holds an answer in the field: a ticked box of a checkbox, else any text."""
    if row.field_type != "checkbox":
        return values.get(row.field_name, "") != ""
    codes = parse_choices(row.select_choices_or_calculations)
    return any(values.get(checkbox_column(row.field_name, c.code)) == "1" for c in codes)


def _holds(values: dict[str, str], row: FieldRow, code: str) -> bool:
    if row.field_type == "checkbox":
        return values.get(checkbox_column(row.field_name, code)) == "1"
    return values.get(row.field_name) == code
