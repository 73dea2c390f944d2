"""A small study for the survey upload tests: one instrument, `documents`, as a survey of one
section per page: page 1 asks for a letter (a file, required) and a note, page 2 for a
signature (a file field with the `signature` validation) and an agreement (required), and
holds a read-only file field.
The survey is in Japanese, and the participant may switch to English."""

from __future__ import annotations

from opencrf.audit.services import AuditContext
from opencrf.dictionary.csvio import parse_dictionary_csv
from opencrf.dictionary.design import design_of
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import Project
from opencrf.projects.services import project_create
from opencrf.records.models import Record
from opencrf.records.services import record_create_with_form
from opencrf.surveys.models import Survey, SurveyResponse
from opencrf.surveys.services import response_link, survey_enable
from opencrf.surveys.tests.econsent_world import HEADER

ROWS = [
    "record_id,documents,,text,Participant ID,,,,,,,,,,,,,",
    "letter,documents,書類 / Documents,file,紹介状 / Referral letter (PDF),,"
    "PDF または画像 / A PDF or an image,,,,,,y,,,,,",
    "note,documents,,text,メモ / Note,,,,,,,,,,,,,",
    "sig,documents,署名 / Signature,file,署名 / Your signature,,,signature,,,,,,,,,,",
    "agree,documents,,yesno,提出に同意します / I agree to send these documents,,,,,,,,y,,,,,",
    "staff_doc,documents,,file,スタッフの書類 / Staff document,,,,,,,,,,,,,@READONLY",
]


def upload_study(context: AuditContext, title: str = "書類試験 / Upload study") -> Project:
    project = project_create(context=context, title=title)
    csv = "\n".join([HEADER, *ROWS]).encode()
    dictionary_apply(
        context=context, project=project, rows=parse_dictionary_csv(csv), source="test"
    )
    project.surveys_enabled = True
    project.save(update_fields=["surveys_enabled"])
    return project


def upload_survey(context: AuditContext, project: Project, **settings: object) -> Survey:
    wanted = {
        "title": "書類の提出 / Documents",
        "paging": Survey.Paging.SECTIONS,
        "language": "ja",
        "language_switch": True,
        **settings,
    }
    return survey_enable(context=context, project=project, form_name="documents", **wanted)


def record_link(
    context: AuditContext, survey: Survey, record_id: str = "1"
) -> tuple[Record, SurveyResponse]:
    """A record made by the study team, and its link to the survey."""
    project = survey.project
    event = design_of(project).events[0]
    record, _result = record_create_with_form(
        context=context,
        project=project,
        record_id=record_id,
        arm=None,
        event=event,
        form_name="documents",
        values={},
    )
    return record, response_link(survey=survey, record=record, event=event)
