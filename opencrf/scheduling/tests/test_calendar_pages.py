"""The calendar pages, the record page's schedule and ad-hoc entries, through HTTP."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from opencrf.audit.models import AuditEvent
from opencrf.scheduling.models import CalendarEntry, Visit

from .conftest import d

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def frozen_today(monkeypatch):
    """The site's date is 2026-02-20 for every page."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: date(2026, 2, 20))
    return date(2026, 2, 20)


@pytest.fixture
def two_sites(anchored, make_record):
    return {
        "osaka": make_record("1-1", "osaka_central", consent="2026-01-10"),
        "kyoto": make_record("2-1", "kyoto_north", consent="2026-01-11"),
    }


def calendar_url(project, view="", **query) -> str:
    path = f"/projects/{project.pk}/calendar/{view}"
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_the_month_shows_my_sites_visits_with_their_windows_and_no_other_site(
    two_sites, sam, frozen_today
):
    response = client_of(sam).get(calendar_url(two_sites["osaka"].project, month="2026-02"))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-record="1-1" data-event="week_4_arm_1" data-status="due"' in html
    assert "02/14–02/28" in html  # week 4's window, on its planned day 2026-02-21
    assert 'data-record="2-1"' not in html


def test_the_list_shows_visits_of_the_month_with_windows_and_statuses(
    two_sites, paula_context, pi_paula, frozen_today
):
    response = client_of(pi_paula).get(
        calendar_url(two_sites["osaka"].project, "list/", month="2026-01")
    )

    html = response.content.decode()
    rows = [line for line in html.splitlines() if 'data-testid="visit"' in line]
    assert [r.split('data-record="')[1].split('"')[0] for r in rows] == ["1-1", "2-1", "1-1", "2-1"]
    assert "2026-01-21 – 2026-01-27" in html  # 1-1's baseline window
    assert 'data-record="1-1" data-event="baseline_arm_1" data-status="overdue"' in html
    assert 'data-record="1-1" data-event="screening_arm_1" data-status="done"' in html


def test_filters_by_site_and_status(two_sites, pi_paula, groups, frozen_today):
    project = two_sites["osaka"].project
    client = client_of(pi_paula)

    by_site = client.get(
        calendar_url(project, "list/", month="2026-01", group=groups["kyoto_north"].pk)
    ).content.decode()
    by_status = client.get(
        calendar_url(project, "list/", month="2026-01", status="overdue")
    ).content.decode()

    assert 'data-record="1-1"' not in by_site and 'data-record="2-1"' in by_site
    assert by_status.count('data-testid="visit"') == 2
    assert 'data-status="done"' not in by_status


def test_a_grouped_member_cannot_widen_the_calendar_with_another_sites_group(
    two_sites, sam, groups, frozen_today
):
    project = two_sites["osaka"].project

    html = (
        client_of(sam)
        .get(calendar_url(project, "list/", month="2026-01", group=groups["kyoto_north"].pk))
        .content.decode()
    )

    assert "Site: no such data access group; showing every site." in html
    assert 'data-record="2-1"' not in html
    assert 'data-record="1-1"' in html


@pytest.mark.parametrize("query", ["month=2026-13", "month=<b>", "status=lost", "group=abc"])
def test_bad_filters_fall_back_without_an_error_page(two_sites, pi_paula, query, frozen_today):
    response = client_of(pi_paula).get(calendar_url(two_sites["osaka"].project) + "?" + query)

    assert response.status_code == 200
    assert "<b>" not in response.content.decode()


def test_the_month_takes_the_same_number_of_queries_for_more_records(
    anchored, make_record, pi_paula, frozen_today
):
    client = client_of(pi_paula)
    make_record("1-1", "osaka_central", consent="2026-01-10")
    url = calendar_url(anchored, month="2026-02")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(2, 7):
        make_record(f"1-{n}", "osaka_central", consent=f"2026-01-{10 + n}")
    with CaptureQueriesContext(connection) as six:
        html = client.get(url).content.decode()

    assert html.count('data-event="week_4_arm_1"') == 6
    assert len(six) == len(one)


def test_the_record_page_shows_its_schedule(two_sites, sam, frozen_today):
    record = two_sites["osaka"]

    html = client_of(sam).get(f"/projects/{record.project_id}/records/1-1/").content.decode()

    assert 'data-testid="record-schedule"' in html
    assert 'data-event="week_12_arm_1" data-status="upcoming"' in html
    assert "2026-04-11 – 2026-05-02" in html


