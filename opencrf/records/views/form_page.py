"""One data entry page's shape: a form of a record at an event and instance, as access allows."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from opencrf.accounts.typing import AuthedRequest
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.models import Instrument
from opencrf.dictionary.rendering import (
    default_values,
)
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Event, FormRight, Project, ProjectStatus
from opencrf.records import selectors
from opencrf.records.models import FormData, Record
from opencrf.records.page_hooks import FormNote, FormPlace, field_marks, form_notes
from opencrf.records.views.design import Design
from opencrf.records.views.new_record import NewRecord, new_record_of


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
    new: NewRecord | None = None  # a record not saved yet (`views.new_record`)
    notes: list[FormNote] = field(default_factory=list)  # from apps above records (page_hooks)
    marks: dict[str, list[SafeString]] = field(default_factory=dict)  # field name → its marks

    @property
    def new_query(self) -> str:
        """What links to this record's pages append: keeps them on the unsaved record."""
        return self.new.query if self.new is not None else ""

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


def load_form_page(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
    *,
    allow_new: bool = False,
) -> FormPage:
    """The page of one form; with `allow_new`, an address with `?new=1` is a new record's."""
    project = project_selectors.access_project(request.user, project_id)
    rights = project_selectors.member_rights(request.user, project)
    new = new_record_of(request, project, rights, record_id) if allow_new else None
    if new is None:
        record = selectors.access_record(request.user, project, record_id)
        arm_ids = selectors.record_arm_ids(record)
    else:
        record, arm_ids = new.record, frozenset({new.arm.pk})
    # Forms without access are left out, so they are missing here and in "next form".
    design = Design.of(project, rights)
    event = design.event_by_name(event_name)
    if event.arm_id not in arm_ids:
        raise Http404(_("This event is not in the record's arms."))
    instrument = design.instrument(event, form_name)
    access = selectors.access_form(request.user, project, record, event, instrument.name)
    if instance < 1 or (instance > 1 and not design.repeats_form(event, form_name)):
        raise Http404(_("This form does not repeat."))
    if new is not None and instance != 1:
        raise Http404(_("This form does not repeat."))
    fields = design.snapshot.form_rows(instrument.name)
    all_rows = {row.field_name: row for row in design.snapshot.rows}
    stored = selectors.form_data(record, event, form_name, instance) if new is None else None
    notes: list[FormNote] = []
    marks: dict[str, list[SafeString]] = {}
    if new is None:
        place = FormPlace(project, record, event, instrument.name, instance, rights, stored)
        notes = form_notes(place)
        marks = field_marks(place, [row.field_name for row in fields])
    if any(note.readonly for note in notes) and not access.readonly:
        access = replace(access, right=FormRight.READ)
    return FormPage(
        project,
        design,
        record,
        event,
        instrument,
        instance,
        fields,
        all_rows,
        stored,
        access,
        new,
        notes,
        marks,
    )


def field_of(key: str) -> str:
    return key.split("___", 1)[0]


def form_delete_url(page: FormPage) -> str:
    args = [page.project.pk, page.record.record_id, page.event.unique_name]
    return reverse("records:form_delete", args=[*args, page.instrument.name, page.instance])
