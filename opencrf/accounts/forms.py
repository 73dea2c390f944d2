"""Forms for the account lifecycle pages and the control centre."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from opencrf.accounts.models import SiteSettings, User
from opencrf.core.forms import StyledForm

PURPOSE_MAX_LENGTH = 2000
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _style(form: forms.BaseForm) -> None:
    """Bootstrap classes on a model form's inputs, as StyledForm gives plain forms."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


def no_control_characters(value: str) -> None:
    """Refuse line breaks, tabs and other control characters in one-line texts."""
    if any(not ch.isprintable() for ch in value):
        raise ValidationError(_("Use a single line without control characters."))


def _line(label: Any, *, required: bool = True, max_length: int = 200) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=max_length, required=required, validators=[no_control_characters]
    )


def _language_choices() -> list[tuple[str, Any]]:
    return [("", _("Follow the browser")), *settings.LANGUAGES]


class AccountRequestForm(StyledForm):
    last_name = _line(_("Family name"), max_length=150)
    first_name = _line(_("Given name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    institution = _line(_("Institution"))
    department = _line(_("Department"), required=False)
    position = _line(_("Position"), required=False)
    purpose = forms.CharField(
        label=_("Purpose of use"),
        help_text=_("The studies you will work on, and your role in them."),
        max_length=PURPOSE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    agree = forms.BooleanField(label=_("I have read and agree to the terms of use above."))

    def __init__(self, *args: Any, terms_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not terms_required:
            del self.fields["agree"]


class ActivationForm(SetPasswordForm):  # type: ignore[type-arg]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")


class TermsAcceptForm(StyledForm):
    agree = forms.BooleanField(label=_("I have read and agree to these terms of use."))


# --- Control centre ---


class UserCreateForm(StyledForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    last_name = _line(_("Family name"), max_length=150, required=False)
    first_name = _line(_("Given name"), max_length=150, required=False)
    institution = _line(_("Institution"), required=False)
    department = _line(_("Department"), required=False)
    position = _line(_("Position"), required=False)
    language = forms.ChoiceField(label=_("Language"), choices=_language_choices, required=False)
    expires_on = forms.DateField(
        label=_("Account expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class UserEditForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = User
        fields = [
            "last_name",
            "first_name",
            "email",
            "institution",
            "department",
            "position",
            "language",
            "expires_on",
            "may_create_projects",
        ]
        widgets = {"expires_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"] = forms.ChoiceField(
            label=_("Language"), choices=_language_choices, required=False
        )
        self.fields["email"].required = True
        for name in ("last_name", "first_name", "institution", "department", "position"):
            self.fields[name].validators.append(no_control_characters)
        _style(self)


class SuspendForm(StyledForm):
    reason = _line(_("Reason"), max_length=500)


class ApproveForm(StyledForm):
    username = forms.CharField(label=_("User name"), max_length=150)


class RejectForm(StyledForm):
    reason = forms.CharField(
        label=_("Reason (sent to the person who asked)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class TermsVersionForm(StyledForm):
    text_ja = forms.CharField(
        label=_("Text (Japanese)"),
        max_length=50000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
    )
    text_en = forms.CharField(
        label=_("Text (English)"),
        max_length=50000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
    )


# Allowed ranges for every number on the site settings page.
SITE_SETTINGS_RANGES = {
    "password_min_length": (8, 128),
    "password_max_age_days": (0, 3650),
    "lockout_failures": (3, 50),
    "lockout_minutes": (1, 1440),
    "session_idle_minutes": (5, 1440),
    "session_max_hours": (1, 720),
    "suspend_after_days": (0, 3650),
}


class SiteSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = SiteSettings
        exclude = ["updated_at"]
        widgets = {"internal_email_domains": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, (low, high) in SITE_SETTINGS_RANGES.items():
            field = self.fields[name]
            assert isinstance(field, forms.IntegerField)
            field.min_value, field.max_value = low, high
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]
            field.widget.attrs.update({"min": low, "max": high})
        _style(self)

    def clean_internal_email_domains(self) -> str:
        raw = self.cleaned_data["internal_email_domains"]
        domains = [d.strip().lower().lstrip("@") for d in raw.split()]
        for domain in domains:
            if not _DOMAIN.fullmatch(domain):
                raise ValidationError(
                    _("Not an e-mail domain: %(domain)s"), params={"domain": domain[:100]}
                )
        return "\n".join(dict.fromkeys(domains))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        idle, longest = cleaned.get("session_idle_minutes"), cleaned.get("session_max_hours")
        if idle is not None and longest is not None and idle > longest * 60:
            self.add_error(
                "session_idle_minutes",
                _("The idle time cannot be longer than the longest session."),
            )
        return cleaned
