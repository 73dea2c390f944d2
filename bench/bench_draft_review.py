"""Time the impact review of a production draft (target: 5,000 fields, 100,000 records ≤ 10 s).

    python bench/bench_draft_review.py [--records 100000] [--fields 5000] [--data-forms 3]

Builds a project of `--fields` fields in forms of 100 fields (text with integer validation,
radios, checkboxes, one calculation per form) and `--records` records, each with stored
values in the first `--data-forms` forms (about 100 values a form). The draft then touches
the first two forms — 20 fields removed, a code removed from 10 radios and 10 checkboxes,
11 integer fields changed to number_1dp validation, each calculation changed — and
relabels a field of every other form. `draft_review` is timed (median of `--runs`), with
the count of changes and of critical ones. Uses the embedded SQLite database in a scratch
folder, or DATABASE_URL if set (an empty database: the script creates its user and project).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from benchsetup import setup_django

setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from opencrf.accounts.models import User  # noqa: E402
from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.dictionary.columns import FieldRow  # noqa: E402
from opencrf.dictionary.draft_impact import review_rows  # noqa: E402
from opencrf.dictionary.services import dictionary_apply  # noqa: E402
from opencrf.projects.models import Project  # noqa: E402
from opencrf.projects.services import project_create  # noqa: E402
from opencrf.records.models import FormData, Record  # noqa: E402

PER_FORM = 100
CHOICES = "1, One | 2, Two | 3, Three"


def form_rows(form: int) -> list[FieldRow]:
    name = f"form_{form:03d}"
    rows = [FieldRow(field_name="record_id", form_name=name)] if form == 0 else []
    for index in range(len(rows), PER_FORM):
        field = f"f{form:03d}_{index:03d}"
        kind = index % 10
        if kind < 6:
            rows.append(
                FieldRow(
                    field_name=field,
                    form_name=name,
                    field_label=f"Field {field}",
                    text_validation_type_or_show_slider_number="integer",
                )
            )
        elif kind < 8:
            rows.append(
                FieldRow(
                    field_name=field,
                    form_name=name,
                    field_type="radio",
                    select_choices_or_calculations=CHOICES,
                )
            )
        elif kind == 8:
            rows.append(
                FieldRow(
                    field_name=field,
                    form_name=name,
                    field_type="checkbox",
                    select_choices_or_calculations=CHOICES,
                )
            )
        else:
            rows.append(FieldRow(field_name=field, form_name=name, field_label="note"))
    calc = f"f{form:03d}_calc"
    rows.append(
        FieldRow(
            field_name=calc,
            form_name=name,
            field_type="calc",
            select_choices_or_calculations=f"[f{form:03d}_001] + 1",
        )
    )
    return rows


def form_values(rows: list[FieldRow], number: int) -> dict[str, str]:
    values: dict[str, str] = {}
    for row in rows:
        if row.field_name == "record_id":
            values["record_id"] = str(number)
        elif row.field_type == "checkbox":
            for code in ("1", "2", "3"):
                values[f"{row.field_name}___{code}"] = "1" if (number + int(code)) % 3 == 0 else "0"
        elif row.field_type == "radio":
            values[row.field_name] = str(number % 3 + 1)
        elif row.field_type == "calc":
            continue
        elif row.text_validation_type_or_show_slider_number == "integer":
            values[row.field_name] = str(number % 120)
        else:
            values[row.field_name] = f"text {number}"
    first = next(row for row in rows if row.field_name.endswith("_001"))
    calc = next(row for row in rows if row.field_type == "calc")
    values[calc.field_name] = str(int(values[first.field_name]) + 1)
    return values


def build(records: int, fields: int, data_forms: int) -> tuple[Project, list[FieldRow]]:
    call_command("migrate", verbosity=0)
    user = User.objects.create_user(username="bench")
    context = AuditContext(actor=user)
    project = project_create(context=context, title="Draft review bench")
    forms = [form_rows(form) for form in range(fields // PER_FORM)]
    rows = [row for form in forms for row in form]
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    event = project.events.get()
    started = time.perf_counter()
    batch = 5000
    for start in range(0, records, batch):
        numbers = range(start + 1, min(start + batch, records) + 1)
        created = Record.objects.bulk_create(
            Record(project=project, record_id=str(n), sort_key=f"{n:020d}") for n in numbers
        )
        FormData.objects.bulk_create(
            FormData(
                project=project,
                record=record,
                event=event,
                form_name=f"form_{form:03d}",
                values=form_values(forms[form], n),
            )
            for record, n in zip(created, numbers, strict=True)
            for form in range(data_forms)
        )
    print(
        f"stored {records:,} records x {data_forms} forms in {time.perf_counter() - started:.0f} s"
    )
    return project, rows


def draft_of(rows: list[FieldRow]) -> list[FieldRow]:
    """The draft: changes in form_000 and form_001, a relabel in every other form."""
    draft = []
    for row in rows:
        form, index = row.form_name, row.field_name.rsplit("_", 1)[-1]
        touched = form in ("form_000", "form_001")
        number = int(index) if index.isdigit() else -1
        if touched and number >= 0 and number % 10 == 9:
            continue  # removed: 10 text fields a form
        if touched and row.field_type in ("radio", "checkbox") and number % 20 in (6, 8):
            row = row.replace(select_choices_or_calculations="1, One | 2, Two")
        if touched and row.text_validation_type_or_show_slider_number == "integer" and number < 10:
            row = row.replace(text_validation_type_or_show_slider_number="number_1dp")
        if touched and row.field_type == "calc":
            row = row.replace(
                select_choices_or_calculations=row.select_choices_or_calculations + " * 2"
            )
        if not touched and number == 1:
            row = row.replace(field_label="Relabelled")
        draft.append(row)
    return draft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--fields", type=int, default=5_000)
    parser.add_argument("--data-forms", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    project, rows = build(args.records, args.fields, args.data_forms)
    draft = draft_of(rows)
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, {connection.vendor}, "
        f"{len(rows):,} fields, {args.records:,} records, "
        f"{FormData.objects.filter(project=project).count():,} form rows"
    )
    phases = _time_phases()
    times = []
    for _run in range(args.runs):
        started = time.perf_counter()
        review = review_rows(project, rows, draft)
        times.append(time.perf_counter() - started)
    critical = sum(change.critical for change in review.changes)
    by_kind: dict[str, int] = {}
    for change in review.changes:
        by_kind[change.kind] = by_kind.get(change.kind, 0) + 1
    print(f"changes {len(review.changes)} ({critical} critical): {by_kind}")
    print(f"review: median {statistics.median(times):.2f} s, min {min(times):.2f} s")
    shares = ", ".join(f"{name} {total / args.runs:.2f} s" for name, total in phases.items())
    print(f"per run: {shares}")


def _time_phases() -> dict[str, float]:
    """Wrap the stored-data questions of the review so each run reports where time goes."""
    from opencrf.dictionary.draft_impact import draft_data

    data = draft_data()
    totals = {"holding": 0.0, "failing": 0.0, "calc_changes": 0.0}
    for name in totals:
        method = getattr(data, name)

        def timed(*args: object, _method: object = method, _name: str = name) -> object:
            started = time.perf_counter()
            try:
                return _method(*args)  # type: ignore[operator]
            finally:
                totals[_name] += time.perf_counter() - started

        setattr(data, name, timed)
    return totals


if __name__ == "__main__":
    main()
