"""Randomizing at the same moment (PostgreSQL: writers run in parallel): one allocation per
record, each row used once, none skipped."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from opencrf.audit.services import AuditContext
from opencrf.core.errors import DomainError
from opencrf.randomization.models import Allocation, AllocationRow
from opencrf.randomization.services import record_randomize, setup_save, table_generate
from opencrf.randomization.tests.conftest import enrol, stratified
from opencrf.testing.audit import lift_audit_triggers_for_the_flush

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def committed():
    yield
    lift_audit_triggers_for_the_flush()


def race(count, work):
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def run(n):
        try:
            barrier.wait()
            work(n)
            outcomes.append("allocated")
        except DomainError as error:
            outcomes.append(error.message)
        except Exception as error:  # a failure of another kind must show in the assertion
            outcomes.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(outcomes)


@pytest.fixture
def world(trial, event, paula_context, committed):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    setup_save(context=paula_context, project=trial, data=stratified(trial, event))
    table_generate(
        context=paula_context,
        project=trial,
        environment="development",
        block_sizes="2, 4",
        blocks=10,
        seed="race",
    )
    return trial


def test_two_users_randomizing_one_record_at_once_give_one_allocation(world, pi_paula, site_a):
    record = enrol(AuditContext(actor=pi_paula), world, "A-1", site_a, {"sex": "1"})

    outcomes = race(
        2,
        lambda n: record_randomize(
            context=AuditContext(actor=pi_paula), project=world, record=record
        ),
    )

    assert outcomes == ["Record A-1 is randomized already.", "allocated"]
    assert Allocation.objects.count() == 1
    assert AllocationRow.objects.filter(used=True).count() == 1


def test_twelve_records_of_one_stratum_at_once_take_the_first_twelve_rows(world, pi_paula, site_a):
    context = AuditContext(actor=pi_paula)
    records = [enrol(context, world, f"A-{n}", site_a, {"sex": "1"}) for n in range(12)]

    outcomes = race(
        12,
        lambda n: record_randomize(
            context=AuditContext(actor=pi_paula), project=world, record=records[n]
        ),
    )

    assert outcomes == ["allocated"] * 12
    rows = AllocationRow.objects.filter(stratum_key="sex=1").order_by("position")
    used = [row.used for row in rows]
    assert used[:12] == [True] * 12 and not any(used[12:])
    assert sorted(Allocation.objects.values_list("sequence", flat=True)) == list(range(1, 13))
