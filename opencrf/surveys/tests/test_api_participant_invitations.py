"""The API's participant list says what the invitations did: the address a record is invited
at, whether one was sent, and when the next will be sent."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import pytest
from django.utils import timezone

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.services import AuditContext
from opencrf.projects.models import Event
from opencrf.records.models import Record
from opencrf.records.services import form_save
from opencrf.surveys.invitation_jobs import invitations_send_due
from opencrf.surveys.invitations import Message, invitation_cancel, invitations_compose
from opencrf.surveys.models import Invitation, Participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def paula_token(demo, qol_survey, pi_paula, paula_context):
    return token_create(context=paula_context, user=pi_paula, project=demo)


@pytest.fixture
def baseline(demo):
    return Event.objects.get(project=demo, unique_name="baseline_arm_1")


def _address(demo, baseline, record_id: str, address: str) -> Record:
    record = Record.objects.get(project=demo, record_id=record_id)
    form_save(
        context=AuditContext.system(),
        record=record,
        event=baseline,
        form_name="baseline",
        values={"baseline_notes": address},
        base_version=None,
        reason="test",
    )
    return record


def _row(token: str, record_id: str = "1-1") -> dict[str, object]:
    rows = orjson.loads(
        post(
            {
                "token": token,
                "content": "participantList",
                "instrument": "quality_of_life",
                "event": "baseline_arm_1",
                "format": "json",
            }
        ).content
    )
    index = list(Record.objects.filter(project__surveys_enabled=True).order_by("sort_key", "pk"))
    return rows[[r.record_id for r in index].index(record_id)]


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def test_a_record_invited_at_its_email_field_is_listed_with_that_address_and_times(
    paula_token, demo, qol_survey, baseline, paula_context, smtp
):
    record = _address(demo, baseline, "1-1", "p11@example.org")
    start = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    invitations_compose(
        context=paula_context,
        survey=qol_survey,
        event=baseline,
        message=Message("QOL", "[survey-link]", send_at=start, reminder_days=3, reminders=2),
        records=[record],
        email_field="baseline_notes",
    )

    waiting = _row(paula_token)
    invitations_send_due(now=start)
    reminded = _row(paula_token)
    _address(demo, baseline, "1-1", "new.address@example.org")
    moved = _row(paula_token)
    for reminder in Invitation.objects.filter(reminder__gt=0):
        invitation_cancel(context=paula_context, project=demo, invitation_id=reminder.pk)
    done = _row(paula_token)

    shown = ("email", "email_occurrence", "invitation_sent_status", "invitation_send_time")
    assert [tuple(row[name] for name in shown) for row in (waiting, reminded, moved, done)] == [
        ("p11@example.org", 1, 0, _local(start)),
        ("p11@example.org", 1, 1, _local(start + timedelta(days=3))),
        ("new.address@example.org", 1, 1, _local(start + timedelta(days=3))),
        ("new.address@example.org", 1, 1, ""),
    ]
    assert waiting["record"] == ""  # REDCap names the record only beside an identifier


def test_an_address_on_the_list_and_at_a_records_field_count_as_two_occurrences(
    paula_token, demo, qol_survey, baseline, paula_context
):
    record = _address(demo, baseline, "1-2", "shared@example.org")
    Participant.objects.create(
        project=demo, survey=qol_survey, event=baseline, email="shared@example.org"
    )
    invitations_compose(
        context=paula_context,
        survey=qol_survey,
        event=baseline,
        message=Message("QOL", "[survey-link]"),
        records=[record],
        email_field="baseline_notes",
    )

    rows = orjson.loads(
        post(
            {
                "token": paula_token,
                "content": "participantList",
                "instrument": "quality_of_life",
                "event": "baseline_arm_1",
                "format": "json",
            }
        ).content
    )

    shared = [(r["email"], r["email_occurrence"]) for r in rows if r["email"]]
    assert shared == [("shared@example.org", 1), ("shared@example.org", 2)]


def test_a_failed_invitation_waiting_to_be_tried_again_gives_that_time(
    paula_token, demo, qol_survey, baseline, paula_context
):
    record = _address(demo, baseline, "1-1", "p11@example.org")
    [invitation] = invitations_compose(
        context=paula_context,
        survey=qol_survey,
        event=baseline,
        message=Message("QOL", "[survey-link]"),
        records=[record],
        email_field="baseline_notes",
    ).invitations
    retry = timezone.now().replace(microsecond=0) + timedelta(minutes=5)
    Invitation.objects.filter(pk=invitation.pk).update(
        status=Invitation.Status.FAILED, attempts=1, retry_at=retry, error="451 4.3.0 Try later"
    )

    row = _row(paula_token)

    assert (row["invitation_sent_status"], row["invitation_send_time"]) == (0, _local(retry))
