"""Descriptive statistics of a report: REDCap's "Stats & Charts", per field and per group.

A report's rows come from `table.export_table` — the same records, columns and
de-identification as the report view and its exports, decided once there — and are read
once, in chunks turned into columns, so that counting runs in C (`tuple.count`,
`Counter.update`, `array.extend`) rather than a Python step per cell. Memory holds, per field
and group, its counts and one compact array of 8 bytes a value: the numbers themselves (exact
medians and percentiles need them) or, for text and dates, the values' hashes (for the number
of distinct values); never the rows.

Kinds of summary:

- number (integer, number, calc, slider): count, missing, unique, min, max, mean, sample SD,
  median and percentiles (linear interpolation between order statistics, R's type 7 and
  numpy's default), and a histogram;
- date, datetime, time: count, missing, unique, earliest and latest;
- choice (radio, dropdown, yes/no, true/false, form status): every option's count and share
  of the answered rows, options never chosen included;
- checkbox (one field, all its options): a row answers it when any option is checked; each
  option's count and share of the answering rows;
- text: count, missing, unique.

"Missing" means blank in the row (the report's rows: on a longitudinal or repeating project
a field is blank on the rows of events and instruments that do not collect it).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice, repeat
from operator import itemgetter, mul, sub
from typing import Any, Self

from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.dictionary.choices import parse_choices
from opencrf.exports.table import ExportRequest, ExportTable, Kind, Variable, export_table, plain
from opencrf.projects.models import Project
from opencrf.projects.selectors import member_rights
from opencrf.records.export import (
    EVENT_COLUMN,
    GROUP_COLUMN,
    REPEAT_FORM_COLUMN,
    REPEAT_INSTANCE_COLUMN,
    Column,
)

PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
CHUNK = 2000
MAX_BINS = 30
NUMBERS = frozenset({Kind.INTEGER, Kind.NUMBER})
TIMES = frozenset({Kind.DATE, Kind.DATETIME, Kind.TIME})
LAYOUT_COLUMNS = frozenset({EVENT_COLUMN, REPEAT_FORM_COLUMN, REPEAT_INSTANCE_COLUMN, GROUP_COLUMN})
BLANK_GROUP = ""


@dataclass(frozen=True)
class Frequency:
    code: str
    label: str
    count: int
    percent: float  # of the rows that answer the field; 0 when none does


@dataclass(frozen=True)
class Bin:
    low: float
    high: float  # the last bin includes its high edge, the others do not
    count: int


@dataclass(frozen=True)
class Numbers:
    minimum: float
    maximum: float
    mean: float
    sd: float | None  # sample SD: None for fewer than two values
    percentiles: dict[int, float]
    bins: tuple[Bin, ...]
    whole: bool  # every value is a whole number (integers: bins of whole numbers)

    @property
    def median(self) -> float:
        return self.percentiles[50]


@dataclass(frozen=True)
class FieldSummary:
    name: str  # the field (a checkbox's field name, not one option's column)
    label: str
    kind: str  # "number", "date", "choice", "checkbox" or "text"
    count: int  # rows with a value
    missing: int  # blank rows
    unique: int  # distinct values (checkbox: distinct combinations of options)
    numbers: Numbers | None = None
    invalid: int = 0  # a number field's values that are not numbers (counted, not summarised)
    earliest: str = ""
    latest: str = ""
    frequencies: tuple[Frequency, ...] = ()


@dataclass(frozen=True)
class GroupSummary:
    key: str  # the choice code or group unique name; "" for rows without one
    label: str
    rows: int
    records: int
    fields: list[FieldSummary]


@dataclass(frozen=True)
class GroupBy:
    """A way to split the rows: by a choice field or the data access group."""

    name: str
    label: str


@dataclass
class Summary:
    table: ExportTable
    overall: GroupSummary
    groups: list[GroupSummary] = field(default_factory=list)
    group_by: GroupBy | None = None


# Accumulators: one per field and group, fed a chunk's columns at a time.


class _Acc(ABC):
    kind = "text"

    def __init__(self, name: str, label: str, index: int) -> None:
        self.name, self.label, self.index = name, label, index
        self.missing = 0
        self.count = 0

    @abstractmethod
    def add(self, columns: Sequence[tuple[str, ...]]) -> None:
        """Count one chunk of rows, given as the columns of the table."""

    @abstractmethod
    def merge(self, other: Self) -> None:
        """Take in another group's accumulator of the same field (for the overall figures)."""

    @abstractmethod
    def result(self) -> FieldSummary:
        """The field's figures so far."""

    def _add_counts(self, column: tuple[str, ...]) -> None:
        blank = column.count("")
        self.missing += blank
        self.count += len(column) - blank


