"""Background jobs of records (Django Tasks, run by the worker; enqueued by ops/schedule.py):
the daily deletion of Data Import Tool uploads that were never confirmed nor cancelled."""

from __future__ import annotations

from django_tasks import task

from opencrf.records.import_staging import import_staging_expire


@task()
def expire_import_staging() -> int:
    """Delete staged import files older than a day; returns how many."""
    return import_staging_expire()
