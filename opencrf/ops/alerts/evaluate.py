"""Run the rules and act on them: raise or clear the incident, and e-mail when it matters."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone, translation

from opencrf.ops.alerts.notify import Notice, reminder_due, send_notice
from opencrf.ops.alerts.rules import ALERTS, Alert, Firing
from opencrf.ops.incidents import alert_clear, alert_raise
from opencrf.ops.models import IncidentLevel

logger = logging.getLogger(__name__)


def alert_apply(alert: Alert, firing: Firing | None, *, now: datetime) -> str:
    """Open, update or resolve the alert's incident; returns what happened, for the job log.

    `opened`, `escalated`, `reminded` and `cleared` sent e-mail; `firing` (a repeat within a
    day of the last notice) and `ok` did not.
    """
    if firing is None:
        resolved = alert_clear(key=alert.key, now=now)
        if resolved is None:
            return "ok"
        send_notice(Notice.RESOLVED, alert, resolved, now=now)
        return "cleared"
    with translation.override(settings.LANGUAGE_CODE):  # the register speaks the site language
        title, detail = str(alert.title), str(alert.detail) % firing.params
    outcome = alert_raise(key=alert.key, level=firing.level, title=title, detail=detail, now=now)
    if outcome.opened:
        notice, state = Notice.OPENED, "opened"
    elif outcome.escalated:
        notice, state = Notice.ESCALATED, "escalated"
    elif reminder_due(outcome.incident, now):
        notice, state = Notice.REMINDER, "reminded"
    else:
        return "firing"
    send_notice(notice, alert, outcome.incident, firing, now=now)
    return state


def alert_evaluate(key: str, *, now: datetime | None = None) -> str:
    now = now or timezone.now()
    alert = ALERTS[key]
    if alert.rule is None:
        raise ValueError(f"the alert {key} has no rule of its own")
    return alert_apply(alert, alert.rule(now), now=now)


def alerts_evaluate(*, now: datetime | None = None) -> dict[str, str]:
    """Every rule once; one that fails is logged and reported as `error`, the rest still run."""
    now = now or timezone.now()
    states = {}
    for key, alert in ALERTS.items():
        if alert.rule is None:
            continue
        try:
            states[key] = alert_evaluate(key, now=now)
        except Exception:
            logger.exception("The alert rule %s failed", key)
            states[key] = "error"
    return states


def audit_chains_evaluate(*, now: datetime | None = None) -> str:
    """Verify every audit chain; `audit_chain_broken` names the projects whose chain fails."""
    from opencrf.audit.verify import verify_all

    now = now or timezone.now()
    broken = [report.project_id for report in verify_all() if not report.ok]
    firing = None
    if broken:
        firing = Firing(
            IncidentLevel.SECURITY, {"projects": ", ".join(str(project) for project in broken)}
        )
    return alert_apply(ALERTS["audit_chain_broken"], firing, now=now)
