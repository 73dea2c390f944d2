"""Protected reads of surveys: staff access goes through project rights; participants reach
only the response their link or code names."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import NotFound
from opencrf.projects.models import Event, Project
from opencrf.records.models import Record
from opencrf.surveys.codes import normalise_code
from opencrf.surveys.models import Survey, SurveyResponse


def project_surveys(project: Project) -> QuerySet[Survey]:
    return Survey.objects.filter(project=project)


def survey_of_form(project: Project, form_name: str) -> Survey | None:
    """The survey settings of an instrument, or None when it is not a survey."""
    if not project.surveys_enabled:
        return None
    return Survey.objects.filter(project=project, form_name=form_name).first()


def survey_by_public_token(token: str) -> Survey:
    """The survey of a public link; a missing or disabled one is not found."""
    survey = (
        Survey.objects.select_related("project")
        .filter(public_token=token, project__surveys_enabled=True, project__deleted_at__isnull=True)
        .first()
    )
    if survey is None or not token:
        raise NotFound(_("This survey link is not valid."))
    return survey


def response_by_token(token: str) -> SurveyResponse:
    """The response a participant's link names; nothing else is reachable from it."""
    response = (
        SurveyResponse.objects.select_related("survey", "project", "record", "event")
        .filter(token=token, project__surveys_enabled=True, project__deleted_at__isnull=True)
        .first()
    )
    if response is None or not token:
        raise NotFound(_("This survey link is not valid."))
    return response


def response_by_access_code(code: str) -> SurveyResponse:
    response = (
        SurveyResponse.objects.select_related("survey", "project")
        .filter(
            access_code=normalise_code(code),
            project__surveys_enabled=True,
            project__deleted_at__isnull=True,
        )
        .first()
    )
    if response is None or not code:
        raise NotFound(_("No survey has this access code."))
    return response


def record_responses(user: User, project: Project, record: Record) -> QuerySet[SurveyResponse]:
    """The survey responses of a record the user may already see (the caller checked access
    to the record through records' selectors)."""
    del user  # access to the record was decided by records.selectors.access_record
    return SurveyResponse.objects.filter(project=project, record=record).select_related(
        "survey", "event"
    )


def response_of_form(
    survey: Survey, record: Record, event: Event, instance: int
) -> SurveyResponse | None:
    return SurveyResponse.objects.filter(
        survey=survey, record=record, event=event, instance=instance
    ).first()
