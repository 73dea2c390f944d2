"""Saved reports in Project XML: `redcap:ReportsGroup/redcap:Reports`, one element a report.

`records.project_xml` writes and reads the rest of the file and calls this module through
`project_xml_part_register` (records may not import exports). The attributes are REDCap's
(seen in its files, docs/subsystems/project-xml.md has the mapping); OpenCRF's report maps
onto them as follows, and what REDCap keeps but OpenCRF has no place for is written with
REDCap's defaults and ignored when read.

- Who may view: `user_access="ALL"` for a report every member may view, else `SELECTED`.
  The lists behind SELECTED (users, roles, groups) name people and roles of this server, so
  they are not written; a SELECTED report comes in seen by its creator (the importer) and
  administrators only, never wider than the file says. Editing is always SELECTED here
  (the creator and those listed), and comes in the same way.
- The group column (`redcap_data_access_group` among the fields) is `output_dags="1"`, as in
  REDCap, and comes back right after the record id.
- Row or record filtering is `filter_type` EVENT or RECORD; the live filters are
  `dynamic_filter1`–`3`; the order `orderby_field1`–`3` with `orderby_sort1`–`3` (ASC, DESC).
- Groups and events limiting the report are unique names, comma-separated, in
  `redcap_reports_filter_dags` and `redcap_reports_filter_events`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.odm import ProjectXml
from opencrf.dictionary.odm_write import attr
from opencrf.exports.models import Report
from opencrf.exports.reports import MAX_LIVE, MAX_ORDER, ReportSpec, report_create
from opencrf.exports.selectors import may_use_reports
from opencrf.projects.models import Project
from opencrf.projects.selectors import member_rights
from opencrf.records.export import GROUP_COLUMN

# REDCap's attributes OpenCRF has no place for, with the values REDCap writes by default.
REDCAP_DEFAULTS = {
    "combine_checkbox_values": "0",
    "output_missing_data_codes": "0",
    "remove_line_breaks_in_values": "1",
    "hash": "",
    "short_url": "",
    "is_public": "0",
    "report_display_header": "BOTH",
    "report_display_data": "BOTH",
    "limiter_logic": "",
}
FILTER_TYPES = {Report.Filtering.ROW: "EVENT", Report.Filtering.RECORD: "RECORD"}
FILTERINGS = {text: filtering for filtering, text in FILTER_TYPES.items()}
SORTS = {"asc": "ASC", "desc": "DESC"}


def unique_report_name(report: Report) -> str:
    """REDCap's `R-` and ten upper-case letters or digits, here from the report's id."""
    return f"R-{report.pk:010d}"


def report_attributes(report: Report, position: int) -> dict[str, str]:
    """One report as REDCap's `redcap:Reports` attributes, in REDCap's order."""
    order = [*report.order, *([["", ""]] * MAX_ORDER)][:MAX_ORDER]
    live = [*report.live_filters, *([""] * MAX_LIVE)][:MAX_LIVE]
    fields = [name for name in report.fields if name != GROUP_COLUMN]
    attributes = {
        "title": report.title,
        "unique_report_name": unique_report_name(report),
        "report_order": str(position),
        "user_access": "ALL" if report.view_all else "SELECTED",
        "user_edit_access": "SELECTED",
        "description": report.description,
        "combine_checkbox_values": "0",
        "output_dags": "1" if GROUP_COLUMN in report.fields else "0",
        "output_survey_fields": "1" if report.survey_fields else "0",
    }
    attributes |= {k: v for k, v in REDCAP_DEFAULTS.items() if k not in attributes}
    for number, (name, direction) in enumerate(order, start=1):
        attributes[f"orderby_field{number}"] = name
        attributes[f"orderby_sort{number}"] = SORTS.get(direction, "")
    attributes["advanced_logic"] = report.filter_logic
    attributes["filter_type"] = FILTER_TYPES[Report.Filtering(report.filtering)]
    for number, name in enumerate(live, start=1):
        attributes[f"dynamic_filter{number}"] = name
    attributes["report_display_include_repeating_fields"] = "1" if report.include_repeating else "0"
    attributes["redcap_reports_fields"] = ",".join(fields)
    attributes["redcap_reports_filter_dags"] = ",".join(report.groups)
    attributes["redcap_reports_filter_events"] = ",".join(report.events)
    return attributes


def reports_xml(project: Project, user: User) -> Iterator[str]:
    """`redcap:ReportsGroup` with every saved report, as REDCap writes them; nothing for a
    member without reports (no export right) or for a project without saved reports.

    A report's definition is design, like the dictionary the file also holds: who may view
    its rows decides nothing here, and those lists are not written (see the module's map).
    """
    if not may_use_reports(member_rights(user, project), project):
        return
    reports = list(Report.objects.filter(project=project).order_by("pk"))
    if not reports:
        return
    yield "\t<redcap:ReportsGroup>\n"
    for position, report in enumerate(reports, start=1):
        attributes = report_attributes(report, position)
        joined = " ".join(f"{name}={attr(value)}" for name, value in attributes.items())
        yield f"\t\t<redcap:Reports {joined}/>\n"
    yield "\t</redcap:ReportsGroup>\n"


def report_spec(attributes: Mapping[str, str]) -> ReportSpec:
    """A report's definition from REDCap's attributes; InvalidInput names a bad value."""
    title = attributes.get("title", "")
    filter_type = attributes.get("filter_type", "EVENT").strip().upper() or "EVENT"
    if filter_type not in FILTERINGS:
        raise InvalidInput(
            _('Project XML: report "%(title)s" has filter_type %(value)s, not EVENT or RECORD.')
            % {"title": title, "value": filter_type}
        )
    fields = _names(attributes.get("redcap_reports_fields", ""))
    if attributes.get("output_dags", "0").strip() == "1":
        fields.insert(1, GROUP_COLUMN)
    return ReportSpec(
        title=title,
        description=attributes.get("description", ""),
        fields=tuple(fields),
        events=tuple(_names(attributes.get("redcap_reports_filter_events", ""))),
        groups=tuple(_names(attributes.get("redcap_reports_filter_dags", ""))),
        include_repeating=attributes.get("report_display_include_repeating_fields", "1") != "0",
        survey_fields=attributes.get("output_survey_fields", "0").strip() == "1",
        filter_logic=attributes.get("advanced_logic", ""),
        filtering=FILTERINGS[filter_type],
        order=tuple(_order(attributes, title)),
        live_filters=tuple(
            name
            for number in range(1, MAX_LIVE + 1)
            if (name := attributes.get(f"dynamic_filter{number}", "").strip())
        ),
        view_all=attributes.get("user_access", "ALL").strip().upper() == "ALL",
    )


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _order(attributes: Mapping[str, str], title: str) -> Iterable[tuple[str, str]]:
    for number in range(1, MAX_ORDER + 1):
        name = attributes.get(f"orderby_field{number}", "").strip()
        if not name:
            continue
        sort = attributes.get(f"orderby_sort{number}", "").strip().upper() or "ASC"
        if sort not in ("ASC", "DESC"):
            raise InvalidInput(
                _('Project XML: report "%(title)s" sorts %(field)s by %(value)s, not ASC or DESC.')
                % {"title": title, "field": name, "value": sort}
            )
        yield name, sort.lower()


def reports_create_from_xml(context: AuditContext, project: Project, parsed: ProjectXml) -> None:
    """Every report of the file through `report_create` (checked, audited), in file order."""
    for attributes in parsed.reports:
        spec = report_spec(attributes)
        try:
            report_create(context=context, project=project, spec=spec)
        except InvalidInput as error:
            raise InvalidInput(
                _('Project XML: report "%(title)s": %(message)s')
                % {"title": spec.title, "message": error.message}
            ) from None


class ReportsPart:
    """Saved reports as a part of Project XML (see `records.project_xml.ProjectXmlPart`)."""

    def write(self, project: Project, user: User) -> Iterable[str]:
        return reports_xml(project, user)

    def create(self, context: AuditContext, project: Project, parsed: ProjectXml) -> None:
        reports_create_from_xml(context, project, parsed)


REPORTS_PART = ReportsPart()
