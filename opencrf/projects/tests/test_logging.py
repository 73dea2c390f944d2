"""The Logging page and its CSV export: the project's audit trail, newest first, filtered."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.urls import reverse

from opencrf.audit import services as audit_services
from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.projects import logging_views
from opencrf.projects.logging_views import change_lines, neutralise

pytestmark = pytest.mark.django_db

CSV_HEADER = [
    "Time",
    "User",
    "Action",
    "Record",
    "Event",
    "Instrument",
    "Instance",
    "Details",
    "Changes",
    "Reason",
]


@pytest.fixture(autouse=True)
def _tokyo(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def paula_client(client, pi_paula):
    client.force_login(pi_paula)
    return client


def _log(context, project, action="record.create", at=None, monkeypatch=None, **kwargs):
    if at is not None:
        monkeypatch.setattr(audit_services, "datetime", _clock(at))
    with transaction.atomic():
        return audit_event_create(context=context, project_id=project.pk, action=action, **kwargs)


def _clock(at):
    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return at

    return Clock


def _page(client, project, **params):
    return client.get(reverse("projects:logging", args=[project.pk]), params)


def _actions(response):
    return [row.action for row in response.context["rows"]]


def _records(response):
    return [row.record for row in response.context["rows"]]


def _csv(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


# --- The page ---


def test_the_page_shows_the_projects_entries_newest_first(
    paula_client, paula_context, classic_project
):
    _log(paula_context, classic_project, target=AuditTarget(record="1"))
    _log(paula_context, classic_project, action="form.update", target=AuditTarget(record="1"))

    response = _page(paula_client, classic_project)

    assert response.status_code == 200
    assert _actions(response) == ["Update form", "Create record", "Create project"]
    assert response.context["nav"] == "logging"


def test_entries_of_other_projects_are_not_shown(paula_client, paula_context, classic_project):
    other = audit_services.AuditContext(actor=paula_context.actor)
    with transaction.atomic():
        audit_event_create(context=other, project_id=classic_project.pk + 1, action="x.other")

    assert _actions(_page(paula_client, classic_project)) == ["Create project"]


def test_a_row_shows_time_user_target_details_changes_and_reason(
    paula_client, paula_context, classic_project, monkeypatch
):
    _log(
        paula_context,
        classic_project,
        action="form.update",
        at=datetime(2025, 3, 31, 15, 0, 0, 123456, tzinfo=UTC),
        monkeypatch=monkeypatch,
        target=AuditTarget(record="7", event="baseline_arm_1", instrument="vitals", instance=2),
        details="Save form",
        changes={"weight": ["70", "72"], "note": ["", "<script>alert(1)</script>"]},
        reason="transcription error",
    )

    response = _page(paula_client, classic_project)

    row = response.context["rows"][0]
    assert (row.time, row.user, row.action) == ("2025-04-01 00:00:00", "pi_paula", "Update form")
    assert (row.record, row.event, row.instrument, row.instance) == (
        "7",
        "baseline_arm_1",
        "vitals",
        "2",
    )
    assert row.changes == ["note: '' → '<script>alert(1)</script>'", "weight: '70' → '72'"]
    assert (row.details, row.reason) == ("Save form", "transcription error")
    html = response.content.decode()
    assert "note: &#x27;&#x27; → &#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27;" in html
    assert "<script>alert(1)" not in html


def test_unknown_action_codes_are_shown_raw_and_system_entries_as_system(
    paula_client, classic_project
):
    _log(AuditContext.system(), classic_project, action="backup.run")

    row = _page(paula_client, classic_project).context["rows"][0]

    assert (row.action, row.user) == ("backup.run", "(system)")


def test_change_summaries_that_are_not_pairs_are_shown_as_json():
    assert change_lines(
        {"added": ["a:b"], "removed": [], "changed_fields": {"age": {"label": ["A", "Age"]}}}
    ) == ['added: ["a:b"]', 'changed_fields: {"age":{"label":["A","Age"]}}']
    assert change_lines({"status": [None, 2]}) == ["status: '' → '2'"]


def test_the_project_pages_link_to_logging(paula_client, classic_project):
    html = paula_client.get(reverse("projects:home", args=[classic_project.pk])).content.decode()

    assert f'href="{reverse("projects:logging", args=[classic_project.pk])}"' in html


# --- Pagination ---


def test_the_page_holds_50_entries_and_keeps_filters_in_its_links(
    paula_client, paula_context, classic_project
):
    for number in range(1, 121):
        _log(paula_context, classic_project, target=AuditTarget(record=str(number)))

    first = _page(paula_client, classic_project)
    third = _page(paula_client, classic_project, page=3)
    filtered = _page(paula_client, classic_project, action="record.create", page=2)

    assert _records(first) == [str(n) for n in range(120, 70, -1)]
    assert (first.context["page"].paginator.count, first.context["page"].paginator.num_pages) == (
        121,
        3,
    )
    assert _records(third) == [str(n) for n in range(20, 0, -1)] + [""]
    assert _records(filtered) == [str(n) for n in range(70, 20, -1)]
    html = filtered.content.decode()
    assert 'href="?action=record.create&amp;page=1"' in html
    assert 'href="?action=record.create&amp;page=3"' in html
    assert "Page 2 of 3" in html


def test_a_page_number_out_of_range_shows_the_last_page(paula_client, classic_project):
    response = _page(paula_client, classic_project, page=99)

    assert response.context["page"].number == 1
    assert _actions(response) == ["Create project"]


# --- Filters ---


def test_the_record_filter_matches_exactly(paula_client, paula_context, classic_project):
    for record in ("10", "101", "10", "1"):
        _log(paula_context, classic_project, target=AuditTarget(record=record))

    assert _records(_page(paula_client, classic_project, record="10")) == ["10", "10"]


def test_the_user_filter_matches_the_user_name(
    paula_client, paula_context, site_b_bea, classic_project
):
    _log(AuditContext(actor=site_b_bea), classic_project, target=AuditTarget(record="b"))
    _log(paula_context, classic_project, target=AuditTarget(record="p"))

    response = _page(paula_client, classic_project, user="site_b_bea")

    assert [(row.user, row.record) for row in response.context["rows"]] == [("site_b_bea", "b")]


def test_the_action_filter_offers_the_actions_present_and_filters_by_one(
    paula_client, paula_context, classic_project
):
    _log(paula_context, classic_project, action="record.create")
    _log(paula_context, classic_project, action="backup.run")
    _log(paula_context, classic_project, action="record.create")

    response = _page(paula_client, classic_project, action="record.create")

    assert response.context["form"].fields["action"].choices == [
        ("", "All actions"),
        ("backup.run", "backup.run"),
        ("project.create", "Create project"),
        ("record.create", "Create record"),
    ]
    assert _actions(response) == ["Create record", "Create record"]
    assert '<option value="record.create" selected>' in response.content.decode()


def test_the_date_range_is_read_in_the_local_time_zone(
    paula_client, paula_context, classic_project, monkeypatch
):
    # 23:59:59 and 00:00:00 in Tokyo, either side of midnight, nine hours ahead of UTC.
    late = datetime(2025, 3, 31, 14, 59, 59, tzinfo=UTC)
    early = datetime(2025, 3, 31, 15, 0, 0, tzinfo=UTC)
    _log(
        paula_context,
        classic_project,
        at=late,
        monkeypatch=monkeypatch,
        target=AuditTarget(record="late"),
    )
    _log(
        paula_context,
        classic_project,
        at=early,
        monkeypatch=monkeypatch,
        target=AuditTarget(record="early"),
    )

    april = _page(paula_client, classic_project, date_from="2025-04-01", date_to="2025-04-01")
    march = _page(paula_client, classic_project, date_to="2025-03-31")
    both = _page(paula_client, classic_project, date_from="2025-03-31", date_to="2025-04-01")

    assert _records(april) == ["early"]
    assert _records(march) == ["late"]
    assert _records(both) == ["early", "late"]


def test_a_bad_date_is_named_and_that_filter_ignored(paula_client, paula_context, classic_project):
    _log(paula_context, classic_project, target=AuditTarget(record="1"))

    response = _page(paula_client, classic_project, date_from="2025-02-30", record="1")

    assert [str(m) for m in response.context["messages"]] == [
        "“2025-02-30” is not a date (YYYY-MM-DD); the “From” filter was ignored."
    ]
    assert _records(response) == ["1"]
    assert "“2025-02-30” is not a date (YYYY-MM-DD)" in response.content.decode()


def test_an_action_not_present_is_named_and_ignored(paula_client, classic_project):
    response = _page(paula_client, classic_project, action="no.such")

    assert [str(m) for m in response.context["messages"]] == [
        "“no.such” is not a valid value; the “Action” filter was ignored."
    ]
    assert _actions(response) == ["Create project"]


# --- Access ---


def test_another_users_project_is_not_found(client, site_b_bea, classic_project):
    client.force_login(site_b_bea)

    assert _page(client, classic_project).status_code == 404
    export = reverse("projects:logging_export", args=[classic_project.pk])
    assert client.get(export).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, classic_project):
    response = _page(client, classic_project)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_entries_pass_through_the_visibility_filter(
    paula_client, paula_context, classic_project, monkeypatch
):
    _log(paula_context, classic_project, target=AuditTarget(record="hidden"))
    _log(paula_context, classic_project, target=AuditTarget(record="shown"))
    everything = logging_views.log_entries_visible_to
    monkeypatch.setattr(
        logging_views,
        "log_entries_visible_to",
        lambda user, project: everything(user, project).exclude(record="hidden"),
    )

    page = _page(paula_client, classic_project)
    export = paula_client.get(reverse("projects:logging_export", args=[classic_project.pk]))

    assert _records(page) == ["shown", ""]
    assert [row[3] for row in _csv(export)[1:]] == ["shown", ""]


# --- CSV export ---


def test_the_export_streams_the_filtered_rows_as_utf8_csv(
    paula_client, paula_context, classic_project, monkeypatch
):
    at = datetime(2025, 3, 31, 15, 0, 0, tzinfo=UTC)
    _log(
        paula_context,
        classic_project,
        action="form.update",
        at=at,
        monkeypatch=monkeypatch,
        target=AuditTarget(record="7", event="baseline_arm_1", instrument="vitals", instance=1),
        changes={"weight": ["70", "72"], "name": ["", "山田"]},
        reason="typo",
    )
    _log(paula_context, classic_project, action="record.create", target=AuditTarget(record="8"))
    url = reverse("projects:logging_export", args=[classic_project.pk])

    response = paula_client.get(url, {"action": "form.update", "page": "2"})

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).astimezone(logging_views.timezone.get_default_timezone())
    name = f"opencrf_project{classic_project.pk}_logging_{today:%Y-%m-%d}.csv"
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    )
    assert _csv(response) == [
        CSV_HEADER,
        [
            "2025-04-01 00:00:00",
            "pi_paula",
            "Update form",
            "7",
            "baseline_arm_1",
            "vitals",
            "1",
            "",
            "name: '' → '山田'\nweight: '70' → '72'",
            "typo",
        ],
    ]


def test_the_export_neutralises_formulas(paula_client, paula_context, classic_project):
    _log(
        paula_context,
        classic_project,
        action='=HYPERLINK("http://x")',
        target=AuditTarget(record="+1", event="-1", instrument="@SUM(A1)"),
        details="\tdetails",
        reason="\rreason",
    )
    url = reverse("projects:logging_export", args=[classic_project.pk])

    row = _csv(paula_client.get(url))[1]

    assert row[2:6] == ['\'=HYPERLINK("http://x")', "'+1", "'-1", "'@SUM(A1)"]
    assert (row[7], row[9]) == ("'\tdetails", "'\rreason")


def test_neutralise_leaves_ordinary_cells_alone():
    assert [neutralise(cell) for cell in ("", "1", "a=b", " =x", "=x", "-")] == [
        "",
        "1",
        "a=b",
        " =x",
        "'=x",
        "'-",
    ]


def test_the_export_ignores_a_bad_date(paula_client, classic_project):
    url = reverse("projects:logging_export", args=[classic_project.pk])

    rows = _csv(paula_client.get(url, {"date_to": "yesterday"}))

    assert [row[2] for row in rows] == ["Action", "Create project"]
