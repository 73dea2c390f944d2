"""Protected reads of the staff survey pages: settings (design right), distribution tools and
participant lists ("Manage survey participants" right), and a record's survey links.

A survey, event or participant of another project looks exactly like a missing one. A member
in a data access group sees only the links of their group's records (and participants who have
no record yet: they belong to no site until they answer).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import NotFound, PermissionDenied
from opencrf.dictionary.design import design_of
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Event, Project
from opencrf.projects.rights import Rights
from opencrf.records import selectors as record_selectors
from opencrf.surveys.models import Participant, Survey, SurveyResponse


def _require_surveys(project: Project) -> None:
    if not project.surveys_enabled:
        raise PermissionDenied(
            _("Surveys are not enabled in this project. Turn them on in the project settings.")
        )


def access_survey_design(user: User, project_id: int) -> Project:
    """The project if the user may change its surveys (the Project Design and Setup right)."""
    return project_selectors.access_project_design(user, project_id)


def access_survey(project: Project, survey_id: int) -> Survey:
    survey = Survey.objects.filter(project=project, pk=survey_id).first()
    if survey is None:
        raise NotFound(_("No such survey."))
    return survey


def access_distribution(user: User, project_id: int) -> tuple[Project, Rights]:
    """The project and the user's rights, for the Survey Distribution Tools."""
    project = project_selectors.access_project_with(user, project_id, "survey_participants")
    _require_surveys(project)
    return project, project_selectors.member_rights(user, project)


def survey_events(project: Project, survey: Survey) -> list[Event]:
    """The events that collect the survey's instrument, in the project's order."""
    design = design_of(project)
    return [event for event in design.events if design.has_form(project, event, survey.form_name)]


def access_survey_event(project: Project, survey: Survey, event_id: int | None) -> Event:
    """An event collecting the survey (the first when none is asked for); else NotFound."""
    events = survey_events(project, survey)
    if not events:
        raise NotFound(_("No event collects this survey."))
    if event_id is None:
        return events[0]
    found = next((event for event in events if event.pk == event_id), None)
    if found is None:
        raise NotFound(_("No such event for this survey."))
    return found


def public_survey(project: Project) -> tuple[Survey, Event] | None:
    """The survey with the public link: the first instrument at the first event, if a survey."""
    design = design_of(project)
    if not (project.surveys_enabled and design.instruments and design.events):
        return None
    first, event = design.instruments[0].name, design.events[0]
    survey = Survey.objects.filter(project=project, form_name=first).first()
    if survey is None or not design.has_form(project, event, first):
        return None
    return survey, event


def takes_new_participants(project: Project, survey: Survey, event: Event) -> bool:
    """Whether participants may be added to this list: as in REDCap, only to the public
    survey's, since a participant who answers there starts a new record."""
    public = public_survey(project)
    return public is not None and public[0].pk == survey.pk and public[1].pk == event.pk


@dataclass(frozen=True)
class ParticipantRow:
    """One line of a participant list: a person on the list, a record's link, or both."""

    response: SurveyResponse | None
    participant: Participant | None

    @property
    def status(self) -> str:
        return self.response.status if self.response else SurveyResponse.Status.NOT_STARTED

    @property
    def record_id(self) -> str:
        record = self.response.record if self.response else None
        return record.record_id if record is not None else ""

    @property
    def may_delete(self) -> bool:
        """REDCap deletes a participant only while nothing has been answered."""
        return self.participant is not None and self.status == SurveyResponse.Status.NOT_STARTED


def participant_rows(
    user: User, project: Project, survey: Survey, event: Event
) -> list[ParticipantRow]:
    """The participant list of a survey at an event, as the user may see it: the people added
    to it, then the records that have a link to it (in the order the links were made)."""
    visible = record_selectors.records_visible_to(user, project)
    people = list(Participant.objects.filter(survey=survey, event=event).order_by("pk"))
    answers: dict[int, SurveyResponse] = {}
    for response in (
        SurveyResponse.objects.filter(survey=survey, event=event, participant__in=people)
        .select_related("record")
        .order_by("-pk")
    ):
        assert response.participant_id is not None
        answers[response.participant_id] = response
    linked = {r.record_id for r in answers.values() if r.record_id is not None}
    seen = set(visible.filter(pk__in=linked).values_list("pk", flat=True))
    rows = [
        ParticipantRow(answers.get(p.pk), p)
        for p in people
        if p.pk not in answers or answers[p.pk].record_id in (None, *seen)
    ]
    records = (
        SurveyResponse.objects.filter(
            survey=survey, event=event, public=False, participant__isnull=True, record__in=visible
        )
        .select_related("record")
        .order_by("pk")
    )
    return rows + [ParticipantRow(response, None) for response in records]


def access_participant(
    user: User, project: Project, survey: Survey, event: Event, participant_id: int
) -> ParticipantRow:
    """One participant of the list, if the user sees them there; else NotFound."""
    for row in participant_rows(user, project, survey, event):
        if row.participant is not None and row.participant.pk == participant_id:
            return row
    raise NotFound(_("No such participant."))


@dataclass(frozen=True)
class RecordSurvey:
    """A survey form instance of a record at an event, with its link once one was made."""

    survey: Survey
    event: Event
    instance: int
    response: SurveyResponse | None
    may_open: bool  # the user may make and open the link (they may edit the form)


def record_surveys(
    project: Project, rights: Rights, record_id: int, events: list[Event]
) -> list[RecordSurvey]:
    """The survey forms of a record's events the user may see, with their responses."""
    if not project.surveys_enabled:
        return []
    surveys = [
        s for s in Survey.objects.filter(project=project) if rights.can_see_form(s.form_name)
    ]
    if not surveys:
        return []
    design = design_of(project)
    responses = {
        (r.survey_id, r.event_id, r.instance): r
        for r in SurveyResponse.objects.filter(project=project, record_id=record_id)
    }
    rows = []
    for event in events:
        for survey in surveys:
            if not design.has_form(project, event, survey.form_name):
                continue
            instances = sorted(
                {i for (s, e, i) in responses if s == survey.pk and e == event.pk} | {1}
            )
            rows += [
                RecordSurvey(
                    survey,
                    event,
                    instance,
                    responses.get((survey.pk, event.pk, instance)),
                    rights.can_edit_form(survey.form_name),
                )
                for instance in instances
            ]
    return rows
