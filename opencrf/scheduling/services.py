"""Writes of schedules and calendar entries, each audited in its own transaction.

A schedule is (re)built from its start date by `_schedules_apply`, in bulk: the start dates of
many records at once (a save, a new start date field, "regenerate all") take a fixed number of
queries, not a few per record. A visit moved by hand keeps its planned date when the schedule
is rebuilt; its protocol date and window follow the new start.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, time

from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.services import (
    AuditContext,
    AuditEntry,
    AuditTarget,
    audit_event_create,
    audit_events_create,
)
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.design import design_of
from opencrf.dictionary.validation import validation_type
from opencrf.projects.models import Arm, Event, Project
from opencrf.projects.selectors import member_rights
from opencrf.records.errors import RecordNotFound
from opencrf.records.models import FormData, Record, RecordArm
from opencrf.records.selectors import access_record
from opencrf.scheduling.dates import stored_date, visit_dates
from opencrf.scheduling.models import (
    CalendarEntry,
    Schedule,
    ScheduleAnchor,
    ScheduleSource,
    Visit,
)
from opencrf.scheduling.selectors import may_edit_entry, require_schedule_editor

DATE_KINDS = frozenset({"date", "datetime", "datetime_seconds"})
MAX_TITLE, MAX_NOTES = 200, 5000


def date_fields(project: Project) -> dict[str, str]:
    """Field name → form name of every date or datetime field of the dictionary."""
    fields = {}
    for row in design_of(project).rows:
        kind = validation_type(row.text_validation_type_or_show_slider_number)
        if row.field_type == "text" and kind is not None and kind.kind in DATE_KINDS:
            fields[row.field_name] = row.form_name
    return fields


# --- Set-up -------------------------------------------------------------------------------


@transaction.atomic
def anchor_set(
    *, context: AuditContext, project: Project, arm: Arm, field_name: str, event: Event | None
) -> int:
    """Make `field_name` at `event` the start date of the arm's schedules ("" makes the arm's
    schedules manual) and build the schedules of the arm's records from it.

    Returns how many schedules were created, moved or removed.
    """
    require_design(context, project)
    current = ScheduleAnchor.objects.filter(arm=arm).first()
    if not field_name:
        if current is not None:
            current.delete()
            _audit_anchor(context, project, arm, current.field_name, "")
        return 0
    event = _check_anchor(project, arm, field_name, event)
    if current is not None and (current.field_name, current.event_id) == (field_name, event.pk):
        return 0
    ScheduleAnchor.objects.update_or_create(
        arm=arm, defaults={"project": project, "field_name": field_name, "event": event}
    )
    _audit_anchor(context, project, arm, current.field_name if current else "", field_name)
    members = RecordArm.objects.filter(arm=arm).values_list("record_id", flat=True)
    return schedules_sync(context=context, project=project, record_keys=list(members))


def require_design(context: AuditContext, project: Project) -> None:
    if context.actor is not None and not member_rights(context.actor, project).design:
        raise PermissionDenied(_("You do not have design rights in this project."))


def _check_anchor(project: Project, arm: Arm, field_name: str, event: Event | None) -> Event:
    form_name = date_fields(project).get(field_name)
    if form_name is None:
        raise InvalidInput(
            _("Start date field: %(field)s is not a date field of this project.")
            % {"field": field_name[:100]}
        )
    if event is None or event.arm_id != arm.pk or event.project_id != project.pk:
        raise InvalidInput(_("Start date field: choose an event of this arm."))
    if not design_of(project).has_form(project, event, form_name):
        raise InvalidInput(
            _("Start date field: %(field)s is not collected at %(event)s.")
            % {"field": field_name, "event": event.name}
        )
    return event


def _audit_anchor(context: AuditContext, project: Project, arm: Arm, old: str, new: str) -> None:
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="schedule.anchor",
        details=f"arm {arm.number}",
        changes={"start_field": [old, new]},
    )


@transaction.atomic
def schedules_rebuild(*, context: AuditContext, project: Project) -> int:
    """Rebuild every schedule of the project from its start date (after events' offsets or
    windows changed: schedules do not follow a design change on their own, as in REDCap)."""
    require_design(context, project)
    anchored = schedules_sync(
        context=context,
        project=project,
        record_keys=list(project.records.values_list("pk", flat=True)),
        rebuild=True,
    )
    manual = Schedule.objects.filter(project=project, source=ScheduleSource.MANUAL)
    by_arm: dict[int, dict[int, date | None]] = {}
    for schedule in manual:
        by_arm.setdefault(schedule.arm_id, {})[schedule.record_id] = schedule.start_date
    for arm in Arm.objects.filter(pk__in=by_arm):
        anchored += _schedules_apply(
            context, project, arm, by_arm[arm.pk], ScheduleSource.MANUAL, rebuild=True
        )
    return anchored


# --- Schedules ----------------------------------------------------------------------------


@transaction.atomic
def schedules_sync(
    *,
    context: AuditContext,
    project: Project,
    record_keys: Collection[int],
    rebuild: bool = False,
) -> int:
    """Bring the records' schedules in line with their arms' start date fields: a new start
    date builds or moves the schedule, a cleared one removes it. Returns schedules changed."""
    anchors = list(ScheduleAnchor.objects.filter(project=project).select_related("arm"))
    if not anchors or not record_keys:
        return 0
    _lock_records(record_keys)
    fields = date_fields(project)
    changed = 0
    for anchor in anchors:
        form_name = fields.get(anchor.field_name)
        if form_name is None:  # the field left the dictionary: the schedules stay as they are
            continue
        starts = _anchor_starts(anchor, form_name, record_keys)
        changed += _schedules_apply(
            context, project, anchor.arm, starts, ScheduleSource.FIELD, rebuild=rebuild
        )
    return changed


def _lock_records(record_keys: Collection[int]) -> None:
    """Serialise schedule writes per record (one fixed order: by key)."""
    rows = Record.objects.select_for_update().filter(pk__in=list(record_keys)).order_by("pk")
    list(rows.values_list("pk", flat=True))


def _anchor_starts(
    anchor: ScheduleAnchor, form_name: str, record_keys: Collection[int]
) -> dict[int, date | None]:
    """Record key → its start date (None when blank or not a date), for records in the arm."""
    members = RecordArm.objects.filter(arm=anchor.arm, record_id__in=list(record_keys))
    starts: dict[int, date | None] = dict.fromkeys(members.values_list("record_id", flat=True))
    forms = FormData.objects.filter(
        record_id__in=list(starts), event=anchor.event, form_name=form_name, instance=1
    )
    for record_key, values in forms.values_list("record_id", "values"):
        starts[record_key] = stored_date(str(values.get(anchor.field_name, "")))
    return starts


@transaction.atomic
def schedule_generate(
    *, context: AuditContext, user: User, record: Record, arm: Arm, start: date
) -> Schedule:
    """REDCap's "generate schedule": the record's schedule in an arm without a start date
    field, from a date chosen by hand (again: the schedule moves, moved visits stay)."""
    project = record.project
    require_schedule_editor(user, project)
    if not RecordArm.objects.filter(record=record, arm=arm).exists():
        raise InvalidInput(_("The record is not in this arm."))
    anchor = ScheduleAnchor.objects.filter(arm=arm).first()
    if anchor is not None:
        raise InvalidInput(
            _("This arm's schedule starts from the field %(field)s; enter the date there.")
            % {"field": anchor.field_name}
        )
    _lock_records([record.pk])
    _schedules_apply(context, project, arm, {record.pk: start}, ScheduleSource.MANUAL)
    return Schedule.objects.get(record=record, arm=arm)


@dataclass
class _Plan:
    """What `_schedules_apply` does to the schedules of one arm."""

    arm: Arm
    identity: Mapping[int, tuple[str, int | None]]  # record key → record id, group id
    create: list[Schedule]
    update: list[Schedule]
    remove: list[Schedule]
    audit: list[AuditEntry]

    def log(self, action: str, record_key: int, before: str, after: str) -> None:
        record_id, group_id = self.identity[record_key]
        target = AuditTarget(record=record_id, record_key=record_key, group_id=group_id)
        self.audit.append(
            AuditEntry(
                action=action,
                target=target,
                changes={"start_date": [before, after]},
                details=f"arm {self.arm.number}",
            )
        )


def _schedules_apply(
    context: AuditContext,
    project: Project,
    arm: Arm,
    starts: Mapping[int, date | None],
    source: str,
    *,
    rebuild: bool = False,
) -> int:
    """Give each record (key → start date; None removes) its schedule in `arm`."""
    old = {s.record_id: s for s in Schedule.objects.filter(arm=arm, record_id__in=list(starts))}
    rows = Record.objects.filter(pk__in=list(starts)).values_list("pk", "record_id", "group_id")
    plan = _Plan(
        arm, {pk: (record_id, group_id) for pk, record_id, group_id in rows}, [], [], [], []
    )
    for record_key, start in starts.items():
        _plan_one(plan, project, record_key, start, old.get(record_key), source, rebuild)
    _write(plan, project, arm)
    audit_events_create(context=context, project_id=project.pk, entries=plan.audit)
    return len(plan.audit)


def _plan_one(
    plan: _Plan,
    project: Project,
    record_key: int,
    start: date | None,
    old: Schedule | None,
    source: str,
    rebuild: bool,
) -> None:
    before = old.start_date.isoformat() if old else ""
    after = start.isoformat() if start else ""
    if start is None:
        if old is not None:
            plan.remove.append(old)
            plan.log("schedule.delete", record_key, before, after)
        return
    if old is None:
        schedule = Schedule(
            project=project, record_id=record_key, arm=plan.arm, start_date=start, source=source
        )
        plan.create.append(schedule)
        plan.log("schedule.generate", record_key, before, after)
        return
    if old.start_date == start and old.source == source and not rebuild:
        return
    old.start_date, old.source = start, source
    plan.update.append(old)
    plan.log("schedule.regenerate", record_key, before, after)


def _write(plan: _Plan, project: Project, arm: Arm) -> None:
    """Store the plan: schedules first, then every visit of the new and moved schedules."""
    Schedule.objects.filter(pk__in=[s.pk for s in plan.remove]).delete()
    Schedule.objects.bulk_update(plan.update, ["start_date", "source"])
    created = Schedule.objects.bulk_create(plan.create)
    touched = [*plan.update, *created]
    if not touched:
        return
    kept = {
        (visit.schedule_id, visit.event_id): visit.planned_date
        for visit in Visit.objects.filter(schedule__in=touched, moved=True)
    }
    Visit.objects.filter(schedule__in=touched).delete()
    events = list(Event.objects.filter(arm=arm).order_by("position", "id"))
    visits = [_visit(project, schedule, event, kept) for schedule in touched for event in events]
    Visit.objects.bulk_create(visits, batch_size=1000)


def _visit(
    project: Project, schedule: Schedule, event: Event, kept: Mapping[tuple[int, int], date]
) -> Visit:
    dates = visit_dates(schedule.start_date, event.day_offset, event.offset_min, event.offset_max)
    moved = kept.get((schedule.pk, event.pk))
    return Visit(
        project=project,
        schedule=schedule,
        record_id=schedule.record_id,
        event=event,
        protocol_date=dates.protocol,
        window_start=dates.window_start,
        window_end=dates.window_end,
        planned_date=moved or dates.protocol,
        moved=moved is not None,
    )


# --- Visits -------------------------------------------------------------------------------


@transaction.atomic
def visit_move(
    *, context: AuditContext, user: User, visit: Visit, planned: date | None, reason: str = ""
) -> Visit:
    """Plan a visit on another date (None: back on its protocol date), audited."""
    require_schedule_editor(user, visit.project)
    locked = Visit.objects.select_for_update().select_related("record", "event").get(pk=visit.pk)
    new_date = planned or locked.protocol_date
    if new_date == locked.planned_date and (planned is not None) == locked.moved:
        return locked
    before = locked.planned_date.isoformat()
    locked.planned_date, locked.moved = new_date, planned is not None
    locked.save(update_fields=["planned_date", "moved"])
    audit_event_create(
        context=context,
        project_id=locked.project_id,
        action="schedule.visit_move",
        target=_record_target(locked.record, event=locked.event.unique_name),
        changes={"planned_date": [before, new_date.isoformat()]},
        reason=reason.strip()[:500],
    )
    return locked


def _record_target(record: Record, event: str = "") -> AuditTarget:
    return AuditTarget(
        record=record.record_id, event=event, record_key=record.pk, group_id=record.group_id
    )


# --- Calendar entries ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryInput:
    """An ad-hoc entry as typed: parsed dates, raw texts, the record id as typed ("" none)."""

    date: date
    time: time | None
    title: str
    notes: str
    record_id: str


def _entry_values(user: User, project: Project, data: EntryInput) -> dict[str, object]:
    title, notes = data.title.strip(), data.notes.strip()
    if not title:
        raise InvalidInput(_("Title: an entry needs a title."))
    if len(title) > MAX_TITLE or len(notes) > MAX_NOTES:
        raise InvalidInput(
            _("Title or notes: at most %(title)s and %(notes)s characters.")
            % {"title": MAX_TITLE, "notes": MAX_NOTES}
        )
    record = None
    if data.record_id.strip():
        try:
            record = access_record(user, project, data.record_id.strip())
        except RecordNotFound:
            raise InvalidInput(
                _("Record: there is no record “%(record)s”.") % {"record": data.record_id[:100]}
            ) from None
    group_id = record.group_id if record else member_rights(user, project).group_id
    return {
        "date": data.date,
        "time": data.time,
        "title": title,
        "notes": notes,
        "record": record,
        "group_id": group_id,
    }


def _shown(values: Mapping[str, object]) -> dict[str, str]:
    """An entry's values as the audit trail keeps them."""
    record = values.get("record")
    return {
        "date": str(values["date"]),
        "time": str(values["time"] or ""),
        "title": str(values["title"]),
        "notes": str(values["notes"]),
        "record": record.record_id if isinstance(record, Record) else "",
    }


