"""Writes to saved reports: create, update, copy and delete, each audited in its transaction.

A report's definition is checked whole before anything is written: unknown fields, events
and groups are named, filter logic that cannot be read is refused with the line and column
where reading stopped, and nothing changes on a refusal.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.logic_check import logic_problem
from opencrf.exports.models import Report
from opencrf.exports.selectors import (
    CHOICE_TYPES,
    LIVE_SPECIAL,
    may_build_reports,
    may_edit,
    may_view,
    report_fields_check,
)
from opencrf.exports.table import hidden_names, references_of
from opencrf.logic import LogicSyntaxError, parse_shared
from opencrf.projects.models import Project
from opencrf.projects.selectors import member_rights
from opencrf.records.export import GROUP_COLUMN

MAX_ORDER = 3
MAX_LIVE = 3
ACCESS_KEYS = ("users", "roles", "groups")
ACCESS_LABELS = {
    "users": lambda: _("users"),
    "roles": lambda: _("roles"),
    "groups": lambda: _("data access groups"),
}


@dataclass(frozen=True)
class ReportSpec:
    """A report's definition as a form or a script gives it."""

    title: str
    description: str = ""
    fields: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    include_repeating: bool = True
    survey_fields: bool = False
    filter_logic: str = ""
    filtering: str = Report.Filtering.ROW
    order: tuple[tuple[str, str], ...] = ()
    live_filters: tuple[str, ...] = ()
    view_all: bool = True
    view_access: dict[str, list[int]] = field(default_factory=dict)
    edit_access: dict[str, list[int]] = field(default_factory=dict)


def _clean(project: Project, spec: ReportSpec, actor: Any) -> dict[str, Any]:
    """The model's values for `spec`, or InvalidInput naming every problem — among them the
    fields of the filter, live filters and ordering that `actor` may not see."""
    design = design_of(project)
    problems: list[str] = []
    title = spec.title.strip()
    if not title:
        problems.append(_("The report needs a title."))
    elif len(title) > 200:
        problems.append(_("The title is longer than 200 characters."))
    known = [row.field_name for row in design.rows if row.field_type != "descriptive"]
    known_set = set(known) | {f"{i.name}_complete" for i in design.instruments}
    known_set.add(GROUP_COLUMN)  # REDCap's reports may show the group as a column
    fields = [design.record_id_field]
    fields += [n for n in dict.fromkeys(spec.fields) if n != design.record_id_field]
    _unknown(problems, _("fields"), [n for n in fields if n not in known_set])
    events = list(dict.fromkeys(spec.events))
    _unknown(
        problems,
        _("events"),
        [e for e in events if e not in {x.unique_name for x in design.events}],
    )
    groups = list(dict.fromkeys(spec.groups))
    group_names = set(project.groups.values_list("unique_name", flat=True))
    _unknown(problems, _("data access groups"), [g for g in groups if g not in group_names])
    if (problem := logic_problem(design, spec.filter_logic)) is not None:
        problems.append(problem)
    if spec.filtering not in Report.Filtering.values:
        problems.append(_("Filter the rows or the records, nothing else."))
    order = _order(problems, spec.order, known_set)
    live = _live(problems, spec.live_filters, design)
    view_access = _access(problems, project, spec.view_access)
    edit_access = _access(problems, project, spec.edit_access)
    _hidden(problems, project, actor, spec.filter_logic, live, order)
    if problems:
        raise InvalidInput(" ".join(problems))
    return {
        "title": title,
        "description": spec.description.strip(),
        "fields": fields,
        "events": events,
        "groups": groups,
        "include_repeating": spec.include_repeating,
        "survey_fields": spec.survey_fields,
        "filter_logic": spec.filter_logic.strip(),
        "filtering": spec.filtering,
        "order": order,
        "live_filters": live,
        "view_all": spec.view_all,
        "view_access": view_access,
        "edit_access": edit_access,
    }


def _hidden(
    problems: list[str],
    project: Project,
    actor: Any,
    logic: str,
    live: list[str],
    order: list[list[str]],
) -> None:
    """A report may filter and sort only by fields its author may see (`table.filterable`):
    else its list of records would tell the hidden values."""
    names: list[str] = []
    if logic.strip():
        with suppress(LogicSyntaxError):  # named by logic_problem
            names += references_of(parse_shared(logic))
    names += [name for name in live if name not in LIVE_SPECIAL]
    names += [name for name, _direction in order]
    hidden = hidden_names(member_rights(actor, project), project, names)
    if hidden:
        problems.append(
            _("The filter, live filters and ordering use fields you have no access to: %(names)s.")
            % {"names": ", ".join(hidden)}
        )


def _unknown(problems: list[str], what: str, names: list[str]) -> None:
    if names:
        problems.append(
            _("These %(what)s do not exist in the project: %(names)s.")
            % {"what": what, "names": ", ".join(names)}
        )


