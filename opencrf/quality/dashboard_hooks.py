"""Hooks of the query dashboard on records' pages: a record's queries on its home page."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from opencrf.quality.dashboard_rows import display_rows
from opencrf.quality.dashboard_selectors import record_queries
from opencrf.records.page_hooks import RecordPage, record_panel_register


def record_query_panel(page: RecordPage) -> SafeString | None:
    """The record's queries the member may see, open ones first; nothing without the right to
    view queries, or when the record has none."""
    if not page.rights.can_view_queries():
        return None
    rows, total = record_queries(page.project, page.rights, page.record, now=timezone.now())
    if not rows:
        return None
    context = {
        "project": page.project,
        "record": page.record,
        "rows": display_rows(page.project, rows),
        "total": total,
    }
    return SafeString(render_to_string("quality/record_queries.html", context, page.request))


def register() -> None:
    """Register this feature's hooks with records (called once from QualityConfig.ready)."""
    record_panel_register(record_query_panel)
