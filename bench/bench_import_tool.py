"""The Data Import Tool's preview of a CSV file, through its real view (target ≤ 10 s).

    python bench/bench_import_tool.py [--rows 10000] [--fields 50]

Builds a classic project with one form of `--fields` fields (text with integer, number, date
validations, plain text, radio, yes/no, 2 calculations) in a scratch data folder (SQLite, or
DATABASE_URL when set). Then, timing each step through django.test.Client (upload, staging,
every check, the rolled-back import, the page):

1. preview of `--rows` new records;
2. confirm (the same import again, committed);
3. preview of the same records with every value changed (old → new for each).

Prints each figure. Target: a preview of 10,000 rows ≤ 10 s.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import re
import time

from benchsetup import setup_django

DATA_DIR = setup_django()

from bench_api import dictionary, value  # noqa: E402 (the same project as the API's)
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402

from opencrf.accounts.models import User  # noqa: E402
from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.dictionary.columns import FieldRow  # noqa: E402
from opencrf.dictionary.services import dictionary_apply  # noqa: E402
from opencrf.projects.models import Project  # noqa: E402
from opencrf.projects.services import project_create  # noqa: E402
from opencrf.testing.auth import force_login_verified  # noqa: E402


def csv_bytes(rows: list[FieldRow], count: int, shift: int) -> bytes:
    header = [row.field_name for row in rows if row.field_type != "calc"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for n in range(1, count + 1):
        writer.writerow(
            [str(n)] + [value(row, n + shift) for row in rows[1:] if row.field_type != "calc"]
        )
    return out.getvalue().encode("utf-8")


def upload(client: Client, project: Project, data: bytes) -> tuple[float, HttpResponse]:
    file = io.BytesIO(data)
    file.name = "bench.csv"
    fields = {
        "layout": "flat",
        "date_format": "YMD",
        "overwrite": "normal",
        "delimiter": "comma",
        "encoding": "utf-8",
        "file": file,
    }
    started = time.perf_counter()
    response = client.post(f"/projects/{project.pk}/import/", fields)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"preview failed: {response.status_code} {response.content[-2000:]!r}")
    return elapsed, response


def hidden(response: HttpResponse, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"'.encode(), response.content)
    if found is None:
        raise SystemExit(f"no {name} on the preview")
    return found.group(1).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--fields", type=int, default=50)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()}, database {connection.vendor}"
    )
    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench", "b@example.org", "x" * 20)
    context = AuditContext(actor=admin)
    project = project_create(context=context, title="Import tool bench")
    rows = dictionary(args.fields)
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    client = Client(HTTP_HOST="localhost")
    force_login_verified(client, admin)

    new_file = csv_bytes(rows, args.rows, 0)
    size = f"{args.rows} rows × {args.fields} fields, {len(new_file) / 1e6:.1f} MB"
    elapsed, preview = upload(client, project, new_file)
    print(f"import-tool preview of {size} (all new records): {elapsed:.2f} s")

    token, fingerprint = hidden(preview, "token"), hidden(preview, "fingerprint")
    started = time.perf_counter()
    done = client.post(
        f"/projects/{project.pk}/import/confirm/", {"token": token, "fingerprint": fingerprint}
    )
    applied = time.perf_counter() - started
    if b'data-testid="import-done"' not in done.content:
        raise SystemExit("confirm failed")
    print(f"import-tool confirm (the import committed): {applied:.2f} s")

    elapsed, preview = upload(client, project, csv_bytes(rows, args.rows, 1))
    found = re.search(rb'data-testid="count-changes">(\d+)<', preview.content)
    changes = int(found.group(1)) if found else -1
    print(
        f"import-tool preview of {size} (every value changed, {changes} changes): {elapsed:.2f} s"
    )


if __name__ == "__main__":
    main()
