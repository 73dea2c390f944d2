"""In Chromium, on the demo study: the codebook's search, PDFs of a blank instrument and of a
filled record, and a copy of the project with its records.

Screenshots of the codebook and the copy page in English and Japanese are kept in the test's
temporary folder (printed), for a person to look at.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

STATE = """
import json
from opencrf.audit.models import AuditEvent
from opencrf.projects.models import Project
from opencrf.records.models import Record
print(json.dumps([
    {"id": p.pk, "title": p.title,
     "records": Record.objects.filter(project=p).count(),
     "copied": AuditEvent.objects.filter(project_id=p.pk, source="system",
                                         reason__startswith="copied from project").count()}
    for p in Project.objects.order_by("id")]))
"""


def projects(data_dir: str) -> list[dict[str, Any]]:
    return json.loads(
        run_opencrf(data_dir, "manage", "shell", "-c", STATE).strip().splitlines()[-1]
    )


@pytest.fixture(scope="module")
def demo_id(server_data_dir: str) -> int:
    run_opencrf(server_data_dir, "demo")
    return next(p["id"] for p in projects(server_data_dir) if "WALK-DM" in p["title"])


def pdf_text(path: str) -> str:
    reader = PdfReader(io.BytesIO(Path(path).read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_codebook_filters_as_one_types(
    page: Any, admin_credentials: tuple[str, str], demo_id: int, tmp_path: Path
) -> None:
    log_in(page, admin_credentials)
    page.goto(f"/projects/{demo_id}/design/codebook/")
    fields = page.locator("[data-codebook-field]")
    total = fields.count()
    assert total > 60
    page.screenshot(path=str(tmp_path / "codebook-en.png"), full_page=False)
    page.get_by_label("Search the codebook").fill("hba1c")
    visible = page.locator("[data-codebook-field]:visible")
    expect(visible.first).to_be_visible()
    names = visible.evaluate_all("rows => rows.map(r => r.dataset.codebookField)")
    assert names and all(
        "hba1c" in page.locator(f"[data-codebook-field='{n}']").get_attribute("data-search")
        for n in names
    )
    assert len(names) < total
    page.get_by_label("Search the codebook").fill("no-such-thing-anywhere")
    expect(page.get_by_test_id("codebook-none")).to_be_visible()
    # Without the script's help, the server's search gives the same fields.
    page.goto(f"/projects/{demo_id}/design/codebook/?q=hba1c")
    assert page.locator("[data-codebook-field]").count() == len(names)
    # Printed, the page is the codebook alone.
    page.emulate_media(media="print")
    expect(page.locator(".project-nav")).to_be_hidden()
    expect(page.get_by_test_id("codebook-search")).to_be_hidden()
    expect(page.locator("[data-codebook-field]").first).to_be_visible()
    print(f"Screenshots in {tmp_path}")


def test_a_blank_and_a_filled_pdf_download(
    page: Any, admin_credentials: tuple[str, str], demo_id: int
) -> None:
    log_in(page, admin_credentials)
    page.goto(f"/projects/{demo_id}/design/instruments/enrolment/")
    with page.expect_download() as blank_info:
        page.get_by_test_id("pdf-blank").click()
    blank = pdf_text(blank_info.value.path())
    assert "同意取得日" in blank  # PDFs are in the base language (Japanese)
    page.goto(f"/projects/{demo_id}/records/1-1/")
    with page.expect_download() as filled_info:
        page.get_by_test_id("record-pdf").click()
    filled = pdf_text(filled_info.value.path())
    assert "Record 1-1" in filled
    assert filled_info.value.suggested_filename.endswith(".pdf")


def test_a_project_is_copied_with_its_records(
    page: Any,
    admin_credentials: tuple[str, str],
    demo_id: int,
    server_data_dir: str,
    tmp_path: Path,
) -> None:
    log_in(page, admin_credentials)
    page.goto("/projects/new/")
    page.get_by_role("link", name="Copy a project").click()
    page.get_by_label("Project to copy").select_option(str(demo_id))
    page.get_by_label("Title of the new project").fill("Copied demo study")
    page.get_by_label("Records and their data (with uploaded files)").check()
    page.get_by_label("Data access groups").check()
    page.screenshot(path=str(tmp_path / "copy-en.png"), full_page=True)
    page.get_by_role("button", name="Copy project").click()
    expect(page.get_by_test_id("project-title")).to_have_text("Copied demo study")
    copy = next(p for p in projects(server_data_dir) if p["title"] == "Copied demo study")
    source = next(p for p in projects(server_data_dir) if p["id"] == demo_id)
    assert copy["records"] == source["records"] == 12
    assert copy["copied"] > 0


def test_the_pages_read_in_japanese(
    page: Any,
    browser: Any,
    server_url: str,
    admin_credentials: tuple[str, str],
    demo_id: int,
    tmp_path: Path,
) -> None:
    log_in(page, admin_credentials)  # in English, then the same session in a Japanese browser
    context = browser.new_context(
        base_url=server_url, locale="ja-JP", viewport={"width": 1366, "height": 900}
    )
    context.add_cookies(page.context.cookies())
    page = context.new_page()
    try:
        page.goto(f"/projects/{demo_id}/design/codebook/")
        page.screenshot(path=str(tmp_path / "codebook-ja.png"))
        page.goto("/projects/new/copy/")
        page.screenshot(path=str(tmp_path / "copy-ja.png"), full_page=True)
        page.goto("/projects/new/template/")
        page.screenshot(path=str(tmp_path / "template-ja.png"), full_page=True)
        page.goto(f"/projects/{demo_id}/delete/")
        page.screenshot(path=str(tmp_path / "delete-ja.png"), full_page=True)
        assert page.locator("html").get_attribute("lang") == "ja"
        print(f"Screenshots in {tmp_path}")
    finally:
        context.close()
