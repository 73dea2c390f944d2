"""The Data Import Tool pages: upload and choose options, preview, confirm, template download.

Parse at the edge, call `import_tool_run`, render. Every page needs the project's "Data Import
Tool" right (`data_import`, as in REDCap); what a member may import is then decided by the
import service, as for the API (a grouped member imports into their group only).
"""

from __future__ import annotations

import csv
import io

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.models import AuditSource
from opencrf.audit.services import AuditContext
from opencrf.core.downloads import content_disposition
from opencrf.core.errors import PermissionDenied
from opencrf.core.views import domain_errors
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Project
from opencrf.records.import_files import DATE_FORMATS, DELIMITERS, ENCODINGS, FileOptions
from opencrf.records.import_staging import (
    StagedImport,
    ToolOptions,
    import_discard,
    import_stage,
    import_staged,
)
from opencrf.records.import_tool import ImportOutcome, import_template, import_tool_run

SHOWN_RECORDS = 200  # record links on the result page

LAYOUT_CHOICES = [
    ("flat", gettext_lazy("Rows are records (flat): one row per record, event and instance")),
    ("eav", gettext_lazy("EAV: record, field_name, value (one row per value)")),
]
DATE_CHOICES = [
    ("YMD", gettext_lazy("YYYY-MM-DD (or YYYY/MM/DD)")),
    ("MDY", gettext_lazy("M/D/Y (MM/DD/YYYY)")),
    ("DMY", gettext_lazy("D/M/Y (DD/MM/YYYY)")),
]
OVERWRITE_CHOICES = [
    ("normal", gettext_lazy("No, blank values are ignored")),
    ("overwrite", gettext_lazy("Yes, blank values overwrite stored values")),
]
DELIMITER_CHOICES = [
    ("comma", gettext_lazy("Comma (,)")),
    ("semicolon", gettext_lazy("Semicolon (;)")),
    ("tab", gettext_lazy("Tab")),
]
ALLOW_NEW_CHOICES = [
    ("yes", gettext_lazy("Yes, new records may be created")),
    ("no", gettext_lazy("No, only records that exist may be updated")),
]
ENCODING_CHOICES = [
    ("utf-8", gettext_lazy("UTF-8")),
    ("shift_jis", gettext_lazy("Shift_JIS (CP932, CSV saved by Japanese Excel)")),
]
assert {c for c, _l in DATE_CHOICES} == set(DATE_FORMATS)
assert {c for c, _l in DELIMITER_CHOICES} == set(DELIMITERS)
assert {c for c, _l in ENCODING_CHOICES} == set(ENCODINGS)


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or Excel (.xlsx) file"))
    layout = forms.ChoiceField(label=gettext_lazy("Format"), choices=LAYOUT_CHOICES, initial="flat")
    date_format = forms.ChoiceField(
        label=gettext_lazy("Date format of the file"), choices=DATE_CHOICES, initial="YMD"
    )
    overwrite = forms.ChoiceField(
        label=gettext_lazy("Do blank values overwrite stored values?"),
        choices=OVERWRITE_CHOICES,
        initial="normal",
    )
    delimiter = forms.ChoiceField(
        label=gettext_lazy("CSV delimiter"), choices=DELIMITER_CHOICES, initial="comma"
    )
    encoding = forms.ChoiceField(
        label=gettext_lazy("Character encoding of a CSV file"),
        choices=ENCODING_CHOICES,
        initial="utf-8",
    )
    allow_new = forms.ChoiceField(
        label=gettext_lazy("May the import create new records?"),
        choices=ALLOW_NEW_CHOICES,
        initial="yes",
        required=False,  # not sent: yes, as REDCap's default
    )
    force_auto_number = forms.BooleanField(
        label=gettext_lazy(
            "Number new records automatically (the record ids of the file are replaced)"
        ),
        required=False,
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name, bound in self.fields.items():
            if name != "force_auto_number":
                bound.widget.attrs["class"] = "form-control" if name == "file" else "form-select"

    def tool_options(self) -> ToolOptions:
        data = self.cleaned_data
        file = FileOptions(
            layout=data["layout"],
            delimiter=data["delimiter"],
            encoding=data["encoding"],
            date_format=data["date_format"],
        )
        return ToolOptions(
            file=file,
            overwrite=data["overwrite"] == "overwrite",
            force_auto_number=data["force_auto_number"],
            allow_new=data["allow_new"] != "no",
        )


def _project(request: AuthedRequest, project_id: int) -> Project:
    """The project if the user holds its Data Import Tool right; NotFound for a non-member."""
    project = project_selectors.access_project(request.user, project_id)
    if not project_selectors.member_rights(request.user, project).data_import:
        raise PermissionDenied(_("You do not have the Data Import Tool right in this project."))
    return project


def _context(request: AuthedRequest) -> AuditContext:
    return AuditContext.from_request(request, source=AuditSource.IMPORT)


def _max_bytes() -> int:
    return int(settings.OPENCRF_IMPORT_MAX_BYTES)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def import_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    """The upload form; a good upload is staged and previewed at once."""
    project = _project(request, project_id)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    page = {"project": project, "nav": "import", "form": form, "file_error": ""}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read(_max_bytes() + 1)
        if len(data) > _max_bytes():
            page["file_error"] = _(
                "The file is larger than the %(limit)s bytes accepted (OPENCRF_IMPORT_MAX_BYTES)."
            ) % {"limit": f"{_max_bytes():,}"}
        else:
            staged = import_stage(
                project.pk, request.user.pk, data, upload.name, form.tool_options()
            )
            return _preview(request, project, staged)
    status = 400 if request.method == "POST" else 200
    return render(request, "records/import_tool.html", page, status=status)


def _preview(
    request: AuthedRequest, project: Project, staged: StagedImport, *, stale: bool = False
) -> HttpResponse:
    outcome = import_tool_run(
        context=_context(request), project=project, staged=staged, max_bytes=_max_bytes()
    )
    if outcome.errors:  # refused: there is nothing to confirm, so nothing is kept
        import_discard(project.pk, request.user.pk, staged.token)
    page = {
        "project": project,
        "nav": "import",
        "staged": staged,
        "outcome": outcome,
        "stale": stale,
        "hidden_changes": outcome.change_count - len(outcome.changes),
        "hidden_errors": outcome.error_count - len(outcome.shown_errors),
    }
    return render(
        request, "records/import_tool_preview.html", page, status=400 if outcome.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def import_confirm(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Apply the staged file if it still does what was previewed; else preview it again.

    A GET (the result page reloaded, or the language switched there) goes to the upload page.
    """
    project = _project(request, project_id)
    if request.method == "GET":
        return redirect("import_tool:upload", project_id=project.pk)
    token = request.POST.get("token", "")
    staged = import_staged(project.pk, request.user.pk, token)
    if staged is None:
        page = {"project": project, "nav": "import", "form": ImportUploadForm(), "file_error": ""}
        page["file_error"] = _(
            "That upload has expired or was already imported; upload the file again."
        )
        return render(request, "records/import_tool.html", page, status=400)
    if request.POST.get("cancel"):
        import_discard(project.pk, request.user.pk, token)
        page = {"project": project, "nav": "import", "form": ImportUploadForm(), "file_error": ""}
        page["notice"] = _("The import was cancelled; nothing was changed.")
        return render(request, "records/import_tool.html", page)
    outcome = import_tool_run(
        context=_context(request),
        project=project,
        staged=staged,
        max_bytes=_max_bytes(),
        apply=True,
        expected=request.POST.get("fingerprint", ""),
    )
    if not outcome.applied:
        return _preview(request, project, staged, stale=True)
    import_discard(project.pk, request.user.pk, token)
    return _done(request, project, staged, outcome)


def _done(
    request: AuthedRequest, project: Project, staged: StagedImport, outcome: ImportOutcome
) -> HttpResponse:
    records = [*outcome.new_records, *outcome.updated_records]
    page = {
        "project": project,
        "nav": "import",
        "staged": staged,
        "outcome": outcome,
        "records": records[:SHOWN_RECORDS],
        "hidden_records": max(0, len(records) - SHOWN_RECORDS),
    }
    return render(request, "records/import_tool_done.html", page)


@login_required
@domain_errors
def import_template_download(request: AuthedRequest, project_id: int) -> HttpResponse:
    """A CSV holding only the header row of an import file for this project."""
    project = _project(request, project_id)
    layout = "eav" if request.GET.get("layout") == "eav" else "flat"
    rights = project_selectors.member_rights(request.user, project)
    header = import_template(project, layout=layout, grouped=rights.group_id is not None)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(header)
    title = slugify(project.title, allow_unicode=True) or "project"
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    suffix = "_EAV" if layout == "eav" else ""
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition(
        f"{title}_ImportTemplate{suffix}_{stamp}.csv"
    )
    return response
