"""Data quality opens queries: a button on each rule result, and a hard edit check override
(a query on each field its rule reads, or a comment in a project using the comment log)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.projects.models import FieldNotes, ProjectMember
from opencrf.quality.query_models import FieldComment, Query
from opencrf.quality.rules_services import rule_create
from opencrf.quality.tests.test_edit_checks import post_weight
from opencrf.quality.tests.test_rules import plant
from opencrf.quality.tests.test_rules_views import run_last

pytestmark = pytest.mark.django_db


def use(project, mode):
    project.field_notes = mode
    project.save(update_fields=["field_notes"])


@pytest.fixture
def sam(demo, site_a_sam):
    """Toto University's coordinator, who runs rules, with every query right."""
    ProjectMember.objects.filter(project=demo, user=site_a_sam).update(
        data_resolution="open_close_respond", data_quality_override=True
    )
    return site_a_sam


@pytest.fixture
def hard_rule(demo, pi_paula):
    return rule_create(
        context=AuditContext(actor=pi_paula, source="web"),
        project=demo,
        name="Implausible weight",
        logic="[v_weight] > 150",
        check_mode="hard",
    )


def run(client, demo, key):
    client.post(reverse("quality:run", args=[demo.pk]), {"rule": key})
    run = run_last()
    return run, reverse("quality:results", args=[demo.pk, run.pk, key])


def test_a_result_opens_a_query_on_its_field_with_the_rule(client, demo, sam):
    use(demo, FieldNotes.RESOLUTION)
    plant(demo, "1-3", "baseline_arm_1", "baseline", smoking="9")
    client.force_login(sam)
    found, page = run(client, demo, "G")
    result = found.results.get()

    body = client.get(page).content.decode()
    response = client.post(reverse("quality:result_query", args=[demo.pk, result.pk]))

    query = Query.objects.get()
    step = query.steps.get()
    assert 'data-testid="result-query"' in body
    assert response.status_code == 302 and response["Location"] == page
    assert (query.rule_key, query.category, query.field_name, query.form_name) == (
        "G",
        "rule",
        "smoking",
        "baseline",
    )
    assert query.record.record_id == "1-3"
    assert step.value == "9"
    assert step.text.startswith("Data quality rule “")
    assert "Value: 9" in step.text
    assert AuditEvent.objects.filter(action="query.open", record="1-3").count() == 1


def test_a_custom_rules_result_opens_its_query_on_the_field_the_rule_reads(
    client, demo, sam, pi_paula
):
    use(demo, FieldNotes.RESOLUTION)
    client.force_login(pi_paula)
    client.post(
        reverse("quality:rule_new", args=[demo.pk]),
        {"name": "Heavy", "logic": "[weight] > 65", "check_mode": "off"},
    )
    client.force_login(sam)
    found, _page = run(client, demo, demo_rule_key(demo))
    result = found.results.order_by("id").first()

    client.post(reverse("quality:result_query", args=[demo.pk, result.pk]))

    query = Query.objects.get()
    assert (query.field_name, query.record_id) == ("weight", result.record_id)
    assert query.rule_key == demo_rule_key(demo)


def demo_rule_key(demo):
    from opencrf.quality.dq_models import DataQualityRule

    return DataQualityRule.objects.get(project=demo).key


def test_without_the_workflow_no_button_is_shown_and_no_query_opened(client, demo, sam):
    plant(demo, "1-3", "baseline_arm_1", "baseline", smoking="9")
    client.force_login(sam)
    found, page = run(client, demo, "G")

    body = client.get(page).content.decode()
    client.post(reverse("quality:result_query", args=[demo.pk, found.results.get().pk]))

    assert 'data-testid="result-query"' not in body
    assert not Query.objects.exists()


def test_another_users_result_is_missing(client, demo, sam, pi_paula):
    use(demo, FieldNotes.RESOLUTION)
    plant(demo, "1-3", "baseline_arm_1", "baseline", smoking="9")
    client.force_login(sam)
    found, _page = run(client, demo, "G")
    client.force_login(pi_paula)

    response = client.post(reverse("quality:result_query", args=[demo.pk, found.results.get().pk]))

    assert response.status_code == 404
    assert not Query.objects.exists()


@pytest.mark.parametrize("mode", [FieldNotes.RESOLUTION, FieldNotes.COMMENT_LOG, FieldNotes.NONE])
def test_a_hard_check_override_notes_itself_on_the_rules_field(
    client, demo, hard_rule, sam, mode, django_capture_on_commit_callbacks
):
    use(demo, mode)
    client.force_login(sam)
    assert post_weight(client, demo, "160.0").status_code == 400
    assert not Query.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        saved = post_weight(client, demo, "160.0", reason="Confirmed <b>with</b> the site")

    text = "Hard edit check “Implausible weight” overridden. Reason: Confirmed <b>with</b> the site"
    assert saved.status_code == 302
    if mode == FieldNotes.RESOLUTION:
        query = Query.objects.get()
        step = query.steps.get()
        assert (query.field_name, query.category, query.opened_by) == (
            "v_weight",
            "edit_check",
            sam,
        )
        assert query.rule_key == hard_rule.key
        assert (step.value, step.text) == ("160.0", text)
        assert not FieldComment.objects.exists()
    elif mode == FieldNotes.COMMENT_LOG:
        comment = FieldComment.objects.get()
        assert (comment.field_name, comment.text, comment.author) == ("v_weight", text, sam)
        assert not Query.objects.exists()
    else:
        assert not Query.objects.exists() and not FieldComment.objects.exists()
