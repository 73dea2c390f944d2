"""Protected reads of study data. A record of another data access group looks missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.models import AuditEvent
from opencrf.core.errors import NotFound, PermissionDenied
from opencrf.projects.models import DataAccessGroup, Event, Project
from opencrf.projects.rights import EDITABLE, Rights
from opencrf.projects.selectors import active_member, member_rights
from opencrf.records.errors import RecordNotFound
from opencrf.records.models import FormData, Record, RecordArm


def records_visible_to(user: User, project: Project) -> QuerySet[Record]:
    """Administrators and members without a group see every record; grouped members their group's.

    Anyone else (and a member whose membership expired) sees none.
    """
    records = project.records.all()  # each record's `project` is this very instance
    if user.is_superuser:
        return records
    member = active_member(user, project)
    if member is None:
        return records.none()
    if member.group_id is None:
        return records
    return records.filter(group_id=member.group_id)


def access_record(user: User, project: Project, record_id: str) -> Record:
    """The record if `user` may see it, else RecordNotFound — the same for missing and hidden."""
    visible = records_visible_to(user, project).select_related("group")
    record = visible.filter(record_id=record_id).first()
    if record is None:
        raise RecordNotFound(_("No such record."))
    return record


def record_arm_ids(record: Record) -> frozenset[int]:
    """The ids of the arms the record is in (one, unless it was put in more)."""
    return frozenset(RecordArm.objects.filter(record=record).values_list("arm_id", flat=True))


def record_arm_numbers(record: Record) -> list[int]:
    """The numbers of the arms the record is in, in order."""
    links = RecordArm.objects.filter(record=record).order_by("arm__number")
    return list(links.values_list("arm__number", flat=True))


@dataclass(frozen=True, slots=True)
class FormAccess:
    """What a member may do with one form of one record: read it, and perhaps change it."""

    right: str
    rights: Rights

    @property
    def readonly(self) -> bool:
        return self.right not in EDITABLE


def access_form(
    user: User, project: Project, record: Record, event: Event, form_name: str
) -> FormAccess:
    """The member's access to a form of a visible record at an event; NotFound without any.

    A form the member has no access to looks exactly like a form the event does not use.
    """
    rights = member_rights(user, project)
    same_project = record.project_id == event.project_id == project.pk
    if not same_project or not rights.can_see_form(form_name):
        raise NotFound(_("No such form in this event."))
    return FormAccess(rights.form(form_name), rights)


def require_form_edit(rights: Rights, form_name: str) -> None:
    """Refuse a change to a form the member may only read (or not see)."""
    if not rights.can_see_form(form_name):
        raise NotFound(_("No such form in this event."))
    if not rights.can_edit_form(form_name):
        raise PermissionDenied(_("You may only read this form; nothing was saved."))


def record_forms(record: Record) -> dict[tuple[int, str, int], FormData]:
    """(event id, form name, instance) → the stored form, for every form of the record."""
    return {(f.event_id, f.form_name, f.instance): f for f in record.forms.all()}


def form_data(record: Record, event: Event, form_name: str, instance: int) -> FormData | None:
    return record.forms.filter(event=event, form_name=form_name, instance=instance).first()


def next_record_id(project: Project, group: DataAccessGroup | None = None) -> str:
    """The next automatic record id, as REDCap numbers them.

    Without a group: one more than the highest all-digit record id, "1" when there is none.
    In a group: `<group id>-<n>`, n one more than the highest n of the group's prefix.
    """
    if group is not None:
        prefix = f"{group.pk}-"
        taken = Record.objects.filter(project=project, record_id__startswith=prefix)
        numbers = [
            int(rest)
            for name in taken.values_list("record_id", flat=True)
            if (rest := name[len(prefix) :]).isascii() and rest.isdigit()
        ]
        return f"{prefix}{max(numbers, default=0) + 1}"
    highest = (
        Record.objects.filter(project=project)
        .exclude(sort_key__startswith="~")
        .order_by("-sort_key")
        .values_list("sort_key", flat=True)
        .first()
    )
    return str(int(highest) + 1) if highest else "1"


@dataclass(frozen=True, slots=True)
class FormCell:
    """A form of a record at an event on the dashboard: its status and how many instances.

    `status` is None when the form has no data; with several instances it is the lowest
    (least complete) of their statuses.
    """

    status: int | None
    count: int


DashboardRow = tuple[Record, dict[tuple[int, str], FormCell]]


def dashboard_rows(
    user: User, project: Project, *, search: str = "", page: int = 1, per_page: int = 50
) -> tuple[list[DashboardRow], int]:
    """One page of visible records in natural order with their forms' statuses, and the total.

    Three queries for the page (records, their arms, their forms), one count: the cells hold
    only forms that have data; a designated form without data is simply absent (read it as
    FormCell(None, 0)). Each record's arms are in `record.arm_links.all()`.
    """
    records = records_visible_to(user, project).select_related("group")
    records = records.prefetch_related("arm_links")
    if search.strip():
        records = records.filter(record_id__icontains=search.strip())
    total = records.count()
    start = max(page - 1, 0) * per_page
    rows = list(records.order_by("sort_key", "id")[start : start + per_page])
    cells: dict[int, dict[tuple[int, str], FormCell]] = {record.pk: {} for record in rows}
    statuses = FormData.objects.filter(record_id__in=list(cells)).values_list(
        "record_id", "event_id", "form_name", "status"
    )
    for record_pk, event_id, form_name, status in statuses:
        key = (event_id, form_name)
        cell = cells[record_pk].get(key)
        if cell is None or cell.status is None:
            cells[record_pk][key] = FormCell(status, 1)
        else:
            cells[record_pk][key] = FormCell(min(cell.status, status), cell.count + 1)
    return [(record, cells[record.pk]) for record in rows], total


# ---------------------------------------------------------------- per-field history

_FORM_ACTIONS = ("form.update", "form.delete")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change of one stored column (a field, or a checkbox option `field___code`)."""

    at: datetime
    user: str
    column: str
    old: str
    new: str
    reason: str
    action: str


def _form_audit(
    record: Record, event: Event, form_name: str, instance: int
) -> QuerySet[AuditEvent]:
    # Entries are the record's by its internal key, never by its id text, which another
    # record may have carried before (deleted or renamed since). Entries written before they
    # carried the key are matched by the id, but only from the record's creation on.
    legacy = Q(record_key=None, record=record.record_id, at__gte=record.created_at)
    return AuditEvent.objects.filter(
        Q(record_key=record.pk) | legacy,
        project_id=record.project_id,
        action__in=_FORM_ACTIONS,
        event=event.unique_name,
        instrument=form_name,
        instance=instance,
    )


def columns_with_history(record: Record, event: Event, form_name: str, instance: int) -> set[str]:
    """Every stored column of one form instance that the audit trail shows a change of."""
    rows = _form_audit(record, event, form_name, instance).values_list("changes", flat=True)
    return {column for changes in rows for column in changes}


def field_history(
    record: Record, event: Event, form_name: str, instance: int, columns: Sequence[str]
) -> list[HistoryEntry]:
    """Each change of `columns` in one form instance, newest first, from the audit trail."""
    events = _form_audit(record, event, form_name, instance).filter(
        changes__has_any_keys=list(columns)
    )
    return [
        HistoryEntry(
            at=audit.at,
            user=audit.actor_name,
            column=column,
            old=str(audit.changes[column][0]),
            new=str(audit.changes[column][1]),
            reason=audit.reason,
            action=audit.action,
        )
        for audit in events.order_by("-sequence")
        for column in columns
        if column in audit.changes
    ]
