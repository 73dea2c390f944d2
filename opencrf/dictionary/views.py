"""Design pages: the data dictionary, its revisions, instruments, designations, repeats."""

from __future__ import annotations

import itertools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.downloads import content_disposition
from opencrf.core.errors import InvalidInput
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.dictionary import selectors, services, staging
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.csvio import iter_dictionary_csv, parse_dictionary_csv, read_dictionary_csv
from opencrf.dictionary.design import design_of
from opencrf.dictionary.diff import diff_dictionaries
from opencrf.dictionary.form_logic import form_logic_spec
from opencrf.dictionary.forms import DictionaryUploadForm
from opencrf.dictionary.models import RevisionSource
from opencrf.dictionary.piping import make_piper
from opencrf.dictionary.problems import DictionaryFileError
from opencrf.dictionary.rendering import instrument_layout
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Project
from opencrf.projects.services import event_instruments_set, repeat_settings_set


def _csv_response(rows: list[FieldRow], project: Project, suffix: str) -> StreamingHttpResponse:
    stamp = timezone.localtime().strftime("%Y-%m-%d_%H%M")
    # The title in its own script (sent as `filename*`), less what a file name cannot hold.
    title = slugify(project.title, allow_unicode=True) or "project"
    name = f"{title}_DataDictionary{suffix}_{stamp}.csv"
    # The byte-order mark lets Excel open Japanese text as UTF-8; every reader skips it.
    body = itertools.chain(["\ufeff"], iter_dictionary_csv(rows))
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition(name)
    return response


@login_required
@domain_errors
def dictionary_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project_design(request.user, project_id)
    form = DictionaryUploadForm(request.POST or None, request.FILES or None)
    context = {
        "project": project,
        "form": form,
        "nav": "dictionary",
        "field_count": project.fields.count(),
        "problems": [],
    }
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        limit = settings.OPENCRF_DICTIONARY_MAX_BYTES
        data = upload.read(limit + 1)
        try:
            parsed = read_dictionary_csv(data, max_bytes=limit)
        except DictionaryFileError as error:
            context["problems"] = error.problems
        else:
            problems = services.dictionary_problems(parsed.rows, row_numbers=parsed.row_numbers)
            if not problems:
                return _preview_upload(request, project, parsed.rows, data)
            context["problems"] = problems
        return render(request, "dictionary/dictionary.html", context, status=400)
    return render(request, "dictionary/dictionary.html", context)


def _preview_upload(
    request: AuthedRequest, project: Project, rows: list[FieldRow], data: bytes
) -> HttpResponse:
    token = staging.stage_upload(project.pk, request.user.pk, data)
    diff = diff_dictionaries(selectors.project_rows(project), rows)
    context = {
        "project": project,
        "nav": "dictionary",
        "diff": diff,
        "token": token,
        "base_revision": selectors.latest_revision_number(project),
        "field_count": len(rows),
        "form_names": services.form_names(rows),
    }
    return render(request, "dictionary/preview.html", context)


