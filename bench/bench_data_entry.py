"""Time the data entry page of a 200-field form: opening it (GET) and saving it (POST).

    python bench/bench_data_entry.py [--fields 200] [--runs 30]

Builds a throw-away classic project in a temporary data folder (SQLite, or DATABASE_URL when
set), with one instrument that mixes text fields of several validation types, notes,
dropdowns, radios, checkboxes, yes/no, true/false, sliders, descriptive text, section headers,
a few calculations and branching logic. One record; each run GETs its form through
django.test.Client (the real view, logged in with force_login) and then POSTs a save that
changes every entered field (the values alternate between two valid sets), so each save
validates, recomputes the calculations, writes the form and one `form.update` audit event.
Prints the median and p90 of both requests. Targets: GET ≤ 150 ms, save ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import re
import statistics
import time

from benchsetup import setup_django

DATA_DIR = setup_django()

import django  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from opencrf.accounts.models import User  # noqa: E402
from opencrf.audit.models import AuditEvent  # noqa: E402
from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.dictionary.columns import FieldRow  # noqa: E402
from opencrf.dictionary.services import dictionary_apply  # noqa: E402
from opencrf.projects.models import Project  # noqa: E402
from opencrf.projects.services import project_create  # noqa: E402
from opencrf.records.models import FormData, Record  # noqa: E402
from opencrf.records.services import record_create  # noqa: E402
from opencrf.testing.auth import force_login_verified  # noqa: E402

FORM = "big_form"
CHOICES = "1, Never | 2, Rarely | 3, Sometimes | 4, Often | 5, Always"
# (validation type, two valid values to alternate between)
TEXTS = (
    ("", ("some words", "other words")),
    ("date_ymd", ("2024-01-15", "2025-06-30")),
    ("integer", ("42", "17")),
    ("number", ("3.25", "7.5")),
    ("number_1dp", ("60.5", "72.0")),
    ("email", ("a@example.org", "b@example.org")),
    ("time", ("08:30", "17:45")),
    ("datetime_ymd", ("2024-01-15 08:30", "2025-06-30 17:45")),
    ("alpha_only", ("abc", "xyz")),
)
KINDS = (
    "text",
    "dropdown",
    "radio",
    "checkbox",
    "notes",
    "yesno",
    "text",
    "truefalse",
    "slider",
    "text",
    "descriptive",
    "radio",
)


def bench_rows(count: int) -> list[FieldRow]:
    """`count` fields: 1 record id, 6 calculations, the rest cycling through KINDS."""
    rows = [FieldRow(field_name="record_id", form_name=FORM, field_label="Record ID")]
    calcs = {count // 7 * k for k in range(1, 7)}
    for number in range(1, count):
        name = f"f_{number:03d}"
        common = {
            "field_name": name,
            "form_name": FORM,
            "field_label": f"Question {number}",
            "section_header": f"Section {number // 40 + 1}" if number % 40 == 1 else "",
            "field_note": "Answer as best you can" if number % 3 == 0 else "",
            # Every fourth field shows only when the first text field is filled in.
            "branching_logic": "[f_001] <> ''" if number % 4 == 0 and number > 1 else "",
            "required_field": "y" if number % 5 == 0 else "",
        }
        if number in calcs:
            # Sums of integer fields (text kind with the integer validation) seen so far.
            rows.append(
                FieldRow(
                    **common,
                    field_type="calc",
                    select_choices_or_calculations="sum([f_003], [f_021], 1)",
                )
            )
            continue
        kind = KINDS[number % len(KINDS)]
        extra: dict[str, str] = {"field_type": kind}
        if kind in ("dropdown", "radio", "checkbox"):
            extra["select_choices_or_calculations"] = CHOICES
        elif kind == "slider":
            extra["select_choices_or_calculations"] = "Low | Middle | High"
        elif kind == "text":
            extra["text_validation_type_or_show_slider_number"] = TEXTS[number % len(TEXTS)][0]
        rows.append(FieldRow(**common, **extra))
    return rows


def form_values(rows: list[FieldRow], flip: int) -> dict[str, str]:
    """POST data for every entered field; `flip` (0 or 1) picks one of two valid sets."""
    data: dict[str, str] = {}
    for number, row in enumerate(rows):
        name, kind = row.field_name, row.field_type
        if number == 0 or kind in ("calc", "descriptive"):
            continue
        if kind == "text":
            vtype = row.text_validation_type_or_show_slider_number
            data[name] = dict(TEXTS)[vtype][flip]
        elif kind == "notes":
            data[name] = ("A longer note.\nSecond line.", "Another note.")[flip]
        elif kind in ("dropdown", "radio"):
            data[name] = ("2", "4")[flip]
        elif kind == "checkbox":
            for code in "12345":
                data[f"{name}___{code}"] = "1" if (int(code) + flip) % 2 else ""
            data = {k: v for k, v in data.items() if v != ""}
        elif kind in ("yesno", "truefalse"):
            data[name] = ("1", "0")[flip]
        elif kind == "slider":
            data[name] = ("25", "75")[flip]
    data[f"{FORM}_complete"] = ("0", "2")[flip]
    return data


HIDDEN = re.compile(
    r'<input type="hidden" name="(base_version|base_values|csrfmiddlewaretoken)"'
    r' value="([^"]*)"'
)


def hidden_inputs(page: bytes) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page.decode())}


class CountQueries:
    """Counts the queries run on the default connection inside the block."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> CountQueries:
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._wrapper.__exit__(*exc)

    def __len__(self) -> int:
        return self.count


