"""Data quality rules through the API (an OpenCRF extension), with the token user's rights."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.services import AuditContext
from opencrf.projects.models import ProjectMember
from opencrf.quality.rules_services import rule_create
from opencrf.quality.tests.test_rules import plant

pytestmark = pytest.mark.django_db


def api_user(demo, user):
    """Give `user` the API export right (results hold data values) and a token."""
    ProjectMember.objects.filter(project=demo, user=user).update(api_export=True)
    return token_create(context=AuditContext(actor=user), user=user, project=demo)


def call(token, content, **values):
    response = post({"token": token, "content": content, "format": "json", **values})
    return response.status_code, orjson.loads(response.content)


def test_rules_are_listed_and_run_and_their_results_read(demo, pi_paula):
    rule = rule_create(
        context=AuditContext(actor=pi_paula, source="web"),
        project=demo,
        name="Heavy",
        logic="[weight] > 90",
        check_mode="hard",
    )
    plant(demo, "2-2", "baseline_arm_1", "baseline", smoking="7")
    token = token_create(context=AuditContext(actor=pi_paula), user=pi_paula, project=demo)

    _status, rules = call(token, "dataQualityRules")
    _status, runs = call(token, "dataQualityRun", rules=f"G,{rule.key}")
    status, results = call(token, "dataQualityResults", run=str(runs[0]["run_id"]))

    assert [r["rule_key"] for r in rules] == [*"ABCDEFGHIJ", rule.key]
    assert rules[-1] == {
        "rule_key": rule.key,
        "rule_name": "Heavy",
        "rule_logic": "[weight] > 90",
        "check_mode": "hard",
        "built_in": 0,
    }
    assert (runs[0]["status"], runs[0]["records_total"], runs[0]["rules"]) == (
        "done",
        12,
        f"G,{rule.key}",
    )
    assert status == 200
    assert [(r["rule_key"], r["record"], r["field_name"], r["value"]) for r in results] == [
        ("G", "2-2", "smoking", "7"),
        (rule.key, "3-3", "", ""),
        (rule.key, "3-4", "", ""),
    ]


def test_a_site_user_s_run_holds_only_the_site_s_records(demo, site_a_sam):
    plant(demo, "2-2", "baseline_arm_1", "baseline", smoking="7")
    plant(demo, "1-3", "baseline_arm_1", "baseline", smoking="9")
    token = api_user(demo, site_a_sam)

    _status, runs = call(token, "dataQualityRun", rules="G")
    _status, results = call(token, "dataQualityResults", run=str(runs[0]["run_id"]))

    assert runs[0]["records_total"] == 4
    assert [(r["record"], r["value"]) for r in results] == [("1-3", "9")]


def test_a_user_without_a_data_quality_right_is_refused(demo, monitor_mo):
    token = api_user(demo, monitor_mo)

    assert call(token, "dataQualityRules")[0] == 403
    assert call(token, "dataQualityRun")[0] == 403


def test_an_unknown_rule_and_another_user_s_run_are_refused(demo, pi_paula, site_a_sam):
    paula = token_create(context=AuditContext(actor=pi_paula), user=pi_paula, project=demo)
    sam = api_user(demo, site_a_sam)
    _status, runs = call(paula, "dataQualityRun", rules="A")

    status, body = call(paula, "dataQualityRun", rules="Z")
    other_status, other = call(sam, "dataQualityResults", run=str(runs[0]["run_id"]))

    assert (status, body) == (400, {"error": "No such data quality rule: Z."})
    assert (other_status, other) == (400, {"error": "No such data quality run."})
