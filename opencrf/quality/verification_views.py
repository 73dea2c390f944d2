"""Pages of source data verification: verify and un-verify a form instance or a field, and the
project's progress. Access is decided by quality/verification_selectors.py, rules by the
services; a record of another data access group is a missing record here as everywhere."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.core.views import domain_errors
from opencrf.quality import verification_selectors as selectors
from opencrf.quality import verification_services as services


def _form_url(place: selectors.Place, field_name: str = "") -> str:
    args = [place.project.pk, place.record.record_id, place.event.unique_name]
    url = reverse("records:form", args=[*args, place.form_name, place.instance])
    return f"{url}#sdv-{field_name}" if field_name else url


def _version(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


@login_required
@require_POST
@domain_errors
def verify(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
) -> HttpResponse:
    """Verify the form instance (`sdv_field` empty) or one field, as the page showed it."""
    place = selectors.access_place(
        request.user, project_id, record_id, event_name, form_name, instance
    )
    field_name = request.POST.get("sdv_field", "")
    try:
        services.verification_create(
            context=AuditContext.from_request(request),
            place=place,
            field_name=field_name,
            seen_version=_version(request.POST.get("base_version", "")),
        )
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect(_form_url(place))
    if field_name:
        messages.success(request, _("Field %(field)s is verified.") % {"field": field_name})
    else:
        messages.success(request, _("The form is verified."))
    return redirect(_form_url(place, field_name))


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def unverify(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
) -> HttpResponse:
    """Ask for a reason, then take the form's (or a field's, `?field=`) verification back."""
    place = selectors.access_place(
        request.user, project_id, record_id, event_name, form_name, instance
    )
    selectors.require_verify_right(place.rights)
    field_name = request.GET.get("field", "") or request.POST.get("field", "")
    error = ""
    reason = request.POST.get("reason", "")
    try:
        place.require_field(field_name)
    except InvalidInput as refused:
        error = refused.message
    if request.method == "POST" and not error:
        try:
            services.verification_remove(
                context=AuditContext.from_request(request),
                place=place,
                field_name=field_name,
                reason=reason,
            )
        except InvalidInput as refused:
            error = refused.message
        else:
            messages.success(request, _("The verification is taken back."))
            return redirect(_form_url(place, field_name))
    context = {
        "project": place.project,
        "nav": "verification",
        "place": place,
        "field_name": field_name,
        "form_url": _form_url(place),
        "reason": reason,
        "error": error,
    }
    return render(
        request, "quality/verification_unverify.html", context, status=400 if error else 200
    )


@login_required
@domain_errors
def progress(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Per form and site: verified, partly, changed since verification, not verified."""
    project, rights = selectors.require_progress_access(request.user, project_id)
    form_name = request.GET.get("form", "")
    status = request.GET.get("status", "")
    result = selectors.verification_progress(
        request.user, project, rights, form_name=form_name, status=status
    )
    forms = [(row.form_name, row.form_label) for row in result.rows]
    context = {
        "project": project,
        "nav": "verification",
        "progress": result,
        "grouped": any(row.group for row in result.rows),
        "forms": list(dict.fromkeys(forms)),
        "form_filter": form_name,
        "status_filter": status,
        "max_listed": selectors.MAX_LISTED,
    }
    return render(request, "quality/verification_progress.html", context)
