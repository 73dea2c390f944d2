"""Data collection pages: the record status dashboard, a record's home, and data entry.

Views parse the request, call a selector or service and render; the grid shapes the
templates draw (columns of designated forms, a record's event grid) are put together here
from the project's design, once per request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.form_logic import form_logic_spec
from opencrf.dictionary.models import Instrument
from opencrf.dictionary.piping import make_piper
from opencrf.dictionary.rendering import (
    Block,
    MatrixBlock,
    default_values,
    field_view,
    instrument_layout,
)
from opencrf.files import selectors as file_selectors
from opencrf.files.checks import FileRefused
from opencrf.files.models import StoredFile
from opencrf.files.previews import is_previewable
from opencrf.files.services import file_delete, file_store
from opencrf.files.views import file_response
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Arm, Event, Project, ProjectStatus
from opencrf.projects.rights import Rights
from opencrf.records import selectors, services
from opencrf.records.errors import InvalidValues, SaveConflict, ValueProblem
from opencrf.records.models import FormData, Record
from opencrf.records.values import form_columns

PER_PAGE = 50
_NOT_ENTERED = frozenset({"calc", "descriptive", "file", "record_id"})


# ---------------------------------------------------------------- the project's design


@dataclass
class Design:
    """Events, instruments, designations and repeats of a project, as the pages draw them."""

    project: Project
    events: Sequence[Event]
    instruments: Sequence[Instrument]
    designated: Mapping[int, frozenset[str]]
    repeats: Mapping[tuple[int, str], str]
    snapshot: ProjectDesign

    @classmethod
    def of(cls, project: Project, rights: Rights | None = None) -> Design:
        """The design as `rights` lets its holder see it: forms without access are left out."""
        snapshot = design_of(project)
        instruments: Sequence[Instrument] = snapshot.instruments
        if rights is not None:
            instruments = [i for i in instruments if rights.can_see_form(i.name)]
        return cls(
            project=project,
            events=snapshot.events,
            instruments=instruments,
            designated=snapshot.designated,
            repeats=snapshot.repeats,
            snapshot=snapshot,
        )

    def forms_of(self, event: Event) -> list[Instrument]:
        names = self.designated.get(event.pk, frozenset())
        return [instrument for instrument in self.instruments if instrument.name in names]

    def columns(self) -> list[tuple[Event, Instrument]]:
        """Every designated (event, form), events in order, forms in instrument order."""
        return [(event, form) for event in self.events for form in self.forms_of(event)]

    def repeats_form(self, event: Event, form_name: str) -> bool:
        return (event.pk, form_name) in self.repeats or (event.pk, "") in self.repeats

    def event_by_name(self, unique_name: str) -> Event:
        for event in self.events:
            if event.unique_name == unique_name:
                return event
        raise Http404(_("No such event."))

    def instrument(self, event: Event, form_name: str) -> Instrument:
        for instrument in self.forms_of(event):
            if instrument.name == form_name:
                return instrument
        raise Http404(_("No such form in this event."))

    def event_spans(self) -> list[tuple[Event, int]]:
        """Each event with how many dashboard columns it spans (longitudinal header row)."""
        return [(e, len(self.forms_of(e))) for e in self.events if self.forms_of(e)]

    def next_form(self, event: Event, form_name: str) -> tuple[Event, str] | None:
        """The designated form after this one: later in the event, else in the next events."""
        columns = [(e, f.name) for e, f in self.columns() if e.arm_id == event.arm_id]
        keys = [(e.pk, name) for e, name in columns]
        position = keys.index((event.pk, form_name)) if (event.pk, form_name) in keys else -1
        return columns[position + 1] if 0 <= position < len(columns) - 1 else None


def _form_url(project: Project, record_id: str, event: Event, form_name: str, instance: int) -> str:
    args = [project.pk, record_id, event.unique_name, form_name, instance]
    return reverse("records:form", args=args)


# ---------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class Cell:
    url: str
    status: int | None
    count: int
    label: str


def status_label(status: int | None) -> str:
    return {
        None: _("No data"),
        0: _("Incomplete"),
        1: _("Unverified"),
        2: _("Complete"),
    }.get(status, _("No data"))


def _dashboard_cells(
    design: Design, record: Record, statuses: Mapping[tuple[int, str], Any]
) -> list[Cell | None]:
    cells: list[Cell | None] = []
    arm_ids = {link.arm_id for link in record.arm_links.all()}  # prefetched
    for event, form in design.columns():
        if event.arm_id not in arm_ids:
            cells.append(None)
            continue
        cell = statuses.get((event.pk, form.name))
        status, count = (cell.status, cell.count) if cell is not None else (None, 0)
        url = _form_url(design.project, record.record_id, event, form.name, 1)
        cells.append(Cell(url, status, count, status_label(status)))
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
    context = {
        "project": project,
        "nav": "dashboard",
        "columns": design.columns(),
        "event_spans": design.event_spans() if project.is_longitudinal else [],
        "has_groups": project.groups.exists(),
        "rows": [(record, _dashboard_cells(design, record, cells)) for record, cells in rows],
        "total": total,
        "search": search,
        "page": paginator.get_page(page),
        "autonumbering": project.record_autonumbering,
        "can_create": rights.record_create,
        "arms": _arms_with_events(design),
    }
    return render(request, "records/dashboard.html", context)


def _arms_with_events(design: Design) -> list[Arm]:
    """The project's arms that have events, in order: a choice only when there are several."""
    arms: dict[int, Arm] = {}
    for event in design.events:
        arms.setdefault(event.arm_id, event.arm)
    return list(arms.values()) if len(arms) > 1 else []


