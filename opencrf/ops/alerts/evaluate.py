"""Run the rules and act on them: raise or clear the incident, and e-mail when it matters."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone, translation

from opencrf.audit.anchors import Checkpoint
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
    """Verify every audit chain against itself and the signed checkpoints (the files and every
    kept backup's), then sign a checkpoint that carries the result; `audit_chain_broken` names
    the chains that fail."""
    from opencrf.audit.anchors import checkpoint_make, checkpoint_write
    from opencrf.audit.verify import verify_anchored
    from opencrf.ops.backups.audit_anchor import trail_anchors

    now = now or timezone.now()
    anchors = trail_anchors()
    _log_unread(anchors.unread)
    result = verify_anchored(anchors.checkpoints, refused=anchors.refused, now=now)
    broken = [str(report.project_id) for report in result.chains if not report.ok]
    if result.refused:
        broken.append("checkpoints")
    if result.problems:
        broken.append("anchoring")
    problems = len(broken)
    verification = {"ok": not problems, "problems": problems}
    checkpoint_write(checkpoint_make(reason="daily verification", verification=verification))
    return _audit_alert(broken, now)


def audit_checkpoint_evaluate(*, now: datetime | None = None) -> str:
    """Hourly: compare the heads with the newest checkpoint (no walk), then sign new ones.

    With no checkpoint file left, every kept backup's signed checkpoint is compared instead,
    and the files' vanishing is itself a fault. A chain that got shorter or whose anchored entry
    changed raises `audit_chain_broken` at once; only the daily full verification clears it.
    Old checkpoints are pruned only while nothing is wrong, so that the evidence of a fault is
    never pruned away.
    """
    from opencrf.audit.anchors import (
        checkpoint_make,
        checkpoint_write,
        checkpoints_prune,
        checkpoints_read,
    )

    now = now or timezone.now()
    stored = checkpoints_read()
    in_force = stored.in_force()
    # No checkpoint left although a backup holds a signed one: the files were removed.
    vanished = _backup_anchors() if not in_force else []
    found = _heads_compared(in_force[-1:] or vanished)
    checkpoint_write(checkpoint_make(reason="hourly"))
    broken = [str(chain) for chain, _reason in found]
    broken += ["checkpoints"] if stored.refused or vanished else []
    if broken:
        for chain, reason in found:
            logger.error("Audit chain %s: %s", chain, reason)
        return _audit_alert(broken, now)
    checkpoints_prune(now=now)
    return "ok"


def _heads_compared(checkpoints: list[Checkpoint]) -> list[tuple[int, str]]:
    """Each chain shorter or rewritten against any of `checkpoints`, once, in chain order."""
    from opencrf.audit.verify import heads_compare

    found: dict[int, str] = {}
    for checkpoint in checkpoints:
        for chain, reason in heads_compare(checkpoint):
            found.setdefault(chain, reason)
    return sorted(found.items())


def _backup_anchors() -> list[Checkpoint]:
    """The signed checkpoints of every kept backup (there is no restart left to start from)."""
    from opencrf.ops.backups.audit_anchor import kept_backup_checkpoints

    kept = kept_backup_checkpoints()
    _log_unread(kept.unread)
    for reason in kept.refused:
        logger.error("A backup's audit checkpoint is refused: %s", reason)
    return kept.checkpoints


def _log_unread(unread: list[str]) -> None:
    for reason in unread:
        logger.warning("Not compared with the audit trail: %s", reason)


def _audit_alert(broken: list[str], now: datetime) -> str:
    firing = None
    if broken:
        firing = Firing(IncidentLevel.SECURITY, {"projects": ", ".join(broken)})
    return alert_apply(ALERTS["audit_chain_broken"], firing, now=now)
