"""Deciding when alerts fire: after each committed form save, and for dates, from a job.

`forms_saved` is registered with records' post-commit hook (`records.hooks`): every write path
(the web form, the API, imports, surveys) announces the form instances it wrote. For each one,
the project's enabled alerts whose form and event match are evaluated against the record's
data, with their logic parsed once per design version (`compiled_alerts`; saving an alert
raises the version). A project without alerts costs one query per design version, not per
save.

What an evaluation decides, for one alert and one form instance (`AlertState` keeps the last
answer):

- save trigger: the condition (none: always true) holds and either it did not hold before
  ("became true") or the alert fires on every save → the notification and its repeats are
  scheduled ("alert.notification.scheduled");
- date trigger: the date logic gives a date (today or later) and the condition holds → the
  notification is scheduled for that date plus the delay; a changed date moves it;
- the condition no longer holds (or the date is gone) and the alert cancels → what is still
  waiting for that form instance is cancelled ("alert.notification.cancelled").

An alert of a data access group (`Alert.group`) is evaluated only for that group's records.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from opencrf.alerts.models import Alert, AlertState, FireMode, Notification, RepeatUnit, Trigger
from opencrf.audit.services import AuditContext, AuditEntry, AuditTarget, audit_events_create
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.form_logic import clock, record_data
from opencrf.logic import LogicError, Node, Session, parse_shared
from opencrf.projects.models import Event, Project
from opencrf.records.auditing import record_target
from opencrf.records.hooks import FormKey
from opencrf.records.models import FormData, Record

logger = logging.getLogger(__name__)

# Why a waiting notification was cancelled without a user doing it (kept in `error`).
LOGIC_FALSE = "[logic-false]"
ALERT_DELETED = "[alert-deleted]"
RECORD_DELETED = "[record-deleted]"
CANCELLED_BY_USER = "[cancelled]"
INTERRUPTED = "[interrupted]"
UNITS = {
    RepeatUnit.MINUTES: timedelta(minutes=1),
    RepeatUnit.HOURS: timedelta(hours=1),
    RepeatUnit.DAYS: timedelta(days=1),
}
MAX_PROJECTS = 256


@dataclass(frozen=True)
class CompiledAlert:
    """An enabled alert with its logic parsed: None for no condition (always true)."""

    alert: Alert
    condition: Node | None
    date: Node | None
    broken: bool = False  # logic that no longer parses: never fires

    def applies_to(self, key: FormKey, group_id: int | None) -> bool:
        alert = self.alert
        if alert.group_id is not None and alert.group_id != group_id:
            return False
        if alert.form_name and alert.form_name != key.form_name:
            return False
        return alert.event_id is None or alert.event_id == key.event_id


def _parsed(text: str) -> tuple[Node | None, bool]:
    if not text.strip():
        return None, False
    try:
        return parse_shared(text), False
    except LogicError:
        return None, True


def compile_alert(alert: Alert) -> CompiledAlert:
    condition, bad_condition = _parsed(alert.condition_logic)
    date_ast, bad_date = (
        _parsed(alert.date_logic) if alert.trigger == Trigger.DATE else (None, False)
    )
    broken = bad_condition or bad_date or (alert.trigger == Trigger.DATE and date_ast is None)
    return CompiledAlert(alert, condition, date_ast, broken)


_Key = tuple[int, datetime, int]
_compiled: dict[_Key, tuple[CompiledAlert, ...]] = {}
_lock = threading.Lock()


def compiled_alerts(project: Project) -> tuple[CompiledAlert, ...]:
    """The project's enabled alerts, parsed once per design version in each process."""
    key = (project.pk, project.created_at, project.design_version)
    with _lock:
        found = _compiled.get(key)
    if found is not None:
        return found
    rows = Alert.objects.filter(project=project, active=True).select_related("event")
    found = tuple(compile_alert(alert) for alert in rows)
    if _reads_are_committed():
        with _lock:
            if len(_compiled) >= MAX_PROJECTS:
                _compiled.clear()
            _compiled[key] = found
    return found


def _reads_are_committed() -> bool:
    """Whether no transaction of ours is open (a test case's own does not count)."""
    return all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def forget_compiled_alerts() -> None:
    with _lock:
        _compiled.clear()


# --- The record's data ---------------------------------------------------------------------


