"""Import many records at once: all rows or none (DESIGN §5, invariant 4).

Rows arrive flat, as REDCap's API and data import tool take them: the record id, the event
(longitudinal projects), the repeat instrument and instance, an optional group, and values by
export column (checkbox options as `field___code`, statuses as `<form>_complete`). Every row is
checked first and every problem is reported with its record, field, value and reason; only a
clean import writes, through `form_save` (validation, calculations and audit as on the web)
inside one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.validation import validation_type
from opencrf.projects.models import Arm, DataAccessGroup, Event, Project
from opencrf.projects.selectors import member_rights
from opencrf.records.bulk import (
    FormWrite,
    FormWriter,
    Planned,
    forms_write_many,
    records_create_many,
)
from opencrf.records.errors import ValueProblem
from opencrf.records.export import (
    EVENT_COLUMN,
    GROUP_COLUMN,
    REPEAT_FORM_COLUMN,
    REPEAT_INSTANCE_COLUMN,
)
from opencrf.records.locking import FormLocked
from opencrf.records.models import FormData, FormStatus, Record
from opencrf.records.save_checks import EditCheckRefused
from opencrf.records.selectors import next_record_id, records_visible_to, require_form_edit
from opencrf.records.services import record_group_set
from opencrf.records.values import (
    blank_value,
    check_value,
    form_columns,
    stored_text_problem,
)

IGNORED = frozenset({"redcap_survey_identifier"})
NOT_IMPORTED = frozenset({"calc", "descriptive", "file"})
STATUS_CODES = frozenset(str(code) for code in FormStatus.values)
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(.*)$")


@dataclass(frozen=True)
class ImportProblem:
    """What is wrong with one value, in REDCap's four columns."""

    record: str
    field: str
    value: str
    message: str


class ImportRefused(Exception):
    """The import was refused as a whole; nothing was written."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = list(problems)


def locked_problem(error: FormLocked) -> ImportProblem:
    """A change to a locked form, in REDCap's words (API clients match on them)."""
    return ImportProblem(error.record, error.field, error.value, error.redcap_message)


class UnknownFields(Exception):
    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(", ".join(names))
        self.names = list(names)


@dataclass(frozen=True)
class ImportOptions:
    overwrite: bool = False  # blanks erase stored values
    force_auto_number: bool = False
    date_format: str = "YMD"  # the order of dates in the data: YMD, MDY or DMY
    reason: str = ""
    # Values another system already stored (a Project XML's ClinicalData): kept as they are,
    # because REDCap keeps values entered before a validation was added. Record ids, events,
    # instruments, instances and statuses are still checked. Calculated fields are neither
    # stored nor computed, as REDCap leaves them when it creates a project from its XML.
    keep_stored_values: bool = False
    # False: every record id of the data must name a record the importer sees (the Data Import
    # Tool's "May the import create new records? No"). An id held by a record the importer may
    # not see (another site's, for a member in a group) is refused with exactly the words of an
    # id that no record holds. Not used with force_auto_number, which creates every record.
    create: bool = True


@dataclass
class ImportResult:
    records: list[str] = field(default_factory=list)  # distinct record ids, in data order
    auto_ids: list[tuple[str, str]] = field(default_factory=list)  # (new id, given id)


@dataclass
class _Instance:
    record: str
    event: Event
    form: str
    instance: int | str  # "new" until numbered
    values: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    keep_empty: bool = False  # the record's row at its event, though it holds nothing


def records_import(
    *,
    context: AuditContext,
    project: Project,
    rows: Sequence[Mapping[str, str]],
    options: ImportOptions = ImportOptions(),
) -> ImportResult:
    """Check every row, then write them all in one transaction, or raise and write nothing."""
    design = design_of(project)
    _refuse_unknown_columns(design, rows)
    planner = _Planner(project, design, options)
    instances = planner.plan(rows)
    _refuse_missing(context, project, planner, instances)
    if planner.problems:
        raise ImportRefused(planner.problems)
    with transaction.atomic():
        return _write(context, project, planner, instances, options)


def missing_record_message(record: str) -> str:
    """The refusal of an id no visible record holds, when the import may not create records."""
    return _("Record %(record)s does not exist, and this import may not create new records.") % {
        "record": record
    }


