"""The "Data Exports, Reports, and Stats" pages: the report list, builder, viewer and export.

Views are thin: which reports and rows a user sees is decided in `selectors`, every change
goes through `reports` (audited), and files are written by `services.export_write`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.dictionary.design import design_of
from opencrf.dictionary.logic_check import logic_problem
from opencrf.exports import selectors
from opencrf.exports.archive import ODM_REPORT, export_request, report_query
from opencrf.exports.deidentify import Deidentify
from opencrf.exports.models import Report
from opencrf.exports.reports import (
    ReportSpec,
    report_copy,
    report_create,
    report_delete,
    report_update,
)
from opencrf.exports.services import FORMATS
from opencrf.exports.table import ExportRequest
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Project
from opencrf.records.export import EVENT_COLUMN, GROUP_COLUMN

FORMAT_LABELS = {
    "csv": "CSV (raw)",
    "csv-labels": "CSV (labels)",
    "xlsx": "Excel (.xlsx)",
    "spss": "SPSS (.sav)",
    "stata": "Stata (.dta)",
    "sas": "SAS (.xpt + formats)",
    "r": "R (CSV + script)",
    "odm": "CDISC ODM (XML)",
    "tidy": "Tidy tables (zip)",
}


def _project(request: AuthedRequest, project_id: int) -> Project:
    """The project, if the user may use its reports (NotFound / PermissionDenied otherwise)."""
    project = project_selectors.access_project(request.user, project_id)
    rights = project_selectors.member_rights(request.user, project)
    if not selectors.may_use_reports(rights, project):
        raise PermissionDenied(_("You have no data export rights in this project."))
    return project


def _may_build(request: AuthedRequest, project: Project) -> bool:
    rights = project_selectors.member_rights(request.user, project)
    return selectors.may_build_reports(rights, project)


@dataclass(frozen=True)
class Listed:
    report: Report
    can_edit: bool


@login_required
@domain_errors
def report_list(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    listed = [
        Listed(r, selectors.may_edit(request.user, project, r))
        for r in selectors.reports_visible_to(request.user, project)
    ]
    design = design_of(project)
    context = {
        "project": project,
        "nav": "reports",
        "reports": listed,
        "built_in": selectors.BUILT_IN,
        "instruments": design.instruments,
        "events": design.events if project.is_longitudinal else (),
        "can_build": _may_build(request, project),
    }
    return render(request, "exports/report_list.html", context)


@dataclass
class Source:
    """What a viewer shows: a saved report or built-in A/B, as an export request."""

    key: str
    title: str
    request: ExportRequest
    report: Report | None
    live: list[selectors.LiveFilter]
    query: dict[str, Any]  # what to keep in links (B's choices, live filters)


def _source(request: AuthedRequest, project: Project, key: str, data: Any) -> Source:
    labels = data.get("labels") == "1"
    if key in selectors.BUILT_IN:
        forms, events = data.getlist("forms"), data.getlist("events")
        survey = data.get("survey_fields") == "1"
        built = selectors.built_in_request(project, key, forms, events, survey_fields=survey)
        title = str(selectors.BUILT_IN[key])
        query: dict[str, Any] = {"forms": forms, "events": events} if key == "B" else {}
        if survey:
            query["survey_fields"] = "1"
        return Source(key, title, _labelled(built, labels), None, [], query)
    report = selectors.access_report(request.user, project, key)
    chosen = {name: data.get(f"live_{name}", "") for name in report.live_filters}
    live = selectors.live_filters(request.user, project, report, chosen)
    built = selectors.report_request(project, report, live, labels=labels)
    query = {f"live_{f.name}": f.chosen for f in live if f.chosen}
    return Source(key, report.title, built, report, live, query)


def _labelled(built: ExportRequest, labels: bool) -> ExportRequest:
    return replace(built, labels=labels)


def _order(source: Source, sort: str, descending: bool) -> list[tuple[str, bool]]:
    """The column the viewer clicked, else the report's own ordering."""
    if sort:
        return [(sort, descending)]
    if source.report is None:
        return []
    return [(name, direction == "desc") for name, direction in source.report.order]