@dataclass
class RecordData:
    """One record's forms, read once for every alert evaluated on it."""

    record: Record
    forms: list[FormData] = field(default_factory=list)

    def values_at(self, design: ProjectDesign, event_id: int, instance: int) -> dict[str, str]:
        """The values logic and piping see at an event's instance: its non-repeating forms and
        the instance's own forms, with the record id and each form's status."""
        here = [form for form in self.forms if form.event_id == event_id]
        own = [form for form in here if form.instance == instance]
        names = {form.form_name for form in own}
        # Another instance of a repeating form is another event of the record's life: skipped.
        others = [f for f in here if f.instance == 1 and f.form_name not in names]
        values = {design.record_id_field: self.record.record_id}
        for form in [*others, *own]:
            values.update(form.values)
            values[f"{form.form_name}_complete"] = str(form.status)
        return values

    def data(self, design: ProjectDesign) -> dict[str, dict[str, dict[str, str]]]:
        names = {event.pk: event.unique_name for event in design.events}
        return record_data(
            (names[f.event_id], f.instance, {**f.values, f"{f.form_name}_complete": str(f.status)})
            for f in self.forms
            if f.event_id in names
        )


def records_data(project: Project, record_ids: Collection[int]) -> dict[int, RecordData]:
    records = Record.objects.filter(project=project, pk__in=record_ids).select_related("group")
    found = {record.pk: RecordData(record) for record in records}
    forms = FormData.objects.filter(project=project, record__in=list(found)).order_by(
        "event_id", "form_name", "instance"
    )
    for form in forms:
        found[form.record_id].forms.append(form)
    return found


class Evaluator:
    """Evaluates alerts' logic for one record's form instance (one logic session each)."""

    def __init__(self, design: ProjectDesign, data: RecordData, key: FormKey) -> None:
        events = {event.pk: event for event in design.events}
        event = events.get(key.event_id)
        arm_events = design.events_of_arm(event.arm_id) if event else []
        context: dict[str, Any] = {
            "record": data.record.record_id,
            "event": event.unique_name if event else "",
            "events": [e.unique_name for e in arm_events],
            "instance": key.instance,
            "project_id": data.record.project_id,
            "dag": data.record.group.unique_name if data.record.group else "",
            "data": data.data(design),
            **clock(),
        }
        self.session = Session(data.values_at(design, key.event_id, key.instance), context)

    def holds(self, compiled: CompiledAlert) -> bool:
        """The condition; logic that fails to evaluate is false (nothing is sent on an error)."""
        if compiled.broken:
            return False
        if compiled.condition is None:
            return True
        try:
            return bool(self.session.evaluate(compiled.condition, "logic"))
        except LogicError:
            return False

    def date(self, compiled: CompiledAlert) -> str:
        """The date the date logic gives, as `YYYY-MM-DD` or `YYYY-MM-DD HH:MM`; "" if none."""
        if compiled.date is None:
            return ""
        try:
            text = str(self.session.evaluate(compiled.date, "text")).strip()
        except LogicError:
            return ""
        return text if parse_moment(text) is not None else ""


def parse_moment(text: str) -> datetime | None:
    """A date or date-time of logic's output as an aware local time (a date: its midnight)."""
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, pattern)  # noqa: DTZ007 - made aware below
        except ValueError:
            continue
        return timezone.make_aware(moment)
    return None


# --- Deciding ------------------------------------------------------------------------------


def forms_saved(project: Project, keys: Collection[FormKey]) -> None:
    """The records hook: evaluate the project's alerts for the form instances just written
    (an overdue visit is noticed by the daily job, not by a save)."""
    alerts = [c for c in compiled_alerts(project) if c.alert.trigger != Trigger.OVERDUE]
    if alerts:
        alerts_evaluate(project, alerts, keys)


@dataclass
class _Decision:
    compiled: CompiledAlert
    key: FormKey
    true: bool
    date: str = ""
    fire_at: datetime | None = None
    cancel: bool = False


def alerts_evaluate(
    project: Project, alerts: Collection[CompiledAlert], keys: Collection[FormKey]
) -> int:
    """Evaluate `alerts` for the written form instances `keys`; returns notifications
    scheduled. Each record is decided under a lock of its row, so two saves of one record at
    once cannot both see "became true"."""
    by_record: dict[int, list[FormKey]] = {}
    for key in keys:
        by_record.setdefault(key.record_id, []).append(key)
    design = design_of(project)
    scheduled = 0
    for record_id, record_keys in sorted(by_record.items()):
        scheduled += _evaluate_record(project, design, alerts, record_id, record_keys)
    return scheduled


