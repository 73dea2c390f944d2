"""Instruments as PDF in the browser: blank, one record, every record — with REDCap's rights."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from opencrf.projects.models import ProjectMember
from opencrf.records.pdf_pages import REMOVED
from opencrf.records.services import record_create_with_form

pytestmark = pytest.mark.django_db


def text_of(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def pages_of(body: bytes) -> int:
    return len(PdfReader(io.BytesIO(body)).pages)


@pytest.fixture
def screened(salt_rct, paula_context, events, groups):
    """Two screened records: 1-1 at Osaka, 2-1 at Kyoto North."""
    for record_id, group, initials in (
        ("1-1", "osaka_central", "OS"),
        ("2-1", "kyoto_north", "KY"),
    ):
        record, _result = record_create_with_form(
            context=paula_context,
            project=salt_rct,
            record_id=record_id,
            arm=None,
            event=events["screening_arm_1"],
            form_name="screening",
            values={"initials": initials, "sex": "2", "dob": "1970-01-02"},
        )
        record.group = groups[group]
        record.save(update_fields=["group"])
    return salt_rct


def _member(project, user, **rights):
    return ProjectMember.objects.create(project=project, user=user, **rights)


def test_a_blank_instrument_prints_its_japanese_labels(client, pi_paula, salt_rct):
    client.force_login(pi_paula)
    url = reverse("records:pdf_blank", args=[salt_rct.pk]) + "?form=screening"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = text_of(response.content)
    assert "イニシャル / Initials" in text
    assert "男性 / Male" in text
    assert pages_of(response.content) == 1


def test_a_member_without_design_prints_only_forms_they_may_see(client, site_b_bea, salt_rct):
    _member(salt_rct, site_b_bea, form_rights={"screening": "read"})
    client.force_login(site_b_bea)
    all_blank = client.get(reverse("records:pdf_blank", args=[salt_rct.pk]))
    assert pages_of(all_blank.content) == 1
    hidden = reverse("records:pdf_blank", args=[salt_rct.pk]) + "?form=baseline"
    assert client.get(hidden).status_code == 404


def test_a_non_member_gets_not_found(client, site_b_bea, screened):
    client.force_login(site_b_bea)
    assert client.get(reverse("records:pdf_blank", args=[screened.pk])).status_code == 404
    assert client.get(reverse("records:pdf_record", args=[screened.pk, "1-1"])).status_code == 404


def test_a_filled_record_shows_its_values(client, pi_paula, screened):
    client.force_login(pi_paula)
    response = client.get(reverse("records:pdf_record", args=[screened.pk, "1-1"]))
    text = text_of(response.content)
    assert response.status_code == 200
    assert "Record 1-1" in text and "OS" in text and "1970-01-02" in text
    assert "■ 女性 / Female" in text


def test_a_record_of_another_group_is_not_found(client, site_b_bea, screened, groups):
    forms = dict.fromkeys(screened.instruments.values_list("name", flat=True), "edit")
    exports = dict.fromkeys(forms, "full")
    _member(
        screened, site_b_bea, group=groups["kyoto_north"], form_rights=forms, export_rights=exports
    )
    client.force_login(site_b_bea)
    assert client.get(reverse("records:pdf_record", args=[screened.pk, "1-1"])).status_code == 404
    every = client.get(reverse("records:pdf_all", args=[screened.pk]))
    text = text_of(every.content)
    assert "Record 2-1" in text and "Record 1-1" not in text
    assert pages_of(every.content) == 1


def test_remove_identifiers_rights_keep_dates_and_free_text(client, site_b_bea, screened):
    forms = dict.fromkeys(screened.instruments.values_list("name", flat=True), "read")
    exports = {"screening": "remove_identifiers"}
    _member(screened, site_b_bea, form_rights=forms, export_rights=exports)
    client.force_login(site_b_bea)
    text = text_of(client.get(reverse("records:pdf_record", args=[screened.pk, "1-1"])).content)
    assert "OS" not in text and "1970-01-02" not in text
    assert text.count(REMOVED) == 2


def test_de_identified_rights_print_identifiers_as_removed(client, site_b_bea, screened):
    forms = dict.fromkeys(screened.instruments.values_list("name", flat=True), "read")
    _member(screened, site_b_bea, form_rights=forms, export_rights={"screening": "deidentified"})
    client.force_login(site_b_bea)
    text = text_of(client.get(reverse("records:pdf_record", args=[screened.pk, "1-1"])).content)
    assert "OS" not in text and "1970-01-02" not in text
    # Identifiers (initials, date of birth), dates (consent) and free text (reason) go.
    assert text.count(REMOVED) == 4
    assert "■ 女性 / Female" in text


def test_no_export_right_leaves_the_form_out(client, site_b_bea, screened):
    forms = dict.fromkeys(screened.instruments.values_list("name", flat=True), "read")
    _member(screened, site_b_bea, form_rights=forms, export_rights={"screening": "none"})
    client.force_login(site_b_bea)
    url = reverse("records:pdf_record", args=[screened.pk, "1-1"])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("records:home", args=[screened.pk, "1-1"])


def test_too_many_forms_are_refused_with_the_limit_named(client, pi_paula, screened, monkeypatch):
    monkeypatch.setattr("opencrf.records.pdf_pages.MAX_FORMS", 1)
    client.force_login(pi_paula)
    response = client.get(reverse("records:pdf_all", args=[screened.pk]), follow=True)
    assert "A PDF holds at most 1 forms" in response.content.decode()


def test_hostile_values_stay_text(client, pi_paula, screened, events, paula_context):
    record_create_with_form(
        context=paula_context,
        project=screened,
        record_id="9",
        arm=None,
        event=events["baseline_arm_1"],
        form_name="baseline",
        values={"baseline_notes": "<b>bold</b> & <script>x</script>"},
    )
    client.force_login(pi_paula)
    url = reverse("records:pdf_record", args=[screened.pk, "9"]) + "?form=baseline"
    assert "<b>bold</b> & <script>x</script>" in text_of(client.get(url).content)


def test_the_record_and_preview_pages_link_their_pdfs(client, pi_paula, screened):
    client.force_login(pi_paula)
    home = client.get(reverse("records:home", args=[screened.pk, "1-1"])).content.decode()
    assert reverse("records:pdf_record", args=[screened.pk, "1-1"]) in home
    preview = client.get(reverse("dictionary:instrument", args=[screened.pk, "screening"]))
    assert reverse("records:pdf_blank", args=[screened.pk]) + "?form=screening" in (
        preview.content.decode()
    )
