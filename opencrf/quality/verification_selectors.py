"""Protected reads of source data verification: what a mark covers, whether it still holds,
and how far a project's verification has come.

A mark is valid while nobody saw its value change (`invalidated_at` is empty) and the stored
values still hash to what was verified. The hash is checked on every read, so a change by any
path — web form, API, import, survey, a path that forgot to announce its write — shows, even
before the post-commit check (`verification_services.verifications_check`) has recorded it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.projects.models import Event, Project
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import access_project, member_rights
from opencrf.quality.verification_models import Verification
from opencrf.records import selectors as record_selectors
from opencrf.records.models import FormData, Record
from opencrf.records.signatures import signed_time_text

CHECKBOX_SEPARATOR = "___"  # a checkbox option's column: `<field>___<code>`
UNVALUED_TYPES = frozenset({"descriptive"})  # fields that hold no value to verify


def _digest(payload: Mapping[str, object]) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _answered(values: Mapping[str, str]) -> dict[str, str]:
    # A blank value and a missing key both mean "not answered": a save that writes "" where
    # nothing was stored changes nothing a monitor could have verified.
    return {key: str(value) for key, value in values.items() if str(value) != ""}


def form_values_hash(form_name: str, instance: int, values: Mapping[str, str]) -> str:
    """SHA-256 (hex) of a form instance's answered values, as a whole-form verification binds.

    Like an e-signature's hash (records/signatures.py) but without the form status: marking a
    form complete changes no source data.
    """
    return _digest({"form": form_name, "instance": instance, "values": _answered(values)})


def field_columns(field_name: str, values: Mapping[str, str], checkbox: bool) -> dict[str, str]:
    """The stored columns of one field: itself, or a checkbox's `field___code` options."""
    if not checkbox:
        return {field_name: values[field_name]} if field_name in values else {}
    prefix = field_name + CHECKBOX_SEPARATOR
    return {key: value for key, value in values.items() if key.startswith(prefix)}


def field_value_hash(field_name: str, values: Mapping[str, str], checkbox: bool) -> str:
    """SHA-256 (hex) of one field's answered value(s), as a field verification binds."""
    columns = _answered(field_columns(field_name, values, checkbox))
    return _digest({"field": field_name, "values": columns})


def checkbox_fields(design: ProjectDesign) -> frozenset[str]:
    return frozenset(row.field_name for row in design.rows if row.field_type == "checkbox")


def hash_now(form: FormData | None, field_name: str, checkboxes: Iterable[str]) -> str:
    """What a mark of the form (field_name "") or of one field would hash to now; "" when the
    form instance no longer has data."""
    if form is None:
        return ""
    if not field_name:
        return form_values_hash(form.form_name, form.instance, form.values)
    return field_value_hash(field_name, form.values, field_name in set(checkboxes))


def current_hash(
    verification: Verification, form: FormData | None, checkboxes: Iterable[str]
) -> str:
    return hash_now(form, verification.field_name, checkboxes)


def is_valid(verification: Verification, form: FormData | None, checkboxes: Iterable[str]) -> bool:
    """Whether the mark still holds: no change seen since, and the values hash as verified."""
    if verification.invalidated_at is not None:
        return False
    return current_hash(verification, form, checkboxes) == verification.content_hash


def answered_fields(form: FormData, design: ProjectDesign) -> set[str]:
    """The form's fields that hold a value a monitor can check against source: not the
    record id (it names the record), not descriptive text, not blank."""
    answered = {field_of_column(key) for key, value in form.values.items() if str(value) != ""}
    rows = design.form_rows(form.form_name)
    valued = {row.field_name for row in rows if row.field_type not in UNVALUED_TYPES}
    return (answered & valued) - {design.record_id_field}


