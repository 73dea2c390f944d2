"""Pages of the online designer. Every view requires the design right (`access_project_design`:
404 for a project the user cannot see, 403 without the right) before reading or changing
anything. Changes are made by `designer_services` and saved through draft mode's
`design_save` against the base token the page was loaded with.

Each change is a form post that works without JavaScript (it redirects back); designer.js
sends the same posts with `X-Requested-With: fetch` and gets the re-rendered field list
instead, so the page updates in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.downloads import content_disposition
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.dictionary import designer_services as ds
from opencrf.dictionary import drafts
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.designer_data import designer_data
from opencrf.dictionary.designer_forms import FieldForm, InstrumentForm, InstrumentUploadForm
from opencrf.dictionary.designer_tags import ACTION_TAGS
from opencrf.dictionary.designer_translations import (
    PARTS,
    LanguageTexts,
    editor_texts,
    save_field_texts,
)
from opencrf.dictionary.designer_zip import instrument_zip, read_instrument_zip
from opencrf.dictionary.logic_check import logic_checker
from opencrf.dictionary.piping import make_piper
from opencrf.dictionary.problems import Problem
from opencrf.dictionary.rendering import Block, SectionBlock, instrument_layout
from opencrf.dictionary.services import DictionaryInvalid, default_instrument_label
from opencrf.logic import LogicError
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Project

MAX_TEST_RECORDS = 200


def stale_page_message() -> str:
    return _(
        "The design changed since this page was loaded (someone else saved a change); "
        "nothing was saved. Reload the page and make your change again."
    )


_FETCH = "fetch"


@dataclass
class Item:
    """One block of the designer's list: a field (or matrix group, or the form status) drawn
    by the data entry renderer, with its section header, and the fields it holds."""

    blocks: list[Block]
    fields: list[str] = field(default_factory=list)
    editable: bool = True


def _project(request: AuthedRequest, project_id: int) -> Project:
    return project_selectors.access_project_design(request.user, project_id)


def _fetching(request: AuthedRequest) -> bool:
    return request.headers.get("X-Requested-With") == _FETCH


def _posted_design(request: AuthedRequest, project: Project) -> ds.Design:
    """The current design with the base the page was loaded with (a stale one is refused)."""
    design = ds.design_load(project)
    base = whole_number(request.POST.get("base", ""), 9)
    if base is None:
        raise InvalidInput(_("The page is missing its design version; reload it."))
    if base != design.base:
        raise InvalidInput(stale_page_message())
    return ds.Design(rows=design.rows, labels=design.labels, base=base)


def _commit(request: AuthedRequest, project: Project, design: ds.Design, change: ds.Change) -> int:
    return ds.design_commit(
        context=AuditContext.from_request(request), project=project, design=design, change=change
    )


def _error_text(error: InvalidInput) -> str:
    if isinstance(error, DictionaryInvalid):
        details = "; ".join(problem.message for problem in error.problems[:5])
        return f"{error.message} {details}"
    return error.message


# ---------------------------------------------------------------- instruments


@login_required
@require_GET
@domain_errors
def designer_home(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    design = ds.design_load(project)
    counts = designer_data().form_counts(project)
    instruments = [
        {
            "name": name,
            "label": design.label_of(name),
            "fields": len(design.form_rows(name)),
            "stored": counts.get(name, 0),
        }
        for name in design.instruments
    ]
    context = {
        "project": project,
        "nav": "designer",
        "design": design,
        "instruments": instruments,
        "editable": drafts.is_editable(project),
        "create_form": InstrumentForm(),
        "upload_form": InstrumentUploadForm(),
    }
    return render(request, "dictionary/designer_home.html", context)


_INSTRUMENT_OPS: dict[str, Callable[[ds.Design, AuthedRequest, str], ds.Change]] = {
    "rename": lambda d, r, n: ds.instrument_rename(d, n, r.POST.get("label", "")),
    "up": lambda d, r, n: ds.instrument_move(d, n, d.instruments.index(n)),
    "down": lambda d, r, n: ds.instrument_move(d, n, d.instruments.index(n) + 2),
    "move": lambda d, r, n: ds.instrument_move(d, n, _position(r)),
    "copy": lambda d, r, n: ds.instrument_copy(
        d, n, _form_name(r, d, r.POST.get("label", "") or f"{n} copy"), r.POST.get("label", "")
    ),
}


@login_required
@require_POST
@domain_errors
def instrument_action(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    op, name = request.POST.get("op", ""), request.POST.get("instrument", "")
    home = reverse("dictionary:designer", args=[project.pk])
    try:
        design = _posted_design(request, project)
        if op == "create":
            label = request.POST.get("label", "").strip()
            change = ds.instrument_create(design, _form_name(request, design, label), label)
        elif op == "delete":
            return _instrument_delete(request, project, design, name)
        elif op in _INSTRUMENT_OPS:
            design.require_instrument(name)
            change = _INSTRUMENT_OPS[op](design, request, name)
        else:
            raise InvalidInput(_("Unknown action."))
        _commit(request, project, design, change)
    except InvalidInput as error:
        messages.error(request, _error_text(error))
        return redirect(home)
    messages.success(request, _("The design was saved."))
    return redirect(home)


def _position(request: AuthedRequest) -> int:
    position = whole_number(request.POST.get("position", ""), 6)
    if position is None or position < 1:
        raise InvalidInput(_("Give a position: a whole number from 1."))
    return position


def _form_name(request: AuthedRequest, design: ds.Design, label: str) -> str:
    """The posted instrument name, or one made from the label (unique)."""
    given = request.POST.get("name", "").strip()
    if given:
        return given
    if not label.strip():
        raise InvalidInput(_("An instrument needs a label."))
    return ds.name_from_label(label, taken=design.instruments, limit=50, fallback="form")


def _instrument_delete(
    request: AuthedRequest, project: Project, design: ds.Design, name: str
) -> HttpResponse:
    design.require_instrument(name)
    stored = designer_data().form_counts(project).get(name, 0)
    context = {
        "project": project,
        "nav": "designer",
        "design": design,
        "name": name,
        "label": design.label_of(name),
        "stored": stored,
        "fields": len(design.form_rows(name)),
    }
    if stored:
        return render(request, "dictionary/designer_delete.html", context, status=409)
    if request.POST.get("confirm_name", "") != name:
        if "confirm_name" in request.POST:
            context["mismatch"] = True
        return render(request, "dictionary/designer_delete.html", context)
    _commit(request, project, design, ds.instrument_delete(design, name))
    messages.success(request, _("The instrument %(name)s was deleted.") % {"name": name})
    return redirect("dictionary:designer", project_id=project.pk)


@login_required
@require_GET
@domain_errors
def instrument_download(request: AuthedRequest, project_id: int, form_name: str) -> HttpResponse:
    project = _project(request, project_id)
    design = ds.design_load(project)
    if form_name not in design.instruments:
        raise NotFound(_("No such instrument."))
    response = HttpResponse(instrument_zip(design.form_rows(form_name)), "application/zip")
    title = slugify(design.label_of(form_name), allow_unicode=True) or form_name
    response["Content-Disposition"] = content_disposition(f"{title}_{form_name}.zip")
    return response


@login_required
@require_POST
@domain_errors
def instrument_upload(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    form = InstrumentUploadForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise InvalidInput(_("Choose an instrument zip to upload."))
        rows = read_instrument_zip(form.cleaned_data["file"].read(6 * 1024 * 1024))
        design = _posted_design(request, project)
        change, renamed = _uploaded_change(design, rows)
        _commit(request, project, design, change)
    except InvalidInput as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("The instrument was added.") + renamed)
    return redirect("dictionary:designer", project_id=project.pk)


def _uploaded_change(design: ds.Design, rows: Sequence[FieldRow]) -> tuple[ds.Change, str]:
    """The uploaded rows as a new instrument; clashing instrument and field names renamed."""
    wanted = rows[0].form_name if ds.name_problem(rows[0].form_name, what="form") is None else ""
    form_name = ds.unique_name(wanted or "instrument", set(design.instruments))
    taken = {row.field_name for row in design.rows} | {f"{form_name}_complete"}
    new_rows = ds.renamed_rows(rows, form_name, taken, suffix="_2")
    label = default_instrument_label(form_name)
    renamed = [
        f"{old.field_name} → {new.field_name}"
        for old, new in zip(rows, new_rows, strict=True)
        if old.field_name != new.field_name
    ]
    if form_name != rows[0].form_name:
        renamed.insert(0, f"{rows[0].form_name} → {form_name}")
    note = " " + _("Renamed to avoid clashes: %(names)s.") % {"names": ", ".join(renamed)}
    return ds.instrument_add_rows(design, new_rows, label), note if renamed else ""


# ---------------------------------------------------------------- instrument page


def designer_items(design: ds.Design, form_name: str, project: Project) -> list[Item]:
    """The instrument drawn as data entry draws it, grouped into the designer's items."""
    rows = design.form_rows(form_name)
    all_rows = {row.field_name: row for row in design.rows}
    blocks = instrument_layout(
        rows,
        record_id_field=design.record_id_field,
        pipe=make_piper(all_rows, {}, smart={"record-name": ""}),
    )
    items: list[Item] = []
    pending: list[Block] = []
    status_name = f"{form_name}_complete"
    for block in blocks:
        if isinstance(block, SectionBlock):
            pending.append(block)
            continue
        names = [row.name for row in block.rows] if block.kind == "matrix" else [block.field.name]  # type: ignore[union-attr]
        items.append(Item([*pending, block], names, editable=names != [status_name]))
        pending = []
    return items


