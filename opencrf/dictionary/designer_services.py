"""The online designer's changes: each one builds a new list of dictionary rows and saves it.

A designer page is loaded with a `Design` (rows, instrument labels and the base token of
`drafts.design_rows`). Every action here is a pure function from one `Design` to the rows and
labels it should become; `design_commit` then hands them to `drafts.design_save` with the base
the page was loaded with, so a change made on a stale page is refused instead of landing over
someone else's, and the whole dictionary is checked (`dictionary_problems`) as on upload.
The designer therefore writes exactly what a dictionary upload of the same design writes.

The project's first field holds the record ID: no change may move, rename or remove it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary import drafts
from opencrf.dictionary.checks import FIELD_NAME_MAX_LENGTH, FORM_NAME_MAX_LENGTH, RESERVED_NAMES
from opencrf.dictionary.choices import choice_codes
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import default_instrument_label, form_names
from opencrf.projects.models import Project

_NAME = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
_NOT_NAME = re.compile(r"[^a-z0-9]+")
_CHOICE_TYPES = frozenset({"dropdown", "radio", "checkbox"})


@dataclass(frozen=True)
class Design:
    """The design a page was loaded with: rows in order, instrument labels, base token."""

    rows: tuple[FieldRow, ...]
    labels: Mapping[str, str]
    base: int
    instruments: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "instruments", tuple(form_names(self.rows)))

    def form_rows(self, form_name: str) -> list[FieldRow]:
        return [row for row in self.rows if row.form_name == form_name]

    def label_of(self, form_name: str) -> str:
        return self.labels.get(form_name) or default_instrument_label(form_name)

    def row(self, field_name: str) -> FieldRow:
        for row in self.rows:
            if row.field_name == field_name:
                return row
        raise InvalidInput(_("The field %(name)s does not exist.") % {"name": field_name})

    def index(self, field_name: str) -> int:
        return self.rows.index(self.row(field_name))

    def require_instrument(self, form_name: str) -> None:
        if form_name not in self.instruments:
            raise InvalidInput(_("The instrument %(name)s does not exist.") % {"name": form_name})

    @property
    def record_id_field(self) -> str:
        return self.rows[0].field_name if self.rows else ""


@dataclass(frozen=True)
class Change:
    """What an action makes of the design: the new rows and labels, and a note for the log."""

    rows: list[FieldRow]
    labels: dict[str, str]
    note: str


def design_load(project: Project) -> Design:
    rows, labels, base = drafts.design_rows(project)
    return Design(rows=tuple(rows), labels=dict(labels), base=base)


def design_commit(
    *, context: AuditContext, project: Project, design: Design, change: Change
) -> int:
    """Save `change` against the base `design` was loaded with; returns the new base."""
    if design.record_id_field and (
        not change.rows or change.rows[0].field_name != design.record_id_field
    ):
        raise InvalidInput(
            _("The record ID field %(name)s must stay the first field of the first instrument.")
            % {"name": design.record_id_field}
        )
    names = form_names(change.rows)
    labels = {name: change.labels.get(name) or default_instrument_label(name) for name in names}
    return drafts.design_save(
        context=context,
        project=project,
        rows=change.rows,
        instrument_labels=labels,
        base=design.base,
        note=change.note,
    )


# ---------------------------------------------------------------- names


def name_problem(name: str, *, what: str = "field") -> str | None:
    """Why `name` cannot name a field (or an instrument), or None."""
    limit = FIELD_NAME_MAX_LENGTH if what == "field" else FORM_NAME_MAX_LENGTH
    if not name:
        return _("A name is required.")
    if not _NAME.fullmatch(name):
        return _(
            "%(name)s: use lowercase letters, digits and underscores, starting with a letter."
        ) % {"name": name}
    if len(name) > limit:
        return _("%(name)s is longer than %(limit)d characters.") % {"name": name, "limit": limit}
    if name in RESERVED_NAMES:
        return _("%(name)s is reserved by REDCap.") % {"name": name}
    return None


def name_from_label(
    label: str, *, taken: Sequence[str] = (), limit: int = 26, fallback: str = "field"
) -> str:
    """A variable name made from a label: `Date of birth` → `date_of_birth`, made unique.

    Text that gives no ASCII letters (Japanese, say) gives `fallback`, numbered when taken.
    """
    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    words = [word for word in _NOT_NAME.split(ascii_text.lower()) if word]
    base = "_".join(words)[:limit].strip("_")
    if not base or not base[0].isalpha():
        base = f"{fallback}_{base}".strip("_") if base else fallback
    return unique_name(base, set(taken))


def unique_name(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3` … — the first not in `taken`."""
    if base not in taken:
        return base
    number = 2
    while f"{base}_{number}" in taken:
        number += 1
    return f"{base}_{number}"


