"""Drawing the data entry page: layout, errors, history and file links, and the logic spec."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from opencrf.accounts.typing import AuthedRequest
from opencrf.dictionary.form_logic import RecordData, form_logic_spec, record_data
from opencrf.dictionary.piping import make_piper
from opencrf.dictionary.rendering import (
    Block,
    MatrixBlock,
    field_view,
    instrument_layout,
)
from opencrf.files import selectors as file_selectors
from opencrf.files.previews import is_previewable
from opencrf.records import selectors
from opencrf.records.errors import ValueProblem
from opencrf.records.locking_selectors import LockPanel, lock_panel
from opencrf.records.views.form_page import FormPage, field_of, form_delete_url


def _record_data(page: FormPage) -> tuple[dict[str, str], RecordData]:
    """(values of the event's other forms this form sees, every stored value of the record).

    The second is the logic context's `data`, in the one shape the server's save and
    `logic.js` read (`form_logic.record_data`). The first follows the save's rule (a form of
    the same event is seen when it is at this instance of a repeating event, or non-repeating),
    and is put at this event and instance too, where the browser reads what its inputs lack.
    """
    names = {event.pk: event.unique_name for event in page.design.events}
    repeating = page.design.snapshot.repeating_at(page.event)
    here: dict[str, str] = {}
    forms = []
    for (event_id, form_name, instance), form in _stored_forms(page).items():
        if event_id not in names or (event_id, form_name, instance) == _own_key(page):
            continue
        forms.append((names[event_id], instance, form.values))
        if event_id == page.event.pk and _shares(form_name, instance, repeating, page.instance):
            here.update(form.values)
    data = record_data(forms)
    data.setdefault(page.event.unique_name, {}).setdefault(str(page.instance), {}).update(here)
    return here, data


def _stored_forms(page: FormPage) -> Mapping[tuple[int, str, int], Any]:
    return selectors.record_forms(page.record) if page.new is None else {}


def _own_key(page: FormPage) -> tuple[int, str, int]:
    return (page.event.pk, page.instrument.name, page.instance)


def _shares(form_name: str, instance: int, repeating: set[str], wanted: int) -> bool:
    """Whether a form of the same event is seen by the one on the page, as in REDCap."""
    if "" in repeating:
        return instance == wanted
    return form_name not in repeating and instance == 1


def _logic_context(page: FormPage, data: RecordData) -> dict[str, Any]:
    """The context the save gives `evaluate_form`, so the page computes what the save stores."""
    group = page.record.group
    arm_events = page.design.snapshot.events_of_arm(page.event.arm_id)
    return {
        "record": page.record.record_id,
        "event": page.event.unique_name,
        "event_id": page.event.pk,
        "events": [event.unique_name for event in arm_events],
        "arm_number": page.event.arm.number,
        "instance": page.instance,
        "project_id": page.project.pk,
        "dag": group.unique_name if group is not None else "",
        "dag_id": page.record.group_id or "",
        "data": data,
    }


@dataclass(frozen=True)
class BlockView:
    """A layout block with the error messages of the fields it draws (refused values), their
    warnings (saved, but required and blank, or out of range) and their history links."""

    block: Block
    errors: list[str]
    history: list[tuple[str, str]] = field(default_factory=list)
    file: FileLink | None = None
    warnings: list[str] = field(default_factory=list)
    marks: list[SafeString] = field(default_factory=list)  # from apps above records (page_hooks)

    @property
    def kind(self) -> str:
        return self.block.kind

    @property
    def message_id(self) -> str:
        """The id of the message next to the field, which marks its input; "" without one."""
        if not (self.errors or self.warnings):
            return ""
        names = _block_fields(self.block)
        name = self.block.name if isinstance(self.block, MatrixBlock) else names[0]
        return f"{'error' if self.errors else 'warning'}-{name}"


def _block_fields(block: Block) -> list[str]:
    if isinstance(block, MatrixBlock):
        return [row.name for row in block.rows]
    return [block.field.name] if block.kind == "field" else []  # type: ignore[union-attr]


REASON_RULE = "reason_required"


def _with_errors(
    layout: list[Block],
    problems: Sequence[ValueProblem],
    warnings: Sequence[ValueProblem],
    history: Mapping[str, str],
    files: Mapping[str, FileLink],
    marks: Mapping[str, list[SafeString]],
) -> list[BlockView]:
    """The blocks with their fields' errors and warnings, and (field, url) of those that have a
    history."""
    refused, flagged = _by_field(problems), _by_field(warnings)
    return [
        BlockView(
            block,
            [m for name in _block_fields(block) for m in refused.get(name, [])],
            [(name, history[name]) for name in _block_fields(block) if name in history],
            next((files[name] for name in _block_fields(block) if name in files), None),
            [m for name in _block_fields(block) for m in flagged.get(name, [])],
            [m for name in _block_fields(block) for m in marks.get(name, [])],
        )
        for block in layout
    ]


def _by_field(problems: Sequence[ValueProblem]) -> dict[str, list[str]]:
    by_field: dict[str, list[str]] = {}
    for problem in problems:
        by_field.setdefault(field_of(problem.field), []).append(field_message(problem))
    return by_field


def field_message(problem: ValueProblem) -> str:
    """What a problem says next to its field, and after its label in the summary: a blank
    required field in plain words rather than by its variable name."""
    if problem.rule == "required":
        return _("A value is required.")
    return problem.message


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
        for name in {field_of(column) for column in columns}
    }


def _anchor(page: FormPage, problem: ValueProblem) -> str:
    """The id of the first input of the field a problem is about, for the summary's links."""
    if problem.rule == REASON_RULE:
        return "crf-reason"
    name = field_of(problem.field)
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