@transaction.atomic
def _evaluate_record(
    project: Project,
    design: ProjectDesign,
    alerts: Collection[CompiledAlert],
    record_id: int,
    keys: list[FormKey],
) -> int:
    record = Record.objects.select_for_update().filter(project=project, pk=record_id).first()
    if record is None:
        return 0
    pairs = [(c, k) for k in keys for c in alerts if c.applies_to(k, record.group_id)]
    if not pairs:
        return 0
    data = records_data(project, [record_id])[record_id]
    states = _states([c.alert.pk for c, _k in pairs], record_id)
    evaluators: dict[FormKey, Evaluator] = {}
    now = timezone.now()
    decisions = []
    for compiled, key in pairs:
        evaluator = evaluators.get(key) or evaluators.setdefault(key, Evaluator(design, data, key))
        state = states.get((compiled.alert.pk, key.event_id, key.instance))
        decision = _decide(compiled, key, evaluator, state, now)
        if decision is not None:
            decisions.append(decision)
    events = {event.pk: event for event in design.events}
    return _apply(project, data.record, decisions, states, events) if decisions else 0


def _states(alert_ids: Iterable[int], record_id: int) -> dict[tuple[int, int, int], AlertState]:
    rows = AlertState.objects.filter(alert_id__in=set(alert_ids), record_id=record_id)
    return {(s.alert_id, s.event_id, s.instance): s for s in rows}


def _decide(
    compiled: CompiledAlert,
    key: FormKey,
    evaluator: Evaluator,
    state: AlertState | None,
    now: datetime,
) -> _Decision | None:
    """What one alert asks for one form instance; None when nothing changes."""
    alert = compiled.alert
    was_true, was_date = (state.true, state.date) if state else (False, "")
    true = evaluator.holds(compiled)
    if alert.trigger == Trigger.DATE:
        day = evaluator.date(compiled) if true else ""
        if day == was_date and true == was_true:
            return None
        decision = _Decision(compiled, key, true, day, cancel=bool(was_date))
        moment = parse_moment(day) if day else None
        if moment is not None and moment.date() >= timezone.localdate(now):
            decision.fire_at = moment + timedelta(minutes=alert.delay_minutes)
        return decision
    fire = true and (alert.fire_mode == FireMode.EVERY_SAVE or not was_true)
    cancel = was_true and not true and alert.cancel_when_false
    if not fire and not cancel and true == was_true:
        return None
    fire_at = now + timedelta(minutes=alert.delay_minutes) if fire else None
    return _Decision(compiled, key, true, fire_at=fire_at, cancel=cancel)


def _apply(
    project: Project,
    record: Record,
    decisions: list[_Decision],
    states: Mapping[tuple[int, int, int], AlertState],
    events: Mapping[int, Event],
) -> int:
    # An alert disabled or deleted since this process compiled it decides nothing.
    wanted = {decision.compiled.alert.pk for decision in decisions}
    live = set(Alert.objects.filter(pk__in=wanted, active=True).values_list("pk", flat=True))
    decisions = [decision for decision in decisions if decision.compiled.alert.pk in live]
    if not decisions:
        return 0
    context = AuditContext.system()
    entries: list[AuditEntry] = []
    new_rows: list[Notification] = []
    new_states = [s for d in decisions if (s := _keep_state(d, record, states)) is not None]
    AlertState.objects.bulk_create(new_states)
    for decision in decisions:
        alert, key = decision.compiled.alert, decision.key
        if decision.cancel:
            entries += _cancel_rows(
                _waiting(alert).filter(record=record, event_id=key.event_id, instance=key.instance),
                LOGIC_FALSE,
            )
        if decision.fire_at is not None:
            rows = schedule_rows(alert, record, key, decision.fire_at)
            new_rows += rows
            target = record_target(record, events.get(key.event_id), key.form_name, key.instance)
            entries.append(scheduled_entry(alert, target, rows))
    Notification.objects.bulk_create(new_rows)
    audit_events_create(context=context, project_id=project.pk, entries=entries)
    return len(new_rows)


