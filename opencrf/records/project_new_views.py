"""Pages that create a project from something: a copy of a project, a template, Project XML.

They sit in records because a copy and Project XML bring records (DESIGN §3: projects may
not import records); the blank project stays `projects.views.project_new`, which links here.
Who may create projects is decided as there: administrators and users allowed to create
projects; everyone else is sent to the project request form.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opencrf.accounts.models import User
from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.core.forms import StyledForm
from opencrf.core.views import domain_errors
from opencrf.projects.models import Project
from opencrf.projects.selectors import can_design, projects_visible_to
from opencrf.projects.templates_data import TEMPLATES
from opencrf.records.project_copy import (
    CopyOptions,
    project_copy,
    project_create_from_template,
)
from opencrf.records.project_xml import project_create_from_xml

COPY_OPTIONS = (
    ("records", gettext_lazy("Records and their data (with uploaded files)")),
    ("users", gettext_lazy("Users, their rights and the user roles")),
    ("groups", gettext_lazy("Data access groups")),
    ("reports", gettext_lazy("Reports")),
    ("surveys", gettext_lazy("Survey settings and the survey queue")),
)


def _may_create(user: User) -> bool:
    return bool(user.is_superuser or user.may_create_projects)


def designable_projects(user: User) -> list[Project]:
    """The projects `user` may copy: those in which they hold design rights."""
    projects: QuerySet[Project] = projects_visible_to(user).order_by("title", "id")
    return [project for project in projects if can_design(user, project)]


class CopyForm(StyledForm):
    source = forms.TypedChoiceField(label=gettext_lazy("Project to copy"), coerce=int)
    title = forms.CharField(label=gettext_lazy("Title of the new project"), max_length=200)
    records = forms.BooleanField(label=COPY_OPTIONS[0][1], required=False)
    users = forms.BooleanField(label=COPY_OPTIONS[1][1], required=False)
    groups = forms.BooleanField(label=COPY_OPTIONS[2][1], required=False)
    reports = forms.BooleanField(label=COPY_OPTIONS[3][1], required=False)
    surveys = forms.BooleanField(label=COPY_OPTIONS[4][1], required=False)

    def __init__(self, *args: object, projects: list[Project], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["source"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(p.pk, f"#{p.pk} {p.title}") for p in projects]


class TemplateForm(StyledForm):
    template = forms.ChoiceField(
        label=gettext_lazy("Template"),
        choices=[(t.name, t.title) for t in TEMPLATES],
        widget=forms.RadioSelect,
    )
    title = forms.CharField(label=gettext_lazy("Title of the new project"), max_length=200)


class XmlForm(StyledForm):
    file = forms.FileField(label=gettext_lazy("Project XML file"))
    title = forms.CharField(
        label=gettext_lazy("Title of the new project"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Leave blank to keep the title the file gives."),
    )


def _created(request: AuthedRequest, project: Project) -> HttpResponse:
    messages.success(request, _("Project created."))
    return redirect("projects:home", project_id=project.pk)


@login_required
@domain_errors
def project_new_copy(request: AuthedRequest) -> HttpResponse:
    if not _may_create(request.user):
        return redirect("project_requests:new")
    projects = designable_projects(request.user)
    chosen = request.GET.get("source", "")
    initial: dict[str, object] = {}
    source = next((p for p in projects if str(p.pk) == chosen), None)
    if source is not None:
        initial = {"source": source.pk, "title": _("%(title)s (copy)") % {"title": source.title}}
    form = CopyForm(request.POST or None, projects=projects, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source = next(p for p in projects if p.pk == data["source"])
        options = CopyOptions(**{name: bool(data[name]) for name, _label in COPY_OPTIONS})
        try:
            project = project_copy(
                context=AuditContext.from_request(request),
                source=source,
                title=data["title"],
                options=options,
            )
        except (InvalidInput, PermissionDenied) as error:
            form.add_error(None, error.message)
        else:
            return _created(request, project)
    context = {"form": form, "has_projects": bool(projects), "options": COPY_OPTIONS}
    return render(request, "projects/copy.html", context)


@login_required
@domain_errors
def project_new_template(request: AuthedRequest) -> HttpResponse:
    if not _may_create(request.user):
        return redirect("project_requests:new")
    form = TemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_create_from_template(
                context=AuditContext.from_request(request),
                name=form.cleaned_data["template"],
                title=form.cleaned_data["title"],
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            return _created(request, project)
    return render(request, "projects/copy_template.html", {"form": form, "templates": TEMPLATES})


@login_required
@domain_errors
def project_new_xml(request: AuthedRequest) -> HttpResponse:
    if not _may_create(request.user):
        return redirect("project_requests:new")
    form = XmlForm(request.POST or None, request.FILES or None)
    limit = settings.OPENCRF_IMPORT_MAX_BYTES
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read(limit + 1)
        try:
            if len(data) > limit:
                raise InvalidInput(
                    _("The file is larger than %(limit)s bytes.") % {"limit": f"{limit:,}"}
                )
            project = project_create_from_xml(
                context=AuditContext.from_request(request),
                data=data,
                title=form.cleaned_data["title"],
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            return _created(request, project)
    return render(request, "projects/copy_xml.html", {"form": form, "limit": limit})
