"""One export as a table: typed, labelled variables, and rows of strings streamed in order.

Every format writer takes an `ExportTable`, so an "all data" export, a report (later) and the
command line feed the same writers. The rows come from `records.export.flat_cells` over
`records_visible_to(user, project)` and `export_layout(..., export_right=rights.export)`:
which records and which columns a user may export is decided there, once, for the API and
for every file format; this module only leaves out more (de-identification) and rewrites
cells (hashed record ids, shifted dates).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import groupby
from typing import Any

from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import PermissionDenied
from opencrf.dictionary.choices import Choice, parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.exports.deidentify import (
    Deidentify,
    Keys,
    drops,
    enforced,
    is_date,
    project_secret,
    shift_value,
    validation_of,
)
from opencrf.exports.prefilter import narrowed, value_keys
from opencrf.exports.survey_columns import (
    NOT_COMPLETED,
    identifier_label,
    is_identifier,
    survey_columns,
    timestamp_form,
    timestamp_label,
)
from opencrf.logic import Node, references
from opencrf.projects.models import ExportRight, Project
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import member_rights
from opencrf.records.export import (
    EVENT_COLUMN,
    GROUP_COLUMN,
    REPEAT_FORM_COLUMN,
    REPEAT_INSTANCE_COLUMN,
    STATUS_LABELS,
    Column,
    ExportOptions,
    Layout,
    export_layout,
    flat_cells,
)
from opencrf.records.export_copy import CopiedCsv, copy_csv
from opencrf.records.selectors import records_visible_to

# Strictest first: the right that decides what must be hashed is the strictest one held.
STRICTNESS = (ExportRight.DEIDENTIFIED, ExportRight.REMOVE_IDENTIFIERS, ExportRight.FULL)


class Kind(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    CHOICE = "choice"  # coded values with labels: radio, dropdown, yes/no, checkbox, status


@dataclass(frozen=True)
class Variable:
    """One column of an export: its name, plain-text label, kind and, for choices, codes."""

    name: str
    label: str
    kind: Kind
    form: str = ""
    field_name: str = ""
    choices: tuple[Choice, ...] = ()
    # Values that mean "no value" where a format types the column (a survey timestamp's
    # `[not completed]`): written as missing there, as they are in text formats.
    missing: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ExportRequest:
    """What to export. Empty `fields` and `forms` mean everything the exporter may see."""

    fields: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    events: frozenset[str] = frozenset()
    filter: Node | None = None
    records: tuple[str, ...] = ()
    labels: bool = False  # cells hold choice labels rather than codes
    deidentify: Deidentify = field(default_factory=Deidentify)
    groups: frozenset[int] = frozenset()  # data access group ids; empty = every group
    record_level: bool = False  # the filter keeps every row of a record with a matching row
    repeating: bool = True  # False leaves out the rows of repeating instances
    checkbox_labels: bool = False  # the API's exportCheckboxLabel
    decimal_comma: bool = False  # the API's decimalCharacter=","
    group_column: bool = True  # the group column, for exporters who see every group
    report_order: bool = False  # columns in the order of `fields` (a report's), as REDCap
    # Let the database drop the records the filter cannot match (`prefilter`), unless the
    # records are named (few: judging them costs less than a pass over the project). True
    # gives the same rows (the filter still judges each); False is the plain definition.
    prefilter: bool = True
    # Read only the values of the exported columns and the filter's fields (a pass over few
    # columns of every record); False reads whole forms, faster when most columns are wanted.
    narrow_read: bool = False
    # The survey identifier and each survey form's timestamp (REDCap's report option), as far
    # as the de-identification keeps them (`survey_columns`).
    survey_fields: bool = False


@dataclass
class ExportTable:
    """The variables of one export and a way to stream its rows (each a list of strings in
    variable order). `deidentify` is what was applied: the request raised by the rights."""

    project: Project
    design: ProjectDesign
    layout: Layout
    variables: list[Variable]
    deidentify: Deidentify
    _cells: Callable[[], Iterator[list[Any]]]
    # The rows as CSV written by the database (records/export_copy.py), when it can: None.
    _copy: Callable[[], CopiedCsv | None] = lambda: None

    def copied_csv(self) -> CopiedCsv | None:
        """The data lines as PostgreSQL writes them, the same bytes as `rows` through
        Python's csv writer; None when only the Python path can make them."""
        return self._copy()

    def rows(self) -> Iterator[list[str]]:
        # Every cell is text but the repeat instance (an int, or "" on a non-repeat row).
        names = self.names
        if REPEAT_INSTANCE_COLUMN not in names:
            return self._cells()  # no generator between the rows and the writer
        return self._instance_as_text(names.index(REPEAT_INSTANCE_COLUMN))

    def _instance_as_text(self, index: int) -> Iterator[list[str]]:
        for cells in self._cells():
            cells[index] = str(cells[index])
            yield cells

    @property
    def names(self) -> list[str]:
        return [variable.name for variable in self.variables]


