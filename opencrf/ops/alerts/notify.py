"""Alert e-mails to the administrators, each in the recipient's language, in plain text.

Who: every active superuser with an e-mail address, and the addresses in
OPENCRF_ALERT_EMAILS (written in the site language). When: an incident opens or its level
rises; again while it stays open, 24 hours after the last notice; once when it resolves.
Messages leave after the surrounding transaction commits, as in opencrf/accounts/mail.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from opencrf.accounts.mail import mail_language, one_line
from opencrf.accounts.models import User
from opencrf.ops.alerts.rules import Alert, Firing
from opencrf.ops.incidents import incident_mark_notified
from opencrf.ops.models import Incident, IncidentLevel

logger = logging.getLogger(__name__)

REMIND_AFTER = timedelta(hours=24)
RUNBOOK = "docs/operations/runbook.md#"


class Notice(Enum):
    OPENED = "opened"
    ESCALATED = "escalated"
    REMINDER = "reminder"
    RESOLVED = "resolved"


def recipients() -> dict[str, str]:
    """E-mail address → language: the administrators, then the extra alert addresses."""
    found: dict[str, str] = {}
    admins = User.objects.filter(is_superuser=True, is_active=True).exclude(email="")
    for admin in admins.order_by("username"):
        found.setdefault(admin.email, mail_language(admin.language))
    for address in settings.OPENCRF_ALERT_EMAILS:
        found.setdefault(address, settings.LANGUAGE_CODE)
    return found


def reminder_due(incident: Incident, now: datetime) -> bool:
    return incident.notified_at is None or now - incident.notified_at >= REMIND_AFTER


def _subject(notice: Notice, level: int, title: str) -> str:
    headline: dict[Notice, Callable[[], str]] = {
        Notice.OPENED: lambda: title,
        Notice.ESCALATED: lambda: _("Escalated: %(title)s") % {"title": title},
        Notice.REMINDER: lambda: _("Still open: %(title)s") % {"title": title},
        Notice.RESOLVED: lambda: _("Resolved: %(title)s") % {"title": title},
    }
    return "[OpenCRF] " + _("Level %(level)s: %(headline)s") % {
        "level": level,
        "headline": headline[notice](),
    }


def _body(notice: Notice, alert: Alert, incident: Incident, firing: Firing | None) -> str:
    what = str(alert.detail) % firing.params if firing else incident.detail
    lines = [
        str(IncidentLevel(incident.level).label),
        "",
        _("What happened: %(what)s") % {"what": what},
        _("Since: %(when)s") % {"when": _local(incident.started_at)},
    ]
    if notice is Notice.RESOLVED:
        lines.append(_("Resolved: %(when)s") % {"when": _local(incident.ended_at)})
        lines.append(_("The check passes again; record the cause and actions in the register."))
    else:
        lines.append(_("What to do: %(todo)s") % {"todo": alert.todo})
    lines += [
        _("Runbook: %(link)s") % {"link": RUNBOOK + alert.key},
        _("Alert: %(key)s, incident %(number)s") % {"key": alert.key, "number": incident.pk},
    ]
    return "\n".join(lines) + "\n\n-- \nOpenCRF\n" + settings.OPENCRF_SITE_URL + "\n"


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def send_notice(
    notice: Notice,
    alert: Alert,
    incident: Incident,
    firing: Firing | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """E-mail everyone concerned; returns how many messages were queued."""
    sent = 0
    for address, language in recipients().items():
        with translation.override(language):
            subject = _subject(notice, incident.level, str(alert.title))
            body = _body(notice, alert, incident, firing)
        message = EmailMessage(
            subject=one_line(subject),
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
        )
        transaction.on_commit(lambda message=message: _deliver(message))  # type: ignore[misc]
        sent += 1
    incident_mark_notified(incident, now=now)
    return sent


def _deliver(message: EmailMessage) -> None:
    try:
        message.send()
    except Exception:
        # The incident stays in the register; the next reminder tries again.
        logger.exception("Could not send the alert e-mail to %s", ", ".join(message.to))
