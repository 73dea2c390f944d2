"""What surveys add to the record pages, through records' page hooks (records cannot import
surveys): a record's survey links panel, and the survey-response note of a data entry form."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from opencrf.records.page_hooks import FormNote, FormPlace, RecordPage
from opencrf.surveys.models import SurveyResponse
from opencrf.surveys.selectors import response_of_form, survey_of_form
from opencrf.surveys.staff_selectors import record_surveys


def record_survey_panel(page: RecordPage) -> SafeString | None:
    """The record's survey forms at its events: status, times, and the way to their links."""
    rows = record_surveys(page.project, page.rights, page.record.pk, list(page.events))
    if not rows:
        return None
    context = {"project": page.project, "record": page.record, "rows": rows}
    return SafeString(render_to_string("surveys/staff/record_panel.html", context, page.request))


def survey_response_note(place: FormPlace) -> FormNote | None:
    """A form holding a survey response says so; a completed one is read-only unless the user
    may edit survey responses (REDCap's "Edit survey responses")."""
    survey = survey_of_form(place.project, place.form_name)
    if survey is None:
        return None
    response = response_of_form(survey, place.record, place.event, place.instance)
    completed = response is not None and response.status == SurveyResponse.Status.COMPLETED
    readonly = completed and not place.rights.can_edit_survey_responses(place.form_name)
    link = ""
    if place.rights.can_edit_form(place.form_name):
        args = [place.project.pk, place.record.record_id, place.event.unique_name]
        link = reverse("surveys:record_link", args=[*args, place.form_name, place.instance])
    context = {"response": response, "completed": completed, "readonly": readonly, "link": link}
    html = render_to_string("surveys/staff/form_note.html", context)
    return FormNote(SafeString(html), readonly=readonly)
