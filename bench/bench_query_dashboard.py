"""Time the query dashboard of a project holding 10,000 queries.

    python bench/bench_query_dashboard.py [--queries 10000] [--records 2000] [--runs 30]

Builds a throw-away longitudinal project in a temporary data folder (SQLite, or DATABASE_URL
when set): 6 instruments of 10 fields, 4 events, 4 data access groups, `--records` records
spread over the groups, then `--queries` queries on their fields with one to four thread steps
each (statuses, users, categories, forms and ages up to a year all mixed; a quarter are closed
or verified). Times the dashboard's server time through django.test.Client with production
settings — the first page and filtered pages as a monitor who sees every site, and the first
page as a site coordinator who sees one — and prints the median and p95 of `--runs` runs.
Target (issue 17): ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from benchsetup import setup_django

DATA_DIR = setup_django()

import django  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from opencrf.accounts.models import User  # noqa: E402
from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.dictionary.columns import FieldRow  # noqa: E402
from opencrf.dictionary.services import dictionary_apply  # noqa: E402
from opencrf.projects.models import (  # noqa: E402
    Arm,
    DataAccessGroup,
    Event,
    Project,
    ProjectMember,
)
from opencrf.projects.services import (  # noqa: E402
    event_create,
    event_instruments_set,
    group_create,
    project_create,
)
from opencrf.quality.query_models import Query, QueryStep  # noqa: E402
from opencrf.records.models import Record, RecordArm, record_sort_key  # noqa: E402
from opencrf.testing.auth import force_login_verified  # noqa: E402

FORMS = [f"form_{n}" for n in range(1, 7)]
FIELDS = 10
EVENTS = 4
GROUPS = 4
STATUSES = ["open"] * 5 + ["responded"] * 2 + ["closed", "verified"]
CATEGORIES = ["", "Missing value", "Out of range", "Inconsistent", "Other"]
THREADS = {
    "open": ["open"],
    "responded": ["open", "respond"],
    "closed": ["open", "respond", "close"],
    "verified": ["open", "respond", "close", "verify"],
}


def dictionary() -> list[FieldRow]:
    rows = [FieldRow(field_name="record_id", form_name=FORMS[0], field_label="Record ID")]
    for form in FORMS:
        for n in range(1, FIELDS + 1):
            label = f"<b>Question {n}</b> of {form}"
            rows.append(FieldRow(field_name=f"{form}_q{n}", form_name=form, field_label=label))
    return rows


def setup(records: int, queries: int) -> tuple[Project, User, User]:
    """The project; a monitor of every site and a coordinator of the first site."""
    call_command("migrate", verbosity=0)
    admin = User.objects.create_user(username="bench", is_superuser=True)
    context = AuditContext(actor=admin)
    project = project_create(context=context, title="Query dashboard bench", is_longitudinal=True)
    dictionary_apply(context=context, project=project, rows=dictionary(), source="upload")
    arm = project.arms.get()
    for n in range(2, EVENTS + 1):
        event_create(context=context, arm=arm, name=f"Visit {n}")
    events = list(project.events.order_by("position", "id"))
    event_instruments_set(
        context=context,
        project=project,
        designations=[(event.pk, form) for event in events for form in FORMS],
        known_forms=FORMS,
    )
    groups = [
        group_create(context=context, project=project, name=f"Site {n}") for n in range(GROUPS)
    ]
    people = [User.objects.create_user(username=f"user_{n}") for n in range(6)]
    monitor, coordinator = people[0], people[1]
    every_form = dict.fromkeys(FORMS, "read")
    ProjectMember.objects.create(
        project=project, user=monitor, data_resolution="open_close_respond", form_rights=every_form
    )
    ProjectMember.objects.create(
        project=project,
        user=coordinator,
        group=groups[0],
        data_resolution="respond",
        form_rights=every_form,
    )
    plant(project, arm, events, groups, people, records, queries)
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load; without statistics the planner takes
        # 10,000 fresh rows for a handful and joins a site's records row by row.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return project, monitor, coordinator


def plant(
    project: Project,
    arm: Arm,
    events: list[Event],
    groups: list[DataAccessGroup],
    people: list[User],
    records: int,
    queries: int,
) -> None:
    # A benchmark fixture: rows written directly with bulk_create, without audit events.
    # Real queries are opened and answered through the query services, which audit each step.
    pick = random.Random(17)
    now = timezone.now()
    with transaction.atomic():
        Record.objects.bulk_create(
            (
                Record(
                    project=project,
                    record_id=str(n),
                    sort_key=record_sort_key(str(n)),
                    group=groups[n % GROUPS],
                    created_by=people[0],
                )
                for n in range(1, records + 1)
            ),
            batch_size=2000,
        )
        pks = list(Record.objects.filter(project=project).values_list("pk", flat=True))
        RecordArm.objects.bulk_create(RecordArm(record_id=pk, arm=arm) for pk in pks)
        rows = []
        for _ in range(queries):
            status = pick.choice(STATUSES)
            form = pick.choice(FORMS)
            opened = now - timedelta(days=pick.uniform(0, 365))
            took = timedelta(days=pick.uniform(0, 60))
            closed = min(now, opened + took) if status in ("closed", "verified") else None
            rows.append(
                Query(
                    project=project,
                    record_id=pick.choice(pks),
                    event=pick.choice(events),
                    form_name=form,
                    field_name=f"{form}_q{pick.randint(1, FIELDS)}",
                    status=status,
                    category=pick.choice(CATEGORIES),
                    assigned_to=pick.choice([None, *people]),
                    opened_by=pick.choice(people),
                    opened_at=opened,
                    updated_at=closed or opened,
                    closed_at=closed,
                )
            )
        Query.objects.bulk_create(rows, batch_size=2000)
        steps = [
            QueryStep(
                query=query,
                action=action,
                text=f"Step {n}",
                author=query.opened_by,
                at=query.updated_at,
            )
            for query in Query.objects.filter(project=project).select_related("opened_by")
            for n, action in enumerate(THREADS[query.status])
        ]
        QueryStep.objects.bulk_create(steps, batch_size=5000)


class CountQueries:
    """Counts the SQL queries run on the default connection inside the block, and their time."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.slowest: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.count += 1
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = time.perf_counter() - start
            self.seconds += took
            self.slowest = sorted([*self.slowest, (took, sql)], reverse=True)[:3]

    def __enter__(self) -> CountQueries:
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._wrapper.__exit__(*exc)

    def __len__(self) -> int:
        return self.count


