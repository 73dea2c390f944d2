"""Sending alert notifications from the job queue, and the daily pass of date alerts.

The scheduler (opencrf/ops/schedule.py) enqueues `send_due_notifications` every minute and
`evaluate_date_alerts` once a day. Due notifications are claimed in batches as survey
invitations are: `select_for_update(skip_locked=True)` where the database has row locks, and
in every case a conditional UPDATE that only unclaimed rows pass, so two workers never send
one notification twice. A claim older than `STALE_CLAIM` (its worker died) is marked failed as
interrupted and never sent again.

Each notification is composed when it is sent, so it carries the record's data of that moment:
its condition is checked again (an alert that cancels when false cancels it instead), its
recipients are read (`recipients.py`), its text piped for each language among them
(`messages.py`), and its file fields attached up to `MAX_ATTACHMENT` bytes each. The row then
keeps the texts, the recipients with each one's outcome, and the attachments. A resend
(`notification_resend`) sends the texts kept, to the same addresses.

The training instance sends nothing: its settings choose `SuppressedEmailBackend` for account
mail; here no connection is even opened, and each row is marked "suppressed".
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task

from opencrf.alerts.evaluation import (
    ALERT_DELETED,
    INTERRUPTED,
    LOGIC_FALSE,
    RECORD_DELETED,
    Evaluator,
    RecordData,
    compile_alert,
    date_alerts_reevaluate_all,
    notification_entry,
    records_data,
)
from opencrf.alerts.messages import Text, mail_html, render
from opencrf.alerts.models import Notification, Trigger
from opencrf.alerts.overdue import VISIT_NOT_OVERDUE, overdue_alerts_evaluate_all, still_overdue
from opencrf.alerts.recipients import Recipient, recipients_of
from opencrf.audit.services import AuditContext, audit_events_create
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.files.models import StoredFile
from opencrf.files.selectors import files_in_project, open_stored_file
from opencrf.projects.models import Project
from opencrf.records.hooks import FormKey

logger = logging.getLogger(__name__)

BATCH = 100
STALE_CLAIM = timedelta(minutes=30)
RUN_SECONDS = 240.0
MAX_ATTACHMENT = 5 * 1024 * 1024  # bytes, each file
MAX_ATTACHMENTS = 10 * 1024 * 1024  # bytes, all files of one message
TOO_LARGE = "[too-large]"
SENT, FAILED = "sent", "failed"


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.cancelled += other.cancelled
        self.skipped += other.skipped


@dataclass
class Prepared:
    """A notification ready to go: its texts by language, recipients and attachments."""

    texts: dict[str, Text]
    recipients: list[Recipient]
    files: list[tuple[str, bytes, str]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)


def notifications_claim(now: datetime, limit: int = BATCH) -> list[int]:
    """Claim up to `limit` due notifications for this caller; returns their ids."""
    with transaction.atomic():
        due = Notification.objects.filter(
            status=Notification.Status.SCHEDULED, claimed_at__isnull=True, send_at__lte=now
        ).order_by("send_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        claimed = Notification.objects.filter(
            pk__in=ids, status=Notification.Status.SCHEDULED, claimed_at__isnull=True
        ).update(claimed_at=now)
        if claimed == len(ids):
            return ids
    mine = Notification.objects.filter(
        pk__in=ids, status=Notification.Status.SCHEDULED, claimed_at=now
    )
    return list(mine.values_list("pk", flat=True))


def stale_claims_fail(now: datetime) -> int:
    return Notification.objects.filter(
        status=Notification.Status.SCHEDULED, claimed_at__lt=now - STALE_CLAIM
    ).update(status=Notification.Status.FAILED, error=INTERRUPTED)


def notifications_send_due(
    *, now: datetime | None = None, batch: int = BATCH, budget: float = RUN_SECONDS
) -> SendReport:
    """Send every due notification, batch after batch, within `budget` seconds."""
    report = SendReport()
    started = time.monotonic()
    stale_claims_fail(now or timezone.now())
    while time.monotonic() - started < budget:
        ids = notifications_claim(now or timezone.now(), batch)
        if not ids:
            break
        report.add(notifications_send(ids))
    return report


def notifications_send(ids: Sequence[int]) -> SendReport:
    """Send claimed notifications, one SMTP connection per project."""
    rows = Notification.objects.filter(pk__in=ids).select_related(
        "project", "alert", "alert__event", "event", "record__group"
    )
    by_project: dict[int, list[Notification]] = {}
    for row in rows.order_by("send_at", "pk"):
        by_project.setdefault(row.project_id, []).append(row)
    report = SendReport()
    for project_rows in by_project.values():
        report.add(_send_project(project_rows[0].project, project_rows))
    return report


def _send_project(project: Project, rows: list[Notification]) -> SendReport:
    report = SendReport()
    design = design_of(project)
    data = records_data(project, {row.record_id for row in rows if row.record_id})
    rows = _drop_visits_done(project, rows, report)
    ready: list[tuple[Notification, Prepared]] = []
    for row in rows:
        prepared = _prepare(project, design, data, row, report)
        if prepared is not None:
            ready.append((row, prepared))
    if not ready:
        return report
    if settings.OPENCRF_INSTANCE_ROLE == "training":
        for row, prepared in ready:
            _finish(row, prepared, Notification.Status.SUPPRESSED, [], "")
            report.skipped += 1
        return report
    backend = get_connection(fail_silently=False)
    try:
        backend.open()
    except Exception as error:  # the server is out of reach: nothing of the batch was sent
        for row, prepared in ready:
            _finish(row, prepared, Notification.Status.FAILED, [], _error_text(error))
            report.failed += 1
        return report
    try:
        for row, prepared in ready:
            _send_row(backend, row, prepared, report)
    finally:
        with contextlib.suppress(Exception):  # a failed QUIT changes nothing already recorded
            backend.close()
    return report


def _drop_visits_done(
    project: Project, rows: list[Notification], report: SendReport
) -> list[Notification]:
    """Cancel (audited) the overdue alerts' notifications whose visit is no longer overdue —
    done, or moved to a later window — since they were scheduled; the others go on."""
    visits = [
        r for r in rows if r.alert and r.alert.trigger == Trigger.OVERDUE and not r.resend_of_id
    ]
    if not visits:
        return rows
    overdue = still_overdue(project, timezone.localdate())
    done = [r for r in visits if (r.record_id or 0, r.event_id or 0) not in overdue]
    for row in done:
        _cancel(row, VISIT_NOT_OVERDUE, report)
    entries = [
        notification_entry(r, "alert.notification.cancelled", VISIT_NOT_OVERDUE) for r in done
    ]
    audit_events_create(context=AuditContext.system(), project_id=project.pk, entries=entries)
    return [row for row in rows if row not in done]


def _cancel(row: Notification, reason: str, report: SendReport) -> None:
    Notification.objects.filter(pk=row.pk).update(
        status=Notification.Status.CANCELLED, error=reason
    )
    report.cancelled += 1


def _prepare(
    project: Project,
    design: ProjectDesign,
    data: Mapping[int, RecordData],
    row: Notification,
    report: SendReport,
) -> Prepared | None:
    """Compose a claimed notification, or cancel it (alert or record gone, condition false)."""
    if row.resend_of_id is not None:
        texts = {lang: Text(t["subject"], t["body"]) for lang, t in row.texts.items()}
        recipients = [Recipient(r["to"], r["who"], r["language"]) for r in row.recipients]
        return Prepared(texts, recipients)
    alert = row.alert
    record_data = data.get(row.record_id or 0)
    if alert is None or record_data is None:
        _cancel(row, ALERT_DELETED if alert is None else RECORD_DELETED, report)
        return None
    event_id = row.event_id or 0
    key = FormKey(record_data.record.pk, event_id, alert.form_name, row.instance)
    compiled = compile_alert(alert)
    checked = alert.cancel_when_false and compiled.condition is not None
    if checked and not Evaluator(design, record_data, key).holds(compiled):
        _cancel(row, LOGIC_FALSE, report)
        return None
    values = record_data.values_at(design, event_id, row.instance)
    recipients = recipients_of(
        alert, record_data.record, values, (f.values for f in record_data.forms)
    )
    languages = sorted({r.language for r in recipients if not r.left_out})
    texts = {
        language: render(
            alert, project, design, record_data, row.event, alert.form_name, row.instance, language
        )
        for language in languages
    }
    prepared = Prepared(texts, recipients)
    _attach(project, alert.attach_fields, values, prepared)
    return prepared


def _attach(
    project: Project, names: Sequence[str], values: Mapping[str, str], prepared: Prepared
) -> None:
    """Read the file fields' files; one too large (or beyond the total) is left out, noted."""
    ids = {name: values.get(name, "") for name in names}
    stored = files_in_project(project, [int(v) for v in ids.values() if v.isdigit()])
    total = 0
    for name, value in ids.items():
        found: StoredFile | None = stored.get(int(value)) if value.isdigit() else None
        if found is None:
            continue
        if found.size > MAX_ATTACHMENT or total + found.size > MAX_ATTACHMENTS:
            prepared.attachments.append(
                {"field": name, "name": found.original_name, "error": TOO_LARGE}
            )
            continue
        with open_stored_file(found) as handle:
            content = handle.read()
        total += found.size
        prepared.files.append((found.original_name, content, found.media_type))
        prepared.attachments.append({"field": name, "name": found.original_name, "error": ""})


