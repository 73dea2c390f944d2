"""Writes of the staff survey pages: participant lists and a survey's logo.

Each participant gets their own link (a `SurveyResponse` with no record yet) when added; the
record is created when they first submit, as with the public link. Adding, changing and
removing participants needs the "Manage survey participants" right and is audited.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.files.checks import GIF, JPEG, PNG, WEBP
from opencrf.files.models import StoredFile
from opencrf.files.services import Upload, file_delete, file_store
from opencrf.projects.models import Event, Project
from opencrf.records.services import acting_rights
from opencrf.surveys.codes import new_access_code, new_token
from opencrf.surveys.models import Participant, Survey, SurveyResponse
from opencrf.surveys.services import _retry_unique, survey_update
from opencrf.surveys.settings_check import SurveySettingsInvalid
from opencrf.surveys.staff_selectors import takes_new_participants

LOGO_TYPES = frozenset({PNG, JPEG, GIF, WEBP})
MAX_IMPORT_LINES = 5000
LANGUAGES = {"": "", "ja": "ja", "en": "en", "japanese": "ja", "english": "en", "日本語": "ja"}


@dataclass(frozen=True)
class ParticipantInput:
    email: str
    identifier: str = ""
    language: str = ""


def _require_participants_right(context: AuditContext, project: Project) -> None:
    if not acting_rights(context, project).survey_participants:
        raise PermissionDenied(_("You may not manage survey participants in this project."))


def participant_problem(given: ParticipantInput) -> str | None:
    """Why a participant cannot be listed, or None."""
    if not given.email:
        return _("An e-mail address is required.")
    try:
        validate_email(given.email)
    except ValidationError:
        return _("“%(email)s” is not an e-mail address.") % {"email": given.email}
    if len(given.email) > 254:
        return _("The e-mail address is longer than 254 characters.")
    if len(given.identifier) > 255:
        return _("The identifier is longer than 255 characters.")
    if given.language not in ("", "ja", "en"):
        return _("The language must be ja, en or blank.")
    return None


def _listed_emails(survey: Survey, event: Event, exclude: int | None = None) -> set[str]:
    rows = Participant.objects.filter(survey=survey, event=event)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return {email.lower() for email in rows.values_list("email", flat=True)}


def _create(survey: Survey, event: Event, given: ParticipantInput) -> Participant:
    participant = Participant.objects.create(
        project_id=survey.project_id,
        survey=survey,
        event=event,
        email=given.email,
        identifier=given.identifier,
        language=given.language,
    )
    _retry_unique(
        lambda: SurveyResponse.objects.create(
            project_id=survey.project_id,
            survey=survey,
            event=event,
            participant=participant,
            language=given.language,
            token=new_token(),
            access_code=new_access_code(),
        )
    )
    return participant


def _check_list(project: Project, survey: Survey, event: Event) -> None:
    if survey.project_id != project.pk or event.project_id != project.pk:
        raise InvalidInput(_("The survey and event are of different projects."))
    if not takes_new_participants(project, survey, event):
        raise InvalidInput(
            _(
                "Participants can be added only to the first survey's list at the first event: "
                "people listed there start a new record when they answer. For other surveys, "
                "open each record's survey link from its record page."
            )
        )


@transaction.atomic
def participants_add(
    *,
    context: AuditContext,
    project: Project,
    survey: Survey,
    event: Event,
    people: list[ParticipantInput],
) -> list[Participant]:
    """Add people to a participant list, all or none; each refusal names its line (from 1)."""
    _require_participants_right(context, project)
    _check_list(project, survey, event)
    if len(people) > MAX_IMPORT_LINES:
        raise InvalidInput(
            _("At most %(count)s participants can be added at once.") % {"count": MAX_IMPORT_LINES}
        )
    listed = _listed_emails(survey, event)
    problems = []
    for line, given in enumerate(people, start=1):
        problem = participant_problem(given)
        if problem is None and given.email.lower() in listed:
            problem = _("%(email)s is already on this list.") % {"email": given.email}
        if problem:
            problems.append(_("Line %(line)s: %(problem)s") % {"line": line, "problem": problem})
        listed.add(given.email.lower())
    if problems:
        raise InvalidInput(" ".join([_("Nothing was added."), *problems[:20]]))
    created = [_create(survey, event, given) for given in people]
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="survey.participant_add",
        details=f"{survey.form_name} {event.unique_name}",
        changes={"participants": [p.pk for p in created]},
    )
    return created


def participants_parse(text: str) -> list[ParticipantInput]:
    """Pasted or uploaded lines: `e-mail[,identifier[,language]]`; a header line and blank
    lines are skipped. Tabs separate as well as commas (a spreadsheet's copied cells)."""
    rows: list[ParticipantInput] = []
    dialect = "excel-tab" if "\t" in text and "," not in text.split("\n", 1)[0] else "excel"
    for cells in csv.reader(io.StringIO(text.lstrip("\ufeff")), dialect=dialect):
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if not rows and cells[0].lower() in ("email", "e-mail", "e-mail address"):
            continue
        language = cells[2].lower() if len(cells) > 2 else ""
        rows.append(
            ParticipantInput(
                email=cells[0],
                identifier=cells[1] if len(cells) > 1 else "",
                language=LANGUAGES.get(language, language),
            )
        )
    return rows


@transaction.atomic
def participant_update(
    *, context: AuditContext, participant: Participant, given: ParticipantInput
) -> Participant:
    _require_participants_right(context, participant.project)
    problem = participant_problem(given)
    if problem is None and given.email.lower() in _listed_emails(
        participant.survey, participant.event, exclude=participant.pk
    ):
        problem = _("%(email)s is already on this list.") % {"email": given.email}
    if problem:
        raise InvalidInput(problem)
    changes = {
        name: [getattr(participant, name), getattr(given, name)]
        for name in ("email", "identifier", "language")
        if getattr(participant, name) != getattr(given, name)
    }
    if changes:
        for name, (_old, new) in changes.items():
            setattr(participant, name, new)
        participant.save(update_fields=list(changes))
        audit_event_create(
            context=context,
            project_id=participant.project_id,
            action="survey.participant_update",
            details=f"participant {participant.pk}",
            changes=changes,
        )
    return participant


@transaction.atomic
def participant_delete(*, context: AuditContext, participant: Participant) -> None:
    """Remove a participant and their unused link; refused once they have answered (REDCap)."""
    _require_participants_right(context, participant.project)
    responses = SurveyResponse.objects.select_for_update().filter(participant=participant)
    if any(r.status != SurveyResponse.Status.NOT_STARTED or r.record_id for r in responses):
        raise InvalidInput(
            _("This participant has responded, so they stay on the list with their response.")
        )
    audit_event_create(
        context=context,
        project_id=participant.project_id,
        action="survey.participant_delete",
        details=f"participant {participant.pk}",
        changes={"email": participant.email, "identifier": participant.identifier},
    )
    responses.delete()
    participant.delete()


def survey_logo_set(*, context: AuditContext, survey: Survey, upload: Upload | None) -> Survey:
    """Store an uploaded image as the survey's logo (checked by content), or remove it."""
    if not acting_rights(context, survey.project).design:
        raise PermissionDenied(_("You need the Project Design and Setup right."))
    stored: StoredFile | None = None
    if upload is not None:
        try:
            stored = file_store(context=context, project=survey.project, upload=upload)
        except InvalidInput as refused:
            raise SurveySettingsInvalid({"logo": refused.message}) from None
        if stored.media_type not in LOGO_TYPES:
            file_delete(context=context, stored_file=stored, reason="Not an image.")
            raise SurveySettingsInvalid(
                {"logo": _("The logo must be a PNG, JPEG, GIF or WebP image.")}
            )
    return survey_update(context=context, survey=survey, logo=stored)
