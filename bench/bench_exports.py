"""Export files (CSV, xlsx, SPSS, Stata, SAS, R, tidy) against the raw select, in one run.

    python bench/bench_exports.py [--records 100000] [--fields 50] [--formats csv,xlsx,...]

Builds the same classic project as bench_api.py (one form of `--fields` fields: integers,
numbers, dates, text, radio, yes/no, two calculations) in a scratch data folder (SQLite, or
DATABASE_URL when set) with records bulk-inserted, then times the raw select + CSV serialise
and each export format through `exports.services.export_write` into a file. Each export runs
in a forked child, so its peak resident memory (ru_maxrss) is its own. Prints each figure and
its ratio to the raw select. Targets (issue 14): CSV ≤ 2×, native formats ≤ 5×, ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time

from bench_api import bulk_insert, dictionary, raw_select
from django.core.management import call_command
from django.db import connection, connections

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.dictionary.services import dictionary_apply
from opencrf.exports.services import export_write
from opencrf.exports.table import ExportRequest
from opencrf.projects.services import project_create

FORMATS = "csv,csv-labels,xlsx,spss,stata,sas,r,tidy"


def resident_mb() -> float:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def timed_export(user: User, project_id: int, format: str) -> tuple[float, float, float, int]:
    """(seconds, peak RSS in MB, its growth over the RSS at fork, bytes written), measured in
    a forked child: the peak counts the pages shared with the parent, the growth does not."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own connection, its own peak
        os.close(read)
        at_fork = resident_mb()
        connections.close_all()
        from opencrf.projects.models import Project

        project = Project.objects.get(pk=project_id)
        with tempfile.TemporaryFile() as out:
            started = time.perf_counter()
            export_write(
                context=AuditContext(actor=user),
                project=project,
                format=format,
                request=ExportRequest(),
                out=out,
            )
            elapsed = time.perf_counter() - started
            size = out.tell()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        os.write(write, f"{elapsed} {peak} {peak - at_fork} {size}".encode())
        os._exit(0)
    os.close(write)
    message = os.read(read, 200).decode()
    os.waitpid(pid, 0)
    elapsed, peak, growth, size = message.split()
    return float(elapsed), float(peak), float(growth), int(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--fields", type=int, default=50)
    parser.add_argument("--formats", default=FORMATS)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()}, database {connection.vendor}"
    )
    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench", "b@example.org", "x" * 20)
    context = AuditContext(actor=admin)
    project = project_create(context=context, title="Export bench")
    rows = dictionary(args.fields)
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    bulk_insert(project, rows, args.records)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    raw = raw_select(project)
    print(f"{args.records} records × {args.fields} fields; parent peak RSS {base:.0f} MB")
    print(f"raw select + CSV serialise: {raw:.2f} s")
    connections.close_all()
    for format in args.formats.split(","):
        elapsed, peak, growth, size = timed_export(admin, project.pk, format)
        print(
            f"{format:>10}: {elapsed:6.2f} s ({elapsed / raw:4.1f}× raw), "
            f"peak RSS {peak:5.0f} MB (+{growth:.0f} MB over the fork), "
            f"{size / 1e6:6.1f} MB written"
        )


if __name__ == "__main__":
    main()
