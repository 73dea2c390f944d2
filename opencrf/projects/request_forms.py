"""Forms for asking for a project and for deciding on the request."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from opencrf.accounts.forms import no_control_characters
from opencrf.core.forms import StyledForm


class ProjectRequestForm(StyledForm):
    title = forms.CharField(
        label=_("Project title"), max_length=200, validators=[no_control_characters]
    )
    purpose = forms.CharField(
        label=_("Purpose of the project"),
        help_text=_("The study, its sponsor or funding, and the sites taking part."),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    is_longitudinal = forms.TypedChoiceField(
        label=_("Design"),
        choices=[
            ("0", _("Classic: one set of forms per record")),
            ("1", _("Longitudinal: forms repeat over events (visits)")),
        ],
        coerce=lambda value: value == "1",
        initial="0",
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(
        label=_("Notes"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ProjectRequestApproveForm(StyledForm):
    note = forms.CharField(
        label=_("Note to the requester (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ProjectRequestRejectForm(StyledForm):
    reason = forms.CharField(
        label=_("Reason (sent to the person who asked)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
