"""Queries (REDCap's Data Resolution Workflow): open, respond, close, reopen, verify.

Each service checks the actor's rights itself (views only show what these allow), writes one
`QueryStep` (never changed afterwards) with the field's value at that moment, moves the query's
status and audits the step (`query.<action>`) on the record, in one transaction.

Statuses move so: open → responded (respond); open | responded → closed (close);
closed | verified → open (reopen); open | responded | closed → verified (verify). Rights
(`Rights.data_resolution`): opening needs an "open" level, responding a "respond" level,
closing, reopening and verifying "open, close, and respond". Every action also needs the right
to see queries, the record (data access groups) and the form. New queries are opened only
while the project uses the workflow (`Project.field_notes`); queries already open can be worked
to their end after a switch. A completed project is read-only; analysis/cleanup is not, for
queries (REDCap: "queries can still be worked").
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects.models import FieldNotes, Project, ProjectStatus
from opencrf.projects.rights import Rights
from opencrf.quality.query_models import Query, QueryAction, QueryStatus, QueryStep
from opencrf.quality.query_selectors import (
    FieldPlace,
    assignable_members,
    query_place,
    require_view_queries,
)
from opencrf.records.auditing import record_target

MAX_TEXT = 10_000

# The categories a query is opened with (stored by key, shown translated).
QUERY_CATEGORIES: Mapping[str, Promise] = {
    "missing": gettext_lazy("Missing value"),
    "out_of_range": gettext_lazy("Value out of range"),
    "inconsistent": gettext_lazy("Inconsistent with other data"),
    "source": gettext_lazy("Does not match the source document"),
    "protocol": gettext_lazy("Protocol deviation"),
    "rule": gettext_lazy("Data quality rule"),
    "edit_check": gettext_lazy("Edit check override"),
    "other": gettext_lazy("Other"),
}
# REDCap's response categories.
RESPONSE_CATEGORIES: Mapping[str, Promise] = {
    "updated": gettext_lazy("Value updated as required"),
    "correct": gettext_lazy("Value correct as is"),
    "unable": gettext_lazy("Unable to update"),
    "other": gettext_lazy("Other"),
}

S = QueryStatus
A = QueryAction
# Action → (the statuses it may start from, the status it leaves).
MOVES: Mapping[str, tuple[frozenset[str], str]] = {
    A.RESPOND: (frozenset({S.OPEN}), S.RESPONDED),
    A.CLOSE: (frozenset({S.OPEN, S.RESPONDED}), S.CLOSED),
    A.REOPEN: (frozenset({S.CLOSED, S.VERIFIED}), S.OPEN),
    A.VERIFY: (frozenset({S.OPEN, S.RESPONDED, S.CLOSED}), S.VERIFIED),
}
# The audit action of each step.
AUDIT_ACTIONS: Mapping[str, str] = {
    A.OPEN: "query.open",
    A.RESPOND: "query.respond",
    A.CLOSE: "query.close",
    A.REOPEN: "query.reopen",
    A.VERIFY: "query.verify",
}


def category_label(key: str) -> str:
    label = QUERY_CATEGORIES.get(key) or RESPONSE_CATEGORIES.get(key)
    return str(label) if label is not None else key


def may_open(rights: Rights) -> bool:
    return rights.is_admin or rights.can_open_queries()


def may_act(rights: Rights, action: str) -> bool:
    """Whether `rights` allow `action` on an existing query (a QueryAction other than open)."""
    if rights.is_admin:
        return True
    if action == A.RESPOND:
        return rights.can_respond_queries()
    return rights.can_close_queries()


def actions_for(rights: Rights, query: Query, project: Project) -> list[str]:
    """The actions `rights` may take on `query` now, in the order the page offers them."""
    if project.status == ProjectStatus.COMPLETED:
        return []
    return [
        action
        for action, (starts, _end) in MOVES.items()
        if query.status in starts and may_act(rights, action)
    ]


def require_writable(project: Project) -> None:
    if project.status == ProjectStatus.COMPLETED:
        raise InvalidInput(
            _("The project is completed and read-only: queries and comments cannot change.")
        )


def _text(text: str, *, required: bool, what: str) -> str:
    text = text.strip()
    if required and not text:
        raise InvalidInput(what)
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            _("The text is too long: at most %(max)s characters.") % {"max": MAX_TEXT}
        )
    return text


@transaction.atomic
def query_open(
    *,
    context: AuditContext,
    place: FieldPlace,
    category: str,
    text: str,
    assignee_id: int | None = None,
    rule_key: str = "",
) -> Query:
    """Open a query on the field of `place` (its rights are the actor's, as read by the
    selector that made it)."""
    require_view_queries(place.rights)
    if not may_open(place.rights):
        raise PermissionDenied(_("You may not open queries in this project."))
    if place.project.field_notes != FieldNotes.RESOLUTION:
        raise InvalidInput(
            _("This project does not use the data resolution workflow: no query was opened.")
        )
    require_writable(place.project)
    if category not in QUERY_CATEGORIES:
        raise InvalidInput(_("Choose the query's category from the list."))
    text = _text(text, required=True, what=_("Write the query: what should be checked?"))
    assignee = None
    if assignee_id is not None:
        assignee = next((u for u in assignable_members(place) if u.pk == assignee_id), None)
        if assignee is None:
            raise InvalidInput(
                _(
                    "The query cannot be assigned to that user: assign it to a member who may "
                    "respond to queries and see this record."
                )
            )
    return query_create(
        context=context,
        place=place,
        category=category,
        text=text,
        assignee=assignee,
        rule_key=rule_key,
    )


def query_create(
    *,
    context: AuditContext,
    place: FieldPlace,
    category: str,
    text: str,
    assignee: User | None = None,
    rule_key: str = "",
) -> Query:
    """Write a query and its first step, unchecked: for `query_open` and for the system (an
    edit check override opens one for its user). Runs inside the caller's transaction."""
    now = timezone.now()
    query = Query.objects.create(
        project=place.project,
        record=place.record,
        event=place.event,
        form_name=place.form_name,
        instance=place.instance,
        field_name=place.field_name,
        status=S.OPEN,
        category=category,
        assigned_to=assignee,
        opened_by=context.actor,
        opened_at=now,
        updated_at=now,
        rule_key=rule_key,
    )
    step = QueryStep.objects.create(
        query=query,
        action=A.OPEN,
        category=category,
        text=text,
        value=place.value,
        author=context.actor,
        at=now,
    )
    extra = {"category": category, "assigned_to": assignee.username if assignee else ""}
    if rule_key:
        extra["rule"] = rule_key
    _audit(context, query, step, "", place, extra)
    return query


