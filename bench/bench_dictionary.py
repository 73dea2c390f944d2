"""Benchmark: parse, check and store a 5,000-field data dictionary (target ≤ 5 s).

Run: python bench/bench_dictionary.py [--fields N] [--repeat R]
Uses a scratch data folder and the embedded SQLite database, or DATABASE_URL if set.
Prints the median of R runs for each stage; record results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OPENCRF_DATA_DIR", tempfile.mkdtemp(prefix="opencrf-bench-"))
os.environ.setdefault("OPENCRF_SECRET_KEY", "bench-" + "x" * 50)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opencrf.config.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.dictionary.checks import check_dictionary  # noqa: E402
from opencrf.dictionary.columns import FieldRow  # noqa: E402
from opencrf.dictionary.csvio import parse_dictionary_csv, write_dictionary_csv  # noqa: E402
from opencrf.dictionary.services import dictionary_apply  # noqa: E402
from opencrf.projects.services import project_create  # noqa: E402

_KINDS = [
    {
        "field_type": "text",
        "text_validation_type_or_show_slider_number": "date_ymd",
        "text_validation_min": "2000-01-01",
        "text_validation_max": "2030-12-31",
    },
    {
        "field_type": "text",
        "text_validation_type_or_show_slider_number": "number_1dp",
        "text_validation_min": "0.0",
        "text_validation_max": "300.0",
    },
    {"field_type": "radio", "select_choices_or_calculations": "1, Yes | 2, No | 3, Unknown"},
    {"field_type": "checkbox", "select_choices_or_calculations": "a, Alpha | b, Beta | c, Gamma"},
    {
        "field_type": "dropdown",
        "select_choices_or_calculations": " | ".join(f"{i}, Option {i}" for i in range(20)),
    },
    {"field_type": "notes"},
    {"field_type": "yesno", "branching_logic": "[f_0001] <> ''"},
    {"field_type": "calc", "select_choices_or_calculations": "[f_0002] * 2"},
    {"field_type": "slider", "select_choices_or_calculations": "Low | Mid | High"},
]


def make_rows(count: int) -> list[FieldRow]:
    rows = [FieldRow(field_name="record_id", form_name="form_001", field_label="Record ID")]
    for i in range(1, count):
        kind = _KINDS[i % len(_KINDS)]
        rows.append(
            FieldRow(
                field_name=f"f_{i:04d}",
                form_name=f"form_{i // 100 + 1:03d}",
                field_label=f"Question {i} / 質問 {i}",
                **kind,
            )
        )
    return rows


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fields", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    data = write_dictionary_csv(make_rows(args.fields)).encode("utf-8")
    context = AuditContext.system()
    stages: dict[str, list[float]] = {"parse": [], "check": [], "store": [], "total": []}
    for run in range(args.repeat):
        project = project_create(context=context, title=f"Bench {run}")
        parse_s, rows = timed(parse_dictionary_csv, data)
        check_s, problems = timed(check_dictionary, rows)
        assert problems == [], problems[:3]
        store_s, _ = timed(
            dictionary_apply, context=context, project=project, rows=rows, source="upload"
        )
        for name, value in zip(
            stages, (parse_s, check_s, store_s, parse_s + check_s + store_s), strict=True
        ):
            stages[name].append(value)
    from django.db import connection

    print(
        f"{args.fields} fields, {len(data) / 1e6:.2f} MB CSV, {connection.vendor},",
        f"median of {args.repeat}",
    )
    for name, values in stages.items():
        print(f"  {name:<6} {statistics.median(values) * 1000:8.0f} ms")
    print("  (store re-runs the check inside dictionary_apply, as every upload does)")


if __name__ == "__main__":
    main()
