"""The notification log: what each alert scheduled, sent, failed to send or cancelled; resend.

A member of a data access group sees the notifications of their group's records only.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opencrf.alerts.evaluation import (
    ALERT_DELETED,
    CANCELLED_BY_USER,
    INTERRUPTED,
    LOGIC_FALSE,
    RECORD_DELETED,
    notification_entry,
)
from opencrf.alerts.jobs import TOO_LARGE
from opencrf.alerts.models import Notification
from opencrf.alerts.overdue import VISIT_NOT_OVERDUE
from opencrf.alerts.recipients import NO_ADDRESS, NOT_MEMBER, OTHER_GROUP
from opencrf.alerts.services import require_alerts_right
from opencrf.audit.services import AuditContext, audit_events_create
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.projects.models import Project
from opencrf.projects.rights import Rights

REASONS = {
    LOGIC_FALSE: gettext_lazy("The alert's condition is no longer true."),
    ALERT_DELETED: gettext_lazy("The alert was deleted."),
    RECORD_DELETED: gettext_lazy("The record was deleted."),
    VISIT_NOT_OVERDUE: gettext_lazy("The visit is no longer overdue (done or moved)."),
    CANCELLED_BY_USER: gettext_lazy("Cancelled by a user."),
    INTERRUPTED: gettext_lazy(
        "Sending was interrupted; the message may or may not have been delivered."
    ),
    OTHER_GROUP: gettext_lazy(
        "Left out: the user is in another data access group than the record."
    ),
    NO_ADDRESS: gettext_lazy("Left out: no valid e-mail address."),
    NOT_MEMBER: gettext_lazy("Left out: the user's account is not active."),
    TOO_LARGE: gettext_lazy("Not attached: the file is too large."),
}
RESENDABLE = (
    Notification.Status.SENT,
    Notification.Status.FAILED,
    Notification.Status.SUPPRESSED,
)


def reason_text(code: str) -> str:
    """A reason code translated, or the mail server's own words."""
    reason = REASONS.get(code)
    return str(reason) if reason is not None else code


def notifications_visible(rights: Rights, project: Project) -> QuerySet[Notification]:
    rows = Notification.objects.filter(project=project).select_related("event", "alert")
    if rights.group_id is not None:
        rows = rows.filter(group_id=rights.group_id)
    return rows


def _for_update(context: AuditContext, project: Project, pk: int) -> Notification:
    rights = require_alerts_right(context, project)
    rows = notifications_visible(rights, project).select_related("record", "event")
    found = rows.select_for_update(of=("self",)).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No such notification."))
    return found


@transaction.atomic
def notification_resend(
    *, context: AuditContext, project: Project, notification_id: int
) -> Notification:
    """A new notification, sent at the next run, with the texts and addresses of one tried."""
    old = _for_update(context, project, notification_id)
    if old.status not in RESENDABLE:
        raise InvalidInput(_("Only a sent or failed notification can be sent again."))
    addressed = [
        {**r, "status": "", "error": ""}
        for r in old.recipients
        if r.get("status") or not r.get("error")
    ]
    if not addressed:
        raise InvalidInput(_("This notification had no recipient to send it to again."))
    new = Notification.objects.create(
        project=project,
        alert=old.alert,
        alert_title=old.alert_title,
        record=old.record,
        record_name=old.record_name,
        group=old.group,
        event=old.event,
        instance=old.instance,
        send_at=timezone.now(),
        recipients=addressed,
        texts=old.texts,
        resend_of=old,
        created_by=context.actor,
    )
    entry = notification_entry(new, "alert.notification.resend", f"resend of {old.pk}")
    audit_events_create(context=context, project_id=project.pk, entries=[entry])
    return new


@transaction.atomic
def notification_cancel(
    *, context: AuditContext, project: Project, notification_id: int
) -> Notification:
    """Cancel a notification that no worker has begun to send."""
    row = _for_update(context, project, notification_id)
    if row.status != Notification.Status.SCHEDULED or row.claimed_at is not None:
        raise InvalidInput(_("Only a notification waiting to be sent can be cancelled."))
    entry = notification_entry(row, "alert.notification.cancelled", "by a user")
    row.status, row.error = Notification.Status.CANCELLED, CANCELLED_BY_USER
    row.save(update_fields=["status", "error"])
    audit_events_create(context=context, project_id=project.pk, entries=[entry])
    return row
