"""Backup and restore of a large installation: 1,000,000 form rows and 1 GB of files.

    python bench/bench_backup.py [--rows 1000000] [--files-mb 1024] [--encrypt]
                                 [--database-url postgres://postgres@127.0.0.1:5432/opencrf_bench]

Builds, in a scratch data folder (SQLite by default; with --database-url that PostgreSQL
database, dropped and created anew), the demo study plus `--rows` FormData rows (records of 20
forms each, inserted in bulk SQL, not through the ORM) and `--files-mb` files of 1 MiB of
random bytes saved through the storage API. Then times, one after the other:

1. `backup_create`: a consistent copy of the database (online backup API / pg_dump), every
   file streamed into the tar part, the manifest, and the read-back check of every part;
2. `restore_verify`: restore into scratch space, row counts of every table, every audit chain
   recomputed, every file's SHA-256: the recovery time a restore drill reports.

Prints the sizes and durations. Everything is removed at exit.
"""

from __future__ import annotations

import argparse
import atexit
import os
import platform
import sys
import time

ROWS_PER_INSERT = 5_000
FORMS_PER_RECORD = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="FormData rows")
    parser.add_argument("--files-mb", type=int, default=1024, help="MiB of files (1 MiB each)")
    parser.add_argument("--encrypt", action="store_true", help="set OPENCRF_BACKUP_KEY")
    parser.add_argument("--database-url", help="a PostgreSQL database (dropped and re-created)")
    return parser.parse_args()


ARGS = parse_args()
if ARGS.database_url:
    os.environ["DATABASE_URL"] = ARGS.database_url
if ARGS.encrypt:
    os.environ["OPENCRF_BACKUP_KEY"] = "bench passphrase for the backup benchmark"

from benchsetup import setup_django  # noqa: E402

DATA_DIR = setup_django()

from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from opencrf.ops.backups.create import backup_create  # noqa: E402
from opencrf.ops.backups.restore import restore_verify  # noqa: E402


def fresh_postgres() -> None:
    """Drop and create the --database-url database before migrating; drop it at exit."""
    from opencrf.ops.backups import database

    params = database.pg_params(connection.settings_dict)
    connection.close()
    database.pg_drop_database(params, params["dbname"])
    database.pg_create_database(params, params["dbname"])
    atexit.register(database.pg_drop_database, params, params["dbname"])


def build_rows(rows: int) -> None:
    from opencrf.demo.loader import load_demo
    from opencrf.records.models import FormData, Record, RecordArm, record_sort_key

    project, _created = load_demo()
    event = project.events.order_by("id").first()
    arm_id = event.arm_id
    records = (rows + FORMS_PER_RECORD - 1) // FORMS_PER_RECORD
    now = timezone.now().isoformat()
    record_table, form_table = Record._meta.db_table, FormData._meta.db_table
    arm_table = RecordArm._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {record_table} (project_id, record_id, sort_key, created_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s)",
            [(project.pk, f"B{n}", record_sort_key(f"B{n}"), now) for n in range(1, records + 1)],
        )
        cursor.execute(f"SELECT id FROM {record_table} WHERE record_id LIKE 'B%%' ORDER BY id")  # noqa: S608
        record_ids = [row[0] for row in cursor.fetchall()]
        cursor.executemany(
            f"INSERT INTO {arm_table} (record_id, arm_id) VALUES (%s, %s)",  # noqa: S608
            [(record_pk, arm_id) for record_pk in record_ids],
        )
        batch = []
        made = 0
        for record_pk in record_ids:
            for form in range(FORMS_PER_RECORD):
                if made == rows:
                    break
                values = (
                    f'{{"weight": "{60 + made % 40}.{made % 10}", "visit_date": "2026-11-'
                    f'{1 + made % 28:02d}", "note": "bench row {made}", "steps": "{made % 20000}"}}'
                )
                batch.append(
                    (project.pk, record_pk, event.pk, f"form_{form:02d}", 1, values, 2, 1, now)
                )
                made += 1
            if len(batch) >= ROWS_PER_INSERT:
                _insert_forms(cursor, form_table, batch)
                batch = []
        _insert_forms(cursor, form_table, batch)


def _insert_forms(cursor, table: str, batch: list[tuple]) -> None:
    if batch:
        cursor.executemany(
            f"INSERT INTO {table} (project_id, record_id, event_id, form_name, instance, "  # noqa: S608
            '"values", status, version, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)',
            batch,
        )


def build_files(megabytes: int) -> None:
    for number in range(megabytes):
        default_storage.save(
            f"bench/{number // 100:03d}/{number:05d}.bin", ContentFile(os.urandom(1024 * 1024))
        )


def timed(label: str, work):
    started = time.monotonic()
    result = work()
    took = time.monotonic() - started
    print(f"{label:<44} {took:8.1f} s", flush=True)
    return result, took


def main() -> None:
    from django.db import connections

    print(f"Python {sys.version.split()[0]} on {platform.platform()}, {os.cpu_count()} CPUs")
    if connection.vendor == "postgresql":
        fresh_postgres()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"database: {connection.vendor}; data folder {DATA_DIR}")
    timed(f"build {ARGS.rows:,} FormData rows (bulk SQL)", lambda: build_rows(ARGS.rows))
    timed(
        f"build {ARGS.files_mb:,} files of 1 MiB (storage API)", lambda: build_files(ARGS.files_mb)
    )
    run, backup_seconds = timed(
        "backup (copy, files, manifest, read-back)", lambda: backup_create(trigger="manual")
    )
    parts = run.summary["tables"]
    print(
        f"  backup {run.backup_id}: {run.size_bytes / 2**20:,.0f} MiB in {run.file_count:,} files; "
        f"records_formdata {parts['records_formdata']:,} rows; encrypted: {run.encrypted}"
    )
    report, _verify_seconds = timed(
        "restore --verify (recovery time)", lambda: restore_verify(run.backup_id)
    )
    for check in report.checks:
        print(f"  ok   {check}")
    for problem in report.problems:
        print(f"  FAIL {problem}")
    print(
        f"backup {backup_seconds:.1f} s ({run.size_bytes / 2**20 / backup_seconds:,.0f} MiB/s); "
        f"recovery time {report.duration:.1f} s; ok: {report.ok}"
    )
    connections.close_all()
    if not report.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
