"""Study data as REDCap exports it: flat rows (record × event × repeat instance) or EAV.

The rows follow REDCap's layout exactly (spec §2.1), because the API and every export share
it: the record id column, `redcap_event_name` in longitudinal projects, the repeat columns
when anything repeats, the group column when asked, then fields in dictionary order with each
checkbox option as `field___code` and `<form>_complete` after its form's last field. Cells
that do not apply to a row (a form not used at the event, another form's columns in a repeat
row) are blank; applicable empty checkboxes are `0`, an untouched form's status `0`.

Records are read a chunk at a time in natural id order, so memory stays flat whatever the
size of the project.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any, Protocol

import orjson
from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.utils.html import strip_tags

from opencrf.core.numbers import whole_number
from opencrf.dictionary.choices import checkbox_column, parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign
from opencrf.files.selectors import files_in_project
from opencrf.logic import LogicError, Node, evaluate_ast
from opencrf.logic.dates import real_clock
from opencrf.projects.models import DataAccessGroup, Event, Project
from opencrf.records.models import FormData, Record, RecordArm

CHUNK = 500
EVENT_COLUMN = "redcap_event_name"
REPEAT_FORM_COLUMN = "redcap_repeat_instrument"
REPEAT_INSTANCE_COLUMN = "redcap_repeat_instance"
GROUP_COLUMN = "redcap_data_access_group"
STATUS_LABELS = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
BOOLEAN_LABELS = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}


@dataclass(frozen=True)
class Column:
    """One data column: its export name, its form, and what it holds."""

    name: str
    form: str
    row: FieldRow | None = None  # None for `<form>_complete`
    code: str = ""  # the option of a checkbox column

    @property
    def is_status(self) -> bool:
        return self.row is None

    @property
    def is_checkbox(self) -> bool:
        return self.row is not None and self.row.field_type == "checkbox"


@dataclass(frozen=True)
class ExportOptions:
    labels: bool = False  # rawOrLabel=label
    checkbox_labels: bool = False  # exportCheckboxLabel
    blank_gray_status: bool = False  # exportBlankForGrayFormStatus
    groups: bool = False  # exportDataAccessGroups
    events: frozenset[str] = frozenset()  # unique event names; empty = all
    filter: Node | None = None  # filterLogic: rows for which it is true
    decimal_comma: bool = False  # decimalCharacter=",": numbers and calculations with a comma
    # The stored keys to read (None: every value). A narrow read names the layout's columns
    # and the filter's fields: the database extracts them, no form's whole JSON is decoded.
    keys: frozenset[str] | None = None
    only: frozenset[int] | None = None  # the record pks to keep while reading (None: all)


class ColumnExtension(Protocol):
    """Columns an app above records adds to flat exports (surveys: `redcap_survey_identifier`
    and `<form>_timestamp`). Records may not import those apps (DESIGN §3): they register a
    factory with `column_extension_register`; the caller of `export_layout` asks
    `column_extension` for one and puts it in `Layout.extension`."""

    def positions(self, header: Sequence[str]) -> list[tuple[int, str, str]]:
        """(index in the header without the added columns, name, label header) of each
        added column, indexes ascending."""
        ...

    def load(self, record_pks: Sequence[int]) -> None:
        """Read what a chunk of records' cells need, in a few queries."""
        ...

    def cells(
        self, record: StoredRecord, event: Event, repeat_form: str, instance: int | None
    ) -> list[str]:
        """The added cells of one row, in `positions` order."""
        ...


ColumnExtensionFactory = Callable[[Project, ProjectDesign, "Layout"], "ColumnExtension | None"]
_EXTENSIONS: dict[str, ColumnExtensionFactory] = {}
# The survey columns' extension (registered by surveys) and its identifier column: named here
# so that exports, which may not import surveys either, can ask for them.
SURVEY_FIELDS_EXTENSION = "survey_fields"
SURVEY_IDENTIFIER_COLUMN = "redcap_survey_identifier"
SURVEY_NOT_COMPLETED = "[not completed]"  # a `<form>_timestamp` of a response not finished


def column_extension_register(name: str, factory: ColumnExtensionFactory) -> None:
    _EXTENSIONS[name] = factory


