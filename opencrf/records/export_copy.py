"""Raw flat CSV exports written by PostgreSQL: `COPY (SELECT …) TO STDOUT (FORMAT csv)`.

The database builds the rows and the CSV text; Python only streams the bytes. The output is
byte for byte what `records.export.flat_cells` and the Python writers make of the same
export, so a caller may use either; `copy_csv` answers None when this path cannot make it.

What the SELECT reproduces of `_RowWriter` (records/export.py):

- the rows: records visible to the exporter (the caller's queryset: data access groups are
  decided there) in natural order (`sort_key`, then pk), each at the events of its arms in the
  design's order (a longitudinal event only when the record has a form there), a repeating
  event one row per instance, an event with repeating instruments a base row then each
  instrument's instances in the project's order;
- the cells: stored values as they are, applicable checkbox options `1`/`0`, a form's status
  (`0` or blank for an untouched form), a file field's file name, decimal commas, blanks
  where a form does not apply to the row.

CSV dialects differ from PostgreSQL's in a few cases, repaired line by line where they occur:

- every blank cell is written as NULL, which COPY leaves unquoted (an empty *string* it
  quotes as `""`, where Python's and PHP's writers write nothing);
- Python's `csv` (export files) does not quote a lone carriage return, which COPY quotes:
  a line holding a `\\r` is parsed and written again with Python's writer;
- PHP's `fputcsv` (the API) also quotes a space, a tab and a backslash: a line holding one is
  parsed and written again with `api`'s rule (given as `rewrite_line`);
- a line of one column may be `\\.`, which COPY quotes: single-column layouts take the Python
  path for export files (for the API a backslash is quoted anyway).

Labels, filter logic, record subsets read from a prefilter (`only`) and added columns
(survey fields) are not expressed here: `copy_csv` answers None and the caller uses the
Python path.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

from opencrf.dictionary.design import ProjectDesign
from opencrf.files.models import StoredFile
from opencrf.projects.models import DataAccessGroup, Event, Project
from opencrf.records.export import (
    PLAIN_KEY,
    Column,
    ExportOptions,
    Layout,
    _is_decimal,
)
from opencrf.records.models import FormData, Record, RecordArm

ENABLED = True  # False: every export takes the Python path (benchmarks, comparisons)
BLOCK = 65536  # bytes a yielded block holds, about
PYTHON_CSV = "python"  # Python's csv writer, "\n" line ends: export files
PHP_CSV = "php"  # fputcsv's quoting (space, tab and backslash too): the API

# The bytes of a COPY line that make the dialect quote differently from PostgreSQL.
_REPAIRED = {PYTHON_CSV: (b"\r",), PHP_CSV: (b"\r", b" ", b"\t", b"\\")}


def copy_csv(
    project: Project,
    design: ProjectDesign,
    records: QuerySet[Record],
    layout: Layout,
    options: ExportOptions,
    *,
    dialect: str = PYTHON_CSV,
    delimiter: str = ",",
    rewrite_line: Callable[[list[str]], str] | None = None,
) -> CopiedCsv | None:
    """The data lines (no header) of the export as UTF-8 blocks, or None when PostgreSQL
    cannot write them (another database, or options only the Python path has). Nothing is
    read before the blocks are.

    `rewrite_line(cells)` writes one line in the dialect; Python's writer by default."""
    connection = connections[records.db]
    if (
        not ENABLED
        or connection.vendor != "postgresql"
        or not _expressible(layout, options, dialect)
    ):
        return None
    if len(delimiter) != 1 or delimiter in '"\r\n\\ ' or not delimiter.isascii():
        return None
    try:
        visible, visible_params = records.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # `records.none()`
        return CopiedCsv(None)
    plan = _Select(project, design, layout, options, connection.ops.quote_name)
    sql, params = plan.statement(visible, list(visible_params))
    copy = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, DELIMITER %s)"
    rewrite = rewrite_line or _python_line
    return CopiedCsv(
        _Copy(records.db, copy, [*params, delimiter], _REPAIRED[dialect], delimiter, rewrite)
    )


