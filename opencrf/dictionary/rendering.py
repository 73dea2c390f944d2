"""Dictionary rows → the blocks an instrument's form is drawn from.

`instrument_layout` turns an instrument's rows into a flat list of blocks: section headers,
single fields and matrix groups, followed by REDCap's implicit "Form Status" section. Each
field is worked out once here (choices parsed, validation resolved, action tags read), so
the templates in `templates/dictionary/render/` only branch on `kind` / `input_kind` and
print values, which they escape. The read-only preview and data entry share these blocks;
data entry passes `values` (checkbox options keyed by their export column `field___code`).

Labels, notes and choices are user data and stay plain strings: nothing here is marked safe,
except what `dictionary.piping` returns for live piping, in which it has escaped everything.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import ClassVar, Literal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opencrf.core.numbers import whole_number
from opencrf.dictionary.choices import Choice, checkbox_column, parse_choices, parse_slider_labels
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.piping import Piper
from opencrf.dictionary.validation import ValidationType, validation_type

InputKind = Literal[
    "text",
    "textarea",
    "select",
    "radio",
    "checkbox",
    "slider",
    "file",
    "calc",
    "descriptive",
    "record_id",
]

YES = gettext_lazy("Yes")
NO = gettext_lazy("No")
TRUE = gettext_lazy("True")
FALSE = gettext_lazy("False")
FORM_STATUS = gettext_lazy("Form Status")
COMPLETE_QUESTION = gettext_lazy("Complete?")
SIGNATURE = gettext_lazy("Signature")
FORM_STATUS_CHOICES = (
    ("0", gettext_lazy("Incomplete")),
    ("1", gettext_lazy("Unverified")),
    ("2", gettext_lazy("Complete")),
)

_INPUT_KINDS: Mapping[str, InputKind] = {
    "text": "text",
    "notes": "textarea",
    "dropdown": "select",
    "sql": "select",
    "radio": "radio",
    "yesno": "radio",
    "truefalse": "radio",
    "checkbox": "checkbox",
    "slider": "slider",
    "file": "file",
    "calc": "calc",
    "descriptive": "descriptive",
}
_MATRIX_KINDS = frozenset({"radio", "checkbox"})
_GROUPED_KINDS = frozenset({"radio", "checkbox", "descriptive"})
_ALIGNMENTS = frozenset({"RV", "RH", "LV", "LH"})
_SLIDER_RANGE = ("0", "100")

# Phones want a keypad with `+`, `(` and `-`; plain numbers a digit or decimal pad.
_INPUT_MODES = {
    "integer": "numeric",
    "number": "decimal",
    "email": "email",
    "phone": "tel",
    "phone_australia": "tel",
    "mrn_10d": "numeric",
    "vmrn": "numeric",
    "postalcode_australia": "numeric",
    "postalcode_germany": "numeric",
}

_TAG_START = re.compile(r"(?<![\w@.])@([A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)*)")
_TAG_EQUALS = re.compile(r"[ \t]*=[ \t]*")
_BARE_ARGUMENT = re.compile(r"\S*")
_HIDDEN_TAGS = frozenset({"@HIDDEN", "@HIDDEN-FORM"})
_READONLY_TAGS = frozenset({"@READONLY", "@READONLY-FORM", "@CALCTEXT"})
# What @NOW writes, by the storage format of the field's validation; `""` is no validation.
_NOW_FORMATS = {
    "": "%Y-%m-%d %H:%M:%S",
    "YYYY-MM-DD": "%Y-%m-%d",
    "YYYY-MM-DD HH:MM": "%Y-%m-%d %H:%M",
    "YYYY-MM-DD HH:MM:SS": "%Y-%m-%d %H:%M:%S",
    "HH:MM": "%H:%M",
    "HH:MM:SS": "%H:%M:%S",
}
_TODAY_FORMATS = {"": "%Y-%m-%d", "YYYY-MM-DD": "%Y-%m-%d"}


@dataclass(frozen=True, slots=True)
class ChoiceView:
    """One option of a radio, checkbox or select, as drawn.

    `column` is the name the option's value travels under: the field name, or for a
    checkbox its export column `field___code`.
    """

    code: str
    label: str
    input_id: str
    column: str
    selected: bool


@dataclass(frozen=True, slots=True)
class SliderView:
    left: str
    middle: str
    right: str
    show_number: bool


@dataclass(frozen=True, slots=True)
class FieldView:
    """One field, ready to draw.

    `input_kind` picks the template branch (yesno and truefalse are radios with fixed
    choices; sql is a select whose options come later). `readonly` means data entry may not
    change the value (record ID, calc, @READONLY, @CALCTEXT); the templates' own `readonly`
    flag disables every input instead. `hidden` marks @HIDDEN fields: drawn with the
    `hidden` attribute in data entry, with a badge in the preview. `action_tags` maps each
    tag to its argument (`""` if none). `value` is `""` in the preview.
    """

    name: str
    field_type: str
    input_kind: InputKind
    input_id: str
    label: str
    note: str
    question_number: str
    choices: tuple[ChoiceView, ...]
    slider: SliderView | None
    validation: str
    format_hint: str
    minimum: str
    maximum: str
    inputmode: str
    placeholder: str
    maxlength: int | None
    autocomplete: bool
    required: bool
    identifier: bool
    hidden: bool
    readonly: bool
    alignment: str
    action_tags: Mapping[str, str]
    branching_logic: str
    calculation: str
    matrix_group: str
    value: str

    @property
    def label_above(self) -> bool:
        """Left alignments (LV, LH) put the input under the label on every screen."""
        return self.alignment[0] == "L" or self.input_kind == "descriptive"

    @property
    def label_for(self) -> str:
        """The id a `<label for>` points at; `""` where options carry their own labels."""
        return "" if self.input_kind in _GROUPED_KINDS else self.input_id

    @property
    def horizontal(self) -> bool:
        return self.alignment[1] == "H"

    @property
    def checkbox_columns(self) -> tuple[str, ...]:
        """The export columns of a checkbox (`field___code`); empty for other types."""
        if self.input_kind != "checkbox":
            return ()
        return tuple(choice.column for choice in self.choices)

    @property
    def has_design_notes(self) -> bool:
        """Whether the preview has something to say about how the field behaves."""
        return bool(self.branching_logic or self.calculation or self.hidden or self.identifier)


@dataclass(frozen=True, slots=True)
class SectionBlock:
    """A section header; `field_name` is the field it stands above."""

    kind: ClassVar[str] = "section"
    text: str
    field_name: str


@dataclass(frozen=True, slots=True)
class FieldBlock:
    kind: ClassVar[str] = "field"
    field: FieldView


@dataclass(frozen=True, slots=True)
class MatrixBlock:
    """Consecutive radio or checkbox fields sharing a matrix group: one table.

    `columns` are the group's shared choices (taken from its first field); every row holds
    its own `choices`, in the same order, for its cells.
    """

    kind: ClassVar[str] = "matrix"
    name: str
    input_kind: InputKind
    columns: tuple[ChoiceView, ...]
    rows: tuple[FieldView, ...]
    ranking: bool


Block = SectionBlock | FieldBlock | MatrixBlock


def instrument_layout(
    fields: Sequence[FieldRow],
    *,
    record_id_field: str = "",
    values: Mapping[str, str] | None = None,
    pipe: Callable[[str], str] | None = None,
) -> list[Block]:
    """The blocks of an instrument's form, in order, ending with its Form Status section.

    A field's section header comes before it as its own block. A matrix group continues
    while rows share its name; a section header inside a group starts a new table. A group
    is ranked (each column chosen once) if any of its rows says so. `pipe` (see
    `dictionary.piping`) fills references in labels, notes, headers and choice labels; a
    `Piper` pipes this form's own fields live, as the browser updates them.
    """
    values = values or {}
    blocks: list[Block] = []
    if isinstance(pipe, Piper):
        pipe = pipe.live_for(row.field_name for row in fields)
    for row in fields:
        view = field_view(row, record_id_field=record_id_field, values=values)
        header = row.section_header
        if pipe is not None:
            view, header = _piped_view(view, pipe), pipe(header)
        if header:
            blocks.append(SectionBlock(text=header, field_name=row.field_name))
        _add_field(blocks, view, ranking=row.matrix_ranking == "y")
    if fields:
        blocks.extend(form_status_blocks(fields[0].form_name, values))
    return blocks


def _piped_view(view: FieldView, pipe: Callable[[str], str]) -> FieldView:
    # An <option> holds text only, so a dropdown's choices are piped without live markup.
    plain = pipe.plain if isinstance(pipe, Piper) and view.input_kind == "select" else pipe
    choices = tuple(dataclasses.replace(c, label=plain(c.label)) for c in view.choices)
    return dataclasses.replace(view, label=pipe(view.label), note=pipe(view.note), choices=choices)


def _add_field(blocks: list[Block], view: FieldView, *, ranking: bool) -> None:
    if not view.matrix_group or view.input_kind not in _MATRIX_KINDS:
        blocks.append(FieldBlock(field=view))
        return
    last = blocks[-1] if blocks else None
    # A section header above this row was appended already, so it ends the previous table.
    if isinstance(last, MatrixBlock) and last.name == view.matrix_group:
        rows = (*last.rows, view)
        blocks[-1] = dataclasses.replace(last, rows=rows, ranking=last.ranking or ranking)
        return
    blocks.append(
        MatrixBlock(
            name=view.matrix_group,
            input_kind=view.input_kind,
            columns=view.choices,
            rows=(view,),
            ranking=ranking,
        )
    )


def form_status_blocks(form_name: str, values: Mapping[str, str]) -> list[Block]:
    """REDCap's implicit `<form>_complete` dropdown under its "Form Status" header."""
    name = f"{form_name}_complete"
    choices = [Choice(code, str(label)) for code, label in FORM_STATUS_CHOICES]
    row = FieldRow(
        field_name=name,
        form_name=form_name,
        field_type="dropdown",
        field_label=str(COMPLETE_QUESTION),
    )
    view = _build_view(row, "select", None, values, choices=choices)
    return [SectionBlock(text=str(FORM_STATUS), field_name=name), FieldBlock(field=view)]


