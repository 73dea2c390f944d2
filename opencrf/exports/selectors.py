"""Reading saved reports: who may see and change which report, and a report's rows.

Every row comes from `table.export_table`, which reads through `records_visible_to` and the
viewer's export rights: a report shared with a role shows each of its members only the
records of their own data access group, and only the columns their export right allows.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opencrf.accounts.models import User
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.dictionary.choices import parse_choices
from opencrf.dictionary.design import design_of
from opencrf.exports import paging
from opencrf.exports.models import Report
from opencrf.exports.table import (
    ExportRequest,
    ExportTable,
    export_table,
    references_of,
    refuse_hidden,
)
from opencrf.logic import LogicSyntaxError, Node, parse_shared
from opencrf.projects.models import DataAccessGroup, ExportRight, Project
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import active_member, member_rights
from opencrf.records.export import EVENT_COLUMN, GROUP_COLUMN
from opencrf.records.selectors import records_visible_to

PAGE_SIZE = 100
CHOICE_TYPES = frozenset({"radio", "dropdown", "yesno", "truefalse"})
LIVE_SPECIAL = (GROUP_COLUMN, EVENT_COLUMN)
BUILT_IN = {
    "A": gettext_lazy("All data (all records and fields)"),
    "B": gettext_lazy("Selected instruments and/or events (all records)"),
}


def may_use_reports(rights: Rights, project: Project) -> bool:
    """Reports show exported data, so they are for members with an export right on at least
    one instrument (REDCap shows its reports page to members with data export rights)."""
    instruments = design_of(project).instruments
    return any(rights.export(i.name) != ExportRight.NONE for i in instruments)


def may_build_reports(rights: Rights, project: Project) -> bool:
    """Creating reports needs REDCap's "Reports & Report Builder" right (`reports`), and an
    export right on some instrument, as reports show exported data."""
    return rights.reports and may_use_reports(rights, project)


def _rights(user: User, project: Project) -> Rights:
    return member_rights(user, project)  # NotFound for a non-member


def _listed(access: dict[str, Any], user: User, project: Project) -> bool:
    member = active_member(user, project)
    if member is None:
        return False
    return (
        user.pk in access.get("users", [])
        or (member.role_id is not None and member.role_id in access.get("roles", []))
        or (member.group_id is not None and member.group_id in access.get("groups", []))
    )


def may_view(user: User, project: Project, report: Report) -> bool:
    rights = _rights(user, project)
    if not may_use_reports(rights, project):
        return False
    if rights.is_admin or report.view_all or report.created_by_id == user.pk:
        return True
    return _listed(report.view_access, user, project) or _listed(report.edit_access, user, project)


def may_edit(user: User, project: Project, report: Report) -> bool:
    rights = _rights(user, project)
    if not may_build_reports(rights, project):
        return False
    if rights.is_admin or report.created_by_id == user.pk:
        return True
    return _listed(report.edit_access, user, project)


def reports_visible_to(user: User, project: Project) -> list[Report]:
    """The saved reports `user` may view, in creation order; none without an export right."""
    try:
        rights = _rights(user, project)
    except NotFound:
        return []
    if not may_use_reports(rights, project):
        return []
    return [r for r in project.reports.all() if may_view(user, project, r)]


def access_report(
    user: User, project: Project, report_id: int | str, *, to_run: bool = True
) -> Report:
    """The report if `user` may view it, else NotFound — the same for missing and hidden.

    To run it (`to_run`: view, export, stats, API, copy), PermissionDenied when its filter,
    live filters or ordering name a field `user` may not see (`report_fields_check`)."""
    report = project.reports.filter(pk=_number(report_id)).first()
    if report is None or not may_view(user, project, report):
        raise NotFound(_("No such report."))
    if to_run:
        report_fields_check(user, project, report)
    return report


def report_fields_check(user: User, project: Project, report: Report) -> None:
    """PermissionDenied naming the fields of the report's filter logic, live filters and
    ordering that `user` may not filter by (table.filterable) — whoever saved it: a report
    of someone with more rights is refused, never shown filtered by what the viewer may
    not see. Its columns need no check: each viewer sees only the columns they may."""
    names: list[str] = []
    logic = report.filter_logic.strip()
    if logic:
        with suppress(
            LogicSyntaxError
        ):  # checked when saved; `report_request` refuses it with where it went wrong
            names += references_of(parse_shared(logic))
    names += [name for name in report.live_filters if name not in LIVE_SPECIAL]
    names += [name for name, _direction in report.order]
    refuse_hidden(_rights(user, project), project, names)


def access_report_for_edit(user: User, project: Project, report_id: int | str) -> Report:
    """For the builder and delete: the report's definition is shown and saved (which checks
    its fields against the editor's rights), never run."""
    report = access_report(user, project, report_id, to_run=False)
    if not may_edit(user, project, report):
        raise PermissionDenied(_("You may not change this report."))
    return report


