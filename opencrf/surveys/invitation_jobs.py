"""Sending survey invitations from the job queue, and the daily pass of automated ones.

The scheduler (opencrf/ops/schedule.py) enqueues `send_due_invitations` every minute and
`evaluate_automated_invitations` once a day. Sending works in batches: a batch of due rows is
claimed in one short transaction — `select_for_update(skip_locked=True)` where the database
has row locks, and in every case a conditional UPDATE that only rows still unclaimed pass
(a claimed row keeps status "scheduled" and gets `sent_at`, the time of the claim) — so two
workers never send one invitation twice. Each batch is sent over one SMTP connection, then
each row is marked with the outcome (`refusal_of` reads the server's answer):

- sent, with its `Message-ID`;
- bounced: the server refused the recipient for good (SMTP 5xx to RCPT TO or to the
  message) — never tried again;
- failed, tried again later: a temporary refusal (4xx) or a server out of reach, after
  `RETRY_DELAYS` (5 minutes, then 30, then 2 hours); after the last it stays failed;
- failed for good: anything else, such as a connection lost in the middle of a message,
  which may or may not have been delivered.

A claim older than `STALE_CLAIM` (a worker died mid-batch) is marked failed as interrupted,
never sent again: a message is sent at most once, and the log says when delivery is unknown.

The mail backend is Django's configured one: the training instance's settings choose
`SuppressedEmailBackend`, which sends nothing, exactly as for account mails.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME
from django.db import connection, transaction
from django.db.models import Q
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
# After a temporary refusal, the n-th try again waits RETRY_DELAYS[n - 1]; then no more.
RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))

BOUNCED = "bounced"
TEMPORARY = "temporary"
PERMANENT = "permanent"


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    bounced: int = 0

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.bounced += other.bounced


@dataclass(frozen=True)
class Refusal:
    """Why a message was not sent: `kind` is BOUNCED, TEMPORARY or PERMANENT; `reason` the
    server's own words (its code and text), kept in the invitation's `error`."""

    kind: str
    reason: str


def _smtp_text(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {words}".strip()


def _kind(code: int, *, recipient: bool) -> str:
    if 400 <= code < 500:
        return TEMPORARY
    return BOUNCED if recipient and code >= 500 else PERMANENT


def refusal_of(error: BaseException) -> Refusal:
    """Read a failed send: a 5xx to the recipient or the message bounces, a 4xx is tried
    again later, the sender refused for good or a lost connection is failed for good."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        codes = [code for code, _text in answers]
        reason = "; ".join(_smtp_text(code, text) for code, text in answers)
        if codes and all(code >= 500 for code in codes):
            return Refusal(BOUNCED, reason)
        return Refusal(TEMPORARY if any(400 <= c < 500 for c in codes) else PERMANENT, reason)
    if isinstance(error, smtplib.SMTPResponseException):
        recipient = isinstance(error, smtplib.SMTPDataError)  # the message was refused
        reason = _smtp_text(error.smtp_code, error.smtp_error)
        return Refusal(_kind(error.smtp_code, recipient=recipient), reason)
    return Refusal(PERMANENT, _error_text(error))


def _unreachable(error: BaseException) -> Refusal:
    """The server could not be reached (or refused the connection): nothing was sent."""
    if isinstance(error, smtplib.SMTPResponseException):
        return Refusal(_kind(error.smtp_code, recipient=False), _error_text(error))
    return Refusal(TEMPORARY, _error_text(error))


