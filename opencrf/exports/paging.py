"""Report pages over a filter or a sort, without building every row of the report per page.

A filtered or sorted report needs every row once, to know which rows match and in which
order. That pass reads only what the filter and the sort need: the same export (the same
records, rights, de-identification and filter) restricted to the sort columns, so a row is a
handful of cells rather than every column of the report. What it keeps is the key of each
matching row in page order — the row's record and which of that record's rows it is — two
small integers a row, fine to hold for 100,000 rows. The list is cached (Django's cache)
under everything that decides it: the request, the sort, the viewer's scope (group and
export rights) and the design version, and is used only while the project's data version
is the one it was made at. A page then builds just its own rows, from the export of the
page's records only.

The data version is the head of the project's audit chain (its sequence and hash): every
write to a record is audited in its own transaction, so any change of the data moves the
head, on every web node at once. The hash, not only the sequence, keeps a restored backup
that is later written to again from meeting the keys of the data it replaced.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import total_ordering
from itertools import groupby
from typing import Any

import orjson
from django.core.cache import cache

from opencrf.accounts.models import User
from opencrf.audit.models import AuditEvent
from opencrf.dictionary.design import design_of
from opencrf.exports.deidentify import Keys, project_secret
from opencrf.exports.keyquery import sql_row_keys
from opencrf.exports.table import ExportRequest, ExportTable, Kind, export_table
from opencrf.projects.models import Project
from opencrf.projects.selectors import member_rights
from opencrf.records.selectors import records_visible_to

CACHE_PREFIX = "opencrf:report-rows:"
CACHE_SECONDS = 1800
CHUNK = 500  # record ids a query when reading the matching records only
Order = Sequence[tuple[str, bool]]
SortKey = Callable[[tuple[int, list[str]]], Any]  # of a (position, row) pair


@dataclass(frozen=True)
class RowKeys:
    """The matching rows of a report in page order. Row n of the order is row `nth[n]` of
    record `records[record_at[n]]`; `shown` is each record's id as its rows show it (hashed
    for a viewer who sees hashed ids), `records` the stored id."""

    records: list[str]
    shown: list[str]
    record_at: array[int]
    nth: array[int]
    # In record order only, read without labels: each row's event, repeat instrument and
    # instance (unique within a record), so that a row filter need not run again.
    places: list[str] | None = None

    def __len__(self) -> int:
        return len(self.record_at)


def row_keys(
    user: User, project: Project, request: ExportRequest, table: ExportTable, order: Order
) -> RowKeys:
    """The keys of the report's rows in `order`, from the cache when nothing has changed.
    `table` is the report's own table: the columns it shows are the ones that may be sorted.

    A filtered report also keeps its matching rows in record order (filtering reads raw
    values, so labels do not change them): sorting the same filter by another column then
    reads only the matching records, not the whole project again. A sort by one column keeps
    both directions, so turning it round needs no pass at all."""
    state, version = _state(user, project), data_version(project)
    key = _cache_key(state, request, order)
    found = _kept(key, version)
    if found is not None:
        return found
    exact = sql_row_keys(user, project, request, table, order)
    if exact is not None:  # one query, the filter and the sort done by the database
        count = len(exact.records)
        keys = RowKeys(
            exact.records, exact.shown, array("i", range(count)), array("i", [0]) * count
        )
        cache.set(key, (version, keys), CACHE_SECONDS)
        return keys
    matching_key = None
    if request.filter is not None and order:
        matching_key = _cache_key(state, replace(request, labels=False), ())
    within = _kept(matching_key, version) if matching_key else None
    made, unsorted = _computed(user, project, request, table, order, within)
    if matching_key and within is None:
        cache.set(matching_key, (version, unsorted), CACHE_SECONDS)
    for made_order, keys in made:
        cache.set(_cache_key(state, request, made_order), (version, keys), CACHE_SECONDS)
    return made[0][1]


def _kept(key: str, version: tuple[int, str]) -> RowKeys | None:
    """The keys kept under `key` if made at this data version. The version is kept in the
    value, not the key, so that a write replaces the keys it outdates rather than adding
    more: the cache holds one list a report, order and scope."""
    found = cache.get(key)
    if isinstance(found, tuple) and len(found) == 2 and found[0] == version:
        keys = found[1]
        return keys if isinstance(keys, RowKeys) else None
    return None


def page_rows(
    user: User, project: Project, request: ExportRequest, keys: RowKeys, start: int, stop: int
) -> list[list[str]]:
    """Rows `start … stop` of the order, built from the export of their records alone. Rows
    gone since the keys were made (a race with a write) are left out."""
    chosen = list(zip(keys.record_at[start:stop], keys.nth[start:stop], strict=True))
    if not chosen:
        return []  # and never an export with no records chosen, which means all of them
    at = sorted({record for record, _nth in chosen})
    table = export_table(
        user, project, replace(request, records=tuple(keys.records[n] for n in at))
    )
    by_record = {shown: list(rows) for shown, rows in groupby(table.rows(), key=_first)}
    rows = []
    for record, nth in chosen:
        found = by_record.get(keys.shown[record], [])
        if nth < len(found):
            rows.append(found[nth])
    return rows


def _first(row: list[str]) -> str:
    return row[0]


def _computed(
    user: User,
    project: Project,
    request: ExportRequest,
    table: ExportTable,
    order: Order,
    within: RowKeys | None = None,
) -> tuple[list[tuple[Order, RowKeys]], RowKeys]:
    """The keys in `order` (first; then in the other direction for a one-column order) and in
    record order, from one pass over the report's rows with the sort columns only; over the
    records of `within` alone when the matching records are known (the rows of the others
    would all be filtered out)."""
    fields = _fields_for(table, order)
    narrow = replace(request, fields=fields, forms=(), narrow_read=True)
    single = len(order) == 1
    pass_order = [(order[0][0], False)] if single else list(order)
    shown: list[str] = []
    record_at, nth = array("i"), array("i")
    sort_keys: list[Any] = []
    count = 0
    width = _place_width(table)
    places: list[str] | None = [] if not request.labels else None
    rows = _narrow_rows(user, project, narrow, pass_order, within, width)
    for position, (sort, row) in enumerate(rows):
        if not shown or shown[-1] != row[0]:
            shown.append(row[0])
            count = 0
        record_at.append(len(shown) - 1)
        nth.append(count)
        count += 1
        if sort is not None:
            sort_keys.append(sort((position, row)))
        if places is not None:
            places.append(_place(row, width))
    if within is not None:
        stored = dict(zip(within.shown, within.records, strict=True))
        records = [stored.get(cell, "") for cell in shown]
    elif table.deidentify.hash_record_id:
        records = _stored_ids(user, project, shown)
    else:
        records = shown
    unsorted = RowKeys(records, shown, record_at, nth, places)
    if not order:
        return [(order, unsorted)], unsorted

    def keys_in(ranked: list[int]) -> RowKeys:
        picked = (array("i", (record_at[n] for n in ranked)), array("i", (nth[n] for n in ranked)))
        return RowKeys(records, shown, *picked)

    ascending = sorted(range(len(sort_keys)), key=sort_keys.__getitem__)
    if not single:
        return [(order, keys_in(ascending))], unsorted
    name, descending = order[0]
    turned = _turned(ascending, sort_keys)
    first, other = (turned, ascending) if descending else (ascending, turned)
    return [(order, keys_in(first)), ([(name, not descending)], keys_in(other))], unsorted


def _turned(ascending: list[int], sort_keys: list[Any]) -> list[int]:
    """A one-column ascending order turned descending as `sort_key` orders it: runs of equal
    values in the opposite order, each run still in record order, blanks still last."""
    runs: list[list[int]] = []
    blanks: list[int] = []
    last: Any = None
    for n in ascending:
        blank, value = sort_keys[n][0], sort_keys[n][1]
        if blank:
            blanks.append(n)
        elif runs and value == last:
            runs[-1].append(n)
        else:
            runs.append([n])
            last = value
    return [n for run in reversed(runs) for n in run] + blanks


def _narrow_rows(
    user: User,
    project: Project,
    narrow: ExportRequest,
    order: Order,
    within: RowKeys | None,
    width: int,
) -> Iterator[tuple[SortKey | None, list[str]]]:
    """The rows of `narrow` in record order, each with the sort key of its table; over
    `within`'s records a chunk at a time (a bounded list of ids in each query), and without
    evaluating the filter again when it keeps whole records or when the places of the
    matching rows are known."""
    if within is None:
        table = export_table(user, project, narrow)
        key = sort_key(table, order) if order else None
        for row in table.rows():
            yield key, row
        return
    wanted: dict[str, set[str]] | None = None
    if narrow.record_level:  # every row of a matching record: nothing left to filter
        narrow = replace(narrow, filter=None, record_level=False)
    elif within.places is not None and not narrow.labels:
        wanted = {}
        for record, place in zip(within.record_at, within.places, strict=True):
            wanted.setdefault(within.shown[record], set()).add(place)
        narrow = replace(narrow, filter=None)
    ids = [record for record in within.records if record]
    for start in range(0, len(ids), CHUNK):
        chunk = tuple(ids[start : start + CHUNK])
        table = export_table(user, project, replace(narrow, records=chunk))
        key = sort_key(table, order) if order else None
        for row in table.rows():
            if wanted is None or _place(row, width) in wanted.get(row[0], ()):
                yield key, row


def _place_width(table: ExportTable) -> int:
    """How many cells after the record id say which of its rows a row is: the event, the
    repeat instrument and instance (the columns every row of the table has)."""
    return int(table.layout.longitudinal) + 2 * int(table.layout.repeating)


def _place(row: list[str], width: int) -> str:
    return "\x1f".join(row[1 : 1 + width])


def _fields_for(table: ExportTable, order: Order) -> tuple[str, ...]:
    """The report fields behind the sort columns (a checkbox option's field, a form status
    itself); the record id alone when there is no sort. The record, event, repeat and group
    columns come with every row of the table anyway."""
    by_name = {v.name: v for v in table.variables}
    wanted = [by_name[name].field_name or name for name, _desc in order if name in by_name]
    known = set(table.names) | {v.field_name for v in table.variables}
    fields = tuple(dict.fromkeys(name for name in wanted if name in known))
    return fields or (table.layout.record_field,)


def _stored_ids(user: User, project: Project, shown: list[str]) -> list[str]:
    """The stored ids behind hashed ones, among the records the viewer may see."""
    keys = Keys(project_secret(project))
    visible = records_visible_to(user, project).values_list("record_id", flat=True)
    stored = {keys.record_hash(record_id): record_id for record_id in visible.iterator(2000)}
    return [stored.get(hashed, "") for hashed in shown]


def data_version(project: Project) -> tuple[int, str]:
    """The head of the project's audit chain: it moves with every audited write."""
    head = (
        AuditEvent.objects.filter(project_id=project.pk)
        .order_by("-sequence")
        .values_list("sequence", "hash")
        .first()
    )
    return head or (0, "")