def column_extension(
    name: str, project: Project, design: ProjectDesign, layout: Layout
) -> ColumnExtension | None:
    """The registered extension's columns for this layout; None when it adds none."""
    factory = _EXTENSIONS.get(name)
    return None if factory is None else factory(project, design, layout)


def _spliced(base: list[Any], added: Sequence[tuple[int, Any]]) -> list[Any]:
    """`base` with each (index, value) of `added` (indexes ascending) put before that index."""
    out: list[Any] = []
    start = 0
    for position, value in added:
        out += base[start:position]
        out.append(value)
        start = position
    out += base[start:]
    return out


@dataclass
class Layout:
    """The columns of one export, in REDCap's order."""

    record_field: str
    with_record_id: bool
    longitudinal: bool
    repeating: bool
    groups: bool
    data: list[Column] = field(default_factory=list)
    extension: ColumnExtension | None = None  # columns an app above records adds

    @property
    def header(self) -> list[str]:
        base = self.base_header
        if self.extension is None:
            return base
        return _spliced(base, [(at, name) for at, name, _l in self.extension.positions(base)])

    @property
    def base_header(self) -> list[str]:
        """The header without the columns of `extension`."""
        names = [self.record_field] if self.with_record_id else []
        if self.longitudinal:
            names.append(EVENT_COLUMN)
        if self.repeating:
            names += [REPEAT_FORM_COLUMN, REPEAT_INSTANCE_COLUMN]
        if self.groups:
            names.append(GROUP_COLUMN)
        return names + [column.name for column in self.data if column.name != self.record_field]

    def label_header(self, design: ProjectDesign) -> list[str]:
        """The header as REDCap writes it with `rawOrLabelHeaders=label`: field labels (tags
        removed), `Label (choice=Choice)` for checkbox options, `Complete?` for each status."""
        labels = {row.field_name: strip_tags(row.field_label).strip() for row in design.rows}
        names = [labels.get(self.record_field, self.record_field)] if self.with_record_id else []
        if self.longitudinal:
            names.append("Event Name")
        if self.repeating:
            names += ["Repeat Instrument", "Repeat Instance"]
        if self.groups:
            names.append("Data Access Group")
        for column in self.data:
            if column.name == self.record_field:
                continue
            if column.row is None:
                names.append("Complete?")
            elif column.is_checkbox:
                choice = strip_tags(_choice_label(column.row, column.code)).strip()
                names.append(f"{labels[column.row.field_name]} (choice={choice})")
            else:
                names.append(labels[column.row.field_name])
        if self.extension is not None:
            added = self.extension.positions(self.base_header)
            return _spliced(names, [(at, label) for at, _n, label in added])
        return names


def export_layout(
    project: Project,
    design: ProjectDesign,
    *,
    fields: Iterable[str] = (),
    forms: Iterable[str] = (),
    groups: bool = False,
    export_right: Callable[[str], str] = lambda form: "full",
) -> Layout:
    """The columns for the chosen fields and forms (none chosen: everything).

    `export_right(form)` is the exporter's right on each form (REDCap's data export rights):
    `none` leaves the form out; `remove_identifiers` drops fields marked as identifiers;
    `deidentified` also drops free text (text without validation, notes) and dates.
    The record id always stays, as in REDCap.
    """
    fields, forms = set(fields), set(forms)
    everything = not fields and not forms
    layout = Layout(
        record_field=design.record_id_field,
        with_record_id=everything
        or design.record_id_field in fields
        or _first_form(design) in forms,
        longitudinal=project.is_longitudinal,
        repeating=bool(design.repeats),
        groups=groups,
    )
    rows = design.rows
    for index, row in enumerate(rows):
        right = export_right(row.form_name)
        chosen = everything or row.field_name in fields or row.form_name in forms
        record_id = row.field_name == layout.record_field
        if chosen and (record_id or _may_export(row, right)):
            layout.data.extend(_columns_of(row))
        last_of_form = index + 1 == len(rows) or rows[index + 1].form_name != row.form_name
        status = f"{row.form_name}_complete"
        wanted = everything or status in fields or row.form_name in forms
        if last_of_form and wanted and right != "none":
            layout.data.append(Column(status, row.form_name))
    return layout


