"""The per-field history page of the data entry form."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.views import domain_errors
from opencrf.records import selectors
from opencrf.records.values import form_columns
from opencrf.records.views.design import form_url
from opencrf.records.views.form_page import FormPage, load_form_page


def _history_columns(page: FormPage, field_name: str) -> tuple[str, list[str]]:
    """The field's label and its stored columns (checkbox options each have one)."""
    if field_name == page.status_key:
        return _("Complete?"), [field_name]
    row = next((row for row in page.fields if row.field_name == field_name), None)
    if row is None:
        raise Http404(_("No such field in this form."))
    return row.field_label, list(form_columns([row]))


@login_required
@domain_errors
def field_history(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
    field_name: str,
) -> HttpResponse:
    page = load_form_page(request, project_id, record_id, event_name, form_name, instance)
    label, columns = _history_columns(page, field_name)
    entries = selectors.field_history(page.record, page.event, form_name, instance, columns)
    context = {
        "project": page.project,
        "nav": "records",
        "record": page.record,
        "event": page.event,
        "instrument": page.instrument,
        "instance": page.instance,
        "show_event": page.project.is_longitudinal,
        "field_name": field_name,
        "field_label": label,
        "checkbox": len(columns) > 1 or columns[0] != field_name,
        "entries": entries,
        "form_url": form_url(page.project, record_id, page.event, form_name, instance),
    }
    return render(request, "records/field_history.html", context)