def timed(
    action: Callable[[], object], runs: int, warmup: int = 2
) -> tuple[list[float], list[float], list[float]]:
    """Wall, CPU and SQL milliseconds of each run."""
    for _ in range(warmup):
        action()
    wall, cpu, sql = [], [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        with CountQueries() as queries:
            action()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        sql.append(queries.seconds * 1000)
    return wall, cpu, sql


def summary(name: str, times: list[float], target: float = 300) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    median = statistics.median(times)
    verdict = "ok" if median <= target and p95 <= target else "OVER TARGET"
    return (
        f"{name:<44} median {median:7.1f} ms   p95 {p95:7.1f}   min {ordered[0]:7.1f}   "
        f"max {ordered[-1]:7.1f}   ({verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}, "
        f"django {django.get_version()}, database {connection.vendor}, "
        f"load average {tuple(round(n, 2) for n in os.getloadavg())}"
    )
    start = time.perf_counter()
    project, monitor, coordinator = setup(args.records, args.queries)
    steps = QueryStep.objects.filter(query__project=project).count()
    print(
        f"{args.queries} queries ({steps} steps) on {args.records} records in {GROUPS} groups; "
        f"fixture built in {time.perf_counter() - start:.1f} s"
    )
    url = reverse("quality:queries", args=(project.pk,))
    form_3 = FORMS[2]
    cases = [
        ("monitor: first page (all sites)", monitor, {}),
        ("monitor: unresolved, older than 30 days", monitor, {"status": "unresolved", "age": "30"}),
        (
            "monitor: one form, one user, page 2",
            monitor,
            {"form": form_3, "user": str(monitor.pk), "page": "2"},
        ),
        ("monitor: last page of 100 rows", monitor, {"per_page": "100", "page": "999"}),
        ("site coordinator: first page (one site)", coordinator, {}),
    ]
    profile = os.environ.get("BENCH_PROFILE")
    for name, user, params in cases:
        client = Client(HTTP_HOST="localhost")
        force_login_verified(client, user)  # both factors, as after the code step
        client.get(url)
        with CountQueries() as sql:
            response = client.get(url, params)
        assert response.status_code == 200, (name, response.status_code)
        rows = response.content.count(b"<tr data-query=")
        if profile:
            import cProfile

            cProfile.runctx("client.get(url, params)", globals(), locals(), profile)
            profile = ""
        assert rows > 0, name

        def ask(client: Client = client, params: dict[str, str] = params) -> object:
            return client.get(url, params)

        wall, cpu, sql_times = timed(ask, args.runs)
        print(
            summary(name, wall)
            + f"   CPU median {statistics.median(cpu):6.1f}   SQL median "
            + f"{statistics.median(sql_times):6.1f}   {rows} rows, {len(sql)} SQL queries, "
            + f"{len(response.content) / 1024:.0f} KiB"
        )
        if os.environ.get("BENCH_SLOWEST"):
            for took, text in sql.slowest:
                print(f"    {took * 1000:6.1f} ms  {text[:300]}")
    print(f"load average after {tuple(round(n, 2) for n in os.getloadavg())}")


if __name__ == "__main__":
    main()
