"""Protected reads of queries and of the field they are on.

A field place is one field of one saved form instance of a record the user may see, on a form
the user may see; every query and comment page and service starts from one. A record of another
data access group, a form without access and a missing one all look the same: NotFound.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import NotFound, PermissionDenied
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import design_of
from opencrf.dictionary.models import Instrument
from opencrf.projects.models import Event, Project, ProjectMember
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import member_rights, project_members
from opencrf.quality.query_models import Query, QueryStatus, QueryStep
from opencrf.records import selectors as record_selectors
from opencrf.records.errors import RecordNotFound
from opencrf.records.models import FormData, Record
from opencrf.records.values import form_columns


@dataclass(frozen=True)
class FieldPlace:
    """One field of one saved form instance, as `rights` (the user's) may see it."""

    project: Project
    record: Record
    event: Event
    instrument: Instrument
    instance: int
    field: FieldRow
    rights: Rights
    stored: FormData

    @property
    def form_name(self) -> str:
        return self.instrument.name

    @property
    def field_name(self) -> str:
        return self.field.field_name

    @property
    def value(self) -> str:
        """The field's stored value as text; a checkbox's ticked codes, comma-separated."""
        values = self.stored.values
        if self.field.field_type != "checkbox":
            return str(values.get(self.field_name, ""))
        ticked = [
            key.split("___", 1)[1]
            for key in form_columns([self.field])
            if str(values.get(key, "")) == "1"
        ]
        return ", ".join(ticked)


def access_field_place(
    user: User,
    project: Project,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
    field_name: str,
) -> FieldPlace:
    """The field of a saved form instance if `user` may see it, else NotFound."""
    rights = member_rights(user, project)
    record = record_selectors.access_record(user, project, record_id)
    event = project.events.filter(unique_name=event_name).first()
    if event is None or event.arm_id not in record_selectors.record_arm_ids(record):
        raise NotFound(_("No such form in this event."))
    record_selectors.access_form(user, project, record, event, form_name)
    design = design_of(project)
    if not design.has_form(project, event, form_name):
        raise NotFound(_("No such form in this event."))
    if instance < 1 or (instance > 1 and not design.repeats_form(event, form_name)):
        raise NotFound(_("This form does not repeat."))
    row = next((r for r in design.form_rows(form_name) if r.field_name == field_name), None)
    if row is None or row.field_type == "descriptive":
        raise NotFound(_("No such field in this form."))
    stored = record_selectors.form_data(record, event, form_name, instance)
    if stored is None:
        raise NotFound(_("This form has no saved data: save it first."))
    instrument = next(i for i in design.instruments if i.name == form_name)
    return FieldPlace(project, record, event, instrument, instance, row, rights, stored)


def require_view_queries(rights: Rights) -> None:
    if not (rights.is_admin or rights.can_view_queries()):
        raise PermissionDenied(_("You may not see the queries of this project."))


def access_query(user: User, project: Project, query_id: int) -> tuple[Query, FieldPlace]:
    """A query and its field if `user` may see queries and its record and form, else NotFound
    (or PermissionDenied without the right to see queries at all)."""
    require_view_queries(member_rights(user, project))
    query = (
        Query.objects.filter(project=project, pk=query_id).select_related("record", "event").first()
    )
    if query is None:
        raise NotFound(_("No such query."))
    return query, query_place(user, query)


def query_place(user: User, query: Query) -> FieldPlace:
    """The field a query is on, as `user` may see it; NotFound (as for a missing query) when
    the user may not see its record or form."""
    try:
        return access_field_place(
            user,
            query.project,
            query.record.record_id,
            query.event.unique_name,
            query.form_name,
            query.instance,
            query.field_name,
        )
    except (NotFound, RecordNotFound):
        raise NotFound(_("No such query.")) from None


def field_queries(place: FieldPlace) -> list[Query]:
    """The queries on a field, newest first, with their steps and people (three queries)."""
    queries = Query.objects.filter(
        record=place.record,
        event=place.event,
        form_name=place.form_name,
        instance=place.instance,
        field_name=place.field_name,
    ).select_related("opened_by", "assigned_to")
    steps = QueryStep.objects.select_related("author").order_by("query_id", "id")
    return list(queries.prefetch_related(Prefetch("steps", queryset=steps)))


def form_query_statuses(
    record: Record, event: Event, form_name: str, instance: int
) -> dict[str, Counter[str]]:
    """Field name → how many of its queries are in each status, for one form instance."""
    rows = Query.objects.filter(
        record=record, event=event, form_name=form_name, instance=instance
    ).values_list("field_name", "status")
    counts: dict[str, Counter[str]] = {}
    for field_name, status in rows:
        counts.setdefault(field_name, Counter())[status] += 1
    return counts


def may_respond(rights: Rights, record: Record, form_name: str) -> bool:
    """Whether a member with `rights` may answer a query on this record's form."""
    sees_record = rights.group_id is None or rights.group_id == record.group_id
    return rights.can_respond_queries() and sees_record and rights.can_see_form(form_name)


def assignable_members(place: FieldPlace) -> list[User]:
    """Members who may be assigned a query on this field: in force, allowed to respond, and
    able to see its record (their group's, or no group) and its form; by username."""
    users = []
    for member in _members_in_force(place.project):
        rights = Rights.of(member.role or member, member.group_id)
        if may_respond(rights, place.record, place.form_name):
            users.append(member.user)
    return users


def _members_in_force(project: Project) -> Sequence[ProjectMember]:
    today = timezone.localdate(timezone=timezone.get_default_timezone())
    members = project_members(project).filter(user__is_active=True)
    return [m for m in members if m.expires_on is None or m.expires_on >= today]


OPEN_STATUSES = frozenset({QueryStatus.OPEN, QueryStatus.RESPONDED})
