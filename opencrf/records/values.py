"""Check submitted values against a form's dictionary rows, as REDCap's data entry does.

Malformed values (a bad date, an unknown choice code) are problems that refuse the whole save.
Values out of the min/max range and required fields left blank are warnings: REDCap saves them
and tells the user, and so does OpenCRF.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence

from django.conf import settings
from django.utils.translation import gettext as _

from opencrf.core.numbers import whole_number
from opencrf.dictionary.choices import checkbox_column, choice_codes, parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.rendering import char_limit
from opencrf.dictionary.validation import ValidationType, validation_type
from opencrf.records.errors import ValueProblem

NOT_ENTERED = frozenset({"calc", "descriptive", "file"})
BOOLEAN_TYPES = frozenset({"yesno", "truefalse"})
CHOICE_TYPES = frozenset({"dropdown", "radio"})
# Computed and display-only fields cannot be answered, so "required" means nothing for them.
# A file field is answered by the id of its stored file.
NEVER_REQUIRED = frozenset({"calc", "descriptive"})


MAX_RECORD_ID = 100


def record_id_problem(record_id: str) -> str | None:
    """Why `record_id` cannot name a record, or None when it can (existence aside)."""
    if not 1 <= len(record_id) <= MAX_RECORD_ID:
        return _("A record ID has 1 to 100 characters.")
    if record_id != record_id.strip():
        return _("A record ID may not begin or end with a space.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in record_id):
        return _("A record ID may not contain control characters.")
    # A record ID is one part of a page address; `/` would split it, `new` names the add page.
    if "/" in record_id or "\\" in record_id or record_id == "new":
        return _("A record ID may not contain / or \\, nor be “new”.")
    return None


def form_columns(rows: Sequence[FieldRow]) -> dict[str, FieldRow]:
    """Every storage key of a form (checkbox options as `field___code`) → its field's row."""
    columns: dict[str, FieldRow] = {}
    for row in rows:
        if row.field_type == "checkbox":
            for choice in parse_choices(row.select_choices_or_calculations):
                columns[checkbox_column(row.field_name, choice.code)] = row
        else:
            columns[row.field_name] = row
    return columns


def blank_value(key: str, row: FieldRow) -> str:
    """What a missing key means: an unticked box for checkbox options, else blank."""
    return "0" if row.field_type == "checkbox" and key != row.field_name else ""


# A refused value is named in messages by its beginning only: it may be megabytes long.
SHOWN_CHARS = 50


def stored_text_problem(key: str, value: str) -> ValueProblem | None:
    """What no stored value may be, whatever its field: longer than OPENCRF_VALUE_MAX_CHARS,
    or holding a NUL character (PostgreSQL text cannot hold one; SQLite could, so both refuse
    it alike). Checked for every import too, even one that keeps values as they were stored."""
    shown = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"
    limit = settings.OPENCRF_VALUE_MAX_CHARS
    if len(value) > limit:
        message = _("%(field)s has %(length)d characters; a value may have at most %(limit)d.") % {
            "field": key,
            "length": len(value),
            "limit": limit,
        }
        return ValueProblem(key, shown, "value_too_long", message)
    if "\x00" in value:
        message = _("%(field)s contains a NUL character, which no value may contain.") % {
            "field": key
        }
        return ValueProblem(key, shown.replace("\x00", "\\0"), "nul", message)
    return None


def check_value(key: str, value: str, row: FieldRow) -> ValueProblem | None:
    """The problem with one non-blank submitted value, or None when it may be stored."""
    if (problem := stored_text_problem(key, value)) is not None:
        return problem
    kind = row.field_type
    if kind == "checkbox" or kind in BOOLEAN_TYPES:
        return None if value in ("0", "1") else _problem(key, value, "boolean")
    if kind in CHOICE_TYPES:
        codes = choice_codes(row.select_choices_or_calculations)
        return None if value in codes else _problem(key, value, "choice")
    if kind == "slider":
        number = whole_number(value, 3)
        ok = number is not None and number <= 100
        return None if ok else _problem(key, value, "slider")
    vtype = _text_type(row)
    if vtype is not None and not vtype.is_valid(value):
        return _problem(key, value, vtype.name)
    return _length_problem(key, value, row)


def _length_problem(key: str, value: str, row: FieldRow) -> ValueProblem | None:
    """A value longer than the field's @CHARLIMIT, which the browser enforces too."""
    limit = char_limit(row)
    if limit is None or len(value) <= limit:
        return None
    message = _("%(field)s allows at most %(limit)d characters; %(value)s has %(length)d.") % {
        "field": key,
        "limit": limit,
        "value": value,
        "length": len(value),
    }
    return ValueProblem(key, value, "too_long", message)


def range_warnings(key: str, value: str, row: FieldRow) -> Iterator[ValueProblem]:
    """Warnings for a valid value below the field's minimum or above its maximum."""
    vtype = _text_type(row)
    if vtype is None or not vtype.is_ordered:
        return
    low, high = row.text_validation_min.strip(), row.text_validation_max.strip()
    if low and _valid_bound(vtype, low) and _compare(vtype, value, low) < 0:
        message = _("%(value)s is below the minimum, %(min)s.") % {"value": value, "min": low}
        yield ValueProblem(key, value, "min", message)
    if high and _valid_bound(vtype, high) and _compare(vtype, value, high) > 0:
        message = _("%(value)s is above the maximum, %(max)s.") % {"value": value, "max": high}
        yield ValueProblem(key, value, "max", message)


def required_warning(row: FieldRow, values: Mapping[str, str]) -> ValueProblem | None:
    """A warning when a required field has no answer (for a checkbox: no box ticked; for a
    file field: no stored file, including one being removed)."""
    if row.required_field != "y" or row.field_type in NEVER_REQUIRED:
        return None
    if row.field_type == "checkbox":
        prefix = f"{row.field_name}___"
        answered = any(v == "1" for k, v in values.items() if k.startswith(prefix))
    else:
        answered = bool(values.get(row.field_name, ""))
    if answered:
        return None
    message = _("%(field)s is required but has no value.") % {"field": row.field_name}
    return ValueProblem(row.field_name, "", "required", message)


def unknown_key_problem(key: str, value: str) -> ValueProblem:
    message = _("%(field)s is not a field of this form.") % {"field": key}
    return ValueProblem(key, value, "unknown_field", message)


def _text_type(row: FieldRow) -> ValidationType | None:
    if row.field_type != "text":
        return None
    return validation_type(row.text_validation_type_or_show_slider_number.strip())


def _valid_bound(vtype: ValidationType, bound: str) -> bool:
    # Bounds such as 'today' are not stored values; REDCap checks them in the browser only.
    return vtype.bound_type.is_valid(bound)


def _compare(vtype: ValidationType, value: str, bound: str) -> int:
    first, second = vtype.comparable(value), vtype.bound_type.comparable(bound)
    return (first > second) - (first < second)  # type: ignore[operator]


def _problem(key: str, value: str, rule: str) -> ValueProblem:
    if rule == "boolean":
        message = _("%(value)s is not allowed for %(field)s: use 0 or 1.")
    elif rule == "choice":
        message = _("%(value)s is not one of the choices of %(field)s.")
    elif rule == "slider":
        message = _("%(value)s is not allowed for %(field)s: use a whole number from 0 to 100.")
    else:
        message = _("%(value)s is not a valid %(rule)s value for %(field)s.")
    return ValueProblem(key, value, rule, message % {"value": value, "field": key, "rule": rule})