def test_moving_a_visit_by_the_web_is_audited_and_a_bad_date_changes_nothing(
    two_sites, sam, events
):
    record = two_sites["osaka"]
    url = f"/projects/{record.project_id}/calendar/records/1-1/week_4_arm_1/move/"
    client = client_of(sam)
    before = AuditEvent.objects.count()

    bad = client.post(url, {"planned": "2026-02-30"}, follow=True)
    visit = Visit.objects.get(record=record, event=events["week_4_arm_1"])
    assert "Planned date: “2026-02-30” is not a date" in bad.content.decode()
    assert (visit.planned_date, AuditEvent.objects.count()) == (d("2026-02-21"), before)

    client.post(url, {"planned": "2026-02-24", "reason": "Patient asked"})
    visit.refresh_from_db()
    assert (visit.planned_date, visit.moved) == (d("2026-02-24"), True)
    entry = AuditEvent.objects.get(action="schedule.visit_move")
    assert (entry.actor_id, entry.record, entry.reason) == (sam.pk, "1-1", "Patient asked")


def test_generating_a_schedule_refuses_a_date_that_is_not_one(study, make_record, pi_paula):
    make_record("1-1", "osaka_central")  # arm 1 has no start field: schedules by hand
    url = f"/projects/{study.pk}/calendar/records/1-1/generate/"
    client = client_of(pi_paula)

    refused = client.post(url, {"arm": "1", "start": "10/01/2026"}, follow=True)
    assert "Start date: “10/01/2026” is not a date" in refused.content.decode()
    assert not Visit.objects.exists()

    client.post(url, {"arm": "1", "start": "2026-01-10"})
    assert Visit.objects.count() == 5


def test_an_entry_about_another_sites_record_is_refused_and_nothing_is_written(two_sites, sam):
    project = two_sites["osaka"].project
    before = AuditEvent.objects.count()

    response = client_of(sam).post(
        calendar_url(project, "entries/new/"),
        {"date": "2026-02-03", "title": "Call", "record_id": "2-1"},
    )

    assert response.status_code == 400
    assert "Record: there is no record “2-1”." in response.content.decode()
    assert not CalendarEntry.objects.exists()
    assert AuditEvent.objects.count() == before


def test_an_entry_with_hostile_text_is_shown_escaped_and_audited(two_sites, sam):
    project = two_sites["osaka"].project
    client = client_of(sam)

    client.post(
        calendar_url(project, "entries/new/"),
        {
            "date": "2026-02-03",
            "time": "09:30",
            "title": HOSTILE,
            "notes": HOSTILE,
            "record_id": "1-1",
        },
    )
    html = client.get(calendar_url(project, "list/", month="2026-02")).content.decode()

    entry = CalendarEntry.objects.get()
    assert (entry.title, entry.record_id, entry.group_id) == (
        HOSTILE,
        two_sites["osaka"].pk,
        entry.record.group_id,
    )
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    created = AuditEvent.objects.get(action="calendar.entry_create")
    assert created.changes["title"] == ["", HOSTILE]
    assert created.record == "1-1"


def test_another_sites_entries_are_missing_entries(two_sites, sam, bea):
    project = two_sites["osaka"].project
    client_of(bea).post(
        calendar_url(project, "entries/new/"), {"date": "2026-02-05", "title": "Kyoto staff day"}
    )
    entry = CalendarEntry.objects.get()
    sam_client = client_of(sam)

    page = sam_client.get(calendar_url(project, month="2026-02")).content.decode()
    theirs = sam_client.get(calendar_url(project, f"entries/{entry.pk}/"))
    missing = sam_client.get(calendar_url(project, "entries/999999/"))
    deleting = sam_client.post(calendar_url(project, f"entries/{entry.pk}/delete/"))

    assert "Kyoto staff day" not in page
    assert theirs.status_code == missing.status_code == deleting.status_code == 404
    assert CalendarEntry.objects.count() == 1


def test_a_member_in_a_group_reads_but_cannot_change_a_project_wide_entry(two_sites, pi_paula, sam):
    project = two_sites["osaka"].project
    client_of(pi_paula).post(
        calendar_url(project, "entries/new/"), {"date": "2026-02-05", "title": "Monitoring visit"}
    )
    entry = CalendarEntry.objects.get()

    page = client_of(sam).get(calendar_url(project, f"entries/{entry.pk}/")).content.decode()
    client_of(sam).post(
        calendar_url(project, f"entries/{entry.pk}/"), {"date": "2026-02-06", "title": "Moved"}
    )
    client_of(sam).post(calendar_url(project, f"entries/{entry.pk}/delete/"))

    assert 'data-testid="entry-readonly"' in page
    entry.refresh_from_db()
    assert (entry.title, entry.date) == ("Monitoring visit", d("2026-02-05"))


