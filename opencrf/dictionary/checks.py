"""The rules a data dictionary must follow before a project can use it.

`check_dictionary` reports every problem at once, each located by spreadsheet row (the
header is row 1) and column, so a designer can fix a whole file in one pass. Labels, notes
and choice labels are data: markup or spreadsheet formulas in them are accepted here and
escaped wherever they are shown. Names become columns, file names and URL parts, so they are
held to REDCap's strict pattern.

Where REDCap accepts something the rules below would like to refuse, REDCap wins: a
dictionary exported from REDCap must load unchanged (see tests/test_checks.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from opencrf.dictionary.choices import (
    checkbox_column,
    choice_options,
    parse_choice,
    parse_choices,
)
from opencrf.dictionary.columns import UI_HEADERS, FieldRow
from opencrf.dictionary.problems import FIRST_FIELD_ROW, Problem, header_of
from opencrf.dictionary.validation import ValidationType, validation_type

LogicChecker = Callable[[str], str | None]
"""Returns an error message for bad logic, or None when the logic is sound."""

FIELD_TYPES = frozenset(
    {
        "text",
        "notes",
        "dropdown",
        "radio",
        "checkbox",
        "yesno",
        "truefalse",
        "calc",
        "file",
        "slider",
        "descriptive",
        "sql",
    }
)
CHOICE_TYPES = frozenset({"dropdown", "radio", "checkbox"})
MATRIX_TYPES = frozenset({"radio", "checkbox"})
TYPES_WITHOUT_CHOICES = frozenset({"text", "notes", "yesno", "truefalse", "file", "descriptive"})
RESERVED_NAMES = frozenset(
    {
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
        "redcap_survey_identifier",
    }
)
RESERVED_FORM_SUFFIXES = ("_complete", "_timestamp")
FIELD_NAME_MAX_LENGTH = 100
FORM_NAME_MAX_LENGTH = 64
ALIGNMENTS = frozenset({"LV", "LH", "RV", "RH"})
YES_FLAG_COLUMNS = ("identifier", "required_field", "matrix_ranking")
SLIDER_MAX_LABELS = 3
# Relative bounds REDCap offers for the min/max of dates and datetimes.
RELATIVE_BOUNDS = frozenset({"today", "now"})

_NAME = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
_CHECKBOX_CODE = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)
_WHOLE_NUMBER = re.compile(r"[-+]?\d+", re.ASCII)
_COLUMN_ORDER = {header: position for position, header in enumerate(UI_HEADERS, start=1)}
_INVALID_BOUND_RULES = {
    "text_validation_min": "validation_min_invalid",
    "text_validation_max": "validation_max_invalid",
}


def check_dictionary(
    rows: Sequence[FieldRow],
    *,
    allow_sql: bool = False,
    logic_checker: LogicChecker | None = None,
    row_numbers: Sequence[int] | None = None,
) -> list[Problem]:
    """Every problem of the dictionary, ordered by row and column; `[]` when it is sound.

    `row_numbers` gives each field's spreadsheet row (as `csvio.read_dictionary_csv` finds
    them); without it the rows are taken to follow the header with no gaps. `allow_sql`
    admits `sql` fields, which only an administrator may enable. `logic_checker` is called
    with every branching logic and calculation.
    """
    if not rows:
        return [_empty_dictionary_problem()]
    if row_numbers is None:
        row_numbers = range(FIRST_FIELD_ROW, FIRST_FIELD_ROW + len(rows))
    if len(row_numbers) != len(rows):
        raise ValueError("row_numbers must give one number per row")
    checker = _Checker(rows, row_numbers, allow_sql, logic_checker)
    checker.run()
    return sorted(checker.problems, key=problem_order)


def problem_order(problem: Problem) -> tuple[int, int]:
    return problem.row or 0, _COLUMN_ORDER.get(problem.column, 0)


def _empty_dictionary_problem() -> Problem:
    message = _("The data dictionary has no fields; it needs at least the record ID field.")
    return Problem(row=None, column="", value="", rule="empty_dictionary", message=message)


@dataclass
class _Checker:
    rows: Sequence[FieldRow]
    numbers: Sequence[int]
    allow_sql: bool
    logic_checker: LogicChecker | None
    problems: list[Problem] = field(default_factory=list)

    def run(self) -> None:
        for index, row in enumerate(self.rows):
            self.check_row(index, row)
        self.check_record_id()
        self.check_unique_names()
        self.check_reserved_names()
        self.check_forms_contiguous()
        self.check_matrix_groups()

    def report(self, index: int, column: str, rule: str, message: str, value: str = "") -> None:
        """Add a problem in `column` (an API column name) of the field at `index`."""
        self.problems.append(
            Problem(
                row=self.numbers[index],
                column=header_of(column),
                value=value or getattr(self.rows[index], column),
                rule=rule,
                message=message,
            )
        )

    def check_row(self, index: int, row: FieldRow) -> None:
        self.check_field_name(index, row.field_name)
        self.check_form_name(index, row.form_name)
        self.check_flags(index, row)
        self.check_logic(index, "branching_logic", row.branching_logic)
        if not self.check_field_type(index, row.field_type):
            return
        self.check_column_6(index, row)
        kind = self.check_validation(index, row)
        self.check_range(index, row, kind)

    # --- Names ----------------------------------------------------------------------------

    def check_field_name(self, index: int, name: str) -> None:
        problem = _name_problem(name, FIELD_NAME_MAX_LENGTH, _FIELD_NAME_MESSAGES)
        if problem:
            self.report(index, "field_name", *problem)

    def check_form_name(self, index: int, name: str) -> None:
        problem = _name_problem(name, FORM_NAME_MAX_LENGTH, _FORM_NAME_MESSAGES)
        if problem:
            self.report(index, "form_name", *problem)

    def check_unique_names(self) -> None:
        first_row: dict[str, int] = {}
        for index, row in enumerate(self.rows):
            name = row.field_name
            if name in first_row:
                message = _("Field name “%(name)s” is already used in row %(first)d.") % {
                    "name": name,
                    "first": self.numbers[first_row[name]],
                }
                self.report(index, "field_name", "field_name_duplicate", message)
            elif name:
                first_row[name] = index

    def check_reserved_names(self) -> None:
        forms = {row.form_name for row in self.rows if row.form_name}
        form_names = {f"{form}{suffix}" for form in forms for suffix in RESERVED_FORM_SUFFIXES}
        checkbox_columns = self.checkbox_columns()
        for index, row in enumerate(self.rows):
            name = row.field_name
            if name in RESERVED_NAMES or name in form_names:
                self.report(index, "field_name", "field_name_reserved", _reserved_message(name))
            elif name in checkbox_columns:
                message = _checkbox_clash_message(name, checkbox_columns[name])
                self.report(index, "field_name", "field_name_checkbox_clash", message)

    def checkbox_columns(self) -> dict[str, str]:
        """Export column → checkbox field, for every option of every checkbox field."""
        return {
            checkbox_column(row.field_name, choice.code): row.field_name
            for row in self.rows
            if row.field_type == "checkbox"
            for choice in parse_choices(row.select_choices_or_calculations)
        }

    # --- Structure ------------------------------------------------------------------------

    def check_record_id(self) -> None:
        first = self.rows[0]
        if first.field_type != "text":
            message = _(
                "The first field, “%(name)s”, holds the record ID and must be of type text, "
                "not %(type)s."
            ) % {"name": first.field_name, "type": first.field_type}
            self.report(0, "field_type", "record_id_not_text", message)

    def check_forms_contiguous(self) -> None:
        seen: set[str] = set()
        previous = ""
        for index, row in enumerate(self.rows):
            form = row.form_name
            if form and form != previous and form in seen:
                message = _(
                    "Form “%(form)s” appears again after other forms; the fields of a form must "
                    "be in consecutive rows."
                ) % {"form": form}
                self.report(index, "form_name", "form_not_contiguous", message)
            seen.add(form)
            previous = form

    def check_field_type(self, index: int, field_type: str) -> bool:
        """Report an unknown or forbidden type; True when the type's own rules apply."""
        if field_type not in FIELD_TYPES:
            message = _("“%(type)s” is not a field type. Use one of: %(types)s.") % {
                "type": field_type,
                "types": ", ".join(sorted(FIELD_TYPES)),
            }
            self.report(index, "field_type", "field_type_unknown", message)
            return False
        if field_type == "sql" and not self.allow_sql:
            message = _(
                "SQL fields run database queries; they can be used only after the server's "
                "administrator allows them (setting OPENCRF_ALLOW_SQL_FIELDS)."
            )
            self.report(index, "field_type", "sql_not_allowed", message)
        return True

    # --- Choices, calculations, slider labels (column 6) ----------------------------------

    def check_column_6(self, index: int, row: FieldRow) -> None:
        text = row.select_choices_or_calculations
        if row.field_type in CHOICE_TYPES:
            self.check_choices(index, row)
        elif row.field_type == "calc":
            self.check_calculation(index, text)
        elif row.field_type == "slider":
            self.check_slider_labels(index, text)
        elif row.field_type in TYPES_WITHOUT_CHOICES and text:
            message = _("A %(type)s field takes no choices or calculation.") % {
                "type": row.field_type
            }
            self.report(index, "select_choices_or_calculations", "choices_not_allowed", message)

    def check_choices(self, index: int, row: FieldRow) -> None:
        options = choice_options(row.select_choices_or_calculations)
        if not options:
            message = _("A %(type)s field needs choices, written as “1, Yes | 0, No”.") % {
                "type": row.field_type
            }
            self.report(index, "select_choices_or_calculations", "choices_missing", message)
            return
        columns: dict[str, str] = {}
        codes: set[str] = set()
        for option in options:
            code = parse_choice(option).code
            if not self.check_option(index, option):
                continue
            if code in codes:
                message = _duplicate_code_message(code)
                self.report_choice(index, "choice_code_duplicate", message, code)
            elif row.field_type == "checkbox":
                self.check_checkbox_code(index, row.field_name, code, columns)
            codes.add(code)

    def check_option(self, index: int, option: str) -> bool:
        """Report an option with a comma but no code or no label; True when it is sound."""
        code, comma, label = option.partition(",")
        if comma and not (code.strip() and label.strip()):
            message = _("Choice “%(option)s” needs both a code and a label, as in “1, Yes”.") % {
                "option": option
            }
            self.report_choice(index, "choices_malformed", message, option)
            return False
        return True

    def check_checkbox_code(
        self, index: int, field_name: str, code: str, columns: dict[str, str]
    ) -> None:
        """Checkbox codes become parts of export column names, so fewer characters fit."""
        column = checkbox_column(field_name, code)
        if not _CHECKBOX_CODE.fullmatch(code):
            message = _(
                "Checkbox code “%(code)s” may hold only letters, digits, “_”, “-” and “.”."
            ) % {"code": code}
            self.report_choice(index, "checkbox_code_invalid", message, code)
        elif column in columns:
            message = _(
                "Checkbox codes “%(code)s” and “%(other)s” would both be exported as column "
                "“%(column)s”."
            ) % {"code": code, "other": columns[column], "column": column}
            self.report_choice(index, "checkbox_code_clash", message, code)
        columns.setdefault(column, code)

    def report_choice(self, index: int, rule: str, message: str, value: str = "") -> None:
        self.report(index, "select_choices_or_calculations", rule, message, value)

    def check_calculation(self, index: int, formula: str) -> None:
        if not formula.strip():
            message = _("A calc field needs a formula, such as “[weight] / ([height] ^ 2)”.")
            self.report(index, "select_choices_or_calculations", "calc_formula_missing", message)
            return
        self.check_logic(index, "select_choices_or_calculations", formula)

    def check_slider_labels(self, index: int, text: str) -> None:
        count = len(text.split("|")) if text.strip() else 0
        if count > SLIDER_MAX_LABELS:
            message = _(
                "A slider takes at most three labels (left | middle | right), not %(count)d."
            ) % {"count": count}
            self.report(index, "select_choices_or_calculations", "slider_labels_invalid", message)

    def check_logic(self, index: int, column: str, logic: str) -> None:
        if self.logic_checker is None or not logic.strip():
            return
        error = self.logic_checker(logic)
        if error:
            self.report(index, column, "logic_syntax", error)

    # --- Validation and its range (columns 8–10) ------------------------------------------

    def check_validation(self, index: int, row: FieldRow) -> ValidationType | None:
        """Report a bad validation; the type whose range rules apply, if any."""
        name = row.text_validation_type_or_show_slider_number
        if not name:
            return None
        kind = validation_type(name)
        column = "text_validation_type_or_show_slider_number"
        if kind is None:
            message = _("“%(name)s” is not a validation type.") % {"name": name}
            self.report(index, column, "validation_unknown", message)
        elif not _takes_validation(row.field_type, kind):
            message = _("A %(type)s field cannot take validation “%(name)s”.") % {
                "type": row.field_type,
                "name": name,
            }
            self.report(index, column, "validation_not_allowed", message)
            return None
        return kind

    def check_range(self, index: int, row: FieldRow, kind: ValidationType | None) -> None:
        if row.field_type == "slider":
            self.check_slider_range(index, row)
        elif kind is not None and kind.is_ordered:
            self.check_validation_range(index, row, kind)
        elif row.text_validation_type_or_show_slider_number and kind is None:
            return  # The validation is reported as unknown or misplaced; no range to judge.
        else:
            self.check_no_range(index, row)

    def check_slider_range(self, index: int, row: FieldRow) -> None:
        bounds: list[int] = []
        for column in ("text_validation_min", "text_validation_max"):
            value = getattr(row, column)
            if value and not _WHOLE_NUMBER.fullmatch(value):
                message = _("A slider's minimum and maximum must be whole numbers.")
                self.report(index, column, _INVALID_BOUND_RULES[column], message)
            elif value:
                bounds.append(int(value))
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            self.report(index, "text_validation_min", "validation_min_above_max", _above_message())

    def check_validation_range(self, index: int, row: FieldRow, kind: ValidationType) -> None:
        bound_type = kind.bound_type
        low, high = (self.valid_bound(index, row, c, bound_type) for c in _INVALID_BOUND_RULES)
        if low and high and bound_type.compare(low, high) > 0:
            self.report(index, "text_validation_min", "validation_min_above_max", _above_message())

    def valid_bound(self, index: int, row: FieldRow, column: str, kind: ValidationType) -> str:
        """The min or max when it can be compared; `""` when blank, relative or invalid."""
        value: str = getattr(row, column)
        if not value or (value in RELATIVE_BOUNDS and kind.kind in _RELATIVE_KINDS):
            return ""
        if not kind.is_valid(value):
            self.report(index, column, _INVALID_BOUND_RULES[column], _bound_message(column, kind))
            return ""
        return value

    def check_no_range(self, index: int, row: FieldRow) -> None:
        for column in ("text_validation_min", "text_validation_max"):
            if getattr(row, column):
                message = _(
                    "A minimum or maximum needs a date, time or number validation (or a slider)."
                )
                self.report(index, column, "range_not_allowed", message)

    # --- Flags ----------------------------------------------------------------------------

    def check_flags(self, index: int, row: FieldRow) -> None:
        for column in YES_FLAG_COLUMNS:
            if getattr(row, column) not in ("", "y"):
                message = _("Write “y” for yes, or leave the cell empty.")
                self.report(index, column, "flag_invalid", message)
        if row.custom_alignment not in ALIGNMENTS and row.custom_alignment:
            message = _("Alignment must be LV, LH, RV or RH, or empty.")
            self.report(index, "custom_alignment", "alignment_invalid", message)

    # --- Matrix groups --------------------------------------------------------------------

    def check_matrix_groups(self) -> None:
        groups: dict[str, list[int]] = {}
        for index, row in enumerate(self.rows):
            if row.matrix_group_name:
                groups.setdefault(row.matrix_group_name, []).append(index)
        for members in groups.values():
            self.check_matrix_group(members)

    def check_matrix_group(self, members: list[int]) -> None:
        first = self.rows[members[0]]
        choices = parse_choices(first.select_choices_or_calculations)
        for previous, index in pairwise(members):
            row = self.rows[index]
            if index != previous + 1 or row.form_name != first.form_name:
                self.report(index, "matrix_group_name", "matrix_not_contiguous", _matrix_gap())
        for index in members:
            row = self.rows[index]
            if row.field_type not in MATRIX_TYPES:
                self.report(index, "field_type", "matrix_type_invalid", _matrix_type_message())
            elif row.field_type != first.field_type:
                self.report(index, "field_type", "matrix_mixed_types", _matrix_mixed_types())
            if parse_choices(row.select_choices_or_calculations) != choices:
                message = _matrix_mixed_choices(first.matrix_group_name)
                column = "select_choices_or_calculations"
                self.report(index, column, "matrix_mixed_choices", message)


