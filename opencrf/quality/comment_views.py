"""Adding, editing and deleting comments of a field's comment log (shown on its thread page)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.core.views import domain_errors
from opencrf.projects.selectors import access_project
from opencrf.quality import comment_services as services
from opencrf.quality.comment_selectors import access_comment
from opencrf.quality.query_selectors import access_field_place
from opencrf.quality.query_views import render_thread, thread_url


@login_required
@require_POST
@domain_errors
def comment_add(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
    field_name: str,
) -> HttpResponse:
    project = access_project(request.user, project_id)
    place = access_field_place(
        request.user, project, record_id, event_name, form_name, instance, field_name
    )
    text = request.POST.get("text", "")
    try:
        comment = services.comment_add(
            context=AuditContext.from_request(request), place=place, text=text
        )
    except InvalidInput as error:
        posted = {"text": text}
        return render_thread(request, place, error=error.message, posted=posted, target="comment")
    messages.success(request, _("The comment was added."))
    return redirect(thread_url(place) + f"#comment-{comment.pk}")


@login_required
@require_POST
@domain_errors
def comment_edit(request: AuthedRequest, project_id: int, comment_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    comment, place = access_comment(request.user, project, comment_id)
    text = request.POST.get("text", "")
    try:
        services.comment_edit(
            context=AuditContext.from_request(request), comment=comment, text=text
        )
    except InvalidInput as error:
        posted = {"text": text}
        target = f"comment-{comment.pk}"
        return render_thread(request, place, error=error.message, posted=posted, target=target)
    messages.success(request, _("The comment was changed."))
    return redirect(thread_url(place) + f"#comment-{comment.pk}")


@login_required
@require_POST
@domain_errors
def comment_delete(request: AuthedRequest, project_id: int, comment_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    comment, place = access_comment(request.user, project, comment_id)
    try:
        services.comment_delete(context=AuditContext.from_request(request), comment=comment)
    except InvalidInput as error:
        return render_thread(request, place, error=error.message)
    messages.success(request, _("The comment was deleted."))
    return redirect(thread_url(place))