def _expressible(layout: Layout, options: ExportOptions, dialect: str) -> bool:
    if options.labels or options.filter is not None or options.only is not None:
        return False
    if layout.extension is not None:
        return False
    if dialect == PYTHON_CSV and len(layout.header) < 2:
        return False
    names = [column.name for column in layout.data]
    return all(PLAIN_KEY.fullmatch(name) for name in names)


def _python_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


@dataclass(frozen=True)
class _Copy:
    using: str
    sql: str
    params: list[Any]
    repaired: Sequence[bytes]
    delimiter: str
    rewrite: Callable[[list[str]], str]


class CopiedCsv:
    """The blocks of a COPY's lines (one message each), joined into about `BLOCK` bytes; a
    block holding a byte the dialect quotes otherwise has those lines written again.
    `rows` counts the lines read so far (all of them once the blocks are)."""

    def __init__(self, copy: _Copy | None) -> None:
        self._copy = copy
        self.rows = 0
        self._progress: Callable[[int], None] | None = None
        self._every = 0

    def on_rows(self, progress: Callable[[int], None], every: int) -> None:
        """Have `progress` hear the rows read at each multiple of `every` and at the end, as
        an export's Python path tells them (the database sends blocks, not single rows)."""
        self._progress, self._every = progress, every

    def _tell(self, before: int) -> None:
        if self._progress is not None and self._every > 0:
            first = (before // self._every + 1) * self._every
            for mark in range(first, self.rows + 1, self._every):
                self._progress(mark)

    def __iter__(self) -> Iterator[bytes]:
        copy = self._copy
        if copy is not None:
            yield from self._blocks(copy)
        if self._progress is not None:
            self._progress(self.rows)

    def _blocks(self, copy: _Copy) -> Iterator[bytes]:
        connection = connections[copy.using]
        with connection.cursor() as cursor, cursor.cursor.copy(copy.sql, copy.params) as lines:
            pending: list[Any] = []
            size = 0
            for line in lines:
                pending.append(line)
                size += len(line)
                if size >= BLOCK:
                    before, self.rows = self.rows, self.rows + len(pending)
                    self._tell(before)
                    yield _block(pending, copy.repaired, copy.delimiter, copy.rewrite)
                    pending, size = [], 0
            if pending:
                before, self.rows = self.rows, self.rows + len(pending)
                self._tell(before)
                yield _block(pending, copy.repaired, copy.delimiter, copy.rewrite)


def _block(
    lines: list[Any],
    repaired: Sequence[bytes],
    delimiter: str,
    rewrite: Callable[[list[str]], str],
) -> bytes:
    block = b"".join(lines)
    if not any(byte in block for byte in repaired):
        return block
    out = []
    for line in lines:
        data = bytes(line)
        if any(byte in data for byte in repaired):
            text = data.decode("utf-8").removesuffix("\n")
            cells = next(csv.reader([text], delimiter=delimiter))
            data = rewrite(cells).encode("utf-8")
        out.append(data)
    return b"".join(out)


class _Select:
    """The SELECT of one export. The row keys come first, from a branch per kind of row (an
    event's rows, its base row, each repeating instrument's instances) in one UNION ALL,
    ordered as `_RowWriter.rows_of` walks them; then each form is joined to the ordered keys
    (LATERAL: a nested loop, which keeps their order, so the wide rows are never sorted) and
    each cell computed by the kind of its row."""

    def __init__(
        self,
        project: Project,
        design: ProjectDesign,
        layout: Layout,
        options: ExportOptions,
        quote: Callable[[str], str],
    ) -> None:
        self.project = project
        self.design = design
        self.layout = layout
        self.options = options
        self.q = quote
        self.forms = quote(FormData._meta.db_table)
        self.columns = [c for c in layout.data if c.name != layout.record_field]
        self.decimals = {c.name for c in self.columns if c.row and _is_decimal(c.row)}
        # For each kind of row (its number in the keys): the forms whose cells it holds.
        self.kinds: list[set[str]] = []

    def statement(self, visible: str, visible_params: list[Any]) -> tuple[str, list[Any]]:
        branches: list[tuple[str, list[Any]]] = []
        for order, event in enumerate(self.design.events):
            wanted = self.options.events
            if wanted and event.unique_name not in wanted:
                continue
            branches += self._event_branches(order, event)
        q = self.q
        if not branches:
            return "SELECT NULL WHERE false", []
        union = " UNION ALL ".join(sql for sql, _p in branches)
        union_params = [p for _s, branch_params in branches for p in branch_params]
        cells, cell_params, joins, join_params = self._cells()
        keys = "k.k_sort, k.k_id, k.k_event, k.k_sub, k.k_instance"
        sql = (  # quoted identifiers and placeholders only
            f"WITH v AS ({visible}), r AS (SELECT r.{q('id')}, r.{q('record_id')}, "  # noqa: S608
            f"r.{q('sort_key')}, r.{q('group_id')} FROM {q(Record._meta.db_table)} r "
            f"WHERE r.{q('id')} IN (SELECT * FROM v)) "
            f"SELECT {', '.join(cells)} FROM ({union} ORDER BY 1, 2, 3, 4, 5) k "
            f"{' '.join(joins)} ORDER BY {keys}"
        )
        return sql, [*visible_params, *cell_params, *union_params, *join_params]

    def _event_branches(self, order: int, event: Event) -> list[tuple[str, list[Any]]]:
        repeating = self.design.repeating_at(event)
        if "" in repeating:
            return [self._branch(order, event, sub=0, repeat_form="", whole_event=True)]
        branches = [self._branch(order, event, sub=0, repeat_form="", whole_event=False)]
        names = [i.name for i in self.design.instruments if i.name in repeating]
        for sub, name in enumerate(names, start=1):
            branches.append(self._branch(order, event, sub=sub, repeat_form=name))
        return branches

    def _branch(
        self, order: int, event: Event, *, sub: int, repeat_form: str, whole_event: bool = False
    ) -> tuple[str, list[Any]]:
        """The keys of one kind of row at `event`: its order, its record, event and
        instance, the instance of the forms it holds, and its kind."""
        q, forms = self.q, self.forms
        where = [
            f"EXISTS (SELECT 1 FROM {q(RecordArm._meta.db_table)} a WHERE "  # noqa: S608
            f"a.{q('record_id')} = r.{q('id')} AND a.{q('arm_id')} = %s)"
        ]
        where_params: list[Any] = [event.arm_id]
        if self.layout.longitudinal:
            where.append(
                f"EXISTS (SELECT 1 FROM {forms} h WHERE h.{q('record_id')} = r.{q('id')} "  # noqa: S608
                f"AND h.{q('event_id')} = %s)"
            )
            where_params.append(event.pk)
        source = "r"
        source_params: list[Any] = []
        if whole_event:  # one row per instance of any form at the event (none: instance 1)
            instances = (
                f"SELECT DISTINCT i.{q('instance')} AS n FROM {forms} i "  # noqa: S608
                f"WHERE i.{q('record_id')} = r.{q('id')} AND i.{q('event_id')} = %s"
            )
            source_params.append(event.pk)
            if not self.layout.longitudinal:
                instances += (
                    f" UNION SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM {forms} i "  # noqa: S608
                    f"WHERE i.{q('record_id')} = r.{q('id')} AND i.{q('event_id')} = %s)"
                )
                source_params.append(event.pk)
            source = f"r CROSS JOIN LATERAL ({instances}) b"
            instance, form_instance = "b.n", "b.n"
        elif repeat_form:
            source = (
                f"r JOIN {forms} b ON b.{q('record_id')} = r.{q('id')} "
                f"AND b.{q('event_id')} = %s AND b.{q('form_name')} = %s"
            )
            source_params += [event.pk, repeat_form]
            instance, form_instance = f"b.{q('instance')}", f"b.{q('instance')}"
        else:
            instance, form_instance = "NULL::integer", "1"
        kind = len(self.kinds)
        self.kinds.append(self._used(event, repeat_form, whole_event))
        keys = (
            f"r.{q('sort_key')} AS k_sort, r.{q('id')} AS k_id, {order} AS k_event, "
            f"{sub} AS k_sub, {instance} AS k_instance, {kind} AS k_kind, "
            f"r.{q('record_id')} AS k_record, r.{q('group_id')} AS k_group, "
            f"%s::integer AS k_event_id, %s::text AS k_event_name, "
            f"%s::text AS k_repeat_form, {form_instance} AS k_form_instance"
        )
        key_params = [event.pk, event.unique_name, repeat_form or None]
        sql = f"SELECT {keys} FROM {source} WHERE {' AND '.join(where)}"  # noqa: S608
        return sql, [*key_params, *source_params, *where_params]

    def _used(self, event: Event, repeat_form: str, whole_event: bool) -> set[str]:
        """The forms whose cells this kind of row holds: used at the event, and the row's
        own (a repeat row holds only its form; the base row none of the repeating ones)."""
        repeating = self.design.repeating_at(event)
        return {
            column.form
            for column in self.columns
            if self.design.has_form(self.project, event, column.form)
            and (
                whole_event
                or (column.form == repeat_form if repeat_form else column.form not in repeating)
            )
        }

    def _cells(self) -> tuple[list[str], list[Any], list[str], list[Any]]:
        """The cells in header order, and the forms they join."""
        q, layout = self.q, self.layout
        cells: list[str] = []
        params: list[Any] = []
        if layout.with_record_id:
            cells.append("k.k_record")
        if layout.longitudinal:
            cells.append("k.k_event_name")
        if layout.repeating:
            cells += ["k.k_repeat_form", "(k.k_instance)::text"]
        if layout.groups:
            group = q(DataAccessGroup._meta.db_table)
            cells.append(
                f"(SELECT NULLIF(g.{q('unique_name')}, '') FROM {group} g "  # noqa: S608
                f"WHERE g.{q('id')} = k.k_group)"
            )
        aliases: dict[str, str] = {}
        for column in self.columns:
            kinds = [n for n, used in enumerate(self.kinds) if column.form in used]
            if not kinds:
                cells.append("NULL")
                continue
            alias = aliases.setdefault(column.form, f"f{len(aliases)}")
            cell, cell_params = self._cell(column, alias)
            if len(kinds) < len(self.kinds):
                cell = f"CASE WHEN k.k_kind IN ({', '.join(map(str, kinds))}) THEN {cell} END"
            cells.append(cell)
            params += cell_params
        joins, join_params = [], list[Any]()
        for form, alias in aliases.items():
            joins.append(
                f"LEFT JOIN LATERAL (SELECT j.{q('values')}, j.{q('status')} "  # noqa: S608
                f"FROM {self.forms} j WHERE j.{q('record_id')} = k.k_id "
                f"AND j.{q('event_id')} = k.k_event_id AND j.{q('form_name')} = %s "
                f"AND j.{q('instance')} = k.k_form_instance) {alias} ON true"
            )
            join_params.append(form)
        return cells, params, joins, join_params

    def _cell(self, column: Column, alias: str) -> tuple[str, list[Any]]:
        """One used cell, blank as NULL (see the module's docstring)."""
        q = self.q
        if column.row is None:
            status = f"{alias}.{q('status')}::text"
            return (status if self.options.blank_gray_status else f"COALESCE({status}, '0')"), []
        value = f"({alias}.{q('values')} ->> %s)"
        if column.is_checkbox:
            return f"CASE WHEN {value} = '1' THEN '1' ELSE '0' END", [column.name]
        if self.options.decimal_comma and column.name in self.decimals:
            return f"NULLIF(replace({value}, '.', ','), '')", [column.name]
        if column.row.field_type == "file":
            files = q(StoredFile._meta.db_table)
            return (
                f"(SELECT NULLIF(s.{q('original_name')}, '') FROM {files} s "  # noqa: S608
                f"WHERE s.{q('project_id')} = %s AND s.{q('deleted_at')} IS NULL "
                f"AND s.{q('id')} = CASE WHEN {value} ~ '^[0-9]{{1,18}}$' "
                f"THEN ({value})::bigint END)"
            ), [self.project.pk, column.name, column.name]
        return f"NULLIF({value}, '')", [column.name]
