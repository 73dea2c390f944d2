"""Report pages of 100 rows over a large project: unfiltered, filtered, sorted, both.

    python bench/bench_reports.py [--records 100000] [--fields 50] [--runs 5] [--profile]

Builds the same classic project as bench_api.py (one form of `--fields` fields: integers,
numbers, dates, text, radio, yes/no, two calculations; records bulk-inserted) in a scratch data
folder (SQLite, or DATABASE_URL when set), saves four reports of every field, then times GET
of the report page through django.test.Client (the view, the selector and the template, with
production settings):

- cold: the first request after the cache is emptied (a filtered or sorted report finds its
  matching rows in order then);
- warm: the same page again (median of `--runs`), and another page of the same report and
  order (page 500, or the last page when the report has fewer);
- re-sorted: the filtered and sorted report sorted by another column, its matching rows
  kept from the request before; then that column's order turned round.

Each cold page also gives the CPU time of this process (with SQLite, the database's work
too; with PostgreSQL, not the server's): on a shared machine it moves less than the wall time.

`--streamed` also times one page of the filtered and sorted report the way every page was
made before row keys were kept (the whole report streamed). `--plain` times the cold first
pages again with the key pass as it was before the database prefilter and narrow reads
(every record read, whole forms decoded, the filter evaluated on every row), in the same
run. `--python` times the cold first pages again with the database's ordered keys switched off
(`exports.keyquery`: the filter judged and the rows sorted in Python, as before), in the same
run. `--profile` prints where a cold filtered page spends its time (cProfile, top functions
by cumulative time).
Target (issue 14): a page of 100 rows over 100,000 records ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench_api import bulk_insert, dictionary
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.dictionary.services import dictionary_apply
from opencrf.exports.models import Report
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.exports.selectors import report_page, report_page_streamed, report_request
from opencrf.projects.services import project_create
from opencrf.testing.auth import force_login_verified

INTEGER, NUMBER, RADIO = "f_006", "f_001", "f_004"  # n % 1000, n % 100 + .5, n % 3 + 1
FILTER = f"[{INTEGER}] > 400 and [{RADIO}] = '1'"
REPORTS = {
    "unfiltered": ("", ()),
    "filtered": (FILTER, ()),
    "sorted (number desc)": ("", ((NUMBER, "desc"),)),
    "filtered + sorted": (FILTER, ((NUMBER, "desc"),)),
}


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def cpu_timed(call: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU of this process) seconds."""
    started, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--fields", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--plain", action="store_true", help="also time the plain key pass")
    parser.add_argument(
        "--python", action="store_true", help="also time the key pass without keyquery"
    )
    parser.add_argument(
        "--streamed", action="store_true", help="also time the streamed reference, per page"
    )
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()}, database {connection.vendor}"
    )
    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench", "b@example.org", "x" * 20)
    context = AuditContext(actor=admin)
    project = project_create(context=context, title="Report bench")
    rows = dictionary(args.fields)
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    started = time.perf_counter()
    bulk_insert(project, rows, args.records)
    print(f"{args.records} records × {args.fields} fields in {time.perf_counter() - started:.1f} s")
    fields = tuple(row.field_name for row in rows)
    client = Client(HTTP_HOST="localhost")
    force_login_verified(client, admin)
    urls = {}
    for title, (logic, order) in REPORTS.items():
        spec = ReportSpec(title=title, fields=fields, filter_logic=logic, order=order)
        report = report_create(context=context, project=project, spec=spec)
        url = urls[title] = reverse("exports:view", args=[project.pk, report.pk])
        measure(client, url, title, args.runs, lambda report=report: pages_of(admin, report))
    resort(client, url, args.runs)
    if args.python:
        python_keys(client, urls)
    if args.plain:
        plain(client, urls)
    if args.streamed:
        streamed(admin, report)
    if args.profile:
        spec = ReportSpec(title="profiled", fields=fields, filter_logic=FILTER)
        report = report_create(context=context, project=project, spec=spec)
        profile(client, reverse("exports:view", args=[project.pk, report.pk]))


def pages_of(user: User, report: Report) -> int:
    order = [(name, direction == "desc") for name, direction in report.order]
    request = report_request(report.project, report)
    return report_page(user, report.project, request, order=order).pages