def _refuse_missing(
    context: AuditContext, project: Project, planner: _Planner, instances: list[_Instance]
) -> None:
    """With `create` off, a problem for each id of the data that no record visible to the
    importer holds: one query, the same for an id no record holds and for one another site's
    record holds, so that neither the words nor the work done tells them apart."""
    options = planner.options
    if options.create or options.force_auto_number:
        return
    assert context.actor is not None
    given = list(dict.fromkeys(instance.record for instance in instances))
    visible = set(
        records_visible_to(context.actor, project)
        .filter(record_id__in=given)
        .values_list("record_id", flat=True)
    )
    field_name = planner.design.record_id_field
    for record in given:
        if record not in visible:
            planner._problem(record, field_name, record, missing_record_message(record))


def _refuse_unknown_columns(design: ProjectDesign, rows: Sequence[Mapping[str, str]]) -> None:
    known = set(form_columns(design.rows)) | {f"{i.name}_complete" for i in design.instruments}
    known |= {f"{i.name}_timestamp" for i in design.instruments}
    known |= {EVENT_COLUMN, REPEAT_FORM_COLUMN, REPEAT_INSTANCE_COLUMN, GROUP_COLUMN} | IGNORED
    seen: dict[str, None] = {}
    for row in rows:
        for name in row:
            if name not in known:
                seen.setdefault(name)
    if seen:
        raise UnknownFields(list(seen))


