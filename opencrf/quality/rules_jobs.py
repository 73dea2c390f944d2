"""Background job of data quality rules (Django Tasks, run by the worker)."""

from __future__ import annotations

from django_tasks import task

from opencrf.quality.rules_services import run_execute


@task()
def data_quality_run(run_id: int) -> str:
    """Run queued data quality run `run_id`; returns its status (a second run does nothing)."""
    run = run_execute(run_id)
    return run.status if run is not None else "skipped"
