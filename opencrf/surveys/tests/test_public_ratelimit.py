"""The sliding window of the public pages' rate limits."""

from __future__ import annotations

import pytest

from opencrf.core.models import RateCounter
from opencrf.surveys.ratelimit import Limit, exceeded, hit

pytestmark = pytest.mark.django_db
LIMIT = Limit("test", 3, 60)


def test_a_key_is_refused_once_its_window_is_full_and_others_are_not():
    assert [hit(LIMIT, "a", now=600.0 + n) for n in range(5)] == [True, True, True, False, False]
    assert exceeded(LIMIT, "a", now=610.0) is True
    assert hit(LIMIT, "b", now=610.0) is True


def test_the_previous_window_counts_in_proportion_to_what_is_left_of_it():
    assert all(hit(LIMIT, "a", now=600.0 + n) for n in range(3))
    assert hit(LIMIT, "a", now=661.0) is False  # just after the turn: the last minute is full
    assert hit(LIMIT, "a", now=700.0) is True  # a third of the old window counts: 1 + 0 < 3
    assert hit(LIMIT, "a", now=701.0) is True
    assert hit(LIMIT, "a", now=702.0) is False
    assert hit(LIMIT, "a", now=781.0) is True  # two windows later


def test_the_counts_are_rows_every_process_shares():
    assert all(hit(LIMIT, "a", now=600.0 + n) for n in range(3))
    assert list(RateCounter.objects.values_list("count", flat=True)) == [3]