class _Planner:
    """Turns rows into form instances to save, collecting every problem on the way."""

    def __init__(self, project: Project, design: ProjectDesign, options: ImportOptions) -> None:
        self.project = project
        self.design = design
        self.options = options
        self.columns = form_columns(design.rows)
        self.forms = {instrument.name for instrument in design.instruments}
        self.events = {event.unique_name: event for event in design.events}
        self.problems: list[ImportProblem] = []
        self.groups: dict[str, str] = {}  # record id → unique group name given
        self._designated: dict[tuple[int, str], bool] = {}
        self._repeating: dict[tuple[int, str], bool] = {}
        self._form_names: dict[str, str | None] = {}
        # (event, form, repeat form, whole event) where every value may go: no checks to run.
        self._clear: set[tuple[int, str, str, bool]] = set()
        self._dates = {name: row for name, row in self.columns.items() if _is_date_field(row)}
        self._statuses = {f"{form}_complete" for form in self.forms}

    def plan(self, rows: Sequence[Mapping[str, str]]) -> list[_Instance]:
        merged: dict[tuple[str, int, str, int | str], _Instance] = {}
        new_count = 0
        for row in rows:
            record = row.get(self.design.record_id_field, "").strip()
            if not record:
                self._problem("", self.design.record_id_field, "", "The record name is missing.")
                continue
            # Before any lookup by id: PostgreSQL fails on a NUL in a query's text.
            if (problem := stored_text_problem(self.design.record_id_field, record)) is not None:
                self._problem(problem.value, problem.field, problem.value, problem.message)
                continue
            event = self._event(record, row.get(EVENT_COLUMN, ""))
            if event is None:
                continue
            if row.get(GROUP_COLUMN, "").strip():
                self.groups[record] = row[GROUP_COLUMN].strip()
            for instance in self._instances(record, event, row):
                key: tuple[str, int, str, int | str]
                if instance.instance == "new":
                    new_count += 1
                    key = (record, event.pk, instance.form, f"new{new_count}")
                else:
                    key = (record, event.pk, instance.form, instance.instance)
                found = merged.setdefault(key, instance)
                if found is not instance:
                    found.values.update(instance.values)
                    found.status = instance.status if instance.status is not None else found.status
                    found.keep_empty = found.keep_empty or instance.keep_empty
        return self._without_needless_rows(list(merged.values()))

    def _without_needless_rows(self, instances: list[_Instance]) -> list[_Instance]:
        """Drops the empty rows kept for a record's event when other rows put data there."""
        if not any(item.keep_empty for item in instances):
            return instances
        holding = {(i.record, i.event.pk) for i in instances if self._holds_something(i)}
        return [
            item
            for item in instances
            if not item.keep_empty
            or (item.record, item.event.pk) not in holding
            or self._holds_something(item)
        ]

    def _problem(self, record: str, name: str, value: str, message: str) -> None:
        self.problems.append(ImportProblem(record, name, value, message))

    def _event(self, record: str, name: str) -> Event | None:
        name = name.strip()
        if name and not self.project.is_longitudinal and name not in self.events:
            # REDCap ignores a blank event column on a classic project, not a wrong event name.
            self._problem(record, EVENT_COLUMN, name, f"The event '{name}' does not exist.")
            return None
        if not self.project.is_longitudinal or not name:
            arms = {event.arm_id for event in self.design.events}
            if self.project.is_longitudinal and len(arms) > 1:
                self._problem(record, EVENT_COLUMN, name, "The event name is missing.")
                return None
            return self.design.events[0]
        event = self.events.get(name)
        if event is None:
            self._problem(record, EVENT_COLUMN, name, f"The event '{name}' does not exist.")
        return event

    def _instances(self, record: str, event: Event, row: Mapping[str, str]) -> list[_Instance]:
        repeat_form = row.get(REPEAT_FORM_COLUMN, "").strip()
        instance_text = str(row.get(REPEAT_INSTANCE_COLUMN, "")).strip()
        whole_event = (event.pk, "") in self.design.repeats
        instance = self._instance_number(record, instance_text, repeat_form or whole_event)
        if instance is None:
            return []
        if repeat_form and not self._repeats(event, repeat_form):
            self._problem(
                record,
                REPEAT_FORM_COLUMN,
                repeat_form,
                f"The instrument '{repeat_form}' does not repeat at this event.",
            )
            return []
        by_form: dict[str, _Instance] = {}
        record_field = self.design.record_id_field
        overwrite = self.options.overwrite
        form_names = self._form_names
        for name, raw in row.items():
            value = "" if raw is None else raw if isinstance(raw, str) else str(raw)
            form = form_names.get(name, "")
            if form == "":
                form = form_names[name] = self._form_of(name)
            if form is None or name == record_field or (value == "" and not overwrite):
                continue
            clear = (event.pk, form, repeat_form, whole_event)
            if clear not in self._clear:
                if not self._applies(record, event, form, name, value, repeat_form, whole_event):
                    continue
                if self._always_applies(event, form, repeat_form, whole_event):
                    self._clear.add(clear)
            target = by_form.get(form)
            if target is None:
                number = (
                    instance if repeat_form or whole_event or not self._repeats(event, form) else 1
                )
                target = by_form[form] = _Instance(record, event, form, number)
            self._put(target, name, value)
        if not any(self._holds_something(item) for item in by_form.values()):
            # A row naming only its record and event (or giving only blanks and unticked
            # boxes) still makes the record's row at that event, as REDCap does.
            first = self._first_form(event)
            if first is not None:
                by_form.setdefault(first, _Instance(record, event, first, 1)).keep_empty = True
        return list(by_form.values())

    def _holds_something(self, item: _Instance) -> bool:
        if item.status is not None:
            return True
        return any(value != blank_value(k, self.columns[k]) for k, value in item.values.items())

    def _first_form(self, event: Event) -> str | None:
        """The first instrument, in design order, that `event` collects."""
        for instrument in self.design.instruments:
            if self._has_form(event, instrument.name):
                return instrument.name
        return None

    def _instance_number(self, record: str, text: str, repeats: object) -> int | str | None:
        if not repeats:
            return 1
        if text == "":
            return 1
        if text == "new":
            return "new"
        if text.isascii() and text.isdigit() and 0 < int(text) < 100_000:
            return int(text)
        self._problem(
            record,
            REPEAT_INSTANCE_COLUMN,
            text,
            "The repeat instance must be a whole number above 0 or 'new'.",
        )
        return None

    def _form_of(self, name: str) -> str | None:
        if name.endswith("_complete") and name[: -len("_complete")] in self.forms:
            return name[: -len("_complete")]
        if name.endswith("_timestamp") and name[: -len("_timestamp")] in self.forms:
            return None  # survey timestamps are not imported
        row = self.columns.get(name)
        if row is None or row.field_type in NOT_IMPORTED:
            return None
        return row.form_name

    def _applies(
        self,
        record: str,
        event: Event,
        form: str,
        name: str,
        value: str,
        repeat_form: str,
        whole_event: bool,
    ) -> bool:
        if not self._has_form(event, form):
            label = f"{event.name} (Arm {event.arm.number}: {event.arm.name})"
            self._problem(
                record,
                name,
                value,
                f"This field ('{name}') exists on an instrument that is not designated for the "
                f"event named '{label}'. You are not allowed to import data for this field into "
                "this event.",
            )
            return False
        if repeat_form and form != repeat_form:
            if value:
                self._problem(
                    record,
                    name,
                    value,
                    f"This field is not on the repeating instrument '{repeat_form}' of this row.",
                )
            return False
        if not repeat_form and not whole_event and self._repeats(event, form) and value:
            self._problem(
                record,
                name,
                value,
                f"This field is on the repeating instrument '{form}': give "
                "redcap_repeat_instrument and redcap_repeat_instance.",
            )
            return False
        return True

    def _always_applies(self, event: Event, form: str, repeat_form: str, whole: bool) -> bool:
        """Whether `_applies` passes every value of `form` in such rows, blank or not."""
        if not self._has_form(event, form) or (repeat_form and form != repeat_form):
            return False
        return bool(repeat_form or whole or not self._repeats(event, form))

    def _has_form(self, event: Event, form: str) -> bool:
        key = (event.pk, form)
        if key not in self._designated:
            self._designated[key] = self.design.has_form(self.project, event, form)
        return self._designated[key]

    def _repeats(self, event: Event, form: str) -> bool:
        key = (event.pk, form)
        if key not in self._repeating:
            self._repeating[key] = self.design.repeats_form(event, form)
        return self._repeating[key]

    def _put(self, target: _Instance, name: str, value: str) -> None:
        if name in self._statuses:  # `<form>_complete`, of this target's form (see _form_of)
            if value == "":
                return
            if value not in STATUS_CODES:
                self._problem(target.record, name, value, "The form status must be 0, 1 or 2.")
                return
            target.status = int(value)
            return
        row = self.columns[name]
        given, order, calendar_day = value, self.options.date_format, True
        if name in self._dates:
            value, calendar_day = _iso_date(row, value, order)
        keep = self.options.keep_stored_values
        if value != "" and (problem := _value_problem(name, value, row, keep)) is not None:
            if (calendar_day and given == value) or stored_text_problem(name, given) is not None:
                self._problem(target.record, name, problem.value, problem.message)
            elif not calendar_day:  # not a date written in the chosen order: the file's text
                self._problem(target.record, name, given, _date_message(row, given, order))
            else:  # a real day refused by another rule (a range): the file's text
                self._problem(target.record, name, given, problem.message)
            return
        target.values[name] = value


