"""`content=pdf`: instruments as PDF, blank, or filled with one record's or every record's
data (spec §2.24), for the forms and records the token's user may see.

The pages come from `records.pdf_pages`, the same as the browser's PDF links."""

from __future__ import annotations

from django.http import HttpResponse
from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.core.downloads import content_disposition
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.records.pdf import FormPage, forms_pdf
from opencrf.records.pdf_pages import (
    MAX_FORMS,
    TooManyForms,
    blank_pages,
    file_names,
    filled_pages,
)
from opencrf.records.selectors import records_visible_to


def pdf(call: Call) -> HttpResponseBase:
    call.require_export()
    project = call.project
    assert project is not None
    design = design_of(project)
    forms = _forms(call, design)
    record_id = call.params.text("record")
    every = "allRecords" in call.request.POST
    if not record_id and not every:
        pages = blank_pages(design, forms)
    else:
        pages = _filled(call, design, forms, record_id if not every else "")
    if not pages:
        raise ApiError("There is nothing to print for these parameters")
    body = forms_pdf(project.title, pages, file_names(project, pages))
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition("forms.pdf")
    return response


def _forms(call: Call, design: ProjectDesign) -> set[str]:
    names = {i.name for i in design.instruments if call.rights.can_see_form(i.name)}
    wanted = call.params.text("instrument")
    if wanted:
        if wanted not in names:
            raise ApiError(f"The instrument '{wanted}' does not exist")
        return {wanted}
    return names


def _filled(call: Call, design: ProjectDesign, forms: set[str], record_id: str) -> list[FormPage]:
    assert call.project is not None
    records = records_visible_to(call.user, call.project)
    if record_id:
        records = records.filter(record_id=record_id)
        if not records.exists():
            raise ApiError(f'The record "{record_id}" does not exist')
    try:
        return filled_pages(
            call.project,
            design,
            records,
            forms,
            event_name=call.params.text("event"),
            instance=call.params.number("repeat_instance"),
        )
    except TooManyForms:
        raise ApiError(f"A PDF holds at most {MAX_FORMS} forms; ask for fewer records") from None