def _may_export(row: FieldRow, right: str) -> bool:
    if right == "full":
        return True
    if right == "none" or row.identifier.strip().lower() == "y":
        return False
    if right == "remove_identifiers":
        return True
    validation = row.text_validation_type_or_show_slider_number.strip()
    free_text = row.field_type == "notes" or (row.field_type == "text" and not validation)
    return not free_text and not validation.startswith(("date", "datetime"))


def _first_form(design: ProjectDesign) -> str:
    return design.rows[0].form_name if design.rows else ""


def _columns_of(row: FieldRow) -> list[Column]:
    if row.field_type == "descriptive":
        return []
    if row.field_type == "checkbox":
        return [
            Column(checkbox_column(row.field_name, choice.code), row.form_name, row, choice.code)
            for choice in parse_choices(row.select_choices_or_calculations)
        ]
    return [Column(row.field_name, row.form_name, row)]


def flat_rows(
    project: Project,
    design: ProjectDesign,
    records: QuerySet[Record],
    layout: Layout,
    options: ExportOptions = ExportOptions(),
) -> Iterator[dict[str, Any]]:
    """Every row of the export as a {column: value} dict, in the layout's column order."""
    header = layout.header
    for cells in flat_cells(project, design, records, layout, options):
        yield dict(zip(header, cells, strict=True))


def flat_cells(
    project: Project,
    design: ProjectDesign,
    records: QuerySet[Record],
    layout: Layout,
    options: ExportOptions = ExportOptions(),
) -> Iterator[list[Any]]:
    """Every row of the export as a list of cells in `layout.header` order, record by record
    in natural order, read in chunks."""
    writer = _RowWriter(project, design, layout, options)
    if _one_query(project, design, writer):
        yield from _classic_cells(project, design, records, writer)
        return
    ordered = stored_records(records)
    if options.only is not None:
        only = options.only
        ordered = (record for record in ordered if record.pk in only)
    rows_of = writer.rows_of
    while chunk := list(islice(ordered, CHUNK)):
        by_record: dict[int, list[StoredForm]] = {}
        pks = [record.pk for record in chunk]
        for form in stored_forms(pks, using=records.db, keys=options.keys):
            found = by_record.get(form.record_id)
            if found is None:
                by_record[form.record_id] = [form]
            else:
                found.append(form)
        writer.load_files(by_record.values())
        for record in chunk:
            yield from rows_of(record, by_record.get(record.pk, []))


def _one_query(project: Project, design: ProjectDesign, writer: _RowWriter) -> bool:
    """Whether the rows can come from one query: a narrow read (few keys) of a classic
    project without repeats — one row per record, at its one event, each cell the stored
    value as it is (no checkbox, status, file, label or decimal rewriting) — and no filter."""
    options = writer.options
    if options.keys is None or options.filter is not None:
        return False
    if project.is_longitudinal or design.repeats or len(design.events) != 1:
        return False
    if options.events and design.events[0].unique_name not in options.events:
        return False
    return all(segment.kind == PLAIN for segment in writer.segments)


def _classic_cells(
    project: Project, design: ProjectDesign, records: QuerySet[Record], writer: _RowWriter
) -> Iterator[list[Any]]:
    """`flat_cells` of a `_one_query` export: the records in natural order, each with its
    arm link at the event's arm (else it has no row), its group, and the value of each
    column extracted from the form of its event (instance 1) as JSON text, decoded as
    reading the whole form would decode it."""
    layout, labels = writer.layout, writer.options.labels
    event = design.events[0]
    connection = connections[records.db]
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    forms = list(dict.fromkeys(segment.form for segment in writer.segments))
    joins, picked, params = [], [], list[Any]()
    for n, form in enumerate(forms):
        joins.append(
            f"LEFT JOIN {quote(FormData._meta.db_table)} f{n} ON f{n}.{quote('record_id')} = "
            f"r.{quote('id')} AND f{n}.{quote('event_id')} = %s "
            f"AND f{n}.{quote('form_name')} = %s AND f{n}.{quote('instance')} = 1"
        )
        params += [event.pk, form]
    columns = [column for segment in writer.segments for column in segment.columns]
    extracted = []
    for column in columns:
        if not PLAIN_KEY.fullmatch(column.name):
            raise ValueError(column.name)  # dictionary names are identifiers
        n = forms.index(column.form)
        extracted.append(f"(f{n}.{quote('values')} -> %s)" + ("::text" if postgres else ""))
        picked.append(column.name if postgres else f'$."{column.name}"')
    try:
        visible, visible_params = records.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # `records.none()`
        return
    group = quote(DataAccessGroup._meta.db_table)
    arms = quote(RecordArm._meta.db_table)
    selected = ", ".join(
        ["r." + quote("record_id"), "g." + quote("name"), "g." + quote("unique_name"), *extracted]
    )
    sql = (  # quoted identifiers and placeholders only
        f"SELECT {selected} FROM {quote(Record._meta.db_table)} r "  # noqa: S608
        f"JOIN {arms} a ON a.{quote('record_id')} = r.{quote('id')} AND a.{quote('arm_id')} = %s "
        f"LEFT JOIN {group} g ON g.{quote('id')} = r.{quote('group_id')} "
        f"{' '.join(joins)} WHERE r.{quote('id')} IN ({visible}) "
        f"ORDER BY r.{quote('sort_key')}, r.{quote('id')}"
    )
    loads = orjson.loads
    with_record_id, groups = layout.with_record_id, layout.groups
    with connection.cursor() as cursor:
        cursor.execute(sql, [*picked, event.arm_id, *params, *visible_params])
        while rows := cursor.fetchmany(2000):
            for record_id, group_name, group_unique, *texts in rows:
                row: list[Any] = [record_id] if with_record_id else []
                if groups:
                    row.append((group_name if labels else group_unique) or "")
                row += ["" if text is None else loads(text) for text in texts]
                yield row


