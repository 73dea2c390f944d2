"""Data quality rules: editing custom rules, running rules as a job, excluding results.

Rights (projects/rights.py): `data_quality` (REDCap's data_quality_design) edits the custom
rules and may run them; `data_quality_execute` runs rules and excludes results. A run covers
the records its user may see when it starts, and the fields of the forms the user may see.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.dictionary.design import design_of
from opencrf.dictionary.logic_check import logic_problem
from opencrf.projects.models import Project
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import member_rights
from opencrf.quality.dq_models import (
    CheckMode,
    DataQualityExclusion,
    DataQualityResult,
    DataQualityRule,
    DataQualityRun,
    RunStatus,
)
from opencrf.quality.rules_builtin import BUILTIN_RULES
from opencrf.quality.rules_engine import (
    CustomRule,
    Finding,
    RuleScanner,
    StoredForm,
    custom_rule,
)
from opencrf.records.auditing import record_target
from opencrf.records.models import FormData, Record
from opencrf.records.selectors import records_visible_to

CHUNK = 500
# Results kept as rows per rule and run; the count beyond is kept too (REDCap shows them all,
# but a rule that finds a million blanks is read as a number, not as a list).
MAX_KEPT = 10_000


def can_design_rules(rights: Rights) -> bool:
    return rights.is_admin or rights.data_quality


def can_run_rules(rights: Rights) -> bool:
    return rights.is_admin or rights.data_quality or rights.data_quality_execute


def require_rule_design(user: User, project: Project) -> Rights:
    rights = member_rights(user, project)
    if not can_design_rules(rights):
        raise PermissionDenied(_("You may not design data quality rules in this project."))
    return rights


def require_rule_run(user: User, project: Project) -> Rights:
    rights = member_rights(user, project)
    if not can_run_rules(rights):
        raise PermissionDenied(_("You may not run data quality rules in this project."))
    return rights


# ---- custom rules ------------------------------------------------------------------------------


def _checked(project: Project, name: str, logic: str, check_mode: str) -> tuple[str, str, str]:
    name, logic = name.strip(), logic.strip()
    if not name:
        raise InvalidInput(_("Give the rule a name."))
    if len(name) > 200:
        raise InvalidInput(_("A rule's name has at most 200 characters."))
    if not logic:
        raise InvalidInput(_("Write the rule's logic: the rule finds records where it is true."))
    problem = logic_problem(design_of(project), logic)
    if problem:
        raise InvalidInput(problem)
    if check_mode not in CheckMode.values:
        raise InvalidInput(_("No such edit check: %(mode)s.") % {"mode": check_mode})
    return name, logic, check_mode


@transaction.atomic
def rule_create(
    *, context: AuditContext, project: Project, name: str, logic: str, check_mode: str = "off"
) -> DataQualityRule:
    assert context.actor is not None
    require_rule_design(context.actor, project)
    name, logic, check_mode = _checked(project, name, logic, check_mode)
    last = DataQualityRule.objects.filter(project=project).aggregate(m=Max("position"))["m"]
    rule = DataQualityRule.objects.create(
        project=project,
        position=(last or 0) + 1,
        name=name,
        logic=logic,
        check_mode=check_mode,
        updated_by=context.actor,
    )
    changes = {"name": ["", name], "logic": ["", logic], "check_mode": ["", check_mode]}
    _audit(context, project, "dq_rule.create", rule, changes)
    return rule


@transaction.atomic
def rule_update(
    *,
    context: AuditContext,
    rule: DataQualityRule,
    name: str,
    logic: str,
    check_mode: str,
) -> DataQualityRule:
    assert context.actor is not None
    require_rule_design(context.actor, rule.project)
    name, logic, check_mode = _checked(rule.project, name, logic, check_mode)
    before = {"name": rule.name, "logic": rule.logic, "check_mode": rule.check_mode}
    after = {"name": name, "logic": logic, "check_mode": check_mode}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        rule.name, rule.logic, rule.check_mode = name, logic, check_mode
        rule.updated_by = context.actor
        rule.save(update_fields=["name", "logic", "check_mode", "updated_by", "updated_at"])
        _audit(context, rule.project, "dq_rule.update", rule, changes)
    return rule


@transaction.atomic
def rule_delete(*, context: AuditContext, rule: DataQualityRule) -> None:
    assert context.actor is not None
    require_rule_design(context.actor, rule.project)
    changes = {"name": [rule.name, ""], "logic": [rule.logic, ""]}
    _audit(context, rule.project, "dq_rule.delete", rule, changes)
    DataQualityExclusion.objects.filter(project=rule.project, rule_key=rule.key).delete()
    rule.delete()


@transaction.atomic
def rule_move(*, context: AuditContext, rule: DataQualityRule, step: int) -> None:
    """Move a rule one place up (step -1) or down (+1) in the project's order."""
    assert context.actor is not None
    require_rule_design(context.actor, rule.project)
    rules = list(DataQualityRule.objects.filter(project=rule.project).select_for_update())
    index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    other = index + (1 if step > 0 else -1)
    if not 0 <= other < len(rules):
        return
    rules[index], rules[other] = rules[other], rules[index]
    for position, each in enumerate(rules, start=1):
        if each.position != position:
            each.position = position
            each.save(update_fields=["position"])
    _audit(context, rule.project, "dq_rule.move", rule, {"position": [index + 1, other + 1]})


