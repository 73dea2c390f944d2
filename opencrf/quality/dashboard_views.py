"""The query dashboard page (REDCap's Data Resolution Dashboard): counts, filters, rows."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.views import domain_errors
from opencrf.projects.selectors import access_project, member_rights
from opencrf.quality import dashboard_selectors as selectors
from opencrf.quality.dashboard_filters import (
    AGE_CHOICES,
    PAGE_SIZES,
    UNRESOLVED,
    QueryFilters,
    parse_filters,
)
from opencrf.quality.dashboard_rows import display_rows
from opencrf.quality.query_models import QueryStatus


@login_required
@require_GET
@domain_errors
def query_dashboard(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    rights = member_rights(request.user, project)
    selectors.require_query_view(rights)
    now = timezone.now()
    forms = selectors.visible_forms(project, rights)
    visible = selectors.visible_queries(project, rights, forms)
    choices = selectors.filter_choices(project, rights, forms, visible)
    filters, errors = parse_filters(request.GET.dict(), choices)
    narrowed = selectors.filtered_queries(visible, filters, now=now)
    summary = selectors.status_summary(narrowed)
    matching = summary.matching(filters.status)
    pages = max(1, -(-matching // filters.per_page))
    page = min(filters.page, pages)  # a page past the end (an old link) shows the last one
    chosen = selectors.ordered(selectors.with_status(narrowed, filters.status), filters.sort)
    queries = selectors.page_of(chosen, page, filters.per_page)
    rows = selectors.query_rows(project, queries, choices.forms, now=now)
    context = {
        "project": project,
        "nav": "queries",
        "filters": filters,
        "choices": choices,
        "errors": errors,
        "summary": summary,
        "status_links": _status_links(filters, summary),
        "average_days": _days(summary),
        "rows": display_rows(project, rows),
        "matching": matching,
        "page": page,
        "pages": pages,
        "previous": _url(filters, page=page - 1) if page > 1 else "",
        "next": _url(filters, page=page + 1) if page < pages else "",
        "sort_link": _url(filters, sort="newest" if filters.sort == "oldest" else "", page=""),
        "ages": AGE_CHOICES,
        "page_sizes": PAGE_SIZES,
    }
    return render(request, "quality/query_dashboard.html", context, status=400 if errors else 200)


def _url(filters: QueryFilters, **changes: object) -> str:
    return "?" + urlencode(filters.query_string(**changes))


def _days(summary: selectors.StatusSummary) -> float | None:
    average = summary.average_close
    return None if average is None else average.total_seconds() / 86_400


@dataclass(frozen=True)
class StatusLink:
    value: str
    label: str
    count: int
    url: str
    current: bool


def _status_links(filters: QueryFilters, summary: selectors.StatusSummary) -> list[StatusLink]:
    def link(value: str, label: str, count: int) -> StatusLink:
        url = _url(filters, status=value, page="")
        return StatusLink(value, label, count, url, filters.status == value)

    return [
        link("", _("All"), summary.total),
        link(UNRESOLVED, _("Unresolved"), summary.unresolved),
        *(link(value, str(label), summary.counts[value]) for value, label in QueryStatus.choices),
    ]
