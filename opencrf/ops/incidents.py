"""The incident register: alerts open and update incidents; people record and close them.

An alert has a stable key (`backup_stale`, `disk_low`, …). `alert_raise` opens an incident for
the key, or, while one is open, counts the repeat on it: one incident per problem, however often
the check fires. `alert_clear` resolves the key's open incident once the check passes again.
Whether to send an e-mail is the caller's decision, from the returned `AlertOutcome`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import InvalidInput
from opencrf.ops.models import Incident, IncidentLevel, IncidentStatus


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    incident: Incident
    opened: bool  # a new incident
    escalated: bool  # an open incident whose level rose


def alert_raise(
    *, key: str, level: int, title: str, detail: str = "", now: datetime | None = None
) -> AlertOutcome:
    """Open the incident for `key`, or record a repeat on the open one (raising its level)."""
    now = now or timezone.now()
    for _attempt in range(2):  # a concurrent opener wins the unique constraint; then update
        with transaction.atomic():
            open_incident = (
                Incident.objects.select_for_update()
                .filter(key=key, status=IncidentStatus.OPEN)
                .first()
            )
            if open_incident is None:
                try:
                    with transaction.atomic():
                        created = Incident.objects.create(
                            key=key,
                            automatic=True,
                            level=level,
                            title=title,
                            detail=detail,
                            started_at=now,
                            last_seen_at=now,
                        )
                except IntegrityError:
                    continue
                return AlertOutcome(created, opened=True, escalated=False)
            escalated = level > open_incident.level
            open_incident.occurrences += 1
            open_incident.last_seen_at = now
            open_incident.level = max(level, open_incident.level)
            if detail:
                open_incident.detail = detail
            open_incident.save(update_fields=["occurrences", "last_seen_at", "level", "detail"])
            return AlertOutcome(open_incident, opened=False, escalated=escalated)
    raise RuntimeError(f"could not open or update the incident for alert {key}")


def alert_clear(*, key: str, now: datetime | None = None) -> Incident | None:
    """Resolve the open incident of `key`, if any (the condition has passed)."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update().filter(key=key, status=IncidentStatus.OPEN).first()
        )
        if incident is None:
            return None
        incident.status = IncidentStatus.RESOLVED
        incident.ended_at = now
        incident.save(update_fields=["status", "ended_at"])
        return incident


def incident_mark_notified(incident: Incident, *, now: datetime | None = None) -> None:
    Incident.objects.filter(pk=incident.pk).update(notified_at=now or timezone.now())


def _checked_level(level: int) -> int:
    if level not in IncidentLevel.values:
        raise InvalidInput(
            _("The incident level must be 1, 2, 3 or 4, not %(level)s.") % {"level": level}
        )
    return level


def incident_record(
    *,
    actor: User,
    title: str,
    level: int,
    started_at: datetime,
    ended_at: datetime | None = None,
    impact: str = "",
    actions: str = "",
    detail: str = "",
) -> Incident:
    """A person records an incident (found by hand, or one the alerts cannot see)."""
    title = title.strip()
    if not title:
        raise InvalidInput(_("An incident needs a title."))
    if ended_at is not None and ended_at < started_at:
        raise InvalidInput(_("An incident cannot end before it starts."))
    return Incident.objects.create(
        title=title,
        level=_checked_level(level),
        started_at=started_at,
        last_seen_at=started_at,
        ended_at=ended_at,
        status=IncidentStatus.RESOLVED if ended_at else IncidentStatus.OPEN,
        impact=impact,
        actions=actions,
        detail=detail,
        created_by=actor,
    )


def incident_update(
    incident: Incident,
    *,
    level: int | None = None,
    impact: str | None = None,
    actions: str | None = None,
    resolve_at: datetime | None = None,
) -> Incident:
    """Record the impact and actions; change the level; resolve it at `resolve_at`."""
    if level is not None:
        incident.level = _checked_level(level)
    if impact is not None:
        incident.impact = impact
    if actions is not None:
        incident.actions = actions
    if resolve_at is not None:
        if resolve_at < incident.started_at:
            raise InvalidInput(_("An incident cannot end before it starts."))
        incident.status = IncidentStatus.RESOLVED
        incident.ended_at = resolve_at
    incident.save()
    return incident
