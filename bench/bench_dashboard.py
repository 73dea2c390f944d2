"""Time the Record Status Dashboard of a 10,000-record longitudinal project.

    python bench/bench_dashboard.py [--records 10000] [--runs 20]

Builds a throw-away longitudinal project in a temporary data folder (SQLite, or DATABASE_URL
when set): 8 instruments, 5 events with 4 instruments designated each (20 dashboard columns),
then 10,000 records with about half of their forms filled in (statuses mixed). Times the
dashboard through django.test.Client with production settings: the first page, a middle
page, the last page, and two searches. Target: ≤ 500 ms per page.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

from benchsetup import setup_django

DATA_DIR = setup_django()

import django  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from opencrf.accounts.models import User  # noqa: E402
from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.dictionary.columns import FieldRow  # noqa: E402
from opencrf.dictionary.services import dictionary_apply  # noqa: E402
from opencrf.projects.models import Project  # noqa: E402
from opencrf.projects.services import event_create, event_instruments_set, project_create  # noqa: E402
from opencrf.records.models import FormData, Record, RecordArm, record_sort_key  # noqa: E402
from opencrf.testing.auth import force_login_verified  # noqa: E402

FORMS = [f"form_{n}" for n in range(1, 9)]
EVENTS = 5
FORMS_PER_EVENT = 4


def dictionary() -> list[FieldRow]:
    rows = [FieldRow(field_name="record_id", form_name=FORMS[0], field_label="Record ID")]
    for form in FORMS:
        for n in range(1, 6):
            rows.append(FieldRow(field_name=f"{form}_q{n}", form_name=form, field_label=f"Q{n}"))
    return rows


def setup(records: int) -> tuple[User, Project, int]:
    call_command("migrate", verbosity=0)
    user = User.objects.create_user(username="bench", is_superuser=True)
    context = AuditContext(actor=user)
    project = project_create(context=context, title="Dashboard bench", is_longitudinal=True)
    dictionary_apply(context=context, project=project, rows=dictionary(), source="upload")
    arm = project.arms.get()
    for n in range(2, EVENTS + 1):
        event_create(context=context, arm=arm, name=f"Visit {n}")
    events = list(project.events.order_by("position", "id"))
    designations = [
        (event.pk, FORMS[(index + k) % len(FORMS)])
        for index, event in enumerate(events)
        for k in range(FORMS_PER_EVENT)
    ]
    event_instruments_set(
        context=context, project=project, designations=designations, known_forms=FORMS
    )
    # A benchmark fixture: rows written directly with bulk_create, without audit events.
    # Real writes go through records.services (record_create, form_save), which audit each one.
    with transaction.atomic():
        Record.objects.bulk_create(
            (
                Record(
                    project=project,
                    record_id=str(n),
                    sort_key=record_sort_key(str(n)),
                    created_by=user,
                )
                for n in range(1, records + 1)
            ),
            batch_size=2000,
        )
        pks = list(Record.objects.filter(project=project).values_list("pk", flat=True))
        RecordArm.objects.bulk_create(
            (RecordArm(record_id=pk, arm=arm) for pk in pks), batch_size=2000
        )
        forms = []
        for position, pk in enumerate(pks):
            for cell, (event_id, form_name) in enumerate(designations):
                if (position + cell) % 2:
                    continue  # about half of every record's forms have data
                forms.append(
                    FormData(
                        project=project,
                        record_id=pk,
                        event_id=event_id,
                        form_name=form_name,
                        values={f"{form_name}_q1": str(position)},
                        status=(position + cell) % 3,
                        version=1,
                        updated_by=user,
                    )
                )
        FormData.objects.bulk_create(forms, batch_size=5000)
    return user, project, len(forms)


class CountQueries:
    """Counts the queries run on the default connection inside the block."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> CountQueries:
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._wrapper.__exit__(*exc)

    def __len__(self) -> int:
        return self.count


def timed(action: Callable[[], object], runs: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(name: str, times: list[float], target: float = 500) -> str:
    ordered = sorted(times)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    median = statistics.median(times)
    verdict = "ok" if median <= target else "OVER TARGET"
    return (
        f"{name:<34} median {median:7.1f} ms   min {ordered[0]:7.1f}   p90 {p90:7.1f}   "
        f"max {ordered[-1]:7.1f}   ({verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    start = time.perf_counter()
    user, project, form_rows = setup(args.records)
    built = time.perf_counter() - start
    client = Client(HTTP_HOST="localhost")
    force_login_verified(client, user)  # both factors, as after the code step
    url = reverse("records:dashboard", args=(project.pk,))
    pages = -(-args.records // 50)
    cases = [
        ("first page", {}),
        (f"middle page ({pages // 2} of {pages})", {"page": str(pages // 2)}),
        (f"last page ({pages})", {"page": str(pages)}),
        ("search '123' (first page)", {"search": "123"}),
        ("search '9' (page 3)", {"search": "9", "page": "3"}),
    ]
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}, "
        f"django {django.get_version()}, database {connection.vendor}"
    )
    print(
        f"{args.records} records, {form_rows} form rows, {EVENTS} events × {FORMS_PER_EVENT} "
        f"forms = {EVENTS * FORMS_PER_EVENT} columns; fixture built in {built:.1f} s"
    )
    for name, params in cases:
        with CountQueries() as queries:
            response = client.get(url, params)
        assert response.status_code == 200, response.status_code
        rows = response.content.count(b"<tr data-record=")
        assert rows > 0, name
        times = timed(lambda params=params: client.get(url, params), args.runs)
        print(
            summary(name, times)
            + f"   {rows} rows, {len(queries)} queries, {len(response.content) / 1024:.0f} KiB"
        )


if __name__ == "__main__":
    main()