def summary(name: str, times: list[float], target: float) -> str:
    ordered = sorted(times)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    median = statistics.median(times)
    verdict = "ok" if median <= target else "OVER TARGET"
    return (
        f"{name:<28} median {median:7.1f} ms   min {ordered[0]:7.1f}   p90 {p90:7.1f}   "
        f"max {ordered[-1]:7.1f}   (target ≤ {target:.0f} ms: {verdict})"
    )


def setup(count: int) -> tuple[User, Project, Record, list[FieldRow]]:
    call_command("migrate", verbosity=0)
    user = User.objects.create_user(username="bench", is_superuser=True)
    context = AuditContext(actor=user)
    project = project_create(context=context, title="Data entry bench")
    rows = bench_rows(count)
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    record = record_create(context=context, project=project)
    return user, project, record, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=200)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    user, project, record, rows = setup(args.fields)
    event = project.events.get()
    client = Client(HTTP_HOST="localhost")  # CSRF is not enforced by the test client
    force_login_verified(client, user)  # both factors, as after the code step
    url = reverse("records:form", args=(project.pk, record.record_id, event.unique_name, FORM, 1))

    get_times: list[float] = []
    save_times: list[float] = []
    get_queries = save_queries = 0
    page_size = 0
    audit_before = AuditEvent.objects.count()
    for run in range(args.warmup + args.runs):
        start = time.perf_counter()
        with CountQueries() as get_q:
            response = client.get(url)
        got = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, response.status_code
        page_size = len(response.content)
        hidden = hidden_inputs(response.content)
        data = {
            **form_values(rows, run % 2),
            "base_version": hidden["base_version"],
            "base_values": hidden["base_values"],
            "reason": f"bench run {run}",
            "action": "stay",
        }
        start = time.perf_counter()
        with CountQueries() as save_q:
            response = client.post(url, data)
        saved = (time.perf_counter() - start) * 1000
        assert response.status_code == 302, (response.status_code, response.content[:2000])
        if run >= args.warmup:
            get_times.append(got)
            save_times.append(saved)
            get_queries, save_queries = len(get_q), len(save_q)

    form = FormData.objects.get(record=record, form_name=FORM)
    runs = args.warmup + args.runs
    assert form.version == runs, (form.version, runs)
    audited = AuditEvent.objects.count() - audit_before
    assert audited == runs, (audited, runs)
    entered = len(form_values(rows, 0))
    last_changes = AuditEvent.objects.order_by("-id").values_list("changes", flat=True).first()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}, "
        f"django {django.get_version()}, database {connection.vendor}"
    )
    print(
        f"{len(rows)} fields ({sum(r.field_type == 'calc' for r in rows)} calculations, "
        f"{sum(bool(r.branching_logic) for r in rows)} with branching), {entered} posted values, "
        f"page {page_size / 1024:.0f} KiB, {len(last_changes or {})} changes per save audited"
    )
    print(f"queries: GET {get_queries}, save {save_queries}")
    print(summary("GET form (Client.get)", get_times, 150))
    print(summary("save (Client.post, 302)", save_times, 300))


if __name__ == "__main__":
    main()
