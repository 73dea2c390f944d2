"""`content=pdf`: instruments as PDF, blank, or filled with one record's or every record's
data (spec §2.24), for the forms and records the token's user may see."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpResponse
from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.core.downloads import content_disposition
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.files.selectors import files_in_project
from opencrf.records.models import FormData
from opencrf.records.pdf import FormPage, forms_pdf
from opencrf.records.selectors import records_visible_to

MAX_FORMS = 2_000  # a PDF is built in memory: larger ones are a job's work


def pdf(call: Call) -> HttpResponseBase:
    call.require_export()
    project = call.project
    assert project is not None
    design = design_of(project)
    forms = _forms(call, design)
    record_id = call.params.text("record")
    every = "allRecords" in call.request.POST
    if not record_id and not every:
        pages: list[FormPage] = [
            FormPage(i.label, design.form_rows(i.name))
            for i in design.instruments
            if i.name in forms
        ]
    else:
        pages = list(_filled(call, design, forms, record_id if not every else ""))
    if not pages:
        raise ApiError("There is nothing to print for these parameters")
    if len(pages) > MAX_FORMS:
        raise ApiError(f"A PDF holds at most {MAX_FORMS} forms; ask for fewer records")
    body = forms_pdf(project.title, pages, _file_names(call, pages))
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


def _filled(
    call: Call, design: ProjectDesign, forms: set[str], record_id: str
) -> Iterator[FormPage]:
    assert call.project is not None
    records = records_visible_to(call.user, call.project)
    if record_id:
        records = records.filter(record_id=record_id)
        if not records.exists():
            raise ApiError(f'The record "{record_id}" does not exist')
    event_name = call.params.text("event")
    instance = call.params.number("repeat_instance")
    labels = {i.name: i.label for i in design.instruments}
    events = {e.pk: e for e in design.events}
    stored = FormData.objects.filter(record__in=records, form_name__in=forms).select_related(
        "record"
    )
    if event_name:
        stored = stored.filter(event__unique_name=event_name)
    if instance is not None:
        stored = stored.filter(instance=instance)
    order = {e.pk: n for n, e in enumerate(design.events)}
    form_order = {i.name: n for n, i in enumerate(design.instruments)}
    for form in sorted(
        stored[: MAX_FORMS + 1],
        key=lambda f: (
            f.record.sort_key,
            order.get(f.event_id, 0),
            form_order[f.form_name],
            f.instance,
        ),
    ):
        event = events.get(form.event_id)
        caption = f"Record {form.record.record_id}"
        if call.project.is_longitudinal and event is not None:
            caption += f" — {event.name}"
        repeats = event is not None and design.repeats_form(event, form.form_name)
        if repeats or form.instance > 1:
            caption += f" — #{form.instance}"
        values = {design.record_id_field: form.record.record_id, **form.values}
        yield FormPage(
            labels[form.form_name], design.form_rows(form.form_name), values, form.status, caption
        )


def _file_names(call: Call, pages: list[FormPage]) -> dict[str, str]:
    """Names of the files filled forms refer to (a field shows its file's name)."""
    assert call.project is not None
    ids = {
        row.field_name: int(page.values[row.field_name])
        for page in pages
        if page.values
        for row in page.rows
        if row.field_type == "file" and page.values.get(row.field_name, "").isdigit()
    }
    found = files_in_project(call.project, ids.values())
    return {name: found[pk].original_name for name, pk in ids.items() if pk in found}
