"""Instruments as PDF in the browser: blank, one record filled, every record filled.

The same pages and renderer as the API's `content=pdf` (`records.pdf_pages`, `records.pdf`).
Rights as in REDCap: a blank form needs only to see the instrument (design rights, or a
data-entry right on it); a filled one needs the data-entry right on each form printed and
an export right on it, and prints identifiers (and for de-identified rights free text and
dates) as removed. Records come through `records_visible_to`, so a record of another data
access group is not found. Above MAX_FORMS forms the PDF is refused with the limit named.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.downloads import content_disposition
from opencrf.core.errors import NotFound
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Project
from opencrf.projects.rights import Rights
from opencrf.records import selectors
from opencrf.records.models import Record
from opencrf.records.pdf import FormPage, forms_pdf
from opencrf.records.pdf_pages import TooManyForms, blank_pages, file_names, filled_pages


def _forms(request: AuthedRequest, design: ProjectDesign, rights: Rights, blank: bool) -> list[str]:
    """The forms asked for (`?form=`, else all) that the user may print."""
    allowed = [
        i.name
        for i in design.instruments
        if rights.can_see_form(i.name) or (blank and rights.design)
    ]
    wanted = request.GET.get("form", "")
    if wanted:
        if wanted not in allowed:
            raise NotFound(_("No such instrument."))
        return [wanted]
    return allowed


def _response(project: Project, pages: list[FormPage], what: str) -> HttpResponse:
    body = forms_pdf(project.title, pages, file_names(project, pages))
    title = slugify(project.title, allow_unicode=True) or "project"
    stamp = timezone.localtime().strftime("%Y-%m-%d_%H%M")
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(f"{title}_{what}_{stamp}.pdf")
    return response


@login_required
@domain_errors
def pdf_blank(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    rights = project_selectors.member_rights(request.user, project)
    design = design_of(project)
    pages = blank_pages(design, _forms(request, design, rights, blank=True))
    if not pages:
        messages.error(request, _("There is no instrument you may print."))
        return redirect("dictionary:instruments", project_id=project.pk)
    return _response(project, pages, "blank")


@login_required
@domain_errors
def pdf_record(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    record = selectors.access_record(request.user, project, record_id)
    records = project.records.filter(pk=record.pk)
    back = redirect("records:home", project_id=project.pk, record_id=record.record_id)
    return _filled(request, project, records, back, f"record_{record.record_id}")


@login_required
@domain_errors
def pdf_all(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    records = selectors.records_visible_to(request.user, project)
    return _filled(request, project, records, redirect("records:dashboard", project.pk), "all")


def _filled(
    request: AuthedRequest,
    project: Project,
    records: QuerySet[Record],
    back: HttpResponse,
    what: str,
) -> HttpResponse:
    rights = project_selectors.member_rights(request.user, project)
    design = design_of(project)
    forms = _forms(request, design, rights, blank=False)
    try:
        pages = filled_pages(
            project,
            design,
            records,
            forms,
            event_name=request.GET.get("event", ""),
            instance=whole_number(request.GET.get("instance", ""), 6),
            export_rights={name: rights.export(name) for name in forms},
        )
    except TooManyForms as error:
        messages.error(
            request,
            _("A PDF holds at most %(limit)d forms; choose one instrument or one record.")
            % {"limit": error.limit},
        )
        return back
    if not pages:
        messages.error(request, _("There is no saved form you may print here."))
        return back
    return _response(project, pages, what)
