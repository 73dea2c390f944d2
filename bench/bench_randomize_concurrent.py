"""Many people pressing Randomize at the same moment, on records of a stratified trial.

    python bench/bench_randomize_concurrent.py [--count 50] [--strata-sites 5] [--blocks 20]
                                               [--workers process|thread]

Builds a classic project in a scratch data folder (SQLite, or DATABASE_URL when set: the
target is PostgreSQL; the bench drops and re-creates that database, so name a scratch one) with
a radio allocation field, a sex stratum and `--strata-sites` data access groups as a second
stratum, a generated development table (`--blocks` permuted blocks of 2 or 4 per stratum,
seeded), and `--count` records with their strata entered, spread over the strata.
Then `--count` workers — forked processes by default, as web workers are; threads
share one interpreter; `serial` runs them one after another, for the time of one call
alone — wait at a barrier and each randomizes its own record through
`record_randomize`, timing the call. Finally it checks what the issue asks: every record has one
allocation, no table row is used twice (unique keys, and counted), none is skipped (within each
stratum the used rows are exactly the first ones), and prints the latency p50/p95/max.
Target (issue 18): on PostgreSQL, none used twice or skipped, p95 ≤ 500 ms.

SQLite runs one writer at a time: there the workers are threads, and each waits for the lock.
"""

from __future__ import annotations

import argparse
import atexit
import multiprocessing
import os
import platform
import statistics
import threading
import time
from collections import defaultdict

from benchsetup import setup_django

setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils.translation import gettext_lazy  # noqa: E402

from opencrf.accounts.models import User  # noqa: E402
from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.dictionary.columns import FieldRow  # noqa: E402
from opencrf.dictionary.design import design_of  # noqa: E402
from opencrf.dictionary.services import dictionary_apply  # noqa: E402
from opencrf.projects.models import Project  # noqa: E402
from opencrf.projects.services import group_create, project_create  # noqa: E402
from opencrf.randomization.models import Allocation, AllocationRow  # noqa: E402
from opencrf.randomization.services import (  # noqa: E402
    SetupInput,
    record_randomize,
    setup_save,
    table_generate,
)
from opencrf.records.models import Record  # noqa: E402
from opencrf.records.services import form_save, record_create  # noqa: E402

FORM = "enrol"


def fresh_postgres() -> None:
    """Drop and create DATABASE_URL's database (a scratch one: name it for the bench); drop it
    at exit."""
    from opencrf.ops.backups import database

    params = database.pg_params(connection.settings_dict)
    connection.close()
    database.pg_drop_database(params, params["dbname"])
    database.pg_create_database(params, params["dbname"])
    atexit.register(database.pg_drop_database, params, params["dbname"])


