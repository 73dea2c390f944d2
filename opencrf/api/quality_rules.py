"""Data quality rules through the API — an OpenCRF extension beside REDCap's contents.

- `content=dataQualityRules`: the project's rules (built-in A–J, then custom ones in order).
- `content=dataQualityRun` (`rules`: keys, as an array or comma-separated; default all): runs
  the rules over the records the token's user may see. A project of at most `INLINE_RECORDS`
  visible records is checked within the call and answers `status: done`; a larger one is
  queued as a background job and answers `status: queued`.
- `content=dataQualityResults` (`run`: the id from dataQualityRun): the run's results,
  less those excluded, as JSON, CSV or XML; `status` shows whether the run has finished.

The token's user needs the API export right and the data quality design or execute right;
runs are their own.
"""

from __future__ import annotations

from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError, forbidden
from opencrf.api.formats import table_response
from opencrf.core.errors import DomainError
from opencrf.quality.dq_models import DataQualityRun, RunStatus
from opencrf.quality.rules_builtin import BUILTIN_RULES
from opencrf.quality.rules_services import (
    access_run,
    can_run_rules,
    project_rules,
    rule_titles,
    run_execute,
    run_request,
    run_results,
)
from opencrf.records.selectors import records_visible_to

INLINE_RECORDS = 1000
RULE_HEADER = ("rule_key", "rule_name", "rule_logic", "check_mode", "built_in")
RUN_HEADER = ("run_id", "status", "records_done", "records_total", "rules")
RESULT_HEADER = (
    "rule_key",
    "rule_name",
    "record",
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "field_name",
    "value",
    "detail",
)


def _require(call: Call) -> None:
    call.require_export()  # results hold data values
    if not can_run_rules(call.rights):
        raise forbidden()


def rules_list(call: Call) -> HttpResponseBase:
    _require(call)
    assert call.project is not None
    rows = [
        {"rule_key": k, "rule_name": str(t), "rule_logic": "", "check_mode": "", "built_in": 1}
        for k, t in BUILTIN_RULES.items()
    ]
    rows += [
        {
            "rule_key": rule.key,
            "rule_name": rule.name,
            "rule_logic": rule.logic,
            "check_mode": rule.check_mode,
            "built_in": 0,
        }
        for rule in project_rules(call.project)
    ]
    return table_response(call.format, RULE_HEADER, rows, root="rules")


def rules_run(call: Call) -> HttpResponseBase:
    _require(call)
    project = call.project
    assert project is not None
    keys = [key.strip() for item in call.params.items("rules") for key in item.split(",")]
    keys = [key for key in keys if key] or ["all"]
    try:
        run = run_request(user=call.user, project=project, rule_keys=keys)
    except DomainError as error:
        raise ApiError(error.message) from None
    if records_visible_to(call.user, project).count() <= INLINE_RECORDS:
        run = run_execute(run.pk) or DataQualityRun.objects.get(pk=run.pk)
    return table_response(call.format, RUN_HEADER, [_run_row(run)], root="runs")


def _run_row(run: DataQualityRun) -> dict[str, object]:
    return {
        "run_id": run.pk,
        "status": run.status,
        "records_done": run.records_done,
        "records_total": run.records_total,
        "rules": ",".join(run.rule_keys),
    }


def results(call: Call) -> HttpResponseBase:
    _require(call)
    project = call.project
    assert project is not None
    run_id = call.params.number("run")
    if run_id is None:
        raise ApiError('The parameter "run" is missing: give the run_id of dataQualityRun.')
    try:
        run = access_run(call.user, project, run_id)
    except DomainError as error:
        raise ApiError(error.message) from None
    if run.status != RunStatus.DONE:
        raise ApiError(f"The run {run.pk} is {run.status}; ask again when it is done.")
    titles = rule_titles(project)
    rows = [
        {
            "rule_key": result.rule_key,
            "rule_name": titles.get(result.rule_key, result.rule_key),
            "record": result.record.record_id,
            "redcap_event_name": result.event.unique_name,
            "redcap_repeat_instrument": result.form_name,
            "redcap_repeat_instance": result.instance,
            "field_name": result.field_name,
            "value": result.value,
            "detail": result.detail,
        }
        for key in run.rule_keys
        for result in run_results(call.user, project, run, key)
    ]
    return table_response(call.format, RESULT_HEADER, rows, root="results")
