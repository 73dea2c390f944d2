"""Asking for a project (users who may not create one) and deciding (administrators)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from opencrf.accounts.decorators import administrator_required
from opencrf.accounts.models import User
from opencrf.core.errors import InvalidInput
from opencrf.core.middleware import client_address
from opencrf.projects import requests
from opencrf.projects.request_forms import (
    ProjectRequestApproveForm,
    ProjectRequestForm,
    ProjectRequestRejectForm,
)
from opencrf.projects.request_models import ProjectRequest, RequestStatus


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
def request_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if requests.may_create_projects(user):
        return redirect("projects:create")
    form = ProjectRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            requests.project_request_create(
                requester=user, address=client_address(request), **form.cleaned_data
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("Request sent. You will hear by e-mail when it is decided.")
            )
            return redirect("project_requests:new")
    mine = ProjectRequest.objects.filter(requester=user).select_related("project")[:20]
    return render(request, "projects/request_new.html", {"form": form, "mine": mine})


@administrator_required
def request_queue(request: HttpRequest) -> HttpResponse:
    pending = ProjectRequest.objects.filter(status=RequestStatus.PENDING).order_by("created_at")
    decided = ProjectRequest.objects.exclude(status=RequestStatus.PENDING)
    context = {
        "pending": pending.select_related("requester"),
        "decided": decided.select_related("requester", "decided_by", "project")[:50],
        "section": "project_requests",
    }
    return render(request, "projects/request_queue.html", context)


@administrator_required
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    project_request = get_object_or_404(
        ProjectRequest.objects.select_related("requester"), pk=request_id
    )
    approve, reject = ProjectRequestApproveForm(), ProjectRequestRejectForm()
    if request.method == "POST":
        if project_request.status != RequestStatus.PENDING:
            raise Http404
        if request.POST.get("action") == "approve":
            approve = ProjectRequestApproveForm(request.POST)
            if approve.is_valid():
                project = requests.project_request_approve(
                    request=project_request,
                    actor=_user(request),
                    note=approve.cleaned_data["note"],
                    address=client_address(request),
                    request_id=getattr(request, "request_id", ""),
                )
                messages.success(request, _("Project created for the requester."))
                return redirect("projects:home", project_id=project.pk)
        elif request.POST.get("action") == "reject":
            reject = ProjectRequestRejectForm(request.POST)
            if reject.is_valid():
                requests.project_request_reject(
                    request=project_request,
                    actor=_user(request),
                    reason=reject.cleaned_data["reason"],
                    address=client_address(request),
                )
                messages.success(request, _("Request rejected; the reason has been sent."))
                return redirect("project_requests:queue")
    context = {
        "project_request": project_request,
        "approve_form": approve,
        "reject_form": reject,
        "section": "project_requests",
    }
    return render(request, "projects/request_detail.html", context)
