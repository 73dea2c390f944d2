"""The "a visit is overdue" trigger, evaluated by the daily date job (`jobs.evaluate_date_alerts`).

Alerts may not import scheduling (sibling layers); the overdue visits come through
`records.visit_sources`, where scheduling registers its selector. A project without scheduling
has no overdue visit, so its overdue alerts never fire.

For each enabled overdue alert and each overdue visit it matches — its event (or any), its
group (an alert of a data access group sees only that group's records), at least
`overdue_days` days past the window end, the condition if any holding at the visit's event —
the notification and its repeats are scheduled once per record and event: `AlertState` keeps
the window end the alert fired for, so the next days' runs skip the visit, and a visit moved to a
new window that runs out again fires again. Visits whose firing day came before the alert was
made are left alone (a new alert does not mail every visit missed in years). Whether the visit
is still overdue is checked again when the notification is sent (`jobs.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from opencrf.alerts.evaluation import (
    CompiledAlert,
    Evaluator,
    compiled_alerts,
    records_data,
    schedule_rows,
    scheduled_entry,
)
from opencrf.alerts.models import Alert, AlertState, Notification, Trigger
from opencrf.audit.services import AuditContext, AuditEntry, audit_events_create
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.projects.models import Project
from opencrf.records.auditing import record_target
from opencrf.records.hooks import FormKey
from opencrf.records.models import Record
from opencrf.records.visit_sources import OverdueVisit, overdue_visits

VISIT_NOT_OVERDUE = "[visit-not-overdue]"

_Pair = tuple[CompiledAlert, OverdueVisit]


def overdue_alerts_evaluate_all(today: date | None = None) -> int:
    """Every project's enabled overdue alerts on `today`; returns notifications scheduled."""
    today = today or timezone.localdate()
    alerts = Alert.objects.filter(active=True, trigger=Trigger.OVERDUE)
    projects = Project.objects.filter(pk__in=alerts.values("project_id")).order_by("pk")
    return sum(overdue_alerts_evaluate(project, today) for project in projects)


def overdue_alerts_evaluate(project: Project, today: date) -> int:
    alerts = [
        c for c in compiled_alerts(project) if c.alert.trigger == Trigger.OVERDUE and not c.broken
    ]
    if not alerts:
        return 0
    by_record: dict[int, list[_Pair]] = {}
    for visit in overdue_visits(project, today):
        for compiled in alerts:
            if matches(compiled.alert, visit):
                by_record.setdefault(visit.record_key, []).append((compiled, visit))
    design = design_of(project)
    return sum(
        _fire_record(project, design, record_key, pairs)
        for record_key, pairs in sorted(by_record.items())
    )


def matches(alert: Alert, visit: OverdueVisit) -> bool:
    """Whether `alert` fires for `visit` (not yet asking whether it already did)."""
    if alert.group_id is not None and alert.group_id != visit.group_id:
        return False
    if alert.event_id is not None and alert.event_id != visit.event_id:
        return False
    fires_on = visit.window_end + timedelta(days=alert.overdue_days)
    made_on = timezone.localdate(alert.created_at)
    return visit.days_overdue >= alert.overdue_days and fires_on >= made_on


@transaction.atomic
def _fire_record(
    project: Project, design: ProjectDesign, record_key: int, pairs: Sequence[_Pair]
) -> int:
    """Schedule what `pairs` ask for one record, under a lock of its row (two runs at once
    cannot both fire)."""
    record = Record.objects.select_for_update().filter(project=project, pk=record_key).first()
    if record is None:
        return 0
    alert_ids = {compiled.alert.pk for compiled, _visit in pairs}
    live = set(Alert.objects.filter(pk__in=alert_ids, active=True).values_list("pk", flat=True))
    states = {
        (s.alert_id, s.event_id): s
        for s in AlertState.objects.filter(alert_id__in=alert_ids, record=record, instance=1)
    }
    data = records_data(project, [record_key])[record_key]
    events = {event.pk: event for event in design.events}
    now = timezone.now()
    rows: list[Notification] = []
    entries: list[AuditEntry] = []
    for compiled, visit in pairs:
        alert, ended = compiled.alert, visit.window_end.isoformat()
        state = states.get((alert.pk, visit.event_id))
        if alert.pk not in live or (state is not None and state.date == ended):
            continue
        key = FormKey(record_key, visit.event_id, alert.form_name, 1)
        if not Evaluator(design, data, key).holds(compiled):
            continue
        _keep_fired(alert, record, visit.event_id, ended, state)
        fired = schedule_rows(alert, record, key, now + timedelta(minutes=alert.delay_minutes))
        rows += fired
        target = record_target(record, events.get(visit.event_id), "", 1)
        entries.append(scheduled_entry(alert, target, fired))
    Notification.objects.bulk_create(rows)
    audit_events_create(context=AuditContext.system(), project_id=project.pk, entries=entries)
    return len(rows)


def _keep_fired(
    alert: Alert, record: Record, event_id: int, ended: str, state: AlertState | None
) -> None:
    if state is None:
        AlertState.objects.create(
            alert=alert, record=record, event_id=event_id, instance=1, true=True, date=ended
        )
    else:
        AlertState.objects.filter(pk=state.pk).update(true=True, date=ended)


def still_overdue(project: Project, today: date) -> set[tuple[int, int]]:
    """(record key, event id) of the project's visits overdue on `today`."""
    return {(visit.record_key, visit.event_id) for visit in overdue_visits(project, today)}