def invitations_claim(now: datetime, limit: int = BATCH) -> list[int]:
    """Claim up to `limit` due invitations for this caller; returns their ids."""
    with transaction.atomic():
        due = Invitation.objects.filter(
            Q(status=Invitation.Status.SCHEDULED, sent_at__isnull=True, send_at__lte=now)
            | Q(status=Invitation.Status.FAILED, retry_at__lte=now),
            project__surveys_enabled=True,
        ).order_by("send_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        unclaimed = Invitation.objects.filter(
            Q(status=Invitation.Status.SCHEDULED, sent_at__isnull=True)
            | Q(status=Invitation.Status.FAILED, retry_at__isnull=False),
            pk__in=ids,
        )
        claimed = unclaimed.update(status=Invitation.Status.SCHEDULED, sent_at=now, retry_at=None)
        if claimed == len(ids):
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
        again = invitation.reminder or invitation.attempts  # a reminder, or a failed one's retry
        if again and invitation.response.status == SurveyResponse.Status.COMPLETED:
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
    except Exception as error:  # the server is out of reach: nothing of the batch was sent
        refusal = _unreachable(error)
        for invitation in due:
            _refused(invitation, refusal)
        report.failed += len(due)
        return report
    try:
        for invitation in due:
            outcome = _send_one(builder, backend, invitation)
            if outcome == Invitation.Status.SENT:
                report.sent += 1
            elif outcome == Invitation.Status.BOUNCED:
                report.bounced += 1
            else:
                report.failed += 1
    finally:
        with contextlib.suppress(Exception):  # a failed QUIT changes nothing already recorded
            backend.close()
    return report


def _send_one(builder: MessageBuilder, backend: object, invitation: Invitation) -> str:
    """Send one invitation; returns its new status."""
    participant = invitation.participant
    language = participant.language if participant else ""
    if participant and participant.email != invitation.email and is_email(participant.email):
        # The list's address was corrected after the invitation was composed: use it.
        invitation.email = participant.email
        Invitation.objects.filter(pk=invitation.pk).update(email=participant.email)
    try:
        with translation.override(mail_language(language or invitation.response.survey.language)):
            mail = builder.mail(invitation)
        message_id = new_message_id()
        message = EmailMultiAlternatives(
            subject=mail.subject,
            body=mail.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[mail.to],
            headers={"Message-ID": message_id},
            connection=backend,
        )
        message.attach_alternative(mail.html, "text/html")
        message.send()
    except Exception as error:
        logger.warning("Survey invitation %s was not sent: %s", invitation.pk, error)
        return _refused(invitation, refusal_of(error))
    Invitation.objects.filter(pk=invitation.pk).update(message_id=message_id)
    invitation.message_id = message_id
    _finish(invitation, Invitation.Status.SENT, "")
    _start_time_limit(invitation)
    return Invitation.Status.SENT


def new_message_id() -> str:
    """A unique `Message-ID` in the sender's domain, kept with the invitation so a report
    about the message can be matched to it."""
    _name, address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))
    domain = address.rpartition("@")[2] or str(DNS_NAME)
    return make_msgid(domain=domain)


def _refused(invitation: Invitation, refusal: Refusal) -> str:
    """Mark a refused send: bounced, failed to be tried again after a delay, or failed."""
    if refusal.kind == BOUNCED:
        _finish(invitation, Invitation.Status.BOUNCED, refusal.reason)
        return Invitation.Status.BOUNCED
    attempts = invitation.attempts + 1
    retry_at = None
    if refusal.kind == TEMPORARY and attempts <= len(RETRY_DELAYS):
        retry_at = timezone.now() + RETRY_DELAYS[attempts - 1]
    Invitation.objects.filter(pk=invitation.pk).update(attempts=attempts, retry_at=retry_at)
    invitation.attempts, invitation.retry_at = attempts, retry_at
    _finish(invitation, Invitation.Status.FAILED, refusal.reason)
    return Invitation.Status.FAILED


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _finish(invitation: Invitation, status: str, error: str) -> None:
    sent_at = timezone.now() if status == Invitation.Status.SENT else invitation.sent_at
    if status == Invitation.Status.CANCELLED:
        sent_at = None
    error = error[:2000]
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
    return {
        "sent": report.sent,
        "failed": report.failed,
        "bounced": report.bounced,
        "skipped": report.skipped,
    }


@task()
def evaluate_automated_invitations() -> int:
    """The daily job: re-evaluate automated invitations whose logic reads dates."""
    from opencrf.surveys.automated import auto_invitations_reevaluate_all

    return auto_invitations_reevaluate_all()