class _TextAcc(_Acc):
    def __init__(self, name: str, label: str, index: int) -> None:
        super().__init__(name, label, index)
        # The answers' hashes, 8 bytes each, rather than the answers (free text may be long
        # and all different); counted when done. Two different answers of a study sharing
        # a 64-bit hash is not a practical concern.
        self.hashes = array("q")

    def add(self, columns: Sequence[tuple[str, ...]]) -> None:
        column = columns[self.index]
        self._add_counts(column)
        self.hashes.extend(map(hash, filter(None, column)))

    def merge(self, other: Self) -> None:
        self.count += other.count
        self.missing += other.missing
        self.hashes.extend(other.hashes)

    def unique(self) -> int:
        return len(set(self.hashes))

    def result(self) -> FieldSummary:
        return FieldSummary(self.name, self.label, "text", self.count, self.missing, self.unique())


class _DateAcc(_TextAcc):
    def __init__(self, name: str, label: str, index: int) -> None:
        super().__init__(name, label, index)
        self.earliest = self.latest = ""

    def add(self, columns: Sequence[tuple[str, ...]]) -> None:
        super().add(columns)
        values = list(filter(None, columns[self.index]))
        if values:  # ISO dates, datetimes and times sort as text
            self._extremes(min(values), max(values))

    def _extremes(self, low: str, high: str) -> None:
        if low:
            self.earliest = min(self.earliest, low) if self.earliest else low
        self.latest = max(self.latest, high)

    def merge(self, other: Self) -> None:
        super().merge(other)
        self._extremes(other.earliest, other.latest)

    def result(self) -> FieldSummary:
        return FieldSummary(
            self.name,
            self.label,
            "date",
            self.count,
            self.missing,
            self.unique(),
            earliest=self.earliest,
            latest=self.latest,
        )


class _NumberAcc(_Acc):
    def __init__(self, name: str, label: str, index: int) -> None:
        super().__init__(name, label, index)
        self.values = array("d")
        self.invalid: Counter[str] = Counter()  # stored values that are not numbers

    def add(self, columns: Sequence[tuple[str, ...]]) -> None:
        column = columns[self.index]
        self._add_counts(column)
        present = list(filter(None, column))
        try:
            numbers = array("d", map(float, present))  # all or nothing
        except ValueError:  # a stored value that is not a number: keep the numbers only
            numbers = array("d")
            for value in present:
                number = _number(value)
                if number is None:
                    self.invalid[value] += 1
                else:
                    numbers.append(number)
        self.values.extend(numbers)

    def merge(self, other: Self) -> None:
        self.count += other.count
        self.missing += other.missing
        self.invalid.update(other.invalid)
        self.values.extend(other.values)

    def result(self) -> FieldSummary:
        values = sorted(self.values)
        if not all(map(math.isfinite, values)):  # `float` reads "inf" and "nan": no measurement
            values = [v for v in values if math.isfinite(v)]
        invalid = self.invalid.total() + len(self.values) - len(values)
        unique = len(set(values)) + len(self.invalid)
        return FieldSummary(
            self.name,
            self.label,
            "number",
            self.count,
            self.missing,
            unique,
            numbers=describe(values),
            invalid=invalid,
        )


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class _ChoiceAcc(_Acc):
    kind = "choice"

    def __init__(self, name: str, label: str, index: int, options: Sequence[tuple[str, str]]):
        super().__init__(name, label, index)
        self.options = options
        self.counts: Counter[str] = Counter()

    def add(self, columns: Sequence[tuple[str, ...]]) -> None:
        self.counts.update(columns[self.index])

    def merge(self, other: Self) -> None:
        self.counts.update(other.counts)

    def result(self) -> FieldSummary:
        counts = Counter(self.counts)
        missing = counts.pop("", 0)
        count = sum(counts.values())
        known = {code for code, _label in self.options}
        # A stored code since removed from the choices is shown under its code, not hidden.
        others = [(code, code) for code in sorted(counts) if code not in known]
        frequencies = tuple(
            Frequency(code, label, counts[code], _percent(counts[code], count))
            for code, label in [*self.options, *others]
        )
        return FieldSummary(
            self.name, self.label, "choice", count, missing, len(counts), frequencies=frequencies
        )


