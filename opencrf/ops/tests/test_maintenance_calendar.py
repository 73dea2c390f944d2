"""The maintenance calendar: planned work, its pages, and the banner that announces it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from opencrf.core.errors import InvalidInput
from opencrf.ops import maintenance
from opencrf.ops.context import current_banners
from opencrf.ops.maintenance import (
    maintenance_window_create,
    maintenance_window_delete,
    window_announced,
)
from opencrf.ops.models import MaintenanceWindow

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    maintenance.forget_operations_snapshot()
    yield
    maintenance.forget_operations_snapshot()


@pytest.fixture
def admin_client(client, admin_ada):
    client.force_login(admin_ada)
    return client


def plan(title="Upgrade to OpenCRF 2.0", *, starts_in, hours=2, announce_days=7):
    starts = timezone.now() + starts_in
    return maintenance_window_create(
        actor=None,
        title=title,
        kind="upgrade",
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        announce_days=announce_days,
    )


def banner_texts(now=None):
    maintenance.forget_operations_snapshot()
    return [b.text for b in current_banners(now) if b.kind == "planned"]


def test_the_banner_shows_exactly_from_the_announcement_until_the_end():
    window = MaintenanceWindow(
        title="Upgrade",
        kind="upgrade",
        starts_at=datetime(2026, 12, 10, 18, 0, tzinfo=TOKYO),
        ends_at=datetime(2026, 12, 10, 20, 0, tzinfo=TOKYO),
        announce_days=3,
    )
    second = timedelta(seconds=1)
    announce = datetime(2026, 12, 7, 18, 0, tzinfo=TOKYO)

    assert window_announced(window, announce - second) is False
    assert window_announced(window, announce) is True
    assert window_announced(window, window.starts_at) is True
    assert window_announced(window, window.ends_at - second) is True
    assert window_announced(window, window.ends_at) is False
    window.done = True
    assert window_announced(window, announce) is False


def test_every_page_announces_planned_maintenance_in_local_time(client, pi_paula):
    starts = datetime(2030, 1, 15, 18, 0, tzinfo=TOKYO)
    maintenance_window_create(
        actor=None,
        title="Upgrade <to> 2.0",
        kind="upgrade",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        announce_days=7,
    )
    expected = (
        "Planned maintenance: Upgrade &lt;to&gt; 2.0, "
        "2030-01-15 18:00–2030-01-15 21:00 (local time)"
    )

    # Before, inside and after the announcement window, by the snapshot's clock.
    assert banner_texts(datetime(2030, 1, 8, 17, 59, tzinfo=TOKYO)) == []
    assert banner_texts(datetime(2030, 1, 8, 18, 0, tzinfo=TOKYO)) == [
        "Planned maintenance: Upgrade <to> 2.0, 2030-01-15 18:00–2030-01-15 21:00 (local time)"
    ]
    assert banner_texts(datetime(2030, 1, 15, 21, 0, tzinfo=TOKYO)) == []
    client.force_login(pi_paula)
    assert expected not in client.get(reverse("projects:list")).content.decode()  # not yet


def test_a_page_shows_the_banner_inside_the_window_and_not_after_it_ends(client, pi_paula):
    client.force_login(pi_paula)
    soon = plan("Disk replacement", starts_in=timedelta(days=2), announce_days=3)
    later = plan("Network work", starts_in=timedelta(days=10), announce_days=3)
    ended = plan("Last week's upgrade", starts_in=-timedelta(days=7), hours=1)
    running = plan("Running now", starts_in=-timedelta(hours=1), hours=2)

    html = client.get(reverse("projects:list")).content.decode()

    assert html.count('data-banner="planned"') == 2
    assert f"Planned maintenance: {soon.title}," in html
    assert f"Planned maintenance: {running.title}," in html
    assert later.title not in html
    assert ended.title not in html


def test_creating_a_window_from_the_form_in_local_time(admin_client, admin_ada):
    response = admin_client.post(
        reverse("ops_control:window_new"),
        {
            "title": "OS upgrade",
            "kind": "outage",
            "starts_at": "2030-02-01T18:00",
            "ends_at": "2030-02-01T22:30",
            "announce_days": "14",
            "description": "The site is off during the upgrade.",
        },
    )

    window = MaintenanceWindow.objects.get()
    assert response.status_code == 302
    assert (window.title, window.kind, window.announce_days, window.created_by) == (
        "OS upgrade",
        "outage",
        14,
        admin_ada,
    )
    assert window.starts_at == datetime(2030, 2, 1, 18, 0, tzinfo=TOKYO)
    assert window.ends_at == datetime(2030, 2, 1, 22, 30, tzinfo=TOKYO)
    page = admin_client.get(reverse("ops_control:calendar")).content.decode()
    assert "2030-02-01 18:00" in page


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"kind": "party"}, "kind"),
        ({"ends_at": "2030-02-01T17:00"}, "ends_at"),
        ({"ends_at": "2030-02-01T18:00"}, "ends_at"),
        ({"announce_days": "-1"}, "announce_days"),
        ({"starts_at": "soon"}, "starts_at"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_planned(admin_client, changes, field):
    data = {
        "title": "OS upgrade",
        "kind": "outage",
        "starts_at": "2030-02-01T18:00",
        "ends_at": "2030-02-01T22:30",
        "announce_days": "7",
        **changes,
    }

    response = admin_client.post(reverse("ops_control:window_new"), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not MaintenanceWindow.objects.exists()


def test_editing_a_window_moves_it_and_its_banner(admin_client):
    window = plan(starts_in=timedelta(days=30))
    edit = admin_client.get(reverse("ops_control:window", args=[window.pk]))
    shown = timezone.localtime(window.starts_at).strftime("%Y-%m-%dT%H:%M")
    assert f'name="starts_at" value="{shown}"' in edit.content.decode()

    response = admin_client.post(
        reverse("ops_control:window", args=[window.pk]),
        {
            "title": "Upgrade moved",
            "kind": "upgrade",
            "starts_at": "2030-03-01T09:00",
            "ends_at": "2030-03-01T10:00",
            "announce_days": "3",
        },
    )

    window.refresh_from_db()
    assert response.status_code == 302
    assert (window.title, window.starts_at, window.announce_days) == (
        "Upgrade moved",
        datetime(2030, 3, 1, 9, 0, tzinfo=TOKYO),
        3,
    )


def test_marking_done_ends_the_banner(admin_client):
    window = plan("Running now", starts_in=-timedelta(minutes=30))
    assert banner_texts() != []

    response = admin_client.post(reverse("ops_control:window_done", args=[window.pk]))

    window.refresh_from_db()
    assert response.status_code == 302
    assert window.done is True
    assert banner_texts() == []


def test_a_future_window_can_be_deleted(admin_client):
    window = plan(starts_in=timedelta(days=3))

    response = admin_client.post(reverse("ops_control:window_delete", args=[window.pk]))

    assert response.status_code == 302
    assert not MaintenanceWindow.objects.exists()


def test_a_started_window_cannot_be_deleted(admin_client):
    window = plan(starts_in=-timedelta(minutes=5))

    response = admin_client.post(
        reverse("ops_control:window_delete", args=[window.pk]), follow=True
    )

    assert "Only maintenance that has not started can be deleted" in response.content.decode()
    assert MaintenanceWindow.objects.filter(pk=window.pk).exists()
    with pytest.raises(InvalidInput):
        maintenance_window_delete(window)


def test_the_calendar_lists_planned_and_past_windows(admin_client):
    plan("Next month", starts_in=timedelta(days=30))
    plan("Last month", starts_in=-timedelta(days=30))

    response = admin_client.get(reverse("ops_control:calendar"))

    assert [w.title for w in response.context["upcoming"]] == ["Next month"]
    assert [w.title for w in response.context["past"]] == ["Last month"]


@pytest.mark.parametrize(
    "name", ["calendar", "window_new", "window", "window_done", "window_delete"]
)
def test_members_get_a_404_and_change_nothing(client, pi_paula, name):
    window = plan(starts_in=timedelta(days=3))
    args = [] if name in {"calendar", "window_new"} else [window.pk]
    client.force_login(pi_paula)

    answers = [
        client.get(reverse(f"ops_control:{name}", args=args)).status_code,
        client.post(reverse(f"ops_control:{name}", args=args), {"title": "x"}).status_code,
    ]

    assert answers == [404, 404]
    window.refresh_from_db()
    assert (window.title, window.done) == ("Upgrade to OpenCRF 2.0", False)