class StoredRecord:
    """What an export reads of a Record row (its arms and group), without a model instance."""

    __slots__ = ("arm_ids", "group_name", "group_unique_name", "pk", "record_id")

    def __init__(
        self,
        pk: int,
        record_id: str,
        arm_ids: frozenset[int],
        group_name: str | None,
        group_unique: str | None,
    ) -> None:
        self.pk = pk
        self.record_id = record_id
        self.arm_ids = arm_ids
        self.group_name = group_name or ""
        self.group_unique_name = group_unique or ""


def stored_records(records: QuerySet[Record]) -> Iterator[StoredRecord]:
    """The records in natural order, read in chunks; a record in several arms comes as one
    row per arm, consecutive (one query rather than one more per chunk)."""
    fields = ("pk", "record_id", "group__name", "group__unique_name", "arm_links__arm_id")
    rows = records.order_by("sort_key", "pk").values_list(*fields).iterator(CHUNK)
    last: tuple[Any, ...] | None = None
    arms: set[int] = set()
    for pk, record_id, group_name, group_unique, arm in rows:
        if last is not None and pk != last[0]:
            yield StoredRecord(last[0], last[1], frozenset(arms), last[2], last[3])
            arms = set()
        last = (pk, record_id, group_name, group_unique)
        if arm is not None:
            arms.add(arm)
    if last is not None:
        yield StoredRecord(last[0], last[1], frozenset(arms), last[2], last[3])


class StoredForm:
    """What an export reads of a FormData row, without building a model instance."""

    __slots__ = ("event_id", "form_name", "instance", "record_id", "status", "values")

    def __init__(
        self,
        record_id: int,
        event_id: int,
        form_name: str,
        instance: int,
        values: dict[str, str],
        status: int,
    ) -> None:
        self.record_id = record_id
        self.event_id = event_id
        self.form_name = form_name
        self.instance = instance
        self.values = values
        self.status = status