_RELATIVE_KINDS = frozenset({"date", "datetime", "datetime_seconds"})


def _takes_validation(field_type: str, kind: ValidationType) -> bool:
    # Column 8 of a slider means "show the number", written as the validation name `number`.
    return field_type in kind.field_types or (field_type == "slider" and kind.name == "number")


_FIELD_NAME_MESSAGES = {
    "missing": ("field_name_missing", gettext_noop("Every field needs a variable name.")),
    "too_long": (
        "field_name_too_long",
        gettext_noop("Field name “%(name)s” is longer than %(limit)d characters."),
    ),
    "invalid": (
        "field_name_invalid",
        gettext_noop(
            "Field name “%(name)s” must start with a lower-case letter and hold only "
            "lower-case letters (a–z), digits and underscores."
        ),
    ),
}
_FORM_NAME_MESSAGES = {
    "missing": ("form_name_missing", gettext_noop("Every field needs a form name.")),
    "too_long": (
        "form_name_too_long",
        gettext_noop("Form name “%(name)s” is longer than %(limit)d characters."),
    ),
    "invalid": (
        "form_name_invalid",
        gettext_noop(
            "Form name “%(name)s” must start with a lower-case letter and hold only "
            "lower-case letters (a–z), digits and underscores."
        ),
    ),
}


