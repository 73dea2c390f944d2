"""Saved reports travel in Project XML (`redcap:ReportsGroup`), both ways, as REDCap's do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.exports.models import Report
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.exports.tests.conftest import export_bytes
from opencrf.projects.models import Project, ProjectMember
from opencrf.records.project_xml import project_create_from_xml, project_xml_write

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "redcap-projects"
REPORTS = "{https://projectredcap.org}Reports"
DEFINITION = (
    "title",
    "description",
    "fields",
    "events",
    "groups",
    "include_repeating",
    "filter_logic",
    "filtering",
    "order",
    "live_filters",
    "view_all",
)


def _definitions(project):
    return [{name: getattr(r, name) for name in DEFINITION} for r in project.reports.order_by("pk")]


def _xml(project, user, **options) -> str:
    options = {"include_data": False, "include_files": False} | options
    return "".join(project_xml_write(project, user, **options))


def _reports_in(text: str) -> list[dict[str, str]]:
    return [dict(element.attrib) for element in fromstring(text).iter(REPORTS)]


@pytest.fixture
def women(demo, pi_paula):
    spec = ReportSpec(
        title="女性の割付 / Women by arm",
        description="Line one\nline two",
        fields=("redcap_data_access_group", "sex", "rand_group"),
        events=("screening_arm_1",),
        groups=("toto_univ", "hokurei_med"),
        include_repeating=False,
        filter_logic="[sex] = '1' and [age] > 20",
        filtering=Report.Filtering.RECORD,
        order=(("rand_group", "desc"), ("record_id", "asc")),
        live_filters=("redcap_data_access_group", "sex"),
        view_all=False,
    )
    return report_create(context=AuditContext(actor=pi_paula), project=demo, spec=spec)


@pytest.fixture
def everyone(demo, pi_paula):
    spec = ReportSpec(title="Everyone", fields=("sex",))
    return report_create(context=AuditContext(actor=pi_paula), project=demo, spec=spec)


def test_a_report_is_written_with_redcaps_attribute_names(demo, pi_paula, women, everyone):
    reports = _reports_in(_xml(demo, pi_paula))

    assert [r["title"] for r in reports] == ["女性の割付 / Women by arm", "Everyone"]
    assert reports[0] == {
        "title": "女性の割付 / Women by arm",
        "unique_report_name": f"R-{women.pk:010d}",
        "report_order": "1",
        "user_access": "SELECTED",
        "user_edit_access": "SELECTED",
        "description": "Line one\nline two",
        "combine_checkbox_values": "0",
        "output_dags": "1",
        "output_survey_fields": "0",
        "output_missing_data_codes": "0",
        "remove_line_breaks_in_values": "1",
        "hash": "",
        "short_url": "",
        "is_public": "0",
        "report_display_header": "BOTH",
        "report_display_data": "BOTH",
        "limiter_logic": "",
        "orderby_field1": "rand_group",
        "orderby_sort1": "DESC",
        "orderby_field2": "record_id",
        "orderby_sort2": "ASC",
        "orderby_field3": "",
        "orderby_sort3": "",
        "advanced_logic": "[sex] = '1' and [age] > 20",
        "filter_type": "RECORD",
        "dynamic_filter1": "redcap_data_access_group",
        "dynamic_filter2": "sex",
        "dynamic_filter3": "",
        "report_display_include_repeating_fields": "0",
        "redcap_reports_fields": "record_id,sex,rand_group",
        "redcap_reports_filter_dags": "toto_univ,hokurei_med",
        "redcap_reports_filter_events": "screening_arm_1",
    }
    assert (reports[1]["user_access"], reports[1]["filter_type"]) == ("ALL", "EVENT")


def test_reports_survive_the_round_trip_through_project_xml(
    demo, pi_paula, site_b_bea, women, everyone
):
    text = _xml(demo, pi_paula, include_data=True)

    copy = project_create_from_xml(
        context=AuditContext(actor=site_b_bea, source="api"), data=text.encode(), title="Copy"
    )

    assert _definitions(copy) == _definitions(demo)
    assert set(copy.reports.values_list("created_by__username", flat=True)) == {"site_b_bea"}
    created = AuditEvent.objects.filter(project_id=copy.pk, action="report.create")
    assert created.count() == 2
    assert _reports_in(_xml(copy, site_b_bea))[0]["redcap_reports_fields"] == (
        "record_id,sex,rand_group"
    )


def test_redcaps_own_reports_are_created_from_its_files(import_context_paula):
    simple = project_create_from_xml(
        context=import_context_paula, data=(FIXTURES / "simple" / "project.xml").read_bytes()
    )
    repeating = project_create_from_xml(
        context=import_context_paula,
        data=(FIXTURES / "repeating-instruments" / "project.xml").read_bytes(),
    )

    assert [
        (r["title"], r["fields"], r["order"], r["filtering"], r["include_repeating"])
        for r in _definitions(simple) + _definitions(repeating)
    ] == [
        (
            "test-report-1",
            ["record_id", "height", "health_complete", "address", "ethnicity"],
            [["record_id", "asc"]],
            "row",
            True,
        ),
        ("test-report-2", ["record_id", "race"], [["record_id", "asc"]], "row", True),
        (
            "demographics only",
            ["record_id", "date_enrolled", "dob"],
            [["record_id", "asc"]],
            "record",
            False,
        ),
    ]


@pytest.fixture
def import_context_paula(pi_paula):
    return AuditContext(actor=pi_paula, source="api")


def _with_report(attributes: str) -> bytes:
    text = (FIXTURES / "simple" / "project.xml").read_text(encoding="utf-8")
    start = text.index("<redcap:ReportsGroup>")
    end = text.index("</redcap:ReportsGroup>")
    group = f"<redcap:ReportsGroup><redcap:Reports {attributes}/>"
    return (text[:start] + group + text[end:]).encode()


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            'title="Bad" redcap_reports_fields="record_id,no_such_field"',
            'Project XML: report "Bad": These fields do not exist in the project: no_such_field.',
        ),
        (
            'title="Bad" redcap_reports_fields="record_id" filter_type="ROWS"',
            'Project XML: report "Bad" has filter_type ROWS, not EVENT or RECORD.',
        ),
        (
            'title="Bad" redcap_reports_fields="record_id" advanced_logic="[height] &gt;"',
            'Project XML: report "Bad": The logic cannot be read at line 1, column',
        ),
        (
            'title="Bad" redcap_reports_fields="record_id" orderby_field1="height"'
            ' orderby_sort1="UP"',
            'Project XML: report "Bad" sorts height by UP, not ASC or DESC.',
        ),
        (
            'title="" redcap_reports_fields="record_id"',
            'Project XML: report "": The report needs a title.',
        ),
    ],
)
def test_a_bad_report_refuses_the_whole_file_naming_the_report(
    import_context_paula, attributes, message
):
    projects = Project.objects.count()

    with pytest.raises(InvalidInput) as refused:
        project_create_from_xml(context=import_context_paula, data=_with_report(attributes))

    assert refused.value.message.startswith(message)
    assert Project.objects.count() == projects
    assert Report.objects.count() == 0


def test_a_member_without_export_rights_gets_no_reports_in_the_file(demo, django_user_model, women):
    nick = django_user_model.objects.create_user(username="no_export_nick", password="x")
    ProjectMember.objects.create(project=demo, user=nick)

    assert "ReportsGroup" not in _xml(demo, nick)


def test_the_api_and_the_web_odm_download_carry_the_reports(demo, pi_paula, women):
    token = token_create(context=AuditContext(actor=pi_paula), user=pi_paula, project=demo)

    api = post({"token": token, "content": "project_xml", "returnMetadataOnly": "true"})
    web = export_bytes(pi_paula, demo, "odm").decode()

    for text in (api.content.decode(), web):
        assert [r["title"] for r in _reports_in(text)] == ["女性の割付 / Women by arm"]
    assert re.search(r"<redcap:ReportsGroup>\s*<redcap:Reports title=", web)
