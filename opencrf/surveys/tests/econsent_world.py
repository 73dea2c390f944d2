"""A small consent study for the e-consent tests: one consent instrument as an e-consent survey
(version 2.1), with a name field and a signature field, and a helper to draw a signature."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from opencrf.audit.services import AuditContext
from opencrf.dictionary.csvio import parse_dictionary_csv
from opencrf.dictionary.design import design_of
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import DataAccessGroup, Project
from opencrf.projects.services import project_create
from opencrf.records.models import Record
from opencrf.records.services import record_create_with_form, record_group_set
from opencrf.surveys.models import Survey, SurveyResponse
from opencrf.surveys.respond import answers_save
from opencrf.surveys.services import respondent_context, response_link, survey_enable

HEADER = (
    "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
    '"Choices, Calculations, OR Slider Labels",Field Note,'
    "Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,"
    "Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,"
    "Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation"
)
ROWS = [
    "record_id,consent,,text,Participant ID,,,,,,,,,,,,,",
    'explain,consent,同意 / Consent,descriptive,"説明を受け、理解しました。 / I have read and '
    'understood the explanation.",,,,,,,,,,,,,',
    "agree,consent,,yesno,参加に同意しますか / Do you agree to take part?,,,,,,,,y,,,,,",
    'contact,consent,,radio,連絡方法 / Contact by,"1, 電話 / Phone | 2, メール / E-mail"'
    ",,,,,,,,,,,,",
    "participant_name,consent,,text,氏名 / Full name,,,,,,y,,,,,,,",
    "participant_sig,consent,,file,署名 / Signature,,,signature,,,,,,,,,,",
]


def consent_study(context: AuditContext, title: str = "同意試験 / Consent study") -> Project:
    project = project_create(context=context, title=title)
    csv = "\n".join([HEADER, *ROWS]).encode()
    dictionary_apply(
        context=context, project=project, rows=parse_dictionary_csv(csv), source="test"
    )
    project.surveys_enabled = True
    project.save(update_fields=["surveys_enabled"])
    return project


def consent_survey(context: AuditContext, project: Project, **settings: object) -> Survey:
    wanted = {
        "title": "同意書 / Consent",
        "econsent": True,
        "econsent_version": "2.1",
        "econsent_name_field": "participant_name",
        "econsent_signature_field": "participant_sig",
        **settings,
    }
    return survey_enable(context=context, project=project, form_name="consent", **wanted)


def answered_response(
    context: AuditContext,
    survey: Survey,
    values: dict[str, str] | None = None,
    *,
    record_id: str = "1",
    group: DataAccessGroup | None = None,
) -> SurveyResponse:
    """A record whose participant answered the consent survey's page (not yet confirmed)."""
    project = survey.project
    event = design_of(project).events[0]
    record, _result = record_create_with_form(
        context=context,
        project=project,
        record_id=record_id,
        arm=None,
        event=event,
        form_name="consent",
        values={},
    )
    if group is not None:
        record_group_set(context=context, record=record, group=group)
        record.refresh_from_db()
    response = response_link(survey=survey, record=record, event=event)
    answers = {"agree": "1", "contact": "2", "participant_name": "山田 花子", **(values or {})}
    return answers_save(response, context=respondent_context(response), values=answers, page=1)


def record_of(response: SurveyResponse) -> Record:
    assert response.record is not None
    return response.record


def signature_png(width: int = 600, height: int = 200, *, blank: bool = False) -> bytes:
    """A drawn signature, or (blank) the pad's empty canvas: white with its light guide line."""
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).line([(20, height - 40), (width - 20, height - 40)], fill="#c9cfd8")
    if not blank:
        ImageDraw.Draw(image).line(
            [(30, 150), (200, 60), (400, 140), (560, 50)], fill="navy", width=4
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