@dataclass(frozen=True)
class Place:
    """One saved form instance a user may verify or read the verification of."""

    project: Project
    record: Record
    event: Event
    form: FormData
    rights: Rights
    design: ProjectDesign

    @property
    def form_name(self) -> str:
        return self.form.form_name

    @property
    def instance(self) -> int:
        return self.form.instance

    def valued_fields(self) -> list[str]:
        rows = self.design.form_rows(self.form_name)
        return [row.field_name for row in rows if row.field_type not in UNVALUED_TYPES]

    def require_field(self, field_name: str) -> str:
        """`field_name` if it is a field of this form that holds a value, else InvalidInput."""
        if field_name and field_name not in self.valued_fields():
            raise InvalidInput(
                _("Form %(form)s has no field %(field)s to verify; nothing was changed.")
                % {"form": self.form_name, "field": field_name}
            )
        return field_name


def access_place(
    user: User,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
) -> Place:
    """The saved form instance, if `user` may see it; NotFound otherwise (another site's record
    looks like a missing one). Rights to verify are checked by the services."""
    project = access_project(user, project_id)
    record = record_selectors.access_record(user, project, record_id)
    design = design_of(project)
    event = next((e for e in design.events if e.unique_name == event_name), None)
    if event is None or event.arm_id not in record_selectors.record_arm_ids(record):
        raise NotFound(_("No such event."))
    if not design.has_form(project, event, form_name):
        raise NotFound(_("No such form in this event."))
    access = record_selectors.access_form(user, project, record, event, form_name)
    form = record_selectors.form_data(record, event, form_name, instance)
    if form is None:
        raise NotFound(_("This form has no saved data to verify."))
    return Place(project, record, event, form, access.rights, design)


def require_verify_right(rights: Rights) -> None:
    if not rights.source_verify:
        raise PermissionDenied(_("You do not have the source data verification right."))


@dataclass(frozen=True)
class MarkState:
    """One verification mark as a page shows it."""

    verification: Verification
    valid: bool
    changed: tuple[str, ...] = ()  # the fields that changed after it, when it is no longer valid

    @property
    def field_name(self) -> str:
        return self.verification.field_name

    @property
    def verified_at(self) -> datetime:
        return self.verification.verified_at

    @property
    def verifier(self) -> str:
        user = self.verification.verified_by
        return user.display_name if user is not None else ""

    @property
    def verified_time(self) -> str:
        """The date and time with its time zone, as signatures show theirs."""
        return signed_time_text(self.verification.verified_at)

    @property
    def changed_text(self) -> str:
        return ", ".join(self.changed)


@dataclass(frozen=True)
class FormVerification:
    """Every mark of one form instance: the whole form's, and each field's."""

    form: MarkState | None = None
    fields: Mapping[str, MarkState] = field(default_factory=dict)

    @property
    def any_invalid(self) -> bool:
        marks = [*self.fields.values(), *([self.form] if self.form else [])]
        return any(not mark.valid for mark in marks)


def form_verification(
    record: Record, event: Event, form: FormData | None, design: ProjectDesign, form_name: str = ""
) -> FormVerification:
    """The marks of one form instance, each with its validity and, if broken, what changed."""
    name = form.form_name if form is not None else form_name
    instance = form.instance if form is not None else 1
    marks = Verification.objects.filter(
        record=record, event=event, form_name=name, instance=instance
    ).select_related("verified_by")
    checkboxes = checkbox_fields(design)
    states: dict[str, MarkState] = {}
    for mark in marks:
        valid = is_valid(mark, form, checkboxes)
        changed = () if valid else changed_fields(record, event, name, instance, mark)
        states[mark.field_name] = MarkState(mark, valid, changed)
    whole = states.pop("", None)
    return FormVerification(whole, states)


def field_of_column(column: str) -> str:
    return column.split(CHECKBOX_SEPARATOR, 1)[0]


def changed_fields(
    record: Record, event: Event, form_name: str, instance: int, mark: Verification
) -> tuple[str, ...]:
    """The fields the audit trail shows changed after `mark` was made (those it covers)."""
    columns = record_selectors.columns_with_history(record, event, form_name, instance)
    if mark.field_name:
        columns = {c for c in columns if field_of_column(c) == mark.field_name}
    if not columns:
        return ()
    history = record_selectors.field_history(record, event, form_name, instance, sorted(columns))
    later = {field_of_column(entry.column) for entry in history if entry.at > mark.verified_at}
    return tuple(sorted(later))


