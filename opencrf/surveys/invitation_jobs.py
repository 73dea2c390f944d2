"""Sending survey invitations from the job queue, and the daily pass of automated ones.

The scheduler (opencrf/ops/schedule.py) enqueues `send_due_invitations` every minute and
`evaluate_automated_invitations` once a day. Sending works in batches: a batch of due rows is
claimed in one short transaction — `select_for_update(skip_locked=True)` where the database
has row locks, and in every case a conditional UPDATE that only rows still unclaimed pass
(a claimed row keeps status "scheduled" and gets `sent_at`, the time of the claim) — so two
workers never send one invitation twice. Each batch is sent over one SMTP connection, then
each row is marked sent or failed with the server's error. A claim older than
`STALE_CLAIM` (a worker died mid-batch) is marked failed as interrupted, never sent again:
a message is sent at most once, and the log says when delivery is unknown.

The mail backend is Django's configured one: the training instance's settings choose
`SuppressedEmailBackend`, which sends nothing, exactly as for account mails.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone, translation
from django_tasks import task

from opencrf.accounts.mail import mail_language
from opencrf.projects.models import Project
from opencrf.surveys.invitations import COMPLETED, INTERRUPTED, MessageBuilder, is_email
from opencrf.surveys.models import Invitation, SurveyResponse

logger = logging.getLogger(__name__)

BATCH = 100
STALE_CLAIM = timedelta(minutes=30)
RUN_SECONDS = 240.0  # one run's budget; the next minute's run takes the rest


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped


def invitations_claim(now: datetime, limit: int = BATCH) -> list[int]:
    """Claim up to `limit` due invitations for this caller; returns their ids."""
    with transaction.atomic():
        due = Invitation.objects.filter(
            status=Invitation.Status.SCHEDULED,
            sent_at__isnull=True,
            send_at__lte=now,
            project__surveys_enabled=True,
        ).order_by("send_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        unclaimed = Invitation.objects.filter(
            pk__in=ids, status=Invitation.Status.SCHEDULED, sent_at__isnull=True
        )
        if unclaimed.update(sent_at=now) == len(ids):
            return ids
    # Without row locks another worker may have taken some: keep only those marked now by us.
    return _claimed_by(ids, now)


def _claimed_by(ids: Sequence[int], now: datetime) -> list[int]:
    """The rows of `ids` this caller's conditional UPDATE marked (claim time `now`)."""
    mine = Invitation.objects.filter(pk__in=ids, status=Invitation.Status.SCHEDULED, sent_at=now)
    return list(mine.values_list("pk", flat=True))


def stale_claims_fail(now: datetime) -> int:
    """Rows claimed long ago and never finished: their worker died. Marked failed, not resent."""
    return Invitation.objects.filter(
        status=Invitation.Status.SCHEDULED, sent_at__lt=now - STALE_CLAIM
    ).update(status=Invitation.Status.FAILED, error=INTERRUPTED)


def invitations_send_due(
    *, now: datetime | None = None, batch: int = BATCH, budget: float = RUN_SECONDS
) -> SendReport:
    """Send every due invitation, batch after batch, within `budget` seconds."""
    report = SendReport()
    started = time.monotonic()
    stale_claims_fail(now or timezone.now())
    while time.monotonic() - started < budget:
        ids = invitations_claim(now or timezone.now(), batch)
        if not ids:
            break
        report.add(invitations_send(ids))
    return report


def invitations_send(ids: Sequence[int]) -> SendReport:
    """Send claimed invitations over one connection per project; mark each sent or failed."""
    rows = list(
        Invitation.objects.filter(pk__in=ids).select_related(
            "project", "participant", "response__survey", "response__record", "response__event"
        )
    )
    report = SendReport()
    by_project: dict[int, list[Invitation]] = {}
    for invitation in rows:
        by_project.setdefault(invitation.project_id, []).append(invitation)
    for invitations in by_project.values():
        report.add(_send_project(invitations[0].project, invitations))
    return report


def _send_project(project: Project, invitations: list[Invitation]) -> SendReport:
    report = SendReport()
    due = []
    for invitation in invitations:
        if invitation.reminder and invitation.response.status == SurveyResponse.Status.COMPLETED:
            _finish(invitation, Invitation.Status.CANCELLED, COMPLETED)
            report.skipped += 1
        else:
            due.append(invitation)
    if not due:
        return report
    builder = MessageBuilder(project, due)
    backend = get_connection(fail_silently=False)
    try:
        backend.open()
    except Exception as error:  # the server is down: every row of the batch failed
        for invitation in due:
            _finish(invitation, Invitation.Status.FAILED, _error_text(error))
        report.failed += len(due)
        return report
    try:
        for invitation in due:
            if _send_one(builder, backend, invitation):
                report.sent += 1
            else:
                report.failed += 1
    finally:
        with contextlib.suppress(Exception):  # a failed QUIT changes nothing already recorded
            backend.close()
    return report


def _send_one(builder: MessageBuilder, backend: object, invitation: Invitation) -> bool:
    participant = invitation.participant
    language = participant.language if participant else ""
    if participant and participant.email != invitation.email and is_email(participant.email):
        # The list's address was corrected after the invitation was composed: use it.
        invitation.email = participant.email
        Invitation.objects.filter(pk=invitation.pk).update(email=participant.email)
    try:
        with translation.override(mail_language(language or invitation.response.survey.language)):
            mail = builder.mail(invitation)
        message = EmailMessage(
            subject=mail.subject,
            body=mail.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[mail.to],
            connection=backend,  # type: ignore[arg-type]
        )
        message.send()
    except Exception as error:
        logger.warning("Survey invitation %s was not sent: %s", invitation.pk, error)
        _finish(invitation, Invitation.Status.FAILED, _error_text(error))
        return False
    _finish(invitation, Invitation.Status.SENT, "")
    _start_time_limit(invitation)
    return True


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _finish(invitation: Invitation, status: str, error: str) -> None:
    sent_at = timezone.now() if status == Invitation.Status.SENT else invitation.sent_at
    if status == Invitation.Status.CANCELLED:
        sent_at = None
    Invitation.objects.filter(pk=invitation.pk).update(status=status, error=error, sent_at=sent_at)
    invitation.status, invitation.error, invitation.sent_at = status, error, sent_at


def _start_time_limit(invitation: Invitation) -> None:
    """A survey with a time limit counts it from the first invitation sent (REDCap)."""
    minutes = invitation.response.survey.time_limit_minutes
    if not minutes or invitation.reminder:
        return
    SurveyResponse.objects.filter(pk=invitation.response_id, link_expires_at__isnull=True).update(
        link_expires_at=timezone.now() + timedelta(minutes=minutes)
    )


@task()
def send_due_invitations() -> dict[str, int]:
    """The periodic job: send what is due (enqueued every minute by ops/schedule.py)."""
    report = invitations_send_due()
    return {"sent": report.sent, "failed": report.failed, "skipped": report.skipped}


@task()
def evaluate_automated_invitations() -> int:
    """The daily job: re-evaluate automated invitations whose logic reads dates."""
    from opencrf.surveys.automated import auto_invitations_reevaluate_all

    return auto_invitations_reevaluate_all()