def _send_row(backend: Any, row: Notification, prepared: Prepared, report: SendReport) -> None:
    outcomes: list[dict[str, str]] = []
    for recipient in prepared.recipients:
        if recipient.left_out:
            outcomes.append(recipient.as_log())
            continue
        try:
            _message(backend, recipient, prepared).send()
        except Exception as refused:
            logger.warning("Alert notification %s to %s failed: %s", row.pk, recipient.to, refused)
            outcomes.append(recipient.as_log(FAILED, _error_text(refused)))
        else:
            outcomes.append(recipient.as_log(SENT))
    statuses = {outcome["status"] for outcome in outcomes}
    if FAILED in statuses:
        status, error = (
            Notification.Status.FAILED,
            "; ".join(f"{o['to']}: {o['error']}" for o in outcomes if o["status"] == FAILED),
        )
        report.failed += 1
    elif SENT in statuses:
        status, error = Notification.Status.SENT, ""
        report.sent += 1
    else:
        status, error = Notification.Status.SKIPPED, ""
        report.skipped += 1
    _finish(row, prepared, status, outcomes, error)


def _message(backend: Any, recipient: Recipient, prepared: Prepared) -> EmailMultiAlternatives:
    text = prepared.texts[recipient.language]
    message = EmailMultiAlternatives(
        subject=text.subject,
        body=text.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.to],
        headers={"Message-ID": new_message_id()},
        connection=backend,
    )
    message.attach_alternative(mail_html(text, recipient.language), "text/html")
    for name, content, media_type in prepared.files:
        message.attach(name, content, media_type or "application/octet-stream")
    return message