# Progress of a project's verification -------------------------------------------------------

VERIFIED, PARTLY, CHANGED, NOT_VERIFIED = "verified", "partly", "changed", "not_verified"
STATUSES = (VERIFIED, PARTLY, CHANGED, NOT_VERIFIED)
MAX_LISTED = 100


def require_progress_access(user: User, project_id: int) -> tuple[Project, Rights]:
    project = access_project(user, project_id)
    rights = member_rights(user, project)
    require_verify_right(rights)
    return project, rights


FormKeyTuple = tuple[int, int, str, int]  # record pk, event pk, form name, instance


def instance_statuses(user: User, project: Project, rights: Rights) -> dict[FormKeyTuple, str]:
    """Status of every verified form instance the user may see (others are not verified)."""
    visible = record_selectors.records_visible_to(user, project)
    marks = list(
        Verification.objects.filter(project=project, record__in=visible).only(
            "record_id",
            "event_id",
            "form_name",
            "instance",
            "field_name",
            "content_hash",
            "invalidated_at",
        )
    )
    marks = [m for m in marks if rights.can_see_form(m.form_name)]
    forms = _forms_of(m for m in marks)
    checkboxes = checkbox_fields(design_of(project))
    statuses: dict[FormKeyTuple, str] = {}
    for mark in marks:
        key = (mark.record_id, mark.event_id, mark.form_name, mark.instance)
        if key not in forms:
            continue  # the form's data were deleted: not a saved form instance any more
        status = _mark_status(mark, is_valid(mark, forms[key], checkboxes))
        statuses[key] = _worse(statuses.get(key), status)
    return statuses


def _forms_of(marks: Iterable[Verification]) -> dict[FormKeyTuple, FormData]:
    wanted = {(m.record_id, m.event_id, m.form_name, m.instance) for m in marks}
    record_ids = sorted({key[0] for key in wanted})
    found: dict[FormKeyTuple, FormData] = {}
    for start in range(0, len(record_ids), 500):
        chunk = FormData.objects.filter(record_id__in=record_ids[start : start + 500]).only(
            "record_id", "event_id", "form_name", "instance", "values"
        )
        for form in chunk:
            key = (form.record_id, form.event_id, form.form_name, form.instance)
            if key in wanted:
                found[key] = form
    return found


def _mark_status(mark: Verification, valid: bool) -> str:
    if not valid:
        return CHANGED
    return PARTLY if mark.field_name else VERIFIED


_RANK = {CHANGED: 3, VERIFIED: 2, PARTLY: 1}


def _worse(old: str | None, new: str) -> str:
    """A form instance's status from its marks: any broken mark wins, then the whole form's."""
    if old is None:
        return new
    return old if _RANK[old] >= _RANK[new] else new


@dataclass
class ProgressRow:
    """Counts of one form (and one data access group) of saved form instances."""

    form_name: str
    form_label: str
    group: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done_percent(self) -> int:
        return round(100 * self.counts[VERIFIED] / self.total) if self.total else 0


@dataclass(frozen=True)
class Pending:
    """A form instance that needs (re-)verification."""

    record_id: str
    event: Event
    form_name: str
    form_label: str
    instance: int
    status: str


@dataclass(frozen=True)
class Progress:
    rows: Sequence[ProgressRow]
    totals: ProgressRow
    pending: Sequence[Pending]
    pending_count: int


