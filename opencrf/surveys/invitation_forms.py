"""Forms of the invitation pages: compose, the log's filters, automated invitations. They
parse what was typed; `invitations` and `automated` decide and name what is wrong."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from opencrf.core.forms import StyledForm
from opencrf.dictionary.columns import FieldRow
from opencrf.surveys.automated import AutoSettings
from opencrf.surveys.invitations import LOG_STATUSES, MAX_BODY, MAX_SUBJECT, Message
from opencrf.surveys.models import AutoInvitation

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
# Field types that can hold an e-mail address typed into a record.
EMAIL_TYPES = frozenset({"text", "notes"})
MAX_RECORD_IDS = 5_000

DEFAULT_SUBJECT = _("Invitation to a survey: [survey-title]")
DEFAULT_BODY = _(
    "You are invited to answer the survey “[survey-title]”.\n\n"
    "Please open this link to begin:\n[survey-link]\n\n"
    "If the link does not open, go to the address below and type the access code "
    "[survey-access-code]:\n[survey-access-code-url]\n\nThank you for taking part."
)


def email_field_choices(rows: Sequence[FieldRow]) -> list[tuple[str, str]]:
    """Text fields, those validated as e-mail first: where a record keeps an address."""
    texts = [row for row in rows if row.field_type in EMAIL_TYPES]
    texts.sort(key=lambda row: row.text_validation_type_or_show_slider_number != "email")
    return [("", "—")] + [(r.field_name, f"{r.field_name} ({r.field_label})") for r in texts]


def _datetime_field(label: Any, required: bool = False) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )


class ComposeForm(StyledForm):
    """REDCap's "Compose survey invitations": recipients, message, when, reminders."""

    participants = forms.TypedMultipleChoiceField(
        label=_("Participants of the list"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    records = forms.CharField(
        label=_("Records"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_("Record IDs, separated by commas, spaces or new lines."),
    )
    email_field = forms.ChoiceField(
        label=_("Field with the record's e-mail address"), required=False
    )
    subject = forms.CharField(label=_("Subject"), max_length=MAX_SUBJECT)
    body = forms.CharField(
        label=_("Message"), max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 8})
    )
    when = forms.ChoiceField(
        label=_("When"),
        choices=[("now", _("Send now")), ("later", _("Send at a chosen time"))],
        initial="now",
        widget=forms.RadioSelect,
    )
    send_at = _datetime_field(_("Send at"))
    reminder_days = forms.IntegerField(
        label=_("Remind every N days"), min_value=0, max_value=365, initial=0
    )
    reminders = forms.IntegerField(
        label=_("Up to K reminders"), min_value=0, max_value=10, initial=0
    )

    def __init__(
        self,
        data: Any = None,
        *,
        participants: Sequence[tuple[int, str]],
        rows: Sequence[FieldRow],
    ) -> None:
        super().__init__(data, initial={"subject": DEFAULT_SUBJECT, "body": DEFAULT_BODY})
        field = self.fields["participants"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = list(participants)
        field.widget.attrs["class"] = "form-check-input"
        email = self.fields["email_field"]
        assert isinstance(email, forms.ChoiceField)
        email.choices = email_field_choices(rows)
        self.fields["when"].widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("when") == "later" and not data.get("send_at"):
            self.add_error("send_at", _("Give the date and time to send at."))
        if data.get("records") and not data.get("email_field"):
            self.add_error("email_field", _("Choose the field that holds the e-mail address."))
        return data

    def record_ids(self) -> list[str]:
        ids = [part for part in re.split(r"[\s,]+", self.cleaned_data.get("records", "")) if part]
        if len(ids) > MAX_RECORD_IDS:
            raise forms.ValidationError(_("Too many record IDs."))
        return list(dict.fromkeys(ids))

    def message(self) -> Message:
        data = self.cleaned_data
        return Message(
            subject=data["subject"],
            body=data["body"],
            send_at=data["send_at"] if data["when"] == "later" else None,
            reminder_days=data["reminder_days"] or 0,
            reminders=data["reminders"] or 0,
        )


class LogFilterForm(StyledForm):
    """The log's filters; anything unparsable is ignored (a filter, not a change)."""

    survey = forms.TypedChoiceField(label=_("Survey"), coerce=int, required=False, empty_value=None)
    event = forms.TypedChoiceField(label=_("Event"), coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False)
    q = forms.CharField(label=_("E-mail or record"), required=False, max_length=200)
    since = _datetime_field(_("Scheduled from"))
    until = _datetime_field(_("Scheduled until"))

    def __init__(
        self,
        data: Any,
        *,
        surveys: Sequence[tuple[int, str]],
        events: Sequence[tuple[int, str]],
        statuses: Sequence[tuple[str, str]],
    ) -> None:
        super().__init__(data)
        for name, choices in (("survey", surveys), ("event", events), ("status", statuses)):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", _("All")), *choices]


STATUS_LABELS = dict(
    zip(
        LOG_STATUSES,
        (
            _("Scheduled"),
            _("Sending"),
            _("Sent"),
            _("Responded"),
            _("Failed"),
            _("Bounced"),
            _("Cancelled"),
        ),
        strict=True,
    )
)


class AutoInvitationForm(StyledForm):
    """The set-up of an automated invitation (REDCap: "Automated Invitations" of a survey)."""

    active = forms.BooleanField(label=_("Active"), required=False)
    condition_logic = forms.CharField(
        label=_("Send when this logic is true"),
        widget=forms.Textarea(
            attrs={"rows": 3, "spellcheck": "false", "class": "form-control font-monospace"}
        ),
        help_text=_(
            "For example [enrolment_arm_1][consent] = '1', or "
            "datediff([baseline_arm_1][bl_date], 'today', 'd', 'ymd', true) >= 30 "
            "(dates are checked again every day)."
        ),
    )
    email_field = forms.ChoiceField(label=_("Field with the record's e-mail address"))
    subject = forms.CharField(label=_("Subject"), max_length=MAX_SUBJECT)
    body = forms.CharField(
        label=_("Message"), max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 8})
    )
    delay_days = forms.IntegerField(label=_("Delay (days)"), min_value=0, max_value=3650)
    delay_minutes = forms.IntegerField(label=_("Delay (minutes)"), min_value=0, max_value=1439)
    send_time = forms.TimeField(
        label=_("Then at this time of day"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    reminder_every_days = forms.IntegerField(
        label=_("Remind every N days"), min_value=0, max_value=365
    )
    reminder_count = forms.IntegerField(label=_("Up to K reminders"), min_value=0, max_value=10)

    def __init__(
        self, data: Any, *, found: AutoInvitation | None, rows: Sequence[FieldRow]
    ) -> None:
        initial: dict[str, Any] = {
            "active": True,
            "subject": DEFAULT_SUBJECT,
            "body": DEFAULT_BODY,
            "delay_days": 0,
            "delay_minutes": 0,
            "reminder_every_days": 0,
            "reminder_count": 0,
        }
        if found is not None:
            initial = {name: getattr(found, name) for name in AutoSettings.__dataclass_fields__}
        super().__init__(data, initial=initial)
        email = self.fields["email_field"]
        assert isinstance(email, forms.ChoiceField)
        email.choices = email_field_choices(rows)

    def settings(self) -> AutoSettings:
        data = self.cleaned_data
        return AutoSettings(**{name: data[name] for name in AutoSettings.__dataclass_fields__})
