"""The Data Import Tool: preview what importing a file would do, then apply it, all or nothing.

The preview runs `records_import_plan`: every check of `records_import`, the API's import
service (rules, rights, groups, ids another site holds), new records created and the form
writes worked out with their changes `[old, new]` — calculations included — without storing a
form; the transaction is then rolled back. Applying runs `records_import` itself on the staged
file and commits only when the outcome's fingerprint (a SHA-256 over the entries it audits)
equals the one previewed: data changed in between give a new preview instead of a surprise.

While a preview runs it holds the project's audit-chain lock (the new records are audited
before the rollback), so other saves in the project wait for it (see bench/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import Any

import orjson
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import NotFound
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.projects.models import Project
from opencrf.records.bulk import Planned
from opencrf.records.export import (
    EVENT_COLUMN,
    GROUP_COLUMN,
    REPEAT_INSTANCE_COLUMN,
    eav_header,
    export_layout,
)
from opencrf.records.import_files import ImportFileError, ParsedFile, read_import_file
from opencrf.records.import_staging import StagedImport
from opencrf.records.imports import (
    ImportOptions,
    ImportProblem,
    ImportRefused,
    ImportResult,
    UnknownFields,
    records_import,
    records_import_plan,
)

SHOWN_CHANGES = 500  # the preview lists this many changes, and counts them all
SHOWN_ERRORS = 2000


@dataclass(frozen=True)
class Change:
    record: str
    event: str
    instrument: str
    instance: int | None
    field: str
    old: str
    new: str
    new_record: bool = False  # shown without an old value: the record did not exist


@dataclass(frozen=True)
class RowError:
    """One reason the file is refused: its line in the file (None: the whole file)."""

    row: int | None
    record: str
    field: str
    value: str
    message: str


@dataclass
class ImportOutcome:
    file_rows: int = 0
    new_records: list[str] = field(default_factory=list)
    updated_records: list[str] = field(default_factory=list)
    # Rows of the file, each counted once: new_rows + updated_rows + unchanged_rows = file_rows.
    new_rows: int = 0  # rows of new records
    updated_rows: int = 0  # rows that change a record that exists
    unchanged_rows: int = 0
    change_count: int = 0
    changes: list[Change] = field(default_factory=list)  # the first SHOWN_CHANGES
    errors: list[RowError] = field(default_factory=list)
    fingerprint: str = ""
    applied: bool = False
    stale: bool = False  # asked to apply, but the outcome differs from the one previewed

    @property
    def error_count(self) -> int:
        return len(self.errors)

    @property
    def shown_errors(self) -> list[RowError]:
        return self.errors[:SHOWN_ERRORS]


def import_tool_run(
    *,
    context: AuditContext,
    project: Project,
    staged: StagedImport,
    max_bytes: int,
    apply: bool = False,
    expected: str = "",
) -> ImportOutcome:
    """Preview (default) or apply the staged file. Applying writes only when the outcome
    equals `expected` (the previewed fingerprint) and has no error; otherwise nothing."""
    design = design_of(project)
    try:
        parsed = read_import_file(staged.data, staged.options.file, design, max_bytes=max_bytes)
    except ImportFileError as error:
        return _refused([RowError(None, "", "", "", error.message)])
    # The entries this run writes are told apart from any other by their request id.
    context = replace(context, request_id=context.request_id or uuid.uuid4().hex)
    with transaction.atomic():
        head = AuditEvent.objects.filter(project_id=project.pk).aggregate(top=Max("sequence"))
        top = head["top"] or 0
        outcome = _attempt(context, project, design, parsed, staged, top, apply=apply)
        if outcome.new_records and not staged.options.allow_new:  # numbered automatically
            outcome = _no_new_records(parsed, design, outcome)
        outcome.stale = apply and not outcome.errors and outcome.fingerprint != expected
        outcome.applied = apply and not outcome.errors and not outcome.stale
        if not outcome.applied:
            transaction.set_rollback(True)
    return outcome


def _refused(errors: list[RowError]) -> ImportOutcome:
    outcome = ImportOutcome(errors=errors)
    outcome.fingerprint = _digest([], [], errors)
    return outcome


def _attempt(
    context: AuditContext,
    project: Project,
    design: ProjectDesign,
    parsed: ParsedFile,
    staged: StagedImport,
    head: int,
    *,
    apply: bool,
) -> ImportOutcome:
    options = ImportOptions(
        overwrite=staged.options.overwrite,
        force_auto_number=staged.options.force_auto_number,
        date_format=staged.options.file.date_format,
        create=staged.options.allow_new,
    )
    rows = parsed.rows
    try:
        if apply:
            result = records_import(context=context, project=project, rows=rows, options=options)
            planned: list[Planned] = []
        else:
            plan = records_import_plan(context=context, project=project, rows=rows, options=options)
            result, planned = plan.result, plan.planned
    except UnknownFields as error:
        unknown = [_unknown_column(parsed, design, name) for name in error.names]
        outcome = _refused(
            _by_row(unknown + _other_errors(context, project, design, parsed, options, error.names))
        )
    except ImportRefused as error:
        outcome = _refused(_by_row([_row_error(parsed, design, p) for p in error.problems]))
    except NotFound as error:  # a form the member may not see, as the API's import refuses it
        outcome = _refused([RowError(None, "", "", "", error.message)])
    else:
        entries = (
            AuditEvent.objects.filter(
                project_id=project.pk, sequence__gt=head, request_id=context.request_id
            )
            .order_by("sequence")
            .values_list("action", "record", "event", "instrument", "instance", "changes")
        )
        written = chain(entries.iterator(chunk_size=2000), _as_entries(planned))
        outcome = _summary(written, parsed, design, result, project.is_longitudinal)
    outcome.file_rows = parsed.source_rows
    return outcome


def _other_errors(
    context: AuditContext,
    project: Project,
    design: ProjectDesign,
    parsed: ParsedFile,
    options: ImportOptions,
    unknown: Sequence[str],
) -> list[RowError]:
    """The errors of the file's other cells, its unknown columns left out, so that one upload
    lists them all. Runs the plan in the caller's transaction, which is rolled back."""
    skipped = set(unknown)
    rows = [{k: v for k, v in row.items() if k not in skipped} for row in parsed.rows]
    try:
        records_import_plan(context=context, project=project, rows=rows, options=options)
    except ImportRefused as error:
        return [_row_error(parsed, design, p) for p in error.problems]
    except (UnknownFields, NotFound):
        return []
    return []