def _taken_names(design: Design) -> set[str]:
    taken = {row.field_name for row in design.rows}
    return taken | {f"{name}_complete" for name in design.instruments}


# ---------------------------------------------------------------- fields


def field_add(design: Design, row: FieldRow, *, before: str = "") -> Change:
    """Add `row` to its instrument, before the field `before` (else at the instrument's end)."""
    design.require_instrument(row.form_name)
    _require_new_name(design, row.field_name)
    rows = list(design.rows)
    if before:
        if design.row(before).form_name != row.form_name:
            raise InvalidInput(_("That position is in another instrument."))
        if before == design.record_id_field:
            raise InvalidInput(_("Nothing can go before the record ID field."))
        rows.insert(design.index(before), row)
    else:
        rows.insert(_end_of(design, row.form_name), row)
    return Change(rows, dict(design.labels), f"Field {row.field_name} added")


def field_edit(
    design: Design, name: str, row: FieldRow, *, data_counts: Mapping[str, int] | None = None
) -> Change:
    """Replace the field `name` with `row` (which may rename it), in place.

    `data_counts` (choice code → stored values) refuses removing or recoding a choice that
    holds data.
    """
    old = design.row(name)
    if row.field_name != name:
        _require_new_name(design, row.field_name)
    if row.form_name != old.form_name:
        raise InvalidInput(_("Move a field to another instrument with the Move form."))
    _refuse_lost_codes(old, row, data_counts or {})
    rows = [row if current.field_name == name else current for current in design.rows]
    return Change(rows, dict(design.labels), f"Field {name} changed")


def field_copy(design: Design, name: str) -> Change:
    """A copy of the field right after it, named `<name>_copy` (numbered when taken)."""
    old = design.row(name)
    copy = old.replace(field_name=unique_name(f"{name}_copy", _taken_names(design)))
    rows = list(design.rows)
    rows.insert(design.index(name) + 1, copy)
    return Change(rows, dict(design.labels), f"Field {name} copied as {copy.field_name}")


def field_delete(design: Design, name: str) -> Change:
    design.row(name)
    if name == design.record_id_field:
        raise InvalidInput(_("The record ID field cannot be deleted."))
    rows = [row for row in design.rows if row.field_name != name]
    if not any(row.form_name == design.row(name).form_name for row in rows):
        raise InvalidInput(_("An instrument needs at least one field; delete the instrument."))
    return Change(rows, dict(design.labels), f"Field {name} deleted")


def field_move(design: Design, name: str, *, form_name: str, position: int) -> Change:
    """Move a field to `position` (1 = first) of the instrument `form_name`."""
    design.require_instrument(form_name)
    moving = design.row(name)
    if name == design.record_id_field:
        raise InvalidInput(_("The record ID field cannot be moved."))
    rest = [row for row in design.rows if row.field_name != name]
    if not any(row.form_name == moving.form_name for row in rest):
        raise InvalidInput(_("An instrument needs at least one field; this is its last."))
    targets = [i for i, row in enumerate(rest) if row.form_name == form_name]
    position = max(1, min(position, len(targets) + 1))
    at = targets[position - 1] if position <= len(targets) else targets[-1] + 1
    if at == 0 and design.record_id_field:
        at = 1
    rest.insert(at, moving.replace(form_name=form_name))
    return Change(rest, dict(design.labels), f"Field {name} moved")


def field_step(design: Design, name: str, step: int) -> Change:
    """Move a field one place up (-1) or down (+1) within its instrument."""
    row = design.row(name)
    siblings = [r.field_name for r in design.form_rows(row.form_name)]
    return field_move(
        design, name, form_name=row.form_name, position=siblings.index(name) + 1 + step
    )


def _end_of(design: Design, form_name: str) -> int:
    last = max(i for i, row in enumerate(design.rows) if row.form_name == form_name)
    return last + 1


def _require_new_name(design: Design, name: str) -> None:
    problem = name_problem(name)
    if problem:
        raise InvalidInput(problem)
    if name in _taken_names(design):
        raise InvalidInput(_("A field named %(name)s exists already.") % {"name": name})


def lost_codes(old: FieldRow, new: FieldRow) -> list[str]:
    """Choice codes of `old` that `new` no longer offers (all when it stops having choices)."""
    if old.field_type not in _CHOICE_TYPES:
        return []
    before = choice_codes(old.select_choices_or_calculations)
    if new.field_type not in _CHOICE_TYPES:
        return sorted(before)
    # A checkbox keeps its data per code column; a changed type between the other two is fine.
    return sorted(before - choice_codes(new.select_choices_or_calculations))


def _refuse_lost_codes(old: FieldRow, new: FieldRow, counts: Mapping[str, int]) -> None:
    if new.field_name != old.field_name:
        return  # a rename keeps every code; draft review judges what it means for stored data
    held = {code: counts[code] for code in lost_codes(old, new) if counts.get(code, 0)}
    if held:
        listed = ", ".join(f"{code} ({count})" for code, count in held.items())
        raise InvalidInput(
            _(
                "These choice codes hold data and cannot be removed or changed: %(codes)s "
                "(code and number of stored values)."
            )
            % {"codes": listed}
        )