def new_message_id() -> str:
    _name, address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))
    domain = address.rpartition("@")[2] or str(DNS_NAME)
    return make_msgid(domain=domain)


def _finish(
    row: Notification,
    prepared: Prepared,
    status: str,
    outcomes: list[dict[str, str]],
    error: str,
) -> None:
    outcomes = outcomes or [recipient.as_log() for recipient in prepared.recipients]
    texts = {lang: {"subject": t.subject, "body": t.body} for lang, t in prepared.texts.items()}
    Notification.objects.filter(pk=row.pk).update(
        status=status,
        error=error[:2000],
        recipients=outcomes,
        texts=texts,
        attachments=prepared.attachments,
        sent_at=timezone.now(),
    )


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


@task()
def send_due_notifications() -> dict[str, int]:
    """The periodic job: send what is due (enqueued every minute by ops/schedule.py)."""
    report = notifications_send_due()
    return {
        "sent": report.sent,
        "failed": report.failed,
        "cancelled": report.cancelled,
        "skipped": report.skipped,
    }


@task()
def evaluate_date_alerts() -> int:
    """The daily job: evaluate date alerts for every record, and overdue alerts for every
    overdue visit (ops/schedule.py)."""
    return date_alerts_reevaluate_all() + overdue_alerts_evaluate_all()