@transaction.atomic
def entry_create(
    *, context: AuditContext, user: User, project: Project, data: EntryInput
) -> CalendarEntry:
    require_schedule_editor(user, project)
    values = _entry_values(user, project, data)
    entry = CalendarEntry.objects.create(project=project, created_by=user, **values)
    changes = {name: ["", value] for name, value in _shown(values).items() if value}
    _audit_entry(context, entry, "calendar.entry_create", changes)
    return entry


@transaction.atomic
def entry_update(
    *, context: AuditContext, user: User, entry: CalendarEntry, data: EntryInput
) -> CalendarEntry:
    rights = require_schedule_editor(user, entry.project)
    if not may_edit_entry(rights, entry):
        raise InvalidInput(_("This entry belongs to the whole project; you may only read it."))
    values = _entry_values(user, entry.project, data)
    before = _shown({name: getattr(entry, name) for name in values if name != "group_id"})
    changes = {k: [before[k], v] for k, v in _shown(values).items() if before[k] != v}
    for name, value in values.items():
        setattr(entry, name, value)
    entry.save()
    if changes:
        _audit_entry(context, entry, "calendar.entry_update", changes)
    return entry


@transaction.atomic
def entry_delete(*, context: AuditContext, user: User, entry: CalendarEntry) -> None:
    rights = require_schedule_editor(user, entry.project)
    if not may_edit_entry(rights, entry):
        raise InvalidInput(_("This entry belongs to the whole project; you may only read it."))
    values = {name: getattr(entry, name) for name in ("date", "time", "title", "notes", "record")}
    changes = {name: [value, ""] for name, value in _shown(values).items() if value}
    _audit_entry(context, entry, "calendar.entry_delete", changes)
    entry.delete()


def _audit_entry(
    context: AuditContext, entry: CalendarEntry, action: str, changes: Mapping[str, object]
) -> None:
    target = _record_target(entry.record) if entry.record else AuditTarget(group_id=entry.group_id)
    audit_event_create(
        context=context,
        project_id=entry.project_id,
        action=action,
        target=target,
        details=f"entry {entry.pk}",
        changes=changes,
    )
