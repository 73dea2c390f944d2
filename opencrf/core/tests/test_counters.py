"""The shared counters behind rate limits: one row a key, counted by every process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from opencrf.core.counters import count_add, counts
from opencrf.core.models import RateCounter
from opencrf.testing.audit import lift_audit_triggers_for_the_flush

WRITERS = 12


@pytest.mark.django_db
def test_a_new_key_counts_one_and_each_addition_one_more() -> None:
    count_add("a", keep_seconds=60)
    count_add("a", keep_seconds=60)
    count_add("b", keep_seconds=60)

    assert counts(["a", "b", "missing"]) == {"a": 2, "b": 1}
    assert counts([]) == {}


@pytest.mark.django_db
def test_a_key_keeps_the_expiry_it_was_made_with() -> None:
    count_add("a", keep_seconds=60)
    made = RateCounter.objects.get(key="a").expires_at
    count_add("a", keep_seconds=3600)

    row = RateCounter.objects.get(key="a")
    assert (row.count, row.expires_at) == (2, made)
    assert timedelta(seconds=55) < made - datetime.now(UTC) <= timedelta(seconds=60)


@pytest.mark.django_db
def test_an_expired_key_is_not_counted_and_is_deleted_when_a_new_key_is_made() -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    RateCounter.objects.create(key="old", count=7, expires_at=past)
    count_add("live", keep_seconds=60)
    count_add("live", keep_seconds=60)  # an existing key: nothing is deleted meanwhile
    assert counts(["old", "live"]) == {"live": 2}

    RateCounter.objects.create(key="older", count=3, expires_at=past)
    count_add("new", keep_seconds=60)

    assert sorted(RateCounter.objects.values_list("key", "count")) == [("live", 2), ("new", 1)]


@pytest.fixture
def committed() -> Iterator[None]:
    yield
    lift_audit_triggers_for_the_flush()  # a committed test's flush empties the audit table too


@pytest.mark.django_db(transaction=True)
def test_writers_adding_to_one_key_at_once_lose_no_count(committed: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    barrier = threading.Barrier(WRITERS)
    failures: list[str] = []

    def add() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                count_add("shared", keep_seconds=60)
        except Exception as error:
            failures.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    assert counts(["shared"]) == {"shared": 5 * WRITERS}
