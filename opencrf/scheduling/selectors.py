"""Protected reads of schedules and the calendar.

Who sees what (REDCap has a `calendar` right; OpenCRF has none, see
docs/subsystems/scheduling.md): every project member sees the calendar, and in it the visits
of the records they may see (`records_visible_to`: a member in a data access group never sees
another group's records, nor their visits). Ad-hoc entries about a record follow the record;
an entry without a record is seen by its group's members and by members in no group. Changing
schedules and entries needs the right to create records or to design the project.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import NotFound, PermissionDenied
from opencrf.projects.models import Project
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import member_rights
from opencrf.records.models import FormData, Record
from opencrf.records.selectors import records_visible_to
from opencrf.scheduling.models import CalendarEntry, Schedule, ScheduleAnchor, Visit

STATUSES = ("done", "due", "overdue", "upcoming")


def may_edit_schedules(rights: Rights) -> bool:
    """Moving visits, generating schedules and writing entries: create records, or design."""
    return rights.record_create or rights.design


def require_schedule_editor(user: User, project: Project) -> Rights:
    rights = member_rights(user, project)
    if not may_edit_schedules(rights):
        raise PermissionDenied(_("You may not change the schedule or the calendar."))
    return rights


def _done() -> Exists:
    """Whether any form of the visit's event has been saved for its record."""
    saved = FormData.objects.filter(record_id=OuterRef("record_id"), event_id=OuterRef("event_id"))
    return Exists(saved)


def status_filter(status: str, today: date) -> Q:
    """The visits in `status` on `today` (an unknown status filters nothing)."""
    return {
        "done": Q(done=True),
        "due": Q(done=False, window_start__lte=today, window_end__gte=today),
        "overdue": Q(done=False, window_end__lt=today),
        "upcoming": Q(done=False, window_start__gt=today),
    }.get(status, Q())


def visit_status(visit: Visit, today: date) -> str:
    """done / due / overdue / upcoming of a visit annotated with `done`."""
    if getattr(visit, "done", False):
        return "done"
    if today > visit.window_end:
        return "overdue"
    return "due" if today >= visit.window_start else "upcoming"


def status_labels() -> dict[str, str]:
    return {
        "done": _("Done"),
        "due": _("Due"),
        "overdue": _("Overdue"),
        "upcoming": _("Upcoming"),
    }


@dataclass(frozen=True, slots=True)
class VisitRow:
    """A visit as pages show it: with its status on the day shown, and that status's label."""

    visit: Visit
    status: str
    label: str


def visit_rows(visits: Iterable[Visit], today: date) -> list[VisitRow]:
    labels = status_labels()
    rows = []
    for visit in visits:
        status = visit_status(visit, today)
        rows.append(VisitRow(visit, status, labels[status]))
    return rows


def _visits(records: QuerySet[Record]) -> QuerySet[Visit]:
    return (
        Visit.objects.filter(record__in=records)
        .annotate(done=_done())
        .select_related("record", "record__group", "event", "event__arm")
    )


def visits_visible_to(user: User, project: Project) -> QuerySet[Visit]:
    """Every visit of the records `user` may see, annotated with `done`."""
    return _visits(records_visible_to(user, project))


def calendar_visits(
    user: User,
    project: Project,
    first: date,
    last: date,
    *,
    today: date,
    group_id: int | None = None,
    status: str = "",
) -> list[Visit]:
    """The visits planned from `first` to `last` that `user` may see, in one query."""
    visits = visits_visible_to(user, project).filter(planned_date__range=(first, last))
    if group_id is not None:
        visits = visits.filter(record__group_id=group_id)
    visits = visits.filter(status_filter(status, today))
    return list(visits.order_by("planned_date", "record__sort_key", "event__position"))