@transaction.atomic
def query_step(
    *, context: AuditContext, query: Query, action: str, text: str = "", category: str = ""
) -> QueryStep:
    """Respond to, close, reopen or verify `query` (`action`, a QueryAction but open).

    A response needs a response category and a text; a reopening needs a text (why).
    """
    assert context.actor is not None
    if action not in MOVES:
        raise InvalidInput(_("No such query action: %(action)s.") % {"action": action})
    place = query_place(context.actor, query)
    require_view_queries(place.rights)
    if not may_act(place.rights, action):
        raise PermissionDenied(_("Your rights do not let you do this to a query."))
    require_writable(place.project)
    locked = Query.objects.select_for_update().get(pk=query.pk)
    starts, end = MOVES[action]
    if locked.status not in starts:
        raise InvalidInput(
            _("A query that is %(status)s cannot be %(action)s; nothing was changed.")
            % {"status": S(locked.status).label, "action": str(A(action).label).lower()}
        )
    category, text = _step_input(action, category, text)
    return _step(context, locked, place, action, end, category, text)


def _step_input(action: str, category: str, text: str) -> tuple[str, str]:
    if action == A.RESPOND:
        if category not in RESPONSE_CATEGORIES:
            raise InvalidInput(_("Choose the response's category from the list."))
        return category, _text(text, required=True, what=_("Write the response."))
    if action == A.REOPEN:
        return "", _text(text, required=True, what=_("Say why the query is reopened."))
    return "", _text(text, required=False, what="")


def _step(
    context: AuditContext,
    query: Query,
    place: FieldPlace,
    action: str,
    status: str,
    category: str,
    text: str,
) -> QueryStep:
    now = timezone.now()
    old = query.status
    query.status, query.updated_at = status, now
    query.closed_at = now if status in (S.CLOSED, S.VERIFIED) else None
    query.save(update_fields=["status", "updated_at", "closed_at"])
    step = QueryStep.objects.create(
        query=query,
        action=action,
        category=category,
        text=text,
        value=place.value,
        author=context.actor,
        at=now,
    )
    extra = {"category": category} if category else {}
    _audit(context, query, step, old, place, extra)
    return step


def _audit(
    context: AuditContext,
    query: Query,
    step: QueryStep,
    old: str,
    place: FieldPlace,
    extra: Mapping[str, str],
) -> None:
    changes = {
        "query": query.pk,
        "field": query.field_name,
        "status": [old, query.status],
        "text": step.text,
        "value": step.value,
        **extra,
    }
    audit_event_create(
        context=context,
        project_id=query.project_id,
        action=AUDIT_ACTIONS[step.action],
        target=record_target(place.record, place.event, place.form_name, place.instance),
        details=f"Query {query.pk} on {query.field_name}: {old or '-'} → {query.status}",
        changes=changes,
    )
