"""Query rows as the dashboard and the record panel show them: plain strings, formatted once.

A page lists up to 100 rows; giving the template ready strings (dates in the site's time zone,
shortened labels) instead of objects and filters keeps its rendering a small part of the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from opencrf.projects.models import Project
from opencrf.quality.dashboard_selectors import QueryRow
from opencrf.quality.query_models import Query, QueryStatus

LABEL_CHARACTERS = 80
BADGES: dict[str, str] = {
    QueryStatus.VERIFIED: "text-bg-success",
    QueryStatus.CLOSED: "text-bg-secondary",
}


@dataclass(frozen=True, slots=True)
class DisplayRow:
    pk: str
    status: str
    status_label: str
    badge: str
    record_id: str
    event_name: str
    form_label: str  # with the instance number after it when above 1
    field_name: str
    field_label: str
    category: str
    opened_by: str
    opened_at: str
    assigned_to: str
    days_open: str
    last_step: str  # action · author · time
    last_text: str
    link: str  # the query's thread ("" until that page exists)
    field_link: str  # the field on its form


def display_rows(project: Project, rows: list[QueryRow]) -> list[DisplayRow]:
    return [_display(project, row) for row in rows]


def _display(project: Project, row: QueryRow) -> DisplayRow:
    query, step = row.query, row.last_step
    instance = f" #{query.instance}" if query.instance > 1 else ""
    last_step = ""
    if step is not None:
        author = step.author.username if step.author else "—"
        last_step = f"{step.get_action_display()} · {author} · {_when(step.at)}"
    return DisplayRow(
        pk=str(query.pk),
        status=query.status,
        status_label=str(query.get_status_display()),
        badge="text-bg-warning" if row.is_open else BADGES.get(query.status, "text-bg-secondary"),
        record_id=query.record.record_id,
        event_name=row.event_name,
        form_label=row.form_label + instance,
        field_name=query.field_name,
        field_label=_short(row.field_label),
        category=query.category,
        opened_by=query.opened_by.username if query.opened_by else "—",
        opened_at=_when(query.opened_at),
        assigned_to=query.assigned_to.username if query.assigned_to else "—",
        days_open=str(row.days_open),
        last_step=last_step,
        last_text=_short(step.text) if step is not None else "",
        link=query_link(project, query),
        field_link=field_link(project, query),
    )


def query_link(project: Project, query: Query) -> str:
    """The query's thread page. Its route is built beside this feature; until it is there the
    rows show no link rather than failing."""
    try:
        return reverse("quality:query", args=[project.pk, query.pk])
    except NoReverseMatch:
        return ""


def field_link(project: Project, query: Query) -> str:
    args = [project.pk, query.record.record_id, query.event.unique_name]
    url = reverse("records:form", args=[*args, query.form_name, query.instance])
    return f"{url}#{query.field_name}"


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1] + "…"
