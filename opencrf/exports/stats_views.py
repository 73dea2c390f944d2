"""The Stats & Charts page of a report (REDCap's tab of the same name beside the report).

Thin, as the other report pages: which rows and fields the viewer may see is decided by
`selectors` and `table.export_table` (through `summary.summarise`); this module only reads
the query, and turns the summary into rows of text and SVG charts for the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.core.views import domain_errors
from opencrf.exports import selectors
from opencrf.exports.summary import (
    PERCENTILES,
    FieldSummary,
    Frequency,
    GroupSummary,
    Summary,
    group_options,
    summarise,
)
from opencrf.exports.svg import Bars, choice_bars, histogram_chart, number_text
from opencrf.exports.table import ExportRequest
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Project


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    request: ExportRequest
    live: list[selectors.LiveFilter]
    query: dict[str, Any]  # what links keep (report B's choices, live filters)
    description: str = ""


def _project(request: AuthedRequest, project_id: int) -> Project:
    project = project_selectors.access_project(request.user, project_id)
    rights = project_selectors.member_rights(request.user, project)
    if not selectors.may_use_reports(rights, project):
        raise PermissionDenied(_("You have no data export rights in this project."))
    return project


def _source(request: AuthedRequest, project: Project, key: str) -> Source:
    data = request.GET
    if key in selectors.BUILT_IN:
        forms, events = data.getlist("forms"), data.getlist("events")
        built = selectors.built_in_request(project, key, forms, events)
        query: dict[str, Any] = {"forms": forms, "events": events} if key == "B" else {}
        return Source(key, str(selectors.BUILT_IN[key]), built, [], query)
    report = selectors.access_report(request.user, project, key)
    chosen = {name: data.get(f"live_{name}", "") for name in report.live_filters}
    live = selectors.live_filters(request.user, project, report, chosen)
    built = selectors.report_request(project, report, live)
    query = {f"live_{f.name}": [f.chosen] for f in live if f.chosen}
    return Source(key, report.title, built, live, query, report.description)


@login_required
@domain_errors
def report_stats(request: AuthedRequest, project_id: int, key: str) -> HttpResponse:
    project = _project(request, project_id)
    try:
        source = _source(request, project, key)
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect("exports:list", project.pk)
    summary = summarise(request.user, project, source.request, request.GET.get("group", ""))
    hidden = {k: v for k, v in source.query.items() if not k.startswith("live_")}
    context = {
        "project": project,
        "nav": "reports",
        "source": source,
        "summary": summary,
        "fields": fields_shown(summary),
        "group_options": _group_choices(summary),
        "grouped": summary.group_by is not None,
        "report_query": "?" + urlencode(source.query, True) if source.query else "",
        "hidden": [(k, v) for k, values in hidden.items() for v in _listify(values)],
        "percentiles": [p for p in PERCENTILES if p != 50],
    }
    return render(request, "exports/stats.html", context)


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _group_choices(summary: Summary) -> list[tuple[str, str, bool]]:
    chosen = summary.group_by.name if summary.group_by else ""
    return [
        (g.name, g.label, g.name == chosen)
        for g in group_options(summary.table, summary.table.project)
    ]


@dataclass(frozen=True)
class Shown:
    """One field as the page shows it: a row of figures per group, options, a chart."""

    name: str
    label: str
    kind: str
    rows: list[dict[str, Any]]  # the overall row, then a row per group
    options: list[dict[str, Any]]  # choices: label, then (count, percent) per group
    chart: SafeString | None


def fields_shown(summary: Summary) -> list[Shown]:
    parts = [summary.overall, *summary.groups]
    shown = []
    for n, overall in enumerate(summary.overall.fields):
        per_part = [(part, part.fields[n]) for part in parts]
        shown.append(
            Shown(
                overall.name,
                overall.label,
                overall.kind,
                [_figures(part, one) for part, one in per_part],
                _options(per_part),
                _chart(overall, per_part[1:] if summary.groups else per_part),
            )
        )
    return shown


def _figures(part: GroupSummary, one: FieldSummary) -> dict[str, Any]:
    row: dict[str, Any] = {
        "group": part.label,
        "count": one.count,
        "missing": one.missing,
        "unique": one.unique,
        "earliest": one.earliest,
        "latest": one.latest,
        "invalid": one.invalid,
    }
    numbers = one.numbers
    if numbers is not None:
        row |= {
            "min": number_text(numbers.minimum),
            "max": number_text(numbers.maximum),
            "mean": number_text(numbers.mean),
            "sd": number_text(numbers.sd) if numbers.sd is not None else "",
            "median": number_text(numbers.median),
            "percentiles": [number_text(numbers.percentiles[p]) for p in PERCENTILES if p != 50],
        }
    return row


def _options(per_part: list[tuple[GroupSummary, FieldSummary]]) -> list[dict[str, Any]]:
    return [
        {
            "code": frequency.code,
            "label": frequency.label,
            "cells": [(f.count, f"{f.percent:.1f}") for f in _aligned(frequency.code, per_part)],
        }
        for frequency in per_part[0][1].frequencies
    ]


def _aligned(code: str, per_part: list[tuple[GroupSummary, FieldSummary]]) -> list[Frequency]:
    """The option's frequency in each part. A code no longer among the choices is listed only
    by the parts that hold it, so the others count it as zero."""
    found = []
    for _part, one in per_part:
        match = next((f for f in one.frequencies if f.code == code), None)
        found.append(match or Frequency(code, code, 0, 0.0))
    return found


def _chart(
    overall: FieldSummary, per_part: list[tuple[GroupSummary, FieldSummary]]
) -> SafeString | None:
    title = f"{overall.label} ({overall.name})"
    if overall.frequencies:
        labels = [f.label for f in overall.frequencies]
        columns = [_aligned(f.code, per_part) for f in overall.frequencies]
        series = [
            Bars(part.label, [c[s].count for c in columns], [c[s].percent for c in columns])
            for s, (part, _one) in enumerate(per_part)
        ]
        return choice_bars(title, labels, series)
    if overall.numbers is not None:
        return histogram_chart(title, overall.numbers.bins)
    return None