def stored_forms(
    record_pks: Sequence[int],
    *,
    using: str = DEFAULT_DB_ALIAS,
    keys: Iterable[str] | None = None,
) -> Iterator[StoredForm]:
    """The stored forms of these records; values read as JSON text and decoded with orjson
    (several times faster than the ORM's decoding, which an export does per row).

    With `keys`, only those values are read: the database extracts each as JSON text (so a
    value decodes to exactly what the whole object would give; a missing key is left out),
    for passes that need a few fields of every form. Keys that are not plain identifiers
    make the whole object read instead.

    One parameterised statement on the cursor: building the ORM's `record__in` lookup for a
    chunk's 500 keys cost about a tenth of a whole CSV export."""
    if not record_pks:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in ("record_id", "event_id", "form_name", "instance"))
    names = _plain_keys(keys)
    postgres = connection.vendor == "postgresql"
    values, extracted = quote("values"), list[Any]()
    if names is not None:
        template = "({values} -> %s)::text" if postgres else "({values} -> %s)"
        values = ", ".join([template.format(values=values)] * len(names)) or "NULL"
        extracted = list(names) if postgres else [f'$."{name}"' for name in names]
    elif postgres:
        values += "::text"
    parameters = list[Any](record_pks)
    if postgres:  # one array parameter: psycopg splits no long query
        wanted, parameters = "= ANY(%s)", [parameters]
    else:
        wanted = f"IN ({', '.join(['%s'] * len(parameters))})"
    sql = (  # quoted identifiers and placeholders only; keys and ids go as parameters
        f"SELECT {columns}, {quote('status')}, {values} "  # noqa: S608
        f"FROM {quote(FormData._meta.db_table)} "
        f"WHERE {quote('record_id')} {wanted} ORDER BY {columns}"  # the model's order
    )
    loads = orjson.loads
    with connection.cursor() as cursor:
        cursor.execute(sql, extracted + parameters)
        while rows := cursor.fetchmany(2000):
            if names is None:
                for record_id, event_id, form_name, instance, status, text in rows:
                    yield StoredForm(record_id, event_id, form_name, instance, loads(text), status)
                continue
            for record_id, event_id, form_name, instance, status, *texts in rows:
                found = {
                    name: loads(text)
                    for name, text in zip(names, texts, strict=True)
                    if text is not None
                }
                yield StoredForm(record_id, event_id, form_name, instance, found, status)


PLAIN_KEY = re.compile(r"[A-Za-z0-9_]{1,100}")


def _plain_keys(keys: Iterable[str] | None) -> tuple[str, ...] | None:
    """The keys in a stable order, or None (read everything) when one is not an identifier."""
    if keys is None:
        return None
    names = tuple(sorted(set(keys)))
    return names if all(PLAIN_KEY.fullmatch(name) for name in names) else None


PLAIN, STATUS, CELLS = "plain", "status", "cells"


@dataclass(frozen=True)
class _Segment:
    """Consecutive data columns of one form of one kind: `plain` (the stored value as it is:
    no checkbox, status, file, label or decimal rewriting; the fast path), `status` (the
    form's `<form>_complete`) or `cells` (each cell rewritten by `_RowWriter._cell`)."""

    form: str
    columns: tuple[Column, ...]
    names: tuple[str, ...]
    kind: str

    @property
    def blanks(self) -> tuple[str, ...]:
        return ("",) * len(self.columns)


@dataclass(frozen=True)
class _EventShape:
    """What a record's rows at one event look like, the same for every record."""

    event: Event
    whole_event: bool  # the whole event repeats: one row per instance
    repeating: frozenset[str]  # the forms repeating on their own at the event
    instruments: tuple[str, ...]  # those forms, in the project's order


# A row plan: for each segment, its columns' names and blanks, whether it holds values in
# this kind of row, its form and kind. Computed once per kind of row, read for every row.
_Plan = tuple[tuple[_Segment, tuple[str, ...], tuple[str, ...], bool, str, str], ...]


