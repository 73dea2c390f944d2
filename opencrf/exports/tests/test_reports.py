"""Saved reports: checked definitions, audited writes, and rows decided by the viewer's access."""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.exports.models import Report
from opencrf.exports.reports import (
    ReportSpec,
    report_copy,
    report_create,
    report_delete,
    report_update,
)
from opencrf.exports.selectors import (
    PAGE_SIZE,
    access_report,
    live_filters,
    report_page,
    report_request,
    reports_visible_to,
)
from opencrf.projects.models import ProjectMember, Role

pytestmark = pytest.mark.django_db


def _context(user):
    return AuditContext(actor=user, source="web")


def _entries(project, action):
    return list(AuditEvent.objects.filter(project_id=project.pk, action=action))


def _spec(**values):
    defaults = {"title": "Sex by site", "fields": ("sex", "rand_group")}
    return ReportSpec(**(defaults | values))


def _ids(page):
    return [row[0] for row in page.rows]


@pytest.fixture
def role_rita(django_user_model, demo):
    """A member at site A through the "Monitor" role, which exports everything in full."""
    forms = list(demo.instruments.values_list("name", flat=True))
    role = Role.objects.create(
        project=demo,
        name="Monitor",
        unique_name="U-MONITOR001",
        export_rights=dict.fromkeys(forms, "full"),
        form_rights=dict.fromkeys(forms, "read"),
    )
    user = django_user_model.objects.create_user(username="role_rita", password="x")
    group = demo.groups.get(unique_name="toto_univ")
    ProjectMember.objects.create(project=demo, user=user, role=role, group=group)
    return user


def test_unreadable_filter_logic_is_refused_with_its_line_and_column_and_nothing_is_written(
    demo, pi_paula
):
    with pytest.raises(InvalidInput) as refused:
        report_create(
            context=_context(pi_paula), project=demo, spec=_spec(filter_logic="[sex] = '1' and (")
        )
    assert "The logic cannot be read at line 1, column " in refused.value.message
    assert Report.objects.count() == 0
    assert _entries(demo, "report.create") == []


def test_unknown_fields_events_and_live_filters_are_each_named(demo, pi_paula):
    spec = _spec(
        fields=("sex", "no_such"),
        events=("nowhere_arm_1",),
        filter_logic="[ghost] = '1'",
        live_filters=("initials",),
        order=(("sex", "up"),),
    )
    with pytest.raises(InvalidInput) as refused:
        report_create(context=_context(pi_paula), project=demo, spec=spec)
    message = refused.value.message
    assert "These fields do not exist in the project: no_such." in message
    assert "These events do not exist in the project: nowhere_arm_1." in message
    assert "The logic refers to fields that do not exist: ghost." in message
    assert "initials cannot be a live filter" in message
    assert "Order sex ascending or descending." in message
    assert Report.objects.count() == 0


def test_a_report_keeps_the_record_id_first_and_its_creation_is_audited(demo, pi_paula):
    report = report_create(
        context=_context(pi_paula), project=demo, spec=_spec(fields=("sex", "record_id"))
    )
    assert report.fields == ["record_id", "sex"]
    [entry] = _entries(demo, "report.create")
    assert entry.details == f"Create report {report.pk}: Sex by site"
    assert entry.actor == pi_paula


def test_edit_copy_and_delete_are_audited(demo, pi_paula):
    report = report_create(context=_context(pi_paula), project=demo, spec=_spec())
    report_update(context=_context(pi_paula), report=report, spec=_spec(title="Sex"))
    copy = report_copy(context=_context(pi_paula), report=report)
    original = report.pk
    report_delete(context=_context(pi_paula), report=report)
    [edit] = _entries(demo, "report.update")
    assert edit.changes == {"title": ["Sex by site", "Sex"]}
    assert copy.title == "Sex (copy)"
    assert [e.details for e in _entries(demo, "report.copy")] == [
        f"Copy report {original} as report {copy.pk}: Sex (copy)"
    ]
    assert len(_entries(demo, "report.delete")) == 1
    assert list(Report.objects.values_list("pk", flat=True)) == [copy.pk]


def test_a_member_without_the_design_right_cannot_create_or_delete_reports(
    demo, pi_paula, site_a_sam
):
    report = report_create(context=_context(pi_paula), project=demo, spec=_spec())
    with pytest.raises(PermissionDenied):
        report_create(context=_context(site_a_sam), project=demo, spec=_spec())
    with pytest.raises(PermissionDenied):
        report_delete(context=_context(site_a_sam), report=report)
    assert list(Report.objects.values_list("pk", flat=True)) == [report.pk]
    assert _entries(demo, "report.delete") == []


def test_a_report_shared_with_a_role_shows_a_grouped_member_only_their_sites_rows(
    demo, pi_paula, role_rita, site_a_sam
):
    role = Role.objects.get(project=demo, name="Monitor")
    spec = _spec(view_all=False, view_access={"roles": [role.pk]}, events=("screening_arm_1",))
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    shown = access_report(role_rita, demo, report.pk)
    page = report_page(role_rita, demo, report_request(demo, shown))
    assert _ids(page) == ["1-1", "1-2", "1-3", "1-4"]
    assert page.total == 4
    with pytest.raises(NotFound):
        access_report(site_a_sam, demo, report.pk)  # not in the role: as if it did not exist
    assert reports_visible_to(site_a_sam, demo) == []


