"""Writes to study data. Each is named `<entity>_<verb>` and audits in its own transaction.

Saves lock the Record row, then the FormData row, always in that order, so two users saving
the same record queue rather than deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, audit_chain_lock, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.form_logic import calculation_of
from opencrf.dictionary.rendering import default_values, readonly_by_tag
from opencrf.files.selectors import file_in_project
from opencrf.projects.lifecycle import require_data_entry_open
from opencrf.projects.models import (
    Arm,
    DataAccessGroup,
    Event,
    Project,
    ProjectStatus,
)
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import MISSING_RIGHT, member_rights
from opencrf.records.auditing import record_id_taken_message, record_target
from opencrf.records.bulk import FormWrite, FormWriter
from opencrf.records.errors import InvalidValues, SaveConflict, ValueProblem
from opencrf.records.locking import refuse_if_record_has_locks, refuse_locked
from opencrf.records.models import (
    FormData,
    FormStatus,
    Record,
    RecordArm,
    arms_text,
    record_sort_key,
)
from opencrf.records.selectors import (
    next_record_id,
    record_arm_ids,
    record_arm_numbers,
    require_form_edit,
)
from opencrf.records.values import (
    NOT_ENTERED,
    blank_value,
    check_value,
    form_columns,
    range_warnings,
    record_id_problem,
    required_warning,
    unknown_key_problem,
)


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What a save did. `form` is unsaved (pk None) when a new form's save changed nothing."""

    form: FormData
    changes: dict[str, list[str]]
    warnings: list[ValueProblem]
    created: bool


_target = record_target


def _audit(context: AuditContext, project_id: int, action: str, **kwargs: Any) -> None:
    audit_event_create(context=context, project_id=project_id, action=action, **kwargs)


def _writer_rights(context: AuditContext, project: Project) -> Rights:
    """The acting rights, for a change to records: refused once data entry is closed."""
    require_data_entry_open(project)
    return acting_rights(context, project)


def acting_rights(context: AuditContext, project: Project) -> Rights:
    """The rights of whoever acts: a member's, or all of them for the system (no actor)."""
    if context.actor is None:
        return Rights.everything()
    return member_rights(context.actor, project)


def _require(rights: Rights, right: str) -> None:
    if not getattr(rights, right):
        raise PermissionDenied(MISSING_RIGHT[right]())


def _check_record_id(
    project: Project, record_id: str, *, grouped: bool, exclude: int | None = None
) -> None:
    problem = record_id_problem(record_id)
    if problem is not None:
        raise InvalidInput(problem)
    taken = Record.objects.filter(project=project, record_id=record_id)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise InvalidInput(record_id_taken_message(record_id, grouped=grouped))


@transaction.atomic
def record_create(
    *,
    context: AuditContext,
    project: Project,
    record_id: str | None = None,
    arm: Arm | None = None,
    group: DataAccessGroup | None = None,
) -> Record:
    """A new record, numbered automatically when `record_id` is None, in arm 1 by default.

    A member in a data access group creates records in that group, numbered
    `<group id>-<n>` when automatic; others may put a record in any group of the project.
    """
    rights = _writer_rights(context, project)
    _require(rights, "record_create")
    if group is not None and group.project_id != project.pk:
        raise InvalidInput(_("No such data access group."))
    if rights.group_id is not None:
        if group is not None and group.pk != rights.group_id:
            raise InvalidInput(_("No such data access group."))
        group = DataAccessGroup.objects.get(pk=rights.group_id)
    if record_id is None:
        # Queue behind other writers of this project (the audit chain's lock, which the
        # record's audit entry takes anyway) so that the next free number is still free.
        audit_chain_lock(project.pk)
        record_id = next_record_id(project, group if rights.group_id is not None else None)
    _check_record_id(project, record_id, grouped=rights.group_id is not None)
    arm = arm or project.arms.order_by("number").first()
    if arm is None or arm.project_id != project.pk:
        raise InvalidInput(_("No such arm."))
    record = Record.objects.create(
        project=project,
        record_id=record_id,
        sort_key=record_sort_key(record_id),
        group=group,
        created_by=context.actor,
    )
    RecordArm.objects.create(record=record, arm=arm)
    changes = {"arm": ["", str(arm.number)], "group": ["", group.unique_name if group else ""]}
    _audit(context, project.pk, "record.create", target=_target(record), changes=changes)
    return record


NUMBERING_ATTEMPTS = 5


