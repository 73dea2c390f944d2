"""Queries opened by data quality: from a rule's result, and on a hard edit check override.

A result that names a field opens its query there. A custom rule's result names only the record
and event (a rule is about the record), so its query goes on the fields the rule's logic reads at
that event. An override of a hard edit check opens a query on each field its rule reads, after
the save commits (so its first step holds the value saved past the check; a refused save opens
none). In a project using the comment log the override is written as a comment instead; in a
project using neither, only the audit trail keeps it (`dq_check.override`).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.dictionary.design import design_of
from opencrf.logic import LogicSyntaxError, parse, references
from opencrf.projects.models import Event, FieldNotes, Project
from opencrf.projects.rights import Rights
from opencrf.quality.comment_services import comment_create
from opencrf.quality.dq_checks import Violation
from opencrf.quality.dq_models import DataQualityResult, DataQualityRule
from opencrf.quality.query_models import Query
from opencrf.quality.query_selectors import FieldPlace, access_field_place
from opencrf.quality.query_services import query_create, query_open
from opencrf.records.models import FormData, Record


def rule_fields(project: Project, logic: str, event: Event) -> list[tuple[str, str]]:
    """(form, field) of the fields `logic` reads at `event` itself, in dictionary order."""
    try:
        read = {name for at, name in references(parse(logic)) if at in (None, event.unique_name)}
    except LogicSyntaxError:
        return []
    design = design_of(project)
    return [
        (row.form_name, row.field_name)
        for row in design.rows
        if row.field_name in read and design.has_form(project, event, row.form_name)
    ]


def _instance(project: Project, event: Event, form_name: str, instance: int) -> int:
    return instance if design_of(project).repeats_form(event, form_name) else 1


def result_places(user: User, project: Project, result: DataQualityResult) -> list[FieldPlace]:
    """The fields a query about `result` goes on, as `user` may see them."""
    if result.field_name and result.form_name:
        wanted = [(result.form_name, result.field_name)]
    else:
        rule = DataQualityRule.objects.filter(project=project, pk=_rule_pk(result.rule_key)).first()
        wanted = rule_fields(project, rule.logic, result.event) if rule else []
    places = []
    for form_name, field_name in wanted:
        instance = _instance(project, result.event, form_name, result.instance)
        try:
            places.append(
                access_field_place(
                    user,
                    project,
                    result.record.record_id,
                    result.event.unique_name,
                    form_name,
                    instance,
                    field_name,
                )
            )
        except NotFound:
            continue
    return places


def _rule_pk(key: str) -> int:
    number = key.removeprefix("pd-")
    return int(number) if number.isdigit() else 0


def result_text(title: str, result: DataQualityResult) -> str:
    """The text of a query opened from a result: the rule, the value found and its detail."""
    parts = [_("Data quality rule “%(rule)s”.") % {"rule": title}]
    if result.value:
        parts.append(_("Value: %(value)s") % {"value": result.value})
    if result.detail:
        parts.append(result.detail)
    return "\n".join(parts)


@transaction.atomic
def query_open_for_result(*, context: AuditContext, result: DataQualityResult, title: str) -> Query:
    """Open a query about a rule's result, on its field (or the first field its rule reads)."""
    assert context.actor is not None
    places = result_places(context.actor, result.run.project, result)
    if not places:
        raise InvalidInput(
            _("This result names no field with saved data that you may see: no query was opened.")
        )
    return query_open(
        context=context,
        place=places[0],
        category="rule",
        text=result_text(title, result),
        rule_key=result.rule_key,
    )


def _system_place(
    project: Project, record: Record, event: Event, form_name: str, instance: int, field: str
) -> FieldPlace | None:
    design = design_of(project)
    stored = FormData.objects.filter(
        record=record, event=event, form_name=form_name, instance=instance
    ).first()
    row = next((r for r in design.form_rows(form_name) if r.field_name == field), None)
    instrument = next((i for i in design.instruments if i.name == form_name), None)
    if stored is None or row is None or instrument is None:
        return None
    return FieldPlace(
        project, record, event, instrument, instance, row, Rights.everything(), stored
    )


def override_places(project: Project, violation: Violation) -> list[FieldPlace]:
    """The saved fields the violated rule reads at the violation's event and instance."""
    places = []
    for form_name, field_name in rule_fields(project, violation.rule.logic, violation.event):
        instance = _instance(project, violation.event, form_name, violation.instance)
        place = _system_place(
            project, violation.record, violation.event, form_name, instance, field_name
        )
        if place is not None:
            places.append(place)
    return places


def override_text(reason: str, violation: Violation) -> str:
    return _("Hard edit check “%(rule)s” overridden. Reason: %(reason)s") % {
        "rule": violation.rule.name,
        "reason": reason,
    }


def on_edit_check_override(
    context: AuditContext, project: Project, violations: Sequence[Violation], reason: str
) -> None:
    """The override hook (`dq_checks.edit_check_override_register`): see the module's note."""
    if project.field_notes == FieldNotes.NONE:
        return
    noted = list(violations)
    # Robust: the save has committed; a note that fails is logged, not shown as a failed save.
    transaction.on_commit(
        lambda: _write_override_notes(context, project, noted, reason), robust=True
    )


@transaction.atomic
def _write_override_notes(
    context: AuditContext, project: Project, violations: Sequence[Violation], reason: str
) -> None:
    for violation in violations:
        text = override_text(reason, violation)
        for place in override_places(project, violation):
            if project.field_notes == FieldNotes.RESOLUTION:
                query_create(
                    context=context,
                    place=place,
                    category="edit_check",
                    text=text,
                    rule_key=violation.rule.key,
                )
            else:
                comment_create(context=context, place=place, text=text)
