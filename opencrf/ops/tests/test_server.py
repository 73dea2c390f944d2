"""How many web processes `opencrf serve` starts when not told."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from opencrf.ops import server

SQLITE = {"default": {"ENGINE": "django.db.backends.sqlite3"}}
POSTGRES = {"default": {"ENGINE": "django.db.backends.postgresql"}}


@pytest.mark.parametrize(
    ("databases", "cpus", "expected"),
    [
        (SQLITE, 1, 1),
        (SQLITE, 2, 2),
        (SQLITE, 16, 4),
        (POSTGRES, 1, 3),
        (POSTGRES, 2, 5),
        (POSTGRES, 16, 9),
    ],
)
def test_default_workers_follow_the_database_and_the_cpus(monkeypatch, databases, cpus, expected):
    monkeypatch.setattr(server, "settings", SimpleNamespace(DATABASES=databases))
    monkeypatch.setattr(server.multiprocessing, "cpu_count", lambda: cpus)

    assert server.default_workers() == expected