def _instrument_context(project: Project, design: ds.Design, form_name: str) -> dict[str, Any]:
    if form_name not in design.instruments:
        raise NotFound(_("No such instrument."))
    return {
        "project": project,
        "nav": "designer",
        "design": design,
        "form_name": form_name,
        "label": design.label_of(form_name),
        "items": designer_items(design, form_name, project),
        "editor_url": reverse("dictionary:designer_field", args=[project.pk, form_name]),
        # Translated once: the list repeats them for every field.
        "t": {
            "edit": _("Edit"),
            "up": _("Move up"),
            "down": _("Move down"),
            "copy": _("Copy"),
            "delete": _("Delete"),
            "add_here": _("Add a field here"),
        },
        "record_id_field": design.record_id_field,
        "editable": drafts.is_editable(project),
    }


@login_required
@require_GET
@domain_errors
def instrument_page(request: AuthedRequest, project_id: int, form_name: str) -> HttpResponse:
    project = _project(request, project_id)
    context = _instrument_context(project, ds.design_load(project), form_name)
    template = "dictionary/designer_fields.html" if _fetching(request) else None
    return render(request, template or "dictionary/designer_instrument.html", context)


_FIELD_OPS: dict[str, Callable[[ds.Design, AuthedRequest, str], ds.Change]] = {
    "up": lambda d, r, n: ds.field_step(d, n, -1),
    "down": lambda d, r, n: ds.field_step(d, n, 1),
    "copy": lambda d, r, n: ds.field_copy(d, n),
    "move": lambda d, r, n: ds.field_move(
        d,
        n,
        form_name=r.POST.get("to_instrument", "") or d.row(n).form_name,
        position=_position(r),
    ),
    "before": lambda d, r, n: _move_before(d, n, r.POST.get("target", "")),
}


