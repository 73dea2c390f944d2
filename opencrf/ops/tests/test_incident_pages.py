"""The incident register's pages: record, list with filters, detail, resolve."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from opencrf.ops.incidents import alert_raise, incident_record
from opencrf.ops.models import Incident, IncidentLevel, IncidentStatus

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture
def admin_client(client, admin_ada):
    client.force_login(admin_ada)
    return client


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TOKYO)


@pytest.fixture
def register(admin_ada):
    """Three incidents in 2026: an open outage in March, a resolved one and an alert in May."""
    outage = incident_record(
        actor=admin_ada, title="Web server down", level=2, started_at=local(2026, 3, 4, 9, 0)
    )
    patched = incident_record(
        actor=admin_ada,
        title="Login page error",
        level=1,
        started_at=local(2026, 5, 1, 0, 30),
        ended_at=local(2026, 5, 1, 1, 0),
    )
    alert = alert_raise(
        key="disk_low", level=1, title="Disk low", now=local(2026, 5, 31, 23, 59)
    ).incident
    return {"outage": outage, "patched": patched, "alert": alert}


def listed(response) -> list[str]:
    return [incident.title for incident in response.context["page"]]


def test_recording_an_incident_from_the_form(admin_client, admin_ada):
    response = admin_client.post(
        reverse("ops_control:incident_new"),
        {
            "title": "Power cut in the server room",
            "level": "4",
            "started_at": "2026-06-01T08:15",
            "ended_at": "2026-06-01T11:45",
            "impact": "The service was down for 3.5 hours.",
            "actions": "Generator; restarted the server.",
            "detail": "",
        },
    )

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("ops_control:incident", args=[incident.pk])
    assert (incident.title, incident.level, incident.status) == (
        "Power cut in the server room",
        IncidentLevel.DISASTER,
        IncidentStatus.RESOLVED,
    )
    assert (incident.started_at, incident.ended_at) == (
        local(2026, 6, 1, 8, 15),
        local(2026, 6, 1, 11, 45),
    )
    assert incident.impact == "The service was down for 3.5 hours."
    assert incident.actions == "Generator; restarted the server."
    assert incident.created_by == admin_ada
    assert incident.automatic is False


def test_the_form_offers_the_four_levels_by_name(admin_client):
    response = admin_client.get(reverse("ops_control:incident_new"))

    assert list(response.context["form"].fields["level"].choices) == [
        (1, "Level 1: no impact on the service"),
        (2, "Level 2: service outage"),
        (3, "Level 3: security incident"),
        (4, "Level 4: power outage or disaster"),
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "", "level": "1", "started_at": "2026-06-01T08:15"}, "title"),
        ({"title": "x", "level": "5", "started_at": "2026-06-01T08:15"}, "level"),
        ({"title": "x", "level": "1", "started_at": "yesterday"}, "started_at"),
        ({"title": "x", "level": "1", "started_at": "2099-01-01T00:00"}, "started_at"),
        (
            {
                "title": "x",
                "level": "1",
                "started_at": "2026-06-01T08:15",
                "ended_at": "2026-06-01T08:00",
            },
            "ended_at",
        ),
    ],
)
def test_bad_input_shows_the_form_again_and_records_nothing(admin_client, data, field):
    response = admin_client.post(reverse("ops_control:incident_new"), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Incident.objects.exists()


def test_the_register_lists_newest_first_and_filters_by_level_status_year_and_month(
    admin_client, register
):
    url = reverse("ops_control:incidents")

    assert listed(admin_client.get(url)) == ["Disk low", "Login page error", "Web server down"]
    assert listed(admin_client.get(url, {"level": "2"})) == ["Web server down"]
    assert listed(admin_client.get(url, {"status": "resolved"})) == ["Login page error"]
    assert listed(admin_client.get(url, {"status": "open", "level": "1"})) == ["Disk low"]
    assert listed(admin_client.get(url, {"year": "2026", "month": "3"})) == ["Web server down"]
    # Months are local: 23:59 on 31 May in Tokyo is still May.
    assert listed(admin_client.get(url, {"year": "2026", "month": "5"})) == [
        "Disk low",
        "Login page error",
    ]
    assert listed(admin_client.get(url, {"year": "2025"})) == []


def test_an_invalid_filter_is_named_and_ignored(admin_client, register):
    response = admin_client.get(reverse("ops_control:incidents"), {"month": "13"})

    assert response.status_code == 200
    assert "A filter was not valid and is ignored." in response.content.decode()
    assert len(listed(response)) == 3


def test_the_detail_page_shows_occurrences_last_seen_and_the_alert(admin_client, register):
    alert_raise(key="disk_low", level=1, title="Disk low", now=local(2026, 6, 1, 0, 5))
    alert = register["alert"]

    response = admin_client.get(reverse("ops_control:incident", args=[alert.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<dt class="col-sm-3">Occurrences</dt><dd class="col-sm-9">2</dd>' in html
    assert '<dt class="col-sm-3">Last seen</dt><dd class="col-sm-9">2026-06-01 00:05</dd>' in html
    assert "Alert disk_low" in html
    assert "Resolve the incident" in html


def test_saving_impact_actions_and_level(admin_client, register):
    outage = register["outage"]

    response = admin_client.post(
        reverse("ops_control:incident", args=[outage.pk]),
        {"level": "3", "impact": "Nobody could log in.", "actions": "Rebooted."},
    )

    outage.refresh_from_db()
    assert response.status_code == 302
    assert (outage.level, outage.impact, outage.actions, outage.status) == (
        3,
        "Nobody could log in.",
        "Rebooted.",
        IncidentStatus.OPEN,
    )


def test_resolving_an_incident_at_the_given_time(admin_client, register):
    outage = register["outage"]

    response = admin_client.post(
        reverse("ops_control:incident_resolve", args=[outage.pk]),
        {"ended_at": "2026-03-04T10:30"},
    )

    outage.refresh_from_db()
    assert response.status_code == 302
    assert (outage.status, outage.ended_at) == (IncidentStatus.RESOLVED, local(2026, 3, 4, 10, 30))
    page = admin_client.get(reverse("ops_control:incident", args=[outage.pk]))
    assert 'data-testid="incident-status">Resolved</dd>' in page.content.decode()


def test_resolving_before_the_start_is_refused_and_changes_nothing(admin_client, register):
    outage = register["outage"]

    response = admin_client.post(
        reverse("ops_control:incident_resolve", args=[outage.pk]),
        {"ended_at": "2026-03-04T08:00"},
        follow=True,
    )

    outage.refresh_from_db()
    assert "An incident cannot end before it starts." in response.content.decode()
    assert (outage.status, outage.ended_at) == (IncidentStatus.OPEN, None)


def test_a_resolved_incident_is_not_resolved_again(admin_client, register):
    patched = register["patched"]

    response = admin_client.post(
        reverse("ops_control:incident_resolve", args=[patched.pk]),
        {"ended_at": "2026-05-02T00:00"},
        follow=True,
    )

    patched.refresh_from_db()
    assert "The incident is already resolved." in response.content.decode()
    assert patched.ended_at == local(2026, 5, 1, 1, 0)


def test_hostile_text_is_inert(admin_client, admin_ada):
    incident = incident_record(
        actor=admin_ada,
        title=HOSTILE,
        level=3,
        started_at=local(2026, 1, 1, 0, 0),
        impact=HOSTILE,
        actions=HOSTILE,
    )

    for url in (
        reverse("ops_control:incidents"),
        reverse("ops_control:incident", args=[incident.pk]),
        reverse("ops_control:index"),
    ):
        html = admin_client.get(url).content.decode()
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("name", ["incidents", "incident_new", "incident", "incident_resolve"])
def test_members_and_visitors_get_a_404_and_change_nothing(client, pi_paula, register, name):
    args = [register["outage"].pk] if name in {"incident", "incident_resolve"} else []
    url = reverse(f"ops_control:{name}", args=args)
    data = {
        "title": "x",
        "level": "1",
        "started_at": "2026-06-01T08:15",
        "ended_at": "2026-06-01T09:00",
    }

    anonymous = [client.get(url).status_code, client.post(url, data).status_code]
    client.force_login(pi_paula)
    member = [client.get(url).status_code, client.post(url, data).status_code]

    assert anonymous == [404, 404]
    assert member == [404, 404]
    assert Incident.objects.count() == 3
    assert Incident.objects.get(pk=register["outage"].pk).status == IncidentStatus.OPEN