class _RowWriter:
    """Builds the rows of one record from its stored forms."""

    def __init__(
        self, project: Project, design: ProjectDesign, layout: Layout, options: ExportOptions
    ) -> None:
        self.project = project
        self.design = design
        self.layout = layout
        self.options = options
        self.labels = {instrument.name: instrument.label for instrument in design.instruments}
        self.file_names: dict[int, str] = {}
        self.file_columns = [c for c in layout.data if c.row and c.row.field_type == "file"]
        self._logic_data: dict[str, Any] = {}
        self.decimal_columns = {c.name for c in layout.data if c.row and _is_decimal(c.row)}
        self.segments = self._segments()
        self._plans: dict[tuple[int, str, bool], _Plan] = {}
        self._extension_at: list[int] | None = None
        self._shapes = [self._shape(event) for event in design.events]
        self._statuses = {code: self._status_text(str(code)) for code in (0, 1, 2)}
        # One moment for the whole export: `today` and `now` in filter logic mean when it
        # began, and the clock is not read (and formatted) again for every row.
        self._clock = real_clock()
        self._arm_events = {
            event.arm_id: [e.unique_name for e in design.events_of_arm(event.arm_id)]
            for event in design.events
        }

    def _shape(self, event: Event) -> _EventShape:
        repeating = frozenset(self.design.repeating_at(event))
        return _EventShape(
            event=event,
            whole_event="" in repeating,
            repeating=repeating,
            instruments=tuple(i.name for i in self.design.instruments if i.name in repeating),
        )

    def _segments(self) -> list[_Segment]:
        segments: list[_Segment] = []
        current: list[Column] = []
        for column in self.layout.data:
            if column.name == self.layout.record_field:
                continue
            kind = self._kind(column)
            if current and (
                current[0].form != column.form or self._kind(current[0]) != kind or kind == STATUS
            ):
                segments.append(self._segment(current))
                current = []
            current.append(column)
        if current:
            segments.append(self._segment(current))
        return segments

    def _segment(self, columns: list[Column]) -> _Segment:
        return _Segment(
            form=columns[0].form,
            columns=tuple(columns),
            names=tuple(column.name for column in columns),
            kind=self._kind(columns[0]),
        )

    def _kind(self, column: Column) -> str:
        if column.row is None:
            return STATUS
        if column.is_checkbox or column.row.field_type == "file":
            return CELLS
        if self.options.decimal_comma and column.name in self.decimal_columns:
            return CELLS
        labelled = ("radio", "dropdown", *BOOLEAN_LABELS)
        return CELLS if self.options.labels and column.row.field_type in labelled else PLAIN

    def load_files(self, groups: Iterable[list[StoredForm]]) -> None:
        """The names of the files this chunk's rows refer to, in one query (and what an
        extension's cells need)."""
        if self.layout.extension is not None:
            groups = list(groups)
            self.layout.extension.load(sorted({f.record_id for forms in groups for f in forms}))
        if not self.file_columns:
            return
        ids = {
            int(value)
            for forms in groups
            for form in forms
            for column in self.file_columns
            if (value := form.values.get(column.name, "")).isascii() and value.isdigit()
        }
        found = files_in_project(self.project, ids)
        self.file_names = {pk: stored.original_name for pk, stored in found.items()}

    def rows_of(self, record: StoredRecord, forms: list[StoredForm]) -> Iterator[list[Any]]:
        if self.options.filter is not None:
            self._logic_data = self._record_data(record, forms)
        wanted = self.options.events
        longitudinal = self.layout.longitudinal
        for shape in self._shapes:  # in arm order: a record in two arms has both
            event = shape.event
            if event.arm_id not in record.arm_ids or (wanted and event.unique_name not in wanted):
                continue
            here = [form for form in forms if form.event_id == event.id]  # id: no property
            if not here and longitudinal:
                continue
            for row in self._event_rows(record, shape, here):
                if row is not None:
                    yield row

    def _record_data(self, record: StoredRecord, forms: list[StoredForm]) -> dict[str, Any]:
        """Every value of the record by event and instance, for logic naming other events."""
        names = {event.pk: event.unique_name for event in self.design.events}
        data: dict[str, dict[str, dict[str, str]]] = {}
        for form in forms:
            if form.event_id in names:
                data.setdefault(names[form.event_id], {}).setdefault(str(form.instance), {}).update(
                    form.values
                )
        return data

    def _kept(
        self, record: StoredRecord, event: Event, forms: dict[str, StoredForm], instance: int | None
    ) -> bool:
        """Whether the row passes filterLogic; logic that cannot run keeps nothing."""
        if self.options.filter is None:
            return True
        values = {self.layout.record_field: record.record_id}
        for form in forms.values():
            values.update(form.values)
            values[f"{form.form_name}_complete"] = str(form.status)
        context = {
            "record": record.record_id,
            "event": event.unique_name,
            "events": self._arm_events[event.arm_id],
            "instance": instance or 1,
            "project_id": self.project.pk,
            "dag": record.group_unique_name,
            "data": self._logic_data,
            "today": self._clock.today,
            "now": self._clock.now,
        }
        try:
            return bool(evaluate_ast(self.options.filter, values, context, "logic"))
        except LogicError:
            return False

    def _event_rows(
        self, record: StoredRecord, shape: _EventShape, forms: list[StoredForm]
    ) -> Iterator[list[Any] | None]:
        event = shape.event
        if shape.whole_event:  # a repeating event: one row per instance
            for instance in sorted({form.instance for form in forms}) or [1]:
                at = {f.form_name: f for f in forms if f.instance == instance}
                yield self._row(record, event, at, "", instance, whole_event=True)
            return
        repeating = shape.repeating
        if not repeating:
            yield self._row(
                record, event, {f.form_name: f for f in forms if f.instance == 1}, "", None
            )
            return
        base = {f.form_name: f for f in forms if f.form_name not in repeating and f.instance == 1}
        yield self._row(record, event, base, "", None)
        for name in shape.instruments:
            instances = sorted((f for f in forms if f.form_name == name), key=lambda f: f.instance)
            for form in instances:
                yield self._row(record, event, {name: form}, name, form.instance)

    def _plan(self, event: Event, repeat_form: str, whole_event: bool) -> _Plan:
        """The row plan of this kind of row. A segment holds values when its form is used at
        the event and the row is the form's own (a repeat row holds only its form; the base
        row none of the event's repeating forms)."""
        key = (event.id, repeat_form, whole_event)
        found = self._plans.get(key)
        if found is None:
            repeating = self.design.repeating_at(event)

            def applies(form: str) -> bool:
                if whole_event:
                    return True
                return form == repeat_form if repeat_form else form not in repeating

            found = self._plans[key] = tuple(
                (
                    segment,
                    segment.names,
                    segment.blanks,
                    self.design.has_form(self.project, event, segment.form)
                    and applies(segment.form),
                    segment.form,
                    segment.kind,
                )
                for segment in self.segments
            )
        return found

    def _row(
        self,
        record: StoredRecord,
        event: Event,
        forms: dict[str, StoredForm],
        repeat_form: str,
        instance: int | None,
        *,
        whole_event: bool = False,
    ) -> list[Any] | None:
        if self.options.filter is not None and not self._kept(record, event, forms, instance):
            return None
        layout, labels = self.layout, self.options.labels
        row: list[Any] = [record.record_id] if layout.with_record_id else []
        if layout.longitudinal:
            row.append(event.name if labels else event.unique_name)
        if layout.repeating:
            row.append(self.labels.get(repeat_form, repeat_form) if labels else repeat_form)
            row.append(instance if instance is not None else "")
        if layout.groups:
            row.append(record.group_name if labels else record.group_unique_name)
        get, statuses = forms.get, self._statuses
        for segment, names, blanks, used, form_name, kind in self._plan(
            event, repeat_form, whole_event
        ):
            if not used:
                row += blanks
                continue
            form = get(form_name)
            if kind == PLAIN:
                row += blanks if form is None else map(form.values.get, names, blanks)
            elif kind == STATUS:
                status = None if form is None else statuses.get(form.status)
                row.append(self._status(form) if status is None else status)
            else:
                row += [self._cell(column, form) for column in segment.columns]
        if layout.extension is not None:
            return self._extended(row, record, event, repeat_form, instance)
        return row

    def _extended(
        self,
        row: list[Any],
        record: StoredRecord,
        event: Event,
        repeat_form: str,
        instance: int | None,
    ) -> list[Any]:
        extension = self.layout.extension
        assert extension is not None
        if self._extension_at is None:
            added = extension.positions(self.layout.base_header)
            self._extension_at = [at for at, _n, _l in added]
        cells = extension.cells(record, event, repeat_form, instance)
        return _spliced(row, list(zip(self._extension_at, cells, strict=True)))

    def _status(self, form: StoredForm | None) -> str:
        if form is None:
            return "" if self.options.blank_gray_status else self._status_text("0")
        return self._status_text(str(form.status))

    def _status_text(self, code: str) -> str:
        return _label_or(self, STATUS_LABELS, code)

    def _cell(self, column: Column, form: StoredForm | None) -> str:
        if column.is_status:
            return self._status(form)
        assert column.row is not None
        value = form.values.get(column.name, "") if form is not None else ""
        if column.is_checkbox:
            checked = value == "1"
            if not self.options.labels:
                return "1" if checked else "0"
            if self.options.checkbox_labels:
                return _choice_label(column.row, column.code) if checked else ""
            return "Checked" if checked else "Unchecked"
        if value == "":
            return ""
        kind = column.row.field_type
        if self.options.decimal_comma and column.name in self.decimal_columns:
            return value.replace(".", ",")
        if kind == "file":
            file_id = whole_number(value)
            return self.file_names.get(file_id, "") if file_id is not None else ""
        if self.options.labels:
            if kind in ("radio", "dropdown"):
                return _choice_label(column.row, value)
            if kind in BOOLEAN_LABELS:
                return BOOLEAN_LABELS[kind].get(value, value)
        return value


