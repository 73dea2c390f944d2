"""Surveys in Project XML: `redcap:SurveysGroup/redcap:Surveys` (one element a survey, its
settings as REDCap's attributes) and `redcap:SurveysQueueGroup/redcap:SurveysQueue`.

`records.project_xml` writes and reads the rest of the file and calls this module through
`project_xml_part_register` (records may not import surveys). A project created from a file
with surveys enabled gets a survey for each `redcap:Surveys`, through `survey_enable`
(checked, audited), and a response for each `<form>_timestamp` of ClinicalData: completed
at that time, or partial for `[not completed]`.

REDCap's attributes and OpenCRF's settings:

- `title`, `instructions`, `acknowledgement` (completion text), `end_survey_redirect_url`,
  `save_and_return`, `edit_completed_response`, `end_survey_redirect_next_survey`
  (auto-continue), `response_limit` and `response_limit_custom_text`, `survey_expiration`
  (`YYYY-MM-DD HH:MM`, server time), `survey_enabled` (accepting responses).
- `question_by_section="1"`: one section per page; `question_auto_numbering="0"`: the
  dictionary's own numbers.
- `survey_time_limit_days`, `_hours`, `_minutes`: the time limit, kept in minutes.
- `pdf_auto_archive="2"` is the e-consent framework, with `pdf_econsent_version`,
  `pdf_econsent_firstname_field` (the name field) and `pdf_econsent_signature_field1`.
- A queue entry (`active`, `auto_start`, `condition_surveycomplete_survey_id`,
  `condition_logic`) puts its survey in the survey queue; OpenCRF keeps one per survey.

Everything else REDCap keeps (themes, confirmation e-mails, logos...) is written with
REDCap's defaults and ignored when read. The survey language is not in REDCap's file: a
survey comes in in the default language.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.design import design_of
from opencrf.dictionary.odm import CLASSIC_EVENT, ProjectXml
from opencrf.dictionary.odm_write import attr
from opencrf.projects.models import Project
from opencrf.records.models import Record
from opencrf.surveys.export_fields import NOT_COMPLETED
from opencrf.surveys.models import Survey, SurveyResponse
from opencrf.surveys.services import response_link, survey_enable

# REDCap's attributes in the order REDCap writes them, with its defaults (REDCap 14.7).
REDCAP_DEFAULTS: dict[str, str] = {
    "form_name": "",
    "title": "",
    "instructions": "",
    "offline_instructions": "",
    "acknowledgement": "",
    "stop_action_acknowledgement": "",
    "stop_action_delete_response": "0",
    "question_by_section": "0",
    "display_page_number": "1",
    "question_auto_numbering": "1",
    "survey_enabled": "1",
    "save_and_return": "0",
    "save_and_return_code_bypass": "0",
    "logo": "",
    "hide_title": "0",
    "view_results": "0",
    "min_responses_view_results": "10",
    "check_diversity_view_results": "0",
    "end_survey_redirect_url": "",
    "survey_expiration": "",
    "promis_skip_question": "0",
    "survey_auth_enabled_single": "0",
    "edit_completed_response": "0",
    "hide_back_button": "0",
    "show_required_field_text": "1",
    "confirmation_email_subject": "",
    "confirmation_email_content": "",
    "confirmation_email_from": "",
    "confirmation_email_from_display": "",
    "confirmation_email_attach_pdf": "0",
    "confirmation_email_attachment": "",
    "text_to_speech": "0",
    "text_to_speech_language": "en",
    "end_survey_redirect_next_survey": "0",
    "end_survey_redirect_next_survey_logic": "",
    "theme": "",
    "text_size": "",
    "font_family": "",
    "theme_text_buttons": "",
    "theme_bg_page": "",
    "theme_text_title": "",
    "theme_bg_title": "",
    "theme_text_sectionheader": "",
    "theme_bg_sectionheader": "",
    "theme_text_question": "",
    "theme_bg_question": "",
    "enhanced_choices": "0",
    "repeat_survey_enabled": "0",
    "repeat_survey_btn_text": "",
    "repeat_survey_btn_location": "BEFORE_SUBMIT",
    "response_limit": "",
    "response_limit_include_partials": "1",
    "response_limit_custom_text": "",
    "survey_time_limit_days": "",
    "survey_time_limit_hours": "",
    "survey_time_limit_minutes": "",
    "email_participant_field": "",
    "end_of_survey_pdf_download": "0",
    "pdf_save_to_field": "",
    "pdf_save_to_event_id": "",
    "pdf_save_translated": "0",
    "pdf_auto_archive": "0",
    "pdf_econsent_version": "",
    "pdf_econsent_type": "",
    "pdf_econsent_firstname_field": "",
    "pdf_econsent_firstname_event_id": "",
    "pdf_econsent_lastname_field": "",
    "pdf_econsent_lastname_event_id": "",
    "pdf_econsent_dob_field": "",
    "pdf_econsent_dob_event_id": "",
    "pdf_econsent_allow_edit": "0",
    "pdf_econsent_signature_field1": "",
    "pdf_econsent_signature_field2": "",
    "pdf_econsent_signature_field3": "",
    "pdf_econsent_signature_field4": "",
    "pdf_econsent_signature_field5": "",
    "survey_width_percent": "",
    "survey_show_font_resize": "1",
    "survey_btn_text_prev_page": "",
    "survey_btn_text_next_page": "",
    "survey_btn_text_submit": "",
    "survey_btn_hide_submit": "0",
    "survey_btn_hide_submit_logic": "",
}
ECONSENT = "2"  # pdf_auto_archive: 0 off, 1 keep a PDF, 2 the e-consent framework
EXPIRY_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
MINUTES = {"survey_time_limit_days": 1440, "survey_time_limit_hours": 60}


def _flag(value: bool) -> str:
    return "1" if value else "0"


def survey_attributes(survey: Survey) -> dict[str, str]:
    """One survey as REDCap's `redcap:Surveys` attributes, in REDCap's order."""
    minutes = survey.time_limit_minutes or 0
    attributes = dict(REDCAP_DEFAULTS)
    attributes |= {
        "form_name": survey.form_name,
        "title": survey.title,
        "instructions": survey.instructions,
        "acknowledgement": survey.completion_text,
        "question_by_section": _flag(survey.paging == Survey.Paging.SECTIONS),
        "question_auto_numbering": _flag(survey.numbering != Survey.Numbering.CUSTOM),
        "survey_enabled": _flag(survey.active),
        "save_and_return": _flag(survey.save_and_return),
        "end_survey_redirect_url": survey.redirect_url,
        "survey_expiration": (
            timezone.localtime(survey.expires_at).strftime("%Y-%m-%d %H:%M")
            if survey.expires_at
            else ""
        ),
        "edit_completed_response": _flag(survey.edit_completed),
        "end_survey_redirect_next_survey": _flag(survey.auto_continue),
        "response_limit": str(survey.response_limit or ""),
        "response_limit_custom_text": survey.response_limit_message,
        "survey_time_limit_days": str(minutes // 1440) if minutes else "",
        "survey_time_limit_hours": str(minutes % 1440 // 60) if minutes else "",
        "survey_time_limit_minutes": str(minutes % 60) if minutes else "",
        "pdf_auto_archive": ECONSENT if survey.econsent else "0",
        "pdf_econsent_version": survey.econsent_version,
        "pdf_econsent_firstname_field": survey.econsent_name_field,
        "pdf_econsent_signature_field1": survey.econsent_signature_field,
    }
    return attributes


def surveys_xml(project: Project, user: User) -> Iterator[str]:
    """`redcap:SurveysGroup` (and `redcap:SurveysQueueGroup`) of a project with surveys
    enabled; nothing otherwise. Survey settings are design, like the dictionary."""
    del user  # whoever may export the project's XML sees its design
    if not project.surveys_enabled:
        return
    surveys = _in_form_order(project, Survey.objects.filter(project=project))
    if not surveys:
        return
    yield "\t<redcap:SurveysGroup>\n"
    for survey in surveys:
        yield f"\t\t<redcap:Surveys {_joined(survey_attributes(survey))}/>\n"
    yield "\t</redcap:SurveysGroup>\n"
    queued = [survey for survey in surveys if survey.queue_enabled]
    if not queued:
        return
    design = design_of(project)
    yield "\t<redcap:SurveysQueueGroup>\n"
    for survey in queued:
        event = next(
            (e for e in design.events if design.has_form(project, e, survey.form_name)), None
        )
        after = survey.queue_after
        after_event = next(
            (e for e in design.events if after and design.has_form(project, e, after)), None
        )
        entry = {
            "survey_id": survey.form_name,
            "event_id": event.unique_name if event else "",
            "active": "1",
            "auto_start": _flag(survey.queue_auto_start),
            "condition_surveycomplete_survey_id": after,
            "condition_surveycomplete_event_id": after_event.unique_name if after_event else "",
            "condition_andor": "AND" if after and survey.queue_logic else "OR",
            "condition_logic": survey.queue_logic,
        }
        yield f"\t\t<redcap:SurveysQueue {_joined(entry)}/>\n"
    yield "\t</redcap:SurveysQueueGroup>\n"


def _joined(attributes: Mapping[str, str]) -> str:
    return " ".join(f"{name}={attr(value)}" for name, value in attributes.items())


def _in_form_order(project: Project, surveys: Iterable[Survey]) -> list[Survey]:
    order = {i.name: n for n, i in enumerate(design_of(project).instruments)}
    return sorted(surveys, key=lambda s: (order.get(s.form_name, len(order)), s.form_name))


# --- Reading -----------------------------------------------------------------------------------


def survey_settings(attributes: Mapping[str, str]) -> dict[str, Any]:
    """OpenCRF's settings of a survey from REDCap's attributes; InvalidInput names a fault."""
    form = attributes.get("form_name", "").strip()

    def text(name: str) -> str:
        return attributes.get(name, "")

    def flag(name: str) -> bool:
        return text(name).strip() == "1"

    def number(name: str) -> int | None:
        value = text(name).strip()
        if not value:
            return None
        if not (value.isascii() and value.isdigit()) or len(value) > 9:
            raise _fault(form, name, value)
        return int(value)

    redirect = text("end_survey_redirect_url").strip()
    if redirect:
        try:
            URLValidator(schemes=["http", "https"])(redirect)
        except ValidationError:
            raise _fault(form, "end_survey_redirect_url", redirect) from None
    minutes = sum(
        (number(name) or 0) * MINUTES.get(name, 1)
        for name in (
            "survey_time_limit_days",
            "survey_time_limit_hours",
            "survey_time_limit_minutes",
        )
    )
    settings: dict[str, Any] = {
        "title": text("title").strip()[:300],
        "instructions": text("instructions"),
        "completion_text": text("acknowledgement"),
        "redirect_url": redirect,
        "paging": Survey.Paging.SECTIONS if flag("question_by_section") else Survey.Paging.ALL,
        "numbering": (
            Survey.Numbering.AUTO
            if text("question_auto_numbering").strip() != "0"
            else Survey.Numbering.CUSTOM
        ),
        "active": text("survey_enabled").strip() != "0",
        "save_and_return": flag("save_and_return"),
        "edit_completed": flag("edit_completed_response"),
        "auto_continue": flag("end_survey_redirect_next_survey"),
        "response_limit": number("response_limit"),
        "response_limit_message": text("response_limit_custom_text"),
        "expires_at": _expiry(form, text("survey_expiration").strip()),
        "time_limit_minutes": minutes or None,
    }
    if text("pdf_auto_archive").strip() == ECONSENT:
        settings |= {
            "econsent": True,
            "econsent_version": text("pdf_econsent_version").strip()[:50],
            "econsent_name_field": text("pdf_econsent_firstname_field").strip()[:100],
            "econsent_signature_field": text("pdf_econsent_signature_field1").strip()[:100],
        }
    return settings


def _expiry(form: str, value: str) -> datetime | None:
    if not value:
        return None
    for pattern in EXPIRY_FORMATS:
        try:
            return timezone.make_aware(datetime.strptime(value, pattern))  # noqa: DTZ007
        except ValueError:
            continue
    raise _fault(form, "survey_expiration", value)


def _fault(form: str, name: str, value: str) -> InvalidInput:
    return InvalidInput(
        _('Project XML: survey "%(form)s" has %(name)s "%(value)s", which is not valid.')
        % {"form": form, "name": name, "value": value[:100]}
    )


def surveys_create_from_xml(context: AuditContext, project: Project, parsed: ProjectXml) -> None:
    """The file's surveys, queue entries and survey timestamps, in a project with surveys on."""
    if not project.surveys_enabled or not parsed.surveys:
        return
    forms = {i.name for i in design_of(project).instruments}
    surveys: dict[str, Survey] = {}
    for attributes in parsed.surveys:
        form = attributes.get("form_name", "").strip()
        if form not in forms:
            raise InvalidInput(
                _('Project XML: a survey names the instrument "%(form)s", which is not defined.')
                % {"form": form[:100]}
            )
        if form in surveys:
            continue  # REDCap keeps one survey an instrument
        surveys[form] = survey_enable(
            context=context, project=project, form_name=form, **survey_settings(attributes)
        )
    for entry in parsed.survey_queue:
        survey = surveys.get(entry.get("survey_id", "").strip())
        if survey is None or entry.get("active", "1").strip() == "0":
            continue
        after = entry.get("condition_surveycomplete_survey_id", "").strip()
        survey.queue_enabled = True
        survey.queue_after = after if after in surveys else ""
        survey.queue_logic = entry.get("condition_logic", "")
        survey.queue_auto_start = entry.get("auto_start", "0").strip() == "1"
        survey.save(
            update_fields=["queue_enabled", "queue_after", "queue_logic", "queue_auto_start"]
        )
    _responses_from_times(project, parsed, surveys)


