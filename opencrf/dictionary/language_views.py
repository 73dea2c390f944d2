"""Multi-language forms: the page that lists a project's languages and takes translation files."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.downloads import content_disposition
from opencrf.core.views import domain_errors
from opencrf.dictionary import translation_services as services
from opencrf.dictionary.forms import LanguageAddForm, TranslationUploadForm
from opencrf.dictionary.translation_selectors import (
    language_progress,
    project_items,
    translation_table,
)
from opencrf.dictionary.translations import (
    MAX_FILE_BYTES,
    TranslationFileError,
    write_translation_file,
)
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Project

# Languages offered first on the add form; any ISO code can be typed instead.
SUGGESTED = (("ja", "日本語"), ("en", "English"))


def _page(
    request: AuthedRequest,
    project: Project,
    *,
    add_form: LanguageAddForm | None = None,
    upload_form: TranslationUploadForm | None = None,
    problems: list[object] | None = None,
    upload_language: str = "",
    status: int = 200,
) -> HttpResponse:
    progress = language_progress(project)
    have = {p.language.code.lower() for p in progress}
    context = {
        "project": project,
        "nav": "languages",
        "progress": progress,
        "add_form": add_form or LanguageAddForm(),
        "upload_form": upload_form or TranslationUploadForm(),
        "problems": problems or [],
        "upload_language": upload_language,
        "suggested": [(code, name) for code, name in SUGGESTED if code not in have],
        "site_languages": settings.LANGUAGES,
    }
    return render(request, "dictionary/languages.html", context, status=status)


@login_required
@domain_errors
def languages_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project_design(request.user, project_id)
    return _page(request, project)


@login_required
@require_POST
@domain_errors
def language_add(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project_design(request.user, project_id)
    form = LanguageAddForm(request.POST)
    if not form.is_valid():
        return _page(request, project, add_form=form, status=400)
    language = services.language_add(
        context=AuditContext.from_request(request),
        project=project,
        code=form.cleaned_data["code"],
        display_name=form.cleaned_data["display_name"],
    )
    messages.success(request, _("The language %(name)s was added.") % {"name": str(language)})
    return redirect("dictionary:languages", project_id=project.pk)


@login_required
@require_POST
@domain_errors
def language_change(request: AuthedRequest, project_id: int, code: str) -> HttpResponse:
    project = project_selectors.access_project_design(request.user, project_id)
    context = AuditContext.from_request(request)
    if request.POST.get("action") == "base":
        services.language_set_base(context=context, project=project, code=code)
        messages.success(request, _("“%(code)s” is now the base language.") % {"code": code})
    elif request.POST.get("action") == "remove":
        services.language_remove(context=context, project=project, code=code)
        messages.success(request, _("The language “%(code)s” was removed.") % {"code": code})
    return redirect("dictionary:languages", project_id=project.pk)


@login_required
@domain_errors
def translation_download(request: AuthedRequest, project_id: int, code: str) -> HttpResponse:
    project = project_selectors.access_project_design(request.user, project_id)
    language = project.languages.filter(code=code).first()
    if language is None:
        return _page(request, project, status=404)
    text = write_translation_file(project_items(project), translation_table(project, code))
    title = slugify(project.title, allow_unicode=True) or "project"
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition(f"{title}_translation_{code}.csv")
    return response


@login_required
@require_POST
@domain_errors
def translation_upload(request: AuthedRequest, project_id: int, code: str) -> HttpResponse:
    project = project_selectors.access_project_design(request.user, project_id)
    form = TranslationUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, project, upload_form=form, upload_language=code, status=400)
    data = form.cleaned_data["file"].read(MAX_FILE_BYTES + 1)
    try:
        counts = services.translations_upload(
            context=AuditContext.from_request(request), project=project, code=code, data=data
        )
    except TranslationFileError as error:
        return _page(
            request, project, problems=list(error.problems), upload_language=code, status=400
        )
    messages.success(
        request,
        _(
            "Translations for “%(code)s”: %(set)d set, %(removed)d removed, "
            "%(outdated)d made from an older base text."
        )
        % {"code": code, **counts},
    )
    return redirect("dictionary:languages", project_id=project.pk)