def export_table(user: User, project: Project, request: ExportRequest) -> ExportTable:
    """The export `user` may make of `project`; NotFound for a non-member, PermissionDenied
    for a member without an export right on any instrument."""
    rights = member_rights(user, project)
    design = design_of(project)
    exported = [i.name for i in design.instruments if rights.export(i.name) != ExportRight.NONE]
    if not exported or not design.rows:
        raise PermissionDenied(_("You may not export data from any instrument of this project."))
    if request.filter is not None:
        refuse_hidden(rights, project, references_of(request.filter))
    strictest = min((_known(rights.export(name)) for name in exported), key=STRICTNESS.index)
    deidentify = enforced(request.deidentify, record_field=design.rows[0], right=strictest)
    chosen = request.fields or request.forms  # the record id always leads a selection
    fields = (*request.fields, design.record_id_field) if chosen else ()
    layout = export_layout(
        project,
        design,
        fields=fields,
        forms=request.forms,
        groups=request.group_column and rights.group_id is None and project.groups.exists(),
        export_right=rights.export,
    )
    kept = [
        c for c in layout.data if c.row is None or not drops(deidentify, c.row, layout.record_field)
    ]
    layout = replace(layout, data=_in_order(kept, request.fields) if request.report_order else kept)
    if request.survey_fields:
        layout.extension = survey_columns(project, design, layout, deidentify)
    records = records_visible_to(user, project)
    if request.records:
        records = records.filter(record_id__in=request.records)
    if request.groups:
        records = records.filter(group_id__in=request.groups)
    # Named records are few: judging them costs less than the prefilter's pass.
    prefilter = request.filter if request.prefilter and not request.records else None
    keys = None
    if request.narrow_read:
        keys = frozenset(column.name for column in layout.data)
        keys |= value_keys(request.filter) if request.filter is not None else set()
    options = ExportOptions(
        labels=request.labels,
        checkbox_labels=request.checkbox_labels,
        groups=layout.groups,
        events=request.events,
        filter=request.filter,
        decimal_comma=request.decimal_comma,
        keys=keys,
    )
    rewrite = _rewriter(project, layout, deidentify)

    def cells() -> Iterator[list[Any]]:
        chosen, read = records, options
        if prefilter is not None:  # here, not before: a table is often built for its columns
            chosen, only = narrowed(records, project.pk, design, prefilter)
            read = replace(options, only=only)
        rows = flat_cells(project, design, chosen, layout, read)
        if request.record_level and request.filter is not None:
            everything = replace(read, filter=None)
            rows = _whole_records(flat_cells(project, design, chosen, layout, everything), rows)
        if not request.repeating and layout.repeating:
            at = layout.header.index(REPEAT_FORM_COLUMN)
            rows = (row for row in rows if not row[at] and not row[at + 1])
        return rows if rewrite is None else map(rewrite, rows)

    def copied() -> CopiedCsv | None:
        if rewrite is not None or prefilter is not None or request.record_level:
            return None
        if not request.repeating and layout.repeating:
            return None
        return copy_csv(project, design, records, layout, options)

    variables = _variables(design, layout)
    return ExportTable(project, design, layout, variables, deidentify, cells, copied)