def _state(user: User, project: Project) -> dict[str, Any]:
    """What decides a report's rows besides its request and the data: the project's design
    version and the viewer's scope (every record or one group's; the export rights)."""
    rights = member_rights(user, project)
    exports = [rights.export(i.name) for i in design_of(project).instruments]
    return {
        "project": [project.pk, project.created_at.isoformat(), project.design_version],
        "scope": [user.is_superuser, rights.is_admin, rights.group_id, exports],
    }


def _cache_key(state: dict[str, Any], request: ExportRequest, order: Order) -> str:
    decided = {**state, "request": request, "order": [list(pair) for pair in order]}
    text = orjson.dumps(decided, default=_listed, option=orjson.OPT_SORT_KEYS)
    return CACHE_PREFIX + hashlib.sha256(text).hexdigest()


def _listed(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value, key=str)
    raise TypeError(type(value).__name__)


@total_ordering
class _Reversed:
    """A key that sorts in the opposite direction (for descending text)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)


NUMERIC = frozenset({Kind.INTEGER, Kind.NUMBER})


def sort_key(table: ExportTable, order: Order) -> SortKey:
    """The key of a (position, row) pair: blanks last in either direction; numbers as
    numbers; ties in record order (the row's position in the report)."""
    kinds = {v.name: v.kind for v in table.variables}
    indexes = [(table.names.index(name), kinds[name] in NUMERIC, desc) for name, desc in order]

    def key(pair: tuple[int, list[str]]) -> tuple[Any, ...]:
        position, row = pair
        parts: list[Any] = []
        for index, numeric, desc in indexes:
            value = row[index]
            typed: Any = _number_or_text(value) if numeric else value
            parts.append(value == "")
            parts.append(_Reversed(typed) if desc else typed)
        parts.append(position)
        return tuple(parts)

    return key


def _number_or_text(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)