def _value_problem(name: str, value: str, row: FieldRow, keep: bool) -> ValueProblem | None:
    """A Project XML keeps values as REDCap stored them, but never a NUL or an oversized one."""
    return stored_text_problem(name, value) if keep else check_value(name, value, row)


def _is_date_field(row: FieldRow) -> bool:
    vtype = validation_type(row.text_validation_type_or_show_slider_number.strip())
    return (
        row.field_type == "text"
        and vtype is not None
        and vtype.name.startswith(("date", "datetime"))
    )


def _iso_date(row: FieldRow, value: str, order: str) -> tuple[str, bool]:
    """A date or datetime given as MM/DD/YYYY or DD/MM/YYYY, as REDCap stores it (ISO), and
    whether its day is a day of the calendar (False: `value` is not a date in `order`)."""
    vtype = validation_type(row.text_validation_type_or_show_slider_number.strip())
    if (
        order == "YMD"
        or row.field_type != "text"
        or vtype is None
        or not vtype.name.startswith(("date", "datetime"))
    ):
        return value, True
    match = _DATE.match(value.strip())
    if match is None:
        return value, False
    first, second, year, rest = match.groups()
    month, day = (first, second) if order == "MDY" else (second, first)
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        real = False
    else:
        real = True
    return f"{year}-{int(month):02d}-{int(day):02d}{rest}", real


DATE_ORDERS = {"MDY": "M/D/Y", "DMY": "D/M/Y"}


