"""The online designer in Chromium: a small instrument built from a blank project.

Several field types, a matrix group, branching logic made with the builder, a calculation
tested against a saved record, a field moved with the keyboard's arrow button (the list is
re-rendered in place); then data entry shows what was designed. Screenshots of the designer,
in English and Japanese, are kept in the test's temporary folder.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_journeys import create_project, log_in

pytestmark = pytest.mark.browser


def add_field(page: Any, project_id: int, form: str, **values: str) -> None:
    """Open the editor from the instrument page, fill it, save; back on the instrument page."""
    page.get_by_test_id("add-field").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a field")
    page.get_by_label("Field type").select_option(values.pop("field_type", "text"))
    page.get_by_label("Field label").fill(values.pop("label"))
    for name, value in values.items():
        locator = page.locator(f"[name={name}]")
        if name in ("validation",):
            locator.select_option(value)
        elif value == "on":
            locator.check()
        else:
            locator.fill(value)
    page.get_by_test_id("save-field").click()
    expect(page).to_have_url(re.compile(rf"/design/designer/forms/{form}/#d-"))


def test_a_designer_builds_an_instrument_that_data_entry_shows(
    page: Any, admin_credentials: tuple[str, str], tmp_path: Any
) -> None:
    log_in(page, admin_credentials)
    project_id = create_project(page, "Designer study", longitudinal=False)
    page.goto(f"/projects/{project_id}/design/designer/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Online Designer")
    page.get_by_label("Instrument label").fill("Baseline <b>visit</b>")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("open-baseline_b_visit_b")).to_have_text("Baseline <b>visit</b>")
    page.get_by_test_id("open-baseline_b_visit_b").click()
    form = "baseline_b_visit_b"

    # The name is suggested from the label as it is typed.
    page.get_by_test_id("add-field").click()
    page.get_by_label("Field label").fill("Weight (kg)")
    expect(page.get_by_label("Variable name")).to_have_value("weight_kg")
    page.locator("[name=validation]").select_option("number")
    page.get_by_test_id("save-field").click()
    add_field(page, project_id, form, field_type="radio", label="Sex", choices="1, Male\n2, Female")
    add_field(page, project_id, form, field_type="notes", label="Comments")
    add_field(
        page,
        project_id,
        form,
        field_type="checkbox",
        label="Symptoms",
        choices="a, Cough\nb, Fever",
    )
    for number in (1, 2):
        add_field(
            page,
            project_id,
            form,
            field_type="radio",
            label=f"Item {number}",
            field_name=f"item_{number}",
            choices="1, Agree\n0, Disagree",
            matrix_group_name="items",
        )

    # Branching with the builder: [sex] = 2, checked live by the server's parser.
    page.get_by_test_id("add-field").click()
    page.get_by_label("Field type").select_option("yesno")
    page.get_by_label("Field label").fill("Pregnant?")
    page.locator("[data-b-field]").select_option("sex")
    page.locator("[data-b-value]").fill("2")
    page.get_by_test_id("builder-add").click()
    expect(page.locator("[name=branching_logic]")).to_have_value("[sex] = 2")
    expect(page.locator("[data-col=branching_logic] [data-logic-status]")).to_have_text(
        "The logic is valid."
    )
    page.get_by_test_id("save-field").click()
    expect(page.locator("[data-testid=designer-fields] [data-matrix=items]")).to_be_visible()

    add_field(
        page,
        project_id,
        form,
        field_type="calc",
        label="Double weight",
        field_name="double_weight",
        calculation="[weight_kg] * 2",
    )

    # The keyboard's arrow button moves a field; the list is drawn again without a reload.
    page.evaluate("window.__same_page = true")
    page.get_by_test_id("up-comments").click()
    names = page.locator("#designer-fields .dz-item")
    expect(names.nth(2)).to_have_attribute("data-fields", "comments")
    assert page.evaluate("window.__same_page") is True
    # Drag and drop: the calculation dropped onto the weight goes just before it.
    transfer = page.evaluate_handle("() => new DataTransfer()")
    names.nth(7).dispatch_event("dragstart", {"dataTransfer": transfer})
    names.nth(1).dispatch_event("dragover", {"dataTransfer": transfer})
    names.nth(1).dispatch_event("drop", {"dataTransfer": transfer})
    expect(names.nth(1)).to_have_attribute("data-fields", "double_weight")
    expect(names.nth(2)).to_have_attribute("data-fields", "weight_kg")
    assert page.evaluate("window.__same_page") is True
    expect(page.get_by_role("heading", level=1)).to_contain_text("Baseline <b>visit</b>")
    page.screenshot(path=str(tmp_path / "designer-en.png"), full_page=True)

    # A record to test the calculation with.
    page.goto(f"/projects/{project_id}/records/")
    page.get_by_role("button", name="Add new record").click()
    page.locator("#f-weight_kg").fill("70.5")
    page.locator("#f-sex-1").check()
    expect(page.locator("[data-field=pregnant]")).to_be_visible()
    expect(page.locator("[data-matrix=items]")).to_be_visible()
    expect(page.locator("#f-double_weight")).to_have_value("141")
    page.get_by_role("button", name="Save & Stay").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    page.locator("#f-sex-0").check()
    expect(page.locator("[data-field=pregnant]")).to_be_hidden()

    page.goto(f"/projects/{project_id}/design/designer/forms/{form}/")
    page.get_by_test_id("edit-double_weight").click()
    page.get_by_test_id("calc-test").click()
    expect(page.get_by_test_id("calc-result")).to_have_text("= 141")
    page.screenshot(path=str(tmp_path / "editor-en.png"), full_page=True)

    page.get_by_role("button", name="日本語").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.goto(f"/projects/{project_id}/design/designer/forms/{form}/")
    page.screenshot(path=str(tmp_path / "designer-ja.png"), full_page=True)
    page.goto(f"/projects/{project_id}/design/designer/")
    page.screenshot(path=str(tmp_path / "home-ja.png"), full_page=True)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    print(f"Screenshots: {tmp_path}")
