"""The API's record import and export against raw SQL on the same database, in one run.

    python bench/bench_api.py [--records 100000] [--fields 50] [--batch 1000] [--skip-single]

Builds a classic project with one form of `--fields` fields (text with integer, number, date
validations, plain text, radio, yes/no, 2 calculations) in a scratch data folder (SQLite, or
DATABASE_URL when set), and a member's API token. Then, timing each step:

1. raw bulk insert: the same records (with their arm) and values written with `bulk_create`
   (no checks, no calculations, no audit) — the floor an import is compared with; the rows
   are deleted;
2. import through `/api/` (django.test.Client, the real view) in `--batch`-record CSV requests;
3. unless `--skip-single`, the records deleted and imported again in one request;
4. raw select + serialise: every stored row read and written as CSV text;
5. export through `/api/` of every record as CSV, in one request, the streamed body consumed
   chunk by chunk; then the same export again while tracemalloc records the peak Python
   memory (tracing slows Python, so the timed run is untraced).

Prints each figure and the ratios. Targets: import within 4× the raw bulk insert; export
within 3× the raw select; a 1,000-record request ≤ 5 s; export peak memory ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import statistics
import time
import tracemalloc

from benchsetup import setup_django

DATA_DIR = setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from opencrf.accounts.models import User  # noqa: E402
from opencrf.api.tokens import token_create  # noqa: E402
from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.dictionary.columns import FieldRow  # noqa: E402
from opencrf.dictionary.services import dictionary_apply  # noqa: E402
from opencrf.projects.models import Project  # noqa: E402
from opencrf.projects.services import project_create  # noqa: E402
from opencrf.records.models import (  # noqa: E402
    FormData,
    Record,
    RecordArm,
    record_sort_key,
)

FORM = "visit"
KINDS = ("integer", "number", "date_ymd", "", "radio", "yesno")


def dictionary(fields: int) -> list[FieldRow]:
    rows = [FieldRow(field_name="record_id", form_name=FORM, field_label="Record ID")]
    for number in range(1, fields - 2):
        kind = KINDS[number % len(KINDS)]
        common = {"field_name": f"f_{number:03d}", "form_name": FORM, "field_label": f"Q {number}"}
        if kind == "radio":
            rows.append(
                FieldRow(
                    **common,
                    field_type="radio",
                    select_choices_or_calculations="1, A | 2, B | 3, C",
                )
            )
        elif kind == "yesno":
            rows.append(FieldRow(**common, field_type="yesno"))
        else:
            rows.append(
                FieldRow(
                    **common, field_type="text", text_validation_type_or_show_slider_number=kind
                )
            )
    rows.append(
        FieldRow(
            field_name="calc_a",
            form_name=FORM,
            field_label="Sum",
            field_type="calc",
            select_choices_or_calculations="sum([f_006], [f_012])",
        )
    )
    rows.append(
        FieldRow(
            field_name="calc_b",
            form_name=FORM,
            field_label="Twice",
            field_type="calc",
            select_choices_or_calculations="[f_001] * 2",
        )
    )
    return rows


def value(row: FieldRow, n: int) -> str:
    vtype = row.text_validation_type_or_show_slider_number
    if row.field_type == "radio":
        return str(n % 3 + 1)
    if row.field_type == "yesno":
        return str(n % 2)
    if vtype == "integer":
        return str(n % 1000)
    if vtype == "number":
        return f"{n % 100}.5"
    if vtype == "date_ymd":
        return f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}"
    return f"answer {n}"


def record_values(rows: list[FieldRow], n: int) -> dict[str, str]:
    return {row.field_name: value(row, n) for row in rows[1:] if row.field_type != "calc"}


def csv_text(rows: list[FieldRow], start: int, count: int) -> str:
    header = [row.field_name for row in rows if row.field_type != "calc"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for n in range(start, start + count):
        values = record_values(rows, n)
        writer.writerow([str(n)] + [values[name] for name in header[1:]])
    return out.getvalue()


def bulk_insert(project: Project, rows: list[FieldRow], records: int) -> None:
    """The records with their arm and one form each, bulk-inserted without the services."""
    event = project.events.get()
    arm = project.arms.get()
    with transaction.atomic():
        created = Record.objects.bulk_create(
            [
                Record(project=project, record_id=str(n), sort_key=record_sort_key(str(n)))
                for n in range(1, records + 1)
            ],
            batch_size=2000,
        )
        RecordArm.objects.bulk_create(
            [RecordArm(record=record, arm=arm) for record in created], batch_size=2000
        )
        FormData.objects.bulk_create(
            [
                FormData(
                    project=project,
                    record=record,
                    event=event,
                    form_name=FORM,
                    values=record_values(rows, n),
                    version=1,
                )
                for n, record in enumerate(created, start=1)
            ],
            batch_size=2000,
        )


def raw_insert(project: Project, rows: list[FieldRow], records: int) -> float:
    started = time.perf_counter()
    bulk_insert(project, rows, records)
    elapsed = time.perf_counter() - started
    with transaction.atomic():
        FormData.objects.filter(project=project).delete()
        Record.objects.filter(project=project).delete()
    return elapsed


def raw_select(project: Project) -> float:
    started = time.perf_counter()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for record_id, values in (
        FormData.objects.filter(project=project)
        .values_list("record__record_id", "values")
        .iterator(chunk_size=2000)
    ):
        writer.writerow([record_id, *values.values()])
        if out.tell() > 1 << 20:
            out.seek(0)
            out.truncate()
    return time.perf_counter() - started


def api_import(client: Client, token: str, text: str) -> float:
    started = time.perf_counter()
    response = client.post(
        "/api/", {"token": token, "content": "record", "format": "csv", "data": text}
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"import failed: {response.status_code} {response.content[:500]!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--fields", type=int, default=50)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--skip-single", action="store_true")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()}, database {connection.vendor}"
    )
    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench", "b@example.org", "x" * 20)
    context = AuditContext(actor=admin)
    project = project_create(context=context, title="API bench")
    rows = dictionary(args.fields)
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    token = token_create(context=context, user=admin, project=project)
    client = Client(HTTP_HOST="localhost")

    raw = raw_insert(project, rows, args.records)
    print(f"raw bulk insert of {args.records} records: {raw:.1f} s")

    times = []
    started = time.perf_counter()
    for start in range(1, args.records + 1, args.batch):
        count = min(args.batch, args.records + 1 - start)
        times.append(api_import(client, token, csv_text(rows, start, count)))
    batched = time.perf_counter() - started
    print(
        f"API import in {len(times)} requests of {args.batch}: {batched:.1f} s "
        f"({batched / raw:.1f}× raw); per request median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s"
    )

    if not args.skip_single:
        with transaction.atomic():
            FormData.objects.filter(project=project).delete()
            Record.objects.filter(project=project).delete()
        text = csv_text(rows, 1, args.records)
        single = api_import(client, token, text)
        print(
            f"API import in one request ({len(text) / 1e6:.0f} MB): {single:.1f} s "
            f"({single / raw:.1f}× raw)"
        )

    select = raw_select(project)
    print(f"raw select + serialise: {select:.1f} s")
    started = time.perf_counter()
    response = client.post("/api/", {"token": token, "content": "record", "format": "csv"})
    size = sum(len(chunk) for chunk in response.streaming_content)
    exported = time.perf_counter() - started
    print(
        f"API export in one request ({size / 1e6:.0f} MB): {exported:.1f} s "
        f"({exported / select:.1f}× raw select)"
    )
    # Memory in a second run: tracemalloc slows Python several-fold, so it never times.
    tracemalloc.start()
    response = client.post("/api/", {"token": token, "content": "record", "format": "csv"})
    for _chunk in response.streaming_content:
        pass
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"API export peak Python memory (second run, traced): {peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
