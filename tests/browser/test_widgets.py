"""Data-entry widgets in Chromium: date and time pickers, searchable dropdowns, Enter, tablets.

One classic project, built once for the module from `widgets_dictionary.csv` (a date_dmy,
a datetime_ymd and a time field, a read-only date, an autocomplete dropdown with Japanese
labels and a read-only one, branching on both); every test adds its own record. The
browser's clock is fixed at 2026-04-01 09:05:07 local time where a test presses Today or Now.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ACTION_TIMEOUT_MS
from tests.browser.test_journeys import create_project, log_in, open_dictionary_page

pytestmark = pytest.mark.browser

DICTIONARY = Path(__file__).with_name("widgets_dictionary.csv")
SAVED = "Your changes were saved."
FIXED_NOW = "2026-04-01T09:05:07"
OSAKA = "大阪医療センター / Osaka Medical Center"
TABLETS = [
    pytest.param({"width": 768, "height": 1024}, id="portrait-768x1024"),
    pytest.param({"width": 1024, "height": 768}, id="landscape-1024x768"),
]


def new_context(browser: Any, server_url: str, **options: Any) -> Any:
    context = browser.new_context(
        base_url=server_url,
        locale="en-US",
        **{"viewport": {"width": 1366, "height": 900}, **options},
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


@pytest.fixture(scope="module")
def project_id(browser: Any, server_url: str) -> Iterator[int]:
    """The widgets project, created and given its dictionary through the web pages."""
    from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USERNAME

    context = new_context(browser, server_url)
    try:
        page = context.new_page()
        log_in(page, (ADMIN_USERNAME, ADMIN_PASSWORD))
        project = create_project(page, "Widgets study", longitudinal=False)
        open_dictionary_page(page, project)
        page.get_by_label("Data dictionary (CSV)").set_input_files(str(DICTIONARY))
        page.get_by_role("button", name="Check and preview").click()
        expect(page.get_by_test_id("dictionary-ok")).to_be_visible()
        page.get_by_role("button", name="Apply these changes").click()
        expect(page.get_by_role("status")).to_contain_text(
            "The data dictionary was saved as revision 1."
        )
        yield project
    finally:
        context.close()


def saved(address: str) -> str:
    """The address of a new record's form once the record is saved (without `?new=1…`)."""
    return address.split("?", 1)[0]


def open_new_record(page: Any, project: int) -> str:
    """Add a record from the dashboard; returns the address of its visit form (not saved yet)."""
    page.goto(f"/projects/{project}/records/")
    page.get_by_role("button", name="Add new record").click()
    expect(page).to_have_url(
        re.compile(rf"/projects/{project}/records/\d+/event_1_arm_1/visit/1/\?new=1&arm=1&auto=1$")
    )
    expect(page.locator("#f-visit_date")).to_be_editable()
    # The form's modules listen from DOMContentLoaded on; keys pressed sooner reach no listener.
    page.wait_for_load_state("load")
    return str(page.url)


def row(page: Any, field: str) -> Any:
    return page.locator(f"#crf-entry [data-field={field}]")


def save_and_stay(page: Any) -> None:
    page.get_by_role("button", name="Save & Stay").click()
    expect(page.locator(".messages .alert-success")).to_have_text(SAVED)


def set_picker(page: Any, field: str, value: str) -> None:
    """What choosing `value` in the native picker does: the companion changes."""
    row(page, field).locator(".crf-picker").evaluate(
        "(picker, value) => { picker.value = value;"
        " picker.dispatchEvent(new Event('change', {bubbles: true})); }",
        value,
    )


def test_today_and_now_fill_the_date_datetime_and_time_fields_and_the_values_are_saved(
    page, admin_credentials, project_id
):
    page.clock.set_fixed_time(FIXED_NOW)
    log_in(page, admin_credentials)
    address = open_new_record(page, project_id)
    visit_checked = row(page, "visit_checked")
    expect(visit_checked).to_be_hidden()

    row(page, "visit_date").get_by_role("button", name="Today").click()
    expect(page.locator("#f-visit_date")).to_have_value("2026-04-01")
    # The `input` event reached form-logic.js: [visit_date] <> '' now shows the question.
    expect(visit_checked).to_be_visible()
    row(page, "seen_at").get_by_role("button", name="Now").click()
    expect(page.locator("#f-seen_at")).to_have_value("2026-04-01 09:05")
    row(page, "dose_time").get_by_role("button", name="Now").click()
    expect(page.locator("#f-dose_time")).to_have_value("09:05")
    save_and_stay(page)

    page.goto(saved(address))
    expect(page.locator("#f-visit_date")).to_have_value("2026-04-01")
    expect(page.locator("#f-seen_at")).to_have_value("2026-04-01 09:05")
    expect(page.locator("#f-dose_time")).to_have_value("09:05")
    expect(visit_checked).to_be_visible()