def verification_progress(
    user: User, project: Project, rights: Rights, *, form_name: str = "", status: str = ""
) -> Progress:
    """Per form and data access group, how many saved instances are verified, partly (some
    fields only), changed since verification, or not verified; and the first of those that
    need (re-)verification, changed ones first. Only records and forms the user may see."""
    design = design_of(project)
    labels = {i.name: i.label for i in design.instruments if rights.can_see_form(i.name)}
    statuses = instance_statuses(user, project, rights)
    visible = record_selectors.records_visible_to(user, project)
    saved = FormData.objects.filter(record__in=visible, form_name__in=list(labels))
    group_names = dict(project.groups.values_list("pk", "name"))
    rows: dict[tuple[str, int | None], ProgressRow] = {}
    totals = ProgressRow("", "", "")
    columns = ("record_id", "event_id", "form_name", "instance", "record__group_id")
    for record_pk, event_id, name, instance, group_id in saved.values_list(*columns).iterator():
        row = rows.get((name, group_id))
        if row is None:
            group = group_names.get(group_id, "") if group_id else ""
            row = rows[(name, group_id)] = ProgressRow(name, labels[name], group)
        state = statuses.get((record_pk, event_id, name, instance), NOT_VERIFIED)
        row.counts[state] += 1
        totals.counts[state] += 1
    order = list(labels)
    ordered = sorted(
        rows.values(), key=lambda r: (order.index(r.form_name), r.group != "", r.group)
    )
    pending, count = _pending(design, saved, statuses, labels, form_name, status)
    return Progress(ordered, totals, pending, count)


def _pending(
    design: ProjectDesign,
    saved: QuerySet[FormData],
    statuses: Mapping[FormKeyTuple, str],
    labels: Mapping[str, str],
    form_name: str,
    status: str,
) -> tuple[list[Pending], int]:
    needing = (CHANGED, PARTLY, NOT_VERIFIED)
    wanted = {status} if status in needing else set(needing)
    if form_name:
        saved = saved.filter(form_name=form_name)
    events = {event.pk: event for event in design.events}
    changed: list[Pending] = []
    others: list[Pending] = []
    count = 0
    rows = saved.order_by("record__record_id", "event_id", "form_name", "instance").values_list(
        "record_id", "record__record_id", "event_id", "form_name", "instance"
    )
    for record_pk, record_id, event_id, name, instance in rows.iterator():
        state = statuses.get((record_pk, event_id, name, instance), NOT_VERIFIED)
        if state not in wanted or event_id not in events:
            continue
        count += 1
        bucket = changed if state == CHANGED else others
        if len(bucket) < MAX_LISTED:
            bucket.append(Pending(record_id, events[event_id], name, labels[name], instance, state))
    return (changed + others)[:MAX_LISTED], count


@dataclass(frozen=True)
class RecordRow:
    """One saved form instance of a record, with its verification, for the record's page."""

    event: Event
    form_name: str
    form_label: str
    instance: int
    status: str
    form_mark: MarkState | None
    fields_marked: int

    @property
    def marked(self) -> bool:
        return self.form_mark is not None or self.fields_marked > 0


def record_verification_rows(project: Project, record: Record, rights: Rights) -> list[RecordRow]:
    """Every saved form instance of a (visible) record the member may see, in design order."""
    design = design_of(project)
    checkboxes = checkbox_fields(design)
    labels = {i.name: i.label for i in design.instruments if rights.can_see_form(i.name)}
    events = {event.pk: event for event in design.events}
    marks: dict[FormKeyTuple, list[Verification]] = {}
    for mark in Verification.objects.filter(record=record).select_related("verified_by"):
        key = (mark.record_id, mark.event_id, mark.form_name, mark.instance)
        marks.setdefault(key, []).append(mark)
    rows = []
    for form in record.forms.filter(form_name__in=list(labels)):
        if form.event_id not in events:
            continue
        key = (form.record_id, form.event_id, form.form_name, form.instance)
        states = [MarkState(m, is_valid(m, form, checkboxes)) for m in marks.get(key, [])]
        rows.append(_record_row(events[form.event_id], form, labels[form.form_name], states))
    order = {event_id: n for n, event_id in enumerate(events)}
    names = list(labels)
    rows.sort(key=lambda r: (order[r.event.pk], names.index(r.form_name), r.instance))
    return rows


def _record_row(event: Event, form: FormData, label: str, states: list[MarkState]) -> RecordRow:
    status = NOT_VERIFIED
    for state in states:
        status = _worse(None if status == NOT_VERIFIED else status, _state_status(state))
    whole = next((state for state in states if not state.field_name), None)
    fields = sum(1 for state in states if state.field_name)
    return RecordRow(event, form.form_name, label, form.instance, status, whole, fields)


def _state_status(state: MarkState) -> str:
    return _mark_status(state.verification, state.valid)