def _responses_from_times(project: Project, parsed: ProjectXml, surveys: dict[str, Survey]) -> None:
    """A response for each survey timestamp of the file's records: completed then, or partial."""
    if not parsed.survey_times:
        return
    design = design_of(project)
    events = {event.unique_name: event for event in design.events}
    records = {r.record_id: r for r in Record.objects.filter(project=project)}
    for time in parsed.survey_times:
        survey = surveys.get(time.form)
        record = records.get(time.record)
        event = events.get(time.event or CLASSIC_EVENT) or (
            design.events[0] if not project.is_longitudinal and design.events else None
        )
        if survey is None or record is None or event is None:
            continue
        if not design.has_form(project, event, survey.form_name):
            continue
        response = response_link(survey=survey, record=record, event=event, instance=time.instance)
        if time.value.strip() == NOT_COMPLETED:
            response.status = SurveyResponse.Status.PARTIAL
        else:
            completed = _completed_at(time.value.strip())
            if completed is None:
                continue
            response.status = SurveyResponse.Status.COMPLETED
            response.completed_at = completed
        response.save(update_fields=["status", "completed_at"])


def _completed_at(value: str) -> datetime | None:
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return timezone.make_aware(datetime.strptime(value, pattern))  # noqa: DTZ007
        except ValueError:
            continue
    return None


class SurveysPart:
    """Surveys as a part of Project XML (see `records.project_xml.ProjectXmlPart`)."""

    def write(self, project: Project, user: User) -> Iterable[str]:
        return surveys_xml(project, user)

    def create(self, context: AuditContext, project: Project, parsed: ProjectXml) -> None:
        surveys_create_from_xml(context, project, parsed)


SURVEYS_PART = SurveysPart()