@transaction.atomic
def record_create_with_form(
    *,
    context: AuditContext,
    project: Project,
    record_id: str | None,
    arm: Arm | None,
    event: Event,
    form_name: str,
    values: Mapping[str, str],
    status: int | None = None,
    reason: str = "",
) -> tuple[Record, SaveResult]:
    """A new record and its first form, in one transaction, as REDCap creates records: the
    record exists only once its first form is saved, and a refused save leaves nothing.

    `record_id` None numbers the record now (the next free number, whatever the page showed):
    a number another user took meanwhile, even at the same instant, is skipped.
    """
    for attempt in range(NUMBERING_ATTEMPTS):
        try:
            with transaction.atomic():  # a savepoint: a lost race leaves the rest usable
                record = record_create(
                    context=context, project=project, record_id=record_id, arm=arm
                )
            break
        except IntegrityError:
            if record_id is None and attempt < NUMBERING_ATTEMPTS - 1:
                continue
            grouped = _writer_rights(context, project).group_id is not None
            raise InvalidInput(record_id_taken_message(record_id or "", grouped=grouped)) from None
    result = form_save(
        context=context,
        record=record,
        event=event,
        form_name=form_name,
        values=values,
        status=status,
        base_version=0,
        reason=reason,
    )
    return record, result


@transaction.atomic
def record_arm_add(*, context: AuditContext, record: Record, arm: Arm) -> None:
    """Put an existing record in one more arm (REDCap: the same record id in another arm), so
    that its forms may be entered at that arm's events; audited as `record.arm`."""
    _require(_writer_rights(context, record.project), "record_create")
    if arm.project_id != record.project_id:
        raise InvalidInput(_("No such arm."))
    Record.objects.select_for_update().filter(pk=record.pk).first()
    before = record_arm_numbers(record)
    if arm.number in before:
        return
    RecordArm.objects.create(record=record, arm=arm)
    changes = {"arms": [arms_text(before), arms_text([*before, arm.number])]}
    _audit(context, record.project_id, "record.arm", target=_target(record), changes=changes)


@transaction.atomic
def record_arm_remove(*, context: AuditContext, record: Record, arm: Arm, reason: str = "") -> None:
    """Take a record out of one arm, deleting its forms at that arm's events (each audited as
    `form.delete`); a record left in no arm is deleted (`record_delete`)."""
    _require(_writer_rights(context, record.project), "record_delete")
    Record.objects.select_for_update().filter(pk=record.pk).first()
    before = record_arm_numbers(record)
    if arm.number not in before:
        return
    if before == [arm.number]:
        record_delete(context=context, record=record, reason=reason)
        return
    forms = FormData.objects.select_for_update().filter(record=record, event__arm=arm)
    for form in forms.select_related("event").order_by("event__position", "form_name", "instance"):
        _delete_form(context, record, form, reason)
    RecordArm.objects.filter(record=record, arm=arm).delete()
    after = [number for number in before if number != arm.number]
    changes = {"arms": [arms_text(before), arms_text(after)]}
    _audit(
        context,
        record.project_id,
        "record.arm",
        target=_target(record),
        changes=changes,
        reason=reason,
    )


def _lock(record: Record, event: Event, form_name: str, instance: int) -> FormData | None:
    fresh = Record.objects.select_for_update().filter(pk=record.pk).first()
    if fresh is not None:  # a record locked since the page was read is refused all the same
        record.locked_at = fresh.locked_at
    return (
        FormData.objects.select_for_update()
        .filter(record=record, event=event, form_name=form_name, instance=instance)
        .first()
    )


def _check_designation(
    design: ProjectDesign, record: Record, event: Event, form_name: str, instance: int
) -> None:
    """Refuses forms the event does not collect, and instances of forms that do not repeat."""
    if event.project_id != record.project_id or event.arm_id not in record_arm_ids(record):
        raise InvalidInput(_("No such event for this record."))
    if not design.has_form(record.project, event, form_name):
        raise InvalidInput(
            _("Form %(form)s is not used at event %(event)s.")
            % {"form": form_name, "event": event.name}
        )
    if instance < 1 or (instance > 1 and not design.repeats_form(event, form_name)):
        raise InvalidInput(_("Form %(form)s does not repeat.") % {"form": form_name})


def _file_problem(project: Project, key: str, value: str) -> ValueProblem | None:
    """A file field holds the id of a live file of the same project (or nothing)."""
    if value.isascii() and value.isdigit():
        try:
            file_in_project(project, int(value))
        except NotFound:
            pass
        else:
            return None
    message = _("%(value)s is not a file of this project for %(field)s.") % {
        "value": value,
        "field": key,
    }
    return ValueProblem(key, value, "unknown_file", message)