def _by_row(errors: list[RowError]) -> list[RowError]:
    """Errors in the order of the file's lines (those of the whole file first)."""
    return sorted(errors, key=lambda error: error.row or 0)


def _as_entries(
    planned: Iterable[Planned],
) -> Iterator[tuple[str, str, str, str, int | None, Mapping[str, Any]]]:
    """Planned form writes as the `form.update` audit entries applying them writes."""
    for item in planned:
        write = item.write
        yield (
            "form.update",
            write.record.record_id,
            write.event.unique_name,
            write.form,
            write.instance,
            item.changes,
        )


def _no_new_records(
    parsed: ParsedFile, design: ProjectDesign, outcome: ImportOutcome
) -> ImportOutcome:
    """The outcome refused: each new record is an error when the import may only update."""
    field = design.record_id_field
    errors = [
        RowError(
            parsed.line_of(record, "", "", field),
            record,
            field,
            record,
            _("Record %(record)s does not exist, and this import may not create new records.")
            % {"record": record},
        )
        for record in outcome.new_records
    ]
    refused = _refused(errors)
    refused.file_rows = outcome.file_rows
    return refused


def _unknown_column(parsed: ParsedFile, design: ProjectDesign, name: str) -> RowError:
    """An unknown column: on the header line, or on its first line and record in EAV."""
    found = next(((i, ln) for (i, n), ln in parsed.value_lines.items() if n == name), None)
    message = _("The field '%(name)s' is not in the project as a real data field.") % {"name": name}
    if found is None:
        return RowError(parsed.header_line, "", name, "", message)
    index, line = found
    row = parsed.rows[index]
    return RowError(line, row.get(design.record_id_field, ""), name, row.get(name, ""), message)


def _row_error(parsed: ParsedFile, design: ProjectDesign, problem: ImportProblem) -> RowError:
    record = problem.record or _record_named(parsed, design, problem.message)
    line = parsed.line_of(record, problem.field, problem.value, design.record_id_field)
    return RowError(line, record, problem.field, problem.value, problem.message)