@login_required
@domain_errors
def report_view(request: AuthedRequest, project_id: int, key: str) -> HttpResponse:
    project = _project(request, project_id)
    try:
        source = _source(request, project, key, request.GET)
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect("exports:list", project.pk)
    sort = request.GET.get("sort", "")
    descending = request.GET.get("desc") == "1"
    labels = request.GET.get("labels") == "1"
    number = whole_number(request.GET.get("page", ""), 9) or 1
    order = _order(source, sort, descending)
    page = selectors.report_page(request.user, project, source.request, page=number, order=order)
    if page.page > page.pages:  # past the end (typed in the jump form): the last page
        page = selectors.report_page(
            request.user, project, source.request, page=page.pages, order=order
        )
    base = {**source.query, **({"labels": "1"} if labels else {})}
    sortable = {name for name, _desc in selectors.sortable(page.table, _every(page))}
    columns = [
        {
            "name": v.name,
            "label": v.label,
            "sorted": v.name == page.sort,
            "url": "?" + urlencode({**base, "sort": v.name, "desc": _flip(page, v.name)}, True),
            "sortable": v.name in sortable,
        }
        for v in page.table.variables
    ]
    context = {
        "project": project,
        "nav": "reports",
        "source": source,
        "page": page,
        "columns": columns,
        "labels": labels,
        "record_field": page.table.layout.record_field,
        "labels_url": "?" + urlencode({**base, "labels": "" if labels else "1"}, True),
        "pages": _page_links(page, {**base, "sort": sort, "desc": "1" if descending else ""}),
        "hidden": [(k, v) for k, values in source.query.items() for v in _listify(values)],
        "export_hidden": [
            (k, v)
            for k, values in source.query.items()
            for v in _listify(values)
            if k != "survey_fields"  # the export form's own checkbox
        ],
        "survey_url": "?"
        + urlencode(
            {**{k: v for k, v in base.items() if k != "survey_fields"}, **_survey_toggle(source)},
            True,
        ),
        "formats": [
            (name, FORMAT_LABELS[name]) for name in FORMATS if name != "odm" or key == ODM_REPORT
        ],
        "deidentify": Deidentify.names(),
        "built_in": source.report is None,
        "surveys": project.surveys_enabled,
        "can_build": _may_build(request, project),
        "can_edit": source.report is not None
        and selectors.may_edit(request.user, project, source.report),
    }
    return render(request, "exports/report_view.html", context)


def _survey_toggle(source: Source) -> dict[str, str]:
    return {} if source.request.survey_fields else {"survey_fields": "1"}


def _every(page: selectors.ReportPage) -> list[tuple[str, bool]]:
    return [(v.name, False) for v in page.table.variables]


def _flip(page: selectors.ReportPage, name: str) -> str:
    return "" if page.sort == name and page.descending else ("1" if page.sort == name else "")


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


PAGE_WINDOW = 2  # numbered page links each side of the current page


def _page_links(page: selectors.ReportPage, base: dict[str, Any]) -> dict[str, Any]:
    """First, previous, the numbers around the current page, next and last — each link
    keeping the sort, labels and the report's choices — and the fields of the jump form."""
    if page.pages <= 1:
        return {}

    def link(number: int) -> str:
        return "?" + urlencode({**base, "page": number}, True)

    current, last = page.page, page.pages
    low, high = max(1, current - PAGE_WINDOW), min(last, current + PAGE_WINDOW)
    links: dict[str, Any] = {
        "numbers": [(n, link(n), n == current) for n in range(low, high + 1)],
        "jump": [(k, v) for k, values in base.items() for v in _listify(values) if v != ""],
    }
    if current > 1:
        links["first"], links["previous"] = link(1), link(current - 1)
    if current < last:
        links["next"], links["last"] = link(current + 1), link(last)
    return links


@login_required
@require_POST
@domain_errors
def report_export(request: AuthedRequest, project_id: int, key: str) -> HttpResponseBase:
    """Queue the report's export as a background job and show it in the export archive."""
    project = _project(request, project_id)
    query = report_query(key, request.POST)
    options = {name: request.POST.get(name) == "1" for name in Deidentify.names()}
    try:
        export_request(
            context=AuditContext.from_request(request),
            project=project,
            key=key,
            query=query,
            format=request.POST.get("format", ""),
            deidentify=Deidentify(**options),
        )
    except InvalidInput as error:
        messages.error(request, error.message)
        back = "?" + urlencode(query, True) if query else ""
        return redirect(reverse("exports:view", args=[project.pk, key]) + back)
    messages.success(request, _("The export was queued; it appears below when written."))
    return redirect("exports:archive", project.pk)


# The builder


@login_required
@domain_errors
def check_logic(request: AuthedRequest, project_id: int) -> JsonResponse:
    """The builder's check of the filter as it is typed: the problem, or null."""
    project = _project(request, project_id)
    problem = logic_problem(design_of(project), request.GET.get("logic", ""))
    return JsonResponse({"problem": problem})


def _spec(data: Any) -> ReportSpec:
    def ids(name: str) -> list[int]:
        return [int(v) for v in data.getlist(name) if v.isdigit()]

    order = tuple(
        (data.get(f"order_{n}", ""), data.get(f"order_{n}_dir", "asc")) for n in (1, 2, 3)
    )
    return ReportSpec(
        title=data.get("title", ""),
        description=data.get("description", ""),
        fields=tuple(data.getlist("fields")),
        events=tuple(data.getlist("events")),
        groups=tuple(data.getlist("groups")),
        include_repeating=data.get("include_repeating") == "1",
        survey_fields=data.get("survey_fields") == "1",
        filter_logic=data.get("filter_logic", ""),
        filtering=data.get("filtering", Report.Filtering.ROW),
        order=order,
        live_filters=tuple(data.get(f"live_{n}", "") for n in (1, 2, 3)),
        view_all=data.get("view_all") == "1",
        view_access={k: ids(f"view_{k}") for k in ("users", "roles", "groups")},
        edit_access={k: ids(f"edit_{k}") for k in ("users", "roles", "groups")},
    )


