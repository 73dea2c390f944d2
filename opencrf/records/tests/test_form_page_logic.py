"""The data entry page carries other events' values in the one shape logic reads.

The page's `crf-logic` spec is what `form-logic.js` evaluates; evaluated here with the server's
evaluator (its twin, held to the same corpus), it must give the calculations the save stored.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.demo.loader import load_demo
from opencrf.logic import evaluate_ast, format_result
from opencrf.records.models import FormData

pytestmark = pytest.mark.django_db

CROSS_EVENT_CALCS = ("visit_day", "v_bmi", "hba1c_change", "steps_change")
CROSS_EVENT_BRANCHING = {"adherence": "rand_group", "hypo_symptoms": "hypo_risk"}


@pytest.fixture
def demo(pi_paula):
    project, _created = load_demo(owner_username="pi_paula")
    return project


def week_12_page(client, project, record_id):
    client.force_login(project.members.first().user)
    args = [project.pk, record_id, "week_12_arm_1", "visit", 1]
    response = client.get(reverse("records:form", args=args))
    assert response.status_code == 200
    return response.context["logic"]


def stored(project, record_id, event, form):
    return FormData.objects.get(
        project=project, record__record_id=record_id, event__unique_name=event, form_name=form
    ).values


def test_the_page_gives_other_events_values_by_event_and_instance(client, demo):
    logic = week_12_page(client, demo, "1-1")

    data = logic["context"]["data"]
    assert (
        data["screening_arm_1"]["1"]["rand_group"]
        == stored(demo, "1-1", "screening_arm_1", "enrolment")["rand_group"]
    )
    assert (
        data["baseline_arm_1"]["1"]["height"]
        == stored(demo, "1-1", "baseline_arm_1", "baseline")["height"]
    )
    assert logic["context"]["events"] == [
        "screening_arm_1",
        "baseline_arm_1",
        "week_12_arm_1",
        "week_24_arm_1",
        "week_52_arm_1",
    ]


@pytest.mark.parametrize("record_id", ["1-1", "1-2", "3-3"])
def test_the_pages_cross_event_calculations_equal_what_the_save_stored(client, demo, record_id):
    logic = week_12_page(client, demo, record_id)
    values = stored(demo, record_id, "week_12_arm_1", "visit")

    computed = {
        name: format_result(
            evaluate_ast(logic["fields"][name]["calc"], values, logic["context"], "calc")
        )
        for name in CROSS_EVENT_CALCS
    }

    assert computed == {name: values[name] for name in CROSS_EVENT_CALCS}
    assert all(computed.values()), computed


def test_the_pages_cross_event_branching_follows_the_other_events_values(client, demo):
    for record_id in ("1-1", "1-2", "2-1", "2-2"):
        logic = week_12_page(client, demo, record_id)
        values = stored(demo, record_id, "week_12_arm_1", "visit")
        rand_group = stored(demo, record_id, "screening_arm_1", "enrolment")["rand_group"]
        hypo_risk = stored(demo, record_id, "baseline_arm_1", "baseline")["hypo_risk"]
        shown = {
            name: evaluate_ast(
                logic["fields"][name]["branching"], values, logic["context"], "logic"
            )
            for name in CROSS_EVENT_BRANCHING
        }
        assert shown == {"adherence": rand_group == "1", "hypo_symptoms": hypo_risk == "1"}
