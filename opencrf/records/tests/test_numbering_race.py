"""Records numbered automatically at the same moment by many writers (the survey's public link
under load) all get a number, each a different one (PostgreSQL: writers run in parallel)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from opencrf.audit.services import AuditContext
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.services import project_create
from opencrf.records.models import FormData, Record
from opencrf.records.services import record_create_with_form
from opencrf.testing.audit import lift_audit_triggers_for_the_flush

pytestmark = pytest.mark.django_db(transaction=True)
WRITERS = 20


@pytest.fixture
def committed():
    yield
    lift_audit_triggers_for_the_flush()


def test_twenty_writers_numbering_records_at_once_each_get_a_distinct_number(pi_paula, committed):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    context = AuditContext(actor=pi_paula)
    project = project_create(context=context, title="Numbering race")
    rows = [
        FieldRow(field_name="record_id", form_name="intake", field_label="Record ID"),
        FieldRow(field_name="note", form_name="intake", field_label="Note"),
    ]
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    event = project.events.get()
    barrier = threading.Barrier(WRITERS)
    failures: list[str] = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            record_create_with_form(
                context=context,
                project=project,
                record_id=None,
                arm=None,
                event=event,
                form_name="intake",
                values={"note": f"writer {n}"},
            )
        except Exception as error:
            failures.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    numbers = Record.objects.filter(project=project).values_list("record_id", flat=True)
    assert sorted(int(number) for number in numbers) == list(range(1, WRITERS + 1))
    notes = FormData.objects.filter(project_id=project.pk).values_list("values__note", flat=True)
    assert sorted(notes) == sorted(f"writer {n}" for n in range(WRITERS))
