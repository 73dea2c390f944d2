"""Live piping and image previews in Chromium against a real server.

A classic project with one form: labels that pipe a text field, a radio, a checkbox and a
calculation from the same form update as a person types and chooses; an uploaded PNG shows as
a thumbnail under its link after saving, served inline by the preview view.
"""

from __future__ import annotations

import csv
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_journeys import create_project, log_in, open_dictionary_page

pytestmark = pytest.mark.browser

HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
ROWS = [
    ["record_id", "greeting", "", "text", "Record ID", "", "", ""],
    ["first_name", "greeting", "", "text", "First name", "", "", ""],
    ["hello", "greeting", "", "descriptive", "Hello [first_name]", "", "", ""],
    ["colour", "greeting", "", "radio", "Colour for [first_name]", "1, Red | 2, Green", "", ""],
    ["agree", "greeting", "", "radio", "Agreed?", "1, [first_name] agrees | 0, No", "", ""],
    ["chosen", "greeting", "", "descriptive", "You chose [colour] ([colour:value])", "", "", ""],
    ["meds", "greeting", "", "checkbox", "Medicines", "a, Aspirin | b, Beta", "", ""],
    ["taking", "greeting", "", "descriptive", "Taking [meds]; not [meds:unchecked]", "", "", ""],
    ["weight", "greeting", "", "text", "Weight", "", "", "number"],
    ["double", "greeting", "", "calc", "Double", "[weight]*2", "", ""],
    ["shown", "greeting", "", "descriptive", "Double is [double]", "", "", ""],
    ["photo", "greeting", "", "file", "Photo", "", "Photo of [first_name]", ""],
]


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG the browser can decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def upload_dictionary(page: Any, project_id: int, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(row + [""] * (len(HEADER) - len(row)) for row in ROWS)
    open_dictionary_page(page, project_id)
    page.get_by_label("Data dictionary (CSV)").set_input_files(str(path))
    page.get_by_role("button", name="Check and preview").click()
    expect(page.get_by_test_id("dictionary-ok")).to_be_visible()
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.get_by_role("status")).to_contain_text("was saved as revision 1.")


def open_new_record(page: Any, project_id: int) -> Any:
    page.get_by_role("navigation", name="Project pages").get_by_role(
        "link", name="Record Status Dashboard", exact=True
    ).click()
    page.get_by_role("button", name="Add new record").click()
    new = r"\?new=1&arm=1&auto=1$"
    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/records/1/.+/greeting/1/" + new))
    # The form's modules listen from DOMContentLoaded on; typing sooner reaches no listener.
    page.wait_for_load_state("load")
    return page.locator("#crf-entry")


def label_of(form: Any, field: str) -> Any:
    return form.locator(f"[data-field={field}] .crf-label")


def test_labels_pipe_fields_of_the_form_as_they_change(page, admin_credentials, tmp_path):
    log_in(page, admin_credentials)
    project_id = create_project(page, "Piping study", longitudinal=False)
    upload_dictionary(page, project_id, tmp_path / "dictionary.csv")
    form = open_new_record(page, project_id)

    expect(label_of(form, "hello")).to_have_text("Hello ______")
    form.locator("#f-first_name").press_sequentially("Ada<b>")
    expect(label_of(form, "hello")).to_have_text("Hello Ada<b>")
    expect(label_of(form, "colour")).to_have_text("Colour for Ada<b>")
    expect(form.locator("[data-field=photo] .crf-note")).to_have_text("Photo of Ada<b>")
    expect(form.locator("[data-field=agree] .form-check-label").first).to_have_text("Ada<b> agrees")
    assert form.locator("[data-field=hello] b").count() == 0
    form.locator("#f-first_name").fill("")
    expect(label_of(form, "hello")).to_have_text("Hello ______")

    expect(label_of(form, "chosen")).to_have_text("You chose ______ (______)")
    form.get_by_label("Green").check()
    expect(label_of(form, "chosen")).to_have_text("You chose Green (2)")
    form.get_by_label("Red").check()
    expect(label_of(form, "chosen")).to_have_text("You chose Red (1)")

    expect(label_of(form, "taking")).to_have_text("Taking ______; not Aspirin, Beta")
    form.get_by_label("Beta").check()
    expect(label_of(form, "taking")).to_have_text("Taking Beta; not Aspirin")

    form.locator("#f-weight").fill("21")
    expect(form.locator("#f-double")).to_have_value("42")
    expect(label_of(form, "shown")).to_have_text("Double is 42")

    # After saving, the server pipes the stored values the same way.
    form.locator("#f-first_name").fill("Bea")
    page.get_by_role("button", name="Save & Stay").click()
    expect(page.locator(".messages .alert-success")).to_have_text("Your changes were saved.")
    expect(label_of(form, "hello")).to_have_text("Hello Bea")
    expect(label_of(form, "chosen")).to_have_text("You chose Red (1)")
    expect(label_of(form, "taking")).to_have_text("Taking Beta; not Aspirin")
    expect(label_of(form, "shown")).to_have_text("Double is 42")


def test_an_uploaded_png_shows_as_a_thumbnail_under_its_link(page, admin_credentials, tmp_path):
    log_in(page, admin_credentials)
    project_id = create_project(page, "Preview study", longitudinal=False)
    upload_dictionary(page, project_id, tmp_path / "dictionary.csv")
    form = open_new_record(page, project_id)
    image = tmp_path / "wide photo.png"
    image.write_bytes(tiny_png(600, 20))

    form.locator("#f-photo").set_input_files(str(image))
    page.get_by_role("button", name="Save & Stay").click()
    expect(page.locator(".messages .alert-success")).to_have_text("Your changes were saved.")

    thumbnail = form.get_by_role("img", name="Preview of wide photo.png")
    expect(thumbnail).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=preview-photo]').naturalWidth === 600"
    )
    box = thumbnail.bounding_box()
    assert box is not None and box["width"] <= 240
    link = form.locator("a.crf-file-preview")
    expect(link).to_have_attribute("target", "_blank")
    link.focus()
    expect(link).to_be_focused()

    response = page.request.get(thumbnail.get_attribute("src"))
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"].startswith('inline; filename="wide photo.png"')
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert response.body() == image.read_bytes()