@login_required
@require_POST
@domain_errors
def dictionary_confirm(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project_design(request.user, project_id)
    token = request.POST.get("token", "")
    data = staging.staged_upload(project.pk, request.user.pk, token)
    if data is None:
        messages.error(
            request, _("That upload has expired or was already applied; upload the file again.")
        )
        return redirect("dictionary:dictionary", project_id=project.pk)
    if request.POST.get("cancel"):
        staging.discard_upload(project.pk, request.user.pk, token)
        messages.info(request, _("The upload was cancelled; nothing was changed."))
        return redirect("dictionary:dictionary", project_id=project.pk)
    try:
        revision = services.dictionary_apply(
            context=AuditContext.from_request(request),
            project=project,
            rows=parse_dictionary_csv(data, max_bytes=settings.OPENCRF_DICTIONARY_MAX_BYTES),
            source=RevisionSource.UPLOAD,
            expected_revision=_int_or_none(request.POST.get("base_revision", "")),
        )
    except (InvalidInput, DictionaryFileError) as error:
        messages.error(request, getattr(error, "message", str(error)))
        return redirect("dictionary:dictionary", project_id=project.pk)
    staging.discard_upload(project.pk, request.user.pk, token)
    messages.success(
        request,
        _("The data dictionary was saved as revision %(number)d.") % {"number": revision.number},
    )
    return redirect("dictionary:instruments", project_id=project.pk)


@login_required
@domain_errors
def dictionary_download(request: AuthedRequest, project_id: int) -> StreamingHttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    return _csv_response(selectors.project_rows(project), project, "")


@login_required
@domain_errors
def revision_list(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    revisions = project.revisions.select_related("created_by").order_by("-number")
    return render(
        request,
        "dictionary/revisions.html",
        {"project": project, "revisions": revisions, "nav": "revisions"},
    )


@login_required
@domain_errors
def revision_download(
    request: AuthedRequest, project_id: int, number: int
) -> StreamingHttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    revision = selectors.revision_by_number(project, number)
    return _csv_response(revision.field_rows(), project, f"_rev{revision.number}")


def _int_or_none(raw: str) -> int | None:
    return whole_number(raw, 9)


def _int_param(request: AuthedRequest, name: str) -> int | None:
    return _int_or_none(request.GET.get(name, ""))


@login_required
@domain_errors
def revision_compare(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    numbers = (_int_param(request, "a"), _int_param(request, "b"))
    if None in numbers:
        messages.error(request, _("Choose two revisions to compare."))
        return redirect("dictionary:revisions", project_id=project.pk)
    old, new = (selectors.revision_by_number(project, n) for n in numbers if n is not None)
    diff = diff_dictionaries(old.field_rows(), new.field_rows())
    context = {"project": project, "old": old, "new": new, "diff": diff, "nav": "revisions"}
    return render(request, "dictionary/compare.html", context)


@login_required
@domain_errors
def instrument_list(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    instruments = selectors.project_instruments(project).prefetch_related("fields")
    context = {
        "project": project,
        "instruments": instruments,
        "nav": "instruments",
        "can_design": project_selectors.can_design(request.user, project),
    }
    return render(request, "dictionary/instruments.html", context)


@login_required
@domain_errors
def instrument_preview(request: AuthedRequest, project_id: int, form_name: str) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    instrument = selectors.instrument_by_name(project, form_name)
    # Multi-language forms: `?lang=` previews a language, else the interface's language.
    design = design_of(project)
    language = request.GET.get("lang", "")[:32] or get_language()
    fields = design.shown_rows(
        (field.as_row() for field in selectors.instrument_fields(instrument)), language
    )
    all_rows = {
        row.field_name: row for row in design.shown_rows(selectors.project_rows(project), language)
    }
    layout = instrument_layout(
        fields,
        record_id_field=next(iter(all_rows), ""),
        pipe=make_piper(all_rows, {}, smart={"record-name": ""}),
    )
    context = {
        "project": project,
        "instrument": instrument,
        "instrument_label": design.instrument_label(instrument, language),
        "languages": list(project.languages.all()),
        "language": language,
        "layout": layout,
        "logic": form_logic_spec(fields, {"project_id": project.pk}),
        "nav": "instruments",
        "readonly": False,
    }
    return render(request, "dictionary/instrument_preview.html", context)


def _form_names(project: Project) -> list[str]:
    return list(project.instruments.values_list("name", flat=True))


@login_required
@domain_errors
def designate(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    if request.method == "POST":
        project = project_selectors.access_project_design(request.user, project_id)
        pairs = _checked_pairs(request.POST.getlist("designate"))
        try:
            event_instruments_set(
                context=AuditContext.from_request(request),
                project=project,
                designations=pairs,
                known_forms=_form_names(project),
            )
        except InvalidInput as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Instrument designations saved."))
        return redirect("dictionary:designate", project_id=project.pk)
    instruments = list(selectors.project_instruments(project))
    events = list(project_selectors.project_events(project))
    designated = project_selectors.designated_forms(project)
    grid = [
        (
            instrument,
            [(event, instrument.name in designated.get(event.pk, set())) for event in events],
        )
        for instrument in instruments
    ]
    context = {
        "project": project,
        "nav": "designate",
        "events": events,
        "grid": grid,
        "can_design": project_selectors.can_design(request.user, project),
    }
    return render(request, "dictionary/designate.html", context)


def _checked_pairs(values: list[str]) -> set[tuple[int, str]]:
    """`"<event id>:<form>"` checkbox values → pairs; malformed values are dropped."""
    pairs = set()
    for value in values:
        event_id, _sep, form_name = value.partition(":")
        if event_id.isdigit() and form_name:
            pairs.add((int(event_id), form_name))
    return pairs


@login_required
@domain_errors
def repeating(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    if request.method == "POST":
        project = project_selectors.access_project_design(request.user, project_id)
        chosen = _repeat_choices(request)
        try:
            repeat_settings_set(
                context=AuditContext.from_request(request),
                project=project,
                settings=chosen,
                known_forms=_form_names(project),
            )
        except InvalidInput as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Repeating instruments and events saved."))
        return redirect("dictionary:repeating", project_id=project.pk)
    context = {
        "project": project,
        "nav": "repeating",
        "sections": _repeat_sections(project),
        "can_design": project_selectors.can_design(request.user, project),
    }
    return render(request, "dictionary/repeating.html", context)


def _repeat_sections(project: Project) -> list[tuple[object, list[dict[str, object]]]]:
    """Per event, the choices offered: the whole event (longitudinal only) and each form."""
    labels = dict(selectors.project_instruments(project).values_list("name", "label"))
    designated = project_selectors.designated_forms(project)
    repeats = project_selectors.repeat_settings(project)
    sections: list[tuple[object, list[dict[str, object]]]] = []
    for event in project_selectors.project_events(project):
        forms = [name for name in labels if name in designated.get(event.pk, set())]
        options: list[dict[str, object]] = (
            [{"form": "*", "label": "", "is_event": True}] if project.is_longitudinal else []
        )
        options += [{"form": name, "label": labels[name], "is_event": False} for name in forms]
        for option in options:
            key = (event.pk, "" if option["form"] == "*" else str(option["form"]))
            option["value"] = f"{event.pk}:{option['form']}"
            option["checked"] = key in repeats
            option["custom_label"] = repeats.get(key, "")
        sections.append((event, options))
    return sections


def _repeat_choices(request: AuthedRequest) -> dict[tuple[int, str], str]:
    """Checked `repeat` boxes (`"<event id>:<form>"`, form `*` = whole event) → labels."""
    chosen: dict[tuple[int, str], str] = {}
    for value in request.POST.getlist("repeat"):
        event_id, _sep, form_name = value.partition(":")
        if event_id.isdigit() and form_name:
            key = (int(event_id), "" if form_name == "*" else form_name)
            chosen[key] = request.POST.get(f"label:{value}", "")[:500]
    return chosen