def test_a_typed_date_opens_the_calendar_on_that_day_and_a_picked_day_is_written_back(
    page, admin_credentials, project_id
):
    log_in(page, admin_credentials)
    address = open_new_record(page, project_id)
    visit_date = page.locator("#f-visit_date")
    picker = row(page, "visit_date").locator(".crf-picker")
    calendar = row(page, "visit_date").get_by_role("button", name="Open calendar")
    expect(picker).to_have_attribute("type", "date")
    expect(row(page, "seen_at").locator(".crf-picker")).to_have_attribute("type", "datetime-local")
    expect(row(page, "dose_time").locator(".crf-picker")).to_have_attribute("type", "time")

    visit_date.press_sequentially("2024-02-29")
    calendar.click()
    expect(picker).to_have_value("2024-02-29")
    visit_date.fill("2023-02-29")
    calendar.click()
    expect(picker).to_have_value("")

    set_picker(page, "visit_date", "2026-05-02")
    expect(visit_date).to_have_value("2026-05-02")
    set_picker(page, "seen_at", "2026-05-02T14:30")
    expect(page.locator("#f-seen_at")).to_have_value("2026-05-02 14:30")
    set_picker(page, "dose_time", "07:45")
    expect(page.locator("#f-dose_time")).to_have_value("07:45")
    # The picker inputs have no name: what is posted is the text inputs, as before.
    expect(page.locator("#crf-entry .crf-picker[name]")).to_have_count(0)
    save_and_stay(page)

    page.goto(saved(address))
    expect(visit_date).to_have_value("2026-05-02")
    expect(page.locator("#f-seen_at")).to_have_value("2026-05-02 14:30")
    expect(page.locator("#f-dose_time")).to_have_value("07:45")


def test_read_only_date_and_dropdown_fields_cannot_be_changed_through_their_widgets(
    page, admin_credentials, project_id
):
    log_in(page, admin_credentials)
    open_new_record(page, project_id)
    enrolled = row(page, "enrolled_on")
    expect(enrolled.get_by_role("button", name="Open calendar")).to_be_disabled()
    expect(enrolled.get_by_role("button", name="Today")).to_be_disabled()
    expect(row(page, "visit_date").get_by_role("button", name="Today")).to_be_enabled()
    screening_site = page.get_by_role("combobox", name="Screening site")
    expect(screening_site).to_be_disabled()
    expect(screening_site).to_have_value("東京 / Tokyo")
    expect(page.locator("select#f-screening_site")).to_have_value("1")
    screening_site.click(force=True)
    expect(page.locator("#f-screening_site-listbox")).to_be_hidden()
    types = page.locator("#crf-entry .crf-datetime button").evaluate_all(
        "(buttons) => buttons.map((button) => button.type)"
    )
    assert types == ["button"] * 8