def filterable(rights: Rights, project: Project) -> frozenset[str]:
    """The fields a member may filter or sort a report (or the API's filterLogic) by: those
    their rights would show as columns of an export of everything (export right not "none",
    identifiers and free text as that right keeps them), of instruments whose data-entry right
    is not "No access". A filter on any other field would tell its values by which records
    are listed, so it is refused, never applied."""
    design = design_of(project)
    if not design.rows:
        return frozenset()
    exported = [i.name for i in design.instruments if rights.export(i.name) != ExportRight.NONE]
    rights_of = [_known(rights.export(name)) for name in exported] or [ExportRight.DEIDENTIFIED]
    strictest = min(rights_of, key=STRICTNESS.index)
    deidentify = enforced(Deidentify(), record_field=design.rows[0], right=strictest)
    layout = export_layout(project, design, export_right=rights.export)
    allowed = {design.record_id_field}
    for column in layout.data:
        form = column.row.form_name if column.row is not None else column.form
        if not rights.can_see_form(form):
            continue
        if column.row is None:
            allowed.add(column.name)  # a form's status, `<form>_complete`
        elif not drops(deidentify, column.row, layout.record_field):
            allowed.add(column.row.field_name)
    return frozenset(allowed)


def references_of(logic: Node) -> list[str]:
    """The field names `logic` reads, in name order (a checkbox option as its field)."""
    return sorted({name for _event, name in references(logic)})


def hidden_names(rights: Rights, project: Project, names: list[str]) -> list[str]:
    """Those of `names` that are fields (or form statuses) the member may not filter by;
    names that are no field at all are left to the checks that name them as unknown."""
    design = design_of(project)
    known = {row.field_name for row in design.rows}
    known |= {f"{i.name}_complete" for i in design.instruments}
    allowed = filterable(rights, project)
    return list(dict.fromkeys(n for n in names if n in known and n not in allowed))


def refuse_hidden(rights: Rights, project: Project, names: list[str]) -> None:
    """PermissionDenied naming the fields of `names` the member may not see."""
    hidden = hidden_names(rights, project, names)
    if hidden:
        raise PermissionDenied(
            _(
                "This filter or ordering uses fields you have no access to: %(names)s. "
                "Nothing was listed or exported."
            )
            % {"names": ", ".join(hidden)}
        )


def _in_order(columns: list[Column], fields: tuple[str, ...]) -> list[Column]:
    """The data columns in the order of `fields`, as REDCap shows and exports a report: each
    field's columns (all options of a checkbox together) where the report lists the field, not
    where the dictionary does. The record id, event, repeat and group columns stay first (they
    are not data columns); a column of no listed field keeps its place after the listed ones.
    The rows follow, as they are built column by column from the layout: nothing per row."""
    position = {name: index for index, name in enumerate(fields)}
    unlisted = len(position)

    def rank(column: Column) -> int:
        return position.get(column.row.field_name if column.row else column.name, unlisted)

    return sorted(columns, key=rank)  # stable: a checkbox's options keep their order


def _whole_records(
    every: Iterator[list[Any]], matching: Iterator[list[Any]]
) -> Iterator[list[Any]]:
    """Every row of the records that have a matching row. Both streams come in the same
    record order and the matching records are a subsequence of all, so they are walked in
    step: memory holds one record's rows, whatever the size of the project."""
    wanted = (record_id for record_id, _rows in groupby(matching, key=lambda row: row[0]))
    target = next(wanted, None)
    for record_id, rows in groupby(every, key=lambda row: row[0]):
        if target is None:
            return
        if record_id == target:
            yield from rows
            target = next(wanted, None)


def _known(right: str) -> str:
    """The right, or `deidentified` for a value this code does not know (as the layout reads
    it): an unexpected stored value never widens an export."""
    return right if right in STRICTNESS else ExportRight.DEIDENTIFIED


def _rewriter(
    project: Project, layout: Layout, deidentify: Deidentify
) -> Callable[[list[Any]], list[Any]] | None:
    """The cell rewriting the options ask for: dates and survey timestamps shifted (by the
    record's offset, from its real id) before the id is hashed; None when there is none (no
    call per row)."""
    shifted: set[str] = set()
    if deidentify.shift_dates:
        shifted |= {c.name for c in layout.data if c.row is not None and is_date(c.row)}
    if deidentify.shifts_survey_timestamps and layout.extension is not None:
        added = layout.extension.positions(layout.base_header)
        shifted |= {name for _at, name, _label in added if not is_identifier(name)}
    shifted.discard(layout.record_field)
    if not (deidentify.hash_record_id or shifted):
        return None
    keys = Keys(project_secret(project))
    dates = [index for index, name in enumerate(layout.header) if name in shifted]
    shift = bool(dates)

    def rewrite(row: list[Any]) -> list[Any]:
        record_id = row[0]
        if shift:
            days = keys.shift_days(record_id)
            for index in dates:
                row[index] = shift_value(row[index], days)
        if deidentify.hash_record_id:
            row[0] = keys.record_hash(record_id)
        return row

    return rewrite


