"""Automated survey invitations: scheduled when a save makes the logic true, once; cancelled
when it turns false before sending; on dates by the daily pass; every decision audited."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.design import design_of
from opencrf.projects.models import Event
from opencrf.records.bulk import FormWrite, forms_write_many
from opencrf.records.hooks import FormKey
from opencrf.records.models import Record
from opencrf.records.services import form_save
from opencrf.surveys import automated
from opencrf.surveys.automated import (
    NO_EMAIL,
    AutoSettings,
    auto_invitation_save,
    auto_invitations_reevaluate_all,
    forms_saved,
    send_time_of,
)
from opencrf.surveys.invitation_jobs import invitations_send_due
from opencrf.surveys.invitations import LOGIC_FALSE
from opencrf.surveys.models import AutoInvitation, Invitation, SurveyResponse
from opencrf.testing.smtp import Inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(demo):
    return {event.unique_name: event for event in Event.objects.filter(project=demo)}


def _settings(**changes):
    values = {
        "active": True,
        "condition_logic": "[baseline_arm_1][hba1c] >= 9",
        "email_field": "baseline_notes",
        "subject": "Week 24 questionnaire",
        "body": "Hello [record-name]: [survey-link]",
    }
    values.update(changes)
    return AutoSettings(**values)


@pytest.fixture
def asi(qol_survey, events, paula_context):
    return auto_invitation_save(
        context=paula_context,
        survey=qol_survey,
        event=events["week_24_arm_1"],
        settings=_settings(),
    )


def _save(demo, events, record_id, values, capture):
    record = Record.objects.get(project=demo, record_id=record_id)
    with capture(execute=True):
        form_save(
            context=AuditContext.system(),
            record=record,
            event=events["baseline_arm_1"],
            form_name="baseline",
            values=values,
            base_version=None,
            reason="test",
        )
    return record


def _rows(record):
    return list(Invitation.objects.filter(response__record=record).order_by("pk"))


def test_a_save_that_makes_the_condition_true_schedules_the_invitation_once(
    demo, events, asi, django_capture_on_commit_callbacks
):
    record = _save(
        demo,
        events,
        "1-1",
        {"hba1c": "9.5", "baseline_notes": "p11@example.org"},
        django_capture_on_commit_callbacks,
    )
    _save(demo, events, "1-1", {"weight": "70.1"}, django_capture_on_commit_callbacks)

    [row] = _rows(record)
    assert (row.automated, row.email, row.status) == (asi, "p11@example.org", "scheduled")
    assert row.email_field == "baseline_notes"  # the participant list reads it there
    assert row.response.event == events["week_24_arm_1"]
    audit = AuditEvent.objects.filter(action="survey.invitation.scheduled", record="1-1")
    assert audit.count() == 1
    assert audit.get().details == f"automated invitation {asi.pk}"


def test_the_invitation_is_sent_with_the_link_of_the_record_at_the_asis_event(
    demo, events, asi, django_capture_on_commit_callbacks, smtp
):
    record = _save(
        demo,
        events,
        "1-1",
        {"hba1c": "9.5", "baseline_notes": "p11@example.org"},
        django_capture_on_commit_callbacks,
    )

    invitations_send_due()

    response = SurveyResponse.objects.get(record=record, event=events["week_24_arm_1"])
    body = Inbox.body(smtp.to("p11@example.org")[0]).strip()
    assert body == f"Hello 1-1: https://edc.example.ac.jp/surveys/s/{response.token}/"


def test_turning_false_before_sending_cancels_and_true_again_schedules_again(
    demo, events, asi, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    record = _save(
        demo, events, "1-1", {"hba1c": "9.5", "baseline_notes": "p11@example.org"}, capture
    )
    _save(demo, events, "1-1", {"hba1c": "7.0"}, capture)

    [first] = _rows(record)
    assert (first.status, first.error) == (Invitation.Status.CANCELLED, LOGIC_FALSE)
    assert AuditEvent.objects.filter(action="survey.invitation.cancelled", record="1-1").exists()

    _save(demo, events, "1-1", {"hba1c": "9.1"}, capture)

    assert [row.status for row in _rows(record)] == ["cancelled", "scheduled"]


def test_turning_false_cancels_a_failed_invitation_waiting_for_its_next_try(
    demo, events, asi, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    record = _save(
        demo, events, "1-1", {"hba1c": "9.5", "baseline_notes": "p11@example.org"}, capture
    )
    retry_at = timezone.now() + timedelta(minutes=5)
    Invitation.objects.filter(response__record=record).update(
        status=Invitation.Status.FAILED, attempts=1, retry_at=retry_at, error="451 4.7.1 Later"
    )

    _save(demo, events, "1-1", {"hba1c": "7.0"}, capture)

    [row] = _rows(record)
    assert (row.status, row.error, row.retry_at) == ("cancelled", LOGIC_FALSE, None)
    audit = AuditEvent.objects.get(action="survey.invitation.cancelled", record="1-1")
    assert audit.changes == {"status": ["failed", "cancelled"]}


def test_once_sent_it_is_never_scheduled_again(
    demo, events, asi, django_capture_on_commit_callbacks, smtp
):
    capture = django_capture_on_commit_callbacks
    record = _save(
        demo, events, "1-1", {"hba1c": "9.5", "baseline_notes": "p11@example.org"}, capture
    )
    invitations_send_due()
    _save(demo, events, "1-1", {"hba1c": "7.0"}, capture)
    _save(demo, events, "1-1", {"hba1c": "9.9"}, capture)

    assert [row.status for row in _rows(record)] == ["sent"]


def test_a_record_without_an_address_is_skipped_once_then_invited_when_it_has_one(
    demo, events, asi, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    record = _save(demo, events, "1-1", {"hba1c": "9.5"}, capture)
    _save(demo, events, "1-1", {"weight": "70.3"}, capture)

    [skip] = _rows(record)
    assert (skip.status, skip.error, skip.email) == ("cancelled", NO_EMAIL, "")
    assert AuditEvent.objects.filter(action="survey.invitation.skipped", record="1-1").count() == 1

    _save(demo, events, "1-1", {"baseline_notes": "p11@example.org"}, capture)

    assert [row.status for row in _rows(record)] == ["cancelled", "scheduled"]


def test_an_import_is_evaluated_like_a_save(
    demo, events, asi, paula_context, django_capture_on_commit_callbacks
):
    records = list(Record.objects.filter(project=demo, record_id__in=["1-1", "1-2"]))
    writes = [
        FormWrite(
            r,
            events["baseline_arm_1"],
            "baseline",
            1,
            {"hba1c": "9.2", "baseline_notes": f"{r.record_id}@example.org"},
        )
        for r in records
    ]
    with django_capture_on_commit_callbacks(execute=True):
        forms_write_many(context=paula_context, project=demo, design=design_of(demo), writes=writes)

    emails = sorted(Invitation.objects.values_list("email", flat=True))
    assert emails == ["1-1@example.org", "1-2@example.org"]


def test_the_daily_pass_schedules_when_a_date_in_the_logic_is_reached(
    demo, events, qol_survey, paula_context, django_capture_on_commit_callbacks, monkeypatch
):
    auto_invitation_save(
        context=paula_context,
        survey=qol_survey,
        event=events["week_24_arm_1"],
        settings=_settings(
            condition_logic="datediff([baseline_arm_1][bl_date], 'today', 'd', 'ymd', true) >= 30"
        ),
    )
    today = timezone.localdate()
    record = _save(
        demo,
        events,
        "1-1",
        {"bl_date": today.isoformat(), "baseline_notes": "p11@example.org"},
        django_capture_on_commit_callbacks,
    )
    assert _rows(record) == []

    later = today + timedelta(days=30)
    monkeypatch.setattr(
        automated, "clock", lambda: {"today": later.isoformat(), "now": f"{later} 09:00:00"}
    )
    auto_invitations_reevaluate_all()

    [row] = _rows(record)
    assert row.status == "scheduled"


def test_an_inactive_automated_invitation_does_nothing(
    demo, events, qol_survey, paula_context, django_capture_on_commit_callbacks
):
    auto_invitation_save(
        context=paula_context,
        survey=qol_survey,
        event=events["week_24_arm_1"],
        settings=_settings(active=False),
    )
    record = _save(
        demo,
        events,
        "1-1",
        {"hba1c": "9.5", "baseline_notes": "p11@example.org"},
        django_capture_on_commit_callbacks,
    )

    assert _rows(record) == []


def test_a_project_without_active_asis_costs_one_query_once_and_none_without_surveys(
    demo, django_assert_num_queries
):
    record = Record.objects.get(project=demo, record_id="1-1")
    keys = [FormKey(record.pk, 1, "baseline", 1)]
    demo.surveys_enabled = False
    with django_assert_num_queries(0):
        forms_saved(demo, keys)
    demo.surveys_enabled = True
    with django_assert_num_queries(1):
        forms_saved(demo, keys)
    with django_assert_num_queries(0):  # kept until the design version changes
        forms_saved(demo, keys)


def test_an_asi_set_up_after_the_project_was_read_is_seen_by_the_next_save(
    demo, events, qol_survey, paula_context, django_capture_on_commit_callbacks
):
    record = Record.objects.get(project=demo, record_id="1-1")
    forms_saved(demo, [FormKey(record.pk, 1, "baseline", 1)])  # keeps "none" for this version
    auto_invitation_save(
        context=paula_context,
        survey=qol_survey,
        event=events["week_24_arm_1"],
        settings=_settings(),
    )

    _save(
        demo,
        events,
        "1-1",
        {"hba1c": "9.5", "baseline_notes": "p11@example.org"},
        django_capture_on_commit_callbacks,
    )

    assert [row.status for row in _rows(record)] == ["scheduled"]


def test_an_asi_turned_off_elsewhere_decides_nothing_even_from_a_kept_copy(
    demo, events, asi, django_capture_on_commit_callbacks
):
    record = Record.objects.get(project=demo, record_id="1-1")
    kept = automated.active_auto_invitations(record.project)
    AutoInvitation.objects.filter(pk=asi.pk).update(active=False)  # no version change

    assert kept == automated.active_auto_invitations(record.project)
    _save(
        demo,
        events,
        "1-1",
        {"hba1c": "9.5", "baseline_notes": "p11@example.org"},
        django_capture_on_commit_callbacks,
    )
    assert _rows(record) == []


def test_delay_and_time_of_day_set_when_it_is_sent(asi, settings):
    tokyo = ZoneInfo(settings.TIME_ZONE)
    now = datetime(2026, 3, 1, 15, 0, tzinfo=tokyo)
    asi.delay_days, asi.delay_minutes = 1, 30
    assert send_time_of(asi, now) == datetime(2026, 3, 2, 15, 30, tzinfo=tokyo)
    asi.send_time = time(9, 0)
    assert send_time_of(asi, now) == datetime(2026, 3, 3, 9, 0, tzinfo=tokyo)
    asi.send_time = time(18, 0)
    assert send_time_of(asi, now) == datetime(2026, 3, 2, 18, 0, tzinfo=tokyo)


def test_reminders_of_an_automated_invitation_follow_the_first(
    demo, events, qol_survey, paula_context, django_capture_on_commit_callbacks
):
    auto_invitation_save(
        context=paula_context,
        survey=qol_survey,
        event=events["week_24_arm_1"],
        settings=_settings(delay_days=2, reminder_every_days=7, reminder_count=2),
    )
    before = timezone.now()
    record = _save(
        demo,
        events,
        "1-1",
        {"hba1c": "9.5", "baseline_notes": "p11@example.org"},
        django_capture_on_commit_callbacks,
    )

    rows = _rows(record)
    assert [row.reminder for row in rows] == [0, 1, 2]
    assert timedelta(days=2) <= rows[0].send_at - before < timedelta(days=2, minutes=1)
    assert rows[2].send_at - rows[0].send_at == timedelta(days=14)


def test_a_bad_set_up_is_refused_and_changes_nothing(qol_survey, events, paula_context):
    for bad in (
        {"condition_logic": "[hba1c] >>= 9"},
        {"condition_logic": " "},
        {"email_field": "no_such_field"},
        {"subject": ""},
        {"delay_minutes": 24 * 60},
    ):
        with pytest.raises(InvalidInput):
            auto_invitation_save(
                context=paula_context,
                survey=qol_survey,
                event=events["week_24_arm_1"],
                settings=_settings(**bad),
            )
    with pytest.raises(InvalidInput):  # the event does not collect the survey's instrument
        auto_invitation_save(
            context=paula_context,
            survey=qol_survey,
            event=events["week_12_arm_1"],
            settings=_settings(),
        )
    assert not AutoInvitation.objects.exists()
    assert not AuditEvent.objects.filter(action="survey.auto_invitation.save").exists()


def test_changing_the_set_up_is_audited_with_old_and_new_values(
    asi, qol_survey, events, paula_context
):
    auto_invitation_save(
        context=paula_context,
        survey=qol_survey,
        event=events["week_24_arm_1"],
        settings=_settings(delay_days=3),
    )

    entry = AuditEvent.objects.filter(action="survey.auto_invitation.save").last()
    assert entry.changes == {"delay_days": [0, 3]}
    assert AutoInvitation.objects.get().delay_days == 3
