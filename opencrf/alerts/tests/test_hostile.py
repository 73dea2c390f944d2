"""Alerts never carry one site's data to another: a site's alert fires only for its records,
piping reads only the triggering record, and users of another site are left out. Typed and
piped text cannot add headers or markup; forged ids are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from opencrf.alerts.evaluation import date_alerts_reevaluate_all
from opencrf.alerts.jobs import notifications_send_due
from opencrf.alerts.log import notifications_visible
from opencrf.alerts.models import Alert, Notification
from opencrf.alerts.recipients import OTHER_GROUP
from opencrf.alerts.services import AlertSettings, alert_create
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.projects.selectors import member_rights
from opencrf.testing.smtp import Inbox

pytestmark = pytest.mark.django_db


def settings_of(**changes):
    values = {
        "title": "SAE report",
        "form_name": "adverse_event",
        "condition_logic": "[ae_serious] = '1'",
        "subject_en": "SAE: [record-name]",
        "body_en": "Record [record-name] ([data-access-group]): [ae_term]",
        "subject_ja": "重篤: [record-name]",
        "body_ja": "記録 [record-name]: [ae_term]",
        "language": "en",
    }
    values.update(changes)
    return AlertSettings(**values)


def test_a_site_alert_never_fires_for_another_sites_record(demo, site_a_sam, save, smtp):
    sams = alert_create(
        context=AuditContext(actor=site_a_sam),
        project=demo,
        settings=settings_of(addresses="sam.private@example.org"),
    )
    assert sams.group.unique_name == "toto_univ"

    save("2-1", {"ae_term": "Secret of Hokurei", "ae_serious": "1"}, instance=7)
    save("1-1", {"ae_term": "Toto event", "ae_serious": "1"}, instance=7)
    notifications_send_due()

    assert [row.record_name for row in Notification.objects.all()] == ["1-1"]
    [message] = smtp.messages
    assert "Hokurei" not in Inbox.body(message)
    assert Inbox.body(message).strip() == "Record 1-1 (toto_univ): Toto event"


def test_piping_reads_only_the_triggering_record(demo, pi_paula, save, smtp):
    # Another record's id in brackets is no reference: it stays as typed, and the field after
    # it is the triggering record's.
    alert_create(
        context=AuditContext(actor=pi_paula),
        project=demo,
        settings=settings_of(
            addresses="safety@example.org",
            body_en="[2-1][ae_term] / [record-name] / [week_12_arm_1][ae_term]",
        ),
    )
    save("2-1", {"ae_term": "Hokurei secret", "ae_serious": "0"}, instance=1)
    save("1-1", {"ae_term": "Toto event", "ae_serious": "1"}, instance=1)
    notifications_send_due()

    [message] = smtp.messages
    assert Inbox.body(message).strip() == "[2-1]Toto event / 1-1 / Toto event"


def test_a_user_of_another_site_is_left_out_and_the_log_says_so(
    demo, pi_paula, site_a_sam, site_b_bea, save, smtp
):
    alert_create(
        context=AuditContext(actor=pi_paula),
        project=demo,
        settings=settings_of(user_ids=[site_a_sam.pk, site_b_bea.pk]),
    )
    save("2-1", {"ae_term": "Fall", "ae_serious": "1"}, instance=7)

    notifications_send_due()

    assert [m["To"] for m in smtp.messages] == ["bea@example.org"]
    row = Notification.objects.get()
    assert row.status == "sent"
    assert row.recipients == [
        {
            "to": "sam@example.org",
            "who": "site_a_sam",
            "language": "en",
            "status": "",
            "error": OTHER_GROUP,
        },
        {
            "to": "bea@example.org",
            "who": "site_b_bea",
            "language": "en",
            "status": "sent",
            "error": "",
        },
    ]


def test_a_site_member_sees_only_the_sites_alerts_and_notifications(
    client, demo, pi_paula, site_a_sam, save
):
    paulas = alert_create(
        context=AuditContext(actor=pi_paula),
        project=demo,
        settings=settings_of(addresses="p@example.org"),
    )
    save("2-1", {"ae_serious": "1"}, instance=7)
    save("1-1", {"ae_serious": "1"}, instance=7)
    client.force_login(site_a_sam)

    assert client.get(reverse("alerts:edit", args=[demo.pk, paulas.pk])).status_code == 404
    response = client.post(reverse("alerts:toggle", args=[demo.pk, paulas.pk]), {"active": "0"})
    assert response.status_code == 404
    assert Alert.objects.get(pk=paulas.pk).active is True
    visible = notifications_visible(member_rights(site_a_sam, demo), demo)
    assert [row.record_name for row in visible] == ["1-1"]
    other = Notification.objects.get(record_name="2-1")
    assert client.post(reverse("alerts:resend", args=[demo.pk, other.pk])).status_code == 404
    assert "2-1" not in client.get(reverse("alerts:log", args=[demo.pk])).content.decode()


def test_injection_in_subject_and_body_stays_inert(demo, pi_paula, save, smtp):
    alert_create(
        context=AuditContext(actor=pi_paula),
        project=demo,
        settings=settings_of(
            addresses="safety@example.org",
            subject_en="SAE [ae_term]\r\nBcc: thief@example.org",
            body_en="<script>alert(1)</script> [ae_term]",
        ),
    )
    save(
        "1-1",
        {"ae_term": "x\r\nBcc: thief2@example.org <img src=x onerror=alert(2)>", "ae_serious": "1"},
        instance=7,
    )

    notifications_send_due()

    [message] = smtp.messages
    assert smtp.envelopes == [["safety@example.org"]]
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_forged_recipients_and_events_are_refused(
    demo, pi_paula, classic_project, django_user_model
):
    outsider = django_user_model.objects.create_user(username="outsider", email="o@example.org")
    other_event = classic_project.events.first()
    context = AuditContext(actor=pi_paula)

    with pytest.raises(InvalidInput) as refused:
        alert_create(
            context=context,
            project=demo,
            settings=settings_of(
                user_ids=[outsider.pk], event_id=other_event.pk, email_fields=["ae_serious"]
            ),
        )

    assert refused.value.message == (
        "No such event. A chosen user is not a member of this project. "
        "ae_serious is not a text field of this project."
    )
    assert not Alert.objects.exists()


def test_each_user_reads_the_message_in_their_own_language(demo, pi_paula, site_b_bea, save, smtp):
    site_b_bea.language = "ja"
    site_b_bea.save(update_fields=["language"])
    alert_create(
        context=AuditContext(actor=pi_paula),
        project=demo,
        settings=settings_of(user_ids=[site_b_bea.pk], addresses="safety@example.org"),
    )
    save("2-1", {"ae_term": "Fall", "ae_serious": "1"}, instance=7)

    notifications_send_due()

    subjects = {m["To"]: m["Subject"] for m in smtp.messages}
    assert subjects == {"bea@example.org": "重篤: 2-1", "safety@example.org": "SAE: 2-1"}


def test_a_date_alert_is_sent_on_its_date_and_moves_when_the_date_changes(
    demo, pi_paula, save, smtp
):
    alert_create(
        context=AuditContext(actor=pi_paula),
        project=demo,
        settings=settings_of(
            trigger="date",
            condition_logic="",
            date_logic="calcdate([ae_onset], 7, 'd')",
            addresses="safety@example.org",
            delay_minutes=9 * 60,
        ),
    )
    onset = timezone.localdate() + timedelta(days=3)
    save("1-1", {"ae_onset": onset.isoformat()}, instance=7)
    row = Notification.objects.get()
    due = timezone.localtime(row.send_at)
    assert (due.date(), due.hour) == (onset + timedelta(days=7), 9)

    save("1-1", {"ae_onset": (onset + timedelta(days=1)).isoformat()}, instance=7)

    statuses = list(Notification.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["cancelled", "scheduled"]
    assert notifications_send_due(now=row.send_at + timedelta(days=1, minutes=1)).sent == 1


def test_the_daily_job_schedules_dates_entered_before_the_alert(demo, pi_paula, save):
    onset = timezone.localdate() + timedelta(days=3)
    save("1-1", {"ae_onset": onset.isoformat()}, instance=7)
    alert_create(
        context=AuditContext(actor=pi_paula),
        project=demo,
        settings=settings_of(
            trigger="date", condition_logic="", date_logic="[ae_onset]", addresses="s@example.org"
        ),
    )

    scheduled = date_alerts_reevaluate_all()

    assert scheduled == 1  # past onsets of the demo's other forms are not scheduled
    assert Notification.objects.get().record_name == "1-1"
    assert date_alerts_reevaluate_all() == 0