def field_view(
    row: FieldRow, *, record_id_field: str = "", values: Mapping[str, str] | None = None
) -> FieldView:
    """One dictionary row as a FieldView."""
    input_kind = _input_kind(row, record_id_field)
    return _build_view(row, input_kind, _validation(row), values or {}, choices=field_choices(row))


def _validation(row: FieldRow) -> ValidationType | None:
    # Column 8 of a slider holds "number" (show the number), not a validation type.
    kind = validation_type(row.text_validation_type_or_show_slider_number)
    return kind if kind is not None and row.field_type in kind.field_types else None


def _input_kind(row: FieldRow, record_id_field: str) -> InputKind:
    if record_id_field and row.field_name == record_id_field:
        return "record_id"
    return _INPUT_KINDS.get(row.field_type, "text")


def field_choices(row: FieldRow) -> list[Choice]:
    """The options a field offers: its own choices, or the fixed ones of yesno / truefalse."""
    if row.field_type == "yesno":
        return [Choice("1", str(YES)), Choice("0", str(NO))]
    if row.field_type == "truefalse":
        return [Choice("1", str(TRUE)), Choice("0", str(FALSE))]
    if row.field_type in ("dropdown", "radio", "checkbox"):
        return parse_choices(row.select_choices_or_calculations)
    return []


