"""The Data Quality page: rules with Execute buttons, results with links, exclusions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.quality.dq_models import DataQualityExclusion, DataQualityRule, DataQualityRun
from opencrf.quality.rules_services import run_execute
from opencrf.quality.tests.test_rules import plant

pytestmark = pytest.mark.django_db


def page(project):
    return reverse("quality:rules", args=[project.pk])


def run_last():
    run = DataQualityRun.objects.order_by("-id").first()
    return run_execute(run.pk)


def test_the_page_lists_built_in_and_custom_rules_and_runs_one(client, demo, pi_paula):
    client.force_login(pi_paula)
    created = client.post(
        reverse("quality:rule_new", args=[demo.pk]),
        {"name": "Heavy <b>", "logic": "[weight] > 90", "check_mode": "soft"},
    )
    rule = DataQualityRule.objects.get()

    html = client.get(page(demo)).content.decode()
    client.post(reverse("quality:run", args=[demo.pk]), {"rule": rule.key})
    run = run_last()
    listed = client.get(page(demo)).content.decode()
    results = client.get(reverse("quality:results", args=[demo.pk, run.pk, rule.key]))

    assert created.status_code == 302
    assert [f'data-rule="{key}"' in html for key in "ABCDEFGHIJ"] == [True] * 10
    assert "Heavy &lt;b&gt;" in html
    assert f'data-testid="count-{rule.key}"><a href="/projects/{demo.pk}/quality/runs/' in listed
    body = results.content.decode()
    assert body.count('data-result="') == 2
    assert f'href="/projects/{demo.pk}/records/3-3/"' in body


def test_a_rule_with_bad_logic_is_shown_again_with_the_error(client, demo, pi_paula):
    client.force_login(pi_paula)

    response = client.post(
        reverse("quality:rule_new", args=[demo.pk]),
        {"name": "Bad", "logic": "[nope] = 1", "check_mode": "off"},
    )

    assert response.status_code == 400
    assert "The logic refers to fields that do not exist: nope." in response.content.decode()
    assert not DataQualityRule.objects.exists()


def test_results_link_to_the_field_on_its_form_and_can_be_excluded(client, demo, site_a_sam):
    plant(demo, "1-3", "baseline_arm_1", "baseline", smoking="9")
    client.force_login(site_a_sam)
    client.post(reverse("quality:run", args=[demo.pk]), {"rule": "G"})
    run = run_last()
    url = reverse("quality:results", args=[demo.pk, run.pk, "G"])

    body = client.get(url).content.decode()
    result = run.results.get()
    excluded = client.post(
        reverse("quality:result_exclude", args=[demo.pk, result.pk]), {"reason": "Known"}
    )
    after = client.get(url).content.decode()

    form = f"/projects/{demo.pk}/records/1-3/baseline_arm_1/baseline/1/#smoking"
    assert f'href="{form}"' in body
    assert excluded.status_code == 302
    assert DataQualityExclusion.objects.get().reason == "Known"
    assert 'data-result="' not in after


def test_a_member_who_may_only_execute_sees_no_rule_editing(client, demo, site_a_sam):
    client.force_login(site_a_sam)

    html = client.get(page(demo)).content.decode()
    form = client.get(reverse("quality:rule_new", args=[demo.pk]))

    assert 'data-testid="rule-new"' not in html
    assert form.status_code == 403


def test_a_member_without_a_data_quality_right_is_refused(client, demo, monitor_mo):
    client.force_login(monitor_mo)

    assert client.get(page(demo)).status_code == 403
    assert client.post(reverse("quality:run", args=[demo.pk]), {"rule": "A"}).status_code == 403
    assert not DataQualityRun.objects.exists()


def test_another_user_s_run_is_not_found(client, demo, pi_paula, site_a_sam):
    client.force_login(pi_paula)
    client.post(reverse("quality:run", args=[demo.pk]), {"rule": "A"})
    run = run_last()
    client.force_login(site_a_sam)

    response = client.get(reverse("quality:results", args=[demo.pk, run.pk, "A"]))

    assert response.status_code == 404