def _date_message(row: FieldRow, given: str, order: str) -> str:
    """The refusal of a date not written in the chosen order, naming the file's text."""
    kind = row.text_validation_type_or_show_slider_number.strip()
    shown = {"value": given, "format": DATE_ORDERS.get(order, order)}
    if kind.startswith("datetime"):
        return _("%(value)s is not a valid date and time in %(format)s format.") % shown
    return _("%(value)s is not a valid date in %(format)s format.") % shown


def _write(
    context: AuditContext,
    project: Project,
    planner: _Planner,
    instances: list[_Instance],
    options: ImportOptions,
) -> ImportResult:
    result = ImportResult()
    given = list(dict.fromkeys(instance.record for instance in instances))
    try:
        arms: dict[str, Arm] = {}  # a new record starts in the arm of its first event given
        for instance in instances:
            arms.setdefault(instance.record, instance.event.arm)
        records = _records(context, project, planner, given, arms, options, result)
        writes = _numbered(instances, records)
        forms_write_many(
            context=context,
            project=project,
            design=planner.design,
            writes=writes,
            reason=options.reason,
            calculate=not options.keep_stored_values,
        )
    except FormLocked as error:
        raise ImportRefused([locked_problem(error)]) from None
    except EditCheckRefused as error:  # each message names the rule, record and event
        raise ImportRefused(
            [ImportProblem("", "", "", p.message) for p in error.problems]
        ) from None
    except (InvalidInput, PermissionDenied) as error:
        raise ImportRefused([ImportProblem("", "", "", error.message)]) from None
    return result


def _numbered(instances: list[_Instance], records: Mapping[str, Record]) -> list[FormWrite]:
    """The writes, with `new` instances numbered after the highest stored one (one query)."""
    wanted = [item for item in instances if not isinstance(item.instance, int)]
    highest: dict[tuple[int, int, str], int] = {}
    if wanted:
        rows = (
            FormData.objects.filter(record__in=[records[i.record].pk for i in wanted])
            .values_list("record_id", "event_id", "form_name")
            .annotate(top=Max("instance"))
        )
        highest = {(r, e, f): top for r, e, f, top in rows}
    for item in instances:  # numbers given in this import count too
        if isinstance(item.instance, int):
            key = (records[item.record].pk, item.event.pk, item.form)
            highest[key] = max(highest.get(key, 0), item.instance)
    writes = []
    for item in instances:
        record = records[item.record]
        number = item.instance
        if not isinstance(number, int):
            key = (record.pk, item.event.pk, item.form)
            number = highest[key] = highest.get(key, 0) + 1
        writes.append(
            FormWrite(
                record,
                item.event,
                item.form,
                number,
                item.values,
                item.status,
                keep_empty=item.keep_empty,
            )
        )
    return writes


def _records(
    context: AuditContext,
    project: Project,
    planner: _Planner,
    given: list[str],
    arms: Mapping[str, Arm],
    options: ImportOptions,
    result: ImportResult,
) -> dict[str, Record]:
    """The record of each given id: visible ones, else new ones (numbered anew when forced)."""
    assert context.actor is not None
    visible = {
        r.record_id: r
        for r in records_visible_to(context.actor, project)
        .filter(record_id__in=given)
        .select_related("group")
    }
    groups = {group.unique_name: group for group in DataAccessGroup.objects.filter(project=project)}
    for record_id, name in planner.groups.items():
        if name not in groups:
            message = f"The data access group '{name}' does not exist."
            raise ImportRefused([ImportProblem(record_id, GROUP_COLUMN, name, message)])
    new_ids = _new_ids(context, project, given, visible, options)
    wanted = [
        (new_ids[r], groups.get(planner.groups.get(r, "")), arms.get(r))
        for r in given
        if r in new_ids
    ]
    created = records_create_many(context=context, project=project, wanted=wanted)
    kept = [r for r in given if r not in new_ids and r in planner.groups]
    _move(context, project, visible, {r: groups[planner.groups[r]] for r in kept})
    found = {r: visible[r] if r not in new_ids else created[new_ids[r]] for r in given}
    result.records = [found[r].record_id for r in given]
    if options.force_auto_number:
        result.auto_ids = [(new_ids[r], r) for r in given]
    return found


