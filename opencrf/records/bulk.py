"""Writing form instances: the one code path of the web form, the API and imports.

`FormWriter` works out each write (merging the submitted values into the stored ones,
computing the form's calculations with every value of the record in its logic context, so
that calculations reading other forms and events see them, and the changes as `[old, new]`),
then stores new and changed forms and appends one `form.update` audit entry per change with
`audit_events_create`: one chain lock, hashes chained in order. `form_save` (records/services)
is a one-item call of it, after its own checks (the form's design, submitted values, the
optimistic version, a reason in production); it also asks for branching visibility, for its
warnings about required fields.

`records_create_many` and `forms_write_many` are the services behind record imports. They
check rights once per form, read the stored forms of a chunk of records in one query and
write with `insert_rows` / `bulk_update`. The caller holds the transaction, so an import is
all or nothing.

Unlike the data-entry page, an import writes fields that carry action tags such as @READONLY
(tags shape the form, not the data), and in production needs no reason for a change, as
REDCap's API does; a reason given is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, AuditEntry, audit_events_create
from opencrf.core.bulk_sql import insert_rows, insert_values
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign
from opencrf.dictionary.form_logic import (
    CompiledForm,
    calculate_form,
    clock,
    compile_form,
    evaluate_form,
)
from opencrf.projects.lifecycle import require_data_entry_open
from opencrf.projects.models import Arm, DataAccessGroup, Event, Project
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import MISSING_RIGHT, member_rights
from opencrf.records.auditing import record_id_taken_message, record_target
from opencrf.records.hooks import FormKey, form_saved
from opencrf.records.locking import refuse_locked
from opencrf.records.models import (
    FormData,
    FormStatus,
    Record,
    RecordArm,
    arms_text,
    record_sort_key,
)
from opencrf.records.save_checks import PlannedForm, save_checks_run
from opencrf.records.selectors import require_form_edit
from opencrf.records.values import blank_value, form_columns, record_id_problem

CHUNK = 1000


@dataclass
class FormWrite:
    """One form instance to write: checked values (a blank erases), and a status or None.

    A new form whose values are all blank (unticked boxes included) and that is given no status
    holds nothing, so it is not created, as REDCap stores nothing for it; `keep_empty` creates
    it all the same when the record has no form at that event yet (a row naming only its
    record and event makes the record's row there).
    """

    record: Record
    event: Event
    form: str
    instance: int
    values: dict[str, str]
    status: int | None = None
    keep_empty: bool = False


def _rights(context: AuditContext, project: Project) -> Rights:
    return Rights.everything() if context.actor is None else member_rights(context.actor, project)


@transaction.atomic
def records_create_many(
    *,
    context: AuditContext,
    project: Project,
    wanted: Sequence[tuple[str, DataAccessGroup | None, Arm | None]],
) -> dict[str, Record]:
    """New records (id, group, arm: arm 1 when None), audited as `record.create`; refused if
    one exists.

    A member in a group creates records in that group, whatever group was asked.
    """
    if not wanted:  # nothing new: updating needs no right to create
        return {}
    rights = _rights(context, project)
    if not rights.record_create:
        raise PermissionDenied(MISSING_RIGHT["record_create"]())
    for record_id, _group, _arm in wanted:
        if (problem := record_id_problem(record_id)) is not None:
            raise InvalidInput(f"{record_id}: {problem}")
    ids = [record_id for record_id, _group, _arm in wanted]
    taken = set(
        Record.objects.filter(project=project, record_id__in=ids).values_list(
            "record_id", flat=True
        )
    )
    if taken:
        first = sorted(taken)[0]
        raise InvalidInput(record_id_taken_message(first, grouped=rights.group_id is not None))
    first_arm = Arm.objects.filter(project=project).order_by("number").first()
    if first_arm is None:
        raise InvalidInput(_("No such arm."))
    own_group = (
        DataAccessGroup.objects.filter(pk=rights.group_id).first() if rights.group_id else None
    )
    created: dict[str, Record] = {}
    arms: dict[str, Arm] = {}
    entries = []
    for record_id, asked, arm in wanted:
        group, arm = own_group or asked, arm or first_arm
        record = created[record_id] = Record(  # ids, not objects: assigning costs more
            project_id=project.pk,
            record_id=record_id,
            sort_key=record_sort_key(record_id),
            group_id=group.pk if group else None,
            created_by_id=context.actor.pk if context.actor else None,
        )
        Record.group.field.set_cached_value(record, group)  # read by callers, not queried
        arms[record_id] = arm
    # Both databases return the new primary keys from the multi-row INSERT.
    Record.objects.bulk_create(created.values(), batch_size=CHUNK)
    for record_id, record in created.items():
        group_name = record.group.unique_name if record.group else ""
        changes = {"arm": ["", str(arms[record_id].number)], "group": ["", group_name]}
        entries.append(AuditEntry("record.create", record_target(record), changes))
    links = [(record.pk, arms[record_id].pk) for record_id, record in created.items()]
    insert_values(RecordArm, ("record", "arm"), links)
    audit_events_create(context=context, project_id=project.pk, entries=entries)
    return created


@transaction.atomic
def forms_write_many(
    *,
    context: AuditContext,
    project: Project,
    design: ProjectDesign,
    writes: Sequence[FormWrite],
    reason: str = "",
    calculate: bool = True,
) -> int:
    """Write every form instance in `writes`; returns how many changed.

    `calculate=False` stores calculated fields as they are (a Project XML's data: REDCap
    neither stores nor computes them when it creates a project from one).
    """
    rights = _rights(context, project)
    for form in {write.form for write in writes}:
        require_form_edit(rights, form)
    for write in writes:
        if write.status is not None and write.status not in FormStatus.values:
            raise InvalidInput(_("No such form status: %(status)s.") % {"status": write.status})
    writer = FormWriter(context, project, design, reason, calculate=calculate)
    changed = 0
    for start in range(0, len(writes), CHUNK):
        chunk = writes[start : start + CHUNK]
        _join_arms(context, project, chunk)
        changed += writer.write(chunk)
    return changed


def _join_arms(context: AuditContext, project: Project, writes: Sequence[FormWrite]) -> None:
    """Put each record in the arms of the events it is written at, as REDCap does when data
    arrive for another arm's event; audited as `record.arm`."""
    wanted = {(write.record.pk, write.event.arm_id): write.record for write in writes}
    links = RecordArm.objects.filter(record__in={pk for pk, _arm in wanted})
    have: dict[int, set[int]] = {}
    for record_pk, arm_id in links.values_list("record_id", "arm_id"):
        have.setdefault(record_pk, set()).add(arm_id)
    missing = [key for key in wanted if key[1] not in have.get(key[0], set())]
    if not missing:
        return
    numbers = dict(Arm.objects.filter(project=project).values_list("pk", "number"))
    entries = []
    for record_pk, arm_id in missing:
        before = arms_text(numbers[arm] for arm in have.setdefault(record_pk, set()))
        have[record_pk].add(arm_id)
        changes = {"arms": [before, arms_text(numbers[arm] for arm in have[record_pk])]}
        target = record_target(wanted[(record_pk, arm_id)])
        entries.append(AuditEntry("record.arm", target, changes))
    insert_values(RecordArm, ("record", "arm"), missing)
    audit_events_create(context=context, project_id=project.pk, entries=entries)


NEW_FORM_COLUMNS = (
    "project",
    "record",
    "event",
    "form_name",
    "instance",
    "values",
    "status",
    "version",
    "updated_at",
    "updated_by",
    # A new form is never locked or signed, but these columns have no database default.
    "lock_reason",
    "signer_name",
    "signature_meaning",
    "signature_hash",
)


@dataclass
class Planned:
    """What writing one FormWrite does, worked out before anything is stored.

    `values` are the form's values after the write; `changes` is `{key: [old, new]}`, empty
    when nothing changes; `form` is the form to store when `writes` (a new FormData for a form
    not stored yet), else the stored form or None; `shown` is each field's visibility after
    the write (only when the writer was asked for it).
    """

    key: tuple[int, int, str, int]
    write: FormWrite
    form: FormData | None
    values: dict[str, str]
    changes: dict[str, list[str]]
    writes: bool
    shown: dict[str, bool] | None = None


class FormWriter:
    """The one code path that writes form instances: imports (many at once) and `form_save`.

    `plan` works out each write (calculations, changes) from the stored forms of its records;
    `persist` stores the planned forms and appends their audit entries. `visibility=True` (a
    single save) also evaluates branching logic, for the warnings about required fields, and
    never creates a new form whose save changes nothing.
    """

    def __init__(
        self,
        context: AuditContext,
        project: Project,
        design: ProjectDesign,
        reason: str,
        *,
        calculate: bool = True,
        visibility: bool = False,
    ) -> None:
        self.context = context
        self.project = project
        self.design = design
        self.reason = reason
        self.calculate = calculate
        self.visibility = visibility
        self._columns: dict[str, dict[str, FieldRow]] = {}
        self._blanks: dict[str, dict[str, str]] = {}
        self._compiled: dict[str, CompiledForm] = {}
        self.clock: dict[str, str] = {}  # read at each chunk
        self.event_names = {event.pk: event.unique_name for event in design.events}
        self.actor_id = context.actor.pk if context.actor else None
        self._by_record: dict[int, dict[tuple[int, str, int], FormData]] = {}

    def columns(self, form: str) -> dict[str, FieldRow]:
        """The form's storage keys (checkbox options as `field___code`) but the record id."""
        if form not in self._columns:
            columns = form_columns(self.design.form_rows(form))
            # What a missing key reads as: "0" for checkbox options, else "".
            self._blanks[form] = {key: blank_value(key, row) for key, row in columns.items()}
            columns.pop(self.design.record_id_field, None)
            self._columns[form] = columns
        return self._columns[form]

    def write(self, writes: Sequence[FormWrite]) -> int:
        return self.persist(self.plan(writes))

    def plan(self, writes: Sequence[FormWrite]) -> list[Planned]:
        """Each write worked out in order, later ones seeing earlier ones; a write that stores
        nothing is left out unless the writer reports visibility."""
        stored = self._stored(writes)
        self._by_record = {}
        for (record_pk, event_id, form_name, instance), found in stored.items():
            self._by_record.setdefault(record_pk, {})[(event_id, form_name, instance)] = found
        now = timezone.now()
        self.clock = clock()  # read once a chunk, as a single save reads it once a form
        planned = []
        for write in writes:
            key = (write.record.pk, write.event.pk, write.form, write.instance)
            item = self._apply(key, write, stored.get(key))
            if item.form is not None and item.writes:
                item.form.updated_by_id, item.form.updated_at = self.actor_id, now
                stored[key] = item.form
                self._by_record.setdefault(key[0], {})[key[1:]] = item.form
            if item.writes or self.visibility:
                planned.append(item)
        return planned

    def persist(self, planned: Sequence[Planned]) -> int:
        """Stores the planned forms and audits each change; returns how many changed."""
        require_data_entry_open(self.project)
        checked = [
            PlannedForm(i.write.record, i.write.event, i.write.form, i.write.instance, i.values)
            for i in planned
            if i.form is not None and i.writes
        ]
        save_checks_run(self.context, self.project, checked)  # edit checks (records/save_checks)
        new: list[FormData] = []
        changed: list[FormData] = []
        entries: list[AuditEntry] = []
        queued: set[tuple[int, int, str, int]] = set()
        for item in planned:
            if item.form is None or not item.writes:
                continue
            if item.key not in queued:  # written twice in one chunk: one row, changed twice
                (changed if item.form.pk else new).append(item.form)
                queued.add(item.key)
            write = item.write
            target = record_target(write.record, write.event, write.form, write.instance)
            entries.append(AuditEntry("form.update", target, item.changes, reason=self.reason))
        if self.visibility:  # a single save hands back the stored form, with its id
            FormData.objects.bulk_create(new)
        else:
            insert_rows(FormData, new, NEW_FORM_COLUMNS)
        fields = ["values", "status", "version", "updated_by", "updated_at"]
        FormData.objects.bulk_update(changed, fields, batch_size=CHUNK)
        audit_events_create(context=self.context, project_id=self.project.pk, entries=entries)
        form_saved(self.project, [FormKey(*key) for key in queued])
        return len(entries)

    def _stored(self, writes: Iterable[FormWrite]) -> dict[tuple[int, int, str, int], FormData]:
        """Every stored form of the records written (calculations may read any of them)."""
        records = {write.record.pk for write in writes}
        return {
            (f.record_id, f.event_id, f.form_name, f.instance): f
            for f in FormData.objects.filter(record_id__in=records)
        }

    def _apply(
        self, key: tuple[int, int, str, int], write: FormWrite, form: FormData | None
    ) -> Planned:
        columns = self.columns(write.form)
        before = dict(form.values) if form else {}
        merged = {**before, **{k: v for k, v in write.values.items() if k in columns}}
        calculated, shown = self._logic(write, merged)
        merged.update(calculated)
        after = {k: v for k, v in merged.items() if v != "" and k in columns}
        changes = {}
        for name, blank in self._blanks[write.form].items():
            old, new = before.get(name, "") or blank, after.get(name, "") or blank
            if old != new:
                changes[name] = [old, new]
        old_status = form.status if form else FormStatus.INCOMPLETE
        new_status = old_status if write.status is None else write.status
        if new_status != old_status:
            changes[f"{write.form}_complete"] = [str(old_status), str(new_status)]
        writes = bool(changes) or (form is None and self._creates(write))
        if writes:
            refuse_locked(write.record, form, write.form, changes)
            if form is None:
                form = FormData(
                    project_id=self.project.pk,
                    record_id=write.record.pk,
                    event_id=write.event.pk,
                    form_name=write.form,
                    instance=write.instance,
                    version=0,
                )
            form.values, form.status = after, new_status
            form.version += 1
        return Planned(key, write, form, after, changes, writes, shown)

    def _logic(
        self, write: FormWrite, merged: Mapping[str, str]
    ) -> tuple[dict[str, str], dict[str, bool] | None]:
        """The form's calculated values, and for a single save its fields' visibility."""
        rows = self.design.form_rows(write.form)
        compiled = self._compiled.get(write.form)
        if compiled is None:  # once a form, not once a write: hashing its rows costs
            compiled = self._compiled[write.form] = compile_form(rows)
        if not (compiled.calculates and self.calculate) and not self.visibility:
            return {}, None
        context, visible = self._logic_context(write, merged)
        values = {**visible, **merged}
        shown = None
        if self.visibility:
            calculated, shown = evaluate_form(rows, values, context)
        else:
            calculated = calculate_form(compiled, values, context)
        columns = self.columns(write.form)
        kept = self.calculate and compiled.calculates
        return ({k: v for k, v in calculated.items() if k in columns} if kept else {}), shown

    def _creates(self, write: FormWrite) -> bool:
        """Whether a new form that holds nothing is created all the same: when given a status,
        or when it is the record's only row at an event where it has no form yet. A single
        save never creates one."""
        if self.visibility:
            return False
        if write.status is not None:
            return True
        stored = self._by_record.get(write.record.pk, {})
        return write.keep_empty and not any(key[0] == write.event.pk for key in stored)

    def _logic_context(
        self, write: FormWrite, merged: Mapping[str, str]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The context of the form's logic (every value of the record by event and instance,
        this form's as being written), and the values of the event's other forms that the form
        sees, as in REDCap."""
        record = write.record
        data: dict[str, dict[str, dict[str, str]]] = {}
        visible: dict[str, str] = {}
        repeating = self.design.repeating_at(write.event)
        itself = (write.event.pk, write.form, write.instance)
        for (event_id, form_name, instance), other in self._by_record.get(record.pk, {}).items():
            if event_id not in self.event_names or (event_id, form_name, instance) == itself:
                continue  # an event deleted since the design was read, or the form itself
            data.setdefault(self.event_names[event_id], {}).setdefault(str(instance), {}).update(
                other.values
            )
            same_event = event_id == write.event.pk and form_name != write.form
            if same_event and _shares(form_name, instance, repeating, write.instance):
                visible.update(other.values)
        data.setdefault(write.event.unique_name, {}).setdefault(str(write.instance), {}).update(
            merged
        )
        arm_events = self.design.events_of_arm(write.event.arm_id)
        context = {
            **self.clock,
            "record": record.record_id,
            "event": write.event.unique_name,
            "event_id": write.event.pk,
            "events": [event.unique_name for event in arm_events],
            "arm_number": write.event.arm.number,
            "instance": write.instance,
            "data": data,
            "project_id": self.project.pk,
            "dag": record.group.unique_name if record.group else "",
            "dag_id": record.group_id or "",
        }
        return context, visible


def _shares(form_name: str, instance: int, repeating: set[str], wanted: int) -> bool:
    if "" in repeating:
        return instance == wanted
    return form_name not in repeating and instance == 1