# ---------------------------------------------------------------- adding a record


@login_required
@require_POST
@domain_errors
def record_new(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    wanted = None if project.record_autonumbering else request.POST.get("record_id", "")
    arm = _posted_arm(request, project)
    try:
        record = services.record_create(
            context=AuditContext.from_request(request),
            project=project,
            record_id=wanted,
            arm=arm,
        )
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect("records:dashboard", project_id=project.pk)
    design = Design.of(project, project_selectors.member_rights(request.user, project))
    arm_ids = selectors.record_arm_ids(record)
    first = next((c for c in design.columns() if c[0].arm_id in arm_ids), None)
    if first is None:
        return redirect("records:home", project_id=project.pk, record_id=record.record_id)
    return redirect(_form_url(project, record.record_id, first[0], first[1].name, 1))


def _posted_arm(request: AuthedRequest, project: Project) -> Arm | None:
    """The arm chosen by number in the POST (`arm`), None when none was chosen."""
    number = request.POST.get("arm", "")
    if not number:
        return None
    wanted = whole_number(number, 6)
    arm = project.arms.filter(number=wanted).first() if wanted is not None else None
    if arm is None:
        raise NotFound(_("No such arm."))
    return arm


# ---------------------------------------------------------------- record home


@dataclass(frozen=True)
class InstanceLink:
    instance: int
    url: str
    status: int | None
    status_label: str
    label: str


@dataclass
class GridCell:
    designated: bool
    repeating: bool = False
    url: str = ""
    status: int | None = None
    status_label: str = ""
    instances: list[InstanceLink] = field(default_factory=list)
    add_url: str = ""


def _instance_links(
    design: Design,
    record: Record,
    event: Event,
    form: Instrument,
    stored: Sequence[FormData],
    pipe_label: Any,
) -> list[InstanceLink]:
    label = design.repeats.get((event.pk, form.name)) or design.repeats.get((event.pk, ""), "")
    return [
        InstanceLink(
            instance=data.instance,
            url=_form_url(design.project, record.record_id, event, form.name, data.instance),
            status=data.status,
            status_label=status_label(data.status),
            label=pipe_label(label, data.values) if label else "",
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
) -> GridCell:
    if form.name not in design.designated.get(event.pk, frozenset()):
        return GridCell(designated=False)
    url = _form_url(design.project, record.record_id, event, form.name, 1)
    if not design.repeats_form(event, form.name):
        data = forms.get((event.pk, form.name, 1))
        status = data.status if data is not None else None
        return GridCell(True, url=url, status=status, status_label=status_label(status))
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
        instances=_instance_links(design, record, event, form, stored, pipe_label),
        add_url=_form_url(design.project, record.record_id, event, form.name, next_instance),
    )


@login_required
@domain_errors
def record_home(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    project = project_selectors.access_project(request.user, project_id)
    record = selectors.access_record(request.user, project, record_id)
    rights = project_selectors.member_rights(request.user, project)
    design = Design.of(project, rights)
    forms = selectors.record_forms(record)
    all_rows = {row.field_name: row for row in design.snapshot.rows}

    def pipe_label(label: str, values: Mapping[str, str]) -> str:
        return make_piper(all_rows, values)(label)

    arm_ids = selectors.record_arm_ids(record)
    events = [e for e in design.events if e.arm_id in arm_ids]
    grid = [
        (form, [_grid_cell(design, record, event, form, forms, pipe_label) for event in events])
        for form in design.instruments
        if any(form.name in design.designated.get(e.pk, frozenset()) for e in events)
    ]
    context = {"project": project, "nav": "records", "record": record, "events": events}
    context["grid"] = grid
    context["rights"] = rights
    # Only members in no group may move records between groups.
    context["move_groups"] = list(project.groups.all()) if rights.group_id is None else []
    arms = _arms_with_events(design)
    context["arms"] = [arm for arm in arms if arm.pk in arm_ids]
    context["other_arms"] = [arm for arm in arms if arm.pk not in arm_ids]
    return render(request, "records/record_home.html", context)


# ---------------------------------------------------------------- data entry


@dataclass(frozen=True)
class FormPage:
    """Everything one data entry page is drawn from."""

    project: Project
    design: Design
    record: Record
    event: Event
    instrument: Instrument
    instance: int
    fields: list[FieldRow]
    all_rows: dict[str, FieldRow]
    stored: FormData | None
    access: selectors.FormAccess

    @property
    def record_id_field(self) -> str:
        return next(iter(self.all_rows), "")

    @property
    def status_key(self) -> str:
        return f"{self.instrument.name}_complete"

    @property
    def reason_required(self) -> bool:
        """Whether a save must give a reason: production, existing data, and the setting on."""
        project = self.project
        production = project.status == ProjectStatus.PRODUCTION
        return production and project.require_change_reason and self.stored is not None

    def stored_values(self) -> dict[str, str]:
        """The values to show: the stored ones, or for a new form its action-tag defaults."""
        if self.stored is None:
            values = default_values(self.fields, now=timezone.localtime())
        else:
            values = dict(self.stored.values)
        if self.stored is not None:
            values[self.status_key] = str(self.stored.status)
        if self.record_id_field:
            values.setdefault(self.record_id_field, self.record.record_id)
        return values


def _form_page(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
) -> FormPage:
    project = project_selectors.access_project(request.user, project_id)
    record = selectors.access_record(request.user, project, record_id)
    # Forms without access are left out, so they are missing here and in "next form".
    design = Design.of(project, project_selectors.member_rights(request.user, project))
    event = design.event_by_name(event_name)
    if event.arm_id not in selectors.record_arm_ids(record):
        raise Http404(_("This event is not in the record's arms."))
    instrument = design.instrument(event, form_name)
    access = selectors.access_form(request.user, project, record, event, instrument.name)
    if instance < 1 or (instance > 1 and not design.repeats_form(event, form_name)):
        raise Http404(_("This form does not repeat."))
    fields = design.snapshot.form_rows(instrument.name)
    all_rows = {row.field_name: row for row in design.snapshot.rows}
    stored = selectors.form_data(record, event, form_name, instance)
    return FormPage(
        project, design, record, event, instrument, instance, fields, all_rows, stored, access
    )


def _other_values(page: FormPage) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Values of the record's other forms at this event, and every event's values by name."""
    here: dict[str, str] = {}
    data: dict[str, dict[str, str]] = {}
    names = {event.pk: event.unique_name for event in page.design.events}
    for (event_id, form_name, instance), form in selectors.record_forms(page.record).items():
        if instance != 1 or event_id not in names:
            continue
        data.setdefault(names[event_id], {}).update(form.values)
        if event_id == page.event.pk and form_name != page.instrument.name:
            here.update(form.values)
    return here, data


def _logic_context(page: FormPage, data: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    return {
        "record": page.record.record_id,
        "event": page.event.unique_name,
        "events": [event.unique_name for event in page.design.events],
        "arm_number": page.event.arm.number,
        "instance": page.instance,
        "project_id": page.project.pk,
        "dag": page.record.group.unique_name if page.record.group is not None else "",
        "data": data,
    }


@dataclass(frozen=True)
class BlockView:
    """A layout block with the error messages of the fields it draws, and their history links."""

    block: Block
    errors: list[str]
    history: list[tuple[str, str]] = field(default_factory=list)
    file: FileLink | None = None

    @property
    def kind(self) -> str:
        return self.block.kind


def _block_fields(block: Block) -> list[str]:
    if isinstance(block, MatrixBlock):
        return [row.name for row in block.rows]
    return [block.field.name] if block.kind == "field" else []  # type: ignore[union-attr]


def _field_of(key: str) -> str:
    return key.split("___", 1)[0]


REASON_RULE = "reason_required"


def _with_errors(
    layout: list[Block],
    problems: Sequence[ValueProblem],
    history: Mapping[str, str],
    files: Mapping[str, FileLink],
) -> list[BlockView]:
    """The blocks with their fields' errors and (field, url) of those that have a history."""
    by_field: dict[str, list[str]] = {}
    for problem in problems:
        by_field.setdefault(_field_of(problem.field), []).append(problem.message)
    return [
        BlockView(
            block,
            [m for name in _block_fields(block) for m in by_field.get(name, [])],
            [(name, history[name]) for name in _block_fields(block) if name in history],
            next((files[name] for name in _block_fields(block) if name in files), None),
        )
        for block in layout
    ]


def _history_links(page: FormPage) -> dict[str, str]:
    """Field name → its history page, for the fields of this form that have changed."""
    if page.stored is None:
        return {}
    columns = selectors.columns_with_history(
        page.record, page.event, page.instrument.name, page.instance
    )
    args = [page.project.pk, page.record.record_id, page.event.unique_name]
    args += [page.instrument.name, page.instance]
    return {
        name: reverse("records:field_history", args=[*args, name])
        for name in {_field_of(column) for column in columns}
    }


def _anchor(page: FormPage, problem: ValueProblem) -> str:
    """The id of the first input of the field a problem is about, for the summary's links."""
    if problem.rule == REASON_RULE:
        return "crf-reason"
    name = _field_of(problem.field)
    row = next((row for row in page.fields if row.field_name == name), None)
    if row is None:
        return ""
    view = field_view(row, record_id_field=page.record_id_field)
    return view.choices[0].input_id if view.label_for == "" and view.choices else view.input_id


@dataclass(frozen=True)
class FileLink:
    """The file a file field holds, as the data entry page shows it.

    `preview_url` shows it inline, for the raster images `files.previews` allows; else None.
    """

    name: str
    size: int
    url: str
    preview_url: str | None = None


def _file_download_url(page: FormPage, field_name: str) -> str:
    args = [page.project.pk, page.record.record_id, page.event.unique_name]
    return reverse(
        "records:file_download", args=[*args, page.instrument.name, page.instance, field_name]
    )


def _file_links(page: FormPage) -> dict[str, FileLink]:
    """Field name → its stored file, for the file fields of this form that hold one."""
    if page.stored is None:
        return {}
    ids = {
        row.field_name: int(value)
        for row in page.fields
        if row.field_type == "file"
        and (value := page.stored.values.get(row.field_name, "")).isascii()
        and value.isdigit()
    }
    found = file_selectors.files_in_project(page.project, ids.values())
    args = [page.project.pk, page.record.record_id, page.event.unique_name]
    args += [page.instrument.name, page.instance]
    return {
        name: FileLink(
            found[pk].original_name,
            found[pk].size,
            _file_download_url(page, name),
            reverse("records:file_preview", args=[*args, name])
            if is_previewable(found[pk])
            else None,
        )
        for name, pk in ids.items()
        if pk in found
    }


def _render_form(
    request: AuthedRequest,
    page: FormPage,
    values: Mapping[str, str],
    *,
    problems: Sequence[ValueProblem] = (),
    reason: str = "",
    status: int = 200,
) -> HttpResponse:
    here, data = _other_values(page)
    merged = {**here, **values}
    smart = {"record-name": page.record.record_id, "event-name": page.event.unique_name}
    pipe = make_piper(page.all_rows, merged, data=data, smart=smart)
    layout = instrument_layout(
        page.fields, record_id_field=page.record_id_field, values=values, pipe=pipe
    )
    labels = {row.field_name: row.field_label for row in page.fields}
    stored = page.stored
    context = {
        "project": page.project,
        "nav": "records",
        "record": page.record,
        "event": page.event,
        "instrument": page.instrument,
        "instance": page.instance,
        "repeating": page.design.repeats_form(page.event, page.instrument.name),
        "show_event": page.project.is_longitudinal,
        "blocks": _with_errors(layout, problems, _history_links(page), _file_links(page)),
        "problems": [(_problem_label(labels, p), _anchor(page, p), p) for p in problems],
        "reason_required": page.reason_required,
        "reason_errors": [p.message for p in problems if p.rule == REASON_RULE],
        "logic": form_logic_spec(page.fields, _logic_context(page, data)),
        "base_version": stored.version if stored is not None else 0,
        "base_values": json.dumps(stored.values if stored is not None else {}),
        "reason": reason,
        "readonly": page.access.readonly,
        "delete_url": _form_delete_url(page)
        if stored is not None and not page.access.readonly
        else "",
    }
    if request.method == "POST":
        context["base_version"] = request.POST.get("base_version", "")
        context["base_values"] = request.POST.get("base_values", "")
    return render(request, "records/form.html", context, status=status)


def _problem_label(labels: Mapping[str, str], problem: ValueProblem) -> str:
    if problem.rule == REASON_RULE:
        return _("Reason for change")
    return labels.get(_field_of(problem.field), problem.field)


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


def _warn(request: AuthedRequest, labels: Mapping[str, str], warnings: Sequence[Any]) -> None:
    for warning in warnings:
        label = labels.get(_field_of(warning.field), warning.field)
        messages.warning(request, f"{label}: {warning.message}")


def _after_save(request: AuthedRequest, page: FormPage) -> HttpResponse:
    action = request.POST.get("action", "stay")
    record_id = page.record.record_id
    if action == "exit":
        return redirect("records:home", project_id=page.project.pk, record_id=record_id)
    if action == "next":
        following = page.design.next_form(page.event, page.instrument.name)
        if following is None:
            return redirect("records:home", project_id=page.project.pk, record_id=record_id)
        return redirect(_form_url(page.project, record_id, following[0], following[1], 1))
    return redirect(
        _form_url(page.project, record_id, page.event, page.instrument.name, page.instance)
    )


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
    for name in _file_fields(page):
        upload = request.FILES.get(name)
        if upload is None:
            continue
        try:
            uploads[name] = file_store(context=context, project=page.project, upload=upload)
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


def _save(request: AuthedRequest, page: FormPage) -> HttpResponse:
    values = submitted_values(page, request.POST)
    status = _int_or_none(request.POST.get(page.status_key, ""))
    reason = request.POST.get("reason", "").strip()
    shown = {**values, page.status_key: request.POST.get(page.status_key, "")}
    if page.record_id_field:
        shown.setdefault(page.record_id_field, page.record.record_id)
    context = AuditContext.from_request(request)
    uploads, refused = _store_uploads(request, page, context)
    if refused:
        return _render_form(request, page, shown, problems=refused, reason=reason, status=400)
    for name in _file_fields(page):
        if name in uploads:
            values[name] = str(uploads[name].pk)
        elif request.POST.get(f"{name}__remove"):
            values[name] = ""
    try:
        result = services.form_save(
            context=context,
            record=page.record,
            event=page.event,
            form_name=page.instrument.name,
            instance=page.instance,
            values=values,
            status=status,
            base_version=_int_or_none(request.POST.get("base_version", "")),
            base_values=_posted_base_values(request.POST.get("base_values", "")),
            reason=reason,
        )
    except InvalidValues as error:
        _discard(context, uploads.values())
        return _render_form(
            request, page, shown, problems=error.problems, reason=reason, status=400
        )
    except SaveConflict as conflict:
        _discard(context, uploads.values())
        return _render_conflict(request, page, values, conflict)
    except InvalidInput as error:
        _discard(context, uploads.values())
        messages.error(request, error.message)
        return _render_form(request, page, shown, reason=reason, status=400)
    _delete_replaced(context, page, result.changes, reason)
    messages.success(request, _("Your changes were saved.") if result.changes else _("Saved."))
    _warn(request, {row.field_name: row.field_label for row in page.fields}, result.warnings)
    return _after_save(request, page)


def _conflict_rows(
    page: FormPage, values: Mapping[str, str], theirs: Mapping[str, tuple[str, str]]
) -> Iterator[dict[str, str]]:
    labels = {row.field_name: row.field_label for row in page.fields}
    for key, (then, now) in theirs.items():
        yield {
            "field": key,
            "label": labels.get(_field_of(key), key),
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
        "reload_url": _form_url(
            page.project, page.record.record_id, page.event, page.instrument.name, page.instance
        ),
    }
    return render(request, "records/conflict.html", context, status=409)


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
    page = _form_page(request, project_id, record_id, event_name, form_name, instance)
    if request.method == "POST":
        # Refused before any upload is stored: a read-only form changes nothing at all.
        selectors.require_form_edit(page.access.rights, page.instrument.name)
        return _save(request, page)
    return _render_form(request, page, page.stored_values())


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
    page = _form_page(request, project_id, record_id, event_name, form_name, instance)
    if field_name not in {row.field_name for row in page.fields if row.field_type == "file"}:
        raise NotFound(_("No such file."))
    value = page.stored.values.get(field_name, "") if page.stored is not None else ""
    if not (value.isascii() and value.isdigit()):
        raise NotFound(_("No such file."))
    return file_response(file_selectors.file_in_project(page.project, int(value)))


# ---------------------------------------------------------------- per-field history


def _history_columns(page: FormPage, field_name: str) -> tuple[str, list[str]]:
    """The field's label and its stored columns (checkbox options each have one)."""
    if field_name == page.status_key:
        return _("Complete?"), [field_name]
    row = next((row for row in page.fields if row.field_name == field_name), None)
    if row is None:
        raise Http404(_("No such field in this form."))
    return row.field_label, list(form_columns([row]))


@login_required
@domain_errors
def field_history(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
    field_name: str,
) -> HttpResponse:
    page = _form_page(request, project_id, record_id, event_name, form_name, instance)
    label, columns = _history_columns(page, field_name)
    entries = selectors.field_history(page.record, page.event, form_name, instance, columns)
    context = {
        "project": page.project,
        "nav": "records",
        "record": page.record,
        "event": page.event,
        "instrument": page.instrument,
        "instance": page.instance,
        "show_event": page.project.is_longitudinal,
        "field_name": field_name,
        "field_label": label,
        "checkbox": len(columns) > 1 or columns[0] != field_name,
        "entries": entries,
        "form_url": _form_url(page.project, record_id, page.event, form_name, instance),
    }
    return render(request, "records/field_history.html", context)


# ---------------------------------------------------------------- deleting and renaming
# Each is a page that asks first (GET) and acts on its POST. The project right is checked
# before the record is looked up, so a refusal says nothing about whether a record exists.


def _form_delete_url(page: FormPage) -> str:
    args = [page.project.pk, page.record.record_id, page.event.unique_name]
    return reverse("records:form_delete", args=[*args, page.instrument.name, page.instance])


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
    page = _form_page(request, project_id, record_id, event_name, form_name, instance)
    if page.stored is None:
        raise Http404(_("This form has no data to delete."))
    selectors.require_form_edit(page.access.rights, page.instrument.name)
    if request.method == "POST":
        services.form_delete(
            context=AuditContext.from_request(request),
            record=page.record,
            event=page.event,
            form_name=form_name,
            instance=instance,
            reason=request.POST.get("reason", "").strip(),
        )
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
        "cancel_url": _form_url(page.project, record_id, page.event, form_name, instance),
        "button": _("Delete form data"),
    }
    return render(request, "records/confirm_delete.html", context)


@login_required
@domain_errors
def record_delete(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    project = project_selectors.access_project_with(request.user, project_id, "record_delete")
    record = selectors.access_record(request.user, project, record_id)
    if request.method == "POST":
        services.record_delete(
            context=AuditContext.from_request(request),
            record=record,
            reason=request.POST.get("reason", "").strip(),
        )
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
    arm = _posted_arm(request, project)
    if arm is None:
        raise NotFound(_("No such arm."))
    services.record_arm_add(context=AuditContext.from_request(request), record=record, arm=arm)
    messages.success(
        request, _("The record is now in arm %(number)s as well.") % {"number": arm.number}
    )
    return redirect("records:home", project_id=project.pk, record_id=record.record_id)
