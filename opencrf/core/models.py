"""Shared rows of the kernel: counters that every web process and node sees alike."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """One window of a rate limit for one key (`opencrf.core.counters`).

    Kept in the database rather than a process's memory, so several server processes (and
    several nodes) count together and a limit means what it says."""

    key = models.CharField(max_length=120, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
