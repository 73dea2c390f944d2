"""Background jobs of exports (Django Tasks, run by the worker): writing an export asked for
on a report's page, and the nightly deletion of expired exports (enqueued by ops/schedule.py)."""

from __future__ import annotations

from django_tasks import task

from opencrf.exports.archive import export_file_write as _write
from opencrf.exports.archive import exports_expire


@task()
def export_file_write(export_id: int) -> str:
    """Write queued export `export_id`; returns its status (idempotent: a second run of the
    same id does nothing)."""
    export = _write(export_id)
    return export.status if export is not None else "skipped"


@task()
def expire_exports() -> int:
    """Delete the files of expired exports; returns how many."""
    return exports_expire()
