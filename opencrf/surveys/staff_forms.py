"""Forms of the staff survey pages: they parse; the services decide and name what is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from opencrf.core.forms import StyledForm
from opencrf.dictionary.columns import FieldRow
from opencrf.surveys.models import Survey

# The settings page's sections, in REDCap's order, and the settings each shows.
SECTIONS: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    (
        "basic",
        _("Survey information"),
        ("active", "title", "instructions", "language", "language_switch"),
    ),
    ("display", _("Survey customization"), ("paging", "numbering", "required_message")),
    (
        "access",
        _("Survey access"),
        (
            "save_and_return",
            "edit_completed",
            "expires_at",
            "response_limit",
            "response_limit_message",
            "time_limit_minutes",
        ),
    ),
    (
        "completion",
        _("Survey termination options"),
        ("completion_text", "redirect_url", "auto_continue"),
    ),
    (
        "queue",
        _("Survey queue"),
        ("queue_enabled", "queue_after", "queue_logic", "queue_auto_start"),
    ),
    (
        "econsent",
        _("e-Consent"),
        ("econsent", "econsent_version", "econsent_name_field", "econsent_signature_field"),
    ),
)
SETTING_NAMES = tuple(name for _key, _title, names in SECTIONS for name in names)
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def expiry_help() -> str:
    """Which time zone the expiry is typed and shown in: the site's (`TIME_ZONE`), which
    every page uses; stored in UTC."""
    return _("Date and time in the site's time zone, %(zone)s. Leave blank for no expiry.") % {
        "zone": timezone.get_current_timezone_name()
    }


def _choices(names: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", "—"), *names]


class SurveySettingsForm(StyledForm):
    """Every setting of a survey; `rows` are the instrument's fields, `others` the other
    survey instruments (name, label)."""

    logo = forms.FileField(label=_("Logo (an image shown above the survey)"), required=False)
    logo_remove = forms.BooleanField(label=_("Remove the logo"), required=False)

    def __init__(
        self,
        data: Any,
        files: Any,
        *,
        survey: Survey,
        rows: Sequence[FieldRow],
        others: Sequence[tuple[str, str]],
    ) -> None:
        initial = {name: getattr(survey, name) for name in SETTING_NAMES}
        fields: dict[str, forms.Field] = {}
        for name in SETTING_NAMES:
            extra: dict[str, Any] = {"assume_scheme": "https"} if name == "redirect_url" else {}
            field = Survey._meta.get_field(name).formfield(**extra)  # type: ignore[union-attr]
            assert field is not None
            fields[name] = field
        fields["title"].required = True
        for name in ("instructions", "completion_text", "response_limit_message", "queue_logic"):
            fields[name].widget = forms.Textarea(attrs={"rows": 3})
        fields["queue_logic"].widget.attrs.update(
            {"class": "form-control font-monospace", "spellcheck": "false"}
        )
        fields["expires_at"] = forms.DateTimeField(
            label=fields["expires_at"].label,
            help_text=expiry_help(),
            required=False,
            input_formats=[DATETIME_LOCAL],
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        )
        fields["queue_after"] = forms.ChoiceField(
            label=fields["queue_after"].label, choices=_choices(others), required=False
        )
        texts = [(r.field_name, f"{r.field_name} ({r.field_label})") for r in rows]
        fields["econsent_name_field"] = forms.ChoiceField(
            label=fields["econsent_name_field"].label,
            choices=_choices(
                [t for t, r in zip(texts, rows, strict=True) if r.field_type == "text"]
            ),
            required=False,
        )
        fields["econsent_signature_field"] = forms.ChoiceField(
            label=fields["econsent_signature_field"].label,
            choices=_choices(
                [t for t, r in zip(texts, rows, strict=True) if r.field_type == "file"]
            ),
            required=False,
        )
        super().__init__(data, files, initial=initial)
        self.fields = {**fields, **self.fields}
        for name in fields:
            self._style(self.fields[name])
        self.survey = survey

    @staticmethod
    def _style(field: forms.Field) -> None:
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")

    def clean_expires_at(self) -> Any:
        value = self.cleaned_data.get("expires_at")
        if value is not None and value != self.survey.expires_at and value <= timezone.now():
            raise forms.ValidationError(_("Give a date and time in the future."))
        return value

    def settings(self) -> dict[str, Any]:
        """The settings as the services take them."""
        return {name: self.cleaned_data[name] for name in SETTING_NAMES}

    def sections(self) -> list[tuple[str, Any, list[forms.BoundField]]]:
        return [(key, title, [self[name] for name in names]) for key, title, names in SECTIONS]


class ParticipantForm(StyledForm):
    email = forms.CharField(label=_("E-mail address"), max_length=254)
    identifier = forms.CharField(
        label=_("Participant identifier (optional)"), max_length=255, required=False
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("The survey's language")), *Survey.Language.choices],
        required=False,
    )


class ParticipantImportForm(StyledForm):
    text = forms.CharField(
        label=_("Participants, one per line: e-mail, identifier, language"),
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "hanako@example.jp,P-001,ja"}),
        required=False,
    )
    upload = forms.FileField(label=_("Or a CSV file with the same columns"), required=False)

    MAX_BYTES = 2 * 1024 * 1024

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("upload")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError(_("The file is larger than 2 MB."))
            try:
                cleaned["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        if not cleaned.get("text", "").strip():
            raise forms.ValidationError(_("Paste participants or choose a CSV file."))
        return cleaned