def build(args: argparse.Namespace) -> tuple[int, int]:
    """The project and its records; returns (project id, admin id)."""
    if connection.vendor == "postgresql":
        fresh_postgres()
    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench", "b@example.org", "x" * 20)
    context = AuditContext(actor=admin)
    project = project_create(context=context, title="Randomization bench")
    rows = [
        FieldRow(field_name="record_id", form_name=FORM, field_label="ID"),
        FieldRow(
            field_name="sex",
            form_name=FORM,
            field_type="radio",
            field_label="Sex",
            select_choices_or_calculations="1, M | 2, F",
        ),
        FieldRow(
            field_name="arm",
            form_name=FORM,
            field_type="radio",
            field_label="Arm",
            select_choices_or_calculations="1, A | 2, B",
        ),
    ]
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    groups = [
        group_create(context=context, project=project, name=f"Site {n}")
        for n in range(1, args.strata_sites + 1)
    ]
    event = project.events.get()
    data = SetupInput("arm", event.pk, [("sex", event.pk)], True, "table", {}, {}, 0.8)
    setup_save(context=context, project=project, data=data)
    table_generate(
        context=context,
        project=project,
        environment="development",
        block_sizes="2, 4",
        blocks=args.blocks,
        seed="bench",
    )
    for n in range(args.count):
        record = record_create(
            context=context, project=project, record_id=str(n + 1), group=groups[n % len(groups)]
        )
        sex = "1" if (n // len(groups)) % 2 == 0 else "2"
        form_save(
            context=context,
            record=record,
            event=event,
            form_name=FORM,
            values={"sex": sex},
            base_version=0,
        )
    warm_up(project)
    return project.pk, admin.pk


def warm_up(project: Project) -> None:
    """What a web worker has loaded before its first request, loaded once before the workers
    fork: the project's design (kept per process outside transactions) and the message
    catalogue."""
    design_of(project)
    str(gettext_lazy("Randomization"))


def randomize_one(project_id: int, admin_id: int, record_id: str) -> tuple[float, str]:
    project = Project.objects.get(pk=project_id)
    record = Record.objects.get(project=project, record_id=record_id)
    context = AuditContext(actor=User.objects.get(pk=admin_id))
    started = time.perf_counter()
    try:
        record_randomize(context=context, project=project, record=record)
        outcome = "ok"
    except Exception as error:  # reported, not raised: the run counts failures
        outcome = repr(error)
    return (time.perf_counter() - started) * 1000, outcome


def run_processes(project_id: int, admin_id: int, count: int) -> list[tuple[float, str]]:
    connections.close_all()
    fork = multiprocessing.get_context("fork")
    barrier = fork.Barrier(count)
    results = fork.Queue()

    def child(n: int) -> None:
        Project.objects.get(pk=project_id)  # connect before the barrier, as a warm web worker
        barrier.wait()
        results.put(randomize_one(project_id, admin_id, str(n + 1)))
        connections.close_all()

    workers = [fork.Process(target=child, args=(n,)) for n in range(count)]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=600) for _worker in workers]
    for worker in workers:
        worker.join(timeout=60)
    return answers


def run_threads(project_id: int, admin_id: int, count: int) -> list[tuple[float, str]]:
    barrier = threading.Barrier(count)
    answers: list[tuple[float, str]] = []

    def work(n: int) -> None:
        Project.objects.get(pk=project_id)
        barrier.wait()
        answers.append(randomize_one(project_id, admin_id, str(n + 1)))
        connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return answers


def run_serial(project_id: int, admin_id: int, count: int) -> list[tuple[float, str]]:
    """One after another: the time one user waits when nobody else randomizes."""
    return [randomize_one(project_id, admin_id, str(n + 1)) for n in range(count)]


def check(project_id: int, count: int) -> tuple[int, int, int]:
    """(allocations, rows used twice, rows skipped)."""
    allocations = Allocation.objects.filter(setup__project_id=project_id)
    rows = AllocationRow.objects.filter(table__setup__project_id=project_id)
    used_rows = list(allocations.values_list("row_id", flat=True))
    twice = len(used_rows) - len(set(used_rows))
    skipped = 0
    by_stratum: dict[str, list[bool]] = defaultdict(list)
    for key, used in rows.order_by("position").values_list("stratum_key", "used"):
        by_stratum[key].append(used)
    for flags in by_stratum.values():
        taken = sum(flags)
        skipped += sum(1 for flag in flags[:taken] if not flag)
    marked = rows.filter(used=True).count()
    twice += abs(marked - len(set(used_rows)))
    return allocations.count(), twice, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--strata-sites", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--workers", choices=("process", "thread", "serial"), default="process")
    args = parser.parse_args()
    vendor = connection.vendor
    mode = args.workers if vendor == "postgresql" or args.workers == "serial" else "thread"
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()}, database {vendor}, workers {mode}"
    )
    project_id, admin_id = build(args)
    run = {"process": run_processes, "thread": run_threads, "serial": run_serial}[mode]
    answers = run(project_id, admin_id, args.count)
    times = sorted(ms for ms, _outcome in answers)
    failures = [outcome for _ms, outcome in answers if outcome != "ok"]
    allocated, twice, skipped = check(project_id, args.count)
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(f"randomizations: {len(answers)}, failures: {len(failures)} {failures[:3]}")
    print(f"allocations stored: {allocated}, rows used twice: {twice}, rows skipped: {skipped}")
    print(f"latency ms: p50 {statistics.median(times):.0f}, p95 {p95:.0f}, max {times[-1]:.0f}")
    if failures or allocated != args.count or twice or skipped:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
