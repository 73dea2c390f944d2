"""Time the online designer on a 500-field instrument.

    python bench/bench_designer.py [--fields 500] [--runs 20]

Builds the 500-field instrument of bench_preview.py (every field type, matrix groups,
section headers, branching logic, action tags) in a throw-away SQLite project, then times
through django.test.Client:

- the designer page of the instrument (every field drawn by the data entry renderer, with
  its controls) — target 500 ms or less;
- adding a text field at the end through the field editor's form post, which checks and
  saves the whole dictionary as a new revision (the redirect is not followed) — target
  300 ms or less;
- the same add sent as designer.js sends a field button (copy, answered with the re-rendered
  field list), for the live update.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import time
from collections.abc import Callable

import django
from bench_preview import FORM, setup, summary
from django.test import Client
from django.urls import reverse

from opencrf.dictionary.models import DictionaryRevision
from opencrf.testing.auth import force_login_verified


def timed(action: Callable[[], object], runs: int, cpu: list[float]) -> list[float]:
    """Wall-clock times in ms; the process's CPU times go to `cpu` (on a loaded machine
    the wall clock also counts the time other processes held the cores)."""
    for _ in range(3):
        action()
    times = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return times


def _base(project: object) -> int:
    return DictionaryRevision.objects.filter(project=project).order_by("-number")[0].number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    user, project, rows = setup(args.fields)
    client = Client(HTTP_HOST="localhost")
    user.is_superuser = True  # the design right, without building a role
    user.save()
    force_login_verified(client, user)
    page = reverse("dictionary:designer_instrument", args=(project.pk, FORM))
    editor = reverse("dictionary:designer_field", args=(project.pk, FORM))
    buttons = reverse("dictionary:designer_fields", args=(project.pk, FORM))
    response = client.get(page)
    assert response.status_code == 200, response.status_code
    numbers = itertools.count(1)

    def add_field() -> None:
        data = {
            "base": _base(project),
            "field_type": "text",
            "field_label": "Added",
            "field_name": f"added_{next(numbers)}",
            "custom_alignment": "",
        }
        answer = client.post(editor, data)
        assert answer.status_code == 302, answer.status_code

    def copy_field() -> None:
        answer = client.post(
            buttons,
            {"base": _base(project), "op": "copy:f_002"},
            headers={"X-Requested-With": "fetch"},
        )
        assert answer.status_code == 200, answer.status_code

    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}, "
        f"django {django.get_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{len(rows)} fields, page {len(response.content) / 1024:.0f} KiB")
    for name, action in [
        ("designer page (GET)", lambda: client.get(page)),
        ("add a field (editor POST)", add_field),
        ("copy a field + fragment (fetch)", copy_field),
    ]:
        cpu: list[float] = []
        print(summary(name, timed(action, args.runs, cpu)))
        print(summary("  CPU time of the process", cpu))


if __name__ == "__main__":
    main()