def _audit(
    context: AuditContext,
    project: Project,
    action: str,
    rule: DataQualityRule,
    changes: dict[str, Any],
) -> None:
    audit_event_create(
        context=context,
        project_id=project.pk,
        action=action,
        target=AuditTarget(extra={"rule": rule.key}),
        details=f"{rule.key}: {rule.name}",
        changes=changes,
    )


def project_rules(project: Project) -> list[DataQualityRule]:
    return list(DataQualityRule.objects.filter(project=project))


def access_rule(user: User, project: Project, rule_id: int) -> DataQualityRule:
    require_rule_run(user, project)
    rule = DataQualityRule.objects.filter(project=project, pk=rule_id).first()
    if rule is None:
        raise NotFound(_("No such data quality rule."))
    return rule


def rule_titles(project: Project) -> dict[str, str]:
    """Every rule key of the project → its title: built-in rules first, then custom ones."""
    titles = {key: str(label) for key, label in BUILTIN_RULES.items()}
    titles.update({rule.key: rule.name for rule in project_rules(project)})
    return titles


# ---- runs --------------------------------------------------------------------------------------


def run_request(*, user: User, project: Project, rule_keys: Sequence[str]) -> DataQualityRun:
    """Record a run of `rule_keys` ("all" for every rule) by `user` and queue its job."""
    require_rule_run(user, project)
    known = rule_titles(project)
    keys = list(known) if list(rule_keys) == ["all"] else list(dict.fromkeys(rule_keys))
    unknown = [key for key in keys if key not in known]
    if unknown or not keys:
        raise InvalidInput(_("No such data quality rule: %(keys)s.") % {"keys": ", ".join(unknown)})
    run = DataQualityRun.objects.create(project=project, started_by=user, rule_keys=keys)
    from opencrf.quality.rules_jobs import data_quality_run  # the job imports this module

    transaction.on_commit(lambda: data_quality_run.enqueue(run.pk))
    return run


def run_execute(run_id: int) -> DataQualityRun | None:
    """Run the job of `run_id` (idempotent: only a queued run runs)."""
    claimed = DataQualityRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING
    )
    if not claimed:
        return None
    run = DataQualityRun.objects.select_related("project", "started_by").get(pk=run_id)
    try:
        _execute(run)
    except Exception as error:
        DataQualityRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=type(error).__name__, finished_at=timezone.now()
        )
        raise
    return DataQualityRun.objects.get(pk=run.pk)