def _move_before(design: ds.Design, name: str, target: str) -> ds.Change:
    """Drag and drop: put `name` just before `target` (or at the end of its form when blank)."""
    row = design.row(name)
    if not target:
        return ds.field_move(design, name, form_name=row.form_name, position=10**6)
    target_row = design.row(target)
    siblings = [
        r.field_name for r in design.form_rows(target_row.form_name) if r.field_name != name
    ]
    return ds.field_move(
        design, name, form_name=target_row.form_name, position=siblings.index(target) + 1
    )


@login_required
@require_POST
@domain_errors
def field_action(request: AuthedRequest, project_id: int, form_name: str) -> HttpResponse:
    """Field buttons of the instrument page: `op` is `<action>:<field name>`."""
    project = _project(request, project_id)
    action, _sep, name = request.POST.get("op", "").partition(":")
    page = reverse("dictionary:designer_instrument", args=[project.pk, form_name])
    try:
        design = _posted_design(request, project)
        design.row(name)
        if action == "delete":
            if request.POST.get("confirmed") != "1":
                return _field_delete_page(request, project, design, form_name, name)
            change = ds.field_delete(design, name)
        elif action in _FIELD_OPS:
            change = _FIELD_OPS[action](design, request, name)
        else:
            raise InvalidInput(_("Unknown action."))
        _commit(request, project, design, change)
    except InvalidInput as error:
        if _fetching(request):
            return JsonResponse({"error": _error_text(error)}, status=400)
        messages.error(request, _error_text(error))
        return redirect(page)
    if _fetching(request):
        context = _instrument_context(project, ds.design_load(project), form_name)
        return render(request, "dictionary/designer_fields.html", context)
    return redirect(f"{page}#d-{name}")


