"""Maintenance mode: the site turns read-only; reading and signing in still work."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from opencrf.accounts.models import SecurityEvent
from opencrf.audit.models import AuditEvent
from opencrf.core import maintenance as core_maintenance
from opencrf.ops import maintenance
from opencrf.ops.maintenance import (
    maintenance_start,
    maintenance_status,
    maintenance_stop,
    operations_snapshot,
)
from opencrf.ops.models import OperationsState
from opencrf.projects.models import Project
from opencrf.records.models import FormData, Record
from opencrf.records.services import record_create

pytestmark = pytest.mark.django_db

REFUSAL = "OpenCRF is in maintenance mode: changes are not accepted until it ends."


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    maintenance.forget_operations_snapshot()
    yield
    maintenance.forget_operations_snapshot()


def table_counts():
    return (
        Project.objects.count(),
        Record.objects.count(),
        FormData.objects.count(),
        AuditEvent.objects.count(),
    )


def test_starting_and_stopping_records_the_state_and_logs_both_in_the_security_log(admin_ada):
    state = maintenance_start(by="admin_ada", message="Upgrade to 2.0", actor=admin_ada)

    assert (state.maintenance_mode, state.maintenance_message) == (True, "Upgrade to 2.0")
    status = maintenance_status()
    assert (status.on, status.message, status.by) == (True, "Upgrade to 2.0", "admin_ada")
    assert status.since is not None

    maintenance_stop(by="admin_ada", actor=admin_ada)

    assert maintenance_status() == maintenance.MaintenanceStatus(on=False)
    events = list(SecurityEvent.objects.order_by("at", "id").values_list("kind", "username"))
    assert events == [("maintenance.started", "admin_ada"), ("maintenance.stopped", "admin_ada")]
    started = SecurityEvent.objects.get(kind="maintenance.started")
    assert started.actor == admin_ada
    assert started.details == {"message": "Upgrade to 2.0", "was_on": False}


def test_starting_again_changes_the_message_but_keeps_since_and_by():
    first = maintenance_start(by="ops", message="First")
    maintenance_start(by="someone else", message="Second")

    status = maintenance_status()
    assert (status.message, status.by, status.since) == (
        "Second",
        "ops",
        first.maintenance_started_at,
    )


def test_stopping_when_off_changes_nothing_and_logs_nothing():
    maintenance_stop(by="ops")

    assert maintenance_status().on is False
    assert not SecurityEvent.objects.exists()


def test_a_message_longer_than_500_characters_is_refused_and_changes_nothing():
    from opencrf.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        maintenance_start(by="ops", message="x" * 501)

    assert not OperationsState.objects.filter(maintenance_mode=True).exists()
    assert not SecurityEvent.objects.exists()


def test_a_page_post_is_refused_with_503_and_nothing_changes(client, pi_paula):
    maintenance_start(by="ops", message="Back at 18:00.")
    client.force_login(pi_paula)
    before = table_counts()

    response = client.post(reverse("projects:create"), {"title": "New study", "purpose": "2"})

    assert response.status_code == 503
    html = response.content.decode()
    assert REFUSAL in html
    assert 'data-testid="maintenance-message">Back at 18:00.</p>' in html
    assert table_counts() == before


def test_a_record_save_is_refused_and_the_record_is_unchanged(client, pi_paula, salt_rct):
    from opencrf.audit.services import AuditContext

    record = record_create(context=AuditContext(actor=pi_paula), project=salt_rct)
    client.force_login(pi_paula)
    url = reverse(
        "records:form", args=[salt_rct.pk, record.record_id, "screening_arm_1", "screening", 1]
    )
    page = client.get(url)
    assert page.status_code == 200
    maintenance_start(by="ops")
    before = table_counts()

    response = client.post(
        url,
        {
            "base_version": page.context["base_version"],
            "base_values": page.context["base_values"],
            "initials": "AN",
            "action": "stay",
        },
    )

    assert response.status_code == 503
    assert table_counts() == before
    assert not FormData.objects.filter(record=record).exists()


def test_pages_still_open_and_show_the_banner(client, pi_paula):
    maintenance_start(by="ops", message="<b>Upgrade</b>")
    client.force_login(pi_paula)

    response = client.get(reverse("projects:list"))

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        '<div class="alert alert-warning rounded-0 mb-0 py-2 text-center" role="status" '
        f'data-banner="maintenance_mode">{REFUSAL} &lt;b&gt;Upgrade&lt;/b&gt;</div>'
    ) in html


def test_no_banner_shows_while_maintenance_mode_is_off(client, pi_paula):
    client.force_login(pi_paula)

    response = client.get(reverse("projects:list"))

    assert 'data-testid="operations-banners"' not in response.content.decode()


def test_people_can_still_log_in_and_out(pi_paula):
    maintenance_start(by="ops")
    client = Client()

    response = client.post(
        reverse("accounts:login"),
        {"username": "pi_paula", "password": "correct horse battery"},
    )

    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(pi_paula.pk)
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.session.get("_auth_user_id") is None


def test_the_language_can_still_be_switched(client, pi_paula):
    maintenance_start(by="ops")

    response = client.post(reverse("set_language"), {"language": "ja", "next": "/"})

    assert response.status_code == 302


def test_an_administrator_switches_it_on_and_off_from_the_control_centre(client, admin_ada):
    client.force_login(admin_ada)
    url = reverse("ops_control:maintenance_mode")

    on = client.post(url, {"action": "on", "message": "Moving the server"})
    assert on.status_code == 302
    assert maintenance_status().on is True
    assert client.get(reverse("ops_control:index")).status_code == 200
    assert client.post(reverse("projects:create"), {"title": "x"}).status_code == 503

    off = client.post(url, {"action": "off"})

    assert off.status_code == 302
    assert maintenance_status().on is False
    kinds = list(SecurityEvent.objects.order_by("at", "id").values_list("kind", "actor"))
    assert kinds == [("maintenance.started", admin_ada.pk), ("maintenance.stopped", admin_ada.pk)]


def test_a_member_cannot_reach_the_switch(client, pi_paula):
    client.force_login(pi_paula)

    response = client.post(reverse("ops_control:maintenance_mode"), {"action": "on"})

    assert response.status_code == 404
    assert maintenance_status().on is False


def test_the_switch_without_an_action_changes_nothing(client, admin_ada):
    client.force_login(admin_ada)

    response = client.post(reverse("ops_control:maintenance_mode"), {"message": "x"})

    assert response.status_code == 302
    assert maintenance_status().on is False
    assert not SecurityEvent.objects.exists()


def test_another_process_with_a_stale_copy_still_refuses_writes(client, pi_paula):
    client.force_login(pi_paula)
    assert operations_snapshot().status.on is False  # this process keeps "off"
    OperationsState.objects.update_or_create(pk=1, defaults={"maintenance_mode": True})

    response = client.post(reverse("projects:create"), {"title": "x", "purpose": "2"})

    assert response.status_code == 503
    assert not Project.objects.exists()


def test_reads_take_no_query_for_the_switch_while_the_copy_is_fresh(client, pi_paula):
    client.force_login(pi_paula)
    client.get(reverse("projects:list"))  # fills the copy
    with_copy = _queries_of(client, reverse("projects:list"))
    maintenance.forget_operations_snapshot()

    without_copy = _queries_of(client, reverse("projects:list"))

    assert without_copy - with_copy == 2  # the switch and the calendar


def _queries_of(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_api_asks_core_maintenance_which_reads_the_switch_fresh():
    assert core_maintenance.read_only_reason() is None
    OperationsState.objects.update_or_create(
        pk=1, defaults={"maintenance_mode": True, "maintenance_message": "Until 18:00."}
    )

    assert core_maintenance.read_only_reason() == f"{REFUSAL} Until 18:00."


def test_without_a_registered_source_the_site_is_never_read_only():
    registered = core_maintenance._source
    core_maintenance.register(None)
    try:
        OperationsState.objects.update_or_create(pk=1, defaults={"maintenance_mode": True})
        assert core_maintenance.read_only_reason() is None
    finally:
        core_maintenance.register(registered)


def test_the_api_is_left_to_answer_for_itself(client):
    maintenance_start(by="ops")

    response = client.post("/api/", {"token": "0" * 32, "content": "version"})

    assert response.status_code != 503
    assert REFUSAL.encode() not in response.content


def test_the_idle_warnings_keep_alive_still_answers(client, pi_paula):
    maintenance_start(by="ops")
    client.force_login(pi_paula)

    response = client.post(reverse("accounts:keep_alive"))

    assert response.status_code == 200
    assert "seconds_left" in response.json()


def test_a_write_to_a_missing_page_is_refused_too(client, pi_paula):
    maintenance_start(by="ops")
    client.force_login(pi_paula)

    assert client.post("/no/such/page/").status_code == 503
    assert client.get("/no/such/page/").status_code == 404