def _variables(design: ProjectDesign, layout: Layout) -> list[Variable]:
    rows = {row.field_name: row for row in design.rows}
    record_row = rows[layout.record_field]
    variables = [Variable(layout.record_field, plain(record_row.field_label), Kind.STRING)]
    if layout.longitudinal:
        variables.append(Variable(EVENT_COLUMN, "Event Name", Kind.STRING))
    if layout.repeating:
        variables.append(Variable(REPEAT_FORM_COLUMN, "Repeat Instrument", Kind.STRING))
        variables.append(Variable(REPEAT_INSTANCE_COLUMN, "Repeat Instance", Kind.INTEGER))
    if layout.groups:
        variables.append(Variable(GROUP_COLUMN, "Data Access Group", Kind.STRING))
    for column in layout.data:
        if column.name != layout.record_field:
            variables.append(_variable(column))
    if layout.extension is None:
        return variables
    added = layout.extension.positions(layout.base_header)
    return _spliced(variables, [(at, _survey_variable(name)) for at, name, _label in added])


def _spliced(base: list[Variable], added: list[tuple[int, Variable]]) -> list[Variable]:
    """`base` with each (index, variable) of `added` (indexes ascending) put before that index."""
    out: list[Variable] = []
    start = 0
    for position, variable in added:
        out += base[start:position]
        out.append(variable)
        start = position
    return out + base[start:]


def _survey_variable(name: str) -> Variable:
    if is_identifier(name):
        return Variable(name, identifier_label(), Kind.STRING)
    missing = frozenset({NOT_COMPLETED})
    return Variable(name, timestamp_label(), Kind.DATETIME, timestamp_form(name), missing=missing)


STATUS_CHOICES = tuple(Choice(code, label) for code, label in STATUS_LABELS.items())
BOOLEAN_CHOICES = {
    "yesno": (Choice("1", "Yes"), Choice("0", "No")),
    "truefalse": (Choice("1", "True"), Choice("0", "False")),
}
CHECKBOX_CHOICES = (Choice("0", "Unchecked"), Choice("1", "Checked"))


def _variable(column: Column) -> Variable:
    row = column.row
    if row is None:
        return Variable(column.name, "Complete?", Kind.CHOICE, column.form, "", STATUS_CHOICES)
    label = plain(row.field_label)
    base = Variable(column.name, label, Kind.STRING, column.form, row.field_name)
    if column.is_checkbox:
        option = next(
            (
                c.label
                for c in parse_choices(row.select_choices_or_calculations)
                if c.code == column.code
            ),
            column.code,
        )
        return replace(
            base,
            label=f"{label} (choice={plain(option)})",
            kind=Kind.CHOICE,
            choices=CHECKBOX_CHOICES,
        )
    if row.field_type in ("radio", "dropdown"):
        choices = tuple(
            Choice(c.code, plain(c.label))
            for c in parse_choices(row.select_choices_or_calculations)
        )
        return replace(base, kind=Kind.CHOICE, choices=choices)
    if row.field_type in BOOLEAN_CHOICES:
        return replace(base, kind=Kind.CHOICE, choices=BOOLEAN_CHOICES[row.field_type])
    return replace(base, kind=_kind_of(row))


def _kind_of(row: FieldRow) -> Kind:
    if row.field_type in ("calc", "slider"):
        return Kind.NUMBER
    if row.field_type != "text":
        return Kind.STRING
    validation = validation_of(row)
    if validation == "integer":
        return Kind.INTEGER
    if validation.startswith("number"):
        return Kind.NUMBER
    if validation.startswith("datetime"):
        return Kind.DATETIME
    if validation.startswith("date"):
        return Kind.DATE
    if validation.startswith("time"):
        return Kind.TIME
    return Kind.STRING


NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def parse_number(value: str) -> float | None:
    """A stored number as a float; None for anything else (Python's `float` would also take
    `nan`, `inf` and `1_000`, which no stored number is)."""
    if NUMBER.fullmatch(value) is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def plain(label: str) -> str:
    """A label as plain text: tags removed, whitespace (newlines too) collapsed to spaces."""
    return " ".join(strip_tags(label).split())