def test_an_autocomplete_option_is_chosen_by_typing_part_of_a_japanese_label_and_enter(
    page, admin_credentials, project_id
):
    log_in(page, admin_credentials)
    address = open_new_record(page, project_id)
    site = page.get_by_role("combobox", name="施設 / Site")
    select = page.locator("select#f-site")
    listbox = page.get_by_role("listbox", name="施設 / Site")
    osaka_room = row(page, "osaka_room")
    expect(select).to_have_attribute("aria-hidden", "true")
    expect(select).to_have_attribute("tabindex", "-1")
    expect(osaka_room).to_be_hidden()

    # A click opens every option, drawn over the rows below and clickable there.
    site.click()
    expect(listbox.get_by_role("option")).to_have_count(4)
    listbox.get_by_role("option", name="名古屋 / Nagoya").click()
    expect(site).to_have_value("名古屋 / Nagoya")
    expect(select).to_have_value("4")
    expect(site).to_be_focused()
    site.fill("")
    site.press_sequentially("ｾﾝﾀｰ")  # half-width katakana finds センター
    expect(listbox.get_by_role("option")).to_have_text([OSAKA])
    expect(site).to_have_attribute("aria-expanded", "true")
    expect(site).to_have_attribute("aria-activedescendant", "f-site-option-0")
    site.press("Enter")
    expect(site).to_have_value(OSAKA)
    expect(select).to_have_value("2")
    expect(listbox).to_be_hidden()
    expect(site).to_have_attribute("aria-expanded", "false")
    expect(osaka_room).to_be_visible()  # the select's change reached branching logic
    assert page.url == address

    # Arrow keys move through the filtered options; Escape closes and restores.
    site.fill("")
    site.press_sequentially("ｋｙｏｔｏ")
    expect(listbox.get_by_role("option")).to_have_text(["ＫＹＯＴＯ クリニック / Kyoto Clinic"])
    site.fill("")
    site.press("ArrowDown")
    expect(site).to_have_attribute("aria-activedescendant", "f-site-option-0")
    site.press("ArrowDown")
    expect(site).to_have_attribute("aria-activedescendant", "f-site-option-1")
    site.press("ArrowUp")
    site.press("ArrowUp")
    expect(site).to_have_attribute("aria-activedescendant", "f-site-option-3")
    site.press("Escape")
    expect(site).to_have_value(OSAKA)
    expect(listbox).to_be_hidden()
    expect(select).to_have_value("2")

    # Tab takes the highlighted option, as Enter does.
    site.fill("")
    site.press_sequentially("名古")
    expect(site).to_have_attribute("aria-activedescendant", "f-site-option-0")
    site.press("Tab")
    expect(site).not_to_be_focused()
    expect(select).to_have_value("4")
    expect(osaka_room).to_be_hidden()
    site.fill("")
    site.press_sequentially("大阪")
    site.press("Enter")
    expect(select).to_have_value("2")

    # No match says so; leaving with unmatched text restores the choice.
    site.fill("札幌")
    expect(page.locator("[data-field=site] .crf-listbox-empty")).to_have_text("No matches")
    page.locator("#f-initials").click()
    expect(site).to_have_value(OSAKA)
    expect(select).to_have_value("2")
    save_and_stay(page)

    page.goto(saved(address))
    expect(site).to_have_value(OSAKA)
    expect(select).to_have_value("2")
    expect(osaka_room).to_be_visible()

    # Clearing the text and leaving clears the value, which is then saved blank.
    site.fill("")
    page.locator("#f-initials").click()
    expect(select).to_have_value("")
    expect(osaka_room).to_be_hidden()
    save_and_stay(page)
    page.goto(saved(address))
    expect(site).to_have_value("")
    expect(select).to_have_value("")


def test_enter_in_a_text_field_does_not_submit_but_makes_a_new_line_in_a_textarea(
    page, admin_credentials, project_id
):
    log_in(page, admin_credentials)
    address = open_new_record(page, project_id)
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )

    initials = page.locator("#f-initials")
    initials.fill("AB")
    initials.press("Enter")
    page.locator("#f-visit_date").fill("2026-04-01")
    page.locator("#f-visit_date").press("Enter")
    notes = page.locator("#f-notes")
    notes.fill("first")
    notes.press("Enter")
    notes.press_sequentially("second")
    expect(notes).to_have_value("first\nsecond")
    page.wait_for_timeout(300)  # a submission, had one started, would be on its way
    assert posts == []
    assert page.url == address
    expect(page.locator(".messages .alert-success")).to_have_count(0)

    # Enter on a button still presses it.
    page.get_by_role("button", name="Save & Stay").press("Enter")
    expect(page.locator(".messages .alert-success")).to_have_text(SAVED)
    expect(initials).to_have_value("AB")
    expect(notes).to_have_value("first\nsecond")


