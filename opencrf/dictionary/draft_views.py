"""Draft mode pages: enter, upload a dictionary into the draft, review, submit, decide."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.decorators import administrator_required
from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.dictionary import draft_services
from opencrf.dictionary.csvio import read_dictionary_csv
from opencrf.dictionary.draft_impact import draft_review
from opencrf.dictionary.drafts import active_draft, design_rows, design_save
from opencrf.dictionary.forms import DictionaryUploadForm
from opencrf.dictionary.models import DictionaryDraft, DraftStatus
from opencrf.dictionary.problems import DictionaryFileError
from opencrf.dictionary.services import DictionaryInvalid, dictionary_problems
from opencrf.dictionary.views import _csv_response
from opencrf.projects.lifecycle import pending_status_requests
from opencrf.projects.selectors import access_project, access_project_design, member_rights


def _page(request: AuthedRequest, project_id: int, **extra: object) -> HttpResponse:
    project = access_project_design(request.user, project_id)
    draft = active_draft(project)
    context = {
        "project": project,
        "nav": "draft",
        "draft": draft,
        "form": DictionaryUploadForm(),
        "base": design_rows(project)[2],
        "is_admin": request.user.is_superuser,
        "problems": [],
        "safe_auto_apply": draft_services.designer_may_apply_safe(),
        **extra,
    }
    return render(request, "dictionary/draft.html", context, status=400 if extra else 200)


@login_required
@domain_errors
def draft_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    return _page(request, project_id)


@login_required
@require_POST
@domain_errors
def draft_enter(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project_design(request.user, project_id)
    try:
        draft_services.draft_enter(context=AuditContext.from_request(request), project=project)
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Draft mode is on: changes stay in the draft until applied."))
    return redirect("dictionary:draft", project_id=project.pk)


@login_required
@require_POST
@domain_errors
def draft_upload(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Replace the draft's rows with an uploaded data dictionary (nothing live changes)."""
    project = access_project_design(request.user, project_id)
    form = DictionaryUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, project_id, form=form)
    limit = settings.OPENCRF_DICTIONARY_MAX_BYTES
    try:
        parsed = read_dictionary_csv(form.cleaned_data["file"].read(limit + 1), max_bytes=limit)
    except DictionaryFileError as error:
        return _page(request, project_id, problems=error.problems)
    problems = dictionary_problems(parsed.rows, row_numbers=parsed.row_numbers)
    if problems:
        return _page(request, project_id, problems=problems)
    try:
        design_save(
            context=AuditContext.from_request(request),
            project=project,
            rows=parsed.rows,
            instrument_labels={},
            base=whole_number(request.POST.get("base", ""), 9) or 0,
            note=_("Data dictionary uploaded into the draft"),
        )
    except DictionaryInvalid as error:
        return _page(request, project_id, problems=error.problems)
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect("dictionary:draft", project_id=project.pk)
    messages.success(request, _("The draft now holds the uploaded dictionary; review it."))
    return redirect("dictionary:draft_review", project_id=project.pk)


@login_required
@domain_errors
def draft_download(request: AuthedRequest, project_id: int) -> StreamingHttpResponse:
    project = access_project_design(request.user, project_id)
    rows, _labels, _base = design_rows(project)
    return _csv_response(rows, project, "_draft")


@login_required
@domain_errors
def draft_review_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project_design(request.user, project_id)
    draft = active_draft(project)
    if draft is None:
        messages.info(request, _("This project has no draft."))
        return redirect("dictionary:draft", project_id=project.pk)
    review = draft_review(project, draft)
    context = {
        "project": project,
        "nav": "draft",
        "draft": draft,
        "review": review,
        "critical_count": sum(change.critical for change in review.changes),
        # A member of a data access group sees counts only: the records named belong to
        # every group.
        "show_records": member_rights(request.user, project).group_id is None,
        "is_admin": request.user.is_superuser,
        "safe_auto_apply": draft_services.designer_may_apply_safe(),
    }
    return render(request, "dictionary/draft_review.html", context)


def _act(request: AuthedRequest, project_id: int, action: str) -> HttpResponse:
    project = access_project(request.user, project_id)
    context = AuditContext.from_request(request)
    comment = request.POST.get("comment", "")
    try:
        if action == "submit":
            access_project_design(request.user, project_id)
            draft = draft_services.draft_submit(context=context, project=project)
            done = (
                _("The draft was applied.")
                if draft.status == DraftStatus.APPLIED
                else _("The draft was submitted; an administrator will review it.")
            )
        elif action == "discard":
            access_project_design(request.user, project_id)
            draft_services.draft_discard(context=context, project=project)
            done = _("The draft was discarded; the live design is unchanged.")
        elif action == "approve":
            draft_services.draft_approve(context=context, project=project, comment=comment)
            done = _("The draft was approved and applied.")
        else:
            draft_services.draft_reject(context=context, project=project, comment=comment)
            done = _("The draft was returned to its designers.")
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect("dictionary:draft_review", project_id=project.pk)
    messages.success(request, done)
    return redirect("dictionary:draft", project_id=project.pk)


@login_required
@require_POST
@domain_errors
def draft_submit(request: AuthedRequest, project_id: int) -> HttpResponse:
    return _act(request, project_id, "submit")


@login_required
@require_POST
@domain_errors
def draft_discard(request: AuthedRequest, project_id: int) -> HttpResponse:
    return _act(request, project_id, "discard")


@administrator_required
@require_POST
@domain_errors
def draft_approve(request: AuthedRequest, project_id: int) -> HttpResponse:
    return _act(request, project_id, "approve")


@administrator_required
@require_POST
@domain_errors
def draft_reject(request: AuthedRequest, project_id: int) -> HttpResponse:
    return _act(request, project_id, "reject")


@administrator_required
def approval_queue(request: AuthedRequest) -> HttpResponse:
    """Administrators' queue: submitted drafts and requests to move to production."""
    drafts = DictionaryDraft.objects.filter(status=DraftStatus.SUBMITTED).select_related(
        "project", "submitted_by"
    )
    context = {
        "drafts": drafts.order_by("submitted_at"),
        "status_requests": pending_status_requests(),
        "section": "approvals",
    }
    return render(request, "dictionary/draft_queue.html", context)