def _clean(
    project: Project, rows: Sequence[FieldRow], values: Mapping[str, str], record_field: str
) -> tuple[dict[str, str], dict[str, FieldRow]]:
    """The submitted values that may be stored; raises InvalidValues listing every problem."""
    columns = form_columns(rows)
    problems: list[ValueProblem] = []
    cleaned: dict[str, str] = {}
    for key, raw in values.items():
        value = str(raw)
        row = columns.get(key)
        if row is None:
            problems.append(unknown_key_problem(key, value))
        elif key == record_field or readonly_by_tag(row):
            # Read-only fields keep their stored value whatever is submitted (@READONLY).
            continue
        elif row.field_type == "file":
            if value != "" and (problem := _file_problem(project, key, value)) is not None:
                problems.append(problem)
            else:
                cleaned[key] = value
        elif row.field_type in NOT_ENTERED:
            continue
        elif value != "" and (problem := check_value(key, value, row)) is not None:
            problems.append(problem)
        else:
            cleaned[key] = value
    if problems:
        raise InvalidValues(problems)
    return cleaned, columns


def _effective(values: Mapping[str, str], key: str, columns: Mapping[str, FieldRow]) -> str:
    row = columns.get(key)
    default = blank_value(key, row) if row is not None else ""
    return values.get(key, "") or default


def _conflict(
    form: FormData,
    base_values: Mapping[str, str] | None,
    submitted: Mapping[str, str],
    columns: Mapping[str, FieldRow],
) -> SaveConflict:
    current = form.values
    if base_values is None:
        keys = sorted(submitted)
        then = submitted
    else:
        keys = sorted(set(base_values) | set(current))
        then = base_values
    theirs = {
        key: (_effective(then, key, columns), _effective(current, key, columns))
        for key in keys
        if _effective(then, key, columns) != _effective(current, key, columns)
    }
    return SaveConflict(form, theirs)


@transaction.atomic
def form_save(
    *,
    context: AuditContext,
    record: Record,
    event: Event,
    form_name: str,
    instance: int = 1,
    values: Mapping[str, str],
    status: int | None = None,
    base_version: int | None,
    base_values: Mapping[str, str] | None = None,
    reason: str = "",
) -> SaveResult:
    """Validate and store one form instance, recompute its calculations, audit what changed.

    `base_version` is the version the page was loaded with (0 for a form that did not exist
    then); None skips the check (imports and system writes that mean to overwrite).
    """
    require_form_edit(_writer_rights(context, record.project), form_name)
    design = design_of(record.project)
    _check_designation(design, record, event, form_name, instance)
    record_field = design.record_id_field
    rows = design.form_rows(form_name)
    cleaned, columns = _clean(record.project, rows, values, record_field)
    columns.pop(record_field, None)
    if status is not None and status not in FormStatus.values:
        raise InvalidInput(_("No such form status: %(status)s.") % {"status": status})
    form = _lock(record, event, form_name, instance)
    if base_version is not None and (form.version if form else 0) != base_version:
        if form is None:
            raise InvalidInput(_("This form was deleted after you opened it; nothing was saved."))
        raise _conflict(form, base_values, values, columns)
    # The one write path (records/bulk.py), for one form; read-only fields' @DEFAULT, @TODAY
    # and @NOW go into a new form, whose inputs cannot submit them.
    submitted = {**cleaned, **_readonly_defaults(rows)} if form is None else cleaned
    write = FormWrite(record, event, form_name, instance, submitted, status)
    writer = FormWriter(context, record.project, design, reason, visibility=True)
    planned = writer.plan([write])[0]
    shown = planned.shown or {}
    entered = [row for row in rows if row.field_name != record_field and shown[row.field_name]]
    warnings = _warnings(entered, columns, cleaned, planned.values)
    if form is not None and planned.changes and not reason.strip():
        _refuse_without_reason(record.project)
    if not planned.writes or planned.form is None:
        unsaved = form or FormData(
            project_id=record.project_id,
            record=record,
            event=event,
            form_name=form_name,
            instance=instance,
        )
        return SaveResult(form=unsaved, changes={}, warnings=warnings, created=False)
    writer.persist([planned])
    return SaveResult(
        form=planned.form, changes=planned.changes, warnings=warnings, created=form is None
    )


def _readonly_defaults(rows: Sequence[FieldRow]) -> dict[str, str]:
    """@DEFAULT, @TODAY and @NOW of read-only fields, whose inputs a new form cannot submit."""
    return default_values([row for row in rows if readonly_by_tag(row)], now=timezone.localtime())


