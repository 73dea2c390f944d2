"""Randomization pages: the landing page, the set-up, the record's randomize step, the dashboard.

Thin: each view decides access through `selectors`, parses the form, calls a service, renders.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from opencrf.core.views import domain_errors
from opencrf.dictionary.design import design_of
from opencrf.projects.models import Project, ProjectStatus
from opencrf.projects.selectors import access_project, member_rights
from opencrf.randomization import blinding, services
from opencrf.randomization.models import (
    GROUP_STRATUM,
    Allocation,
    AllocationTable,
    Environment,
    Method,
    RandomizationSetup,
)
from opencrf.randomization.scheme import ALLOCATION_TYPES, STRATUM_TYPES, Scheme, scheme_of
from opencrf.randomization.selectors import (
    access_dashboard,
    access_setup_page,
    allocations_visible,
    dashboard_of,
    may_see_dashboard,
)
from opencrf.records.errors import InvalidValues
from opencrf.records.selectors import access_record

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_UPLOAD = 5 * 1024 * 1024


def _setup_or_404(project: Project) -> RandomizationSetup:
    setup = services.setup_of(project)
    if setup is None:
        raise NotFound(_("Randomization is not set up in this project."))
    return setup


def _scheme(setup: RandomizationSetup) -> Scheme:
    """The set-up's scheme; a design changed under it (a field gone) makes the page missing,
    as its numbers would mean nothing, until the set-up is fixed."""
    try:
        return scheme_of(setup)
    except InvalidInput as problem:
        raise NotFound(problem.message) from None


@login_required
@domain_errors
def home(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = access_project(request.user, project_id)
    rights = member_rights(request.user, project)
    setup = services.setup_of(project)
    context = {
        "project": project,
        "nav": "randomization",
        "setup": setup,
        "may_set_up": services.may_set_up(rights),
        "may_see_dashboard": may_see_dashboard(rights),
        "may_randomize": rights.is_admin or rights.randomization_perform,
        "environment": Environment(services.environment_of(project)).label,
    }
    return render(request, "randomization/home.html", context)


def _places(project: Project, types: frozenset[str]) -> list[tuple[str, str]]:
    """(field@event id, label) for every field of `types` at each event that collects it."""
    design = design_of(project)
    options = []
    for event in design.events:
        for row in design.rows:
            if row.field_type in types and design.has_form(project, event, row.form_name):
                if design.repeats_form(event, row.form_name):
                    continue
                where = f" — {event.name}" if project.is_longitudinal else ""
                label = f"{row.field_name} ({row.field_label[:60]}){where}"
                options.append((f"{row.field_name}@{event.pk}", label))
    return options


def _place(value: str) -> tuple[str, int]:
    name, _at, event = value.partition("@")
    if not name or not event.isdigit():
        raise InvalidInput(_("Choose a field from the list."))
    return name, int(event)


def _number(text: str, what: str) -> float:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise InvalidInput(
            _("%(what)s: “%(value)s” is not a number.") % {"what": what, "value": text}
        ) from None


def _setup_input(
    post: dict[str, list[str]], setup: RandomizationSetup | None
) -> services.SetupInput:
    def one(name: str, default: str = "") -> str:
        values = post.get(name) or [default]
        return values[-1]

    field, event = _place(one("allocation"))
    strata = [_place(value) for value in post.get("strata", []) if value]
    ratios: dict[str, int] = {}
    weights: dict[str, float] = {}
    for key, values in post.items():
        if key.startswith("ratio:"):
            ratio = _number(values[-1], _("Ratio"))
            if ratio != int(ratio):
                raise InvalidInput(_("Each arm's ratio must be a whole number from 0 to 20."))
            ratios[key[6:]] = int(ratio)
        elif key.startswith("weight:"):
            weights[key[7:]] = _number(values[-1], _("Weight"))
    return services.SetupInput(
        allocation_field=field,
        allocation_event_id=event,
        strata=strata,
        group_stratum=one("group_stratum") == "1",
        method=one("method", Method.TABLE),
        ratios=ratios,
        weights=weights,
        preferred_probability=_number(one("probability", "0.8"), _("Probability")),
    )


def _table_summary(setup: RandomizationSetup | None) -> list[dict[str, object]]:
    if setup is None:
        return []
    tables = {table.environment: table for table in setup.tables.all()}
    summary: list[dict[str, object]] = []
    for environment, label in Environment.choices:
        table: AllocationTable | None = tables.get(environment)
        rows = table.rows.count() if table else 0
        used = table.rows.filter(used=True).count() if table else 0
        summary.append(
            {"environment": environment, "label": label, "table": table, "rows": rows, "used": used}
        )
    return summary


def _setup_context(project: Project, setup: RandomizationSetup | None) -> dict[str, object]:
    scheme: Scheme | None = None
    if setup is not None:
        try:
            scheme = scheme_of(setup)
        except InvalidInput:
            scheme = None
    chosen_strata = (
        {f"{item['field']}@{item['event']}" for item in setup.strata} if setup else set()
    )
    return {
        "project": project,
        "nav": "randomization",
        "setup": setup,
        "scheme": scheme,
        "allocation_options": _places(project, ALLOCATION_TYPES),
        "stratum_options": _places(project, STRATUM_TYPES),
        "chosen_allocation": f"{setup.allocation_field}@{setup.allocation_event_id}"
        if setup
        else "",
        "chosen_strata": chosen_strata,
        "methods": Method.choices,
        "has_groups": project.groups.exists(),
        "tables": _table_summary(setup),
        "in_development": project.status == ProjectStatus.DEVELOPMENT,
        "group_stratum_name": GROUP_STRATUM,
        "development_allocations": setup.allocations.filter(
            environment=Environment.DEVELOPMENT
        ).count()
        if setup
        else 0,
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def setup_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    project, _rights = access_setup_page(request.user, project_id)
    setup = services.setup_of(project)
    error = ""
    if request.method == "POST":
        try:
            data = _setup_input(dict(request.POST.lists()), setup)
            services.setup_save(
                context=AuditContext.from_request(request), project=project, data=data
            )
        except InvalidInput as problem:
            error = problem.message
        else:
            messages.success(request, _("The randomization set-up was saved."))
            return redirect("randomization:setup", project.pk)
    context = _setup_context(project, services.setup_of(project))
    context["error"] = error
    return render(request, "randomization/setup.html", context, status=400 if error else 200)


@login_required
@require_POST
@domain_errors
def table_upload(request: AuthedRequest, project_id: int) -> HttpResponse:
    project, _rights = access_setup_page(request.user, project_id)
    upload = request.FILES.get("file")
    try:
        if upload is None or upload.size is None or upload.size == 0:
            raise InvalidInput(_("Choose a CSV file to upload."))
        if upload.size > MAX_UPLOAD:
            raise InvalidInput(_("The file is larger than 5 MB; nothing was saved."))
        services.table_upload(
            context=AuditContext.from_request(request),
            project=project,
            environment=request.POST.get("environment", ""),
            data=upload.read(),
            file_name=upload.name or "",
            reason=request.POST.get("reason", ""),
        )
    except DomainError as problem:
        messages.error(request, problem.message)
    else:
        messages.success(request, _("The allocation table was saved."))
    return redirect("randomization:setup", project.pk)


@login_required
@require_POST
@domain_errors
def table_generate(request: AuthedRequest, project_id: int) -> HttpResponse:
    project, _rights = access_setup_page(request.user, project_id)
    try:
        blocks_text = request.POST.get("blocks", "").strip()
        if not blocks_text.isdigit():
            raise InvalidInput(_("The number of blocks per stratum must be a whole number."))
        table = services.table_generate(
            context=AuditContext.from_request(request),
            project=project,
            environment=request.POST.get("environment", ""),
            block_sizes=request.POST.get("block_sizes", ""),
            blocks=int(blocks_text),
            seed=request.POST.get("seed", ""),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as problem:
        messages.error(request, problem.message)
    else:
        messages.success(
            request, _("The allocation table was generated (seed %(seed)s).") % {"seed": table.seed}
        )
    return redirect("randomization:setup", project.pk)


@login_required
@require_POST
@domain_errors
def allocations_erase(request: AuthedRequest, project_id: int) -> HttpResponse:
    project, _rights = access_setup_page(request.user, project_id)
    try:
        count = services.development_allocations_erase(
            context=AuditContext.from_request(request), project=project
        )
    except DomainError as problem:
        messages.error(request, problem.message)
    else:
        messages.success(
            request, _("%(count)d development allocation(s) erased.") % {"count": count}
        )
    return redirect("randomization:setup", project.pk)


def _neutral(cell: object) -> str:
    text = str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_response(name: str, header: list[str], rows: Iterable[list[object]]) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_neutral(cell) for cell in row] for row in rows)
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
@domain_errors
def table_download(request: AuthedRequest, project_id: int) -> HttpResponse:
    """The table in REDCap's format with its use, for whoever set it up (audited)."""
    project, _rights = access_setup_page(request.user, project_id)
    setup = _setup_or_404(project)
    environment = request.POST.get("environment", "")
    table = setup.tables.filter(environment=environment).first()
    if table is None:
        raise NotFound(_("No such allocation table."))
    factors = setup.factors()
    with transaction.atomic():
        audit_event_create(
            context=AuditContext.from_request(request),
            project_id=project.pk,
            action="randomization.table_download",
            details=f"{environment} table",
        )
    rows = (
        [row.arm, *[row.stratum.get(f, "") for f in factors]]
        for row in table.rows.order_by("position")
    )
    header = [setup.allocation_field, *factors]
    return _csv_response(f"allocation_table_{environment}.csv", header, rows)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def randomize(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    """The randomize step of one record: its strata shown, confirmed, then allocated."""
    project = access_project(request.user, project_id)
    rights = member_rights(request.user, project)
    record = access_record(request.user, project, record_id)
    if not (rights.is_admin or rights.randomization_perform):
        raise PermissionDenied(_("You may not randomize records in this project."))
    setup = _setup_or_404(project)
    error = ""
    if request.method == "POST" and request.POST.get("confirm") == "1":
        try:
            services.record_randomize(
                context=AuditContext.from_request(request), project=project, record=record
            )
        except InvalidValues as problem:
            error = " ".join(p.message for p in problem.problems) or problem.message
        except InvalidInput as problem:
            error = problem.message
        else:
            messages.success(
                request, _("Record %(record)s was randomized.") % {"record": record_id}
            )
            return redirect("records:home", project.pk, record_id)
    elif request.method == "POST":
        error = _("Tick the box to confirm the randomization.")
    scheme = _scheme(setup)
    stratum: list[tuple[str, str]] = []
    allocated = hasattr(record, "allocation")
    if not allocated:
        try:
            codes = services.record_stratum(setup, scheme, record)
            stratum = [(f.label, f.label_of(codes[f.name])) for f in scheme.factors]
        except InvalidInput as problem:
            error = error or problem.message
    context = {
        "project": project,
        "nav": "records",
        "record": record,
        "stratum": stratum,
        "allocated": allocated,
        "error": error,
    }
    return render(request, "randomization/randomize.html", context, status=400 if error else 200)


@login_required
@domain_errors
def dashboard(request: AuthedRequest, project_id: int) -> HttpResponse:
    project, rights = access_dashboard(request.user, project_id)
    setup = _setup_or_404(project)
    scheme = _scheme(setup)
    environment = request.GET.get("environment") or services.environment_of(project)
    if environment not in Environment.values:
        environment = services.environment_of(project)
    board = dashboard_of(setup, scheme, rights, environment)
    arms = [scheme.arm_label(code) for code in scheme.arm_codes]
    allocations = allocations_visible(setup, rights).filter(environment=environment)
    context = {
        "project": project,
        "nav": "randomization",
        "setup": setup,
        "scheme": scheme,
        "factors": [f.label for f in scheme.factors],
        "arms": arms,
        "board": board,
        "environment": environment,
        "environments": Environment.choices,
        "allocations": [(a, scheme.arm_label(a.arm)) for a in allocations[:500]],
        "more": max(allocations.count() - 500, 0),
    }
    return render(request, "randomization/dashboard.html", context)


@login_required
@require_POST
@domain_errors
def export(request: AuthedRequest, project_id: int) -> HttpResponse:
    """The allocation list for the data monitoring committee (audited)."""
    project, rights = access_dashboard(request.user, project_id)
    setup = _setup_or_404(project)
    scheme = _scheme(setup)
    factors = setup.factors()
    allocations = list(allocations_visible(setup, rights))
    with transaction.atomic():
        audit_event_create(
            context=AuditContext.from_request(request),
            project_id=project.pk,
            action="randomization.export",
            details=f"{len(allocations)} allocation(s)",
        )
    header = [
        "record_id",
        "environment",
        "sequence",
        setup.allocation_field,
        "arm_label",
        *factors,
        "table_row",
        "allocated_at",
        "allocated_by",
    ]
    rows = (
        [
            a.record.record_id if a.record else a.record_label,
            a.environment,
            a.sequence,
            a.arm,
            scheme.arm_label(a.arm),
            *[a.stratum.get(f, "") for f in factors],
            a.row.position if a.row else "",
            a.allocated_at.isoformat(timespec="seconds"),
            a.allocated_by.username if a.allocated_by else "",
        ]
        for a in allocations
    )
    return _csv_response(f"allocations_{project.pk}.csv", header, rows)


@login_required
@require_POST
@domain_errors
def blinding_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Blinding on or off, and who is told of an emergency unblinding (set-up right)."""
    project, _rights = access_setup_page(request.user, project_id)
    try:
        blinding.blinding_save(
            context=AuditContext.from_request(request),
            project=project,
            blinded=request.POST.get("blinded") == "1",
            notify=request.POST.get("notify", ""),
        )
    except InvalidInput as problem:
        messages.error(request, problem.message)
    else:
        messages.success(request, _("The blinding settings were saved."))
    return redirect("randomization:setup", project.pk)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def unblind(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    """Emergency unblinding of one record: a reason, a confirmation, then the arm, once."""
    project = access_project(request.user, project_id)
    rights = member_rights(request.user, project)
    record = access_record(request.user, project, record_id)
    if not blinding.may_unblind(rights):
        raise PermissionDenied(_("You may not unblind records in this project."))
    setup = _setup_or_404(project)
    if not blinding.is_blinded(setup):
        raise NotFound(_("Randomization in this project is not blinded."))
    error = ""
    reason = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            if request.POST.get("confirm") != "1":
                raise InvalidInput(_("Tick the box to confirm the emergency unblinding."))
            done = blinding.emergency_unblind(
                context=AuditContext.from_request(request),
                project=project,
                record=record,
                reason=reason,
            )
        except InvalidInput as problem:
            error = problem.message
        else:
            response = render(
                request,
                "randomization/unblinded.html",
                {"project": project, "nav": "records", "record": record, "done": done},
            )
            response["Cache-Control"] = "no-store"
            return response
    context = {
        "project": project,
        "nav": "records",
        "record": record,
        "allocated": Allocation.objects.filter(setup=setup, record=record).exists(),
        "notify": blinding.addresses(setup.notify),
        "reason": reason,
        "error": error,
    }
    return render(request, "randomization/unblind.html", context, status=400 if error else 200)
