"""Forms of the control centre's operations pages. Times are entered in settings.TIME_ZONE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from opencrf.core.forms import StyledForm
from opencrf.ops.models import IncidentLevel, IncidentStatus, MaintenanceKind

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _when(label: Any, *, required: bool = True) -> forms.DateTimeField:
    """A local date and time (the browser's date-time picker; `YYYY-MM-DD HH:MM` typed)."""
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=[LOCAL_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT),
    )


def _level_field(label: Any) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=IncidentLevel.choices, coerce=int)


class MaintenanceModeForm(StyledForm):
    message = forms.CharField(
        label=_("Message shown with the banner"),
        required=False,
        max_length=500,
        help_text=_("For example when the work should end, or whom to ask."),
    )


class MaintenanceWindowForm(StyledForm):
    title = forms.CharField(label=_("Title"), max_length=300)
    kind = forms.ChoiceField(label=_("Kind"), choices=MaintenanceKind.choices)
    starts_at = _when(_("Starts"))
    ends_at = _when(_("Ends"))
    announce_days = forms.IntegerField(
        label=_("Announce days before"),
        min_value=0,
        max_value=365,
        initial=7,
        help_text=_("The banner shows this many days before the start, until the end."),
    )
    description = forms.CharField(
        label=_("Description"), required=False, max_length=5000, widget=forms.Textarea({"rows": 3})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The maintenance must end after it starts."))
        return data


class IncidentForm(StyledForm):
    title = forms.CharField(label=_("Title"), max_length=300)
    level = _level_field(_("Level"))
    started_at = _when(_("Started"))
    ended_at = _when(_("Ended"), required=False)
    impact = forms.CharField(
        label=_("Impact"), required=False, max_length=5000, widget=forms.Textarea({"rows": 3})
    )
    actions = forms.CharField(
        label=_("Actions taken"),
        required=False,
        max_length=5000,
        widget=forms.Textarea({"rows": 3}),
    )
    detail = forms.CharField(
        label=_("Detail"), required=False, max_length=5000, widget=forms.Textarea({"rows": 3})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        started, ended = data.get("started_at"), data.get("ended_at")
        if started and started > timezone.now():
            self.add_error("started_at", _("An incident cannot start in the future."))
        if started and ended and ended < started:
            self.add_error("ended_at", _("An incident cannot end before it starts."))
        return data


class IncidentUpdateForm(StyledForm):
    level = _level_field(_("Level"))
    impact = forms.CharField(
        label=_("Impact"), required=False, max_length=5000, widget=forms.Textarea({"rows": 3})
    )
    actions = forms.CharField(
        label=_("Actions taken"),
        required=False,
        max_length=5000,
        widget=forms.Textarea({"rows": 3}),
    )


class IncidentResolveForm(StyledForm):
    ended_at = _when(_("Ended"))


class IncidentFilterForm(StyledForm):
    """The register's filters (GET); an invalid one is ignored and named."""

    level = forms.TypedChoiceField(
        label=_("Level"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("All levels")), *IncidentLevel.choices],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Open and resolved")), *IncidentStatus.choices],
    )
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=9999)
    month = forms.IntegerField(label=_("Month"), required=False, min_value=1, max_value=12)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("month") and not data.get("year"):
            raise ValidationError(_("Choose a year with the month."))
        return data


def local_now() -> datetime:
    """Now, to the minute: the default of a resolve form."""
    return timezone.localtime().replace(second=0, microsecond=0)