def test_a_monitor_without_the_right_may_not_add_entries(two_sites, mo):
    project = two_sites["osaka"].project

    response = client_of(mo).post(
        calendar_url(project, "entries/new/"), {"date": "2026-02-05", "title": "x"}
    )

    assert response.status_code == 403
    assert not CalendarEntry.objects.exists()


def test_editing_and_deleting_an_entry_is_audited(two_sites, sam):
    project = two_sites["osaka"].project
    client = client_of(sam)
    client.post(calendar_url(project, "entries/new/"), {"date": "2026-02-05", "title": "Call"})
    entry = CalendarEntry.objects.get()

    client.post(
        calendar_url(project, f"entries/{entry.pk}/"),
        {"date": "2026-02-06", "title": "Call back", "notes": "a; b, c"},
    )
    client.post(calendar_url(project, f"entries/{entry.pk}/delete/"))

    logged = AuditEvent.objects.filter(action__startswith="calendar.entry").order_by("sequence")
    assert [(e.action, e.changes) for e in logged] == [
        ("calendar.entry_create", {"date": ["", "2026-02-05"], "title": ["", "Call"]}),
        (
            "calendar.entry_update",
            {
                "date": ["2026-02-05", "2026-02-06"],
                "title": ["Call", "Call back"],
                "notes": ["", "a; b, c"],
            },
        ),
        (
            "calendar.entry_delete",
            {"date": ["2026-02-06", ""], "title": ["Call back", ""], "notes": ["a; b, c", ""]},
        ),
    ]
    assert not CalendarEntry.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "2026-02-31", "title": "x"}, "Date: “2026-02-31” is not a date"),
        ({"date": "", "title": "x"}, "Date: “” is not a date"),
        ({"date": "2026-02-03", "title": "  "}, "Title: an entry needs a title."),
        ({"date": "2026-02-03", "title": "x", "time": "25:00"}, "Time: “25:00” is not a time"),
        ({"date": "2026-02-03", "title": "x" * 201}, "Title or notes: at most 200"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_field(two_sites, sam, data, message):
    response = client_of(sam).post(calendar_url(two_sites["osaka"].project, "entries/new/"), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CalendarEntry.objects.exists()


def test_the_setup_page_sets_the_start_field_for_designers_only(study, make_record, pi_paula, sam):
    make_record("1-1", "osaka_central", consent="2026-01-10")
    url = calendar_url(study, "setup/")

    refused = client_of(sam).post(url, {"arm_1": "consent_date@screening_arm_1"})
    assert refused.status_code == 403
    assert not Visit.objects.exists()

    page = client_of(pi_paula).get(url).content.decode()
    assert 'value="consent_date@screening_arm_1"' in page
    client_of(pi_paula).post(url, {"arm_1": "consent_date@screening_arm_1"})
    assert Visit.objects.count() == 5


@pytest.mark.parametrize("arm", ["abc", "", "99", "1e3", "١"])
def test_generating_for_an_arm_that_is_not_one_is_refused(study, make_record, pi_paula, arm):
    make_record("1-1", "osaka_central")

    response = client_of(pi_paula).post(
        calendar_url(study, "records/1-1/generate/"),
        {"arm": arm, "start": "2026-01-10"},
        follow=True,
    )

    assert "Arm: no such arm." in response.content.decode()
    assert not Visit.objects.exists()


def test_a_bad_choice_for_one_arm_saves_no_arm(study, paula_context, pi_paula, events):
    from opencrf.projects.services import arm_create

    arm_create(context=paula_context, project=study, number=2, name="Control")
    before = AuditEvent.objects.count()

    response = client_of(pi_paula).post(
        calendar_url(study, "setup/"),
        {"arm_1": "consent_date@screening_arm_1", "arm_2": "consent_date@screening_arm_1"},
        follow=True,
    )

    assert "Start date field: choose an event of this arm." in response.content.decode()
    from opencrf.scheduling.models import ScheduleAnchor

    assert not ScheduleAnchor.objects.exists()
    assert AuditEvent.objects.count() == before
