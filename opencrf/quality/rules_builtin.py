"""REDCap's built-in data quality rules, and how each field of a form is checked by them.

Keys and meanings follow REDCap's Data Quality page:

- A: blank values (all fields not hidden by branching logic)
- B: blank values (required fields only, not hidden by branching logic)
- C: field validation errors (incorrect data type)
- D: field validation errors (out of range)
- E: outliers for numerical fields (beyond two standard deviations from the mean)
- F: hidden fields that contain values (branching logic false, a value stored)
- G: multiple choice fields with invalid values
- H: incorrect values for calculated fields
- I: fields containing "missing data codes" (only when the project defines codes)
- J: missing data per event: a record has no data at an event of its arm that comes before the
  last event where it has data (an OpenCRF addition; REDCap leaves it to custom rules)

Calculated and descriptive fields are never "blank" (nobody answers them), nor is the record
id field. A checkbox is blank when no box is ticked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from opencrf.dictionary.choices import checkbox_column, parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.form_logic import calculation_of
from opencrf.dictionary.rendering import char_limit
from opencrf.dictionary.validation import Comparable, ValidationType, validation_type

BUILTIN_RULES = {
    "A": _("Blank values (all)"),
    "B": _("Blank values (required fields only)"),
    "C": _("Field validation errors (incorrect data type)"),
    "D": _("Field validation errors (out of range)"),
    "E": _("Outliers for numerical fields (beyond two standard deviations from the mean)"),
    "F": _("Hidden fields that contain values"),
    "G": _("Multiple choice fields with invalid values"),
    "H": _("Incorrect values for calculated fields"),
    "I": _("Fields containing missing data codes"),
    "J": _("Missing data per event (events before the record's last event with data)"),
}
NEVER_BLANK = frozenset({"calc", "descriptive"})
NUMERIC_KINDS = frozenset({"integer", "number"})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What the rules need to know of one field, worked out once a run."""

    row: FieldRow
    name: str
    kind: str
    checkbox_columns: tuple[str, ...]
    may_be_blank: bool
    required: bool
    numeric: bool
    calculated: bool
    vtype: ValidationType | None = None
    low: Comparable | None = None
    high: Comparable | None = None
    char_limit: int | None = None


def field_spec(row: FieldRow) -> FieldSpec:
    kind = row.field_type
    columns: tuple[str, ...] = ()
    if kind == "checkbox":
        choices = parse_choices(row.select_choices_or_calculations)
        columns = tuple(checkbox_column(row.field_name, c.code) for c in choices)
    vtype = validation_type(row.text_validation_type_or_show_slider_number.strip())
    numeric = (
        kind in ("calc", "slider")
        or (kind == "text" and vtype is not None and vtype.kind in NUMERIC_KINDS)
    ) and not (vtype is not None and vtype.decimal_comma)
    calculated = bool(calculation_of(row)[0])
    text_type = vtype if kind == "text" else None
    low, high = (
        _bound(text_type, row.text_validation_min),
        _bound(text_type, row.text_validation_max),
    )
    return FieldSpec(
        vtype=text_type,
        low=low,
        high=high,
        char_limit=char_limit(row) if kind == "text" else None,
        row=row,
        name=row.field_name,
        kind=kind,
        checkbox_columns=columns,
        may_be_blank=kind not in NEVER_BLANK and not calculated,
        required=row.required_field == "y",
        numeric=numeric,
        calculated=calculated,
    )


def _bound(vtype: ValidationType | None, text: str) -> Comparable | None:
    """A min or max as a comparable value, once a run; None when absent or not a stored
    value (`today`: REDCap checks such bounds in the browser only)."""
    text = text.strip()
    if vtype is None or not vtype.is_ordered or not text or not vtype.bound_type.is_valid(text):
        return None
    return vtype.bound_type.comparable(text)


def field_value(spec: FieldSpec, values: Mapping[str, str]) -> str:
    """The field's value as a result shows it: a checkbox's ticked codes joined by commas."""
    if spec.kind != "checkbox":
        return values.get(spec.name, "")
    prefix = len(spec.name) + 3
    return ",".join(
        column[prefix:] for column in spec.checkbox_columns if values.get(column) == "1"
    )


def has_value(spec: FieldSpec, values: Mapping[str, str]) -> bool:
    if spec.kind == "checkbox":
        return any(values.get(column) == "1" for column in spec.checkbox_columns)
    return values.get(spec.name, "") != ""