def scanner_for(project: Project, rights: Rights, keys: Sequence[str]) -> RuleScanner:
    custom: list[CustomRule] = []
    for rule in project_rules(project):
        if rule.key in keys and (ready := custom_rule(rule.key, rule.logic)) is not None:
            custom.append(ready)
    builtin = [key for key in keys if key in BUILTIN_RULES]
    return RuleScanner(project, design_of(project), rights, builtin, custom)


def _execute(run: DataQualityRun) -> None:
    project, user = run.project, run.started_by
    assert user is not None
    rights = member_rights(user, project)
    scanner = scanner_for(project, rights, run.rule_keys)
    excluded = exclusion_keys(project)
    records = records_visible_to(user, project)
    total = records.count()
    DataQualityRun.objects.filter(pk=run.pk).update(records_total=total)
    sink = _ResultSink(run, excluded)
    done = 0
    for chunk in _record_chunks(records):
        for found in _scan_chunk(scanner, chunk):
            sink.add(found)
        sink.flush()
        done += len(chunk)
        DataQualityRun.objects.filter(pk=run.pk).update(records_done=done)
    for found in _outlier_findings(scanner):
        sink.add(found)
    sink.flush()
    DataQualityRun.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE, counts=sink.counts, finished_at=timezone.now()
    )


RecordRow = tuple[int, str, str, int | None]


def _record_chunks(records: object) -> Iterator[list[RecordRow]]:
    """(pk, record id, group unique name, group id) of the visible records, a chunk at a time."""
    rows = records.order_by("pk").values_list(  # type: ignore[attr-defined]
        "pk", "record_id", "group__unique_name", "group_id"
    )
    chunk: list[RecordRow] = []
    for pk, record_id, group_name, group_id in rows.iterator(chunk_size=2000):
        chunk.append((pk, record_id, group_name or "", group_id))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def stored_forms(record_pks: Sequence[int]) -> dict[int, list[StoredForm]]:
    forms: dict[int, list[StoredForm]] = {pk: [] for pk in record_pks}
    rows = FormData.objects.filter(record_id__in=record_pks).values_list(
        "pk", "record_id", "event_id", "form_name", "instance", "values"
    )
    for pk, record_pk, event_id, form_name, instance, values in rows.order_by(
        "record_id", "event_id", "form_name", "instance"
    ):
        forms[record_pk].append(StoredForm(pk, event_id, form_name, instance, values))
    return forms


def _scan_chunk(scanner: RuleScanner, chunk: Sequence[RecordRow]) -> Iterator[Finding]:
    forms = stored_forms([row[0] for row in chunk])
    for pk, record_id, group_name, group_id in chunk:
        yield from scanner.scan(pk, record_id, group_name, group_id, forms[pk])


def _outlier_findings(scanner: RuleScanner) -> Iterator[Finding]:
    outliers = list(scanner.outliers())
    by_pk: dict[int, tuple[int, int, int, dict[str, str]]] = {}
    pks = sorted({pk for pk, *_rest in outliers})
    for start in range(0, len(pks), CHUNK):
        rows = FormData.objects.filter(pk__in=pks[start : start + CHUNK]).values_list(
            "pk", "record_id", "event_id", "instance", "values"
        )
        by_pk.update(
            {pk: (record, event, instance, values) for pk, record, event, instance, values in rows}
        )
    for pk, form_name, name, number, detail in outliers:
        record_pk, event_id, instance, values = by_pk[pk]
        value = values.get(name, number)
        yield Finding("E", record_pk, event_id, form_name, instance, name, value, detail)


