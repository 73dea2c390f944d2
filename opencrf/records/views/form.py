"""Data entry: saving a form, its conflicts, deleting its data and downloading its files."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.dictionary.rendering import (
    field_view,
)
from opencrf.files import selectors as file_selectors
from opencrf.files.checks import FileRefused
from opencrf.files.models import StoredFile
from opencrf.files.services import file_delete, file_store
from opencrf.files.views import file_response
from opencrf.records import selectors, services
from opencrf.records.auditing import record_target
from opencrf.records.errors import InvalidValues, SaveConflict, ValueProblem
from opencrf.records.models import Record
from opencrf.records.save_checks import EditCheckRefused, edit_checks_confirmed
from opencrf.records.views.design import form_url
from opencrf.records.views.form_page import FormPage, field_of, load_form_page
from opencrf.records.views.form_render import render_form

_NOT_ENTERED = frozenset({"calc", "descriptive", "file", "record_id"})


def submitted_values(page: FormPage, post: Mapping[str, str]) -> dict[str, str]:
    """The form's values as posted: unticked checkboxes are "0", missing inputs blank.

    Computed and read-only fields are left out: their inputs cannot be changed, and
    calculations are recomputed by the save.
    """
    values: dict[str, str] = {}
    # The stored values decide which choices @HIDECHOICE leaves on the page.
    stored = page.stored.values if page.stored is not None else {}
    for row in page.fields:
        view = field_view(row, record_id_field=page.record_id_field, values=stored)
        if view.input_kind in _NOT_ENTERED or view.readonly:
            continue
        if view.input_kind == "checkbox":
            values.update({c: "1" if post.get(c) else "0" for c in view.checkbox_columns})
        else:
            values[row.field_name] = post.get(row.field_name, "")
    return values


def _int_or_none(raw: str) -> int | None:
    return whole_number(raw, 9)


def _posted_base_values(raw: str) -> dict[str, str] | None:
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        return None
    return {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else None


SAVED_WARNINGS = "crf-saved-warnings"


def _keep_warnings(
    request: AuthedRequest, here: str, leave: str, warnings: Sequence[ValueProblem]
) -> None:
    """Keep a save's warnings for the form page it leads back to (one summary, fields marked),
    with where the person meant to go, as REDCap's "some fields are required" dialog does."""
    request.session[SAVED_WARNINGS] = {
        "url": here,
        "leave": leave,
        "warnings": [[w.field, w.value, w.rule, w.message] for w in warnings],
    }


def _kept_warnings(request: AuthedRequest) -> tuple[list[ValueProblem], str]:
    """The warnings kept for this page, once: (warnings, where to leave to)."""
    kept = request.session.get(SAVED_WARNINGS)
    if not isinstance(kept, dict) or kept.get("url") != request.path:
        return [], ""
    del request.session[SAVED_WARNINGS]
    return [ValueProblem(*item) for item in kept["warnings"]], kept["leave"]


def _after_save(
    request: AuthedRequest, page: FormPage, record_id: str, warnings: Sequence[ValueProblem]
) -> HttpResponse:
    """Where the chosen button leads; with warnings, back to this form to show them first."""
    here = form_url(page.project, record_id, page.event, page.instrument.name, page.instance)
    action = request.POST.get("action", "stay")
    home = reverse("records:home", args=[page.project.pk, record_id])
    following = page.design.next_form(page.event, page.instrument.name)
    if action == "exit" or (action == "next" and following is None):
        target = home
    elif action == "next" and following is not None:
        target = form_url(page.project, record_id, following[0], following[1], 1)
    else:
        target = here
    if warnings:
        _keep_warnings(request, here, "" if target == here else target, warnings)
        return redirect(here)
    return redirect(target)


def _file_fields(page: FormPage) -> list[str]:
    """The form's file fields that data entry may change (not @READONLY)."""
    stored = page.stored.values if page.stored is not None else {}
    return [
        row.field_name
        for row in page.fields
        if row.field_type == "file"
        and not field_view(row, record_id_field=page.record_id_field, values=stored).readonly
    ]


DISCARD_REASON = "The form was not saved."


def _discard(context: AuditContext, stored: Iterable[StoredFile]) -> None:
    """Soft-delete files uploaded with a save that was then refused."""
    for stored_file in stored:
        file_delete(context=context, stored_file=stored_file, reason=DISCARD_REASON)


