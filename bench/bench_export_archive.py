"""The export archive's background job against the bare export, and its peak memory.

    python bench/bench_export_archive.py [--records 100000] [--fields 50] [--formats csv,spss]

Builds bench_api.py's classic project (records bulk-inserted) in a scratch data folder, then
for each format times, each in a forked child with its own peak resident memory (ru_maxrss):
the bare `services.export_write` into a temporary file (as bench_exports.py), and the whole
archive job (`archive.export_file_write`: the re-check of the requester, the row estimate,
the write with a progress update every 1,000 rows, SHA-256 as it is written, the copy into
Django's storage). Prints each figure, the job's overhead over the bare export, and the
number of progress updates. Target (issue 14): the job stays within 300 MB at any size.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

from bench_api import bulk_insert, dictionary
from bench_exports import in_child, resident_mb, timed_export
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.dictionary.services import dictionary_apply
from opencrf.exports import archive
from opencrf.exports.deidentify import Deidentify
from opencrf.exports.models import ExportFile
from opencrf.projects.models import Project
from opencrf.projects.services import project_create


def timed_job(user: User, project_id: int, format: str) -> tuple[float, float, float, int]:
    """(seconds, peak RSS MB, growth over the fork, bytes stored) of one archive job."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    export = archive.export_request(
        context=AuditContext(actor=user),
        project=Project.objects.get(pk=project_id),
        key="A",
        query={},
        format=format,
        deidentify=Deidentify(),
    )
    connections.close_all()
    elapsed, peak, growth, _size, _digest = in_child(
        lambda out: archive.export_file_write(export.pk)
    )
    export.refresh_from_db()
    assert export.status == ExportFile.Status.DONE, export.error
    return elapsed, peak, growth, export.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--fields", type=int, default=50)
    parser.add_argument("--formats", default="csv,spss")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()}, database {connection.vendor}"
    )
    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench", "b@example.org", "x" * 20)
    context = AuditContext(actor=admin)
    project = project_create(context=context, title="Export archive bench")
    rows = dictionary(args.fields)
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    bulk_insert(project, rows, args.records)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.records} records × {args.fields} fields; parent RSS {resident_mb():.0f} MB")
    print(f"parent peak RSS before the exports {base:.0f} MB")
    connections.close_all()
    for format in args.formats.split(","):
        bare, bare_peak, _growth, _size, _digest = timed_export(admin, project.pk, format)
        started = time.perf_counter()
        job, peak, growth, size = timed_job(admin, project.pk, format)
        total = time.perf_counter() - started
        updates = args.records // 1000 + 1
        print(
            f"{format:>6}: bare export {bare:6.2f} s (peak {bare_peak:4.0f} MB); "
            f"archive job {job:6.2f} s ({job / bare:4.2f}× bare; {total:.2f} s with the request), "
            f"peak RSS {peak:4.0f} MB (+{growth:.0f} MB over the fork), "
            f"{size / 1e6:6.1f} MB stored, {updates} progress updates"
        )


if __name__ == "__main__":
    main()
