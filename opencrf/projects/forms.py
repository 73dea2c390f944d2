from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from opencrf.core.forms import StyledForm
from opencrf.projects.models import FieldNotes, Purpose


class ProjectCreateForm(StyledForm):
    title = forms.CharField(label=_("Project title"), max_length=200)
    purpose = forms.TypedChoiceField(
        label=_("Purpose"), choices=Purpose.choices, coerce=int, initial=Purpose.RESEARCH
    )
    purpose_other = forms.CharField(label=_("Purpose, if other"), max_length=200, required=False)
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
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class ProjectSettingsForm(StyledForm):
    title = forms.CharField(label=_("Project title"), max_length=200)
    purpose = forms.TypedChoiceField(label=_("Purpose"), choices=Purpose.choices, coerce=int)
    purpose_other = forms.CharField(label=_("Purpose, if other"), max_length=200, required=False)
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    is_longitudinal = forms.BooleanField(label=_("Longitudinal (events and arms)"), required=False)
    record_autonumbering = forms.BooleanField(label=_("Record auto-numbering"), required=False)
    custom_record_label = forms.CharField(
        label=_("Custom record label"), max_length=200, required=False
    )
    require_change_reason = forms.BooleanField(
        label=_("Require a reason when making changes to existing records"),
        help_text=_("Applies only while the project is in production."),
        required=False,
    )
    surveys_enabled = forms.BooleanField(
        label=_("Use surveys in this project"),
        help_text=_("Lets instruments be surveys that participants answer themselves."),
        required=False,
    )
    survey_ip_recorded = forms.BooleanField(
        label=_("Record the IP address of survey respondents"),
        help_text=_("Off by default: an IP address can identify a participant."),
        required=False,
    )
    field_notes = forms.ChoiceField(
        label=_("Notes beside each field"),
        choices=FieldNotes.choices,
        help_text=_(
            "The field comment log lets users leave comments on a field; the data resolution "
            "workflow opens queries that are answered and closed."
        ),
        required=False,
    )

    def clean_field_notes(self) -> str:
        """A post without the choice (an older page, a script) keeps the project's mode."""
        chosen = self.cleaned_data.get("field_notes")
        return str(chosen or self.initial.get("field_notes") or FieldNotes.COMMENT_LOG)


class ArmForm(StyledForm):
    number = forms.IntegerField(label=_("Arm number"), min_value=1, max_value=999)
    name = forms.CharField(label=_("Arm name"), max_length=200)


class EventForm(StyledForm):
    name = forms.CharField(label=_("Event name"), max_length=200)
    day_offset = forms.IntegerField(
        label=_("Days offset"), initial=0, min_value=-99999, max_value=99999
    )
    offset_min = forms.IntegerField(
        label=_("Window before (days)"), initial=0, min_value=0, max_value=99999
    )
    offset_max = forms.IntegerField(
        label=_("Window after (days)"), initial=0, min_value=0, max_value=99999
    )
    custom_label = forms.CharField(label=_("Custom event label"), max_length=200, required=False)