class _ResultSink:
    """Counts findings per rule and stores them (all but excluded ones, up to MAX_KEPT)."""

    def __init__(self, run: DataQualityRun, excluded: set[tuple[str, int, int, int, str]]) -> None:
        self.run = run
        self.excluded = excluded
        self.counts: dict[str, int] = dict.fromkeys(run.rule_keys, 0)
        self.pending: list[DataQualityResult] = []

    def add(self, found: Finding) -> None:
        if found.key in self.excluded:
            return
        count = self.counts[found.rule_key] = self.counts.get(found.rule_key, 0) + 1
        if count > MAX_KEPT:
            return
        self.pending.append(
            DataQualityResult(
                run_id=self.run.pk,
                rule_key=found.rule_key,
                record_id=found.record_pk,
                event_id=found.event_id,
                form_name=found.form_name,
                instance=found.instance,
                field_name=found.field_name,
                value=found.value[:1000],
                detail=found.detail,
            )
        )
        if len(self.pending) >= 2000:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            DataQualityResult.objects.bulk_create(self.pending, batch_size=1000)
            self.pending = []


# ---- exclusions --------------------------------------------------------------------------------


def exclusion_keys(project: Project) -> set[tuple[str, int, int, int, str]]:
    rows = DataQualityExclusion.objects.filter(project=project).values_list(
        "rule_key", "record_id", "event_id", "instance", "field_name"
    )
    return set(rows)


@transaction.atomic
def result_exclude(
    *, context: AuditContext, result: DataQualityResult, reason: str
) -> DataQualityExclusion:
    """Set a result aside, with a reason: later runs do not show it. Audited on its record."""
    user = context.actor
    assert user is not None
    project = result.run.project
    require_rule_run(user, project)
    if not records_visible_to(user, project).filter(pk=result.record_id).exists():
        raise NotFound(_("No such result."))
    if not reason.strip():
        raise InvalidInput(_("Give a reason for excluding this result."))
    exclusion, created = DataQualityExclusion.objects.get_or_create(
        project=project,
        rule_key=result.rule_key,
        record_id=result.record_id,
        event_id=result.event_id,
        instance=result.instance,
        field_name=result.field_name,
        defaults={"reason": reason.strip(), "excluded_by": user},
    )
    if created:
        record = Record.objects.select_related("group").get(pk=result.record_id)
        target = record_target(record, result.event, result.form_name, result.instance)
        audit_event_create(
            context=context,
            project_id=project.pk,
            action="dq_result.exclude",
            target=target,
            details=f"{result.rule_key} {result.field_name}".strip(),
            changes={"value": [result.value, result.value]} if result.field_name else {},
            reason=reason.strip(),
        )
    return exclusion


def run_results(
    user: User, project: Project, run: DataQualityRun, rule_key: str
) -> list[DataQualityResult]:
    """The results of one rule of a run that `user` may see (its own visible records only),
    less those excluded since the run."""
    require_rule_run(user, project)
    visible = records_visible_to(user, project).values("pk")
    excluded = exclusion_keys(project)
    rows = (
        DataQualityResult.objects.filter(run=run, rule_key=rule_key, record__in=visible)
        .select_related("record", "event")
        .order_by("record__sort_key", "event__arm__number", "event__position", "instance", "id")
    )
    return [
        row
        for row in rows
        if (row.rule_key, row.record_id, row.event_id, row.instance, row.field_name) not in excluded
    ]


def access_run(user: User, project: Project, run_id: int) -> DataQualityRun:
    """A run of `project` started by `user` (runs follow their starter's access)."""
    require_rule_run(user, project)
    run = DataQualityRun.objects.filter(project=project, pk=run_id, started_by=user).first()
    if run is None:
        raise NotFound(_("No such data quality run."))
    return run


def latest_runs(user: User, project: Project) -> dict[str, DataQualityRun]:
    """Each rule key → the user's latest run that covered it."""
    latest: dict[str, DataQualityRun] = {}
    for run in DataQualityRun.objects.filter(project=project, started_by=user).order_by("-id")[:50]:
        for key in run.rule_keys:
            latest.setdefault(key, run)
    return latest