def _build_view(
    row: FieldRow,
    input_kind: InputKind,
    kind: ValidationType | None,
    values: Mapping[str, str],
    *,
    choices: list[Choice],
) -> FieldView:
    tags = parse_action_tags(row.field_annotation)
    value = values.get(row.field_name, "")
    minimum, maximum = _range(row)
    return FieldView(
        name=row.field_name,
        field_type=row.field_type,
        input_kind=input_kind,
        input_id=f"f-{row.field_name}",
        label=row.field_label,
        note=row.field_note,
        question_number=row.question_number,
        choices=_choice_views(
            row.field_name, input_kind, _shown_choices(row, choices, values), values
        ),
        slider=_slider(row),
        validation=kind.name if kind else "",
        format_hint=format_hint(kind),
        minimum=minimum,
        maximum=maximum,
        inputmode=_input_mode(kind),
        placeholder=tags.get("@PLACEHOLDER", ""),
        maxlength=_char_limit(tags),
        autocomplete=bool(kind and kind.name == "autocomplete"),
        required=row.required_field == "y",
        identifier=row.identifier == "y",
        hidden=not _HIDDEN_TAGS.isdisjoint(tags),
        readonly=_is_readonly(input_kind, tags),
        alignment=row.custom_alignment if row.custom_alignment in _ALIGNMENTS else "RV",
        action_tags=tags,
        branching_logic=row.branching_logic,
        calculation=_calculation(row, tags),
        matrix_group=row.matrix_group_name,
        value=value,
    )