class _CheckboxAcc(_Acc):
    kind = "checkbox"

    def __init__(self, name: str, label: str, options: Sequence[tuple[int, str, str]]):
        super().__init__(name, label, options[0][0])
        self.options = options  # (column index, code, label)
        self.checked = [0] * len(options)
        self.combinations: Counter[tuple[str, ...]] = Counter()
        self.rows = 0

    def add(self, columns: Sequence[tuple[str, ...]]) -> None:
        chosen = [columns[index] for index, _code, _label in self.options]
        for n, column in enumerate(chosen):
            self.checked[n] += column.count("1")
        self.combinations.update(zip(*chosen, strict=True))
        self.rows += len(chosen[0])

    def merge(self, other: Self) -> None:
        self.checked = [a + b for a, b in zip(self.checked, other.checked, strict=True)]
        self.combinations.update(other.combinations)
        self.rows += other.rows

    def result(self) -> FieldSummary:
        none = sum(n for combination, n in self.combinations.items() if "1" not in combination)
        answered = self.rows - none
        frequencies = tuple(
            Frequency(code, label, checked, _percent(checked, answered))
            for (_index, code, label), checked in zip(self.options, self.checked, strict=True)
        )
        unique = sum(1 for combination in self.combinations if "1" in combination)
        return FieldSummary(
            self.name, self.label, "checkbox", answered, none, unique, frequencies=frequencies
        )


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


# The numbers


