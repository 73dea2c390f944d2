"""Edit checks on save: soft warns and lets a user save with a reason; hard refuses the save on
the web, in surveys and in imports alike, unless a user with the override right confirms."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.projects.models import ProjectMember
from opencrf.quality.dq_checks import edit_check_override_register, edit_check_override_unregister
from opencrf.quality.rules_services import rule_create
from opencrf.records.imports import ImportRefused, records_import
from opencrf.records.models import FormData
from opencrf.records.save_checks import EditCheckRefused
from opencrf.records.services import form_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def heavy(demo, pi_paula):
    """A rule true for a week-12 weight above 150 kg; its check mode is set by each test."""

    def make(mode):
        return rule_create(
            context=AuditContext(actor=pi_paula, source="web"),
            project=demo,
            name="Implausible weight",
            logic="[v_weight] > 150",
            check_mode=mode,
        )

    return make


def visit(demo, record_id="1-1"):
    return FormData.objects.get(
        record__project=demo,
        record__record_id=record_id,
        event__unique_name="week_12_arm_1",
        form_name="visit",
    )


def url(demo, record_id="1-1"):
    return reverse("records:form", args=[demo.pk, record_id, "week_12_arm_1", "visit", 1])


def post_weight(client, demo, weight, reason=""):
    page = client.get(url(demo))
    values = {**json.loads(page.context["base_values"]), "v_weight": weight}
    values.pop("visit_day", None)
    return client.post(
        url(demo),
        {
            **values,
            "base_version": page.context["base_version"],
            "base_values": page.context["base_values"],
            "reason": reason,
            "action": "stay",
        },
    )


def actions(demo):
    return list(
        AuditEvent.objects.filter(project_id=demo.pk, action__startswith="dq_check").values_list(
            "action", "record", "reason"
        )
    )


def test_a_soft_check_warns_on_the_web_and_saves_when_saved_again_with_a_reason(
    client, demo, heavy, site_a_sam
):
    heavy("soft")
    client.force_login(site_a_sam)

    refused = post_weight(client, demo, "160.0")
    assert refused.status_code == 400
    assert "Edit check “Implausible weight” warns (record 1-1" in refused.content.decode()
    assert visit(demo).values["v_weight"] == "60.3"

    saved = post_weight(client, demo, "160.0", reason="Weighed twice, correct")

    assert saved.status_code == 302
    assert visit(demo).values["v_weight"] == "160.0"
    assert actions(demo) == [("dq_check.confirm", "1-1", "Weighed twice, correct")]


def test_a_reason_given_before_any_warning_does_not_confirm_a_soft_check(
    client, demo, heavy, site_a_sam
):
    heavy("soft")
    client.force_login(site_a_sam)

    response = post_weight(client, demo, "160.0", reason="A reason for the change")

    assert response.status_code == 400
    assert visit(demo).values["v_weight"] == "60.3"
    assert actions(demo) == []


def test_a_hard_check_refuses_a_web_save_even_with_a_reason(client, demo, heavy, site_a_sam):
    heavy("hard")
    client.force_login(site_a_sam)

    post_weight(client, demo, "160.0")
    again = post_weight(client, demo, "160.0", reason="I insist")

    assert again.status_code == 400
    assert "refuses this save (record 1-1" in again.content.decode()
    assert visit(demo).values["v_weight"] == "60.3"
    assert actions(demo) == []


def test_a_user_with_the_override_right_saves_past_a_hard_check_with_a_reason(
    client, demo, heavy, site_a_sam
):
    heavy("hard")
    ProjectMember.objects.filter(project=demo, user=site_a_sam).update(data_quality_override=True)
    called = []

    def hook(context, project, violations, reason):
        called.append([(v.rule.name, v.record.record_id, reason) for v in violations])

    edit_check_override_register(hook)
    try:
        client.force_login(site_a_sam)
        assert post_weight(client, demo, "160.0").status_code == 400
        saved = post_weight(client, demo, "160.0", reason="Confirmed with the site")
    finally:
        edit_check_override_unregister(hook)

    assert saved.status_code == 302
    assert visit(demo).values["v_weight"] == "160.0"
    assert actions(demo) == [("dq_check.override", "1-1", "Confirmed with the site")]
    assert called == [[("Implausible weight", "1-1", "Confirmed with the site")]]


def test_a_value_the_rule_does_not_find_saves_without_a_question(client, demo, heavy, site_a_sam):
    heavy("hard")
    client.force_login(site_a_sam)

    assert post_weight(client, demo, "61.0").status_code == 302
    assert visit(demo).values["v_weight"] == "61.0"


IMPORT_ROW = {"record_id": "1-1", "redcap_event_name": "week_12_arm_1", "v_weight": "160.0"}


def test_a_hard_check_refuses_an_import_and_nothing_is_written(demo, heavy, pi_paula):
    heavy("hard")

    with pytest.raises(ImportRefused) as refused:
        records_import(
            context=AuditContext(actor=pi_paula, source="import"), project=demo, rows=[IMPORT_ROW]
        )

    assert "Edit check “Implausible weight” refuses this save (record 1-1" in (
        refused.value.problems[0].message
    )
    assert visit(demo).values["v_weight"] == "60.3"


def test_a_soft_check_lets_an_import_through_and_audits_the_warning(demo, heavy, pi_paula):
    heavy("soft")

    records_import(
        context=AuditContext(actor=pi_paula, source="import"), project=demo, rows=[IMPORT_ROW]
    )

    assert visit(demo).values["v_weight"] == "160.0"
    assert actions(demo) == [("dq_check.warn", "1-1", "")]


def survey_save(demo, weight):
    record = demo.records.get(record_id="1-1")
    form_save(
        context=AuditContext(actor=None, source="survey", actor_label="participant"),
        record=record,
        event=demo.events.get(unique_name="week_12_arm_1"),
        form_name="visit",
        values={"v_weight": weight},
        base_version=None,
    )


def test_a_hard_check_refuses_a_survey_answer(demo, heavy):
    heavy("hard")

    with pytest.raises(EditCheckRefused):
        survey_save(demo, "160.0")

    assert visit(demo).values["v_weight"] == "60.3"


def test_a_soft_check_lets_a_survey_answer_through_and_audits_the_warning(demo, heavy):
    heavy("soft")

    survey_save(demo, "160.0")

    assert visit(demo).values["v_weight"] == "160.0"
    assert actions(demo) == [("dq_check.warn", "1-1", "")]


def test_a_rule_that_is_off_checks_nothing(demo, heavy):
    heavy("off")

    survey_save(demo, "160.0")

    assert visit(demo).values["v_weight"] == "160.0"
    assert actions(demo) == []


def test_a_hard_check_refuses_an_api_import_with_its_message(demo, heavy, pi_paula):
    from opencrf.api.tests.client import post
    from opencrf.api.tokens import token_create

    heavy("hard")
    ProjectMember.objects.filter(project=demo, user=pi_paula).update(api_import=True)
    token = token_create(context=AuditContext(actor=pi_paula), user=pi_paula, project=demo)

    answer = post(
        {
            "token": token,
            "content": "record",
            "format": "json",
            "data": json.dumps([IMPORT_ROW]),
        }
    )

    assert answer.status_code == 400
    assert "Edit check “Implausible weight” refuses this save (record 1-1" in (
        answer.content.decode()
    )
    assert visit(demo).values["v_weight"] == "60.3"
