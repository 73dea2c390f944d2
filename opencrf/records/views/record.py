"""A record's home page, and the pages that act on a whole record: delete, rename, group, arm.

Each is a page that asks first (GET) and acts on its POST. The project right is checked
before the record is looked up, so a refusal says nothing about whether a record exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.dictionary.models import Instrument
from opencrf.dictionary.piping import make_piper
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Event
from opencrf.records import selectors, services
from opencrf.records.locking_selectors import FormLocks, LockMark, form_locks, record_locks
from opencrf.records.models import FormData, Record
from opencrf.records.page_hooks import RecordPage, record_panels
from opencrf.records.views.design import (
    Design,
    arms_with_events,
    form_url,
    posted_arm,
    status_label,
)
from opencrf.records.views.new_record import new_record_of


@dataclass(frozen=True)
class InstanceLink:
    instance: int
    url: str
    status: int | None
    status_label: str
    label: str
    lock: LockMark | None = None


@dataclass
class GridCell:
    designated: bool
    repeating: bool = False
    url: str = ""
    status: int | None = None
    status_label: str = ""
    instances: list[InstanceLink] = field(default_factory=list)
    add_url: str = ""
    lock: LockMark | None = None


def _instance_links(
    design: Design,
    record: Record,
    event: Event,
    form: Instrument,
    stored: Sequence[FormData],
    pipe_label: Any,
    locks: Mapping[int, LockMark],
) -> list[InstanceLink]:
    label = design.repeats.get((event.pk, form.name)) or design.repeats.get((event.pk, ""), "")
    return [
        InstanceLink(
            instance=data.instance,
            url=form_url(design.project, record.record_id, event, form.name, data.instance),
            status=data.status,
            status_label=status_label(data.status),
            label=pipe_label(label, data.values) if label else "",
            lock=locks.get(data.instance),
        )
        for data in stored
    ]


def _grid_cell(
    design: Design,
    record: Record,
    event: Event,
    form: Instrument,
    forms: Mapping[tuple[int, str, int], FormData],
    pipe_label: Any,
    locks: FormLocks,
) -> GridCell:
    if form.name not in design.designated.get(event.pk, frozenset()):
        return GridCell(designated=False)
    url = form_url(design.project, record.record_id, event, form.name, 1)
    instance_locks = locks.get((record.pk, event.pk, form.name), {})
    if not design.repeats_form(event, form.name):
        data = forms.get((event.pk, form.name, 1))
        status = data.status if data is not None else None
        return GridCell(
            True,
            url=url,
            status=status,
            status_label=status_label(status),
            lock=instance_locks.get(1),
        )
    stored = sorted(
        (d for (e, f, _i), d in forms.items() if e == event.pk and f == form.name),
        key=lambda d: d.instance,
    )
    next_instance = (stored[-1].instance + 1) if stored else 1
    return GridCell(
        True,
        repeating=True,
        url=url,
        status=None,
        status_label=status_label(None),
        instances=_instance_links(design, record, event, form, stored, pipe_label, instance_locks),
        add_url=form_url(design.project, record.record_id, event, form.name, next_instance),
    )


@login_required
@domain_errors
def record_home(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    rights = project_selectors.member_rights(request.user, project)
    new = new_record_of(request, project, rights, record_id)
    if new is None:
        record = selectors.access_record(request.user, project, record_id)
        forms, arm_ids = selectors.record_forms(record), selectors.record_arm_ids(record)
    else:  # a record not saved yet: its forms lead to its first save
        record, forms, arm_ids = new.record, {}, frozenset({new.arm.pk})
    design = Design.of(project, rights)
    events = [e for e in design.events if e.arm_id in arm_ids]
    context = {"project": project, "nav": "records", "record": record, "events": events}
    locks = {} if new else form_locks([record.pk])
    context["grid"] = _grid(design, record, events, forms, locks, new.query if new else "")
    context["record_lock"] = None if new else record_locks([record]).get(record.pk)
    context["rights"] = rights
    context["new_record"] = new
    # Only members in no group may move records between groups; an unsaved record has no actions.
    grouped = rights.group_id is not None
    context["move_groups"] = [] if grouped or new else list(project.groups.all())
    arms = arms_with_events(design)
    context["arms"] = [arm for arm in arms if arm.pk in arm_ids]
    context["other_arms"] = [arm for arm in arms if arm.pk not in arm_ids and new is None]
    page = RecordPage(request, project, record, rights, events)
    context["panels"] = [] if new else record_panels(page)
    return render(request, "records/record_home.html", context)


def _grid(
    design: Design,
    record: Record,
    events: Sequence[Event],
    forms: Mapping[tuple[int, str, int], FormData],
    locks: FormLocks,
    query: str,
) -> list[tuple[Instrument, list[GridCell]]]:
    """Each form the record's events collect, with its cell at each event; `query` is added to
    every link (it keeps an unsaved record's links on that record)."""
    all_rows = {row.field_name: row for row in design.snapshot.rows}

    def pipe_label(label: str, values: Mapping[str, str]) -> str:
        return make_piper(all_rows, values)(label)

    grid = [
        (
            form,
            [_grid_cell(design, record, event, form, forms, pipe_label, locks) for event in events],
        )
        for form in design.instruments
        if any(form.name in design.designated.get(e.pk, frozenset()) for e in events)
    ]
    for _form, cells in grid:
        for cell in cells:
            if cell.designated and query:
                cell.url += query
                cell.add_url += query if cell.add_url else ""
    return grid


@login_required
@domain_errors
def record_delete(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    project = project_selectors.access_project_with(request.user, project_id, "record_delete")
    record = selectors.access_record(request.user, project, record_id)
    if request.method == "POST":
        try:
            services.record_delete(
                context=AuditContext.from_request(request),
                record=record,
                reason=request.POST.get("reason", "").strip(),
            )
        except InvalidInput as refused:  # e.g. the record holds locked data
            messages.error(request, refused.message)
            return redirect("records:home", project_id=project.pk, record_id=record_id)
        messages.success(request, _("Record %(record)s was deleted.") % {"record": record_id})
        return redirect("records:dashboard", project_id=project.pk)
    context = {
        "project": project,
        "nav": "records",
        "record": record,
        "heading": _("Delete record %(record)s?") % {"record": record_id},
        "question": _(
            "The record and the data of all its forms will be deleted. The audit trail keeps them."
        ),
        "cancel_url": reverse("records:home", args=[project.pk, record_id]),
        "button": _("Delete record"),
    }
    return render(request, "records/confirm_delete.html", context)


@login_required
@domain_errors
def record_rename(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    project = project_selectors.access_project_with(request.user, project_id, "record_rename")
    record = selectors.access_record(request.user, project, record_id)
    new_id = request.POST.get("new_id", "").strip() if request.method == "POST" else record_id
    reason = request.POST.get("reason", "").strip()
    error = ""
    if request.method == "POST":
        try:
            services.record_rename(
                context=AuditContext.from_request(request),
                record=record,
                new_id=new_id,
                reason=reason,
            )
        except InvalidInput as refused:
            error = refused.message
        else:
            messages.success(request, _("The record is now %(record)s.") % {"record": new_id})
            return redirect("records:home", project_id=project.pk, record_id=new_id)
    context = {
        "project": project,
        "nav": "records",
        "record": record,
        "new_id": new_id,
        "reason": reason,
        "error": error,
    }
    return render(request, "records/rename.html", context, status=400 if error else 200)


@login_required
@require_POST
@domain_errors
def record_group(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    """Move a record to another data access group, or to none."""
    project = project_selectors.access_project(request.user, project_id)
    record = selectors.access_record(request.user, project, record_id)
    wanted = request.POST.get("group", "")
    pk = whole_number(wanted)
    group = project.groups.filter(pk=pk).first() if pk is not None else None
    if wanted and group is None:
        raise NotFound(_("No such data access group."))
    services.record_group_set(
        context=AuditContext.from_request(request), record=record, group=group
    )
    messages.success(request, _("The record's data access group was saved."))
    return redirect("records:home", project_id=project.pk, record_id=record.record_id)


@login_required
@require_POST
@domain_errors
def record_arm(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    """Put the record in one more arm, as REDCap lets the same record id be in several."""
    project = project_selectors.access_project(request.user, project_id)
    record = selectors.access_record(request.user, project, record_id)
    arm = posted_arm(request, project)
    if arm is None:
        raise NotFound(_("No such arm."))
    services.record_arm_add(context=AuditContext.from_request(request), record=record, arm=arm)
    messages.success(
        request, _("The record is now in arm %(number)s as well.") % {"number": arm.number}
    )
    return redirect("records:home", project_id=project.pk, record_id=record.record_id)
