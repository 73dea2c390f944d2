"""Surveys as other programs see them: absolute links, the participant list's rows (REDCap's
API `participantList`), and the hooks by which records' exports and Project XML reach
surveys (records may not import surveys; `SurveysConfig.ready` calls `register`).

Links are absolute, on the configured site address (`OPENCRF_SITE_URL`), so that a link an
API client or an e-mail hands to a participant opens behind a proxy too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from opencrf.dictionary.design import design_of
from opencrf.projects.models import Event
from opencrf.records.models import FormData, Record
from opencrf.surveys.invitations import record_email
from opencrf.surveys.models import Invitation, Participant, Survey, SurveyResponse
from opencrf.surveys.respond import queue_enabled, queue_link
from opencrf.surveys.services import response_link

RESPONSE_STATUS: dict[str, int] = {
    SurveyResponse.Status.NOT_STARTED: 0,
    SurveyResponse.Status.PARTIAL: 1,
    SurveyResponse.Status.COMPLETED: 2,
}


def site_url(path: str) -> str:
    return f"{settings.OPENCRF_SITE_URL}{path}"


def _public_path(name: str, token: str, fallback: str) -> str:
    """The path of a public survey page by its URL name (the public pages' own URLs), or the
    documented shape when those pages are not installed."""
    try:
        return reverse(f"surveys_public:{name}", args=[token])
    except NoReverseMatch:
        return fallback


def response_url(response: SurveyResponse) -> str:
    """A response's link: `<site>/surveys/s/<token>/`."""
    return site_url(_public_path("respond", response.token, f"/surveys/s/{response.token}/"))


def queue_url(record: Record) -> str:
    """The link to a record's survey queue: `<site>/surveys/q/<token>/`."""
    token = queue_link(record).token
    return site_url(_public_path("queue", token, f"/surveys/q/{token}/"))


# --- The participant list ------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantColumns:
    """Which of REDCap's optional columns the list has."""

    repeating: bool  # the survey repeats at the event: `repeat_instance`
    time_limit: bool  # the survey has a time limit: `survey_link_expiration`
    queue: bool  # the project has a survey queue: `survey_queue_link`

    @property
    def header(self) -> list[str]:
        names = ["email", "email_occurrence", "identifier", "record"]
        if self.repeating:
            names.append("repeat_instance")
        names += ["invitation_sent_status", "invitation_send_time", "response_status"]
        names.append("survey_access_code")
        if self.time_limit:
            names.append("survey_link_expiration")
        names.append("survey_link")
        if self.queue:
            names.append("survey_queue_link")
        return names


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def participant_columns(survey: Survey, event: Event) -> ParticipantColumns:
    design = design_of(survey.project)
    return ParticipantColumns(
        repeating=design.repeats_form(event, survey.form_name) or "" in design.repeating_at(event),
        time_limit=bool(survey.time_limit_minutes),
        queue=queue_enabled(survey.project_id),
    )


def participant_rows(
    survey: Survey, event: Event, records: Iterable[Record], columns: ParticipantColumns
) -> Iterator[dict[str, Any]]:
    """REDCap's participant list of a survey at an event, as the API gives it.

    Every record given (those the caller may see, in the event's arm) has a row per response
    of the survey at the event (instance 1 made when it has none, as REDCap makes the
    record's link when listing); participants invited without a record follow. As in
    REDCap, `record` shows only for a participant with an identifier (an anonymous
    participant's answers are not tied to their e-mail here), and the link and access code
    of a completed response are blank unless respondents may edit completed responses.

    `email` is the list's address, or for a record invited at an e-mail field (composed or
    automated) that field's value now — REDCap's participant e-mail from the designated
    field — else the address it was invited at. `invitation_sent_status` is 1 once an
    e-mail was sent; `invitation_send_time` the time the next one will be sent (a
    scheduled invitation or reminder, or the next try of a failed one), blank when none
    is due, as REDCap's API documentation says."""
    records = list(records)
    responses: dict[int, list[SurveyResponse]] = {}
    found = SurveyResponse.objects.filter(
        survey=survey, event=event, record__in=[r.pk for r in records]
    ).select_related("participant", "record")
    for each in found.order_by("instance", "pk"):
        assert each.record_id is not None
        responses.setdefault(each.record_id, []).append(each)
    rows: list[tuple[SurveyResponse | None, Participant | None, Record | None]] = []
    for one in records:
        mine = responses.get(one.pk)
        if not mine:
            mine = [response_link(survey=survey, record=one, event=event)]
        rows += [(each, each.participant, one) for each in mine]
    listed = {p.pk for _r, p, _rec in rows if p is not None}
    waiting = Participant.objects.filter(survey=survey, event=event).exclude(pk__in=listed)
    for person in waiting.order_by("pk"):
        unlinked = person.responses.filter(record__isnull=True).order_by("pk").first()
        rows.append((unlinked, person, None))
    invitations = _invitations([r for r, _p, _rec in rows if r is not None])
    addresses = [_address(r, p, invitations) for r, p, _rec in rows]
    emails: dict[str, int] = {}
    for address in addresses:
        if address:
            emails[address.lower()] = emails.get(address.lower(), 0) + 1
    seen: dict[str, int] = {}
    hidden = survey.edit_completed is False
    queue_links: dict[int, str] = {}
    for (response, participant, record), email in zip(rows, addresses, strict=True):
        identifier = participant.identifier if participant else ""
        key = email.lower()
        occurrence = 1
        if key and emails[key] > 1:
            seen[key] = seen.get(key, 0) + 1
            occurrence = seen[key]
        status = RESPONSE_STATUS.get(response.status, 0) if response else 0
        done = status == 2 and hidden
        invited = invitations.get(response.pk) if response else None
        sent, scheduled = (invited.sent, invited.due) if invited else (0, None)
        row: dict[str, Any] = {
            "email": email,
            "email_occurrence": occurrence,
            "identifier": identifier,
            "record": record.record_id if record is not None and identifier else "",
        }
        if columns.repeating:
            row["repeat_instance"] = response.instance if response else 1
        row["invitation_sent_status"] = sent
        row["invitation_send_time"] = _when(scheduled)
        row["response_status"] = status
        row["survey_access_code"] = "" if done or response is None else response.access_code
        if columns.time_limit:
            row["survey_link_expiration"] = _when(response.link_expires_at) if response else ""
        row["survey_link"] = "" if done or response is None else response_url(response)
        if columns.queue:
            link = ""
            if record is not None:
                if record.pk not in queue_links:
                    queue_links[record.pk] = queue_url(record)
                link = queue_links[record.pk]
            row["survey_queue_link"] = link
        yield row


@dataclass
class _Invited:
    """What a response's invitations say: sent (1/0), when the next is due, and the address
    (and record field) of the latest one."""

    sent: int = 0
    due: datetime | None = None
    email: str = ""
    email_field: str = ""


def _invitations(responses: list[SurveyResponse]) -> dict[int, _Invited]:
    found: dict[int, _Invited] = {}
    rows = Invitation.objects.filter(response__in=[r.pk for r in responses]).values_list(
        "response_id", "status", "send_at", "retry_at", "email", "email_field"
    )
    for response_id, status, send_at, retry_at, email, field in rows.order_by("created_at", "pk"):
        invited = found.setdefault(response_id, _Invited())
        if status == Invitation.Status.SENT:
            invited.sent = 1
        due = send_at if status == Invitation.Status.SCHEDULED else retry_at
        if due is not None and (invited.due is None or due < invited.due):
            invited.due = due
        if email:
            invited.email, invited.email_field = email, field
    _read_fields(responses, found)
    return found


def _read_fields(responses: list[SurveyResponse], found: dict[int, _Invited]) -> None:
    """Replace each record's invited address by its e-mail field's value now, when valid."""
    fields = {r.record_id: found[r.pk].email_field for r in responses if r.pk in found}
    wanted = {record: field for record, field in fields.items() if record and field}
    if not wanted:
        return
    values: dict[int, list[dict[str, str]]] = {}
    forms = FormData.objects.filter(record_id__in=list(wanted)).order_by("event_id", "instance")
    for record_pk, form_values in forms.values_list("record_id", "values"):
        values.setdefault(record_pk, []).append(form_values)
    for response in responses:
        invited = found.get(response.pk)
        if invited is None or response.record_id not in wanted:
            continue
        now = record_email(values.get(response.record_id, []), invited.email_field)
        invited.email = now or invited.email


def _address(
    response: SurveyResponse | None, participant: Participant | None, found: dict[int, _Invited]
) -> str:
    """The row's e-mail: the list's, else the one the record is invited at."""
    if participant is not None and participant.email:
        return participant.email
    invited = found.get(response.pk) if response is not None else None
    return invited.email if invited is not None else ""


# --- Hooks -------------------------------------------------------------------------------------


def register() -> None:
    """Survey columns in records' exports, and surveys in Project XML."""
    from opencrf.records.export import column_extension_register
    from opencrf.records.project_xml import project_xml_part_register
    from opencrf.surveys.export_fields import EXTENSION, survey_fields
    from opencrf.surveys.project_xml import SURVEYS_PART

    column_extension_register(EXTENSION, survey_fields)
    project_xml_part_register(SURVEYS_PART)
