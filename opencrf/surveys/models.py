"""Surveys: instruments answered by participants themselves, their links and invitations.

A `Survey` is an instrument's survey settings (REDCap: "Survey settings" of an instrument).
A `SurveyResponse` is one participant's link to one form instance: record, event and
instance, with its long random token (the link), short access code and return code, and
when it was started and completed. The public link of a survey is the survey's own
`public_token`; each visit through it becomes a response of its own, whose record is created
when the first page is submitted. Participants (the participant list) are people invited by
e-mail; each invitation (and reminder) is an `Invitation` row with its outcome.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.files.models import StoredFile
from opencrf.projects.models import Event, Project
from opencrf.records.models import Record

TOKEN_LENGTH = 43  # secrets.token_urlsafe(32): 256 random bits
ACCESS_CODE_LENGTH = 9  # REDCap's short codes: 9 characters without look-alikes
RETURN_CODE_LENGTH = 8


class Survey(models.Model):
    """One instrument enabled as a survey, with its settings."""

    class Paging(models.TextChoices):
        ALL = "all", _("All on one page")
        SECTIONS = "sections", _("One section per page")

    class Numbering(models.TextChoices):
        AUTO = "auto", _("Numbered automatically")
        CUSTOM = "custom", _("Custom numbers (from the dictionary)")
        NONE = "none", _("No numbers")

    class Language(models.TextChoices):
        JAPANESE = "ja", _("Japanese")
        ENGLISH = "en", _("English")

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="surveys", verbose_name=_("project")
    )
    form_name = models.CharField(_("instrument"), max_length=64)
    active = models.BooleanField(_("accepting responses"), default=True)
    title = models.CharField(_("survey title"), max_length=300)
    instructions = models.TextField(_("instructions"), blank=True)
    logo = models.ForeignKey(
        StoredFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    completion_text = models.TextField(_("completion text"), blank=True)
    redirect_url = models.URLField(_("redirect to a URL when completed"), blank=True)
    paging = models.CharField(
        _("question display"), max_length=10, choices=Paging.choices, default=Paging.ALL
    )
    numbering = models.CharField(
        _("question numbering"), max_length=10, choices=Numbering.choices, default=Numbering.AUTO
    )
    required_message = models.CharField(
        _("message for required fields left blank"), max_length=500, blank=True
    )
    save_and_return = models.BooleanField(_("allow 'save and return later'"), default=False)
    edit_completed = models.BooleanField(
        _("allow respondents to edit a completed response"), default=False
    )
    expires_at = models.DateTimeField(_("survey expires at"), null=True, blank=True)
    response_limit = models.PositiveIntegerField(_("response limit"), null=True, blank=True)
    response_limit_message = models.TextField(_("message when the limit is reached"), blank=True)
    auto_continue = models.BooleanField(_("auto-continue to the next survey"), default=False)
    time_limit_minutes = models.PositiveIntegerField(
        _("time limit (minutes) after the invitation"), null=True, blank=True
    )
    language = models.CharField(
        _("survey language"), max_length=2, choices=Language.choices, default=Language.JAPANESE
    )
    language_switch = models.BooleanField(_("participant may switch language"), default=True)
    # Survey queue: shown to the participant after a survey when its condition holds.
    queue_enabled = models.BooleanField(_("in the survey queue"), default=False)
    queue_after = models.CharField(
        _("due when this survey is completed"), max_length=64, blank=True
    )
    queue_logic = models.TextField(_("due when this logic is true"), blank=True)
    queue_auto_start = models.BooleanField(_("start automatically when due"), default=False)
    # E-consent: the final page shows the response as a PDF to confirm, then stores it.
    econsent = models.BooleanField(_("e-consent framework"), default=False)
    econsent_version = models.CharField(_("consent form version"), max_length=50, blank=True)
    econsent_name_field = models.CharField(_("participant name field"), max_length=100, blank=True)
    econsent_signature_field = models.CharField(_("signature field"), max_length=100, blank=True)
    public_token = models.CharField(max_length=TOKEN_LENGTH + 7, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "form_name"]
        verbose_name = _("survey")
        constraints = [
            models.UniqueConstraint(fields=["project", "form_name"], name="one_survey_per_form")
        ]

    def __str__(self) -> str:
        return f"survey {self.form_name} of project {self.project_id}"


class Participant(models.Model):
    """A person on a survey's participant list at an event (REDCap's Participant List)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="participants")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(_("e-mail address"), blank=True)
    identifier = models.CharField(_("participant identifier"), max_length=255, blank=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Survey.Language.choices, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["survey_id", "event_id", "pk"]
        verbose_name = _("participant")

    def __str__(self) -> str:
        return f"participant {self.pk} of survey {self.survey_id}"


class SurveyResponse(models.Model):
    """A link to one form instance of a record, answered by a participant.

    `record` is empty only for a response started from the public link and not yet
    submitted. The token is the link; the access code a short form of it to type in; the
    return code lets a participant who saved a partial response continue."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        PARTIAL = "partial", _("Partial")
        COMPLETED = "completed", _("Completed")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    record = models.ForeignKey(
        Record, on_delete=models.CASCADE, null=True, blank=True, related_name="survey_responses"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    instance = models.PositiveIntegerField(default=1)
    participant = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="responses"
    )
    token = models.CharField(max_length=TOKEN_LENGTH + 7, unique=True)
    access_code = models.CharField(max_length=ACCESS_CODE_LENGTH, unique=True)
    return_code = models.CharField(max_length=RETURN_CODE_LENGTH, blank=True)
    public = models.BooleanField(default=False)  # started from the survey's public link
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NOT_STARTED)
    page = models.PositiveSmallIntegerField(default=1)  # the page to continue from
    language = models.CharField(max_length=2, choices=Survey.Language.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    link_expires_at = models.DateTimeField(null=True, blank=True)  # the survey's time limit
    ip_address = models.GenericIPAddressField(null=True, blank=True)  # only when enabled

    class Meta:
        ordering = ["pk"]
        verbose_name = _("survey response")
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "record", "event", "instance"],
                condition=models.Q(record__isnull=False),
                name="one_response_per_form_instance",
            )
        ]
        indexes = [models.Index(fields=["project", "record"])]

    def __str__(self) -> str:
        return f"survey response {self.pk}"


class Respondent(models.Model):
    """The pseudonym under which the audit trail names a record's participant.

    One per record, so the participant answering several surveys, events or instances of
    their record is one actor, `[survey respondent #<number>]`. The number is the id of the
    record's first survey response, made when the participant first acts (see
    `surveys/respondents.py`); it names nobody and holds no address."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    record = models.OneToOneField(Record, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("survey respondent")

    def __str__(self) -> str:
        return f"survey respondent #{self.number}"


