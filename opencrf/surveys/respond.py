"""A participant answering a survey: its pages, its rules, and saving what they answer.

Every write of study data goes through `records.services` with the response's
`respondent_context`, and only to the one form instance the response names: the record, event
and instance come from the response, never from what was posted. A page is saved when the
participant leaves it (Next, Previous, Save and return later), with form status 0; the final
submit saves with status 2, as REDCap marks a completed survey.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.form_logic import RecordData, calculation_of
from opencrf.dictionary.rendering import (
    default_values,
    field_view,
    parse_action_tags,
    readonly_by_tag,
)
from opencrf.files.selectors import files_in_project
from opencrf.files.services import file_delete
from opencrf.logic import LogicError, Session, parse_shared
from opencrf.projects.models import Event, Project
from opencrf.records import services as record_services
from opencrf.records.bulk import FormWrite, FormWriter
from opencrf.records.errors import ValueProblem
from opencrf.records.locking import FormLocked
from opencrf.records.models import FormData, FormStatus, Record
from opencrf.records.selectors import form_data, record_arm_ids
from opencrf.records.values import required_warning
from opencrf.surveys.codes import new_token
from opencrf.surveys.invitations import COMPLETED as INVITATION_COMPLETED
from opencrf.surveys.models import Invitation, QueueLink, Survey, SurveyResponse
from opencrf.surveys.services import _retry_unique, response_link

# The audit trail's reason for a participant's change to their own answers (production
# projects that require a reason would otherwise refuse the second page of a survey).
RESPONDENT_REASON = "Survey response"
# The audit trail's reason for a file the participant replaced or removed.
REPLACED_REASON = "Replaced or removed by the survey respondent."


class SurveyClosed(InvalidInput):
    """The survey or this response no longer takes answers; `message` says why."""


@dataclass(frozen=True)
class RequiredMissing(Exception):
    """Required fields were left blank; nothing was saved."""

    problems: tuple[ValueProblem, ...]


# ---------------------------------------------------------------- pages


def survey_rows(survey: Survey, design: ProjectDesign | None = None) -> list[FieldRow]:
    """The rows a participant answers, numbered as the survey says (auto, custom or none):
    all but the record id (made by the study) and @HIDDEN-SURVEY fields."""
    design = design or design_of(survey.project)
    record_field = design.record_id_field
    rows = [
        row
        for row in design.form_rows(survey.form_name)
        if row.field_name != record_field
        and "@HIDDEN-SURVEY" not in parse_action_tags(row.field_annotation)
    ]
    numbered: list[FieldRow] = []
    number = 0
    for row in rows:
        if survey.numbering == Survey.Numbering.AUTO:
            if row.field_type == "descriptive":
                label = ""
            else:
                number += 1
                label = f"{number})"
        elif survey.numbering == Survey.Numbering.CUSTOM:
            label = row.question_number
        else:
            label = ""
        numbered.append(dataclasses.replace(row, question_number=label))
    return numbered


def survey_pages(survey: Survey, rows: Sequence[FieldRow]) -> list[list[FieldRow]]:
    """The rows of each page: all on one page, or a new page at each section header."""
    if survey.paging != Survey.Paging.SECTIONS:
        return [list(rows)]
    pages: list[list[FieldRow]] = []
    for row in rows:
        if not pages or (row.section_header and pages[-1]):
            pages.append([])
        pages[-1].append(row)
    return pages or [[]]


def posted_values(rows: Sequence[FieldRow], post: Mapping[str, str]) -> dict[str, str]:
    """The page's answers as posted: only this page's own inputs (unticked boxes are "0");
    anything else in the POST (a record id, an event, other forms' fields, a file id) is
    ignored. File fields take their values from uploads only (`surveys.uploads`)."""
    values: dict[str, str] = {}
    for row in rows:
        view = field_view(row)
        if view.input_kind in {"calc", "descriptive", "file", "record_id"} or view.readonly:
            continue
        if view.input_kind == "checkbox":
            values.update({c: "1" if post.get(c) else "0" for c in view.checkbox_columns})
        else:
            values[row.field_name] = str(post.get(row.field_name, ""))
    return values


# ---------------------------------------------------------------- rules


def completed_count(survey: Survey) -> int:
    return SurveyResponse.objects.filter(
        survey=survey, status=SurveyResponse.Status.COMPLETED
    ).count()


def response_language(response: SurveyResponse) -> str:
    """The language of the response's pages: the participant's choice, else the survey's."""
    return response.language or response.survey.language


def survey_refusal(survey: Survey, *, now: datetime | None = None) -> str:
    """Why the survey takes no new answers at all, in the survey's language; "" when it does."""
    with translation.override(survey.language):
        return _survey_refusal(survey, now=now)


def _survey_refusal(survey: Survey, *, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if not survey.active:
        return _("This survey is not accepting responses at the moment.")
    if survey.expires_at is not None and now >= survey.expires_at:
        return _("This survey has closed.")
    if survey.response_limit is not None and completed_count(survey) >= survey.response_limit:
        return survey.response_limit_message or _(
            "This survey has reached its limit of responses and is now closed."
        )
    return ""


def response_refusal(response: SurveyResponse, *, now: datetime | None = None) -> str:
    """Why this response cannot be opened, in the language of its pages; "" when it can
    (REDCap's rules for links)."""
    with translation.override(response_language(response)):
        return _response_refusal(response, now=now)


def _response_refusal(response: SurveyResponse, *, now: datetime | None = None) -> str:
    now = now or timezone.now()
    survey = response.survey
    completed = response.status == SurveyResponse.Status.COMPLETED
    if completed and not survey.edit_completed:
        return _("Thank you. You have already completed this survey.")
    if response.link_expires_at is not None and now >= response.link_expires_at:
        return _("The time allowed for answering this survey has run out.")
    if not survey.active:
        return _("This survey is not accepting responses at the moment.")
    if survey.expires_at is not None and now >= survey.expires_at:
        return _("This survey has closed.")
    if (
        not completed
        and survey.response_limit is not None
        and completed_count(survey) >= survey.response_limit
    ):
        return survey.response_limit_message or _(
            "This survey has reached its limit of responses and is now closed."
        )
    return ""


def public_refusal(survey: Survey) -> str:
    """Why the survey's public link cannot start a response, in the survey's language; ""
    when it can."""
    if not survey.project.record_autonumbering:
        with translation.override(survey.language):
            return _(
                "This survey cannot be started from its public link, because the study does "
                "not number its records automatically. Please use the link you were sent."
            )
    return survey_refusal(survey)


def public_event(survey: Survey) -> Event | None:
    """The event a public link's responses are at: the first event (REDCap: the public link
    is the first instrument's at the first event); None when the survey has no public link."""
    design = design_of(survey.project)
    if not design.instruments or design.instruments[0].name != survey.form_name:
        return None
    if not design.events:
        return None
    first = design.events[0]
    return first if design.has_form(survey.project, first, survey.form_name) else None


# ---------------------------------------------------------------- saving


def _locked(response: SurveyResponse) -> SurveyResponse:
    return (
        SurveyResponse.objects.select_for_update(of=("self",))
        .select_related("survey", "project", "event", "record")
        .get(pk=response.pk)
    )


def _write(
    response: SurveyResponse, context: AuditContext, values: Mapping[str, str], status: int
) -> record_services.SaveResult:
    """Save to the response's form; a locked form or record closes the response, in words
    that name no record (a participant must not learn record ids)."""
    try:
        return _save(response, context, values, status)
    except FormLocked:
        with translation.override(response_language(response)):
            raise SurveyClosed(
                _("These answers can no longer be changed. Please contact the study team.")
            ) from None


def _save(
    response: SurveyResponse, context: AuditContext, values: Mapping[str, str], status: int
) -> record_services.SaveResult:
    survey = response.survey
    if response.record is None:
        # Public respondents create records at once: numbering one at a time per project keeps
        # two of them from drawing the same next record id (which records' save would refuse).
        Project.objects.select_for_update().filter(pk=response.project_id).first()
        record, result = record_services.record_create_with_form(
            context=context,
            project=response.project,
            record_id=None,
            arm=response.event.arm,
            event=response.event,
            form_name=survey.form_name,
            values=values,
            status=status,
        )
        response.record = record
        return result
    return record_services.form_save(
        context=context,
        record=response.record,
        event=response.event,
        form_name=survey.form_name,
        instance=response.instance,
        values=values,
        status=status,
        base_version=None,
        reason=RESPONDENT_REASON,
    )


def answers_save(
    response: SurveyResponse,
    *,
    context: AuditContext,
    values: Mapping[str, str],
    page: int,
    required: Sequence[str] = (),
    complete: bool = False,
    address: str = "",
    files: Sequence[str] = (),
) -> SurveyResponse:
    """Save one page's answers to the response's own form instance.

    `required` names the fields whose blank answer refuses the save (RequiredMissing; the
    fields the participant was shown, as the save's branching logic decides); `complete`
    marks the form complete (status 2) and the response completed; `files` names the page's
    file fields, whose replaced or removed files are marked deleted with the save. Raises
    SurveyClosed when the response may no longer be answered, InvalidValues for refused
    values: then nothing is written, record included.
    """
    with transaction.atomic():
        locked = _locked(response)
        refusal = response_refusal(locked)
        if refusal:
            raise SurveyClosed(refusal)
        was_completed = locked.status == SurveyResponse.Status.COMPLETED
        status = FormStatus.COMPLETE if complete or was_completed else FormStatus.INCOMPLETE
        result = _write(locked, context, values, int(status))
        wanted = set(required)
        missing = tuple(w for w in result.warnings if w.rule == "required" and w.field in wanted)
        if missing:
            raise RequiredMissing(missing)
        _replaced_delete(context, locked, files, result.changes)
        now = timezone.now()
        locked.started_at = locked.started_at or now
        locked.page = max(1, min(page, 32767))
        if complete or was_completed:
            locked.status = SurveyResponse.Status.COMPLETED
            locked.completed_at = locked.completed_at if was_completed else now
            _invitations_cancel(locked)
        else:
            locked.status = SurveyResponse.Status.PARTIAL
        if locked.project.survey_ip_recorded and address:
            locked.ip_address = address
        locked.save()
    return locked


def _replaced_delete(
    context: AuditContext,
    response: SurveyResponse,
    names: Sequence[str],
    changes: Mapping[str, Sequence[str]],
) -> None:
    """Mark deleted the files that the save replaced or removed in the page's file fields."""
    old = [
        int(changes[name][0])
        for name in names
        if name in changes and changes[name][0].isascii() and changes[name][0].isdigit()
    ]
    for stored_file in files_in_project(response.project, old).values():
        file_delete(context=context, stored_file=stored_file, reason=REPLACED_REASON)


def response_complete(response: SurveyResponse, *, context: AuditContext) -> SurveyResponse:
    """Mark the response completed and its form complete (status 2): the end of a survey,
    called by the final submit, or by the e-consent page once the participant confirms."""
    with transaction.atomic():
        locked = _locked(response)
        if locked.status == SurveyResponse.Status.COMPLETED and not locked.survey.edit_completed:
            with translation.override(response_language(locked)):
                raise SurveyClosed(_("Thank you. You have already completed this survey."))
        _write(locked, context, {}, int(FormStatus.COMPLETE))
        now = timezone.now()
        locked.started_at = locked.started_at or now
        if locked.status != SurveyResponse.Status.COMPLETED:
            locked.completed_at = now
        locked.status = SurveyResponse.Status.COMPLETED
        locked.save()
        _invitations_cancel(locked)
    return locked


def _invitations_cancel(response: SurveyResponse) -> None:
    """A completed response needs no more e-mails: its scheduled invitations and reminders
    are cancelled (with the reason the invitation log shows, as the send job gives it)."""
    Invitation.objects.filter(response=response, status=Invitation.Status.SCHEDULED).update(
        status=Invitation.Status.CANCELLED, error=INVITATION_COMPLETED, sent_at=None
    )


def required_unanswered(response: SurveyResponse, *, context: AuditContext) -> list[ValueProblem]:
    """The survey's required questions that the stored answers leave blank, by the very rule
    a page's save applies (`answers_save`, through records' `form_save`: a required field the
    branching logic shows, calculations aside, read from the form as a save would leave it,
    a new form's read-only @DEFAULT included). Nothing is written: records' writer works out
    the save (`FormWriter.plan`) and nothing is persisted. A response without a record has
    answered nothing: every required question of its survey."""
    rows = survey_rows(response.survey)
    if response.record is None:
        blank = (required_warning(row, {}) for row in rows)
        return [warning for warning in blank if warning is not None]
    project, event = response.project, response.event
    design = design_of(project)
    form_name = response.survey.form_name
    form_rows = design.form_rows(form_name)
    stored = form_data(response.record, event, form_name, response.instance)
    submitted = {} if stored is not None else _readonly_defaults(form_rows)
    writer = FormWriter(context, project, design, RESPONDENT_REASON, visibility=True)
    write = FormWrite(response.record, event, form_name, response.instance, submitted)
    planned = writer.plan([write])[0]
    shown = planned.shown or {}
    asked = [
        row
        for row in form_rows
        if row.field_name != design.record_id_field
        and shown.get(row.field_name)
        and not calculation_of(row)[0]
    ]
    warnings = (required_warning(row, planned.values) for row in asked)
    return missing_required(rows, [warning for warning in warnings if warning is not None])


def _readonly_defaults(rows: Sequence[FieldRow]) -> dict[str, str]:
    """@DEFAULT, @TODAY and @NOW of read-only fields, which a new form's save stores."""
    return default_values([row for row in rows if readonly_by_tag(row)], now=timezone.localtime())


def missing_required(
    rows: Sequence[FieldRow], problems: Sequence[ValueProblem]
) -> list[ValueProblem]:
    names = {row.field_name for row in rows}
    return [p for p in problems if p.rule == "required" and p.field in names]


# ---------------------------------------------------------------- after a survey


def next_survey(response: SurveyResponse) -> SurveyResponse | None:
    """Auto-continue: the link of the next instrument at the same event that is a survey,
    when the participant has not completed it yet."""
    if response.record is None:
        return None
    project = response.project
    design = design_of(project)
    names = [instrument.name for instrument in design.instruments]
    if response.survey.form_name not in names:
        return None
    later = names[names.index(response.survey.form_name) + 1 :]
    surveys = {s.form_name: s for s in Survey.objects.filter(project=project, form_name__in=later)}
    for name in later:
        survey = surveys.get(name)
        if survey is None or not design.has_form(project, response.event, name):
            continue
        link = response_link(survey=survey, record=response.record, event=response.event)
        if link.status != SurveyResponse.Status.COMPLETED and not response_refusal(link):
            return link
    return None


@dataclass(frozen=True)
class QueueEntry:
    """One survey of a record's survey queue."""

    survey: Survey
    event: Event
    response: SurveyResponse
    show_event: bool

    @property
    def completed(self) -> bool:
        return self.response.status == SurveyResponse.Status.COMPLETED


def queue_link(record: Record) -> QueueLink:
    """The record's survey queue link, made when first asked for."""
    found = QueueLink.objects.filter(record=record).first()
    if found is not None:
        return found
    return _retry_unique(
        lambda: QueueLink.objects.get_or_create(
            record=record, defaults={"project_id": record.project_id, "token": new_token()}
        )[0]
    )


def queue_enabled(project_id: int) -> bool:
    return Survey.objects.filter(project_id=project_id, queue_enabled=True).exists()


def _record_values(record: Record) -> dict[tuple[int, int], dict[str, str]]:
    """The record's values (form statuses included) by (event id, instance)."""
    by_event: dict[tuple[int, int], dict[str, str]] = {}
    for form in FormData.objects.filter(record=record):
        values = by_event.setdefault((form.event_id, form.instance), {})
        values.update(form.values)
        values[f"{form.form_name}_complete"] = str(form.status)
    return by_event


def _logic_true(
    logic: str, record: Record, event: Event, values: Mapping[str, str], data: RecordData
) -> bool:
    try:
        ast = parse_shared(logic)
        context = {"record": record.record_id, "event": event.unique_name, "data": data}
        return bool(Session(values, context).evaluate(ast, "logic"))
    except LogicError:
        return False


def _completed_before(
    form_name: str, event: Event, completed: set[tuple[str, int]], project: Project
) -> bool:
    """Whether the survey to follow is completed: at the same event when that event collects
    it, else at any event (a consent survey at screening, then questionnaires at each visit)."""
    if design_of(project).has_form(project, event, form_name):
        return (form_name, event.pk) in completed
    return any(name == form_name for name, _event_id in completed)


def survey_queue(record: Record) -> list[QueueEntry]:
    """The record's surveys in the queue (REDCap's survey queue): those it completed, and
    those now due: whose survey to follow is completed (see `_completed_before`) and whose
    logic is true."""
    project = record.project
    design = design_of(project)
    queued = list(Survey.objects.filter(project=project, queue_enabled=True, active=True))
    if not queued:
        return []
    arm_ids = record_arm_ids(record)
    events = [event for event in design.events if event.arm_id in arm_ids]
    by_event = _record_values(record)
    data: RecordData = {}
    names = {event.pk: event.unique_name for event in design.events}
    for (event_id, instance), values in by_event.items():
        if event_id in names:
            data.setdefault(names[event_id], {})[str(instance)] = values
    completed = set(
        SurveyResponse.objects.filter(
            record=record, status=SurveyResponse.Status.COMPLETED
        ).values_list("survey__form_name", "event_id")
    )
    order = {instrument.name: i for i, instrument in enumerate(design.instruments)}
    entries: list[QueueEntry] = []
    for event in events:
        for survey in sorted(queued, key=lambda s: order.get(s.form_name, 0)):
            if not design.has_form(project, event, survey.form_name):
                continue
            if (survey.form_name, event.pk) in completed:
                # Completed surveys stay in the queue, marked so (REDCap), whatever their
                # condition says now.
                link = response_link(survey=survey, record=record, event=event)
                entries.append(QueueEntry(survey, event, link, project.is_longitudinal))
                continue
            if survey.queue_after and not _completed_before(
                survey.queue_after, event, completed, project
            ):
                continue
            values = by_event.get((event.pk, 1), {})
            if survey.queue_logic.strip() and not _logic_true(
                survey.queue_logic, record, event, values, data
            ):
                continue
            if not survey.queue_after and not survey.queue_logic.strip():
                continue  # REDCap: a survey in the queue needs a condition to be due
            link = response_link(survey=survey, record=record, event=event)
            entries.append(QueueEntry(survey, event, link, project.is_longitudinal))
    return entries


def queue_start(entries: Sequence[QueueEntry]) -> SurveyResponse | None:
    """The survey to start at once: the first due and unfinished one that auto-starts."""
    for entry in entries:
        if not entry.completed:
            if entry.survey.queue_auto_start and not response_refusal(entry.response):
                return entry.response
            return None
    return None