def _number(text: int | str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class LiveFilter:
    """A filter the viewer may change: a choice field, the group or the event."""

    name: str
    label: str
    options: tuple[tuple[str, str], ...]  # (value, label)
    chosen: str = ""


def live_filters(
    user: User, project: Project, report: Report, chosen: dict[str, str]
) -> list[LiveFilter]:
    design = design_of(project)
    rows = {row.field_name: row for row in design.rows}
    found = []
    for name in report.live_filters:
        options: tuple[tuple[str, str], ...]
        if name == GROUP_COLUMN:
            label = _("Data access group")
            options = tuple((g.unique_name, g.name) for g in _groups_for(user, project))
        elif name == EVENT_COLUMN:
            label = _("Event")
            options = tuple((e.unique_name, e.name) for e in design.events)
        elif name in rows:
            label = rows[name].field_label
            options = tuple((c.code, c.label) for c in _choices(rows[name]))
        else:
            continue  # a field since removed from the dictionary
        value = chosen.get(name, "")
        found.append(LiveFilter(name, label, options, value if _find(options, value) else ""))
    return found


def _find(options: tuple[tuple[str, str], ...], value: str) -> bool:
    return any(code == value for code, _label in options)


def _groups_for(user: User, project: Project) -> list[DataAccessGroup]:
    rights = _rights(user, project)
    groups = project.groups.all()
    return list(groups.filter(pk=rights.group_id) if rights.group_id else groups)


def _choices(row: Any) -> list[Any]:
    from opencrf.dictionary.choices import Choice

    if row.field_type == "yesno":
        return [Choice("1", "Yes"), Choice("0", "No")]
    if row.field_type == "truefalse":
        return [Choice("1", "True"), Choice("0", "False")]
    return parse_choices(row.select_choices_or_calculations)


def report_request(
    project: Project, report: Report, live: Sequence[LiveFilter] = (), labels: bool = False
) -> ExportRequest:
    """The export request a report makes, with the live filters the viewer chose. Names that
    no longer exist (a field, event or group since removed) are left out, never guessed."""
    design = design_of(project)
    known = {row.field_name for row in design.rows}
    known |= {f"{i.name}_complete" for i in design.instruments}
    events = {e.unique_name for e in design.events}
    chosen_events = frozenset(name for name in report.events if name in events)
    groups = {g.unique_name: g.pk for g in project.groups.all()}
    chosen_groups = {groups[name] for name in report.groups if name in groups}
    logic = report.filter_logic.strip()
    for live_filter in live:
        if not live_filter.chosen:
            continue
        if live_filter.name == EVENT_COLUMN:
            chosen_events = frozenset({live_filter.chosen})
        elif live_filter.name == GROUP_COLUMN:
            wanted = groups[live_filter.chosen]
            # an impossible id when the report's own groups exclude the one chosen
            chosen_groups = {wanted} if not chosen_groups or wanted in chosen_groups else {0}
        else:
            condition = _equals(live_filter.name, live_filter.chosen)
            logic = f"({logic}) and {condition}" if logic else condition
    return ExportRequest(
        fields=tuple(name for name in report.fields if name in known) or (design.record_id_field,),
        group_column=GROUP_COLUMN in report.fields,
        report_order=True,
        events=chosen_events,
        groups=frozenset(chosen_groups),
        filter=_parsed(logic),
        labels=labels,
        record_level=report.filtering == Report.Filtering.RECORD,
        repeating=report.include_repeating,
        survey_fields=report.survey_fields,
    )


def _equals(name: str, code: str) -> str:
    """`[name] = 'code'`. The code is one of the field's own (checked in `live_filters`); a
    code holding a quote is quoted with the other kind, and one holding both matches nothing
    rather than being spliced into the logic."""
    if "'" not in code:
        return f"[{name}] = '{code}'"
    if '"' not in code:
        return f'[{name}] = "{code}"'
    return "false"


def _parsed(logic: str) -> Node | None:
    return parse_shared(logic) if logic else None


def built_in_request(
    project: Project,
    key: str,
    forms: Sequence[str] = (),
    events: Sequence[str] = (),
    survey_fields: bool = False,
) -> ExportRequest:
    """Report A (everything) or B (the chosen instruments and events); with `survey_fields`,
    the survey identifier and timestamps (the checkbox of REDCap's export dialog)."""
    if key == "A":
        return ExportRequest(survey_fields=survey_fields)
    design = design_of(project)
    names = {i.name for i in design.instruments}
    chosen = tuple(name for name in forms if name in names)
    if not chosen:
        raise InvalidInput(_("Choose at least one instrument for report B."))
    known = {e.unique_name for e in design.events}
    return ExportRequest(
        forms=chosen,
        events=frozenset(e for e in events if e in known),
        survey_fields=survey_fields,
    )


def sortable(table: ExportTable, order: Sequence[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """The columns of `order` that the table has and a report may be sorted by: not the
    survey columns, which the sort's narrow pass does not read."""
    extension = table.layout.extension
    added = set()
    if extension is not None:
        added = {name for _at, name, _label in extension.positions(table.layout.base_header)}
    return [(name, desc) for name, desc in order if name in table.names and name not in added]


@dataclass
class ReportPage:
    """One page of a report: the table's variables and the rows of the page."""

    table: ExportTable
    rows: list[list[str]]
    total: int
    page: int
    pages: int
    sort: str = ""
    descending: bool = False
    record_links: bool = field(default=True)
    by_record: bool = False  # the page holds PAGE_SIZE records (all their rows), not rows


def report_page(
    user: User,
    project: Project,
    request: ExportRequest,
    *,
    page: int = 1,
    order: Sequence[tuple[str, bool]] = (),
) -> ReportPage:
    """Rows `(page-1)*PAGE_SIZE …` of the report, ordered by `order` ((column, descending)
    pairs; none: record order).

    A report without a filter, shown in record order, is paged by records in SQL: its page
    is the rows of PAGE_SIZE records, read alone, so it costs the same on page 1 and page
    1,000 of any project. A filtered or sorted report finds its matching rows in order once
    (reading only the sort columns) and keeps their keys while the data stays as it is
    (`paging.row_keys`); each page then builds only its own rows."""
    if not order and request.filter is None and not request.records:
        return _record_page(user, project, request, max(page, 1))
    table = export_table(user, project, request)
    order = sortable(table, order)[:3]
    page = max(page, 1)
    keys = paging.row_keys(user, project, request, table, order)
    start, stop = (page - 1) * PAGE_SIZE, page * PAGE_SIZE
    rows = paging.page_rows(user, project, request, keys, start, stop)
    pages = max(1, -(-len(keys) // PAGE_SIZE))
    hashed = table.deidentify.hash_record_id
    first = order[0] if order else ("", False)
    return ReportPage(table, rows, len(keys), page, pages, first[0], first[1], not hashed)


def report_page_streamed(
    user: User,
    project: Project,
    request: ExportRequest,
    *,
    page: int = 1,
    order: Sequence[tuple[str, bool]] = (),
) -> ReportPage:
    """`report_page` by its plain definition: every row of the report streamed for the page,
    holding only the best `page × PAGE_SIZE` rows when sorting. The reference the keyed path
    is tested against, and too slow to serve a large project: it evaluates the filter on
    every row, without the database's prefilter."""
    table = export_table(user, project, replace(request, prefilter=False))
    order = sortable(table, order)[:3]
    page = max(page, 1)
    start, stop = (page - 1) * PAGE_SIZE, page * PAGE_SIZE
    counter = _Counter(table.rows())
    if order:
        key = paging.sort_key(table, order)
        best = heapq.nsmallest(stop, enumerate(counter), key=lambda pair: key(pair))
        rows = [row for _n, row in best[start:stop]]
    else:
        rows = list(islice(counter, start, stop))
    for _rest in counter:  # count the rest without keeping it
        pass
    pages = max(1, -(-counter.count // PAGE_SIZE))
    hashed = table.deidentify.hash_record_id
    first = order[0] if order else ("", False)
    return ReportPage(table, rows, counter.count, page, pages, first[0], first[1], not hashed)


def _record_page(user: User, project: Project, request: ExportRequest, page: int) -> ReportPage:
    records = records_visible_to(user, project)
    if request.groups:
        records = records.filter(group_id__in=request.groups)
    total = records.count()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
    start = (page - 1) * PAGE_SIZE
    ordered = records.order_by("sort_key", "pk").values_list("record_id", flat=True)
    chosen = tuple(ordered[start : start + PAGE_SIZE])
    # no record chosen (an empty project) must not mean "every record"
    table = export_table(user, project, replace(request, records=chosen or ("",)))
    rows = list(table.rows())
    hashed = table.deidentify.hash_record_id
    return ReportPage(table, rows, total, page, pages, record_links=not hashed, by_record=True)


class _Counter:
    def __init__(self, rows: Iterator[list[str]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[list[str]]:
        return self

    def __next__(self) -> list[str]:
        row = next(self.rows)
        self.count += 1
        return row
