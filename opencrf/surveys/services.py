"""Writes of surveys: settings, links and responses. Study data itself is written only by
`records.services` (one write path, audited); a participant acts through an `AuditContext`
with no user and the response's stable pseudonym (`respondent_context`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from opencrf.audit.models import AuditSource
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.design import design_of
from opencrf.projects.models import Event, Project
from opencrf.records.auditing import record_target
from opencrf.records.models import Record
from opencrf.records.services import acting_rights
from opencrf.surveys.codes import new_access_code, new_return_code, new_token
from opencrf.surveys.models import Survey, SurveyResponse
from opencrf.surveys.respondents import respondent_label
from opencrf.surveys.settings_check import SurveySettingsInvalid, settings_problems

T = TypeVar("T")
SETTINGS = frozenset(
    field.name
    for field in Survey._meta.get_fields()
    if getattr(field, "editable", False)
    and field.name not in {"id", "project", "form_name", "public_token", "created_at", "updated_at"}
)


def _retry_unique(make: Callable[[], T], attempts: int = 5) -> T:
    """Create a row with random unique codes, drawing again on the rare collision."""
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return make()
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _require_design(context: AuditContext, project: Project) -> None:
    if not acting_rights(context, project).design:
        raise PermissionDenied(_("You need the Project Design and Setup right."))


@transaction.atomic
def survey_enable(
    *, context: AuditContext, project: Project, form_name: str, **settings: Any
) -> Survey:
    """Make an instrument a survey (surveys must be enabled for the project)."""
    _require_design(context, project)
    if not project.surveys_enabled:
        raise InvalidInput(_("Surveys are not enabled in this project."))
    if not any(i.name == form_name for i in design_of(project).instruments):
        raise InvalidInput(_("No instrument is named %(name)s.") % {"name": form_name})
    if Survey.objects.filter(project=project, form_name=form_name).exists():
        raise InvalidInput(_("This instrument is already a survey."))
    unknown = set(settings) - SETTINGS
    if unknown:
        raise InvalidInput(_("Unknown survey settings: %(names)s.") % {"names": sorted(unknown)})
    title = settings.pop("title", "") or next(
        i.label for i in design_of(project).instruments if i.name == form_name
    )
    _check_settings(project, form_name, {"title": title, **settings})
    survey = _retry_unique(
        lambda: Survey.objects.create(
            project=project, form_name=form_name, title=title, public_token=new_token(), **settings
        )
    )
    audit_event_create(
        context=context, project_id=project.pk, action="survey.enable", details=form_name
    )
    return survey


@transaction.atomic
def survey_update(*, context: AuditContext, survey: Survey, **changes: Any) -> Survey:
    """Change survey settings; audits the old and new value of each."""
    _require_design(context, survey.project)
    unknown = set(changes) - SETTINGS
    if unknown:
        raise InvalidInput(_("Unknown survey settings: %(names)s.") % {"names": sorted(unknown)})
    merged = {name: getattr(survey, name) for name in SETTINGS if name != "logo"}
    _check_settings(survey.project, survey.form_name, {**merged, **changes})
    changed = {}
    for name, value in changes.items():
        old = getattr(survey, name)
        if old != value:
            changed[name] = [_plain(old), _plain(value)]
            setattr(survey, name, value)
    if changed:
        try:
            survey.full_clean(exclude=["project", "logo"])
        except ValidationError as error:
            raise SurveySettingsInvalid(
                {name: " ".join(messages) for name, messages in error.message_dict.items()}
            ) from None
        survey.save()
        audit_event_create(
            context=context,
            project_id=survey.project_id,
            action="survey.update",
            details=survey.form_name,
            changes=changed,
        )
    return survey


def _check_settings(project: Project, form_name: str, values: dict[str, Any]) -> None:
    """Refuse settings that cannot work, naming each setting (SurveySettingsInvalid)."""
    others = set(
        Survey.objects.filter(project=project)
        .exclude(form_name=form_name)
        .values_list("form_name", flat=True)
    )
    problems = settings_problems(design_of(project), form_name, values, others)
    if problems:
        raise SurveySettingsInvalid(problems)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "pk"):
        return value.pk
    return str(value)


@transaction.atomic
def survey_disable(*, context: AuditContext, survey: Survey) -> None:
    """Stop an instrument being a survey; its responses' data stay in the records."""
    _require_design(context, survey.project)
    audit_event_create(
        context=context,
        project_id=survey.project_id,
        action="survey.disable",
        details=survey.form_name,
    )
    survey.delete()


def response_link(
    *, survey: Survey, record: Record, event: Event, instance: int = 1
) -> SurveyResponse:
    """The unique link of a record's form instance at an event, made when first asked for."""
    if record.project_id != survey.project_id or event.project_id != survey.project_id:
        raise InvalidInput(_("The record, event and survey are of different projects."))
    if not design_of(survey.project).has_form(survey.project, event, survey.form_name):
        raise InvalidInput(_("This event does not collect the survey's instrument."))
    found = SurveyResponse.objects.filter(
        survey=survey, record=record, event=event, instance=instance
    ).first()
    if found is not None:
        return found
    try:
        return _retry_unique(
            lambda: SurveyResponse.objects.create(
                project_id=survey.project_id,
                survey=survey,
                record=record,
                event=event,
                instance=instance,
                token=new_token(),
                access_code=new_access_code(),
            )
        )
    except IntegrityError:  # made by a concurrent request in the meantime
        return SurveyResponse.objects.get(
            survey=survey, record=record, event=event, instance=instance
        )


def public_response_start(*, survey: Survey, event: Event) -> SurveyResponse:
    """A new response through the survey's public link; its record comes on first submit."""
    return _retry_unique(
        lambda: SurveyResponse.objects.create(
            project_id=survey.project_id,
            survey=survey,
            event=event,
            public=True,
            token=new_token(),
            access_code=new_access_code(),
        )
    )


def return_code_issue(response: SurveyResponse) -> str:
    """The response's return code, made on first use (save and return later)."""
    if not response.return_code:
        response.return_code = new_return_code()
        response.save(update_fields=["return_code"])
    return response.return_code


def respondent_context(
    response: SurveyResponse, *, request_id: str = "", client_address: str = ""
) -> AuditContext:
    """How the audit trail names a participant's writes: no user, a stable pseudonym."""
    return AuditContext(
        actor=None,
        source=AuditSource.SURVEY,
        request_id=request_id,
        client_address=client_address,
        actor_label=respondent_label(response),
    )


def response_audit_target(response: SurveyResponse) -> Any:
    """The audit target of a response's record form instance (after its record exists)."""
    assert response.record is not None
    return record_target(
        response.record, response.event, response.survey.form_name, response.instance
    )