def _order(
    problems: list[str], order: tuple[tuple[str, str], ...], known: set[str]
) -> list[list[str]]:
    chosen = [(name, direction) for name, direction in order if name]
    if len(chosen) > MAX_ORDER:
        problems.append(_("A report is ordered by at most three fields."))
    for name, direction in chosen:
        if name not in known:
            problems.append(
                _("The report cannot be ordered by %(name)s: no such field.") % {"name": name}
            )
        if direction not in ("asc", "desc"):
            problems.append(_("Order %(name)s ascending or descending.") % {"name": name})
    return [[name, direction] for name, direction in chosen]


def _live(problems: list[str], names: tuple[str, ...], design: ProjectDesign) -> list[str]:
    chosen = list(dict.fromkeys(n for n in names if n))
    if len(chosen) > MAX_LIVE:
        problems.append(_("A report has at most three live filters."))
    rows = {row.field_name: row for row in design.rows}
    for name in chosen:
        if name in LIVE_SPECIAL:
            continue
        row = rows.get(name)
        if row is None or row.field_type not in CHOICE_TYPES:
            problems.append(
                _(
                    "%(name)s cannot be a live filter: choose a radio, dropdown, yes/no or "
                    "true/false field, the group or the event."
                )
                % {"name": name}
            )
    return chosen


def _access(
    problems: list[str], project: Project, access: dict[str, list[int]]
) -> dict[str, list[int]]:
    """Only this project's members, roles and groups may be named."""
    allowed = {
        "users": set(project.members.values_list("user_id", flat=True)),
        "roles": set(project.roles.values_list("pk", flat=True)),
        "groups": set(project.groups.values_list("pk", flat=True)),
    }
    cleaned: dict[str, list[int]] = {}
    for key in ACCESS_KEYS:
        ids = sorted({int(i) for i in access.get(key, [])})
        strangers = [str(i) for i in ids if i not in allowed[key]]
        if strangers:
            problems.append(
                _("These %(what)s are not part of the project: %(ids)s.")
                % {"what": ACCESS_LABELS[key](), "ids": ", ".join(strangers)}
            )
        cleaned[key] = ids
    return cleaned


def _actor(context: AuditContext) -> Any:
    assert context.actor is not None, "reports are written by people"
    return context.actor


def _require_builder(context: AuditContext, project: Project) -> None:
    if not may_build_reports(member_rights(_actor(context), project), project):
        raise PermissionDenied(_("You may not create or change reports in this project."))


def _audit(
    context: AuditContext, report: Report, action: str, details: str, changes: Any = None
) -> None:
    audit_event_create(
        context=context,
        project_id=report.project_id,
        action=action,
        target=AuditTarget(extra={"report": report.pk}),
        details=details,
        changes=changes,
    )


@transaction.atomic
def report_create(*, context: AuditContext, project: Project, spec: ReportSpec) -> Report:
    _require_builder(context, project)
    values = _clean(project, spec, _actor(context))
    report = Report.objects.create(project=project, created_by=_actor(context), **values)
    _audit(context, report, "report.create", f"Create report {report.pk}: {report.title}", values)
    return report


@transaction.atomic
def report_update(*, context: AuditContext, report: Report, spec: ReportSpec) -> Report:
    project = report.project
    if not may_edit(_actor(context), project, report):
        raise PermissionDenied(_("You may not change this report."))
    values = _clean(project, spec, _actor(context))
    changes = {
        name: [getattr(report, name), value]
        for name, value in values.items()
        if getattr(report, name) != value
    }
    for name, value in values.items():
        setattr(report, name, value)
    report.save()
    _audit(context, report, "report.update", f"Edit report {report.pk}: {report.title}", changes)
    return report


@transaction.atomic
def report_copy(*, context: AuditContext, report: Report) -> Report:
    """A copy owned by the copier, titled "… (copy)", with the same access lists."""
    project = report.project
    _require_builder(context, project)
    if not may_view(_actor(context), project, report):
        raise PermissionDenied(_("You may not copy this report."))
    report_fields_check(_actor(context), project, report)  # a copy would run the same filter
    copy = Report.objects.get(pk=report.pk)
    copy.pk = None
    copy.title = (_("%(title)s (copy)") % {"title": report.title})[:200]
    copy.created_by = _actor(context)
    copy.save()
    _audit(
        context, copy, "report.copy", f"Copy report {report.pk} as report {copy.pk}: {copy.title}"
    )
    return copy


@transaction.atomic
def report_delete(*, context: AuditContext, report: Report) -> None:
    project = report.project
    if not may_edit(_actor(context), project, report):
        raise PermissionDenied(_("You may not delete this report."))
    pk, title = report.pk, report.title
    _audit(context, report, "report.delete", f"Delete report {pk}: {title}")
    report.delete()