def test_a_live_filter_on_another_sites_group_shows_a_grouped_member_nothing(
    demo, pi_paula, role_rita
):
    spec = _spec(live_filters=("redcap_data_access_group",), events=("screening_arm_1",))
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    [offered] = live_filters(role_rita, demo, report, {"redcap_data_access_group": "hokurei_med"})
    assert offered.options == (("toto_univ", "東都大学病院"),) or len(offered.options) == 1
    assert offered.chosen == ""  # a group not offered is ignored, not obeyed
    page = report_page(role_rita, demo, report_request(demo, report, [offered]))
    assert _ids(page) == ["1-1", "1-2", "1-3", "1-4"]


def test_members_without_any_export_right_see_no_reports(django_user_model, demo, pi_paula):
    report_create(context=_context(pi_paula), project=demo, spec=_spec())
    user = django_user_model.objects.create_user(username="no_export_nick", password="x")
    ProjectMember.objects.create(project=demo, user=user)
    assert reports_visible_to(user, demo) == []


def test_row_level_and_record_level_filters(demo, pi_paula):
    logic = "[sex] = '1'"
    rows = _spec(fields=("sex",), filter_logic=logic)
    records = _spec(fields=("sex",), filter_logic=logic, filtering="record")
    by_row = report_create(context=_context(pi_paula), project=demo, spec=rows)
    by_record = report_create(context=_context(pi_paula), project=demo, spec=records)
    row_page = report_page(pi_paula, demo, report_request(demo, by_row))
    record_page = report_page(pi_paula, demo, report_request(demo, by_record))
    matching = sorted(set(_ids(row_page)))
    assert {row[1] for row in row_page.rows} == {"screening_arm_1"}  # sex is asked there only
    assert sorted(set(_ids(record_page))) == matching
    assert record_page.total > row_page.total  # every event row of those records


def test_sorting_puts_blanks_last_and_keeps_record_order_for_ties(demo, pi_paula):
    spec = _spec(fields=("sex",), events=("screening_arm_1",))
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    request = report_request(demo, report)
    plain = report_page(pi_paula, demo, request)
    down = report_page(pi_paula, demo, request, order=[("sex", True)])
    sex = plain.table.names.index("sex")
    expected = sorted(plain.rows, key=lambda row: (row[sex] == "", -int(row[sex] or 0)))
    assert down.rows == expected
    assert plain.pages == 1 and PAGE_SIZE == 100


def test_a_live_filter_on_a_code_holding_a_quote_matches_that_code_and_nothing_else(
    classic_project, paula_context, pi_paula
):
    from opencrf.dictionary.columns import FieldRow
    from opencrf.dictionary.services import dictionary_apply
    from opencrf.records.services import form_save, record_create

    rows = [
        FieldRow(field_name="pid", form_name="f", field_label="ID"),
        FieldRow(
            field_name="kind",
            form_name="f",
            field_label="Kind",
            field_type="dropdown",
            select_choices_or_calculations="a'b, Quote | 2, Two",
        ),
    ]
    dictionary_apply(context=paula_context, project=classic_project, rows=rows, source="upload")
    event = classic_project.events.get()
    for record_id, kind in (("1", "a'b"), ("2", "2")):
        record = record_create(context=paula_context, project=classic_project, record_id=record_id)
        form_save(
            context=paula_context,
            record=record,
            event=event,
            form_name="f",
            values={"kind": kind},
            base_version=0,
        )
    spec = ReportSpec(title="Kinds", fields=("kind",), live_filters=("kind",))
    report = report_create(context=paula_context, project=classic_project, spec=spec)
    [offered] = live_filters(pi_paula, classic_project, report, {"kind": "a'b"})
    page = report_page(
        pi_paula, classic_project, report_request(classic_project, report, [offered])
    )
    assert page.rows == [["1", "a'b"]]
    [ignored] = live_filters(pi_paula, classic_project, report, {"kind": "' or 1=1 or '"})
    assert ignored.chosen == ""  # not one of the field's codes: no filter, never spliced in


def test_an_unfiltered_report_in_record_order_is_paged_by_records_with_all_their_rows(
    demo, pi_paula, site_a_sam, monkeypatch
):
    monkeypatch.setattr("opencrf.exports.selectors.PAGE_SIZE", 2)
    report = report_create(context=_context(pi_paula), project=demo, spec=_spec())
    request = report_request(demo, report)
    everything = report_page(pi_paula, demo, request, order=[("record_id", False)])
    second = report_page(site_a_sam, demo, request, page=2)
    past_the_end = report_page(site_a_sam, demo, request, page=99)
    assert second.by_record and (second.total, second.pages) == (4, 2)
    rows_of = [row for row in everything.table.rows() if row[0] in ("1-3", "1-4")]
    assert second.rows == rows_of
    assert len(second.rows) > 2  # every event row of the two records
    assert past_the_end.page == 2 and past_the_end.rows == second.rows