def measure(client: Client, url: str, title: str, runs: int, count: Callable[[], int]) -> None:
    def get(page: int) -> Callable[[], object]:
        def call() -> object:
            response = client.get(url, {"page": page})
            assert response.status_code == 200, response.status_code
            return response

        return call

    cache.clear()
    cold, cpu = cpu_timed(get(1))
    pages = count()
    warm = statistics.median(timed(get(1)) for _ in range(runs))
    other = min(500, pages)
    cache.clear()
    cold_other = timed(get(other))
    warm_other = statistics.median(timed(get(other)) for _ in range(runs))
    print(
        f"{title:>22}: page 1 cold {cold * 1000:7.0f} ms (CPU {cpu * 1000:5.0f} ms), "
        f"warm {warm * 1000:5.0f} ms; "
        f"page {other} cold {cold_other * 1000:7.0f} ms, warm {warm_other * 1000:5.0f} ms "
        f"({pages} pages)"
    )


def resort(client: Client, url: str, runs: int) -> None:
    """The filtered + sorted report clicked to sort by another column: its matching rows are
    kept from the last request, so only the matching records are read for the new order."""
    client.get(url)  # the report's own order: the matching rows are kept
    query = {"sort": INTEGER, "desc": "1"}
    cold = timed(lambda: client.get(url, query))
    warm = statistics.median(timed(lambda: client.get(url, query)) for _ in range(runs))
    print(
        f"{'re-sorted by ' + INTEGER:>22}: page 1 first {cold * 1000:7.0f} ms "
        f"(matching rows kept), warm {warm * 1000:5.0f} ms"
    )
    turned = timed(lambda: client.get(url, {"sort": INTEGER, "desc": ""}))
    print(
        f"{'turned round (asc)':>22}: page 1 first {turned * 1000:7.0f} ms (both directions kept)"
    )


def python_keys(client: Client, urls: dict[str, str]) -> None:
    """The cold first pages with the filter judged and the rows sorted in Python."""
    import opencrf.exports.paging as paging_module

    exact = paging_module.sql_row_keys
    vars(paging_module)["sql_row_keys"] = lambda *_args: None
    try:
        for title, url in urls.items():
            if title == "unfiltered":
                continue
            cache.clear()
            cold, cpu = cpu_timed(partial(client.get, url, {"page": 1}))
            print(
                f"{'python ' + title:>28}: page 1 cold {cold * 1000:7.0f} ms "
                f"(CPU {cpu * 1000:5.0f} ms)"
            )
    finally:
        vars(paging_module)["sql_row_keys"] = exact


def plain(client: Client, urls: dict[str, str]) -> None:
    """The cold first pages with the key pass as before the prefilter and narrow reads."""
    import opencrf.exports.table as table_module
    import opencrf.records.export as export_module

    whole_forms = export_module.stored_forms

    def every_record(records: Any, *_rest: Any) -> Any:
        return records, None

    def never(*_args: Any) -> bool:
        return False

    def whole(pks: Any, *, using: str = "default", keys: Any = None) -> Any:
        return whole_forms(pks, using=using)

    vars(table_module)["narrowed"] = every_record
    vars(export_module)["_one_query"] = never
    vars(export_module)["stored_forms"] = whole
    for title, url in urls.items():
        if title == "unfiltered":
            continue
        cache.clear()
        cold, cpu = cpu_timed(partial(client.get, url, {"page": 1}))
        print(
            f"{'plain ' + title:>28}: page 1 cold {cold * 1000:7.0f} ms (CPU {cpu * 1000:5.0f} ms)"
        )


def streamed(user: User, report: Report) -> None:
    """What every page of the last report (filtered + sorted) cost before row keys were
    kept: the whole report streamed for the page (`report_page_streamed`, the reference)."""
    order = [(name, direction == "desc") for name, direction in report.order]
    request = report_request(report.project, report)
    elapsed = timed(lambda: report_page_streamed(user, report.project, request, order=order))
    print(f"{'streamed (before), a page':>22}: {elapsed * 1000:7.0f} ms (selector only)")


def profile(client: Client, url: str) -> None:
    cache.clear()
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(url)
    profiler.disable()
    stats = pstats.Stats(profiler)
    print("cold filtered page: OpenCRF's functions by cumulative time")
    stats.sort_stats("cumulative").print_stats(r"opencrf/(exports|records)", 20)
    print("cold filtered page: top functions by own time")
    stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
