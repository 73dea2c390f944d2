"""Overdue visits for apps that may not import scheduling (alerts), through a registry.

Scheduling and alerts are sibling layers above records and must not import each other. The app
that knows visit schedules registers a source here at start-up (`AppConfig.ready`); alerts asks
`overdue_visits(project, today)` and gets plain values. With no source registered (scheduling
not installed) every project has no overdue visit.

A source answers for the system, not for a user: it does not filter by data access group, so a
caller that mails or shows visits must keep each one within its record's group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Protocol

from opencrf.projects.models import Project


class OverdueVisit(Protocol):
    """What a source gives for one visit past its window with nothing of its event saved."""

    @property
    def record_key(self) -> int: ...  # the record's internal id
    @property
    def record_id(self) -> str: ...
    @property
    def group_id(self) -> int | None: ...
    @property
    def event_id(self) -> int: ...
    @property
    def event_name(self) -> str: ...
    @property
    def window_end(self) -> date: ...
    @property
    def days_overdue(self) -> int: ...


OverdueVisitSource = Callable[[Project, date], Sequence[OverdueVisit]]
_sources: list[OverdueVisitSource] = []


def overdue_visit_source_register(function: OverdueVisitSource) -> None:
    """Add a source of overdue visits (once per function)."""
    if function not in _sources:
        _sources.append(function)


def overdue_visit_source_unregister(function: OverdueVisitSource) -> None:
    if function in _sources:
        _sources.remove(function)


def overdue_visits(project: Project, today: date) -> list[OverdueVisit]:
    """Every registered source's overdue visits of `project` on `today`, every group's."""
    return [visit for source in list(_sources) for visit in source(project, today)]
