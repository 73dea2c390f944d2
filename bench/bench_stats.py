"""A report's Stats & Charts over a large project: the summary alone, grouped, and the page.

    python bench/bench_stats.py [--records 100000] [--fields 50] [--runs 1]

Builds the same classic project as bench_api.py (one form of `--fields` fields: integers,
numbers, dates, free text, radio, yes/no, two calculations) in a scratch data folder (SQLite,
or DATABASE_URL when set), bulk-inserted, half the records in each of two data access groups.
Then times, against the raw select + CSV of the same values in the same run:
`exports.summary.summarise` of every field (report A); the same grouped by a radio field and
by the data access group; and the whole page through django.test.Client (the summary, its
SVG charts and the template). Prints the best of `--runs` and Python's peak traced memory of
the summary. Target (issue 14): stats of 50 fields over 100,000 records ≤ 5 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import tracemalloc
from collections.abc import Callable

from bench_api import bulk_insert, dictionary, raw_select
from django.core.management import call_command
from django.db import connection
from django.test import Client

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.dictionary.services import dictionary_apply
from opencrf.exports.summary import summarise
from opencrf.exports.table import ExportRequest
from opencrf.projects.models import Project
from opencrf.projects.services import group_create, project_create
from opencrf.records.export import GROUP_COLUMN
from opencrf.records.models import Record
from opencrf.testing.auth import force_login_verified


def best(action: Callable[[], object], runs: int) -> str:
    """The best wall time of `runs`, and this process's CPU time in that run: on a machine
    shared with other work the CPU time is the steadier figure (on SQLite it is nearly all
    the work; PostgreSQL's share runs in its own processes)."""
    times = []
    for _run in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        action()
        times.append((time.perf_counter() - started, time.process_time() - cpu))
    wall, cpu = min(times)
    return f"{wall:.2f} s (CPU {cpu:.2f} s)"


def split_into_groups(context: AuditContext, project: Project) -> None:
    first = group_create(context=context, project=project, name="Site A", unique_name="site_a")
    second = group_create(context=context, project=project, name="Site B", unique_name="site_b")
    records = Record.objects.filter(project=project)
    middle = records.order_by("pk").values_list("pk", flat=True)[records.count() // 2]
    records.filter(pk__lt=middle).update(group=first)
    records.filter(pk__gte=middle).update(group=second)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--fields", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()}, database {connection.vendor}"
    )
    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench", "b@example.org", "x" * 20)
    context = AuditContext(actor=admin)
    project = project_create(context=context, title="Stats bench")
    rows = dictionary(args.fields)
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    bulk_insert(project, rows, args.records)
    split_into_groups(context, project)
    radio = next(row.field_name for row in rows if row.field_type == "radio")
    print(f"{args.records} records × {args.fields} fields")
    cpu = time.process_time()
    raw = raw_select(project)
    print(f"raw select + CSV serialise: {raw:.2f} s (CPU {time.process_time() - cpu:.2f} s)")

    summary = summarise(admin, project, ExportRequest())
    fields = len(summary.overall.fields)
    plain = best(lambda: summarise(admin, project, ExportRequest()), args.runs)
    print(f"stats of {fields} fields: {plain}")
    by_radio = best(lambda: summarise(admin, project, ExportRequest(), radio), args.runs)
    print(f"stats grouped by a radio field ({radio}): {by_radio}")
    by_group = best(lambda: summarise(admin, project, ExportRequest(), GROUP_COLUMN), args.runs)
    print(f"stats grouped by data access group: {by_group}")

    tracemalloc.start()
    summarise(admin, project, ExportRequest(), GROUP_COLUMN)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(f"stats peak Python memory (grouped by data access group): {peak:.0f} MB")

    client = Client(HTTP_HOST="localhost")
    force_login_verified(client, admin)
    url = f"/projects/{project.pk}/reports/A/stats/"
    assert client.get(url).status_code == 200
    page = best(lambda: client.get(url), args.runs)
    print(f"stats page (Client.get, all charts): {page}")


if __name__ == "__main__":
    main()