def _field_delete_page(
    request: AuthedRequest, project: Project, design: ds.Design, form_name: str, name: str
) -> HttpResponse:
    context = {
        "project": project,
        "nav": "designer",
        "design": design,
        "form_name": form_name,
        "field_name": name,
        "row": design.row(name),
        "stored": designer_data().value_count(project, design.row(name)),
    }
    return render(request, "dictionary/designer_field_delete.html", context)


# ---------------------------------------------------------------- field editor


def _problems_by_field(
    problems: Sequence[Problem], rows: Sequence[FieldRow], name: str
) -> tuple[list[Problem], list[Problem]]:
    """Problems of the field `name` (rows are numbered as in a file: first field = 2), and
    the others."""
    mine: list[Problem] = []
    others: list[Problem] = []
    for problem in problems:
        index = (problem.row or 0) - 2
        is_mine = 0 <= index < len(rows) and rows[index].field_name == name
        (mine if is_mine else others).append(problem)
    return mine, others


@login_required
@domain_errors
def field_editor(request: AuthedRequest, project_id: int, form_name: str) -> HttpResponse:
    """Add a field (`?before=<field>` or at the end) or edit one (`?field=<name>`)."""
    project = _project(request, project_id)
    design = ds.design_load(project)
    if form_name not in design.instruments:
        raise NotFound(_("No such instrument."))
    name = request.GET.get("field", "")
    before = request.GET.get("before", "")
    old = design.row(name) if name else None
    if request.method == "POST":
        return _field_editor_post(request, project, form_name, old, before)
    initial = FieldForm.initial_of(old) if old else {"field_type": "text"}
    return _editor_page(
        request, project, design, form_name, FieldForm(initial=initial), old, before
    )


def _field_editor_post(
    request: AuthedRequest, project: Project, form_name: str, old: FieldRow | None, before: str
) -> HttpResponse:
    form = FieldForm(request.POST)
    design = ds.design_load(project)
    if not form.is_valid():
        return _editor_page(request, project, design, form_name, form, old, before, status=400)
    row = form.to_row(form_name)
    if not row.field_name:
        taken = [r.field_name for r in design.rows]
        row = row.replace(field_name=ds.name_from_label(row.field_label, taken=taken))
    try:
        posted = _posted_design(request, project)
        if old is None:
            change = ds.field_add(posted, row, before=before)
        else:
            counts = (
                designer_data().code_counts(project, old)
                if old.field_type in ("dropdown", "radio", "checkbox")
                else {}
            )
            change = ds.field_edit(posted, old.field_name, row, data_counts=counts)
        with transaction.atomic():
            _commit(request, project, posted, change)
            save_field_texts(
                context=AuditContext.from_request(request),
                project=project,
                row=row,
                posted=request.POST,
            )
    except DictionaryInvalid as error:
        mine, others = _problems_by_field(
            error.problems, _rows_tried(design, old, row, before), row.field_name
        )
        return _editor_page(
            request,
            project,
            design,
            form_name,
            form,
            old,
            before,
            status=400,
            problems=(error.message, mine, others),
        )
    except InvalidInput as error:
        form.add_error(None, error.message)
        return _editor_page(request, project, design, form_name, form, old, before, status=400)
    messages.success(request, _("The field %(name)s was saved.") % {"name": row.field_name})
    page = reverse("dictionary:designer_instrument", args=[project.pk, form_name])
    return redirect(f"{page}#d-{row.field_name}")


