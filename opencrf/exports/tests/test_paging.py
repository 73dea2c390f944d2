"""Filtered and sorted report pages from kept row keys: the same pages as streaming the whole
report for each, kept only while the data, the design and the viewer's scope stay the same."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from opencrf.audit.services import AuditContext
from opencrf.exports import paging
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.exports.selectors import (
    live_filters,
    report_page,
    report_page_streamed,
    report_request,
)
from opencrf.records.services import form_save

pytestmark = pytest.mark.django_db

PAGE = 3  # small pages, so that the demo's reports run over several

REPORTS = {
    "sorted desc, blanks last": (
        ReportSpec(title="HbA1c", fields=("sex", "age", "v_hba1c", "ae_severity")),
        [("v_hba1c", True)],
    ),
    "row filter, record order": (
        ReportSpec(title="Men", fields=("sex", "v_weight"), filter_logic="[sex] = '1'"),
        [],
    ),
    "record filter, two sort keys": (
        ReportSpec(
            title="Men, every row",
            fields=("sex", "age", "v_weight"),
            filter_logic="[sex] = '1'",
            filtering="record",
        ),
        [("age", False), ("redcap_event_name", True)],
    ),
    "cross-event filter, no repeats, sorted by a checkbox": (
        ReportSpec(
            title="Walkers",
            fields=("dm_meds", "v_hba1c", "ae_term"),
            filter_logic="[screening_arm_1][rand_group] = '1'",
            include_repeating=False,
        ),
        [("dm_meds___met", True), ("v_hba1c", False)],
    ),
    "repeating rows sorted by instance": (
        ReportSpec(title="Adverse events", fields=("ae_term", "ae_severity", "ae_days")),
        [("redcap_repeat_instance", True), ("ae_severity", False)],
    ),
    "chosen events, sorted by a form status and the group": (
        ReportSpec(
            title="Visits",
            fields=("redcap_data_access_group", "v_weight", "visit_complete"),
            events=("week_12_arm_1", "week_52_arm_1"),
        ),
        [("visit_complete", False), ("redcap_data_access_group", True)],
    ),
    "filter and sort by the record id": (
        ReportSpec(title="Heavy", fields=("v_weight",), filter_logic="[v_weight] > 60"),
        [("record_id", True)],
    ),
}


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr("opencrf.exports.selectors.PAGE_SIZE", PAGE)
    cache.clear()
    yield
    cache.clear()


def _context(user):
    return AuditContext(actor=user, source="web")


def _seen(page):
    return (page.rows, page.total, page.page, page.pages, page.sort, page.descending)


def _same_pages(user, project, request, order):
    """Every page (and one past the end) equals the streamed computation of it."""
    first = report_page_streamed(user, project, request, order=order)
    for number in range(1, first.pages + 2):
        kept = report_page(user, project, request, page=number, order=order)
        streamed = report_page_streamed(user, project, request, page=number, order=order)
        assert _seen(kept) == _seen(streamed), (user.username, number)
        assert kept.record_links == streamed.record_links
        assert kept.table.names == streamed.table.names
    return first


@pytest.mark.parametrize("name", list(REPORTS))
@pytest.mark.parametrize("labels", [False, True], ids=["codes", "labels"])
def test_pages_equal_the_streamed_report_for_every_viewer(
    name, labels, demo, pi_paula, site_a_sam, deidentified_dee
):
    spec, order = REPORTS[name]
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    request = report_request(demo, report, labels=labels)
    everything = _same_pages(pi_paula, demo, request, order)
    assert everything.sort == (order[0][0] if order else "")  # every sort column is shown
    site_a = _same_pages(site_a_sam, demo, request, order)
    _same_pages(deidentified_dee, demo, request, order)
    assert everything.total > 0
    assert 0 < site_a.total < everything.total  # the keys of one scope are not another's


@pytest.mark.parametrize(
    "chosen",
    [
        {"sex": "2"},
        {"redcap_event_name": "week_12_arm_1"},
        {"redcap_data_access_group": "hokurei_med", "sex": "1"},
    ],
    ids=["field", "event", "group and field"],
)
def test_live_filters_give_the_streamed_pages(chosen, demo, pi_paula, site_a_sam):
    spec = ReportSpec(
        title="Live",
        fields=("sex", "v_weight", "redcap_data_access_group"),
        live_filters=("sex", "redcap_event_name", "redcap_data_access_group"),
    )
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    for user in (pi_paula, site_a_sam):
        live = live_filters(user, demo, report, chosen)
        request = report_request(demo, report, live)
        _same_pages(user, demo, request, [("v_weight", True)])
        if request.filter is not None:  # else paged by records, not rows (test_reports)
            _same_pages(user, demo, request, [])


def test_a_site_a_viewer_of_another_group_live_filter_sees_nothing(demo, pi_paula, site_a_sam):
    spec = ReportSpec(title="Live", fields=("sex",), live_filters=("redcap_data_access_group",))
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    [offered] = live_filters(site_a_sam, demo, report, {"redcap_data_access_group": "hokurei_med"})
    page = report_page(
        site_a_sam, demo, report_request(demo, report, [offered]), order=[("sex", False)]
    )
    assert offered.chosen == ""  # not one of Sam's groups: ignored
    assert {row[0].split("-")[0] for row in page.rows} == {"1"}  # site A's records only


def test_the_second_page_reads_the_kept_keys_and_a_write_makes_new_ones(
    demo, pi_paula, monkeypatch
):
    spec = ReportSpec(title="Weights", fields=("v_weight",), filter_logic="[v_weight] > 0")
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    request = report_request(demo, report)
    order = [("v_weight", True)]
    computed = []
    original = paging._computed
    monkeypatch.setattr(paging, "_computed", lambda *a: computed.append(1) or original(*a))

    first = report_page(pi_paula, demo, request, order=order)
    report_page(pi_paula, demo, request, page=2, order=order)
    assert len(computed) == 1

    record = demo.records.get(record_id=first.rows[0][0])
    event = demo.events.get(unique_name=first.rows[0][1])
    form = record.forms.get(event=event, form_name="visit")
    form_save(
        context=_context(pi_paula),
        record=record,
        event=event,
        form_name="visit",
        values={"v_weight": "30.0"},
        base_version=form.version,
    )
    after = report_page(pi_paula, demo, request, order=order)

    assert len(computed) == 2
    assert _seen(after) == _seen(report_page_streamed(pi_paula, demo, request, order=order))
    assert after.rows[0] != first.rows[0]
    kept = cache.get(paging._cache_key(paging._state(pi_paula, demo), request, order))
    assert kept[0] == paging.data_version(demo)  # the new keys replaced the old, not added


def test_two_sites_sorting_the_same_report_each_see_only_their_own_records(
    django_user_model, demo, pi_paula, site_a_sam
):
    from opencrf.exports.tests.conftest import _member

    site_b = demo.groups.get(unique_name="hokurei_med")
    bob = _member(django_user_model, demo, "site_b_bob", right="full", group=site_b)
    spec = ReportSpec(title="Weights", fields=("v_weight",), filter_logic="[v_weight] > 0")
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    request = report_request(demo, report)
    order = [("v_weight", True)]

    sam = _same_pages(site_a_sam, demo, request, order)
    bob_page = _same_pages(bob, demo, request, order)

    sam_ids = {row[0] for row in sam.table.rows()}
    bob_ids = {row[0] for row in bob_page.table.rows()}
    assert sam_ids and bob_ids and not sam_ids & bob_ids
    assert {i.split("-")[0] for i in sam_ids} == {"1"}
    assert {i.split("-")[0] for i in bob_ids} == {"2"}


def test_the_data_version_moves_with_every_audited_write(demo, pi_paula):
    before = paging.data_version(demo)
    report_create(context=_context(pi_paula), project=demo, spec=ReportSpec(title="Any"))
    after = paging.data_version(demo)
    assert after[0] == before[0] + 1
    assert after[1] != before[1]


def test_a_page_number_below_one_is_the_first_page(demo, pi_paula):
    spec = ReportSpec(title="Sorted", fields=("sex",))
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    request = report_request(demo, report)
    zero = report_page(pi_paula, demo, request, page=0, order=[("sex", False)])
    negative = report_page(pi_paula, demo, request, page=-5, order=[("sex", False)])
    first = report_page_streamed(pi_paula, demo, request, page=1, order=[("sex", False)])
    assert _seen(zero) == _seen(negative) == _seen(first)
    assert zero.page == 1


@pytest.mark.parametrize("labels", [False, True], ids=["codes", "labels"])
@pytest.mark.parametrize("filtering", ["row", "record"])
def test_resorting_a_filtered_report_reads_only_its_matching_records_and_gives_the_same_pages(
    filtering, labels, demo, pi_paula, site_a_sam, deidentified_dee, monkeypatch
):
    spec = ReportSpec(
        title="Men",
        fields=("sex", "age", "v_weight", "ae_severity"),
        filter_logic="[sex] = '1'",
        filtering=filtering,
    )
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    request = report_request(demo, report, labels=labels)
    original = paging.export_table
    for user in (pi_paula, site_a_sam, deidentified_dee):
        first = _same_pages(user, demo, request, [("age", True)])
        matching = {row[0] for row in first.table.rows()}
        read: list[tuple[str, ...]] = []
        filters = []

        def spy(user, project, narrow, read=read, filters=filters):
            read.append(narrow.records)
            filters.append(narrow.filter)
            return original(user, project, narrow)

        monkeypatch.setattr(paging, "export_table", spy)
        _same_pages(user, demo, request, [("v_weight", False), ("ae_severity", True)])
        monkeypatch.setattr(paging, "export_table", original)

        assert read and all(read)  # every query names its records: never the whole project
        # The filter is not evaluated again on the records it kept when it keeps whole
        # records, or when the matching rows' places were read without labels (the first
        # export is the key pass; the others build pages).
        assert (filters[0] is None) == (filtering == "record" or not labels)
        ids = set().union(*read)
        assert len(ids) == len(matching) < demo.records.count()
        if not first.table.deidentify.hash_record_id:
            assert ids == matching


@pytest.mark.parametrize(
    "column", ["v_weight", "sex", "record_id", "redcap_repeat_instance", "dm_meds___met", "age"]
)
@pytest.mark.parametrize("logic", ["", "[sex] = '2'"], ids=["all rows", "filtered"])
def test_turning_a_one_column_sort_round_needs_no_second_pass_and_gives_the_streamed_pages(
    column, logic, demo, pi_paula, deidentified_dee, monkeypatch
):
    spec = ReportSpec(
        title="Turned",
        fields=("sex", "age", "v_weight", "dm_meds", "ae_term"),
        filter_logic=logic,
    )
    report = report_create(context=_context(pi_paula), project=demo, spec=spec)
    computed = []
    original = paging._computed
    monkeypatch.setattr(paging, "_computed", lambda *a: computed.append(1) or original(*a))
    for labels in (False, True):
        request = report_request(demo, report, labels=labels)
        for user in (pi_paula, deidentified_dee):
            before = len(computed)
            up = _same_pages(user, demo, request, [(column, False)])
            down = _same_pages(user, demo, request, [(column, True)])
            assert len(computed) == before + 1
            if user == pi_paula:  # the column is shown: both orders really sort by it
                assert (up.sort, up.descending, down.sort, down.descending) == (
                    column,
                    False,
                    column,
                    True,
                )
