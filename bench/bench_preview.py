"""Time the read-only preview of a 500-field instrument.

    python bench/bench_preview.py [--fields 500] [--runs 20]

Builds a throw-away project in a temporary data folder (SQLite), with one instrument that
mixes every field type, matrix groups, section headers, branching logic and action tags,
then requests its preview page through django.test.Client. Prints the median and spread of
the whole request, and of its two parts: building the layout and rendering the template.
Target: the whole request in 300 ms or less.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

from benchsetup import setup_django

DATA_DIR = setup_django()

import django  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.urls import reverse  # noqa: E402

from opencrf.accounts.models import User  # noqa: E402
from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.dictionary.columns import FieldRow  # noqa: E402
from opencrf.dictionary.rendering import instrument_layout  # noqa: E402
from opencrf.dictionary.services import dictionary_apply  # noqa: E402
from opencrf.projects.models import Project  # noqa: E402
from opencrf.projects.services import project_create  # noqa: E402
from opencrf.testing.auth import force_login_verified  # noqa: E402

FORM = "big_form"
CHOICES = "1, Never | 2, Rarely | 3, Sometimes | 4, Often | 5, Always"
VALIDATIONS = (
    "",
    "date_ymd",
    "date_dmy",
    "datetime_mdy",
    "time",
    "integer",
    "number_1dp",
    "email",
    "phone",
    "zipcode",
)


def _single(number: int) -> dict[str, str]:
    """The columns of the `number`th plain (non-matrix) field, cycling through the types."""
    kinds: list[dict[str, str]] = [
        {
            "field_type": "text",
            "text_validation_type_or_show_slider_number": VALIDATIONS[number % len(VALIDATIONS)],
        },
        {"field_type": "notes", "field_annotation": "@CHARLIMIT=500"},
        {"field_type": "dropdown", "select_choices_or_calculations": CHOICES},
        {
            "field_type": "dropdown",
            "select_choices_or_calculations": CHOICES,
            "text_validation_type_or_show_slider_number": "autocomplete",
        },
        {
            "field_type": "radio",
            "select_choices_or_calculations": CHOICES,
            "custom_alignment": "LH",
        },
        {"field_type": "checkbox", "select_choices_or_calculations": CHOICES},
        {"field_type": "yesno"},
        {"field_type": "truefalse"},
        {"field_type": "calc", "select_choices_or_calculations": "[f_001] + 1"},
        {"field_type": "file"},
        {
            "field_type": "slider",
            "select_choices_or_calculations": "Low | Middle | High",
            "text_validation_type_or_show_slider_number": "number",
        },
        {"field_type": "descriptive"},
        {"field_type": "text", "field_annotation": "@HIDDEN @PLACEHOLDER='type here'"},
    ]
    return kinds[number % len(kinds)]


def bench_rows(count: int) -> list[FieldRow]:
    """`count` fields: a matrix group of 5 radios or 4 checkboxes after every 20 plain ones."""
    rows = [FieldRow(field_name="record_id", form_name=FORM, field_label="Record ID")]
    while len(rows) < count:
        number = len(rows)
        if number % 25 == 20:
            rows.extend(_matrix(number, count - len(rows)))
            continue
        rows.append(_plain(number))
    return rows


def _plain(number: int) -> FieldRow:
    extra = _single(number)
    return FieldRow(
        field_name=f"f_{number:03d}",
        form_name=FORM,
        section_header=f"Section {number // 50 + 1}" if number % 50 == 1 else "",
        field_label=f"Question {number}: how often does this happen?\nThink of last week.",
        field_note="Answer as best you can" if number % 3 == 0 else "",
        branching_logic="[f_001] <> ''" if number % 4 == 0 else "",
        required_field="y" if number % 5 == 0 else "",
        **extra,
    )


def _matrix(number: int, room: int) -> list[FieldRow]:
    field_type = "radio" if number % 50 == 20 else "checkbox"
    size = min(5 if field_type == "radio" else 4, room)
    return [
        FieldRow(
            field_name=f"m_{number:03d}_{index}",
            form_name=FORM,
            section_header="How often…" if index == 0 else "",
            field_type=field_type,
            field_label=f"Matrix item {index + 1}",
            select_choices_or_calculations=CHOICES,
            matrix_group_name=f"grid_{number:03d}",
        )
        for index in range(size)
    ]


def timed(action: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    return (
        f"{name:<32} median {statistics.median(times):7.1f} ms   "
        f"min {ordered[0]:7.1f}   p90 {p90:7.1f}   max {ordered[-1]:7.1f}"
    )


def setup(count: int) -> tuple[User, Project, list[FieldRow]]:
    call_command("migrate", verbosity=0)
    user = User.objects.create_user(username="bench")  # force_login needs no password
    context = AuditContext(actor=user)
    project = project_create(context=context, title="Preview bench")
    rows = bench_rows(count)
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    return user, project, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    user, project, rows = setup(args.fields)
    client = Client(HTTP_HOST="localhost")
    force_login_verified(client, user)  # both factors, as after the code step
    url = reverse("dictionary:instrument", args=(project.pk, FORM))
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    layout = instrument_layout(rows, record_id_field="record_id")
    context = {
        "project": project,
        "instrument": project.instruments.get(),
        "layout": layout,
        "nav": "instruments",
        "readonly": True,
    }
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}, "
        f"django {django.get_version()}"
    )
    print(f"{len(rows)} fields, {len(layout)} blocks, page {len(response.content) / 1024:.0f} KiB")
    print(summary("whole request (Client.get)", timed(lambda: client.get(url), args.runs)))
    print(
        summary(
            "instrument_layout()",
            timed(lambda: instrument_layout(rows, record_id_field="record_id"), args.runs),
        )
    )
    request = RequestFactory(HTTP_HOST="localhost").get(url)
    request.user = user
    print(
        summary(
            "render template only",
            timed(
                lambda: render_to_string("dictionary/instrument_preview.html", context, request),
                args.runs,
            ),
        )
    )


if __name__ == "__main__":
    main()