def _store_uploads(
    request: AuthedRequest, page: FormPage, context: AuditContext
) -> tuple[dict[str, StoredFile], list[ValueProblem]]:
    """Store the files uploaded with the form, in order; on the first refusal, none of them."""
    uploads: dict[str, StoredFile] = {}
    # A saved record's files belong to it in the log; a new record's, to the uploader's group,
    # which is the group the record is created in.
    target = (
        None
        if page.new
        else record_target(page.record, page.event, page.instrument.name, page.instance)
    )
    for name in _file_fields(page):
        upload = request.FILES.get(name)
        if upload is None:
            continue
        try:
            uploads[name] = file_store(
                context=context, project=page.project, upload=upload, target=target
            )
        except FileRefused as refused:
            _discard(context, uploads.values())
            return {}, [ValueProblem(name, "", "file_refused", refused.message)]
    return uploads, []


def _delete_replaced(
    context: AuditContext, page: FormPage, changes: Mapping[str, list[str]], reason: str
) -> None:
    """Soft-delete the files a successful save replaced or removed."""
    old = [
        int(changes[name][0])
        for name in _file_fields(page)
        if name in changes and changes[name][0].isascii() and changes[name][0].isdigit()
    ]
    for stored_file in file_selectors.files_in_project(page.project, old).values():
        file_delete(context=context, stored_file=stored_file, reason=reason)


def _echoed(values: Mapping[str, str]) -> dict[str, str]:
    """The submitted values to show again, each cut to the longest value a field may hold: a
    refused 50 MB note must not come back as a 50 MB page (the error still names its length)."""
    limit = settings.OPENCRF_VALUE_MAX_CHARS
    return {name: value[:limit] for name, value in values.items()}


def _save(request: AuthedRequest, page: FormPage) -> HttpResponse:
    values = submitted_values(page, request.POST)
    status = _int_or_none(request.POST.get(page.status_key, ""))
    reason = request.POST.get("reason", "").strip()
    shown = {**_echoed(values), page.status_key: request.POST.get(page.status_key, "")}
    if page.record_id_field:
        shown.setdefault(page.record_id_field, page.record.record_id)
    context = AuditContext.from_request(request)
    uploads, refused = _store_uploads(request, page, context)
    if refused:
        return render_form(request, page, shown, problems=refused, reason=reason, status=400)
    for name in _file_fields(page):
        if name in uploads:
            values[name] = str(uploads[name].pk)
        elif request.POST.get(f"{name}__remove"):
            values[name] = ""
    # A save made again, with a reason, after edit checks refused it confirms them
    # (records/save_checks.py); whether it may override a hard check is the check's to say.
    asked = request.session.pop(EDIT_CHECK_ASKED, None) == request.path
    try:
        with edit_checks_confirmed(reason if asked else "", override=True):
            record, result = _write(request, page, context, values, status, reason)
    except InvalidValues as error:
        _discard(context, uploads.values())
        if isinstance(error, EditCheckRefused):
            request.session[EDIT_CHECK_ASKED] = request.path
        return render_form(request, page, shown, problems=error.problems, reason=reason, status=400)
    except SaveConflict as conflict:
        _discard(context, uploads.values())
        return _render_conflict(request, page, values, conflict)
    except InvalidInput as error:
        _discard(context, uploads.values())
        messages.error(request, error.message)
        return render_form(request, page, shown, reason=reason, status=400)
    _delete_replaced(context, page, result.changes, reason)
    messages.success(request, _("Your changes were saved.") if result.changes else _("Saved."))
    if record.record_id != page.record.record_id:
        messages.warning(
            request, RENUMBERED % {"shown": page.record.record_id, "saved": record.record_id}
        )
    return _after_save(request, page, record.record_id, result.warnings)


EDIT_CHECK_ASKED = "records.edit_check_asked"  # the form page whose save edit checks refused
RENUMBERED = _lazy(
    "Record ID %(shown)s was taken by someone else meanwhile: this record was saved as %(saved)s."
)


