"""Alerts end to end against a real SMTP server on loopback: a saved SAE form fires the alert
with piped text; a condition turning false cancels; repeats and delays wait their time;
failures are logged; the training instance sends nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from opencrf.alerts.evaluation import LOGIC_FALSE
from opencrf.alerts.jobs import notifications_send_due
from opencrf.alerts.log import notification_resend
from opencrf.alerts.models import Alert, AlertState, FireMode, Notification
from opencrf.alerts.services import AlertSettings, alert_create, alert_set_active
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.testing.smtp import Inbox

pytestmark = pytest.mark.django_db

SAE = "[ae_serious] = '1'"


def settings_of(**changes):
    values = {
        "title": "SAE report",
        "form_name": "adverse_event",
        "condition_logic": SAE,
        "addresses": "safety@example.org",
        "subject_ja": "重篤な有害事象: [record-name]",
        "body_ja": "記録 [record-name] の [event-name] で [ae_term] が報告されました。",
        "subject_en": "SAE: [record-name]",
        "body_en": "Record [record-name] reported [ae_term] at [event-name]. Serious: [ae_serious]",
        "language": "en",
    }
    values.update(changes)
    return AlertSettings(**values)


@pytest.fixture
def paula(pi_paula):
    return AuditContext(actor=pi_paula, source="web")


@pytest.fixture
def alert(demo, paula):
    return alert_create(context=paula, project=demo, settings=settings_of())


def later(minutes=0, **delta):
    return timezone.now() + timedelta(minutes=minutes, **delta)


def test_an_sae_save_sends_the_alert_with_the_records_data_piped(alert, save, smtp):
    record = save("1-1", {"ae_term": "Stroke", "ae_serious": "1"}, instance=7)

    report = notifications_send_due()

    assert (report.sent, report.failed) == (1, 0)
    [message] = smtp.to("safety@example.org")
    assert message["Subject"] == "SAE: 1-1"
    assert (
        Inbox.body(message).strip() == "Record 1-1 reported Stroke at week_12_arm_1. Serious: Yes"
    )
    row = Notification.objects.get(alert=alert)
    assert (row.record, row.status, row.instance) == (record, "sent", 7)
    assert row.texts == {
        "en": {
            "subject": "SAE: 1-1",
            "body": "Record 1-1 reported Stroke at week_12_arm_1. Serious: Yes",
        }
    }
    assert row.recipients == [
        {"to": "safety@example.org", "who": "", "language": "en", "status": "sent", "error": ""}
    ]
    audit = AuditEvent.objects.get(action="alert.notification.scheduled")
    assert (audit.record, audit.instrument, audit.instance) == ("1-1", "adverse_event", 7)


def test_a_save_where_the_condition_is_false_sends_nothing(alert, save, smtp):
    save("1-1", {"ae_term": "Cold", "ae_serious": "0"}, instance=7)

    assert notifications_send_due().sent == 0
    assert not Notification.objects.exists()
    assert smtp.messages == []


def test_became_true_fires_once_while_every_save_fires_each_time(demo, paula, alert, save):
    every = alert_create(
        context=paula,
        project=demo,
        settings=settings_of(title="each", fire_mode=FireMode.EVERY_SAVE),
    )
    save("1-1", {"ae_term": "Stroke", "ae_serious": "1"}, instance=7)
    save("1-1", {"ae_term": "Stroke (revised)"}, instance=7)

    assert Notification.objects.filter(alert=alert).count() == 1
    assert Notification.objects.filter(alert=every).count() == 2


def test_true_again_after_false_fires_again(alert, save):
    save("1-1", {"ae_serious": "1"}, instance=7)
    save("1-1", {"ae_serious": "0"}, instance=7)
    save("1-1", {"ae_serious": "1"}, instance=7)

    statuses = list(
        Notification.objects.filter(alert=alert).order_by("pk").values_list("status", "error")
    )
    assert statuses == [("cancelled", LOGIC_FALSE), ("scheduled", "")]


def test_a_condition_turning_false_cancels_the_waiting_notification(demo, paula, save, smtp):
    delayed = alert_create(context=paula, project=demo, settings=settings_of(delay_minutes=60))
    save("1-1", {"ae_term": "Stroke", "ae_serious": "1"}, instance=7)
    save("1-1", {"ae_serious": "0"}, instance=7)

    notifications_send_due(now=later(61))

    row = Notification.objects.get(alert=delayed)
    assert (row.status, row.error) == ("cancelled", LOGIC_FALSE)
    assert smtp.messages == []
    audit = AuditEvent.objects.get(action="alert.notification.cancelled")
    assert audit.details == f"notification {row.pk} of alert {delayed.pk}: {LOGIC_FALSE}"


def test_a_delayed_notification_waits_for_its_time(demo, paula, save, smtp):
    alert_create(context=paula, project=demo, settings=settings_of(delay_minutes=30))
    save("1-1", {"ae_serious": "1"}, instance=7)

    assert notifications_send_due(now=later(29)).sent == 0
    assert notifications_send_due(now=later(31)).sent == 1
    assert len(smtp.messages) == 1


def test_repeats_go_every_n_hours_until_the_condition_is_false(demo, paula, save, smtp):
    repeating = alert_create(
        context=paula,
        project=demo,
        settings=settings_of(repeat_every=2, repeat_unit="hours", repeat_max=3),
    )
    save("1-1", {"ae_term": "Stroke", "ae_serious": "1"}, instance=7)
    rows = list(Notification.objects.filter(alert=repeating).order_by("number"))
    assert [row.number for row in rows] == [0, 1, 2, 3]
    assert rows[1].send_at - rows[0].send_at == timedelta(hours=2)

    assert notifications_send_due(now=later(1)).sent == 1
    assert notifications_send_due(now=later(hours=2, minutes=1)).sent == 1
    save("1-1", {"ae_serious": "0"}, instance=7)
    notifications_send_due(now=later(hours=9))

    statuses = list(
        Notification.objects.filter(alert=repeating)
        .order_by("number")
        .values_list("status", flat=True)
    )
    assert statuses == ["sent", "sent", "cancelled", "cancelled"]
    assert len(smtp.messages) == 2


def test_a_repeat_whose_condition_turned_false_without_a_save_is_cancelled_when_due(
    demo, paula, save, smtp
):
    repeating = alert_create(
        context=paula,
        project=demo,
        settings=settings_of(
            condition_logic="[ae_serious] = '1' and [ae_end] = ''",
            repeat_every=1,
            repeat_unit="days",
            repeat_max=1,
        ),
    )
    save("1-1", {"ae_serious": "1"}, instance=7)
    notifications_send_due(now=later(1))
    # A write that announces nothing (a direct correction) changes the data under the alert.
    from opencrf.records.models import FormData

    form = FormData.objects.get(
        record__record_id="1-1", record__project=repeating.project, instance=7
    )
    FormData.objects.filter(pk=form.pk).update(values={**form.values, "ae_end": "2026-01-01"})

    notifications_send_due(now=later(days=1, minutes=2))

    statuses = list(
        Notification.objects.filter(alert=repeating)
        .order_by("number")
        .values_list("status", "error")
    )
    assert statuses == [("sent", ""), ("cancelled", LOGIC_FALSE)]


def test_a_refused_recipient_is_logged_as_failed_and_can_be_resent(
    demo, paula, save, smtp, settings
):
    alert_create(context=paula, project=demo, settings=settings_of())
    port, settings.EMAIL_PORT = settings.EMAIL_PORT, 1  # nothing listens on port 1
    save("1-1", {"ae_serious": "1"}, instance=7)

    report = notifications_send_due()

    row = Notification.objects.get()
    assert (report.failed, row.status) == (1, "failed")
    assert row.error.startswith("ConnectionRefusedError")
    settings.EMAIL_PORT = port
    again = notification_resend(context=paula, project=demo, notification_id=row.pk)
    assert again.resend_of == row
    assert notifications_send_due().sent == 1
    assert [m["Subject"] for m in smtp.messages] == ["SAE: 1-1"]
    assert AuditEvent.objects.filter(action="alert.notification.resend").count() == 1


def test_the_training_instance_sends_nothing_and_says_so(alert, save, smtp, settings):
    settings.OPENCRF_INSTANCE_ROLE = "training"
    save("1-1", {"ae_serious": "1"}, instance=7)

    report = notifications_send_due()

    assert (report.sent, report.skipped) == (0, 1)
    assert smtp.messages == []
    row = Notification.objects.get(alert=alert)
    assert row.status == "suppressed"
    assert row.texts["en"]["subject"] == "SAE: 1-1"


def test_a_disabled_alert_does_not_fire(alert, paula, save):
    alert_set_active(context=paula, alert=alert, active=False)
    save("1-1", {"ae_serious": "1"}, instance=7)

    assert not Notification.objects.exists()
    assert not AlertState.objects.exists()
    assert AuditEvent.objects.filter(action="alert.disable").count() == 1


def test_an_alert_disabled_in_another_process_decides_nothing(alert, demo, save):
    from opencrf.alerts.evaluation import compiled_alerts

    compiled_alerts(demo)  # this process keeps the alert enabled
    Alert.objects.filter(pk=alert.pk).update(active=False)  # another process turns it off

    save("1-1", {"ae_serious": "1"}, instance=7)

    assert not Notification.objects.exists()


def _file_in(demo, name, content):
    from django.core.files.base import ContentFile

    from opencrf.files.services import file_store

    return file_store(
        context=AuditContext.system(), project=demo, upload=ContentFile(content, name)
    )


def test_the_file_of_a_file_field_is_attached_and_a_large_one_is_left_out(
    demo, paula, save, smtp, monkeypatch
):
    from opencrf.alerts import jobs

    alert_create(
        context=paula,
        project=demo,
        settings=settings_of(
            form_name="study_completion",
            condition_logic="",
            attach_fields=["eos_form", "pi_signature"],
        ),
    )
    report = _file_in(demo, "eos.txt", b"end of study")
    signature = _file_in(demo, "signature.txt", b"signed by the investigator\n")
    monkeypatch.setattr(jobs, "MAX_ATTACHMENT", 20)
    values = {"eos_form": str(report.pk), "pi_signature": str(signature.pk)}
    save("1-1", values, form="study_completion", event="week_52_arm_1")

    notifications_send_due()

    [message] = smtp.messages
    attached = [(part.get_filename(), part.get_content()) for part in message.iter_attachments()]
    assert attached == [("eos.txt", "end of study")]
    assert Notification.objects.get().attachments == [
        {"field": "eos_form", "name": "eos.txt", "error": ""},
        {"field": "pi_signature", "name": "signature.txt", "error": "[too-large]"},
    ]