def _record_named(parsed: ParsedFile, design: ProjectDesign, message: str) -> str:
    """The one record id of the file that a message without a record names (a refusal raised
    while writing, such as an id that is taken), else ""."""
    records = {row.get(design.record_id_field, "").strip() for row in parsed.rows} - {""}
    named = {
        record
        for record in records
        if record in message
        and re.search(rf"(?<![^\s'\"]){re.escape(record)}(?=[\s.,'\"]|$)", message)
    }
    return named.pop() if len(named) == 1 else ""


def _summary(
    entries: Iterable[tuple[str, str, str, str, int | None, Mapping[str, Any]]],
    parsed: ParsedFile,
    design: ProjectDesign,
    result: ImportResult,
    longitudinal: bool,
) -> ImportOutcome:
    outcome = ImportOutcome()
    digest = hashlib.sha256()
    new: dict[str, None] = {}
    touched: dict[str, None] = {}
    places: set[tuple[str, str, int]] = set()  # (record, event, instance) written
    for action, record, event, instrument, instance, changes in entries:
        if action == "record.create":
            new.setdefault(record)
        if action not in ("form.update", "record.group"):
            continue
        touched.setdefault(record)
        places.add((record, event, instance or 1))
        row = [action, record, event, instrument, instance, changes]
        digest.update(orjson.dumps(row, option=orjson.OPT_SORT_KEYS))
        outcome.change_count += len(changes)
        for name, (old, after) in changes.items():
            if len(outcome.changes) >= SHOWN_CHANGES:
                break
            shown = GROUP_COLUMN if action == "record.group" else name
            created = record in new  # its record.create entry comes before its form writes
            outcome.changes.append(
                Change(record, event, instrument, instance, shown, old, after, created)
            )
    outcome.new_records = list(new)
    outcome.updated_records = [record for record in touched if record not in new]
    _count_rows(outcome, parsed, design, result, places, set(new), longitudinal)
    digest.update(orjson.dumps(outcome.new_records))
    outcome.fingerprint = digest.hexdigest()
    return outcome


def _count_rows(
    outcome: ImportOutcome,
    parsed: ParsedFile,
    design: ProjectDesign,
    result: ImportResult,
    places: set[tuple[str, str, int]],
    new: set[str],
    longitudinal: bool,
) -> None:
    """Counts each row of the file once: a new record's, one that changes a record that
    exists (its record, event and instance written, or the record moved to the group it
    names), or one that changes nothing stored. An EAV file's rows are its lines."""
    renamed = {given: made for made, given in result.auto_ids}
    first_event = design.events[0].unique_name if design.events else ""
    moved = {record for (record, event, _i) in places if event == ""}
    for index, row in enumerate(parsed.rows):
        weight = parsed.weight(index)
        record = row.get(design.record_id_field, "").strip()
        record = renamed.get(record, record)
        # On a classic project the one event is the project's, whatever the column says.
        given = row.get(EVENT_COLUMN, "").strip() if longitudinal else ""
        event = given or first_event
        instance_text = str(row.get(REPEAT_INSTANCE_COLUMN, "")).strip() or "1"
        if record in new:
            outcome.new_rows += weight
        elif (
            not instance_text.isdigit()  # "new": a new instance is written
            or (record, event, int(instance_text)) in places
            or (record in moved and row.get(GROUP_COLUMN, "").strip())
        ):
            outcome.updated_rows += weight
        else:
            outcome.unchanged_rows += weight


def _digest(new: Sequence[str], changes: Sequence[Change], errors: Sequence[RowError]) -> str:
    body = [list(new), [c.__dict__ for c in changes], [e.__dict__ for e in errors]]
    return hashlib.sha256(orjson.dumps(body)).hexdigest()


def import_template(project: Project, *, layout: str, grouped: bool) -> list[str]:
    """The header row of an import file for `project`: flat, the export's columns for every
    field (checkbox options as `field___code`, event, repeat and group columns where the
    project has them); EAV, its key columns."""
    design = design_of(project)
    groups = not grouped and project.groups.exists()
    columns = export_layout(project, design, groups=groups)
    if layout == "eav":
        return list(eav_header(columns))
    return columns.header
