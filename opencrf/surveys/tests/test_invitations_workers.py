"""Two workers sending at once never send one invitation twice; the periodic jobs run."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from opencrf.audit.services import AuditContext
from opencrf.demo.loader import load_demo
from opencrf.projects.models import Event
from opencrf.surveys.invitation_forms import DEFAULT_BODY
from opencrf.surveys.invitation_jobs import (
    evaluate_automated_invitations,
    invitations_send_due,
    send_due_invitations,
    stale_claims_fail,
)
from opencrf.surveys.invitations import INTERRUPTED, Message, invitations_compose
from opencrf.surveys.models import Invitation, Participant, Survey
from opencrf.surveys.services import survey_enable
from opencrf.testing.audit import lift_audit_triggers_for_the_flush


def _scheduled(count: int) -> list[Invitation]:
    project, _created = load_demo(owner_username="pi_paula")
    project.surveys_enabled = True
    project.save(update_fields=["surveys_enabled"])
    context = AuditContext.system()
    survey = Survey.objects.filter(project=project, form_name="quality_of_life").first()
    survey = survey or survey_enable(context=context, project=project, form_name="quality_of_life")
    event = Event.objects.get(project=project, unique_name="baseline_arm_1")
    people = Participant.objects.bulk_create(
        Participant(project=project, survey=survey, event=event, email=f"p{n}@example.org")
        for n in range(count)
    )
    return invitations_compose(
        context=context,
        survey=survey,
        event=event,
        message=Message("QOL", "[survey-link]"),
        participants=people,
    ).invitations


@pytest.fixture
def committed():
    """The test commits (threads see only committed rows); empty the audit trail after it."""
    yield
    lift_audit_triggers_for_the_flush()


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_at_once_send_each_invitation_exactly_once(committed, pi_paula, smtp):
    rows = _scheduled(60)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            invitations_send_due(batch=7)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == []
    recipients = sorted(address for envelope in smtp.envelopes for address in envelope)
    assert recipients == sorted(row.email for row in rows)
    assert set(Invitation.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_a_claim_whose_worker_died_is_failed_as_interrupted_and_never_resent(pi_paula, smtp):
    [row] = _scheduled(1)
    long_ago = timezone.now() - timedelta(hours=1)
    Invitation.objects.filter(pk=row.pk).update(sent_at=long_ago)  # claimed, never finished

    assert stale_claims_fail(timezone.now()) == 1
    invitations_send_due()

    row.refresh_from_db()
    assert (row.status, row.error) == (Invitation.Status.FAILED, INTERRUPTED)
    assert smtp.messages == []


@pytest.mark.django_db
def test_the_periodic_jobs_send_and_evaluate(pi_paula, smtp):
    _scheduled(3)

    assert send_due_invitations.call() == {"sent": 3, "failed": 0, "bounced": 0, "skipped": 0}
    assert evaluate_automated_invitations.call() == 0
    assert len(smtp.messages) == 3


@pytest.mark.django_db
def test_the_default_invitation_gives_the_access_code_page_address_it_speaks_of(
    pi_paula, smtp, settings
):
    settings.OPENCRF_SITE_URL = "https://crf.example.org"
    [row] = _scheduled(1)
    Invitation.objects.filter(pk=row.pk).update(body=str(DEFAULT_BODY))

    assert send_due_invitations.call() == {"sent": 1, "failed": 0, "bounced": 0, "skipped": 0}

    [message] = smtp.messages
    body = smtp.body(message).replace("\r\n", "\n")
    response = Invitation.objects.get(pk=row.pk).response
    assert f"type the access code {response.access_code}:\n" in body
    assert "\nhttps://crf.example.org/surveys/code/\n" in body
    assert f"https://crf.example.org/surveys/s/{response.token}/" in body