def test_tab_reaches_every_input_in_document_order(page, admin_credentials, project_id):
    log_in(page, admin_credentials)
    open_new_record(page, project_id)
    form = page.locator("#crf-entry")
    assert form.locator("[tabindex]:not([tabindex='-1']):not([tabindex='0'])").count() == 0
    # Every control a person can use, in document order, one stop per radio group.
    focusable = form.locator(
        "input:not([type=hidden]):not([tabindex='-1']):not([disabled]), "
        "select:not([tabindex='-1']), textarea, button:not([disabled])"
    ).evaluate_all(
        "(elements) => elements.filter((e) => e.getClientRects().length > 0"
        " && !(e.type === 'radio' && e !== e.form.querySelector("
        "`input[type=radio][name='${e.name}']`)))"
        ".map((e) => e.id || e.getAttribute('aria-label') || e.textContent.trim())"
    )
    expected = focusable[focusable.index("f-visit_date") :]
    page.locator("#f-visit_date").focus()
    reached = ["f-visit_date"]
    for _ in range(len(expected) - 1):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return e.id || e.getAttribute('aria-label') || e.textContent.trim(); }"
            )
        )
    assert reached == expected
    assert expected[:12] == [
        "f-visit_date",
        "Open calendar",
        "Today",
        "f-seen_at",
        "Open calendar",
        "Now",
        "f-dose_time",
        "Open calendar",
        "Now",
        "f-enrolled_on",
        "f-site-combo",
        "f-initials",
    ]
    assert expected[-4:] == [
        "crf-reason",
        "Save & Stay",
        "Save & Exit Form",
        "Save & Go To Next Form",
    ]


@pytest.mark.parametrize("viewport", TABLETS)
def test_the_form_fits_a_tablet_with_reachable_buttons_and_large_enough_choices(
    browser, server_url, admin_credentials, project_id, viewport
):
    context = new_context(browser, server_url, viewport=viewport, has_touch=True)
    try:
        page = context.new_page()
        log_in(page, admin_credentials)
        open_new_record(page, project_id)
        page.locator("[data-field=site]").scroll_into_view_if_needed()
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], widths
        sizes = page.locator("#crf-entry input[type=radio], #crf-entry input[type=checkbox]")
        boxes = sizes.evaluate_all(
            "(inputs) => inputs.filter((i) => i.getClientRects().length > 0)"
            ".map((i) => [i.id, i.getBoundingClientRect().width, i.getBoundingClientRect().height])"
        )
        # visit_checked stays hidden by its branching logic until a visit date is entered.
        assert [box[0] for box in boxes] == [
            "f-sex-0",
            "f-sex-1",
            "f-symptoms-0",
            "f-symptoms-1",
            "f-symptoms-2",
        ]
        assert [name for name, width, height in boxes if width < 24 or height < 24] == []

        page.get_by_label("女性 / Female").tap()
        expect(page.get_by_label("女性 / Female")).to_be_checked()
        save = page.get_by_role("button", name="Save & Stay")
        save.scroll_into_view_if_needed()
        expect(save).to_be_in_viewport()
        for name in ("Save & Exit Form", "Save & Go To Next Form"):
            expect(page.get_by_role("button", name=name)).to_be_in_viewport()
        save.tap()
        expect(page.locator(".messages .alert-success")).to_have_text(SAVED)
        expect(page.get_by_label("女性 / Female")).to_be_checked()
    finally:
        context.close()


def test_the_instrument_preview_offers_the_same_widgets(page, admin_credentials, project_id):
    page.clock.set_fixed_time(FIXED_NOW)
    log_in(page, admin_credentials)
    page.goto(f"/projects/{project_id}/design/instruments/visit/")
    preview = page.locator("div.crf")
    preview.locator("[data-field=visit_date]").get_by_role("button", name="Today").click()
    expect(preview.locator("#f-visit_date")).to_have_value("2026-04-01")
    site = preview.get_by_role("combobox", name="施設 / Site")
    site.press_sequentially("名古屋")
    site.press("Enter")
    expect(preview.locator("select#f-site")).to_have_value("4")


def test_without_show_picker_the_calendar_button_shows_and_focuses_the_native_input(
    page, admin_credentials, project_id
):
    page.add_init_script("delete HTMLInputElement.prototype.showPicker")
    log_in(page, admin_credentials)
    open_new_record(page, project_id)
    picker = row(page, "visit_date").locator(".crf-picker")
    page.locator("#f-visit_date").fill("2024-02-29")
    row(page, "visit_date").get_by_role("button", name="Open calendar").click()
    expect(picker).to_be_focused()
    expect(picker).to_have_value("2024-02-29")
    expect(picker).not_to_have_attribute("aria-hidden", "true")
    page.keyboard.press("ArrowUp")  # the month segment is focused first in en-US
    expect(page.locator("#f-visit_date")).to_have_value("2024-03-29")
    page.locator("#f-initials").click()
    expect(picker).to_have_attribute("aria-hidden", "true")
    expect(picker).not_to_have_class(re.compile("crf-picker-shown"))
