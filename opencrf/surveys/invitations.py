"""Survey invitations by e-mail: compose, schedule with reminders, cancel, resend, the log.

REDCap's "Compose survey invitations" and "Survey Invitation Log". Each e-mail — the
invitation and each reminder — is one `Invitation` row, written here when it is composed and
sent later by the job queue (`invitation_jobs.py`). Subject and body are kept as composed and
piped when sent, so a scheduled message shows the record's values of its day: `[field]`,
`[field:label]`, `[event][field]` and the smart variables `[survey-link]`, `[survey-url]`,
`[survey-access-code]`, `[survey-access-code-url]` (the page to type it in), `[survey-title]`,
`[record-name]` and `[event-name]`. Each mail has a plain-text part and an HTML part of the
same text (`multipart/alternative`): in the HTML every typed or piped character is escaped,
and only the survey's own addresses become links, so nothing typed or piped becomes markup.
The subject loses its line breaks, so nothing can add a header.

A participant of the participant list who has no record yet gets a response of their own
(`record` empty, not public); the public pages create the record when they first submit.
"Responded" is not a status of its own: it is read from the response's status.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape, format_html, linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from opencrf.accounts.mail import one_line, site_link
from opencrf.audit.services import AuditContext, AuditEntry, AuditTarget, audit_events_create
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.form_logic import record_data
from opencrf.dictionary.piping import Piper, make_piper
from opencrf.projects.models import Event, Project
from opencrf.projects.rights import Rights
from opencrf.records.auditing import record_target
from opencrf.records.models import FormData, Record
from opencrf.records.services import acting_rights
from opencrf.surveys.codes import new_access_code, new_token
from opencrf.surveys.models import Invitation, Participant, Survey, SurveyResponse
from opencrf.surveys.services import _retry_unique, response_link

MAX_SUBJECT = 300
MAX_BODY = 20_000
MAX_REMINDERS = 10
MAX_REMINDER_DAYS = 365
MAX_RECIPIENTS = 5_000
LINK_VARIABLES = ("[survey-link]", "[survey-url]")

# Why a row was cancelled without a user doing it: kept in `error` as these codes, shown
# translated (`cancel_reason`). A failed send keeps the mail server's own message instead.
COMPLETED = "[completed]"
LOGIC_FALSE = "[logic-false]"
CANCELLED_BY_USER = "[cancelled]"
INTERRUPTED = "[interrupted]"
REASONS = {
    COMPLETED: gettext_lazy("The response was completed before this reminder was due."),
    LOGIC_FALSE: gettext_lazy("The automated invitation's condition is no longer true."),
    CANCELLED_BY_USER: gettext_lazy("Cancelled by a user."),
    INTERRUPTED: gettext_lazy(
        "Sending was interrupted; the message may or may not have been delivered."
    ),
}


def may_manage_participants(rights: Rights) -> bool:
    """REDCap's "Manage survey participants" right: compose invitations, see their log."""
    return rights.survey_participants


def require_participants_right(context: AuditContext, project: Project) -> Rights:
    rights = acting_rights(context, project)
    if not may_manage_participants(rights):
        raise PermissionDenied(_("You need the right to manage survey participants."))
    if not project.surveys_enabled:
        raise InvalidInput(_("Surveys are not enabled in this project."))
    return rights


def cancel_reason(error: str) -> str:
    """The text of a row's `error`: a cancellation reason translated, or the server's words."""
    reason = REASONS.get(error)
    return str(reason) if reason is not None else error


