"""Every built-in data quality rule over 100,000 records × 50 fields, as the job runs them.

    python bench/bench_quality_rules.py [--records 100000] [--fields 50]

Builds the classic project of bench_api.py (one form of `--fields` fields: integers, numbers,
dates, text, radio, yes/no, two calculations), gives five fields branching logic on a radio
field (so rule F has work: two records in three hold values it hides) and bulk-inserts the
records without their calculated values (so rule H finds every record). Then runs the job of
one run of all built-in rules (A–J) by the project's owner (`quality.rules_services.
run_execute`) in a forked child, so its peak resident memory is its own, and prints the time,
the peak, and each rule's count. Targets (issue 17): ≤ 60 s and ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import time

from bench_api import bulk_insert, dictionary
from django.core.management import call_command
from django.db import connection, connections

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.services import project_create
from opencrf.quality.rules_builtin import BUILTIN_RULES
from opencrf.quality.rules_services import run_execute, run_request

BRANCHED = ("f_010", "f_011", "f_013", "f_014", "f_015")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--fields", type=int, default=50)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()}, database {connection.vendor}"
    )
    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench", "b@example.org", "x" * 20)
    context = AuditContext(actor=admin)
    project = project_create(context=context, title="Data quality bench")
    rows = [
        dataclasses.replace(row, branching_logic="[f_004] = '2'")
        if row.field_name in BRANCHED
        else row
        for row in dictionary(args.fields)
    ]
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    started = time.perf_counter()
    bulk_insert(project, rows, args.records)
    print(
        f"{args.records} records × {args.fields} fields inserted in "
        f"{time.perf_counter() - started:.1f} s"
    )
    run = run_request(user=admin, project=project, rule_keys=list(BUILTIN_RULES))
    connections.close_all()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the job, in a process of its own
        os.close(read)
        began = time.perf_counter()
        done = run_execute(run.pk)
        elapsed = time.perf_counter() - began
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert done is not None
        counts = ", ".join(f"{k} {v}" for k, v in done.counts.items())
        os.write(write, f"{elapsed:.2f}|{peak:.0f}|{done.status}|{counts}".encode())
        os._exit(0)
    os.close(write)
    answer = os.read(read, 65536).decode()
    os.waitpid(child, 0)
    elapsed, peak, status, counts = answer.split("|")
    print(f"all built-in rules: {elapsed} s, peak RSS {peak} MB, status {status}")
    print(f"results per rule: {counts}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