def _is_decimal(row: FieldRow) -> bool:
    """Whether `decimalCharacter` applies: calculations and number-validated text."""
    validation = row.text_validation_type_or_show_slider_number.strip()
    return row.field_type == "calc" or (
        row.field_type == "text" and validation.startswith("number")
    )


def _label_or(writer: _RowWriter, labels: dict[str, str], code: str) -> str:
    return labels.get(code, code) if writer.options.labels else code


def _choice_label(row: FieldRow, code: str) -> str:
    """The label of the first choice whose code is `code`, letter case aside."""
    return _choice_labels(row.select_choices_or_calculations).get(code.lower(), code)


@lru_cache(maxsize=512)
def _choice_labels(choices: str) -> dict[str, str]:
    """{lower-case code: label} of the first choice with each code: parsed once per export
    rather than once per cell (a label export looks up every choice cell)."""
    labels: dict[str, str] = {}
    for choice in parse_choices(choices):
        labels.setdefault(choice.code.lower(), choice.label)
    return labels


def eav_rows(
    project: Project,
    design: ProjectDesign,
    records: QuerySet[Record],
    layout: Layout,
    options: ExportOptions = ExportOptions(),
) -> Iterator[dict[str, Any]]:
    """One row per stored non-blank value (spec §2.1, EAV): checkboxes one row per ticked box
    with the base field name and the code; file fields hold the file's id."""
    wanted = {column.name for column in layout.data}
    ordered = stored_records(records)
    events = {event.pk: event for event in design.events}
    while chunk := list(islice(ordered, CHUNK)):
        by_record: dict[int, list[StoredForm]] = {}
        for form in stored_forms([record.pk for record in chunk]):
            by_record.setdefault(form.record_id, []).append(form)
        for record in chunk:
            for form in _in_design_order(by_record.get(record.pk, []), design):
                event = events.get(form.event_id)
                if event is None or (options.events and event.unique_name not in options.events):
                    continue
                yield from _eav_of(record, event, form, layout, design, wanted)