def describe(values: Sequence[float]) -> Numbers | None:
    """Min, max, mean, sample SD, percentiles and histogram of sorted `values`."""
    n = len(values)
    if not n:
        return None
    mean = math.fsum(values) / n
    sd = None
    if n > 1:  # deviations from the mean first: no cancellation when the mean is large
        deviations = list(map(sub, values, repeat(mean)))
        sd = math.sqrt(math.fsum(map(mul, deviations, deviations)) / (n - 1))
    whole = all(map(float.is_integer, values))
    return Numbers(
        minimum=values[0],
        maximum=values[-1],
        mean=mean,
        sd=sd,
        percentiles={p: percentile(values, p) for p in PERCENTILES},
        bins=histogram(values, whole=whole),
        whole=whole,
    )


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`th percentile of sorted `values`, interpolated linearly (R's type 7)."""
    position = (len(values) - 1) * p / 100
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (position - low) * (values[high] - values[low])


def histogram(values: Sequence[float], *, whole: bool = False) -> tuple[Bin, ...]:
    """Bins of equal width over sorted `values`: Freedman–Diaconis's width (Sturges's count
    when half the values are equal), at most MAX_BINS; whole numbers get whole-number edges,
    one bin per value when their range is small enough."""
    low, high = values[0], values[-1]
    if low == high:
        return (Bin(low, high, len(values)),)
    width = _width(values, whole=whole)
    edges = [low + width * n for n in range(math.ceil((high - low) / width) + 1)]
    if edges[-1] < high or len(edges) < 2:
        edges.append(edges[-1] + width)
    bins = []
    for n in range(len(edges) - 1):
        last = n == len(edges) - 2
        start = bisect_left(values, edges[n])
        stop = bisect_right(values, edges[n + 1]) if last else bisect_left(values, edges[n + 1])
        bins.append(Bin(edges[n], edges[n + 1], stop - start))
    return tuple(bins)


def _width(values: Sequence[float], *, whole: bool) -> float:
    span = values[-1] - values[0]
    n = len(values)
    iqr = percentile(values, 75) - percentile(values, 25)
    sturges = math.ceil(math.log2(n)) + 1
    count = math.ceil(span / (2 * iqr / n ** (1 / 3))) if iqr > 0 else sturges
    count = max(1, min(count, MAX_BINS))
    width = span / count
    if whole:
        width = max(1.0, float(math.ceil(width)))
        if span + 1 <= MAX_BINS:
            width = 1.0
    return width


# Reading the report


def group_options(table: ExportTable, project: Project) -> list[GroupBy]:
    """What the rows may be grouped by: the data access group (when the project has groups)
    and each single-choice field of the report."""
    options = []
    if project.groups.exists():
        options.append(GroupBy(GROUP_COLUMN, _("Data access group")))
    for variable in table.variables:
        if _single_choice(variable):
            options.append(GroupBy(variable.name, variable.label))
    return options


def _single_choice(variable: Variable) -> bool:
    return variable.kind == Kind.CHOICE and bool(variable.field_name) and "___" not in variable.name


def summarise(user: User, project: Project, request: ExportRequest, group_by: str = "") -> Summary:
    """The statistics of every field of the report `request` asks for, as `user` may see it,
    overall and — `group_by` a name from `group_options` — per group. Other names (or "")
    mean no grouping."""
    request = replace(request, labels=False, checkbox_labels=False, decimal_comma=False)
    if group_by == GROUP_COLUMN:
        request = replace(request, group_column=True)  # still absent for a grouped user
    table = export_table(user, project, request)
    chosen = next((g for g in group_options(table, project) if g.name == group_by), None)
    makers = _field_makers(table)
    key_of = _key_of(user, project, table, chosen)
    parts: dict[str, _Part] = {}
    records = _Records()
    for chunk in _chunks(table.rows(), CHUNK):
        columns = list(zip(*chunk, strict=True))
        records.add(columns[0])
        if key_of is None:
            parts.setdefault(BLANK_GROUP, _Part(makers)).add(columns)
            continue
        for key, part in _split(columns, key_of).items():
            parts.setdefault(key, _Part(makers)).add(part)
    if key_of is None:  # the one part is the whole
        overall = parts.get(BLANK_GROUP) or _Part(makers)
    else:
        overall = _Part(makers)
        for each in parts.values():
            overall.merge(each)
        overall.records = records
    summary = Summary(table, overall.result("", _("All rows")), group_by=chosen)
    if chosen is not None:
        for key, label in _group_labels(user, project, table, chosen, parts):
            summary.groups.append(parts.get(key, _Part(makers)).result(key, label))
    return summary


class _Records:
    """How many records the rows hold. An export's rows come record by record (all the rows
    of one record together), so a chunk's distinct ids are counted, less the record that
    continues from the chunk before."""

    def __init__(self) -> None:
        self.count = 0
        self.last: str | None = None

    def add(self, ids: tuple[str, ...]) -> None:
        self.count += len(set(ids)) - (ids[0] == self.last)
        self.last = ids[-1]


class _Part:
    """The rows of one group (or all rows): their count, records and field accumulators."""

    def __init__(self, makers: Sequence[Any]) -> None:
        self.accs: list[_Acc] = [make() for make in makers]
        self.rows = 0
        self.records = _Records()

    def add(self, columns: list[tuple[str, ...]]) -> None:
        self.rows += len(columns[0])
        self.records.add(columns[0])  # the record id leads every row
        for acc in self.accs:
            acc.add(columns)

    def merge(self, other: Self) -> None:
        """Take in another group's figures; the records are counted apart (a record's rows
        may fall in two groups)."""
        self.rows += other.rows
        for acc, theirs in zip(self.accs, other.accs, strict=True):
            acc.merge(theirs)

    def result(self, key: str, label: str) -> GroupSummary:
        fields = [acc.result() for acc in self.accs]
        return GroupSummary(key, label, self.rows, self.records.count, fields)


def _field_makers(table: ExportTable) -> list[Any]:
    """A maker of a fresh accumulator for each field of the table, in its order; a
    checkbox's options make one field. The record id and layout columns are not fields."""
    columns = {column.name: column for column in table.layout.data}
    makers: list[Any] = []
    boxes: dict[str, list[tuple[int, str, str]]] = {}
    for index, variable in enumerate(table.variables):
        if index == 0 or variable.name in LAYOUT_COLUMNS:
            continue
        column = columns.get(variable.name)
        row = column.row if column is not None and column.is_checkbox else None
        if column is not None and row is not None:
            if row.field_name not in boxes:
                boxes[row.field_name] = []
                makers.append(_checkbox_maker(column, boxes[row.field_name]))
            boxes[row.field_name].append((index, column.code, _option_label(column)))
            continue
        makers.append(_maker(variable, index))
    return makers


def _maker(variable: Variable, index: int) -> Any:
    name, label = variable.field_name or variable.name, variable.label
    if variable.kind in NUMBERS:
        return lambda: _NumberAcc(name, label, index)
    if variable.kind in TIMES:
        return lambda: _DateAcc(name, label, index)
    if variable.kind == Kind.CHOICE:
        options = [(c.code, c.label) for c in variable.choices]
        return lambda: _ChoiceAcc(variable.name, label, index, options)
    return lambda: _TextAcc(name, label, index)


def _checkbox_maker(column: Column, options: list[tuple[int, str, str]]) -> Any:
    row = column.row
    assert row is not None
    name, label = row.field_name, plain(row.field_label)
    return lambda: _CheckboxAcc(name, label, options)  # `options` is filled in as read


def _option_label(column: Column) -> str:
    assert column.row is not None
    for choice in parse_choices(column.row.select_choices_or_calculations):
        if choice.code == column.code:
            return plain(choice.label)
    return column.code


def _key_of(user: User, project: Project, table: ExportTable, chosen: GroupBy | None) -> Any:
    """The index of the column holding each row's group key, or the key of every row (a
    member of one group, whose rows have no group column); None without grouping."""
    if chosen is None:
        return None
    names = table.names
    if chosen.name in names:
        return names.index(chosen.name)
    own = member_rights(user, project).group_id
    group = project.groups.filter(pk=own).first() if own else None
    return group.unique_name if group else BLANK_GROUP


def _group_labels(
    user: User, project: Project, table: ExportTable, chosen: GroupBy, parts: dict[str, _Part]
) -> Iterable[tuple[str, str]]:
    """The groups in their natural order (the choices', the groups'), every one the viewer
    may see listed even when no row falls in it, then any other key found, then blank."""
    if chosen.name == GROUP_COLUMN:
        own = member_rights(user, project).group_id
        groups = project.groups.all()
        known = [(g.unique_name, g.name) for g in (groups.filter(pk=own) if own else groups)]
    else:
        variable = next(v for v in table.variables if v.name == chosen.name)
        known = [(c.code, c.label) for c in variable.choices]
    listed = {key for key, _label in known}
    others = [(key, key) for key in sorted(parts) if key not in listed and key != BLANK_GROUP]
    blank = [(BLANK_GROUP, _("[No value]"))] if BLANK_GROUP in parts else []
    return [*known, *others, *blank]


def _chunks(rows: Iterator[list[str]], size: int) -> Iterator[list[list[str]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _split(columns: list[tuple[str, ...]], key_of: int | str) -> dict[str, list[tuple[str, ...]]]:
    """The chunk's columns, cut into one set of columns per group key."""
    if isinstance(key_of, str):
        return {key_of: columns}
    at: dict[str, list[int]] = {}
    for n, key in enumerate(columns[key_of]):
        at.setdefault(key, []).append(n)
    parts = {}
    for key, indexes in at.items():
        pick = itemgetter(*indexes)
        parts[key] = [pick(c) if len(indexes) > 1 else (c[indexes[0]],) for c in columns]
    return parts
