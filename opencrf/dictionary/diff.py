"""What changes between two versions of a data dictionary.

Fields are matched by name, so a renamed field shows as one removed and one added: exactly
what happens to its data. `removed_choice_codes` lists the codes a kept field stops
offering, which orphans any data saved with them. A change of field type (in
`changed_fields`) can orphan data too, most of all to or from checkbox, whose values live in
one column per option; callers judge those from the types.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opencrf.dictionary.checks import CHOICE_TYPES
from opencrf.dictionary.choices import parse_choices
from opencrf.dictionary.columns import API_COLUMNS, FieldRow

# Yes/no and true/false store these codes without listing them as choices.
IMPLICIT_CODES = {"yesno": ("1", "0"), "truefalse": ("1", "0")}
_COMPARED_COLUMNS = tuple(name for name in API_COLUMNS if name != "field_name")


@dataclass(frozen=True, slots=True)
class DictionaryDiff:
    """The differences from an old dictionary to a new one, each list in dictionary order.

    `changed_fields` maps a kept field to its changed attributes (API column names) and
    their (old, new) values. `moved_fields` are kept fields whose order among the kept
    fields changed: the fewest fields that, taken out and put back, give the new order.
    """

    added_fields: tuple[str, ...]
    removed_fields: tuple[str, ...]
    changed_fields: Mapping[str, Mapping[str, tuple[str, str]]]
    added_forms: tuple[str, ...]
    removed_forms: tuple[str, ...]
    removed_choice_codes: Mapping[str, tuple[str, ...]]
    moved_fields: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not (
            self.added_fields or self.removed_fields or self.changed_fields or self.moved_fields
        )

    def summary(self) -> dict[str, object]:
        """The diff as plain JSON-ready values, for audit entries."""
        return {
            "added_fields": list(self.added_fields),
            "removed_fields": list(self.removed_fields),
            "changed_fields": {
                name: {column: list(values) for column, values in changes.items()}
                for name, changes in self.changed_fields.items()
            },
            "added_forms": list(self.added_forms),
            "removed_forms": list(self.removed_forms),
            "removed_choice_codes": {k: list(v) for k, v in self.removed_choice_codes.items()},
            "moved_fields": list(self.moved_fields),
        }


def diff_dictionaries(old: Sequence[FieldRow], new: Sequence[FieldRow]) -> DictionaryDiff:
    """The differences from `old` to `new`; fields are matched by name."""
    old_by_name = {row.field_name: row for row in old}
    new_by_name = {row.field_name: row for row in new}
    kept = [row.field_name for row in new if row.field_name in old_by_name]
    changed = {name: _changes(old_by_name[name], new_by_name[name]) for name in kept}
    return DictionaryDiff(
        added_fields=tuple(row.field_name for row in new if row.field_name not in old_by_name),
        removed_fields=tuple(row.field_name for row in old if row.field_name not in new_by_name),
        changed_fields={name: changes for name, changes in changed.items() if changes},
        added_forms=_missing_from(_forms(new), _forms(old)),
        removed_forms=_missing_from(_forms(old), _forms(new)),
        removed_choice_codes=_removed_codes(old_by_name, new_by_name, kept),
        moved_fields=_moved(kept, {row.field_name: i for i, row in enumerate(old)}),
    )


def choice_codes(row: FieldRow) -> tuple[str, ...]:
    """The codes a field can store: its choices, the implicit 1/0 of yes/no, else none."""
    if row.field_type in CHOICE_TYPES:
        return tuple(choice.code for choice in parse_choices(row.select_choices_or_calculations))
    return IMPLICIT_CODES.get(row.field_type, ())


def _changes(old: FieldRow, new: FieldRow) -> dict[str, tuple[str, str]]:
    return {
        column: (getattr(old, column), getattr(new, column))
        for column in _COMPARED_COLUMNS
        if getattr(old, column) != getattr(new, column)
    }


def _forms(rows: Sequence[FieldRow]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(row.form_name for row in rows))


def _missing_from(forms: Sequence[str], other: Sequence[str]) -> tuple[str, ...]:
    present = set(other)
    return tuple(form for form in forms if form not in present)


def _removed_codes(
    old: Mapping[str, FieldRow], new: Mapping[str, FieldRow], kept: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Codes a kept field stops offering while it still offers codes.

    A field that turns into one without codes (radio to text) keeps its values as text, so
    its codes are not counted as removed; the type change shows in `changed_fields`.
    """
    removed = {}
    for name in kept:
        offered = set(choice_codes(new[name]))
        lost = tuple(code for code in choice_codes(old[name]) if code not in offered)
        if lost and offered:
            removed[name] = lost
    return removed


def _moved(kept: Sequence[str], old_position: Mapping[str, int]) -> tuple[str, ...]:
    """The kept fields outside a longest run that keeps its old order (O(n log n))."""
    positions = [old_position[name] for name in kept]
    stays = _longest_increasing(positions)
    return tuple(
        name for name, position in zip(kept, positions, strict=True) if position not in stays
    )


def _longest_increasing(values: Sequence[int]) -> set[int]:
    """The members of one longest strictly increasing subsequence of distinct `values`."""
    tails: list[int] = []
    tail_index: list[int] = []
    parent: list[int] = [-1] * len(values)
    for index, value in enumerate(values):
        slot = bisect.bisect_left(tails, value)
        parent[index] = tail_index[slot - 1] if slot else -1
        if slot == len(tails):
            tails.append(value)
            tail_index.append(index)
        else:
            tails[slot] = value
            tail_index[slot] = index
    members: set[int] = set()
    index = tail_index[-1] if tail_index else -1
    while index >= 0:
        members.add(values[index])
        index = parent[index]
    return members