def _refuse_without_reason(project: Project) -> None:
    """In production a change to existing data needs a reason, if the project says so."""
    if project.status == ProjectStatus.PRODUCTION and project.require_change_reason:
        message = _("Give a reason for changing existing data; nothing was saved.")
        raise InvalidValues([ValueProblem("", "", "reason_required", message)])


def _warnings(
    rows: Sequence[FieldRow],
    columns: Mapping[str, FieldRow],
    cleaned: Mapping[str, str],
    new_values: Mapping[str, str],
) -> list[ValueProblem]:
    warnings: list[ValueProblem] = []
    for key, value in cleaned.items():
        if value:
            warnings.extend(range_warnings(key, value, columns[key]))
    for row in rows:
        if calculation_of(row)[0]:
            continue
        warning = required_warning(row, new_values)
        if warning is not None:
            warnings.append(warning)
    return warnings


@transaction.atomic
def form_delete(
    *,
    context: AuditContext,
    record: Record,
    event: Event,
    form_name: str,
    instance: int = 1,
    reason: str = "",
) -> None:
    """Delete one form instance; the audit event keeps every value it held.

    Needs the right to edit the form (REDCap's per-form delete right is not separate here).
    """
    require_form_edit(_writer_rights(context, record.project), form_name)
    form = _lock(record, event, form_name, instance)
    if form is None:
        raise InvalidInput(_("This form has no data to delete."))
    refuse_locked(record, form, form_name, {})
    _delete_form(context, record, form, reason)


def _delete_form(context: AuditContext, record: Record, form: FormData, reason: str) -> None:
    changes = {key: [value, ""] for key, value in sorted(form.values.items())}
    changes[f"{form.form_name}_complete"] = [str(form.status), ""]
    target = _target(record, form.event, form.form_name, form.instance)
    _audit(context, record.project_id, "form.delete", target=target, changes=changes, reason=reason)
    form.delete()


@transaction.atomic
def record_delete(*, context: AuditContext, record: Record, reason: str = "") -> None:
    """Delete a record and all its forms: one `form.delete` per form, then `record.delete`."""
    _require(_writer_rights(context, record.project), "record_delete")
    refuse_if_record_has_locks(Record.objects.select_for_update().get(pk=record.pk))
    forms = FormData.objects.select_for_update().filter(record=record).select_related("event")
    for form in forms.order_by("event__position", "event_id", "form_name", "instance"):
        _delete_form(context, record, form, reason)
    changes = {"record_id": [record.record_id, ""]}
    _audit(
        context,
        record.project_id,
        "record.delete",
        target=_target(record),
        changes=changes,
        reason=reason,
    )
    record.delete()


@transaction.atomic
def record_rename(
    *, context: AuditContext, record: Record, new_id: str, reason: str = ""
) -> Record:
    """Give a record a new id; its forms and group stay as they are."""
    rights = _writer_rights(context, record.project)
    _require(rights, "record_rename")
    locked = Record.objects.select_for_update().get(pk=record.pk)
    old_id = locked.record_id
    if new_id == old_id:
        return locked
    refuse_if_record_has_locks(locked)
    grouped = rights.group_id is not None
    _check_record_id(locked.project, new_id, grouped=grouped, exclude=locked.pk)
    locked.record_id, locked.sort_key = new_id, record_sort_key(new_id)
    locked.save(update_fields=["record_id", "sort_key"])
    changes = {"record_id": [old_id, new_id]}
    _audit(
        context,
        locked.project_id,
        "record.rename",
        target=_target(locked),
        changes=changes,
        reason=reason,
    )
    record.record_id, record.sort_key = locked.record_id, locked.sort_key
    return locked


@transaction.atomic
def record_group_set(
    *, context: AuditContext, record: Record, group: DataAccessGroup | None
) -> Record:
    """Move a record to another data access group, or out of every group.

    Only members who are not in a group may; audited as `record.group` with [old, new]
    unique group names ("" for none).
    """
    rights = _writer_rights(context, record.project)
    if rights.group_id is not None:
        raise PermissionDenied(_("Members of a data access group cannot move records."))
    if group is not None and group.project_id != record.project_id:
        raise InvalidInput(_("No such data access group."))
    locked = (
        Record.objects.select_for_update(of=("self",)).select_related("group").get(pk=record.pk)
    )
    old = locked.group.unique_name if locked.group else ""
    new = group.unique_name if group else ""
    if old == new:
        return locked
    locked.group = group
    locked.save(update_fields=["group"])
    _audit(
        context,
        locked.project_id,
        "record.group",
        target=_target(locked),
        changes={"group": [old, new]},
    )
    record.group = group
    return locked
