"""The thread of a field: its queries (with every step) or its comment log, and their forms.

Thin views: the selectors decide what the user may see, the services what the user may do;
a refused action shows the thread again with the reason (status 400), nothing changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.core.views import domain_errors
from opencrf.dictionary.design import design_of
from opencrf.projects.models import FieldNotes, Project, ProjectStatus
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import access_project
from opencrf.quality import query_services as services
from opencrf.quality.comment_selectors import field_comments
from opencrf.quality.dq_models import DataQualityResult
from opencrf.quality.query_models import Query, QueryAction, QueryStep
from opencrf.quality.query_rules import query_open_for_result
from opencrf.quality.query_selectors import (
    FieldPlace,
    access_field_place,
    access_query,
    assignable_members,
    field_queries,
)
from opencrf.quality.rules_services import require_rule_run, rule_titles

# What each action's button says.
ACTION_VERBS = {
    QueryAction.RESPOND: gettext_lazy("Respond"),
    QueryAction.CLOSE: gettext_lazy("Close the query"),
    QueryAction.REOPEN: gettext_lazy("Reopen the query"),
    QueryAction.VERIFY: gettext_lazy("Mark verified"),
}


@dataclass(frozen=True)
class StepView:
    step: QueryStep
    category: str


@dataclass(frozen=True)
class QueryView:
    query: Query
    steps: list[StepView]
    actions: list[tuple[str, str]]  # (action, its button's text)

    @property
    def category(self) -> str:
        return services.category_label(self.query.category)

    @property
    def can_respond(self) -> bool:
        return any(action == QueryAction.RESPOND for action, _label in self.actions)


def _query_view(query: Query, rights: Rights, project: Project) -> QueryView:
    steps = [StepView(s, services.category_label(s.category)) for s in query.steps.all()]
    actions = services.actions_for(rights, query, project)
    return QueryView(query, steps, [(a, str(ACTION_VERBS[QueryAction(a)])) for a in actions])


def thread_url(place: FieldPlace) -> str:
    args = [
        place.project.pk,
        place.record.record_id,
        place.event.unique_name,
        place.form_name,
        place.instance,
        place.field_name,
    ]
    return reverse("quality:field_thread", args=args)


def _form_url(place: FieldPlace) -> str:
    args = [
        place.project.pk,
        place.record.record_id,
        place.event.unique_name,
        place.form_name,
        place.instance,
    ]
    return reverse("records:form", args=args) + f"#{place.field_name}"


def _thread_context(place: FieldPlace, user_id: int) -> dict[str, object]:
    rights = place.rights
    project = place.project
    writable = project.status != ProjectStatus.COMPLETED
    sees_queries = rights.is_admin or rights.can_view_queries()
    queries = field_queries(place) if sees_queries else []
    comments = field_comments(place)
    resolution = project.field_notes == FieldNotes.RESOLUTION
    can_open = resolution and writable and services.may_open(rights)
    design = design_of(project)
    label = design.shown_rows([place.field], get_language())[0].field_label
    return {
        "project": project,
        "nav": "records",
        "place": place,
        "field_label": label,
        "form_label": design.instrument_label(place.instrument, get_language()),
        "form_url": _form_url(place),
        "thread_url": thread_url(place),
        "show_queries": sees_queries and (resolution or bool(queries)),
        "queries": [_query_view(q, rights, project) for q in queries],
        "can_open": can_open,
        "assignees": assignable_members(place) if can_open else [],
        "query_categories": services.QUERY_CATEGORIES,
        "response_categories": services.RESPONSE_CATEGORIES,
        "show_comments": project.field_notes == FieldNotes.COMMENT_LOG or bool(comments),
        "comments": comments,
        "can_comment": project.field_notes == FieldNotes.COMMENT_LOG and writable,
        "writable": writable,
        "user_id": user_id,
        "value": place.value,
    }


def render_thread(
    request: AuthedRequest,
    place: FieldPlace,
    *,
    error: str = "",
    posted: Mapping[str, str] | None = None,
    target: str = "",
    highlight: int | None = None,
) -> HttpResponse:
    """The thread page; with `error`, shown again (400) with what was posted at `target`."""
    context = _thread_context(place, request.user.pk)
    context.update(
        {"error": error, "posted": posted or {}, "target": target, "highlight": highlight}
    )
    return render(request, "quality/query_thread.html", context, status=400 if error else 200)


def _place(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
    field_name: str,
) -> FieldPlace:
    project = access_project(request.user, project_id)
    where = (record_id, event_name, form_name, instance, field_name)
    return access_field_place(request.user, project, *where)


@login_required
@domain_errors
def field_thread(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
    field_name: str,
) -> HttpResponse:
    place = _place(request, project_id, record_id, event_name, form_name, instance, field_name)
    return render_thread(request, place)


@login_required
@domain_errors
def query_page(request: AuthedRequest, project_id: int, query_id: int) -> HttpResponse:
    """One query's thread: its field's page, the query marked."""
    project = access_project(request.user, project_id)
    query, place = access_query(request.user, project, query_id)
    return render_thread(request, place, highlight=query.pk)


def _assignee(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInput(_("The query cannot be assigned to that user."))
    return int(text)


@login_required
@require_POST
@domain_errors
def query_open(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
    field_name: str,
) -> HttpResponse:
    place = _place(request, project_id, record_id, event_name, form_name, instance, field_name)
    posted = {k: request.POST.get(k, "") for k in ("category", "text", "assigned_to")}
    try:
        query = services.query_open(
            context=AuditContext.from_request(request),
            place=place,
            category=posted["category"],
            text=posted["text"],
            assignee_id=_assignee(posted["assigned_to"]),
        )
    except InvalidInput as error:
        return render_thread(request, place, error=error.message, posted=posted, target="open")
    messages.success(request, _("The query was opened."))
    return redirect(thread_url(place) + f"#query-{query.pk}")


@login_required
@require_POST
@domain_errors
def query_step(request: AuthedRequest, project_id: int, query_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    query, place = access_query(request.user, project, query_id)
    posted = {k: request.POST.get(k, "") for k in ("action", "category", "text")}
    try:
        services.query_step(
            context=AuditContext.from_request(request),
            query=query,
            action=posted["action"],
            category=posted["category"],
            text=posted["text"],
        )
    except InvalidInput as error:
        return render_thread(
            request,
            place,
            error=error.message,
            posted=posted,
            target=f"query-{query.pk}",
            highlight=query.pk,
        )
    done = {
        QueryAction.RESPOND: _("The response was saved."),
        QueryAction.CLOSE: _("The query was closed."),
        QueryAction.REOPEN: _("The query was reopened."),
        QueryAction.VERIFY: _("The query was marked verified."),
    }
    messages.success(request, done[QueryAction(posted["action"])])
    return redirect(thread_url(place) + f"#query-{query.pk}")


@login_required
@require_POST
@domain_errors
def result_query(request: AuthedRequest, project_id: int, result_id: int) -> HttpResponse:
    """Open a query about a data quality rule's result (a button on the results page)."""
    project = access_project(request.user, project_id)
    require_rule_run(request.user, project)
    result = (
        DataQualityResult.objects.filter(run__project=project, run__started_by=request.user)
        .select_related("run__project", "event", "record")
        .filter(pk=result_id)
        .first()
    )
    if result is None:
        raise NotFound(_("No such result."))
    back = reverse("quality:results", args=[project.pk, result.run_id, result.rule_key])
    title = rule_titles(project).get(result.rule_key, result.rule_key)
    try:
        query = query_open_for_result(
            context=AuditContext.from_request(request), result=result, title=title
        )
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(
        request,
        _("Query opened on %(field)s of record %(record)s.")
        % {"field": query.field_name, "record": result.record.record_id},
    )
    return redirect(back)
