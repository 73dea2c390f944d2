"""Protected reads of the query dashboard (REDCap's Data Resolution Dashboard) and of a
record's queries.

A member sees the queries of the records they may see (their data access group's only, when
they are in one) on the forms they may see; everything here starts from `visible_queries`.
Counts and the average time to close are one aggregate query; rows are read a page at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Avg,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils.html import strip_tags
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import PermissionDenied
from opencrf.dictionary.design import design_of
from opencrf.dictionary.translations import EVENT_NAME, FIELD_LABEL, FORM_NAME, Table
from opencrf.projects.models import Event, Project
from opencrf.projects.rights import Rights
from opencrf.quality.dashboard_filters import UNRESOLVED, FilterChoices, QueryFilters
from opencrf.quality.query_models import Query, QueryStatus, QueryStep
from opencrf.records.models import Record

OPEN_STATUSES = (QueryStatus.OPEN, QueryStatus.RESPONDED)
CLOSED_STATUSES = (QueryStatus.CLOSED, QueryStatus.VERIFIED)
RECORD_PANEL_LIMIT = 100


def require_query_view(rights: Rights) -> None:
    if not rights.can_view_queries():
        raise PermissionDenied(_("You may not view queries in this project."))


def page_texts(project: Project) -> Table:
    """The project's design texts translated into the page's language (multi-language forms);
    empty in the project's own language, where the dictionary's texts apply."""
    return design_of(project).texts_in(get_language())


def visible_forms(project: Project, rights: Rights) -> dict[str, str]:
    """Form name → label (in the page's language) of the instruments the member may see, in
    the project's order."""
    texts = page_texts(project)
    instruments = project.instruments.order_by("position").values_list("name", "label")
    return {
        name: _plain(texts.get((FORM_NAME, name, ""), label))
        for name, label in instruments
        if rights.can_see_form(name)
    }


def visible_queries(
    project: Project, rights: Rights, forms: Mapping[str, str] | None = None
) -> QuerySet[Query]:
    """The project's queries on records and forms the member may see (`forms`: the member's
    `visible_forms`, when already read)."""
    forms = visible_forms(project, rights) if forms is None else forms
    queries = Query.objects.filter(project=project, form_name__in=list(forms))
    if rights.group_id is not None:
        queries = queries.filter(record__group_id=rights.group_id)
    return queries


def filter_choices(
    project: Project, rights: Rights, forms: Mapping[str, str], queries: QuerySet[Query]
) -> FilterChoices:
    """What the member may filter on, given the member's `visible_forms` and `visible_queries`.
    A member in a group is offered no group to choose, and only users who opened or were
    assigned queries the member can see."""
    texts = page_texts(project)
    events = project.events.select_related("arm").order_by("arm__number", "position", "id")
    groups = project.groups.order_by("name") if rights.group_id is None else []
    users = User.objects.filter(pk__in=_people_on(queries)).order_by("username").only("username")
    return FilterChoices(
        forms=forms,
        events={event.pk: _event_name(event, texts) for event in events},
        groups={group.pk: group.name for group in groups},
        users={user.pk: user.username for user in users},
    )


def filtered_queries(
    queries: QuerySet[Query], filters: QueryFilters, *, now: datetime
) -> QuerySet[Query]:
    """`queries` narrowed by every filter but the status (the counts show each status)."""
    if filters.user_id is not None:
        opened, assigned = Q(opened_by_id=filters.user_id), Q(assigned_to_id=filters.user_id)
        roles = {"opened": opened, "assigned": assigned}
        queries = queries.filter(roles.get(filters.user_role, opened | assigned))
    if filters.group_id is not None:
        queries = queries.filter(record__group_id=filters.group_id)
    if filters.form_name:
        queries = queries.filter(form_name=filters.form_name)
    if filters.event_id is not None:
        queries = queries.filter(event_id=filters.event_id)
    if filters.record_id:
        queries = queries.filter(record__record_id=filters.record_id)
    if filters.older_than_days is not None:
        queries = queries.filter(opened_at__lt=now - timedelta(days=filters.older_than_days))
    return queries


def with_status(queries: QuerySet[Query], status: str) -> QuerySet[Query]:
    if status == UNRESOLVED:
        return queries.filter(status__in=OPEN_STATUSES)
    return queries.filter(status=status) if status else queries


@dataclass(frozen=True)
class StatusSummary:
    counts: Mapping[str, int]
    average_close: timedelta | None  # over closed and verified queries

    @property
    def unresolved(self) -> int:
        return sum(self.counts[status] for status in OPEN_STATUSES)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def matching(self, status: str) -> int:
        """How many queries the status filter keeps."""
        if status == UNRESOLVED:
            return self.unresolved
        return self.counts[status] if status else self.total


def status_summary(queries: QuerySet[Query]) -> StatusSummary:
    """Counts per status and the average time from opening to closing, in one SQL query."""
    counts = {status: Count("id", filter=Q(status=status)) for status in QueryStatus.values}
    took = ExpressionWrapper(F("closed_at") - F("opened_at"), output_field=DurationField())
    closed = Q(status__in=CLOSED_STATUSES, closed_at__isnull=False)
    row = queries.order_by().aggregate(**counts, average_close=Avg(took, filter=closed))
    average = row.pop("average_close")
    return StatusSummary(
        counts={key: int(value) for key, value in row.items()}, average_close=average
    )


@dataclass(frozen=True)
class QueryRow:
    query: Query
    event_name: str
    form_label: str
    field_label: str
    days_open: int
    last_step: QueryStep | None

    @property
    def is_open(self) -> bool:
        return self.query.status in OPEN_STATUSES


def ordered(queries: QuerySet[Query], sort: str) -> QuerySet[Query]:
    """Oldest first (the longest open at the top), or newest first."""
    if sort == "newest":
        return queries.order_by("-opened_at", "-id")
    return queries.order_by("opened_at", "id")


def query_rows(
    project: Project, queries: Sequence[Query], forms: Mapping[str, str], *, now: datetime
) -> list[QueryRow]:
    """Rows for a page of queries (read with `select_related` of `_ROW_RELATIONS`): three SQL
    queries whatever the page's size."""
    texts = page_texts(project)
    labels = _field_labels(project, {query.field_name for query in queries}, texts)
    steps = _last_steps(query.pk for query in queries)
    return [
        QueryRow(
            query=query,
            event_name=_event_name(query.event, texts),
            form_label=forms.get(query.form_name, query.form_name),
            field_label=labels.get(query.field_name, ""),
            days_open=((query.closed_at or now) - query.opened_at).days,
            last_step=steps.get(query.pk),
        )
        for query in queries
    ]


ROW_RELATIONS = ("record", "event", "opened_by", "assigned_to")


def page_of(queries: QuerySet[Query], page: int, per_page: int) -> list[Query]:
    """One page of `queries` (ordered), read in two steps: the page's ids alone, then their
    rows and relations — so a deep page never joins the rows it skips."""
    start = (page - 1) * per_page
    ids = list(queries.values_list("pk", flat=True)[start : start + per_page])
    rows = Query.objects.filter(pk__in=ids).select_related(*ROW_RELATIONS).order_by()
    by_id = {query.pk: query for query in rows}
    return [by_id[pk] for pk in ids]


def record_queries(
    project: Project, rights: Rights, record: Record, *, now: datetime
) -> tuple[list[QueryRow], int]:
    """The record's queries the member may see, open and responded first, each group newest
    first; at most RECORD_PANEL_LIMIT rows, and how many there are in all."""
    forms = visible_forms(project, rights)
    queries = visible_queries(project, rights, forms).filter(record=record)
    rank = Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1))
    page = queries.select_related(*ROW_RELATIONS).order_by(rank, "-opened_at", "-id")
    rows = list(page[:RECORD_PANEL_LIMIT])
    total = len(rows) if len(rows) < RECORD_PANEL_LIMIT else queries.count()
    return query_rows(project, rows, forms, now=now), total