def _builder_context(project: Project, report: Report | None, spec: ReportSpec) -> dict[str, Any]:
    design = design_of(project)
    chosen = set(spec.fields)
    instruments = [
        {
            "name": i.name,
            "label": i.label,
            "fields": [
                (row.field_name, row.field_label, row.field_name in chosen)
                for row in design.form_rows(i.name)
                if row.field_type != "descriptive"
            ]
            + [(f"{i.name}_complete", _("Complete?"), f"{i.name}_complete" in chosen)],
        }
        for i in design.instruments
    ]
    choice_fields = [
        (row.field_name, row.field_label)
        for row in design.rows
        if row.field_type in selectors.CHOICE_TYPES
    ]
    groups = list(project.groups.all())
    # the group column and its live filter only where there are groups, as in REDCap
    live_options = [(GROUP_COLUMN, _("Data access group"))] if groups else []
    if project.is_longitudinal:
        live_options.append((EVENT_COLUMN, _("Event")))
    live = [*spec.live_filters, "", "", ""]
    order = list(spec.order) + [("", "asc")] * 3
    members = project.members.select_related("user").order_by("user__username")
    return {
        "project": project,
        "nav": "reports",
        "report": report,
        "spec": spec,
        "instruments": instruments,
        "all_fields": [(row.field_name, row.field_label) for row in design.rows],
        "events": design.events if project.is_longitudinal else (),
        "groups": groups,
        "roles": list(project.roles.all()),
        "members": [m.user for m in members],
        "live_slots": [live[n] for n in range(3)],
        "live_options": live_options + choice_fields,
        "order_slots": [order[n] for n in range(3)],
        "group_column": GROUP_COLUMN,
    }


def _spec_of(report: Report) -> ReportSpec:
    return ReportSpec(
        title=report.title,
        description=report.description,
        fields=tuple(report.fields),
        events=tuple(report.events),
        groups=tuple(report.groups),
        include_repeating=report.include_repeating,
        survey_fields=report.survey_fields,
        filter_logic=report.filter_logic,
        filtering=report.filtering,
        order=tuple((name, direction) for name, direction in report.order),
        live_filters=tuple(report.live_filters),
        view_all=report.view_all,
        view_access=report.view_access,
        edit_access=report.edit_access,
    )


def _kept_order(saved: list[str], chosen: tuple[str, ...]) -> tuple[str, ...]:
    """The fields chosen in the builder (posted in the dictionary's order), with those the
    report already had kept in the report's own order: saving never reorders a report whose
    columns came in another order (from Project XML, say). Newly chosen fields follow."""
    wanted = set(chosen)
    kept = [name for name in saved if name in wanted]
    had = set(kept)
    return (*kept, *(name for name in chosen if name not in had))


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def report_edit(
    request: AuthedRequest, project_id: int, report_id: int | None = None
) -> HttpResponse:
    project = _project(request, project_id)
    if not _may_build(request, project):
        raise PermissionDenied(_("You may not create or change reports in this project."))
    report = (
        selectors.access_report_for_edit(request.user, project, report_id)
        if report_id is not None
        else None
    )
    spec = _spec_of(report) if report else ReportSpec(title="")
    if request.method == "POST":
        spec = _spec(request.POST)
        if report is not None:
            spec = replace(spec, fields=_kept_order(report.fields, spec.fields))
        context = AuditContext.from_request(request)
        try:
            if report is None:
                report = report_create(context=context, project=project, spec=spec)
            else:
                report = report_update(context=context, report=report, spec=spec)
        except InvalidInput as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The report was saved."))
            return redirect("exports:view", project.pk, str(report.pk))
    return render(request, "exports/report_edit.html", _builder_context(project, report, spec))


@login_required
@require_POST
@domain_errors
def report_copy_view(request: AuthedRequest, project_id: int, report_id: int) -> HttpResponse:
    project = _project(request, project_id)
    report = selectors.access_report(request.user, project, report_id)
    report_copy(context=AuditContext.from_request(request), report=report)
    messages.success(request, _("The report was copied."))
    return redirect("exports:list", project.pk)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def report_delete_view(request: AuthedRequest, project_id: int, report_id: int) -> HttpResponse:
    project = _project(request, project_id)
    report = selectors.access_report_for_edit(request.user, project, report_id)
    if request.method == "POST":
        report_delete(context=AuditContext.from_request(request), report=report)
        messages.success(request, _("The report was deleted."))
        return redirect("exports:list", project.pk)
    context = {"project": project, "nav": "reports", "report": report}
    return render(request, "exports/report_delete.html", context)
