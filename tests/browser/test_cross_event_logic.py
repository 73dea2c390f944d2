"""In Chromium, the demo study's Week 12 visit computes what the server computes.

The demo study (WALK-DM, `opencrf demo`) reads other events on its visit form: the days since
baseline (`datediff` with the baseline date), the BMI from the baseline height, the changes in
HbA1c and steps from baseline, and two fields shown only by the screening randomisation group
and the baseline hypoglycaemia risk. The values the server stored when it saved each form are
read with `opencrf manage shell`; the page must show exactly those, and the branching that
follows from the other events' values.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

CALCS = ("visit_day", "v_bmi", "hba1c_change", "steps_change")
RECORDS = ("1-1", "1-2", "3-3")

SERVER_VALUES = """
import json
from opencrf.projects.models import Project
from opencrf.records.models import FormData
project = Project.objects.filter(title__contains="WALK-DM").order_by("pk").first()
def values(record_id, event, form):
    return FormData.objects.get(project=project, record__record_id=record_id,
        event__unique_name=event, form_name=form, instance=1).values
print(json.dumps({"project": project.pk, "records": {
    record_id: {
        "visit": values(record_id, "week_12_arm_1", "visit"),
        "rand_group": values(record_id, "screening_arm_1", "enrolment")["rand_group"],
        "hypo_risk": values(record_id, "baseline_arm_1", "baseline")["hypo_risk"],
    } for record_id in %r}}))
"""


@pytest.fixture(scope="module")
def server_values(server_data_dir: str) -> dict[str, Any]:
    run_opencrf(server_data_dir, "demo")
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", SERVER_VALUES % (RECORDS,))
    return json.loads(out.strip().splitlines()[-1])


def test_the_week_12_visit_shows_every_cross_event_result_the_server_computed(
    page: Any, admin_credentials: tuple[str, str], server_values: dict[str, Any]
) -> None:
    log_in(page, admin_credentials)
    project = server_values["project"]
    groups = set()
    for record_id, server in server_values["records"].items():
        page.goto(f"/projects/{project}/records/{record_id}/week_12_arm_1/visit/1/")
        for name in CALCS:
            assert server["visit"][name], f"the server computed {name} for {record_id}"
            expect(page.locator(f"input[name='{name}']")).to_have_value(server["visit"][name])
        adherence = page.locator("[data-field='adherence']")
        expect(adherence).to_be_visible(visible=server["rand_group"] == "1")
        hypo = page.locator("[data-field='hypo_symptoms']")
        expect(hypo).to_be_visible(visible=server["hypo_risk"] == "1")
        groups.add(server["rand_group"])
    assert groups == {"1", "2"}, "both randomisation groups are walked"


def test_a_changed_weight_recomputes_the_bmi_from_the_baseline_height(
    page: Any, admin_credentials: tuple[str, str], server_values: dict[str, Any]
) -> None:
    log_in(page, admin_credentials)
    project = server_values["project"]
    page.goto(f"/projects/{project}/records/1-1/week_12_arm_1/visit/1/")
    bmi = page.locator("input[name='v_bmi']")
    weight = float(server_values["records"]["1-1"]["visit"]["v_weight"])
    ratio = weight / float(server_values["records"]["1-1"]["visit"]["v_bmi"])

    page.locator("input[name='v_weight']").fill(str(round(weight * 2, 1)))

    expect(bmi).not_to_have_value(server_values["records"]["1-1"]["visit"]["v_bmi"])
    assert abs(float(bmi.input_value()) - round(weight * 2, 1) / ratio) < 0.1
