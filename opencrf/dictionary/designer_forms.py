"""Forms of the online designer: the field editor (every dictionary column) and the small
forms of instrument actions. Each turns what was posted into a `FieldRow` or plain values;
the dictionary's own checks then judge the whole design."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from opencrf.core.forms import StyledForm
from opencrf.dictionary.choices import CHOICE_SEPARATOR, choice_options
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.validation import VALIDATION_TYPES

FIELD_TYPES = (
    ("text", _("Text Box (Short Text, Number, Date/Time, ...)")),
    ("notes", _("Notes Box (Paragraph Text)")),
    ("calc", _("Calculated Field")),
    ("dropdown", _("Multiple Choice - Drop-down List (Single Answer)")),
    ("radio", _("Multiple Choice - Radio Buttons (Single Answer)")),
    ("checkbox", _("Checkboxes (Multiple Answers)")),
    ("yesno", _("Yes - No")),
    ("truefalse", _("True - False")),
    ("file", _("File Upload (for users to upload files)")),
    ("slider", _("Slider / Visual Analog Scale")),
    ("descriptive", _("Descriptive Text (with optional Image/Video/Audio/File Link)")),
    ("sql", _("Dynamic Query (SQL)")),
)
ALIGNMENTS = (
    ("", _("Right / Vertical (default)")),
    ("RH", _("Right / Horizontal")),
    ("LV", _("Left / Vertical")),
    ("LH", _("Left / Horizontal")),
)
# Columns whose text the editor shows as one option per line.
_LINE_TYPES = frozenset({"dropdown", "radio", "checkbox", "slider"})


def field_type_choices() -> list[tuple[str, Any]]:
    allow_sql = settings.OPENCRF_ALLOW_SQL_FIELDS
    return [(code, label) for code, label in FIELD_TYPES if code != "sql" or allow_sql]


def validation_choices() -> list[tuple[str, str]]:
    names = sorted(name for name, kind in VALIDATION_TYPES.items() if "text" in kind.field_types)
    return [("", str(_("None"))), *((name, name) for name in names)]


def _yes(value: bool) -> str:
    return "y" if value else ""


class FieldForm(StyledForm):
    field_type = forms.ChoiceField(label=_("Field type"), choices=())
    field_label = forms.CharField(
        label=_("Field label"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    field_name = forms.CharField(
        label=_("Variable name"),
        max_length=100,
        required=False,
        help_text=_(
            "Lowercase letters, digits and underscores, starting with a letter. "
            "Left blank, a name is made from the label."
        ),
    )
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: code, label (for example: 1, Yes). For a slider: its labels."),
    )
    calculation = forms.CharField(
        label=_("Calculation equation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )
    validation = forms.ChoiceField(label=_("Validation"), required=False, choices=())
    validation_min = forms.CharField(label=_("Minimum"), required=False)
    validation_max = forms.CharField(label=_("Maximum"), required=False)
    show_number = forms.BooleanField(label=_("Show the slider's number"), required=False)
    field_note = forms.CharField(label=_("Field note"), required=False)
    section_header = forms.CharField(
        label=_("Section header"), required=False, widget=forms.Textarea(attrs={"rows": 1})
    )
    required_field = forms.BooleanField(label=_("Required"), required=False)
    identifier = forms.BooleanField(label=_("Identifier (holds personal data)"), required=False)
    custom_alignment = forms.ChoiceField(label=_("Alignment"), required=False, choices=ALIGNMENTS)
    question_number = forms.CharField(label=_("Question number (surveys)"), required=False)
    matrix_group_name = forms.CharField(label=_("Matrix group name"), required=False)
    matrix_ranking = forms.BooleanField(label=_("Matrix ranking"), required=False)
    branching_logic = forms.CharField(
        label=_("Branching logic (show the field only if …)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )
    field_annotation = forms.CharField(
        label=_("Action tags / field annotation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field_type"].choices = field_type_choices()  # type: ignore[attr-defined]
        self.fields["validation"].choices = validation_choices()  # type: ignore[attr-defined]

    @classmethod
    def initial_of(cls, row: FieldRow) -> dict[str, Any]:
        """The editor's initial values for an existing row."""
        column = row.select_choices_or_calculations
        lines = row.field_type in _LINE_TYPES
        column8 = row.text_validation_type_or_show_slider_number
        return {
            "field_type": row.field_type,
            "field_label": row.field_label,
            "field_name": row.field_name,
            "choices": "\n".join(_options(column, row.field_type)) if lines else "",
            "calculation": "" if lines else column,
            "validation": "" if row.field_type == "slider" else column8,
            "validation_min": row.text_validation_min,
            "validation_max": row.text_validation_max,
            "show_number": row.field_type == "slider" and column8 == "number",
            "field_note": row.field_note,
            "section_header": row.section_header,
            "required_field": row.required_field == "y",
            "identifier": row.identifier == "y",
            "custom_alignment": row.custom_alignment,
            "question_number": row.question_number,
            "matrix_group_name": row.matrix_group_name,
            "matrix_ranking": row.matrix_ranking == "y",
            "branching_logic": row.branching_logic,
            "field_annotation": row.field_annotation,
        }

    def to_row(self, form_name: str) -> FieldRow:
        """The row the valid form describes, for the instrument `form_name`."""
        data = self.cleaned_data
        kind = data["field_type"]
        return FieldRow(
            field_name=data["field_name"].strip(),
            form_name=form_name,
            section_header=data["section_header"].strip(),
            field_type=kind,
            field_label=data["field_label"].strip(),
            select_choices_or_calculations=_column6(kind, data),
            field_note=data["field_note"].strip(),
            text_validation_type_or_show_slider_number=_column8(kind, data),
            text_validation_min=data["validation_min"].strip() if _ranged(kind) else "",
            text_validation_max=data["validation_max"].strip() if _ranged(kind) else "",
            identifier=_yes(data["identifier"]),
            branching_logic=data["branching_logic"].strip(),
            required_field=_yes(data["required_field"]),
            custom_alignment=data["custom_alignment"],
            question_number=data["question_number"].strip(),
            matrix_group_name=data["matrix_group_name"].strip(),
            matrix_ranking=_yes(data["matrix_ranking"] and bool(data["matrix_group_name"])),
            field_annotation=data["field_annotation"].strip(),
        )


def _options(column: str, kind: str) -> list[str]:
    if kind == "slider":
        return [part.strip() for part in column.split(CHOICE_SEPARATOR)] if column else []
    return choice_options(column)


def _column6(kind: str, data: dict[str, Any]) -> str:
    if kind in _LINE_TYPES:
        lines = [line.strip() for line in str(data["choices"]).splitlines() if line.strip()]
        return f" {CHOICE_SEPARATOR} ".join(lines)
    if kind in ("calc", "sql"):
        return str(data["calculation"]).strip()
    return ""


def _column8(kind: str, data: dict[str, Any]) -> str:
    if kind == "slider":
        return "number" if data["show_number"] else ""
    return str(data["validation"]) if kind == "text" else ""


def _ranged(kind: str) -> bool:
    return kind in ("text", "slider")


class InstrumentForm(StyledForm):
    label = forms.CharField(label=_("Instrument label"), max_length=200)
    name = forms.CharField(
        label=_("Instrument name"),
        max_length=64,
        required=False,
        help_text=_("Left blank, a name is made from the label."),
    )


class InstrumentUploadForm(StyledForm):
    file = forms.FileField(
        label=_("Instrument zip"),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
