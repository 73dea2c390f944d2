"""The alerts pages: the list, the editor, enable/disable, copy, delete, the log and resend;
each refused without the alerts right, and each change audited."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from opencrf.alerts.jobs import notifications_send_due
from opencrf.alerts.models import Alert, Notification
from opencrf.alerts.services import AlertSettings, alert_create
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext

pytestmark = pytest.mark.django_db


def form_data(**changes):
    data = {
        "title": "SAE report",
        "trigger": "save",
        "form_name": "adverse_event",
        "event_id": "",
        "condition_logic": "[ae_serious] = '1'",
        "fire_mode": "became_true",
        "addresses": "safety@example.org",
        "language": "en",
        "subject_en": "SAE: [record-name]",
        "body_en": "Record [record-name]: [ae_term]",
        "delay_minutes": "0",
        "repeat_every": "0",
        "repeat_unit": "days",
        "repeat_max": "0",
        "cancel_when_false": "on",
    }
    data.update(changes)
    return data


@pytest.fixture
def paula_client(client, pi_paula, demo):
    client.force_login(pi_paula)
    return client


@pytest.fixture
def alert(demo, pi_paula):
    settings = AlertSettings(
        title="SAE report",
        form_name="adverse_event",
        condition_logic="[ae_serious] = '1'",
        addresses="safety@example.org",
        subject_en="SAE: [record-name]",
        body_en="Record [record-name]: [ae_term]",
        language="en",
    )
    return alert_create(context=AuditContext(actor=pi_paula), project=demo, settings=settings)


def test_the_list_shows_the_projects_alerts(paula_client, demo, alert):
    response = paula_client.get(reverse("alerts:list", args=[demo.pk]))

    assert response.status_code == 200
    assert b'data-alert="%d"' % alert.pk in response.content
    assert "SAE report" in response.content.decode()


def test_an_alert_is_created_from_the_editor_and_audited(paula_client, demo):
    response = paula_client.post(reverse("alerts:new", args=[demo.pk]), form_data())

    assert response.status_code == 302
    alert = Alert.objects.get(project=demo)
    assert (alert.title, alert.form_name, alert.condition_logic) == (
        "SAE report",
        "adverse_event",
        "[ae_serious] = '1'",
    )
    assert (alert.group_id, alert.active, alert.cancel_when_false) == (None, True, True)
    assert AuditEvent.objects.filter(action="alert.create", project_id=demo.pk).count() == 1


def test_a_bad_form_is_refused_naming_each_problem_and_saves_nothing(paula_client, demo):
    data = form_data(
        condition_logic="[ae_serious] = (", addresses="not-an-address", delay_minutes="x"
    )
    response = paula_client.post(reverse("alerts:new", args=[demo.pk]), data)

    assert response.status_code == 400
    assert "Delay must be a whole number, not x." in response.content.decode()
    data["delay_minutes"] = "0"
    response = paula_client.post(reverse("alerts:new", args=[demo.pk]), data)
    text = response.content.decode()
    assert response.status_code == 400
    assert "The condition is not valid logic" in text
    assert "Not an e-mail address: not-an-address" in text
    assert not Alert.objects.exists()


def test_the_editor_changes_an_alert_and_audits_only_what_changed(paula_client, demo, alert):
    url = reverse("alerts:edit", args=[demo.pk, alert.pk])
    response = paula_client.post(url, form_data(title="SAE (site)", body_en=alert.body_en))

    assert response.status_code == 302
    entry = AuditEvent.objects.get(action="alert.update")
    assert entry.changes == {"title": ["SAE report", "SAE (site)"]}


def test_disable_enable_copy_and_delete_are_audited(paula_client, demo, alert, save):
    base = [demo.pk, alert.pk]
    paula_client.post(reverse("alerts:toggle", args=base), {"active": "0"})
    assert Alert.objects.get(pk=alert.pk).active is False
    paula_client.post(reverse("alerts:toggle", args=base), {"active": "1"})
    response = paula_client.post(reverse("alerts:copy", args=base))
    copy = Alert.objects.exclude(pk=alert.pk).get()
    assert response["Location"] == reverse("alerts:edit", args=[demo.pk, copy.pk])
    assert (copy.title, copy.active, copy.body_en) == ("Copy of SAE report", False, alert.body_en)
    save("1-1", {"ae_serious": "1"}, instance=7)
    paula_client.post(reverse("alerts:delete", args=base))

    assert not Alert.objects.filter(pk=alert.pk).exists()
    row = Notification.objects.get()
    assert (row.status, row.error, row.alert_title) == (
        "cancelled",
        "[alert-deleted]",
        "SAE report",
    )
    actions = list(
        AuditEvent.objects.filter(action__startswith="alert.")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == [
        "alert.create",
        "alert.disable",
        "alert.enable",
        "alert.copy",
        "alert.notification.scheduled",
        "alert.notification.cancelled",
        "alert.delete",
    ]


def test_the_log_shows_texts_and_recipients_and_resends(paula_client, demo, alert, save, smtp):
    save("1-1", {"ae_term": "Stroke", "ae_serious": "1"}, instance=7)
    notifications_send_due()
    row = Notification.objects.get()

    page = paula_client.get(reverse("alerts:log", args=[demo.pk])).content.decode()
    assert "Record 1-1: Stroke" in page
    assert "safety@example.org" in page
    response = paula_client.post(reverse("alerts:resend", args=[demo.pk, row.pk]))

    assert response.status_code == 302
    again = Notification.objects.exclude(pk=row.pk).get()
    assert (again.resend_of_id, again.status, again.texts) == (row.pk, "scheduled", row.texts)
    notifications_send_due()
    assert [m["Subject"] for m in smtp.messages] == ["SAE: 1-1", "SAE: 1-1"]


def test_a_waiting_notification_can_be_cancelled_from_the_log(paula_client, demo, pi_paula, save):
    alert_create(
        context=AuditContext(actor=pi_paula),
        project=demo,
        settings=AlertSettings(
            title="later", addresses="a@example.org", subject_en="x", body_en="y", delay_minutes=60
        ),
    )
    save("1-1", {"ae_serious": "1"}, instance=7)
    row = Notification.objects.get()

    paula_client.post(reverse("alerts:cancel", args=[demo.pk, row.pk]))

    row.refresh_from_db()
    assert (row.status, row.error) == ("cancelled", "[cancelled]")


@pytest.mark.parametrize(
    ("name", "method", "extra"),
    [
        ("alerts:list", "get", []),
        ("alerts:new", "get", []),
        ("alerts:new", "post", []),
        ("alerts:log", "get", []),
        ("alerts:edit", "post", ["alert"]),
        ("alerts:toggle", "post", ["alert"]),
        ("alerts:copy", "post", ["alert"]),
        ("alerts:delete", "post", ["alert"]),
        ("alerts:resend", "post", ["notification"]),
        ("alerts:cancel", "post", ["notification"]),
    ],
)
def test_a_member_without_the_alerts_right_is_refused_everywhere(
    client, demo, monitor_mo, alert, name, method, extra
):
    row = Notification.objects.create(
        project=demo, alert=alert, alert_title="x", record_name="1-1", send_at=alert.created_at
    )
    ids = {"alert": alert.pk, "notification": row.pk}
    client.force_login(monitor_mo)
    url = reverse(name, args=[demo.pk, *[ids[e] for e in extra]])

    response = getattr(client, method)(url, form_data(title="taken over"))

    assert response.status_code == 403
    assert "You need the Alerts &amp; Notifications right." in response.content.decode()
    assert list(Alert.objects.values_list("title", "active")) == [("SAE report", True)]
    assert Notification.objects.get().status == "scheduled"


def test_a_stranger_sees_no_such_project(client, demo, django_user_model):
    stranger = django_user_model.objects.create_user(username="stranger", password="x")
    client.force_login(stranger)

    assert client.get(reverse("alerts:list", args=[demo.pk])).status_code == 404


def test_a_post_without_the_csrf_token_is_refused(demo, pi_paula, alert):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pi_paula)

    response = client.post(reverse("alerts:delete", args=[demo.pk, alert.pk]))

    assert response.status_code == 403
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_an_alert_of_another_project_is_not_found(paula_client, demo, alert, classic_project):
    response = paula_client.post(reverse("alerts:delete", args=[classic_project.pk, alert.pk]))

    assert response.status_code in (403, 404)
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_a_condition_naming_a_field_the_project_lacks_is_refused(paula_client, demo):
    data = form_data(condition_logic="[no_such_field] = '1' or [adverse_event_complete] = '2'")

    response = paula_client.post(reverse("alerts:new", args=[demo.pk]), data)

    assert response.status_code == 400
    assert (
        "The condition is not valid logic: no field named no_such_field"
        in response.content.decode()
    )
    assert not Alert.objects.exists()
