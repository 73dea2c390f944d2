"""Edit checks: custom data quality rules checked whenever forms are saved.

Registered with records' save-check registry (records/save_checks.py) in `QualityConfig.ready`,
so the web form, surveys, the API and imports are checked alike. Each custom rule whose check
is "soft" or "hard" is evaluated at every (record, event, instance) being saved, with the
record's values as they will be after the save; a rule that is true is a violation.

- hard: the save is refused everywhere (web, survey, API, import) — unless the saver holds the
  `data_quality_override` right and confirms with a reason (`edit_checks_confirmed(reason,
  override=True)`; the data-entry page does this for a save made again, with a reason, after
  a refusal). Each
  override is audited (`dq_check.override`, with the reason) and handed to every function
  registered with `edit_check_override_register` — the queries feature registers one that
  opens a query on the record (see docs/subsystems/quality.md).
- soft: on the data-entry page the save is refused until the user confirms with a reason
  (audited as `dq_check.confirm`); the API, imports and surveys cannot be asked, so their saves
  go through and each violation is audited as `dq_check.warn`.

Writes by the system (recalculations, the command line) are not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.audit.models import AuditSource
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.dictionary.design import design_of
from opencrf.projects.models import Event, Project
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import member_rights
from opencrf.quality.dq_models import CheckMode, DataQualityRule
from opencrf.quality.rules_engine import CustomRule, RuleScanner, StoredForm, custom_rule
from opencrf.records.auditing import record_target
from opencrf.records.models import Record
from opencrf.records.save_checks import PlannedForm, confirmation, refused

UNCHECKED_SOURCES = frozenset({AuditSource.SYSTEM, AuditSource.CLI})


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule found true by a save: where, and which rule."""

    rule: DataQualityRule
    record: Record
    event: Event
    instance: int


OverrideHook = Callable[[AuditContext, Project, Sequence[Violation], str], None]
_override_hooks: list[OverrideHook] = []


def edit_check_override_register(function: OverrideHook) -> None:
    """Call `function(context, project, violations, reason)` when a user overrides hard
    checks, inside the save's transaction (so a query it opens is rolled back with the save)."""
    if function not in _override_hooks:
        _override_hooks.append(function)


def edit_check_override_unregister(function: OverrideHook) -> None:
    if function in _override_hooks:
        _override_hooks.remove(function)


def edit_checks(context: AuditContext, project: Project, planned: Sequence[PlannedForm]) -> None:
    """The save check registered with records; see the module's note."""
    if context.source in UNCHECKED_SOURCES:
        return
    rules = list(DataQualityRule.objects.filter(project=project).exclude(check_mode=CheckMode.OFF))
    if not rules:
        return
    violations = _violations(project, rules, planned)
    if not violations:
        return
    hard = [v for v in violations if v.rule.check_mode == CheckMode.HARD]
    soft = [v for v in violations if v.rule.check_mode == CheckMode.SOFT]
    answer = confirmation()
    if hard:
        rights = _rights(context, project)
        if (
            answer is None
            or not answer.override
            or not (rights.is_admin or rights.data_quality_override)
        ):
            raise refused([_message(v, hard=True) for v in hard])
        _audit(context, project, hard, "dq_check.override", answer.reason)
        for function in list(_override_hooks):
            function(context, project, hard, answer.reason)
    if soft:
        if context.source == AuditSource.WEB:
            if answer is None:
                raise refused([_message(v, hard=False) for v in soft])
            _audit(context, project, soft, "dq_check.confirm", answer.reason)
        else:
            _audit(context, project, soft, "dq_check.warn", "")


def _rights(context: AuditContext, project: Project) -> Rights:
    if context.actor is None:
        return Rights()
    return member_rights(context.actor, project)


def _violations(
    project: Project, rules: Sequence[DataQualityRule], planned: Sequence[PlannedForm]
) -> list[Violation]:
    from opencrf.quality.rules_services import stored_forms  # services import the engine too

    ready: list[CustomRule] = [r for rule in rules if (r := custom_rule(rule.key, rule.logic))]
    by_key = {rule.key: rule for rule in rules}
    scanner = RuleScanner(project, design_of(project), Rights.everything(), [], ready)
    records = {item.record.pk: item.record for item in planned}
    stored = stored_forms(list(records))
    events = {item.event.pk: item.event for item in planned}
    violations = []
    for pk, record in records.items():
        mine = [item for item in planned if item.record.pk == pk]
        forms = _overlay(stored[pk], mine)
        places = {(item.event.pk, item.instance) for item in mine}
        dag = record.group.unique_name if record.group_id and record.group else ""
        for found in scanner.custom_at(pk, record.record_id, dag, record.group_id, forms, places):
            violations.append(
                Violation(by_key[found.rule_key], record, events[found.event_id], found.instance)
            )
    return violations


def _overlay(stored: Sequence[StoredForm], planned: Sequence[PlannedForm]) -> list[StoredForm]:
    """The record's forms as they will be after the save."""
    wanted = {(p.event.pk, p.form_name, p.instance): p for p in planned}
    forms = [f for f in stored if (f.event_id, f.form_name, f.instance) not in wanted]
    forms += [StoredForm(0, p.event.pk, p.form_name, p.instance, p.values) for p in planned]
    return forms


def _message(violation: Violation, *, hard: bool) -> str:
    names = {
        "rule": violation.rule.name,
        "record": violation.record.record_id,
        "event": violation.event.unique_name,
    }
    if hard:
        return (
            _(
                "Edit check “%(rule)s” refuses this save (record %(record)s, %(event)s): its "
                "rule is true for the values being saved. A user with the right to override "
                "hard edit checks may give a reason and save again."
            )
            % names
        )
    return (
        _(
            "Edit check “%(rule)s” warns (record %(record)s, %(event)s): its rule is true for "
            "the values being saved. To save anyway, give a reason and save again."
        )
        % names
    )


def _audit(
    context: AuditContext,
    project: Project,
    violations: Sequence[Violation],
    action: str,
    reason: str,
) -> None:
    with transaction.atomic():
        for v in violations:
            audit_event_create(
                context=context,
                project_id=project.pk,
                action=action,
                target=record_target(v.record, v.event, "", v.instance),
                details=f"{v.rule.key}: {v.rule.name}",
                reason=reason,
            )
