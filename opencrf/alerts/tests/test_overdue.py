"""The "a visit is overdue" trigger: the salt_rct study with a visit plan started by
consent_date at screening (baseline at day 14, window −3/+3; week 4 at day 42, ±7).

Consent 18 days ago puts every record's baseline window end yesterday: its visit is one day
overdue today. Paula manages alerts for every site, Sam only for Osaka; Bea works at Kyoto.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from opencrf.alerts.jobs import evaluate_date_alerts, notifications_send_due
from opencrf.alerts.models import Alert, AlertState, Notification
from opencrf.alerts.overdue import VISIT_NOT_OVERDUE, overdue_alerts_evaluate_all
from opencrf.alerts.recipients import OTHER_GROUP
from opencrf.alerts.services import AlertSettings, alert_create
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.projects.models import Event, ProjectMember
from opencrf.projects.services import event_update
from opencrf.records import visit_sources
from opencrf.records.services import form_save, record_create
from opencrf.scheduling.selectors import overdue_visits
from opencrf.scheduling.services import anchor_set
from opencrf.testing.smtp import Inbox

pytestmark = pytest.mark.django_db

PLAN = {
    "screening_arm_1": (0, 0, 0),
    "baseline_arm_1": (14, 3, 3),
    "week_4_arm_1": (42, 7, 7),
    "week_12_arm_1": (98, 7, 14),
    "week_24_arm_1": (182, 14, 14),
}
TODAY = timezone.localdate()
CONSENT = TODAY - timedelta(days=18)  # baseline window: today − 7 … today − 1


@pytest.fixture
def study(salt_rct, paula_context, pi_paula):
    for event in salt_rct.events.all():
        day_offset, before, after = PLAN[event.unique_name]
        values = {"day_offset": day_offset, "offset_min": before, "offset_max": after}
        event_update(context=paula_context, event=event, values=values)
    ProjectMember.objects.filter(project=salt_rct, user=pi_paula).update(alerts=True, group=None)
    salt_rct.refresh_from_db()
    return salt_rct


@pytest.fixture
def events(study):
    return {event.unique_name: event for event in Event.objects.filter(project=study)}


@pytest.fixture
def anchored(study, paula_context, events):
    anchor_set(
        context=paula_context,
        project=study,
        arm=study.arms.get(number=1),
        field_name="consent_date",
        event=events["screening_arm_1"],
    )
    return study


def _member(django_user_model, study, username, site, **rights):
    user = django_user_model.objects.create_user(
        username=username, email=f"{username}@example.org", password="correct horse battery"
    )
    forms = dict.fromkeys(study.instruments.values_list("name", flat=True), "edit")
    ProjectMember.objects.create(
        project=study,
        user=user,
        group=study.groups.get(unique_name=site),
        form_rights=forms,
        record_create=True,
        **rights,
    )
    return user


@pytest.fixture
def sam(django_user_model, study):
    return _member(django_user_model, study, "site_a_sam", "osaka_central", alerts=True)


@pytest.fixture
def bea(django_user_model, study):
    return _member(django_user_model, study, "kyoto_bea", "kyoto_north")


@pytest.fixture
def save(study, events, paula_context, django_capture_on_commit_callbacks):
    def saving(record, form, event, values):
        with django_capture_on_commit_callbacks(execute=True):
            form_save(
                context=paula_context,
                record=record,
                event=events[event],
                form_name=form,
                values=values,
                base_version=None,
            )

    return saving


@pytest.fixture
def make_record(anchored, paula_context, save):
    def make(record_id, site, consent=CONSENT):
        record = record_create(
            context=paula_context,
            project=anchored,
            record_id=record_id,
            group=anchored.groups.get(unique_name=site),
        )
        save(record, "screening", "screening_arm_1", {"consent_date": consent.isoformat()})
        return record

    return make


def overdue_settings(**changes):
    values = {
        "title": "Missed visit",
        "trigger": "overdue",
        "subject_en": "Overdue: [record-name] [event-name]",
        "body_en": "Record [record-name] ([data-access-group]) missed [event-label].",
        "addresses": "monitor@example.org",
        "language": "en",
    }
    values.update(changes)
    return AlertSettings(**values)


def make_alert(actor, study, **changes):
    return alert_create(
        context=AuditContext(actor=actor), project=study, settings=overdue_settings(**changes)
    )


def scheduled():
    return list(
        Notification.objects.order_by("pk").values_list("record_name", "event__unique_name")
    )


def test_the_alert_fires_the_day_after_the_window_ends_once_and_is_sent(
    anchored, pi_paula, make_record, smtp
):
    make_record("101", "osaka_central")
    make_alert(pi_paula, anchored)

    assert overdue_alerts_evaluate_all(TODAY - timedelta(days=1)) == 0  # the window's last day
    assert overdue_alerts_evaluate_all(TODAY) == 1
    assert overdue_alerts_evaluate_all(TODAY) == 0
    assert overdue_alerts_evaluate_all(TODAY + timedelta(days=1)) == 0

    assert scheduled() == [("101", "baseline_arm_1")]
    assert notifications_send_due().sent == 1
    [message] = smtp.messages
    assert message["Subject"] == "Overdue: 101 baseline_arm_1"
    assert (
        Inbox.body(message).strip() == "Record 101 (osaka_central) missed ベースライン / Baseline."
    )
    entry = AuditEvent.objects.get(action="alert.notification.scheduled")
    assert (entry.record, entry.event) == ("101", "baseline_arm_1")


def test_days_after_the_window_end_delay_the_day_it_fires(anchored, pi_paula, make_record):
    make_record("101", "osaka_central")
    make_alert(pi_paula, anchored, overdue_days=3)

    assert overdue_alerts_evaluate_all(TODAY) == 0
    assert overdue_alerts_evaluate_all(TODAY + timedelta(days=1)) == 0
    assert overdue_alerts_evaluate_all(TODAY + timedelta(days=2)) == 1
    assert overdue_alerts_evaluate_all(TODAY + timedelta(days=3)) == 0


def test_a_done_visit_never_fires(anchored, pi_paula, make_record, save):
    record = make_record("101", "osaka_central")
    save(record, "baseline", "baseline_arm_1", {"height": "170.0"})
    make_alert(pi_paula, anchored)

    assert overdue_alerts_evaluate_all(TODAY) == 0
    assert scheduled() == []


def test_a_visit_done_before_the_message_goes_cancels_it(
    anchored, pi_paula, make_record, save, smtp
):
    record = make_record("101", "osaka_central")
    make_alert(pi_paula, anchored, delay_minutes=60)
    assert overdue_alerts_evaluate_all(TODAY) == 1

    save(record, "baseline", "baseline_arm_1", {"height": "170.0"})
    report = notifications_send_due(now=timezone.now() + timedelta(minutes=61))

    assert (report.sent, report.cancelled) == (0, 1)
    assert smtp.messages == []
    row = Notification.objects.get()
    assert (row.status, row.error) == ("cancelled", VISIT_NOT_OVERDUE)
    entry = AuditEvent.objects.get(action="alert.notification.cancelled")
    assert (entry.record, entry.group_id) == (
        "101",
        anchored.groups.get(unique_name="osaka_central").pk,
    )


def test_repeats_are_sent_until_the_visit_is_done(anchored, pi_paula, make_record, save, smtp):
    record = make_record("101", "osaka_central")
    make_alert(pi_paula, anchored, repeat_every=1, repeat_unit="days", repeat_max=2)
    assert overdue_alerts_evaluate_all(TODAY) == 3
    assert notifications_send_due().sent == 1

    save(record, "visit", "baseline_arm_1", {})
    report = notifications_send_due(now=timezone.now() + timedelta(days=1, minutes=1))

    assert (report.sent, report.cancelled) == (0, 1)
    statuses = list(Notification.objects.order_by("number").values_list("status", flat=True))
    assert statuses == ["sent", "cancelled", "scheduled"]


def test_the_event_filter_fires_only_for_that_event(anchored, pi_paula, make_record, events):
    make_record("101", "osaka_central", consent=TODAY - timedelta(days=50))
    make_alert(pi_paula, anchored, event_id=events["week_4_arm_1"].pk)

    # baseline ended 33 days ago (before the alert was made: left alone), week 4 yesterday
    assert overdue_alerts_evaluate_all(TODAY) == 1
    assert scheduled() == [("101", "week_4_arm_1")]


def test_visits_overdue_before_the_alert_was_made_are_left_alone(anchored, pi_paula, make_record):
    make_record("101", "osaka_central", consent=TODAY - timedelta(days=30))
    make_alert(pi_paula, anchored)

    assert overdue_alerts_evaluate_all(TODAY) == 0  # baseline ended 13 days ago


def test_a_sites_alert_fires_only_for_its_records_and_others_are_left_out(
    anchored, pi_paula, sam, bea, make_record, smtp
):
    make_record("101", "osaka_central")
    make_record("201", "kyoto_north")
    make_alert(sam, anchored, addresses="sam.private@example.org")
    make_alert(pi_paula, anchored, title="All sites", addresses="", user_ids=[bea.pk])

    assert overdue_alerts_evaluate_all(TODAY) == 3
    notifications_send_due()

    assert sorted(scheduled()) == [
        ("101", "baseline_arm_1"),
        ("101", "baseline_arm_1"),
        ("201", "baseline_arm_1"),
    ]
    [to_sam] = smtp.to("sam.private@example.org")
    assert (
        Inbox.body(to_sam).strip() == "Record 101 (osaka_central) missed ベースライン / Baseline."
    )
    [to_bea] = smtp.to("kyoto_bea@example.org")
    assert "Record 201 (kyoto_north)" in Inbox.body(to_bea)
    left_out = Notification.objects.get(alert__title="All sites", record_name="101")
    assert [(r["to"], r["status"], r["error"]) for r in left_out.recipients] == [
        ("kyoto_bea@example.org", "", OTHER_GROUP)
    ]


def test_a_form_save_never_fires_an_overdue_alert(anchored, pi_paula, make_record, save):
    make_alert(pi_paula, anchored)
    record = make_record("101", "osaka_central")
    save(record, "visit", "week_4_arm_1", {})

    assert scheduled() == []
    assert AlertState.objects.count() == 0


def test_a_project_without_scheduling_has_no_overdue_visit(study, pi_paula, monkeypatch):
    make_alert(pi_paula, study)
    assert evaluate_date_alerts.call() == 0  # no anchor: no schedules

    monkeypatch.setattr(visit_sources, "_sources", [])
    assert visit_sources.overdue_visits(study, TODAY) == []
    assert overdue_alerts_evaluate_all(TODAY) == 0


def test_scheduling_registers_its_overdue_visits(anchored, make_record):
    make_record("101", "osaka_central")

    assert visit_sources.overdue_visits(anchored, TODAY) == overdue_visits(anchored, TODAY)
    [visit] = visit_sources.overdue_visits(anchored, TODAY)
    assert (visit.record_id, visit.event_name, visit.days_overdue) == ("101", "baseline_arm_1", 1)


def test_an_overdue_alert_needs_a_positive_number_of_days(anchored, pi_paula):
    with pytest.raises(InvalidInput, match="Days after the window end must be from 1 to 366"):
        make_alert(pi_paula, anchored, overdue_days=0)
    assert not Alert.objects.exists()


def overdue_form(**changes):
    data = {
        "title": "Missed week 4",
        "trigger": "overdue",
        "overdue_days": "3",
        "fire_mode": "became_true",
        "addresses": "monitor@example.org",
        "language": "en",
        "subject_en": "Overdue: [record-name]",
        "body_en": "Record [record-name] missed [event-label].",
        "repeat_unit": "days",
        "cancel_when_false": "on",
    }
    data.update(changes)
    return data


def test_the_editor_makes_an_overdue_alert_for_one_event_and_audits_it(
    client, study, pi_paula, events
):
    client.force_login(pi_paula)
    url = reverse("alerts:new", args=[study.pk])
    assert 'name="overdue_days"' in client.get(url).content.decode()

    week_4 = events["week_4_arm_1"].pk
    response = client.post(url, overdue_form(event_id=str(week_4)))

    assert response.status_code == 302
    alert = Alert.objects.get(project=study)
    assert (alert.trigger, alert.overdue_days, alert.event_id) == ("overdue", 3, week_4)
    entry = AuditEvent.objects.get(action="alert.create", project_id=study.pk)
    assert entry.changes["overdue_days"] == [None, 3]
    assert entry.changes["trigger"] == [None, "overdue"]


@pytest.mark.parametrize(
    ("days", "error"),
    [
        ("0", "Days after the window end must be from 1 to 366."),
        ("367", "Days after the window end must be from 1 to 366."),
        ("1; DROP TABLE", "Days after the window end must be a whole number, not 1; DROP TABLE."),
    ],
)
def test_the_editor_refuses_a_bad_number_of_days_and_saves_nothing(
    client, study, pi_paula, days, error
):
    client.force_login(pi_paula)
    response = client.post(reverse("alerts:new", args=[study.pk]), overdue_form(overdue_days=days))

    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Alert.objects.exists()