def _write(
    request: AuthedRequest,
    page: FormPage,
    context: AuditContext,
    values: dict[str, str],
    status: int | None,
    reason: str,
) -> tuple[Record, services.SaveResult]:
    """Save the form; a new record's first save creates the record with it."""
    event, form_name = page.event, page.instrument.name
    if page.new is not None:
        wanted = None if page.new.auto else page.record.record_id
        return services.record_create_with_form(
            context=context,
            project=page.project,
            record_id=wanted,
            arm=page.new.arm,
            event=event,
            form_name=form_name,
            values=values,
            status=status,
            reason=reason,
        )
    result = services.form_save(
        context=context,
        record=page.record,
        event=event,
        form_name=form_name,
        instance=page.instance,
        values=values,
        status=status,
        base_version=_int_or_none(request.POST.get("base_version", "")),
        base_values=_posted_base_values(request.POST.get("base_values", "")),
        reason=reason,
    )
    return page.record, result


def _conflict_rows(
    page: FormPage, values: Mapping[str, str], theirs: Mapping[str, tuple[str, str]]
) -> Iterator[dict[str, str]]:
    labels = {row.field_name: row.field_label for row in page.fields}
    for key, (then, now) in theirs.items():
        yield {
            "field": key,
            "label": labels.get(field_of(key), key),
            "then": then,
            "yours": values.get(key, then),
            "theirs": now,
        }


def _render_conflict(
    request: AuthedRequest,
    page: FormPage,
    values: Mapping[str, str],
    conflict: SaveConflict,
) -> HttpResponse:
    context = {
        "project": page.project,
        "nav": "records",
        "record": page.record,
        "event": page.event,
        "instrument": page.instrument,
        "instance": page.instance,
        "show_event": page.project.is_longitudinal,
        "rows": list(_conflict_rows(page, values, conflict.theirs)),
        "message": conflict.message,
        "reload_url": form_url(
            page.project, page.record.record_id, page.event, page.instrument.name, page.instance
        ),
    }
    return render(request, "records/conflict.html", context, status=409)


def _refuse_if_readonly(page: FormPage) -> None:
    """A form a hook made read-only (a completed survey response) is refused like any other."""
    if page.access.readonly:
        raise PermissionDenied(_("You may only read this form; nothing was saved."))


@login_required
@domain_errors
def form_entry(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
) -> HttpResponse:
    page = load_form_page(
        request, project_id, record_id, event_name, form_name, instance, allow_new=True
    )
    if request.method == "POST":
        # Refused before any upload is stored: a read-only form changes nothing at all.
        selectors.require_form_edit(page.access.rights, page.instrument.name)
        _refuse_if_readonly(page)
        return _save(request, page)
    warnings, leave = _kept_warnings(request)
    return render_form(request, page, page.stored_values(), warnings=warnings, leave_url=leave)


@login_required
@require_GET
@domain_errors
def file_download(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
    field_name: str,
) -> FileResponse:
    """The file a file field of this form holds, to those who may see the record."""
    page = load_form_page(request, project_id, record_id, event_name, form_name, instance)
    if field_name not in {row.field_name for row in page.fields if row.field_type == "file"}:
        raise NotFound(_("No such file."))
    value = page.stored.values.get(field_name, "") if page.stored is not None else ""
    if not (value.isascii() and value.isdigit()):
        raise NotFound(_("No such file."))
    return file_response(file_selectors.file_in_project(page.project, int(value)))


@login_required
@domain_errors
def form_delete(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
) -> HttpResponse:
    page = load_form_page(request, project_id, record_id, event_name, form_name, instance)
    if page.stored is None:
        raise Http404(_("This form has no data to delete."))
    selectors.require_form_edit(page.access.rights, page.instrument.name)
    _refuse_if_readonly(page)
    if request.method == "POST":
        try:
            services.form_delete(
                context=AuditContext.from_request(request),
                record=page.record,
                event=page.event,
                form_name=form_name,
                instance=instance,
                reason=request.POST.get("reason", "").strip(),
            )
        except InvalidInput as refused:  # e.g. the form is locked
            messages.error(request, refused.message)
            return redirect(form_url(page.project, record_id, page.event, form_name, instance))
        messages.success(request, _("The data of this form were deleted."))
        return redirect("records:home", project_id=page.project.pk, record_id=record_id)
    context = {
        "project": page.project,
        "nav": "records",
        "record": page.record,
        "heading": _("Delete the data of this form?"),
        "question": _(
            "Every value of %(form)s for record %(record)s will be deleted. "
            "The audit trail keeps them."
        )
        % {"form": page.instrument.label, "record": record_id},
        "cancel_url": form_url(page.project, record_id, page.event, form_name, instance),
        "button": _("Delete form data"),
    }
    return render(request, "records/confirm_delete.html", context)