def _choice_views(
    name: str, input_kind: InputKind, choices: list[Choice], values: Mapping[str, str]
) -> tuple[ChoiceView, ...]:
    return tuple(
        _choice_view(name, input_kind == "checkbox", index, choice, values)
        for index, choice in enumerate(choices)
    )


def _choice_view(
    name: str, is_checkbox: bool, index: int, choice: Choice, values: Mapping[str, str]
) -> ChoiceView:
    # A checkbox option is its own 0/1 column; other options share the field's one value.
    column = checkbox_column(name, choice.code) if is_checkbox else name
    selected = values.get(column) == ("1" if is_checkbox else choice.code)
    return ChoiceView(choice.code, choice.label, f"f-{name}-{index}", column, selected)


def _shown_choices(row: FieldRow, choices: list[Choice], values: Mapping[str, str]) -> list[Choice]:
    """The choices left after @HIDECHOICE='1,3', which keeps a hidden choice already chosen.

    Matrix rows keep every choice: their cells must line up with the group's columns.
    """
    hidden = hidden_choice_codes(row)
    if not hidden or row.matrix_group_name:
        return choices
    return [c for c in choices if c.code not in hidden or _chosen(row, c.code, values)]


def _chosen(row: FieldRow, code: str, values: Mapping[str, str]) -> bool:
    if row.field_type == "checkbox":
        return values.get(checkbox_column(row.field_name, code)) == "1"
    return values.get(row.field_name) == code


def hidden_choice_codes(row: FieldRow) -> set[str]:
    argument = parse_action_tags(row.field_annotation).get("@HIDECHOICE", "")
    return {code.strip() for code in argument.split(",") if code.strip()}


def readonly_by_tag(row: FieldRow) -> bool:
    """Whether an action tag forbids data entry to change the field (@READONLY, @CALCTEXT)."""
    return not _READONLY_TAGS.isdisjoint(parse_action_tags(row.field_annotation))


def char_limit(row: FieldRow) -> int | None:
    """The most characters @CHARLIMIT allows, or None."""
    return _annotation_char_limit(row.field_annotation)


@lru_cache(maxsize=4096)
def _annotation_char_limit(annotation: str) -> int | None:
    return _char_limit(parse_action_tags(annotation))


def default_values(fields: Sequence[FieldRow], *, now: datetime) -> dict[str, str]:
    """What a new form starts with: @DEFAULT, else @TODAY or @NOW, as REDCap pre-fills them.

    `now` is the server's local time. A checkbox's @DEFAULT='1,3' ticks those options.
    """
    values: dict[str, str] = {}
    for row in fields:
        tags = parse_action_tags(row.field_annotation)
        if "@DEFAULT" in tags:
            values.update(_default_of(row, tags["@DEFAULT"]))
        elif row.field_type == "text" and (stamp := _timestamp(row, tags, now)):
            values[row.field_name] = stamp
    return values


def _default_of(row: FieldRow, argument: str) -> dict[str, str]:
    if row.field_type != "checkbox":
        return {row.field_name: argument}
    codes = {code.strip() for code in argument.split(",")}
    return {
        checkbox_column(row.field_name, choice.code): "1"
        for choice in parse_choices(row.select_choices_or_calculations)
        if choice.code in codes
    }


def _timestamp(row: FieldRow, tags: Mapping[str, str], now: datetime) -> str:
    """@NOW or @TODAY in the storage format of the field's validation; `""` if it has none."""
    kind = _validation(row)
    storage = kind.storage_format if kind is not None else ""
    if kind is not None and kind.kind not in ("date", "datetime", "datetime_seconds", "time"):
        return ""
    formats = _NOW_FORMATS if "@NOW" in tags else _TODAY_FORMATS if "@TODAY" in tags else {}
    pattern = formats.get(storage)
    return now.strftime(pattern) if pattern else ""


