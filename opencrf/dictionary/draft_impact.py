"""The impact review of a draft: every change to the design and what it does to stored data.

Each change is marked *critical* when it hides or invalidates values already stored — a field
or a choice code removed while it holds data, a type or validation that existing values would
fail, a checkbox turned into a single-value field (or back), a field moved to another
instrument, a calculation whose stored results would change — and *safe* otherwise. A rename
is a removal plus an addition, exactly what happens to its data.

Locked data (a locked form, a form of a locked record, an e-signed form) is never changed by
a draft. Every change that touches stored data names the locked form instances it touches; a
change that would hide or reinterpret a locked value (a field or code removed, a rename, a move
to another instrument, a checkbox storage change) *blocks* applying until those forms are
unlocked (`DraftReview.blocking`); type, validation and calculation changes leave locked values
and results exactly as stored, and the review says so.

Counting stored data is records' business; records registers a `DraftData` at start-up
(`RecordsConfig.ready`) that answers with SQL over the forms' JSON, one scan per instrument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils.translation import gettext as _

from opencrf.dictionary.choices import checkbox_column, parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.diff import DictionaryDiff, diff_dictionaries
from opencrf.dictionary.models import DictionaryDraft
from opencrf.dictionary.selectors import project_rows
from opencrf.projects.models import Project

SAMPLE_SIZE = 20
# Locked form instances named per change at most (the count covers them all).
LOCKED_LISTED = 50
# Columns whose change can make a stored value invalid under the new definition.
VALUE_RULE_COLUMNS = frozenset(
    {
        "field_type",
        "text_validation_type_or_show_slider_number",
        "select_choices_or_calculations",
    }
)


@dataclass(frozen=True, slots=True)
class Probe:
    """Stored data to count in one instrument: any of `keys` holding `code`, or any
    non-blank value when `code` is None."""

    form_name: str
    keys: tuple[str, ...]
    code: str | None = None
    want_sample: bool = False


@dataclass(frozen=True, slots=True)
class LockedForm:
    """A locked form instance a change touches; `signed` when it holds a valid e-signature."""

    record: str
    event: str
    form: str
    instance: int
    signed: bool = False

    def as_json(self) -> list[Any]:
        return [self.record, self.event, self.form, self.instance, self.signed]

    def __str__(self) -> str:
        return f"{self.record} ({self.form}, {self.event} #{self.instance})"


@dataclass(frozen=True, slots=True)
class Held:
    """How much stored data a change touches: records, form instances, a few record ids, and
    the locked form instances among them (`locked_count` of them, the first few named)."""

    records: int = 0
    values: int = 0
    sample: tuple[str, ...] = ()
    locked: tuple[LockedForm, ...] = ()
    locked_count: int = 0


class DraftData(Protocol):
    def holding(self, project: Project, probes: Sequence[Probe]) -> list[Held]:
        """For each probe, the stored data it finds; one scan per instrument probed."""
        ...

    def failing(self, project: Project, pairs: Sequence[tuple[FieldRow, FieldRow]]) -> list[Held]:
        """For each (old, new) pair, stored values of `old` that a save under `new` would
        refuse; one scan per instrument."""
        ...

    def calc_changes(self, project: Project, rows: Sequence[FieldRow], calc: FieldRow) -> Held:
        """Stored results of `calc` that computing it under `rows` would change."""
        ...


class _NoData:
    def holding(self, project: Project, probes: Sequence[Probe]) -> list[Held]:
        return [Held() for _probe in probes]

    def failing(self, project: Project, pairs: Sequence[tuple[FieldRow, FieldRow]]) -> list[Held]:
        return [Held() for _pair in pairs]

    def calc_changes(self, project: Project, rows: Sequence[FieldRow], calc: FieldRow) -> Held:
        return Held()


_data: list[DraftData] = [_NoData()]


def draft_data_register(data: DraftData) -> None:
    _data[0] = data


def draft_data() -> DraftData:
    return _data[0]


@dataclass(frozen=True, slots=True)
class Change:
    """One change of the draft, as the review page lists it."""

    kind: str
    field_name: str
    form_name: str
    description: str
    critical: bool
    held: Held = field(default_factory=Held)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "field": self.field_name,
            "form": self.form_name,
            "description": self.description,
            "critical": self.critical,
            "records": self.held.records,
            "values": self.held.values,
            "sample": list(self.held.sample),
            "locked_count": self.held.locked_count,
            "locked": [form.as_json() for form in self.held.locked],
        }

    @property
    def blocks_apply(self) -> bool:
        """Whether the change would hide or reinterpret values of locked forms."""
        return self.kind in _HIDING_KINDS and self.held.locked_count > 0


@dataclass(frozen=True, slots=True)
class DraftReview:
    old_rows: list[FieldRow]
    new_rows: list[FieldRow]
    diff: DictionaryDiff
    changes: list[Change]

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def has_critical(self) -> bool:
        return any(change.critical for change in self.changes)

    @property
    def blocking(self) -> list[Change]:
        """The changes that may not be applied while the forms they touch stay locked."""
        return [change for change in self.changes if change.blocks_apply]

    @property
    def touches_locked(self) -> bool:
        return any(change.held.locked_count for change in self.changes)

    def summary(self) -> dict[str, Any]:
        return {
            "critical": self.has_critical,
            "changes": [change.as_json() for change in self.changes],
        }

    def kept_values_summary(self) -> dict[str, int]:
        """Field → number of stored form instances whose values stay hidden but kept."""
        return {
            change.field_name: change.held.values
            for change in self.changes
            if change.critical and change.held.values and change.kind in _HIDING_KINDS
        }


_HIDING_KINDS = frozenset({"field_removed", "storage_changed", "form_changed", "code_removed"})


def draft_review(project: Project, draft: DictionaryDraft) -> DraftReview:
    """The review of `draft` against the live design of `project`."""
    return review_rows(project, project_rows(project), draft.field_rows())


def review_rows(project: Project, old: Sequence[FieldRow], new: Sequence[FieldRow]) -> DraftReview:
    diff = diff_dictionaries(old, new)
    old_by, new_by = {r.field_name: r for r in old}, {r.field_name: r for r in new}
    planned = _planned(diff, old_by, new_by)
    held = draft_data().holding(project, [probe for _c, probe in planned if probe is not None])
    counts = iter(held)
    changes = [
        _judge(change, next(counts) if probe is not None else Held()) for change, probe in planned
    ]
    changes += _value_rule_changes(project, diff, old_by, new_by)
    changes += _calc_changes(project, diff, old_by, new_by, new)
    changes += _plain_changes(diff, old_by, new_by)
    return DraftReview(list(old), list(new), diff, changes)


def _storage_keys(row: FieldRow) -> tuple[str, ...]:
    if row.field_type == "checkbox":
        codes = [c.code for c in parse_choices(row.select_choices_or_calculations)]
        return tuple(checkbox_column(row.field_name, code) for code in codes)
    return (row.field_name,)


def _any_value(row: FieldRow) -> Probe:
    """Data stored for `row` at all: a ticked box, or any non-blank value."""
    code = "1" if row.field_type == "checkbox" else None
    return Probe(row.form_name, _storage_keys(row), code)


def _planned(
    diff: DictionaryDiff, old: dict[str, FieldRow], new: dict[str, FieldRow]
) -> list[tuple[Change, Probe | None]]:
    """Changes whose criticality is decided by whether data are stored, with their probes."""
    planned: list[tuple[Change, Probe | None]] = []
    for name in diff.removed_fields:
        row = old[name]
        text = _("Field removed (a renamed field shows as removed and added)")
        planned.append((Change("field_removed", name, row.form_name, text, False), _any_value(row)))
    for name, codes in diff.removed_choice_codes.items():
        row = old[name]
        for code in codes:
            text = _("Choice code %(code)s removed") % {"code": code}
            if row.field_type == "checkbox":
                probe = Probe(row.form_name, (checkbox_column(name, code),), "1", True)
            else:
                probe = Probe(row.form_name, (name,), code, True)
            planned.append((Change("code_removed", name, row.form_name, text, False), probe))
    for name, columns in diff.changed_fields.items():
        before, after = old[name], new[name]
        if "form_name" in columns:
            text = _("Moved from instrument %(old)s to %(new)s") % {
                "old": before.form_name,
                "new": after.form_name,
            }
            planned.append(
                (Change("form_changed", name, before.form_name, text, False), _any_value(before))
            )
        if (before.field_type == "checkbox") != (after.field_type == "checkbox"):
            text = _("Type changed from %(old)s to %(new)s: values are stored differently") % {
                "old": before.field_type,
                "new": after.field_type,
            }
            planned.append(
                (Change("storage_changed", name, before.form_name, text, False), _any_value(before))
            )
    return planned


def _judge(change: Change, held: Held) -> Change:
    return Change(
        change.kind,
        change.field_name,
        change.form_name,
        change.description,
        held.values > 0,
        held,
    )


def _value_rule_changes(
    project: Project, diff: DictionaryDiff, old: dict[str, FieldRow], new: dict[str, FieldRow]
) -> list[Change]:
    """Type, validation or choice changes, judged by the stored values the new rule refuses."""
    pairs = []
    for name, columns in diff.changed_fields.items():
        before, after = old[name], new[name]
        if not VALUE_RULE_COLUMNS & set(columns) or "form_name" in columns:
            continue
        if "checkbox" in (before.field_type, after.field_type) or after.field_type == "calc":
            continue  # storage changes and calculations are judged elsewhere
        if set(columns) == {"select_choices_or_calculations"}:
            continue  # removed codes are listed one by one; relabelled choices are safe
        pairs.append((before, after))
    changes = []
    for (before, after), held in zip(pairs, draft_data().failing(project, pairs), strict=True):
        name = before.field_name
        text = _("Type or validation changed (%(old)s → %(new)s)") % {
            "old": _rule_text(before),
            "new": _rule_text(after),
        }
        if held.locked_count:
            text += " " + _("Values in locked forms stay as they are.")
        changes.append(Change("rule_changed", name, before.form_name, text, held.values > 0, held))
    return changes


def _rule_text(row: FieldRow) -> str:
    rule = row.text_validation_type_or_show_slider_number
    return f"{row.field_type} {rule}".strip()


def _calc_changes(
    project: Project,
    diff: DictionaryDiff,
    old: dict[str, FieldRow],
    new: dict[str, FieldRow],
    rows: Sequence[FieldRow],
) -> list[Change]:
    changes = []
    for name, columns in diff.changed_fields.items():
        after = new[name]
        if after.field_type != "calc" or "form_name" in columns:
            continue
        if not {"select_choices_or_calculations", "field_type"} & set(columns):
            continue
        held = draft_data().calc_changes(project, rows, after)
        text = _("Calculation changed: stored results that would change")
        if held.locked_count:
            text += " " + _("Results in locked forms are not recalculated; they stay as stored.")
        changes.append(Change("calc_changed", name, after.form_name, text, held.values > 0, held))
    return changes


def _plain_changes(
    diff: DictionaryDiff, old: dict[str, FieldRow], new: dict[str, FieldRow]
) -> list[Change]:
    """Changes that touch no stored value: additions, labels, logic, order."""
    changes = [
        Change("field_added", name, new[name].form_name, _("Field added"), False)
        for name in diff.added_fields
    ]
    for name, columns in diff.changed_fields.items():
        other = sorted(set(columns) - VALUE_RULE_COLUMNS - {"form_name"})
        if other:
            text = _("Changed: %(columns)s") % {"columns": ", ".join(other)}
            changes.append(Change("attributes_changed", name, new[name].form_name, text, False))
    changes += [
        Change("field_moved", name, new[name].form_name, _("Moved within the dictionary"), False)
        for name in diff.moved_fields
    ]
    return changes