# --- Composing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What to send and when: subject and body as typed (piped when sent), the time of the
    invitation (None: now) and its reminders, every `reminder_days` days, `reminders` times."""

    subject: str
    body: str
    send_at: datetime | None = None
    reminder_days: int = 0
    reminders: int = 0

    def problems(self) -> list[str]:
        found = []
        if not self.subject.strip():
            found.append(_("Write a subject."))
        if len(self.subject) > MAX_SUBJECT:
            found.append(_("The subject is longer than %(n)d characters.") % {"n": MAX_SUBJECT})
        if not self.body.strip():
            found.append(_("Write a message."))
        if len(self.body) > MAX_BODY:
            found.append(_("The message is longer than %(n)d characters.") % {"n": MAX_BODY})
        if not 0 <= self.reminders <= MAX_REMINDERS:
            found.append(_("Send at most %(n)d reminders.") % {"n": MAX_REMINDERS})
        if self.reminders and not 1 <= self.reminder_days <= MAX_REMINDER_DAYS:
            found.append(_("Reminders are sent every 1 to 365 days."))
        return found


@dataclass
class Composed:
    """The outcome of composing: the rows made, and the recipients left out with the reason."""

    invitations: list[Invitation] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (who, why)


def record_email(values_by_form: Iterable[Mapping[str, str]], email_field: str) -> str:
    """The record's e-mail address: the first valid value of `email_field` in any of its forms."""
    for values in values_by_form:
        address = values.get(email_field, "").strip()
        if address and is_email(address):
            return address
    return ""