def _name_problem(
    name: str, limit: int, messages: dict[str, tuple[str, str]]
) -> tuple[str, str] | None:
    """(rule, message) when `name` is not a valid field or form name."""
    if not name:
        fault = "missing"
    elif len(name) > limit:
        fault = "too_long"
    elif not _NAME.fullmatch(name):
        fault = "invalid"
    else:
        return None
    rule, message = messages[fault]
    return rule, _(message) % {"name": name, "limit": limit}


def _reserved_message(name: str) -> str:
    return _("“%(name)s” is a name REDCap uses for its own columns; choose another.") % {
        "name": name
    }


def _checkbox_clash_message(name: str, checkbox: str) -> str:
    return _(
        "“%(name)s” is also the export column of an option of checkbox field “%(checkbox)s”."
    ) % {"name": name, "checkbox": checkbox}


def _duplicate_code_message(code: str) -> str:
    return _("Choice code “%(code)s” is used more than once.") % {"code": code}


def _above_message() -> str:
    return _("The minimum is above the maximum.")


def _bound_message(column: str, kind: ValidationType) -> str:
    values = {"format": kind.storage_format, "name": kind.name}
    if column == "text_validation_min":
        return _("The minimum must be a %(name)s value, written as %(format)s.") % values
    return _("The maximum must be a %(name)s value, written as %(format)s.") % values


def _matrix_gap() -> str:
    return _("The fields of a matrix group must be in consecutive rows of one form.")


def _matrix_type_message() -> str:
    return _("A field in a matrix group must be of type radio or checkbox.")


def _matrix_mixed_types() -> str:
    return _("The fields of a matrix group must all be radio or all be checkbox.")


def _matrix_mixed_choices(group: str) -> str:
    return _("The fields of matrix group “%(group)s” must all have the same choices.") % {
        "group": group
    }
