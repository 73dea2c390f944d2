"""Surveys in the API (spec §2.23): `surveyLink`, `surveyQueueLink`, `surveyAccessCode`,
`surveyReturnCode` and `participantList`, answered as REDCap answers them.

REDCap's checks, in its order and with its texts: the API export right, surveys enabled,
the "Manage Survey Participants" right (403), then `record` (missing; not found — a record
of another data access group is not found either), `instrument` (missing; "Invalid
instrument"; not a survey), `event` in longitudinal projects (missing; "Invalid event"; the
instrument not designated for it) and `repeat_instance` (1 unless the form or event
repeats). Links and codes are bare text; the participant list a table in `format`.
Each export is audited, as REDCap logs "Download survey link (API)".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError, forbidden
from opencrf.api.formats import CONTENT_TYPES, XML_DECLARATION, plain_response, table_response
from opencrf.audit.services import audit_event_create
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.projects.models import Event, Project
from opencrf.records.auditing import record_target
from opencrf.records.models import Record
from opencrf.records.selectors import records_visible_to
from opencrf.surveys.interchange import (
    participant_columns,
    participant_rows,
    queue_url,
    response_url,
)
from opencrf.surveys.models import Survey, SurveyResponse
from opencrf.surveys.respond import queue_enabled
from opencrf.surveys.services import response_link, return_code_issue

SURVEYS_OFF = "Surveys have not been enabled in this project"
NO_PARTICIPANTS_RIGHT = (
    'The API request cannot complete because currently you do not have "Manage Survey '
    'Participants" privileges, which are required for this operation.'
)
QUEUE_OFF = (
    "The Survey Queue has not been enabled in this project. You will need to enable the "
    "Survey Queue before using this method."
)
NO_RETURN = "The 'Save & Return Later' feature has not been enabled for this survey"
MAX_INSTANCE = 2_147_483_647


def may_manage_participants(call: Call) -> bool:
    """REDCap's "Manage Survey Participants" right of the token's user."""
    return bool(call.rights.survey_participants)


def _php_escape(text: str) -> str:
    """PHP's htmlspecialchars with ENT_QUOTES, as REDCap escapes names in its messages."""
    return (
        text.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("'", "&#039;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _project(call: Call) -> Project:
    call.require_export()
    project = call.project
    assert project is not None
    if not project.surveys_enabled:
        raise ApiError(SURVEYS_OFF)
    if not may_manage_participants(call):
        raise forbidden(NO_PARTICIPANTS_RIGHT)
    return project


def _record(call: Call, project: Project) -> Record:
    name = call.params.text("record")
    if name == "":
        raise ApiError("The parameter 'record' is missing")
    record = records_visible_to(call.user, project).filter(record_id=name).first()
    if record is None:  # missing, or of another data access group: the same answer
        raise ApiError(f'The record "{_php_escape(name)}" does not exist')
    return record


def _survey(call: Call, project: Project, *, quoted: bool = False) -> Survey:
    name = call.params.text("instrument")
    if name == "":
        raise ApiError("The parameter 'instrument' is missing")
    if name not in {i.name for i in design_of(project).instruments}:
        raise ApiError("Invalid instrument")
    survey = Survey.objects.filter(project=project, form_name=name).first()
    if survey is None:
        shown = f'"{_php_escape(name)}"' if quoted else f"'{name}'"
        raise ApiError(f"The instrument {shown} has not been enabled as a survey")
    return survey


def _event(call: Call, project: Project, design: ProjectDesign, survey: Survey) -> Event:
    """The event named (longitudinal) or the project's only one; the form must be there."""
    if not project.is_longitudinal:
        if not design.events:
            raise ApiError("Invalid event")
        return design.events[0]
    name = call.params.text("event")
    if name == "":
        raise ApiError("The parameter 'event' is missing")
    event = next((e for e in design.events if e.unique_name == name), None)
    if event is None:
        raise ApiError("Invalid event")
    if not design.has_form(project, event, survey.form_name):
        raise ApiError(
            f'The instrument "{_php_escape(survey.form_name)}" has not been designated for '
            f'the event "{_php_escape(name)}"'
        )
    return event


def _instance(call: Call, design: ProjectDesign, event: Event, survey: Survey) -> int:
    """`repeat_instance` when the form or event repeats; 1 otherwise, or when it is not a
    positive whole number (REDCap's reading)."""
    text = call.params.text("repeat_instance")
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else 1
    if number < 1:
        number = 1
    if number > MAX_INSTANCE:
        raise ApiError('The value of the parameter "repeat_instance" is not valid')
    repeats = design.repeats_form(event, survey.form_name) or "" in design.repeating_at(event)
    return number if repeats else 1


def _response(call: Call, *, quoted: bool = False) -> tuple[SurveyResponse, Project]:
    project = _project(call)
    record = _record(call, project)
    survey = _survey(call, project, quoted=quoted)
    design = design_of(project)
    event = _event(call, project, design, survey)
    instance = _instance(call, design, event, survey)
    return response_link(survey=survey, record=record, event=event, instance=instance), project


def _audit(call: Call, response: SurveyResponse, action: str, what: str) -> None:
    assert response.record is not None
    target = record_target(response.record, response.event, response.survey.form_name)
    audit_event_create(
        context=call.context,
        project_id=response.project_id,
        action=action,
        target=target,
        details=f"{what} (API): {response.survey.form_name}, instance {response.instance}",
    )


@transaction.atomic
def survey_link(call: Call) -> HttpResponseBase:
    response, _project = _response(call)
    _audit(call, response, "survey.link_export", "Download survey link")
    return plain_response(response_url(response))


@transaction.atomic
def survey_access_code(call: Call) -> HttpResponseBase:
    response, _project = _response(call)
    _audit(call, response, "survey.access_code_export", "Download survey access code")
    return plain_response(response.access_code)


@transaction.atomic
def survey_return_code(call: Call) -> HttpResponseBase:
    project = _project(call)
    record = _record(call, project)
    survey = _survey(call, project, quoted=True)
    design = design_of(project)
    event = _event(call, project, design, survey)
    instance = _instance(call, design, event, survey)
    if not survey.save_and_return:
        raise ApiError(NO_RETURN)
    response = response_link(survey=survey, record=record, event=event, instance=instance)
    code = return_code_issue(response)
    _audit(call, response, "survey.return_code_export", "Download survey return code")
    return plain_response(code)


@transaction.atomic
def survey_queue_link(call: Call) -> HttpResponseBase:
    project = _project(call)
    record = _record(call, project)
    if not queue_enabled(project.pk):
        raise ApiError(QUEUE_OFF)
    link = queue_url(record)
    audit_event_create(
        context=call.context,
        project_id=project.pk,
        action="survey.queue_link_export",
        target=record_target(record),
        details="Download survey queue link (API)",
    )
    return plain_response(link)


@transaction.atomic
def participant_list(call: Call) -> HttpResponseBase:
    project = _project(call)
    survey = _survey(call, project)
    design = design_of(project)
    event = _participant_event(call, project, design)
    columns = participant_columns(survey, event)
    rows: list[dict[str, Any]] = []
    if design.has_form(project, event, survey.form_name):
        records = (
            records_visible_to(call.user, project)
            .filter(arm_links__arm_id=event.arm_id)
            .order_by("sort_key", "pk")
            .distinct()
        )
        rows = list(participant_rows(survey, event, records, columns))
    audit_event_create(
        context=call.context,
        project_id=project.pk,
        action="survey.participants_export",
        details=f"Download survey participant list (API): {survey.form_name}, {event.unique_name}",
    )
    if call.format == "xml":
        return _participants_xml(columns.header, rows)
    return table_response(call.format, columns.header, rows)


def _participant_event(call: Call, project: Project, design: ProjectDesign) -> Event:
    if not project.is_longitudinal:
        if not design.events:
            raise ApiError("Invalid event")
        return design.events[0]
    name = call.params.text("event")
    if name == "":
        raise ApiError("The parameter 'event' is missing")
    event = next((e for e in design.events if e.unique_name == name), None)
    if event is None:
        raise ApiError("Invalid event")
    return event


def _cdata(value: Any) -> str:
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _participants_xml(
    header: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> StreamingHttpResponse:
    """REDCap's XML of the participant list: `<participants>` of `<participant>`s."""

    def lines() -> Iterator[str]:
        yield f"{XML_DECLARATION}\n<participants>\n"
        for row in rows:
            cells = "".join(f"<{name}>{_cdata(row.get(name, ''))}</{name}>" for name in header)
            yield f"<participant>{cells}</participant>\n"
        yield "</participants>"

    return StreamingHttpResponse(lines(), content_type=CONTENT_TYPES["xml"])
