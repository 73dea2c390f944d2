"""Counts of stored data for a draft's impact review, computed in SQL over the forms' JSON.

Every probe of one instrument is answered by one aggregate query over that instrument's form
rows (`json_extract` on SQLite, `->>` on PostgreSQL; keys and codes are query parameters), so
the review reads each touched instrument once however many fields it changes. Values that a
new type or validation would refuse are judged in Python, but only over the distinct values
stored, which SQL groups first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.draft_impact import SAMPLE_SIZE, Held, Probe
from opencrf.dictionary.form_logic import clock
from opencrf.logic import LogicError, evaluate, format_result, parse, references
from opencrf.projects.models import Project
from opencrf.records.models import FormData, Record
from opencrf.records.values import check_value

FORMS = FormData._meta.db_table
RECORDS = Record._meta.db_table


def _value_sql() -> str:
    """SQL for one key of `values` as text; takes the key (PostgreSQL) or path (SQLite)."""
    if connection.vendor == "postgresql":
        return '"values"->>%s'
    return 'json_extract("values", %s)'


def _key_param(key: str) -> str:
    return key if connection.vendor == "postgresql" else '$."' + key.replace('"', "") + '"'


def _condition(probe: Probe) -> tuple[str, list[Any]]:
    parts, params = [], []
    for key in probe.keys:
        if probe.code is None:
            parts.append(f"COALESCE({_value_sql()}, '') <> ''")
            params.append(_key_param(key))
        else:
            parts.append(f"{_value_sql()} = %s")
            params += [_key_param(key), probe.code]
    return "(" + " OR ".join(parts or ["1 = 0"]) + ")", params


class RecordsDraftData:
    def holding(self, project: Project, probes: Sequence[Probe]) -> list[Held]:
        by_form: dict[str, list[int]] = defaultdict(list)
        for index, probe in enumerate(probes):
            by_form[probe.form_name].append(index)
        found: dict[int, Held] = {}
        for form_name, indexes in by_form.items():
            found.update(self._holding_in_form(project, form_name, indexes, probes))
        return [found[index] for index in range(len(probes))]

    def _holding_in_form(
        self, project: Project, form_name: str, indexes: list[int], probes: Sequence[Probe]
    ) -> dict[int, Held]:
        columns, params = [], []
        for index in indexes:
            condition, condition_params = _condition(probes[index])
            columns.append(f"COUNT(DISTINCT CASE WHEN {condition} THEN record_id END)")
            columns.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)")
            params += condition_params * 2
        sql = (
            f"SELECT {', '.join(columns)} FROM {FORMS} "  # noqa: S608 (names from the ORM)
            "WHERE project_id = %s AND form_name = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, project.pk, form_name])
            counts = cursor.fetchone()
        held = {}
        for position, index in enumerate(indexes):
            records, values = counts[2 * position] or 0, counts[2 * position + 1] or 0
            sample = self._sample(project, probes[index]) if probes[index].want_sample else ()
            held[index] = Held(int(records), int(values), sample if values else ())
        return held

    def _sample(self, project: Project, probe: Probe) -> tuple[str, ...]:
        condition, params = _condition(probe)
        sql = (
            f"SELECT DISTINCT r.record_id, r.sort_key FROM {FORMS} f "  # noqa: S608
            f"JOIN {RECORDS} r ON r.id = f.record_id "
            f"WHERE f.project_id = %s AND f.form_name = %s AND {condition} "
            "ORDER BY r.sort_key, r.record_id LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [project.pk, probe.form_name, *params, SAMPLE_SIZE])
            return tuple(row[0] for row in cursor.fetchall())

    def failing(self, project: Project, old: FieldRow, new: FieldRow) -> Held:
        value_sql = _value_sql()
        sql = (
            f"SELECT v, COUNT(*) FROM (SELECT {value_sql} AS v FROM {FORMS} "  # noqa: S608
            "WHERE project_id = %s AND form_name = %s) stored "
            "WHERE v IS NOT NULL AND v <> '' GROUP BY v"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [_key_param(old.field_name), project.pk, old.form_name])
            stored = cursor.fetchall()
        bad = [value for value, _n in stored if check_value(new.field_name, value, new)]
        if not bad:
            return Held()
        values = sum(n for value, n in stored if value in set(bad))
        return Held(self._records_with(project, old, bad), values)

    def _records_with(self, project: Project, row: FieldRow, values: list[str]) -> int:
        found = set()
        key = row.field_name
        forms = FormData.objects.filter(project=project, form_name=row.form_name)
        wanted = set(values)
        for record_id, stored in forms.values_list("record_id", "values").iterator(2000):
            if stored.get(key) in wanted:
                found.add(record_id)
        return len(found)

    def calc_changes(self, project: Project, rows: Sequence[FieldRow], calc: FieldRow) -> Held:
        try:
            ast = parse(calc.select_choices_or_calculations)
        except LogicError:
            return Held()
        needed = {name for _event, name in references(ast)}
        forms = {row.form_name for row in rows if row.field_name in needed} | {calc.form_name}
        context = {
            **clock(),
            "events": [e.unique_name for e in project.events.order_by("position")],
            "project_id": project.pk,
        }
        records, values, sample = 0, 0, list[str]()
        for record_name, data in _record_data(project, forms):
            changed = _changed_results(calc, data, {**context, "record": record_name})
            if changed:
                records, values = records + 1, values + changed
                if len(sample) < SAMPLE_SIZE:
                    sample.append(record_name)
        return Held(records, values, tuple(sample))


def _record_data(
    project: Project, forms: set[str]
) -> Iterator[tuple[str, dict[str, dict[str, dict[str, str]]]]]:
    """Each record's stored values of `forms`, as the evaluator reads them, record by record."""
    rows = (
        FormData.objects.filter(project=project, form_name__in=forms)
        .order_by("record_id")
        .values_list("record_id", "record__record_id", "event__unique_name", "instance", "values")
    )
    current: int | None = None
    name, data = "", dict[str, dict[str, dict[str, str]]]()
    for key, record_name, event, instance, stored in rows.iterator(2000):
        if key != current:
            if current is not None:
                yield name, data
            current, name, data = key, record_name, dict[str, dict[str, dict[str, str]]]()
        data.setdefault(event, {}).setdefault(str(instance), {}).update(stored)
    if current is not None:
        yield name, data


def _changed_results(calc: FieldRow, data: dict[str, Any], context: dict[str, Any]) -> int:
    changed = 0
    for event, instances in data.items():
        for instance, values in instances.items():
            if calc.field_name not in values:
                continue
            try:
                result = format_result(
                    evaluate(
                        calc.select_choices_or_calculations,
                        values,
                        mode="calc",
                        event=event,
                        instance=int(instance),
                        data=data,
                        **context,
                    )
                )
            except LogicError:
                result = ""
            changed += result != values[calc.field_name]
    return changed