def _keep_state(
    decision: _Decision, record: Record, states: Mapping[tuple[int, int, int], AlertState]
) -> AlertState | None:
    """Update the kept state, or return a new one to insert."""
    key = decision.key
    state = states.get((decision.compiled.alert.pk, key.event_id, key.instance))
    if state is None:
        return AlertState(
            alert=decision.compiled.alert,
            record=record,
            event_id=key.event_id,
            instance=key.instance,
            true=decision.true,
            date=decision.date,
        )
    if (state.true, state.date) != (decision.true, decision.date):
        AlertState.objects.filter(pk=state.pk).update(true=decision.true, date=decision.date)
    return None


def schedule_rows(
    alert: Alert, record: Record, key: FormKey, first: datetime
) -> list[Notification]:
    """The notification and its repeats, every `repeat_every` units, `repeat_max` times."""
    count = alert.repeat_max if alert.repeat_every else 0
    every = UNITS[RepeatUnit(alert.repeat_unit)] * alert.repeat_every
    return [
        Notification(
            project_id=alert.project_id,
            alert=alert,
            alert_title=alert.title,
            record=record,
            record_name=record.record_id,
            group_id=record.group_id,
            event_id=key.event_id,
            instance=key.instance,
            number=number,
            send_at=first + every * number,
        )
        for number in range(count + 1)
    ]


def scheduled_entry(alert: Alert, target: AuditTarget, rows: list[Notification]) -> AuditEntry:
    return AuditEntry(
        "alert.notification.scheduled",
        target,
        {"send_at": [None, rows[0].send_at.isoformat(timespec="minutes")]},
        details=f"alert {alert.pk}: {alert.title}; {len(rows)} notification(s)",
    )


def _waiting(alert: Alert) -> Any:
    """The alert's notifications still waiting: scheduled and not yet claimed by a worker."""
    return Notification.objects.filter(
        alert=alert, status=Notification.Status.SCHEDULED, claimed_at__isnull=True
    )


def _cancel_rows(rows: Any, reason: str) -> list[AuditEntry]:
    waiting = list(rows.select_for_update(of=("self",)).select_related("record", "event"))
    if not waiting:
        return []
    Notification.objects.filter(pk__in=[row.pk for row in waiting]).update(
        status=Notification.Status.CANCELLED, error=reason
    )
    return [notification_entry(row, "alert.notification.cancelled", reason) for row in waiting]


def notification_entry(row: Notification, action: str, details: str) -> AuditEntry:
    if row.record is not None:
        target = record_target(row.record, row.event, "", row.instance)
    else:
        target = record_target(Record(record_id=row.record_name, group_id=row.group_id))
    return AuditEntry(
        action,
        target,
        {"status": [row.status, Notification.Status.CANCELLED]}
        if action.endswith("cancelled")
        else {"send_at": [None, row.send_at.isoformat(timespec="minutes")]},
        details=f"notification {row.pk} of alert {row.alert_id}: {details}",
    )


def cancel_waiting(context: AuditContext, alert: Alert, *, reason: str) -> int:
    """Cancel every notification of `alert` still waiting (the alert is deleted)."""
    entries = _cancel_rows(_waiting(alert), reason)
    audit_events_create(context=context, project_id=alert.project_id, entries=entries)
    return len(entries)


def waiting_filter() -> Q:
    return Q(status=Notification.Status.SCHEDULED, claimed_at__isnull=True)


# --- The date job ------------------------------------------------------------------------------

CHUNK = 200


def date_alerts_reevaluate_all() -> int:
    """Evaluate every enabled date alert for every form instance it reads (the daily job):
    alerts made after the data were entered, and dates logic computes from `today`."""
    scheduled = 0
    projects = Project.objects.filter(
        pk__in=Alert.objects.filter(active=True, trigger=Trigger.DATE).values("project_id")
    )
    for project in projects:
        alerts = [c for c in compiled_alerts(project) if c.alert.trigger == Trigger.DATE]
        keys = [
            FormKey(record_id, event_id, form_name, instance)
            for record_id, event_id, form_name, instance in FormData.objects.filter(
                project=project
            ).values_list("record_id", "event_id", "form_name", "instance")
        ]
        for start in range(0, len(keys), CHUNK):
            scheduled += alerts_evaluate(project, alerts, keys[start : start + CHUNK])
    return scheduled
