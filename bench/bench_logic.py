"""Benchmark: evaluate every branching logic and calculation of a 1,000-field instrument
server-side (target ≤ 20 ms), as a save recomputes them.

Run: python bench/bench_logic.py [--fields N] [--runs R]
Prints the median and p90 of R runs of `evaluate_form` (parse from the cache, evaluate all),
and the cold first run that parses every expression. Record results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OPENCRF_SECRET_KEY", "bench-" + "x" * 50)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opencrf.config.settings")

import django

django.setup()

from opencrf.dictionary.columns import FieldRow  # noqa: E402
from opencrf.dictionary.form_logic import evaluate_form  # noqa: E402

RADIO = "1, Yes | 2, No | 3, Unknown"


def make_form(count: int) -> tuple[list[FieldRow], dict[str, str]]:
    """Every 10th field a calculation chaining on the last, 3 in 10 with branching logic."""
    rows = [FieldRow("record_id", "big")]
    values = {"record_id": "1"}
    for index in range(1, count):
        name = f"f{index:04d}"
        previous = f"f{index - 1:04d}"
        if index % 10 == 0:
            rows.append(
                FieldRow(
                    name,
                    "big",
                    field_type="calc",
                    select_choices_or_calculations=f"round(([{previous}] + {index}) / 3, 2)",
                )
            )
            continue
        logic = f"[f{max(1, index - 3):04d}] <> '2' and [record_id] <> ''" if index % 3 == 0 else ""
        kind = "radio" if index % 2 else "text"
        choices = RADIO if kind == "radio" else ""
        rows.append(
            FieldRow(
                name,
                "big",
                field_type=kind,
                select_choices_or_calculations=choices,
                branching_logic=logic,
            )
        )
        values[name] = "1" if kind == "radio" else str(index)
    return rows, values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fields", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    rows, values = make_form(args.fields)
    logic = sum(1 for row in rows if row.branching_logic)
    calcs = sum(1 for row in rows if row.field_type == "calc")
    started = time.perf_counter()
    evaluate_form(rows, values)
    cold = time.perf_counter() - started
    timings = []
    for _run in range(args.runs):
        started = time.perf_counter()
        evaluate_form(rows, values)
        timings.append(time.perf_counter() - started)
    timings.sort()
    print(f"{args.fields} fields: {logic} with branching logic, {calcs} calculations")
    print(f"  first run (parses every expression)  {cold * 1000:7.1f} ms")
    print(f"  median of {args.runs:<33}{statistics.median(timings) * 1000:7.1f} ms")
    print(
        f"  p90                                  {timings[int(len(timings) * 0.9)] * 1000:7.1f} ms"
    )


if __name__ == "__main__":
    main()
