"""Automated survey invitations (REDCap's ASI): invite a record when its logic becomes true.

An `AutoInvitation` of a survey at an event holds a condition, the record field with the
e-mail address, the message, a delay (days and minutes, then the next given time of day) and
reminders. It is evaluated

- after every committed save of a record's forms, from any source (the web form, the API,
  imports, surveys): records' write path announces the written records (`records.hooks`),
  and `forms_saved` evaluates the project's active automated invitations for them; a project
  without surveys costs nothing, one with surveys but no active ones a single query;
- once a day for every record (`auto_invitations_reevaluate_all`), for logic that reads
  dates (`datediff([enrol_date], 'today', 'd') >= 30`).

Decisions, each audited:
- true, never invited by it → the invitation and its reminders are scheduled
  ("survey.invitation.scheduled"): once per record and event, as REDCap sends once;
- true, no e-mail address in the record → a cancelled row naming the reason is logged
  ("survey.invitation.skipped"), once; a later evaluation finding an address schedules it;
- false while rows of it are still waiting → they are cancelled ("survey.invitation.cancelled");
  when the logic turns true again before anything was sent, it is scheduled again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, AuditEntry, AuditTarget, audit_events_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.form_logic import clock, record_data
from opencrf.logic import LogicError, check_syntax, evaluate
from opencrf.projects.models import Event, Project
from opencrf.projects.services import design_changed
from opencrf.records.hooks import FormKey
from opencrf.records.models import FormData, Record, RecordArm
from opencrf.records.services import acting_rights
from opencrf.surveys.invitations import (
    LOGIC_FALSE,
    Message,
    invitation_target,
    record_email,
)
from opencrf.surveys.models import AutoInvitation, Invitation, Survey, SurveyResponse
from opencrf.surveys.services import response_link

logger = logging.getLogger(__name__)

NO_EMAIL = "[no-email]"
CHUNK = 500
MAX_DELAY_DAYS = 3650
WAITING = Invitation.Status.SCHEDULED
# Rows that do not stop the invitation being scheduled (again): nothing was sent.
RETRYABLE = frozenset({LOGIC_FALSE, NO_EMAIL})

SETTINGS = (
    "active",
    "condition_logic",
    "email_field",
    "subject",
    "body",
    "delay_days",
    "delay_minutes",
    "send_time",
    "reminder_every_days",
    "reminder_count",
)


# --- Set-up ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoSettings:
    active: bool
    condition_logic: str
    email_field: str
    subject: str
    body: str
    delay_days: int = 0
    delay_minutes: int = 0
    send_time: time | None = None
    reminder_every_days: int = 0
    reminder_count: int = 0

    def problems(self, design: ProjectDesign) -> list[str]:
        message = Message(
            self.subject, self.body, None, self.reminder_every_days, self.reminder_count
        )
        found = message.problems()
        if not self.condition_logic.strip():
            found.append(_("Write the condition."))
        elif (error := check_syntax(self.condition_logic)) is not None:
            found.append(_("The condition is not valid logic: %(error)s") % {"error": error})
        if self.email_field not in {row.field_name for row in design.rows}:
            found.append(_("Choose the field that holds the e-mail address."))
        if not 0 <= self.delay_days <= MAX_DELAY_DAYS or not 0 <= self.delay_minutes < 24 * 60:
            found.append(_("The delay is out of range."))
        return found


def auto_invitation_of(survey: Survey, event: Event) -> AutoInvitation | None:
    return AutoInvitation.objects.filter(survey=survey, event=event).first()


@transaction.atomic
def auto_invitation_save(
    *, context: AuditContext, survey: Survey, event: Event, settings: AutoSettings
) -> AutoInvitation:
    """Create or change the automated invitation of a survey at an event (design right)."""
    project = survey.project
    if not acting_rights(context, project).design:
        raise PermissionDenied(_("You need the Project Design and Setup right."))
    if event.project_id != project.pk:
        raise InvalidInput(_("No such event."))
    design = design_of(project)
    problems = settings.problems(design)
    if not design.has_form(project, event, survey.form_name):
        problems.append(_("This event does not collect the survey's instrument."))
    if problems:
        raise InvalidInput(" ".join(problems))
    found = auto_invitation_of(survey, event)
    asi = found or AutoInvitation(project=project, survey=survey, event=event)
    changes = {}
    for name in SETTINGS:
        old, new = (getattr(found, name) if found else None), getattr(settings, name)
        if old != new:
            changes[name] = [_text(old), _text(new)]
        setattr(asi, name, new)
    if changes:
        asi.save()
        design_changed(project)  # processes read their kept automated invitations again
        audit_events_create(
            context=context,
            project_id=project.pk,
            entries=[
                AuditEntry(
                    "survey.auto_invitation.save",
                    invitation_event_target(survey, event),
                    changes,
                    details=f"automated invitation {asi.pk}",
                )
            ],
        )
    return asi


def invitation_event_target(survey: Survey, event: Event) -> AuditTarget:
    return AuditTarget(event=event.unique_name, instrument=survey.form_name)


def _text(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def send_time_of(asi: AutoInvitation, now: datetime) -> datetime:
    """When the invitation goes: after the delay, then at the next given time of day."""
    at = now + timedelta(days=asi.delay_days, minutes=asi.delay_minutes)
    if asi.send_time is None:
        return at
    local = timezone.localtime(at)
    moment = local.replace(
        hour=asi.send_time.hour, minute=asi.send_time.minute, second=0, microsecond=0
    )
    return moment if moment >= local else moment + timedelta(days=1)


# --- Evaluation --------------------------------------------------------------------------------


_Key = tuple[int, datetime, int]
_active: dict[_Key, tuple[AutoInvitation, ...]] = {}
_lock = threading.Lock()
MAX_PROJECTS = 256


def active_auto_invitations(project: Project) -> tuple[AutoInvitation, ...]:
    """The project's active automated invitations, kept by each process per design version
    (`auto_invitation_save` raises it), as `design_of` keeps designs: none and no query when
    surveys are off, no query either while the version is unchanged. An automated invitation
    removed meanwhile (its survey disabled) is checked again before anything is decided."""
    if not project.surveys_enabled:
        return ()
    key = (project.pk, project.created_at, project.design_version)
    with _lock:
        found = _active.get(key)
    if found is not None:
        return found
    found = tuple(
        AutoInvitation.objects.filter(project=project, active=True).select_related(
            "survey", "event", "project"
        )
    )
    if _reads_are_committed():
        with _lock:
            if len(_active) >= MAX_PROJECTS:
                _active.clear()
            _active[key] = found
    return found


def _reads_are_committed() -> bool:
    """Whether no transaction of ours is open (a test case's own does not count)."""
    return all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def forget_auto_invitations() -> None:
    with _lock:
        _active.clear()


def forms_saved(project: Project, keys: Collection[FormKey]) -> None:
    """The records hook: evaluate the automated invitations for the records just written."""
    asis = active_auto_invitations(project)
    if asis:
        records = sorted({key.record_id for key in keys})
        for start in range(0, len(records), CHUNK):
            auto_invitations_evaluate(project, asis, records[start : start + CHUNK])


def auto_invitations_reevaluate_all() -> int:
    """Evaluate every active automated invitation for every record (the daily job)."""
    decided = 0
    projects = Project.objects.filter(surveys_enabled=True, pk__in=_projects_with_active())
    for project in projects:
        asis = active_auto_invitations(project)
        ids = list(Record.objects.filter(project=project).values_list("pk", flat=True))
        for start in range(0, len(ids), CHUNK):
            decided += auto_invitations_evaluate(project, asis, ids[start : start + CHUNK])
    return decided


def _projects_with_active() -> Iterable[int]:
    return AutoInvitation.objects.filter(active=True).values_list("project_id", flat=True)


@dataclass
class _RecordState:
    record: Record
    arms: set[int]
    forms: list[FormData]


def auto_invitations_evaluate(
    project: Project, asis: Collection[AutoInvitation], record_ids: Collection[int]
) -> int:
    """Evaluate `asis` for the records `record_ids`; returns how many decisions were made."""
    design = design_of(project)
    states = _states(project, record_ids)
    rows = _rows_of(asis, record_ids)
    now, today = timezone.now(), clock()
    decided = 0
    for asi in asis:
        for state in states.values():
            if asi.event.arm_id not in state.arms:
                continue
            true = _holds(asi, state, design, today)
            email = record_email((f.values for f in state.forms), asi.email_field) if true else ""
            existing = rows.get((asi.pk, state.record.pk), [])
            if _needs_decision(true, email, existing):
                decided += _decide(asi, state, true, email, now)
    return decided


def _states(project: Project, record_ids: Collection[int]) -> dict[int, _RecordState]:
    records = Record.objects.filter(project=project, pk__in=record_ids).select_related("group")
    states = {r.pk: _RecordState(r, set(), []) for r in records}
    for record_pk, arm_id in RecordArm.objects.filter(record__in=states).values_list(
        "record_id", "arm_id"
    ):
        states[record_pk].arms.add(arm_id)
    for form in FormData.objects.filter(project=project, record__in=states).order_by(
        "event_id", "form_name", "instance"
    ):
        states[form.record_id].forms.append(form)
    return states


def _rows_of(
    asis: Collection[AutoInvitation], record_ids: Collection[int]
) -> dict[tuple[int, int], list[tuple[str, str, bool]]]:
    """(asi, record) → (status, error, waiting) of each row it made; waiting: not yet taken by
    a worker, or failed and waiting for its next try."""
    found: dict[tuple[int, int], list[tuple[str, str, bool]]] = {}
    rows = Invitation.objects.filter(automated__in=asis, response__record__in=record_ids)
    for asi_id, record_pk, status, error, sent_at, retry_at in rows.values_list(
        "automated_id", "response__record_id", "status", "error", "sent_at", "retry_at"
    ):
        waiting = (status == WAITING and sent_at is None) or retry_at is not None
        found.setdefault((asi_id, record_pk), []).append((status, error, waiting))
    return found


def _holds(
    asi: AutoInvitation, state: _RecordState, design: ProjectDesign, today: Mapping[str, str]
) -> bool:
    """The condition for the record at the invitation's event; logic that fails is false."""
    names = {event.pk: event.unique_name for event in design.events}
    tagged = [
        (f, {**f.values, f"{f.form_name}_complete": str(f.status)})
        for f in state.forms
        if f.event_id in names
    ]
    values = {design.record_id_field: state.record.record_id}
    for form, form_values in tagged:
        if form.event_id == asi.event_id and form.instance == 1:
            values.update(form_values)
    context = {
        "record": state.record.record_id,
        "event": asi.event.unique_name,
        "events": [e.unique_name for e in design.events_of_arm(asi.event.arm_id)],
        "instance": 1,
        "project_id": asi.project_id,
        "dag": state.record.group.unique_name if state.record.group else "",
        "data": record_data((names[f.event_id], f.instance, v) for f, v in tagged),
        **today,
    }
    try:
        return bool(evaluate(asi.condition_logic, values, mode="logic", **context))
    except LogicError:
        return False


def _needs_decision(true: bool, email: str, existing: list[tuple[str, str, bool]]) -> bool:
    """Whether the rows already made leave something to do (checked again under a lock)."""
    if not true:
        return any(waiting for _s, _e, waiting in existing)
    return _verdict([(status, error) for status, error, _c in existing], email) is not None


def _verdict(existing: list[tuple[str, str]], email: str) -> str | None:
    """What a true condition asks: None when the invitation was made already (or its skip
    noted), "" to schedule it, NO_EMAIL to note that the record has no address."""
    if any(
        status != Invitation.Status.CANCELLED or error not in RETRYABLE
        for status, error in existing
    ):
        return None
    if email:
        return ""
    if existing and existing[-1][1] == NO_EMAIL:
        return None
    return NO_EMAIL


@transaction.atomic
def _decide(asi: AutoInvitation, state: _RecordState, true: bool, email: str, now: datetime) -> int:
    """Schedule, skip or cancel for one record, with its response row locked against a
    concurrent evaluation of the same record."""
    if not AutoInvitation.objects.filter(pk=asi.pk, active=True).exists():
        return 0  # removed or turned off since this process read it
    response = response_link(survey=asi.survey, record=state.record, event=asi.event)
    SurveyResponse.objects.select_for_update().filter(pk=response.pk).first()
    response.record = state.record
    rows = Invitation.objects.filter(automated=asi, response=response).order_by("pk")
    context = AuditContext.system()
    if not true:
        return _cancel_waiting(context, asi, rows)
    if response.status == SurveyResponse.Status.COMPLETED:
        return 0
    verdict = _verdict(list(rows.values_list("status", "error")), email)
    if verdict is None:
        return 0
    if verdict == NO_EMAIL:
        return _skip(context, asi, response, now)
    return _schedule(context, asi, response, email, now)


def _cancel_waiting(context: AuditContext, asi: AutoInvitation, rows: Any) -> int:
    waiting = list(
        rows.select_for_update().filter(
            Q(status=WAITING, sent_at__isnull=True)
            | Q(status=Invitation.Status.FAILED, retry_at__isnull=False)
        )
    )
    if not waiting:
        return 0
    Invitation.objects.filter(pk__in=[w.pk for w in waiting]).update(
        status=Invitation.Status.CANCELLED, error=LOGIC_FALSE, retry_at=None
    )
    entries = [
        AuditEntry(
            "survey.invitation.cancelled",
            invitation_target(row),
            {"status": [row.status, Invitation.Status.CANCELLED]},
            details=f"automated invitation {asi.pk}: condition false",
        )
        for row in waiting
    ]
    audit_events_create(context=context, project_id=asi.project_id, entries=entries)
    return 1


def _skip(
    context: AuditContext, asi: AutoInvitation, response: SurveyResponse, now: datetime
) -> int:
    row = Invitation.objects.create(
        project_id=asi.project_id,
        response=response,
        automated=asi,
        email="",
        email_field=asi.email_field,
        subject=asi.subject,
        body=asi.body,
        send_at=now,
        status=Invitation.Status.CANCELLED,
        error=NO_EMAIL,
    )
    entry = AuditEntry(
        "survey.invitation.skipped",
        invitation_target(row),
        {"email_field": [asi.email_field, ""]},
        details=f"automated invitation {asi.pk}: no e-mail address",
    )
    audit_events_create(context=context, project_id=asi.project_id, entries=[entry])
    return 1


def _schedule(
    context: AuditContext, asi: AutoInvitation, response: SurveyResponse, email: str, now: datetime
) -> int:
    first = send_time_of(asi, now)
    every = timedelta(days=asi.reminder_every_days)
    count = asi.reminder_count if asi.reminder_every_days else 0
    rows = [
        Invitation(
            project_id=asi.project_id,
            response=response,
            automated=asi,
            email=email,
            email_field=asi.email_field,
            subject=asi.subject,
            body=asi.body,
            reminder=number,
            send_at=first + every * number,
        )
        for number in range(count + 1)
    ]
    Invitation.objects.bulk_create(rows)
    entries = [
        AuditEntry(
            "survey.invitation.scheduled",
            invitation_target(row),
            {"email": ["", email], "send_at": ["", row.send_at.isoformat(timespec="minutes")]},
            details=f"automated invitation {asi.pk}"
            + (f"; reminder {row.reminder}" if row.reminder else ""),
        )
        for row in rows
    ]
    audit_events_create(context=context, project_id=asi.project_id, entries=entries)
    return 1
