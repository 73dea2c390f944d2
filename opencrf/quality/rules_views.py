"""The Data Quality page (REDCap's Applications → Data Quality): rules, runs, results."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.core.views import domain_errors
from opencrf.projects.models import FieldNotes, Project, ProjectStatus
from opencrf.projects.selectors import access_project, member_rights
from opencrf.quality import rules_services as services
from opencrf.quality.dq_models import CheckMode, DataQualityResult, DataQualityRule, DataQualityRun
from opencrf.quality.rules_builtin import BUILTIN_RULES


def _project(request: AuthedRequest, project_id: int) -> Project:
    project = access_project(request.user, project_id)
    services.require_rule_run(request.user, project)
    return project


@dataclass(frozen=True)
class RuleRow:
    key: str
    title: str
    logic: str
    check_mode: str
    rule: DataQualityRule | None
    run: DataQualityRun | None

    @property
    def count(self) -> int | None:
        if self.run is None or self.run.status != "done":
            return None
        return int(self.run.counts.get(self.key, 0))


@login_required
@domain_errors
def rules_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    latest = services.latest_runs(request.user, project)
    rows = [
        RuleRow(key, str(title), "", "", None, latest.get(key))
        for key, title in BUILTIN_RULES.items()
    ]
    rows += [
        RuleRow(rule.key, rule.name, rule.logic, rule.check_mode, rule, latest.get(rule.key))
        for rule in services.project_rules(project)
    ]
    busy = any(row.run and row.run.status in ("queued", "running") for row in rows)
    rights = member_rights(request.user, project)
    context = {
        "project": project,
        "nav": "quality",
        "rows": rows,
        "busy": busy,
        "can_design": services.can_design_rules(rights),
        "modes": dict(CheckMode.choices),
    }
    return render(request, "quality/rules.html", context)


@login_required
@require_POST
@domain_errors
def rules_run(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    keys = request.POST.getlist("rule") or ["all"]
    try:
        services.run_request(user=request.user, project=project, rule_keys=keys)
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The rules are running; their results appear here."))
    return redirect("quality:rules", project.pk)


@dataclass(frozen=True)
class ResultRow:
    result: DataQualityResult
    link: str


@login_required
@domain_errors
def rule_results(request: AuthedRequest, project_id: int, run_id: int, key: str) -> HttpResponse:
    project = _project(request, project_id)
    run = services.access_run(request.user, project, run_id)
    if key not in run.rule_keys:
        raise NotFound(_("No such data quality rule."))
    results = services.run_results(request.user, project, run, key)
    rows = [ResultRow(result, _form_link(project, result)) for result in results]
    context = {
        "project": project,
        "nav": "quality",
        "run": run,
        "key": key,
        "title": services.rule_titles(project).get(key, key),
        "rows": rows,
        "count": run.counts.get(key, 0),
        "kept": services.MAX_KEPT,
        "record_level": key not in BUILTIN_RULES or key == "J",
        "can_query": _can_query(request, project) and key != "J",
    }
    return render(request, "quality/rules_results.html", context)


def _can_query(request: AuthedRequest, project: Project) -> bool:
    """Whether the results page offers to open a query on each result (queries.md)."""
    rights = member_rights(request.user, project)
    uses_queries = project.field_notes == FieldNotes.RESOLUTION
    opens = rights.is_admin or rights.can_open_queries()
    return uses_queries and opens and project.status != ProjectStatus.COMPLETED


def _form_link(project: Project, result: DataQualityResult) -> str:
    record_id = result.record.record_id
    if not result.form_name:
        return reverse("records:home", args=[project.pk, record_id])
    args = [project.pk, record_id, result.event.unique_name, result.form_name, result.instance]
    anchor = f"#{result.field_name}" if result.field_name else ""
    return reverse("records:form", args=args) + anchor


@login_required
@require_POST
@domain_errors
def result_exclude(request: AuthedRequest, project_id: int, result_id: int) -> HttpResponse:
    project = _project(request, project_id)
    result = (
        DataQualityResult.objects.filter(run__project=project, run__started_by=request.user)
        .select_related("run__project", "event", "record")
        .filter(pk=result_id)
        .first()
    )
    if result is None:
        raise NotFound(_("No such result."))
    try:
        services.result_exclude(
            context=AuditContext.from_request(request),
            result=result,
            reason=request.POST.get("reason", ""),
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The result was excluded; later runs do not show it."))
    return redirect("quality:results", project.pk, result.run_id, result.rule_key)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def rule_edit(request: AuthedRequest, project_id: int, rule_id: int | None = None) -> HttpResponse:
    project = access_project(request.user, project_id)
    services.require_rule_design(request.user, project)
    rule = services.access_rule(request.user, project, rule_id) if rule_id else None
    data = {
        "name": rule.name if rule else "",
        "logic": rule.logic if rule else "",
        "check_mode": rule.check_mode if rule else CheckMode.OFF,
    }
    error = ""
    if request.method == "POST":
        data = {name: request.POST.get(name, "") for name in data}
        context = AuditContext.from_request(request)
        try:
            if rule is None:
                services.rule_create(context=context, project=project, **data)
            else:
                services.rule_update(context=context, rule=rule, **data)
        except InvalidInput as refused:
            error = refused.message
        else:
            messages.success(request, _("The rule was saved."))
            return redirect("quality:rules", project.pk)
    context_data = {
        "project": project,
        "nav": "quality",
        "rule": rule,
        "data": data,
        "error": error,
        "modes": CheckMode.choices,
    }
    status = 400 if error else 200
    return render(request, "quality/rules_edit.html", context_data, status=status)


@login_required
@require_POST
@domain_errors
def rule_delete(request: AuthedRequest, project_id: int, rule_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    rule = services.access_rule(request.user, project, rule_id)
    services.rule_delete(context=AuditContext.from_request(request), rule=rule)
    messages.success(request, _("The rule was deleted."))
    return redirect("quality:rules", project.pk)


@login_required
@require_POST
@domain_errors
def rule_move(request: AuthedRequest, project_id: int, rule_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    rule = services.access_rule(request.user, project, rule_id)
    step = -1 if request.POST.get("step") == "-1" else 1
    services.rule_move(context=AuditContext.from_request(request), rule=rule, step=step)
    return redirect("quality:rules", project.pk)