def _slider(row: FieldRow) -> SliderView | None:
    if row.field_type != "slider":
        return None
    left, middle, right = parse_slider_labels(row.select_choices_or_calculations)
    show_number = row.text_validation_type_or_show_slider_number == "number"
    return SliderView(left=left, middle=middle, right=right, show_number=show_number)


def _range(row: FieldRow) -> tuple[str, str]:
    """Min and max as given; a slider without them runs from 0 to 100."""
    if row.field_type != "slider":
        return row.text_validation_min, row.text_validation_max
    low, high = _SLIDER_RANGE
    return row.text_validation_min or low, row.text_validation_max or high


def format_hint(kind: ValidationType | None) -> str:
    """What people are shown under an input: how to type a date or time, an example value
    for the other text types, "Signature" for a signature.

    Dates and times are typed as they are stored (YYYY-MM-DD, HH:MM): the input holds the
    stored value whatever the field's display order (`_mdy`, `_dmy`), and the calendar and
    Today / Now buttons write it so.
    """
    if kind is None:
        return ""
    if kind.name == "signature":
        return str(SIGNATURE)
    if not kind.storage_format:
        return ""
    if kind.display_order or kind.kind == "time":
        return kind.storage_format
    return _("e.g. %(example)s") % {"example": kind.storage_format}


def _input_mode(kind: ValidationType | None) -> str:
    if kind is None:
        return ""
    # Fixed-decimal and comma-decimal numbers share the decimal keypad of `number`.
    return _INPUT_MODES.get(kind.name) or ("decimal" if kind.kind == "number" else "")


def _char_limit(tags: Mapping[str, str]) -> int | None:
    limit = tags.get("@CHARLIMIT", "")
    return whole_number(limit, 9) or None


def _is_readonly(input_kind: InputKind, tags: Mapping[str, str]) -> bool:
    """Whether data entry may not change the value: computed, the record ID, or tagged."""
    return input_kind in ("calc", "record_id") or not _READONLY_TAGS.isdisjoint(tags)


def _calculation(row: FieldRow, tags: Mapping[str, str]) -> str:
    if row.field_type == "calc":
        return row.select_choices_or_calculations
    return tags.get("@CALCTEXT", "")


def parse_action_tags(annotation: str) -> dict[str, str]:
    """The action tags of a field annotation, each with its argument (`""` if none).

    `@HIDDEN @CHARLIMIT=10 @PLACEHOLDER='Your name' @CALCTEXT(if([a]>1,'x','y'))` gives
    `{"@HIDDEN": "", "@CHARLIMIT": "10", "@PLACEHOLDER": "Your name", "@CALCTEXT": "if(…)"}`.
    Arguments are skipped while scanning, so an `@` inside one (an e-mail address) is not
    taken for a tag. The first of repeated tags wins, as in REDCap.
    """
    tags: dict[str, str] = {}
    position = 0
    while match := _TAG_START.search(annotation, position):
        argument, position = _tag_argument(annotation, match.end())
        tags.setdefault(f"@{match.group(1)}", argument)
    return tags


def _tag_argument(text: str, start: int) -> tuple[str, int]:
    """The argument after a tag name ending at `start`, and where scanning resumes."""
    if text.startswith("(", start):
        return _parenthesised(text, start)
    equals = _TAG_EQUALS.match(text, start)
    if equals is None:
        return "", start
    start = equals.end()
    if text[start : start + 1] in ("'", '"'):
        return _quoted(text, start)
    bare = _BARE_ARGUMENT.match(text, start)
    end = bare.end() if bare else start
    return text[start:end], end


def _quoted(text: str, start: int) -> tuple[str, int]:
    """A quoted argument at `start`; an unclosed quote runs to the end of the text."""
    end = text.find(text[start], start + 1)
    if end < 0:
        return text[start + 1 :], len(text)
    return text[start + 1 : end], end + 1


def _parenthesised(text: str, start: int) -> tuple[str, int]:
    """The inside of balanced parentheses at `start`, ignoring those within quotes."""
    depth, quote = 0, ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in ("'", '"'):
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0:
                return text[start + 1 : index], index + 1
    return text[start + 1 :], len(text)
