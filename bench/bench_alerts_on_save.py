"""What evaluating 100 alerts adds to a form save (target: ≤ 50 ms).

    python bench/bench_alerts_on_save.py [--alerts 100] [--runs 30]

Loads the demo study in a scratch data folder (SQLite, or DATABASE_URL when set) and times
`form_save` of an adverse event form — the service every write path calls, with the
post-commit hooks that run after it — first with no alerts, then with `--alerts` enabled
alerts on that form, each with its own condition (reading the saved form, another event of
the record, and functions). Printed: the median and 95th percentile of each, and what the
alerts add:

- steady: the conditions stay false, as on most saves (nothing to write);
- conditions become true: on each save (a new instance) the conditions become true, so each
  alert that holds schedules a notification and audits it (the worst case; in a study, once per
  adverse event).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from benchsetup import setup_django

DATA_DIR = setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from opencrf.accounts.models import User  # noqa: E402
from opencrf.alerts.evaluation import compiled_alerts, forms_saved  # noqa: E402
from opencrf.alerts.models import Alert, Notification  # noqa: E402
from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.demo.loader import load_demo  # noqa: E402
from opencrf.projects.models import Event, Project  # noqa: E402
from opencrf.projects.services import design_changed  # noqa: E402
from opencrf.records.hooks import FormKey  # noqa: E402
from opencrf.records.models import Record  # noqa: E402
from opencrf.records.services import form_save  # noqa: E402

CONDITIONS = (
    "[ae_serious] = '1' and [ae_severity] >= '{k}'",
    "[ae_serious] = '1' and [baseline_arm_1][weight] > {k}",
    "[ae_serious] = '1' and datediff([ae_onset], 'today', 'd') < {k}00",
    "[ae_serious] = '1' and (contains([ae_term], 'a') or [ae_related] = '{k}')",
)


def make_alerts(project: Project, count: int) -> None:
    Alert.objects.bulk_create(
        Alert(
            project=project,
            title=f"alert {n}",
            form_name="adverse_event",
            condition_logic=CONDITIONS[n % len(CONDITIONS)].format(k=1 + n % 3),
            addresses=f"safety{n}@example.org",
            subject_en="SAE [record-name]",
            body_en="[ae_term]",
        )
        for n in range(count)
    )
    design_changed(project)


def time_saves(
    project: Project, event: Event, runs: int, values: dict[str, str], first: int
) -> list[float]:
    """Milliseconds of each save, hooks included; each run a new instance (from `first`)."""
    context = AuditContext.system()
    times = []
    for run in range(runs):
        record = Record.objects.filter(project=project).order_by("pk")[run % 12]
        project.refresh_from_db()
        started = time.perf_counter()
        form_save(
            context=context,
            record=record,
            event=event,
            form_name="adverse_event",
            instance=first + run,
            values={**values, "ae_term": f"bench term {run}"},
            base_version=None,
            reason="bench",
        )
        times.append((time.perf_counter() - started) * 1000)
    return times


def time_hook(project: Project, event: Event, runs: int) -> list[float]:
    """Milliseconds of the alerts' hook alone for a saved form whose conditions stay false."""
    record = Record.objects.filter(project=project).order_by("pk").first()
    assert record is not None
    key = FormKey(record.pk, event.pk, "adverse_event", 2000)
    times = []
    for _run in range(runs):
        started = time.perf_counter()
        forms_saved(project, [key])
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    print(f"{label}: median {median:.1f} ms, p95 {p95:.1f} ms ({len(times)} saves)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()}, database {connection.vendor}"
    )
    call_command("migrate", verbosity=0)
    User.objects.create_superuser("bench", "b@example.org", "x" * 20)
    project, _created = load_demo(owner_username="bench")
    event = Event.objects.get(project=project, unique_name="week_12_arm_1")
    quiet = {"ae_serious": "0", "ae_severity": "2", "ae_onset": "2026-01-05"}
    time_saves(project, event, 3, quiet, 10)  # warm caches: design, templates, connections
    bare = summary("no alerts", time_saves(project, event, args.runs, quiet, 1000))

    make_alerts(project, args.alerts)
    steady = summary(
        f"{args.alerts} alerts, conditions false",
        time_saves(project, event, args.runs, quiet, 2000),
    )
    project.refresh_from_db()
    compiled_alerts(project)  # the first save after a change of alerts parses them once
    hook = summary(
        f"the alerts hook alone ({args.alerts} alerts)", time_hook(project, event, args.runs)
    )
    today = time.strftime("%Y-%m-%d")
    loud = {**quiet, "ae_serious": "1", "ae_severity": "3", "ae_related": "1", "ae_onset": today}
    fire = summary(
        f"{args.alerts} alerts, conditions become true",
        time_saves(project, event, args.runs, loud, 3000),
    )
    scheduled = Notification.objects.count()
    print(f"notifications scheduled: {scheduled}")
    print(f"evaluating {args.alerts} alerts on a save: {hook:.1f} ms (target ≤ 50 ms)")
    print(f"added by {args.alerts} alerts to a save (steady): {steady - bare:.1f} ms")
    print(f"added by {args.alerts} alerts (becoming true): {fire - bare:.1f} ms")
    if scheduled == 0:
        raise SystemExit("no alert fired: the benchmark measured nothing")


if __name__ == "__main__":
    main()