def _move(
    context: AuditContext,
    project: Project,
    visible: Mapping[str, Record],
    wanted: Mapping[str, DataAccessGroup],
) -> None:
    """Moves existing records to the group their rows name, as REDCap does (each move audited
    as `record.group`). A member in a group keeps its records there, as new ones go there."""
    assert context.actor is not None
    if not wanted or member_rights(context.actor, project).group_id is not None:
        return
    for record_id, group in wanted.items():
        record = visible[record_id]
        if record.group_id != group.pk:
            record_group_set(context=context, record=record, group=group)


def _new_ids(
    context: AuditContext,
    project: Project,
    given: list[str],
    visible: Mapping[str, Record],
    options: ImportOptions,
) -> dict[str, str]:
    """Given id → the id to create: itself, or with forced auto-numbering the next numbers
    (with the group prefix for a member in a group, as REDCap numbers them)."""
    if not options.force_auto_number:
        return {r: r for r in given if r not in visible}
    assert context.actor is not None
    group_id = member_rights(context.actor, project).group_id
    group = DataAccessGroup.objects.filter(pk=group_id).first() if group_id else None
    prefix, _dash, first = next_record_id(project, group).rpartition("-")
    start = int(first)
    return {r: f"{prefix}-{start + n}" if prefix else str(start + n) for n, r in enumerate(given)}


def _refuse_unwritable(
    context: AuditContext, project: Project, writes: list[FormWrite], result: ImportResult
) -> None:
    """As forms_write_many checks each form's right, but naming every write refused: its
    record (as the data gave it), a field it sets and that value, and the form."""
    assert context.actor is not None
    rights = member_rights(context.actor, project)
    given = dict(result.auto_ids)
    problems = []
    for write in writes:
        try:
            require_form_edit(rights, write.form)
        except NotFound as error:
            message = error.message
        except PermissionDenied:
            message = _("You may only read the form '%(form)s'; nothing was saved.") % {
                "form": write.form
            }
        else:
            continue
        name, value = next(iter(write.values.items()), (f"{write.form}_complete", ""))
        if not write.values and write.status is not None:
            value = str(write.status)
        record = given.get(write.record.record_id, write.record.record_id)
        problems.append(ImportProblem(record, name, value, message))
    if problems:
        raise ImportRefused(problems)


@dataclass
class ImportPlan:
    """What `records_import` would do: its result and each form write worked out (with its
    changes as `[old, new]`), in the order an import writes and audits them."""

    result: ImportResult
    planned: list[Planned]


def records_import_plan(
    *,
    context: AuditContext,
    project: Project,
    rows: Sequence[Mapping[str, str]],
    options: ImportOptions = ImportOptions(),
) -> ImportPlan:
    """Every check of `records_import`, and its form writes worked out without storing them.

    New records are created and records moved between groups, as the import does, so that the
    writes are planned against real records: the caller must roll its transaction back. The
    Data Import Tool's preview uses it; applying goes through `records_import` itself.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("records_import_plan must run in a transaction that is rolled back")
    design = design_of(project)
    _refuse_unknown_columns(design, rows)
    planner = _Planner(project, design, options)
    instances = planner.plan(rows)
    _refuse_missing(context, project, planner, instances)
    if planner.problems:
        raise ImportRefused(planner.problems)
    result = ImportResult()
    try:
        arms: dict[str, Arm] = {}
        for instance in instances:
            arms.setdefault(instance.record, instance.event.arm)
        given = list(dict.fromkeys(instance.record for instance in instances))
        records = _records(context, project, planner, given, arms, options, result)
        writes = _numbered(instances, records)
        _refuse_unwritable(context, project, writes, result)
        writer = FormWriter(
            context, project, design, options.reason, calculate=not options.keep_stored_values
        )
        planned = writer.plan(writes)
    except FormLocked as error:
        raise ImportRefused([locked_problem(error)]) from None
    except (InvalidInput, PermissionDenied) as error:
        raise ImportRefused([ImportProblem("", "", "", error.message)]) from None
    return ImportPlan(result, [item for item in planned if item.form is not None and item.writes])