def _rows_tried(
    design: ds.Design, old: FieldRow | None, row: FieldRow, before: str
) -> list[FieldRow]:
    """The rows the refused save would have written, to number its problems."""
    try:
        if old is None:
            return ds.field_add(design, row, before=before).rows
        return ds.field_edit(design, old.field_name, row).rows
    except InvalidInput:
        return list(design.rows)


def _editor_page(
    request: AuthedRequest,
    project: Project,
    design: ds.Design,
    form_name: str,
    form: FieldForm,
    old: FieldRow | None,
    before: str,
    *,
    status: int = 200,
    problems: tuple[str, list[Problem], list[Problem]] | None = None,
) -> HttpResponse:
    taken = [row.field_name for row in design.rows if not old or row.field_name != old.field_name]
    context = {
        "project": project,
        "nav": "designer",
        "design": design,
        "form_name": form_name,
        "label": design.label_of(form_name),
        "form": form,
        "old": old,
        "before": before,
        "editable": drafts.is_editable(project),
        "problems": problems,
        "translations": _posted_texts(request, editor_texts(project, old)),
        "fields_json": [
            {
                "name": row.field_name,
                "type": row.field_type,
                "label": row.field_label[:80],
                "choices": row.select_choices_or_calculations
                if row.field_type in ("dropdown", "radio", "checkbox")
                else "",
            }
            for row in design.rows
        ],
        "taken_json": taken,
        "action_tags": ACTION_TAGS,
        "instruments": [(name, design.label_of(name)) for name in design.instruments],
        "position": _position_of(design, old),
        "records": designer_data().record_ids(request.user, project, MAX_TEST_RECORDS),
        "events": list(project_selectors.project_events(project)),
    }
    return render(request, "dictionary/designer_field.html", context, status=status)


def _posted_texts(request: AuthedRequest, texts: list[LanguageTexts]) -> list[LanguageTexts]:
    """A refused save shows the translations as they were typed, not as they are stored."""
    if request.method != "POST":
        return texts
    return [
        LanguageTexts(
            t.language,
            **{part: request.POST.get(t.input_name(part), "") for part in PARTS},
        )
        for t in texts
    ]


def _position_of(design: ds.Design, old: FieldRow | None) -> int:
    if old is None:
        return 0
    return [r.field_name for r in design.form_rows(old.form_name)].index(old.field_name) + 1


# ---------------------------------------------------------------- logic helpers


@login_required
@require_GET
@domain_errors
def logic_check(request: AuthedRequest, project_id: int) -> JsonResponse:
    """Live syntax check of branching logic or a calculation, by the Python parser."""
    project = _project(request, project_id)
    text = request.GET.get("text", "")[:10_000]
    if not text.strip():
        return JsonResponse({"ok": True, "message": ""})
    message = logic_checker(ds.design_load(project).rows)(text)
    return JsonResponse({"ok": message is None, "message": message or _("The logic is valid.")})


@login_required
@require_POST
@domain_errors
def calc_test(request: AuthedRequest, project_id: int) -> JsonResponse:
    """A calculation computed for one record and event by the Python logic engine."""
    project = _project(request, project_id)
    expression = request.POST.get("expression", "")[:10_000]
    record_id = request.POST.get("record", "")
    event = request.POST.get("event", "")
    design = ds.design_load(project)
    problem = (
        logic_checker(design.rows)(expression)
        if expression.strip()
        else _("Write a calculation first.")
    )
    if problem:
        return JsonResponse({"ok": False, "message": problem}, status=400)
    try:
        value = designer_data().calc_result(
            request.user, project, record_id, event, design.rows, expression
        )
    except NotFound:
        return JsonResponse({"ok": False, "message": _("No such record.")}, status=404)
    except LogicError as error:
        return JsonResponse({"ok": False, "message": str(error)}, status=400)
    return JsonResponse({"ok": True, "value": value})