def _people_on(queries: QuerySet[Query]) -> list[int]:
    """The ids of everyone who opened or was assigned one of `queries` (one SQL union)."""
    opened = queries.order_by().values_list("opened_by_id", flat=True)
    assigned = queries.order_by().values_list("assigned_to_id", flat=True)
    return [pk for pk in opened.union(assigned) if pk is not None]


def _field_labels(project: Project, names: set[str], texts: Table) -> dict[str, str]:
    """Field name → its label in the page's language as plain text (a label may hold HTML)."""
    if not names:
        return {}
    rows = project.fields.filter(field_name__in=names).values_list("field_name", "field_label")
    return {name: _plain(texts.get((FIELD_LABEL, name, ""), label)) for name, label in rows}


def _event_name(event: Event, texts: Table) -> str:
    return _plain(texts.get((EVENT_NAME, event.unique_name, ""), event.name))


def _plain(text: str) -> str:
    return " ".join(strip_tags(text).split())


def _last_steps(query_ids: Iterable[int]) -> dict[int, QueryStep]:
    ids = list(query_ids)
    if not ids:
        return {}
    last = QueryStep.objects.filter(query_id__in=ids).values("query_id").annotate(last=Max("id"))
    steps = (
        QueryStep.objects.filter(pk__in=last.values("last"))
        .select_related("author")
        .only("query_id", "action", "text", "at", "author__username")
    )
    return {step.query_id: step for step in steps}