def _in_design_order(forms: list[StoredForm], design: ProjectDesign) -> list[StoredForm]:
    events = {event.pk: n for n, event in enumerate(design.events)}
    instruments = {instrument.name: n for n, instrument in enumerate(design.instruments)}
    return sorted(
        forms,
        key=lambda f: (events.get(f.event_id, 0), f.instance, instruments.get(f.form_name, 0)),
    )


def _eav_of(
    record: StoredRecord,
    event: Event,
    form: StoredForm,
    layout: Layout,
    design: ProjectDesign,
    wanted: set[str],
) -> Iterator[dict[str, Any]]:
    repeats = design.repeats_form(event, form.form_name)
    base: dict[str, Any] = {"record": record.record_id}
    if layout.longitudinal:
        base[EVENT_COLUMN] = event.unique_name
    if layout.repeating:
        whole_event = (event.pk, "") in design.repeats
        base[REPEAT_FORM_COLUMN] = form.form_name if repeats and not whole_event else ""
        base[REPEAT_INSTANCE_COLUMN] = form.instance if repeats else ""
    for row in design.form_rows(form.form_name):
        if row.field_type == "checkbox":
            for choice in parse_choices(row.select_choices_or_calculations):
                column = checkbox_column(row.field_name, choice.code)
                if column in wanted and form.values.get(column) == "1":
                    yield {**base, "field_name": row.field_name, "value": choice.code}
            continue
        value = (
            record.record_id
            if row.field_name == layout.record_field
            else form.values.get(row.field_name, "")
        )
        if row.field_name in wanted and value != "":
            yield {**base, "field_name": row.field_name, "value": value}
    status = f"{form.form_name}_complete"
    if status in wanted:
        yield {**base, "field_name": status, "value": str(form.status)}


def eav_header(layout: Layout) -> Sequence[str]:
    names = ["record"]
    if layout.longitudinal:
        names.append(EVENT_COLUMN)
    if layout.repeating:
        names += [REPEAT_FORM_COLUMN, REPEAT_INSTANCE_COLUMN]
    return [*names, "field_name", "value"]