def is_email(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return "\n" not in address and "\r" not in address


def participant_response(participant: Participant) -> SurveyResponse:
    """The participant's own link to the survey at their event, made when first needed."""
    found = SurveyResponse.objects.filter(
        participant=participant, survey_id=participant.survey_id, event_id=participant.event_id
    ).first()
    if found is not None:
        return found
    return _retry_unique(
        lambda: SurveyResponse.objects.create(
            project_id=participant.project_id,
            survey_id=participant.survey_id,
            event_id=participant.event_id,
            participant=participant,
            public=False,
            token=new_token(),
            access_code=new_access_code(),
        )
    )


def survey_participants(survey: Survey, event: Event, ids: Iterable[int]) -> list[Participant]:
    """The participants `ids` names on this survey's list at this event; any other id (another
    survey's, another project's, a missing one) refuses the whole request."""
    wanted = set(ids)
    found = list(
        Participant.objects.filter(
            pk__in=wanted, project_id=survey.project_id, survey=survey, event=event
        )
    )
    if len(found) != len(wanted):
        raise NotFound(_("No such participant on this survey's list."))
    return found


def _schedule_times(message: Message, now: datetime) -> list[datetime]:
    first = message.send_at or now
    every = timedelta(days=message.reminder_days)
    return [first + every * n for n in range(message.reminders + 1)]


@transaction.atomic
def invitations_compose(
    *,
    context: AuditContext,
    survey: Survey,
    event: Event,
    message: Message,
    participants: Sequence[Participant] = (),
    records: Sequence[Record] = (),
    email_field: str = "",
) -> Composed:
    """Schedule the invitation (and its reminders) to each participant and record.

    Records are invited at the address in their `email_field`; a record without a valid one
    is skipped and named in the result. The caller chose the records through the records'
    selectors (the user's data access group) and the participants through
    `survey_participants`.
    """
    project = survey.project
    require_participants_right(context, project)
    if any(p.survey_id != survey.pk or p.event_id != event.pk for p in participants):
        raise NotFound(_("No such participant on this survey's list."))
    problems = message.problems()
    _check_target(survey, event, problems)
    if records and email_field not in {row.field_name for row in design_of(project).rows}:
        problems.append(_("Choose the field that holds the e-mail address."))
    if len(participants) + len(records) > MAX_RECIPIENTS:
        problems.append(_("Invite at most %(n)d recipients at once.") % {"n": MAX_RECIPIENTS})
    if not participants and not records:
        problems.append(_("Choose at least one participant or record."))
    if problems:
        raise InvalidInput(" ".join(problems))
    composed = Composed()
    times = _schedule_times(message, timezone.now())
    for participant in participants:
        if not is_email(participant.email):
            composed.skipped.append((_participant_name(participant), _("no e-mail address")))
            continue
        response = participant_response(participant)
        composed.invitations += _rows(context, response, participant.email, "", message, times)
    emails = _record_emails(project, records, email_field)
    for record in records:
        address = emails.get(record.pk, "")
        if not address:
            composed.skipped.append((record.record_id, _("no e-mail address")))
            continue
        response = response_link(survey=survey, record=record, event=event)
        composed.invitations += _rows(context, response, address, email_field, message, times)
    Invitation.objects.bulk_create(composed.invitations)
    _audit_scheduled(context, project, composed.invitations, "compose")
    return composed


def _check_target(survey: Survey, event: Event, problems: list[str]) -> None:
    if event.project_id != survey.project_id:
        raise NotFound(_("No such event."))
    if not design_of(survey.project).has_form(survey.project, event, survey.form_name):
        problems.append(_("This event does not collect the survey's instrument."))


def _participant_name(participant: Participant) -> str:
    return participant.identifier or participant.email or f"#{participant.pk}"


def _record_emails(project: Project, records: Sequence[Record], email_field: str) -> dict[int, str]:
    if not records or not email_field:
        return {}
    values: dict[int, list[Mapping[str, str]]] = {}
    forms = FormData.objects.filter(project=project, record__in=[r.pk for r in records])
    for record_pk, form_values in forms.order_by("event_id", "instance").values_list(
        "record_id", "values"
    ):
        values.setdefault(record_pk, []).append(form_values)
    return {pk: record_email(found, email_field) for pk, found in values.items()}


def _rows(
    context: AuditContext,
    response: SurveyResponse,
    email: str,
    email_field: str,
    message: Message,
    times: Sequence[datetime],
) -> list[Invitation]:
    return [
        Invitation(
            project_id=response.project_id,
            response=response,
            participant=response.participant,
            email=email,
            email_field=email_field,
            subject=one_line(message.subject),
            body=message.body,
            reminder=number,
            send_at=when,
            created_by=context.actor,
        )
        for number, when in enumerate(times)
    ]


def _audit_scheduled(
    context: AuditContext, project: Project, invitations: Sequence[Invitation], how: str
) -> None:
    entries = [
        AuditEntry(
            "survey.invitation.scheduled",
            invitation_target(invitation),
            {
                "email": ["", invitation.email],
                "send_at": ["", invitation.send_at.isoformat(timespec="minutes")],
            },
            details=f"{how}; reminder {invitation.reminder}" if invitation.reminder else how,
        )
        for invitation in invitations
    ]
    audit_events_create(context=context, project_id=project.pk, entries=entries)


def invitation_target(invitation: Invitation) -> AuditTarget:
    """The audit target of an invitation: its record's form at the event, or the participant."""
    response = invitation.response
    form = response.survey.form_name
    if response.record is not None:
        return record_target(response.record, response.event, form, response.instance)
    who = f"participant {response.participant_id}" if response.participant_id else ""
    return AuditTarget(event=response.event.unique_name, instrument=form, extra={"who": who})


# --- Cancelling and resending ------------------------------------------------------------------


def _invitation_for_update(context: AuditContext, project: Project, pk: int) -> Invitation:
    rights = require_participants_right(context, project)
    found = (
        invitations_visible(rights, project).select_for_update(of=("self",)).filter(pk=pk).first()
    )
    if found is None:
        raise NotFound(_("No such invitation."))
    return found


@transaction.atomic
def invitation_cancel(*, context: AuditContext, project: Project, invitation_id: int) -> Invitation:
    """Cancel a scheduled invitation that no worker has begun to send, or the next try of one
    that failed for a while."""
    invitation = _invitation_for_update(context, project, invitation_id)
    if not may_cancel(invitation):
        raise InvalidInput(_("Only an invitation waiting to be sent can be cancelled."))
    before = invitation.status
    invitation.status, invitation.error = Invitation.Status.CANCELLED, CANCELLED_BY_USER
    invitation.retry_at = None
    invitation.save(update_fields=["status", "error", "retry_at"])
    audit_events_create(
        context=context,
        project_id=project.pk,
        entries=[
            AuditEntry(
                "survey.invitation.cancelled",
                invitation_target(invitation),
                {"status": [before, Invitation.Status.CANCELLED]},
                details=f"invitation {invitation.pk}",
            )
        ],
    )
    return invitation


@transaction.atomic
def invitation_resend(*, context: AuditContext, project: Project, invitation_id: int) -> Invitation:
    """A new invitation, sent now, with the subject and body of a sent, failed or bounced one.
    A failed one waiting for its next try is not tried again: the new row replaces it."""
    old = _invitation_for_update(context, project, invitation_id)
    if not may_resend(old):
        raise InvalidInput(_("Only a sent, failed or bounced invitation can be sent again."))
    if old.retry_at is not None:
        Invitation.objects.filter(pk=old.pk).update(retry_at=None)
    new = Invitation.objects.create(
        project_id=old.project_id,
        response=old.response,
        participant=old.participant,
        automated=old.automated,
        email=old.email,
        email_field=old.email_field,
        subject=old.subject,
        body=old.body,
        send_at=timezone.now(),
        created_by=context.actor,
    )
    _audit_scheduled(context, project, [new], f"resend of invitation {old.pk}")
    return new


def may_cancel(invitation: Invitation) -> bool:
    """Waiting to be sent (not claimed by a worker), or failed and waiting for another try."""
    if invitation.status == Invitation.Status.SCHEDULED:
        return invitation.sent_at is None
    return invitation.status == Invitation.Status.FAILED and invitation.retry_at is not None


def may_resend(invitation: Invitation) -> bool:
    resendable = (Invitation.Status.SENT, Invitation.Status.FAILED, Invitation.Status.BOUNCED)
    return invitation.status in resendable


# --- Reading: the log --------------------------------------------------------------------------


def invitations_visible(rights: Rights, project: Project) -> QuerySet[Invitation]:
    """The invitations of the project a member may see: a member of a data access group sees
    those of their group's records, and those of participants who have no record yet (they
    belong to no site until they answer, as on the participant list)."""
    rows = Invitation.objects.filter(project=project).select_related(
        "response__survey", "response__event", "response__record", "participant"
    )
    if rights.group_id is not None:
        rows = rows.filter(
            Q(response__record__group_id=rights.group_id) | Q(response__record__isnull=True)
        )
    return rows


def bounced_responses(response_ids: Iterable[int]) -> dict[int, str]:
    """The responses whose last e-mail tried bounced, with the mail server's reason (the
    participant list's badge). A later message that was sent clears it."""
    tried = (
        Invitation.objects.filter(response_id__in=list(response_ids))
        .exclude(status__in=[Invitation.Status.SCHEDULED, Invitation.Status.CANCELLED])
        .order_by("sent_at", "pk")
        .values_list("response_id", "status", "error")
    )
    last = {response_id: (status, error) for response_id, status, error in tried}
    return {
        pk: error for pk, (status, error) in last.items() if status == Invitation.Status.BOUNCED
    }


RESPONDED = "responded"
SENDING = "sending"
LOG_STATUSES = (
    Invitation.Status.SCHEDULED,
    SENDING,
    Invitation.Status.SENT,
    RESPONDED,
    Invitation.Status.FAILED,
    Invitation.Status.BOUNCED,
    Invitation.Status.CANCELLED,
)


def shown_status(invitation: Invitation) -> str:
    """The log's status: "responded" for a sent one whose response is completed, "sending"
    for a scheduled one a worker has claimed."""
    if invitation.status == Invitation.Status.SENT and _completed(invitation.response):
        return RESPONDED
    if invitation.status == Invitation.Status.SCHEDULED and invitation.sent_at is not None:
        return SENDING
    return str(invitation.status)


def _completed(response: SurveyResponse) -> bool:
    return response.status == SurveyResponse.Status.COMPLETED


def filter_by_status(rows: QuerySet[Invitation], status: str) -> QuerySet[Invitation]:
    completed = Q(response__status=SurveyResponse.Status.COMPLETED)
    if status == RESPONDED:
        return rows.filter(completed, status=Invitation.Status.SENT)
    if status == Invitation.Status.SENT:
        return rows.filter(status=status).exclude(completed)
    if status == SENDING:
        return rows.filter(status=Invitation.Status.SCHEDULED, sent_at__isnull=False)
    if status == Invitation.Status.SCHEDULED:
        return rows.filter(status=status, sent_at__isnull=True)
    return rows.filter(status=status)


# --- The message ------------------------------------------------------------------------------


def response_url(response: SurveyResponse) -> str:
    """The absolute link of a response (`/surveys/s/<token>/`)."""
    try:
        path = reverse("surveys_public:respond", args=[response.token])
    except NoReverseMatch:  # the public pages' URLs are not installed (a partial checkout)
        path = f"/surveys/s/{response.token}/"
    return site_link(path)


def access_code_url() -> str:
    """The absolute address of the page where a participant types an access code."""
    try:
        path = reverse("surveys_public:code")
    except NoReverseMatch:  # the public pages' URLs are not installed (a partial checkout)
        path = "/surveys/code/"
    return site_link(path)


@dataclass(frozen=True)
class Mail:
    """One message: `body` is the plain text, `html` the same text as an HTML page."""

    to: str
    subject: str
    body: str
    html: str = ""


def _marker() -> str:
    """A stand-in for a link while the HTML is escaped: random, so no piped value can forge
    one (and a forged one could only become the survey's own link)."""
    return f"\ue000{secrets.token_hex(8)}\ue001"


def mail_html(text: str, links: Mapping[str, str], *, subject: str, language: str) -> str:
    """The HTML part: `text` escaped whole, its blank lines made paragraphs and its line
    breaks `<br>`; only the markers of `links` become anchors to their addresses."""
    escaped = str(escape(text))
    for marker, url in links.items():
        escaped = escaped.replace(marker, format_html('<a href="{}">{}</a>', url, url))
    body = mark_safe(linebreaks(escaped))  # noqa: S308 - escaped above, anchors built safely
    context = {"body": body, "subject": subject, "language": language}
    return render_to_string("surveys/invitations/email.html", context)


class MessageBuilder:
    """Pipes invitations of one project: the record's values read once per batch."""

    def __init__(self, project: Project, invitations: Sequence[Invitation]) -> None:
        self.project = project
        self.design: ProjectDesign = design_of(project)
        self.rows = {row.field_name: row for row in self.design.rows}
        self.event_names = {event.pk: event.unique_name for event in self.design.events}
        records = {i.response.record_id for i in invitations if i.response.record_id}
        self.forms: dict[int, list[FormData]] = {}
        for form in FormData.objects.filter(project=project, record_id__in=records).order_by(
            "event_id", "form_name", "instance"
        ):
            self.forms.setdefault(form.record_id, []).append(form)

    def mail(self, invitation: Invitation) -> Mail:
        response = invitation.response
        url, code_url = response_url(response), access_code_url()
        pipe = self.piper(response)
        body = pipe.plain(invitation.body)
        link_mark, code_mark = _marker(), _marker()
        marks = {link_mark: url, code_mark: code_url}
        marked = self.piper(response, link=link_mark, code_url=code_mark).plain(invitation.body)
        if not any(variable in invitation.body for variable in LINK_VARIABLES):
            tail = f"\n\n{_('Open the survey here:')}\n"
            body = f"{body.rstrip()}{tail}{url}\n"
            marked = f"{marked.rstrip()}{tail}{link_mark}\n"
        subject = one_line(pipe.plain(invitation.subject))
        html = mail_html(marked, marks, subject=subject, language=get_language() or "")
        return Mail(invitation.email, subject, body, html)

    def piper(self, response: SurveyResponse, *, link: str = "", code_url: str = "") -> Piper:
        """The piper of a response's message; `link` and `code_url` stand in for the survey's
        link and the access-code page's address when given (the HTML part's markers)."""
        url = link or response_url(response)
        smart = {
            "survey-link": url,
            "survey-url": url,
            "survey-access-code": response.access_code,
            "survey-access-code-url": code_url or access_code_url(),
            "survey-title": response.survey.title,
            "event-name": self.event_names.get(response.event_id, ""),
            "record-name": response.record.record_id if response.record else "",
        }
        forms = self.forms.get(response.record_id or 0, [])
        values: dict[str, str] = {}
        for form in forms:
            if form.event_id == response.event_id and form.instance in (1, response.instance):
                values.update(form.values)
        if response.record is not None:
            values[self.design.record_id_field] = response.record.record_id
        data = record_data(
            (self.event_names[f.event_id], f.instance, f.values)
            for f in forms
            if f.event_id in self.event_names
        )
        return make_piper(self.rows, values, data=data, smart=smart)