def record_schedules(record: Record) -> list[tuple[Schedule, list[Visit]]]:
    """A record's schedules (one per arm) and their visits; the record was fetched through
    `access_record`, so the caller may see it."""
    schedules = list(Schedule.objects.filter(record=record).select_related("arm"))
    visits = _visits(Record.objects.filter(pk=record.pk)).order_by("event__position", "event_id")
    by_schedule: dict[int, list[Visit]] = {}
    for visit in visits:
        by_schedule.setdefault(visit.schedule_id, []).append(visit)
    return [(schedule, by_schedule.get(schedule.pk, [])) for schedule in schedules]


def access_visit(user: User, record: Record, event_name: str) -> Visit:
    """The visit of a record the user may see at the event, else NotFound."""
    visit = _visits(Record.objects.filter(pk=record.pk)).filter(event__unique_name=event_name)
    found = visit.first()
    if found is None:
        raise NotFound(_("This record has no visit at that event."))
    return found


def project_anchors(project: Project) -> dict[int, ScheduleAnchor]:
    """Arm id → the arm's start date field, for arms that have one."""
    anchors = ScheduleAnchor.objects.filter(project=project).select_related("event")
    return {anchor.arm_id: anchor for anchor in anchors}


def _entry_scope(user: User, project: Project) -> Q:
    rights = member_rights(user, project)
    records = records_visible_to(user, project)
    loose = Q(record__isnull=True)
    if rights.group_id is not None:
        loose &= Q(group__isnull=True) | Q(group_id=rights.group_id)
    return Q(record__in=records) | loose


def entries_visible_to(user: User, project: Project) -> QuerySet[CalendarEntry]:
    entries = CalendarEntry.objects.filter(project=project)
    return entries.filter(_entry_scope(user, project)).select_related("record", "group")


def calendar_entries(
    user: User, project: Project, first: date, last: date, *, group_id: int | None = None
) -> list[CalendarEntry]:
    entries = entries_visible_to(user, project).filter(date__range=(first, last))
    if group_id is not None:
        entries = entries.filter(Q(group_id=group_id) | Q(record__group_id=group_id))
    return list(entries)


def access_entry(user: User, project: Project, entry_id: int) -> CalendarEntry:
    """An entry the user may see, else NotFound (the same for another site's and a missing one)."""
    entry = entries_visible_to(user, project).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(_("No such calendar entry."))
    return entry


def may_edit_entry(rights: Rights, entry: CalendarEntry) -> bool:
    """A member in a group changes only the entries of that group (an entry's group is its
    record's group when it has a record); project-wide entries are theirs to read."""
    if not may_edit_schedules(rights):
        return False
    if rights.group_id is None:
        return True
    group_id = entry.record.group_id if entry.record is not None else entry.group_id
    return group_id == rights.group_id


@dataclass(frozen=True, slots=True)
class OverdueVisit:
    """A visit past its window with no form of its event saved: plain values only, so that an
    app that may not import scheduling (alerts) can take them through a registry."""

    project_id: int
    record_key: int
    record_id: str
    group_id: int | None
    event_id: int
    event_name: str
    protocol_date: date
    planned_date: date
    window_start: date
    window_end: date
    days_overdue: int


def overdue_visits(project: Project, today: date) -> list[OverdueVisit]:
    """Every overdue visit of the project on `today`, for the system (alerts): no user, so no
    group filter — a caller that shows them to people must filter by the reader's group.

    One query, ordered by window end, then record and event.
    """
    visits = (
        _visits(project.records.all())
        .filter(status_filter("overdue", today))
        .order_by("window_end", "record__sort_key", "event__position")
    )
    return [
        OverdueVisit(
            project_id=project.pk,
            record_key=visit.record_id,
            record_id=visit.record.record_id,
            group_id=visit.record.group_id,
            event_id=visit.event_id,
            event_name=visit.event.unique_name,
            protocol_date=visit.protocol_date,
            planned_date=visit.planned_date,
            window_start=visit.window_start,
            window_end=visit.window_end,
            days_overdue=(today - visit.window_end).days,
        )
        for visit in visits
    ]
