"""The record status dashboard, and adding a record from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.errors import NotFound
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.projects import selectors as project_selectors
from opencrf.records import selectors
from opencrf.records.locking_selectors import FormLocks, LockMark, form_locks, record_locks
from opencrf.records.models import Record
from opencrf.records.views.design import (
    Design,
    arm_by_number,
    arms_with_events,
    form_url,
    status_label,
)
from opencrf.records.views.new_record import NewRecord, proposed_record_id, typed_id_refusal

PER_PAGE = 50


@dataclass(frozen=True)
class Cell:
    url: str
    status: int | None
    count: int
    label: str
    locked: int = 0  # how many of its instances are locked
    lock: LockMark | None = None  # the lock of a form with one instance


def _dashboard_cells(
    design: Design, record: Record, statuses: Mapping[tuple[int, str], Any], locks: FormLocks
) -> list[Cell | None]:
    cells: list[Cell | None] = []
    arm_ids = {link.arm_id for link in record.arm_links.all()}  # prefetched
    for event, form in design.columns():
        if event.arm_id not in arm_ids:
            cells.append(None)
            continue
        cell = statuses.get((event.pk, form.name))
        status, count = (cell.status, cell.count) if cell is not None else (None, 0)
        url = form_url(design.project, record.record_id, event, form.name, 1)
        locked = locks.get((record.pk, event.pk, form.name), {})
        lock = next(iter(locked.values())) if count == 1 and locked else None
        cells.append(Cell(url, status, count, status_label(status), len(locked), lock))
    return cells


def _page_number(raw: str) -> int:
    return whole_number(raw, 9) or 1


@login_required
@domain_errors
def dashboard(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    rights = project_selectors.member_rights(request.user, project)
    design = Design.of(project, rights)
    search = request.GET.get("search", "").strip()
    page = _page_number(request.GET.get("page", ""))
    rows, total = selectors.dashboard_rows(
        request.user, project, search=search, page=page, per_page=PER_PAGE
    )
    paginator = Paginator(range(total), PER_PAGE)
    if page > paginator.num_pages:
        # A page past the end (an old link, a shrunk search) shows the last page instead.
        page = paginator.num_pages
        rows, total = selectors.dashboard_rows(
            request.user, project, search=search, page=page, per_page=PER_PAGE
        )
    locks = form_locks([record.pk for record, _cells in rows])
    whole = record_locks(record for record, _cells in rows)
    context = {
        "project": project,
        "nav": "dashboard",
        "columns": design.columns(),
        "event_spans": design.event_spans() if project.is_longitudinal else [],
        "has_groups": project.groups.exists(),
        # (record, its whole-record lock or None, its cells)
        "rows": [
            (record, whole.get(record.pk), _dashboard_cells(design, record, cells, locks))
            for record, cells in rows
        ],
        "total": total,
        "search": search,
        "page": paginator.get_page(page),
        "autonumbering": project.record_autonumbering,
        "can_create": rights.record_create,
        "arms": arms_with_events(design),
    }
    return render(request, "records/dashboard.html", context)


# ---------------------------------------------------------------- adding a record


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def record_new(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Lead to the first form of a record that does not exist yet: nothing is written here.

    An automatic id is only proposed (the save takes the next free one); a typed id is checked
    now, its form and that no record has it.
    """
    project = project_selectors.access_project_with(request.user, project_id, "record_create")
    rights = project_selectors.member_rights(request.user, project)
    params = request.POST if request.method == "POST" else request.GET
    arm = arm_by_number(params.get("arm", ""), project) or project.arms.order_by("number").first()
    if project.record_autonumbering:
        record_id, auto = proposed_record_id(project, rights), True
    else:
        record_id, auto = params.get("record_id", ""), False
        refusal = typed_id_refusal(project, rights, record_id)
        if refusal is not None:
            messages.error(request, refusal)
            return redirect("records:dashboard", project_id=project.pk)
    if arm is None:
        raise NotFound(_("No such arm."))
    query = NewRecord(Record(project=project, record_id=record_id), arm, auto).query
    design = Design.of(project, rights)
    first = next((c for c in design.columns() if c[0].arm_id == arm.pk), None)
    if first is None:
        return redirect(reverse("records:home", args=[project.pk, record_id]) + query)
    return redirect(form_url(project, record_id, first[0], first[1].name, 1) + query)
