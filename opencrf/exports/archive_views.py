"""The export archive's pages: the list with progress, its JSON poll, and downloads.

Which entries a member sees is decided in `archive` (`exports_visible_to`, `access_export`);
downloads stream the stored file and are audited there.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.downloads import content_disposition
from opencrf.core.errors import PermissionDenied
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.exports import archive, selectors
from opencrf.exports.models import ExportFile
from opencrf.exports.services import FORMATS
from opencrf.exports.views import FORMAT_LABELS
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Project


def _project(request: AuthedRequest, project_id: int) -> Project:
    project = project_selectors.access_project(request.user, project_id)
    rights = project_selectors.member_rights(request.user, project)
    if not selectors.may_use_reports(rights, project):
        raise PermissionDenied(_("You have no data export rights in this project."))
    return project


def _state(project: Project, export: ExportFile) -> dict[str, Any]:
    downloadable = archive.is_downloadable(export)
    expired = export.status == ExportFile.Status.EXPIRED or (
        export.status == ExportFile.Status.DONE and not downloadable
    )
    return {
        "id": export.pk,
        "status": "expired" if expired else export.status,
        "rows_written": export.rows_written,
        "rows_expected": export.rows_expected,
        "percent": archive.progress_of(export),
        "download": reverse("exports:archive_download", args=[project.pk, export.pk])
        if downloadable
        else "",
    }


@login_required
@require_GET
@domain_errors
def archive_list(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    exports = archive.exports_visible_to(request.user, project)
    rows = [
        {
            "export": export,
            "title": archive.title_of(export),
            "state": _state(project, export),
            "options": ", ".join(export.options.get("deidentify", [])),
            "choices": archive.choices_of(export),
            "format": FORMAT_LABELS.get(export.format, export.format),
        }
        for export in exports
    ]
    context = {
        "project": project,
        "nav": "export_archive",
        "rows": rows,
        "keep_days": settings.OPENCRF_EXPORT_KEEP_DAYS,
        "status_url": reverse("exports:archive_status", args=[project.pk]),
    }
    return render(request, "exports/archive.html", context)


@login_required
@require_GET
@domain_errors
def archive_status(request: AuthedRequest, project_id: int) -> JsonResponse:
    """The state of the entries `?id=` names that the user may see (others are left out)."""
    project = _project(request, project_id)
    ids = [number for value in request.GET.getlist("id") if (number := whole_number(value, 12))]
    exports = archive.exports_by_id(request.user, project, ids)
    return JsonResponse({"exports": [_state(project, export) for export in exports]})


@login_required
@require_GET
@domain_errors
def archive_download(request: AuthedRequest, project_id: int, export_id: int) -> FileResponse:
    project = _project(request, project_id)
    export = archive.access_export(request.user, project, export_id)
    stored = archive.export_download_open(context=AuditContext.from_request(request), export=export)
    response = FileResponse(stored, content_type=FORMATS[export.format].media_type)
    response["Content-Length"] = str(export.size)
    response["Content-Disposition"] = content_disposition(export.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
