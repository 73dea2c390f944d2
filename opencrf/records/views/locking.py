"""The lock panel's actions: lock and unlock a form or a record, sign a form, edit lock texts.

Access is decided by `load_form_page` (a record of another group is not found); rights and
rules by the services of records/locking.py and records/signatures.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts import lockout
from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.core.views import domain_errors
from opencrf.projects import selectors as project_selectors
from opencrf.records import locking, signatures
from opencrf.records.lock_texts import lock_text_save, lock_texts_of
from opencrf.records.views.design import form_url
from opencrf.records.views.form_page import FormPage, load_form_page


def _back(page: FormPage) -> HttpResponse:
    return redirect(
        form_url(
            page.project, page.record.record_id, page.event, page.instrument.name, page.instance
        )
    )


@login_required
@require_POST
@domain_errors
def form_lock(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
) -> HttpResponse:
    """Lock or unlock this form (`action=lock|unlock`), or its whole record (`record_lock`,
    `record_unlock`)."""
    page = load_form_page(request, project_id, record_id, event_name, form_name, instance)
    context = AuditContext.from_request(request)
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    event, name, instance = page.event, page.instrument.name, page.instance
    try:
        if action == "lock":
            locking.form_lock(
                context=context,
                record=page.record,
                event=event,
                form_name=name,
                instance=instance,
                reason=reason,
            )
            messages.success(request, _("The form is locked."))
        elif action == "unlock":
            locking.form_unlock(
                context=context,
                record=page.record,
                event=event,
                form_name=name,
                instance=instance,
                reason=reason,
            )
            messages.success(request, _("The form is unlocked."))
        elif action == "record_lock":
            locking.record_lock(context=context, record=page.record, reason=reason)
            messages.success(request, _("The whole record is locked."))
        elif action == "record_unlock":
            locking.record_unlock(context=context, record=page.record, reason=reason)
            messages.success(request, _("The whole record is unlocked."))
        else:
            raise InvalidInput(_("Unknown action."))
    except InvalidInput as error:
        messages.error(request, error.message)
    return _back(page)


@login_required
@require_POST
@domain_errors
def form_sign(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
) -> HttpResponse:
    """Sign this locked form after the signer re-enters the password (and one-time code)."""
    page = load_form_page(request, project_id, record_id, event_name, form_name, instance)
    rights = project_selectors.member_rights(request.user, page.project)
    if not rights.e_signature:  # refused before any password is checked or counted
        return render(
            request,
            "403.html",
            {"reason": _("You do not have the right to sign forms.")},
            status=403,
        )
    password, code = request.POST.get("password", ""), request.POST.get("code", "")
    if not signatures.signature_credentials_check(request, request.user, password, code):
        if lockout.is_locked_out(request, request.user.username):
            logout(request)
            return redirect("accounts:login")
        messages.error(request, _("The password or the one-time code is not correct; not signed."))
        return _back(page)
    try:
        signatures.form_sign(
            context=AuditContext.from_request(request),
            record=page.record,
            event=page.event,
            form_name=page.instrument.name,
            instance=page.instance,
            meaning=request.POST.get("meaning", ""),
            form_hash=request.POST.get("form_hash", ""),
        )
    except InvalidInput as error:
        messages.error(request, error.message)
        return _back(page)
    messages.success(request, _("The form is signed."))
    return _back(page)


@login_required
@domain_errors
def lock_texts(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Each form's attestation text, in English and Japanese (Project Design right)."""
    project = project_selectors.access_project_design(request.user, project_id)
    texts = lock_texts_of(project)
    if request.method == "POST":
        try:
            lock_text_save(
                context=AuditContext.from_request(request),
                project=project,
                form_name=request.POST.get("form_name", ""),
                text_en=request.POST.get("text_en", ""),
                text_ja=request.POST.get("text_ja", ""),
            )
        except InvalidInput as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The lock text is saved."))
        return redirect("lock_texts:edit", project_id=project.pk)
    context = {"project": project, "nav": "lock_texts", "texts": texts}
    return render(request, "records/lock_texts.html", context)