def render_form(
    request: AuthedRequest,
    page: FormPage,
    values: Mapping[str, str],
    *,
    problems: Sequence[ValueProblem] = (),
    warnings: Sequence[ValueProblem] = (),
    leave_url: str = "",
    reason: str = "",
    status: int = 200,
) -> HttpResponse:
    """The data entry page; `problems` refused a save, `warnings` came with the last one."""
    here, data = _record_data(page)
    merged = {**here, **values}
    smart = {"record-name": page.record.record_id, "event-name": page.event.unique_name}
    # Multi-language forms: the texts of the user's interface language, where translated.
    snapshot, language = page.design.snapshot, get_language()
    all_rows = {
        row.field_name: row for row in snapshot.shown_rows(page.all_rows.values(), language)
    }
    fields = [all_rows[row.field_name] for row in page.fields]
    pipe = make_piper(all_rows, merged, data=data, smart=smart)
    layout = instrument_layout(
        fields, record_id_field=page.record_id_field, values=values, pipe=pipe
    )
    labels = {row.field_name: row.field_label for row in fields}
    stored = page.stored
    panel = _lock_panel(request, page, language)
    context = {
        "project": page.project,
        "nav": "records",
        "record": page.record,
        "event": page.event,
        "instrument": page.instrument,
        "instrument_label": snapshot.instrument_label(page.instrument, language),
        "instance": page.instance,
        "repeating": page.design.repeats_form(page.event, page.instrument.name),
        "show_event": page.project.is_longitudinal,
        "blocks": _with_errors(
            layout, problems, warnings, _history_links(page), _file_links(page), page.marks
        ),
        "problems": [(_problem_label(labels, p), _anchor(page, p), p) for p in problems],
        "warnings": [
            (_problem_label(labels, w), _anchor(page, w), field_message(w)) for w in warnings
        ],
        "leave_url": leave_url,
        "reason_required": page.reason_required,
        "reason_errors": [p.message for p in problems if p.rule == REASON_RULE],
        "logic": form_logic_spec(page.fields, _logic_context(page, data)),
        "base_version": stored.version if stored is not None else 0,
        "base_values": json.dumps(stored.values if stored is not None else {}),
        "reason": reason,
        "readonly": page.access.readonly or (panel is not None and panel.locked),
        "lock": panel,
        "form_notes": page.notes,
        "new_record": page.new,
        "new_query": page.new_query,
        "delete_url": form_delete_url(page)
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
    return labels.get(field_of(problem.field), problem.field)


def _lock_panel(request: AuthedRequest, page: FormPage, language: str) -> LockPanel | None:
    """The lock panel of a saved record's form (a new record has nothing to lock)."""
    if page.new is not None:
        return None
    return lock_panel(
        user=request.user,
        rights=page.access.rights,
        project=page.project,
        record=page.record,
        event=page.event,
        form=page.stored,
        form_name=page.instrument.name,
        language=language,
    )