# ---------------------------------------------------------------- instruments


def instrument_create(design: Design, name: str, label: str) -> Change:
    """A new instrument at the end, holding one field, since a form needs one: in a blank
    project the record ID field (`record_id`, as REDCap starts), else a descriptive field."""
    _require_new_form(design, name)
    label = label.strip() or default_instrument_label(name)
    if design.rows:
        intro = FieldRow(
            field_name=unique_name(f"{name}_intro", _taken_names(design)),
            form_name=name,
            field_type="descriptive",
            field_label=label,
        )
    else:
        intro = FieldRow(field_name="record_id", form_name=name, field_label=_("Record ID"))
    labels = {**design.labels, name: label}
    return Change([*design.rows, intro], labels, f"Instrument {name} created")


def instrument_rename(design: Design, name: str, label: str) -> Change:
    design.require_instrument(name)
    if not label.strip():
        raise InvalidInput(_("An instrument needs a label."))
    labels = {**design.labels, name: label.strip()}
    return Change(list(design.rows), labels, f"Instrument {name} renamed")


def instrument_copy(design: Design, name: str, new_name: str, label: str) -> Change:
    """A copy of an instrument after the last one; its fields get a suffix to stay unique."""
    design.require_instrument(name)
    _require_new_form(design, new_name)
    rows = renamed_rows(design.form_rows(name), new_name, _taken_names(design), suffix="_v2")
    labels = {**design.labels, new_name: label.strip() or f"{design.label_of(name)} 2"}
    return Change([*design.rows, *rows], labels, f"Instrument {name} copied as {new_name}")


def instrument_delete(design: Design, name: str) -> Change:
    design.require_instrument(name)
    if design.rows and design.rows[0].form_name == name:
        raise InvalidInput(_("The first instrument holds the record ID field; it stays."))
    rows = [row for row in design.rows if row.form_name != name]
    return Change(rows, dict(design.labels), f"Instrument {name} deleted")


def instrument_move(design: Design, name: str, position: int) -> Change:
    """Put an instrument at `position` (1 = first); the first one keeps the record ID."""
    design.require_instrument(name)
    order = [form for form in design.instruments if form != name]
    position = max(1, min(position, len(order) + 1))
    order.insert(position - 1, name)
    if order[0] != design.instruments[0]:
        raise InvalidInput(_("The first instrument holds the record ID field; it stays first."))
    rows = [row for form in order for row in design.form_rows(form)]
    return Change(rows, dict(design.labels), f"Instrument {name} moved")


def instrument_add_rows(design: Design, rows: Sequence[FieldRow], label: str) -> Change:
    """An uploaded instrument appended; its rows already carry their (new) names."""
    name = rows[0].form_name
    _require_new_form(design, name)
    labels = {**design.labels, name: label.strip() or default_instrument_label(name)}
    return Change([*design.rows, *rows], labels, f"Instrument {name} uploaded")


def _require_new_form(design: Design, name: str) -> None:
    problem = name_problem(name, what="instrument")
    if problem:
        raise InvalidInput(problem)
    if name in design.instruments:
        raise InvalidInput(_("An instrument named %(name)s exists already.") % {"name": name})


def renamed_rows(
    rows: Sequence[FieldRow], form_name: str, taken: set[str], *, suffix: str
) -> list[FieldRow]:
    """`rows` moved to `form_name`; field names clashing with `taken` get `suffix` (numbered),
    and the rows' own references to renamed fields (`[name]`, `[name(code)]`) follow them."""
    taken = set(taken)
    renames: dict[str, str] = {}
    for row in rows:
        if row.field_name in taken:
            renames[row.field_name] = unique_name(f"{row.field_name}{suffix}", taken)
        taken.add(renames.get(row.field_name, row.field_name))
    return [_renamed(row, form_name, renames) for row in rows]


def _renamed(row: FieldRow, form_name: str, renames: Mapping[str, str]) -> FieldRow:
    def swap(text: str) -> str:
        if not renames or "[" not in text:
            return text
        return re.sub(
            r"\[([a-z][a-z0-9_]*)(?=[\]\(:])",
            lambda m: "[" + renames.get(m.group(1), m.group(1)),
            text,
        )

    return row.replace(
        field_name=renames.get(row.field_name, row.field_name),
        form_name=form_name,
        branching_logic=swap(row.branching_logic),
        select_choices_or_calculations=(
            swap(row.select_choices_or_calculations)
            if row.field_type == "calc"
            else row.select_choices_or_calculations
        ),
        field_annotation=swap(row.field_annotation),
    )