class AutoInvitation(models.Model):
    """Automated survey invitations: when a record's condition becomes true (after a save,
    or on a date the logic computes), invite the record to a survey at an event."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="auto_invitations")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    active = models.BooleanField(_("active"), default=True)
    condition_logic = models.TextField(_("send when this logic is true"))
    email_field = models.CharField(_("e-mail field of the record"), max_length=100)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("message"))
    delay_days = models.PositiveIntegerField(_("delay (days)"), default=0)
    delay_minutes = models.PositiveIntegerField(_("delay (minutes)"), default=0)
    send_time = models.TimeField(_("at this time of day"), null=True, blank=True)
    reminder_every_days = models.PositiveIntegerField(_("remind every N days"), default=0)
    reminder_count = models.PositiveIntegerField(_("up to K reminders"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("automated survey invitation")
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "event"], name="one_auto_invitation_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"automated invitation {self.pk}"


class Invitation(models.Model):
    """One e-mail to a participant with a survey link: an invitation or a reminder.

    "bounced": the mail server refused the recipient for good (an SMTP 5xx answer), never
    tried again. "failed": not sent; `retry_at` says when a temporary refusal (4xx, or the
    server out of reach) is tried again, empty when it will not be (`attempts` counts the
    tries that failed)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        BOUNCED = "bounced", _("Bounced")
        CANCELLED = "cancelled", _("Cancelled")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    response = models.ForeignKey(
        SurveyResponse, on_delete=models.CASCADE, related_name="invitations"
    )
    participant = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations"
    )
    automated = models.ForeignKey(
        AutoInvitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    email = models.EmailField(_("e-mail address"))
    # The record's field the address was read from (records invited at an e-mail field).
    email_field = models.CharField(max_length=100, blank=True)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("message"))
    reminder = models.PositiveSmallIntegerField(default=0)  # 0: the invitation; n: n-th reminder
    send_at = models.DateTimeField(_("send at"), db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # sends that failed
    retry_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)  # the Message-ID header sent
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["send_at", "pk"]
        verbose_name = _("survey invitation")
        indexes = [
            models.Index(fields=["status", "send_at"]),
            models.Index(fields=["status", "retry_at"]),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk}"


class Consent(models.Model):
    """A signed e-consent: the PDF of the whole response, its SHA-256 and the form version."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="consents")
    # Deleting a record deletes its responses and consents; the PDF stays in the file
    # repository and the audit trail keeps its SHA-256 (as REDCap keeps its PDF archive).
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="consents")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    instance = models.PositiveIntegerField(default=1)
    form_name = models.CharField(max_length=64)
    version = models.CharField(_("consent form version"), max_length=50, blank=True)
    name = models.CharField(_("participant name"), max_length=300, blank=True)
    pdf = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField(_("signed at"))

    class Meta:
        ordering = ["record_id", "signed_at"]
        verbose_name = _("e-consent")

    def __str__(self) -> str:
        return f"consent {self.pk} of record {self.record_id}"


class QueueLink(models.Model):
    """The link to a record's survey queue (REDCap's survey queue link): one random token per
    record, made when first asked for."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    record = models.OneToOneField(Record, on_delete=models.CASCADE, related_name="survey_queue")
    token = models.CharField(max_length=TOKEN_LENGTH + 7, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("survey queue link")

    def __str__(self) -> str:
        return f"survey queue of record {self.record_id}"
