"""A required file field left without a file is warned about on save, like any required field."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opencrf.audit.services import AuditContext
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.files.models import StoredFile
from opencrf.files.tests import samples
from opencrf.projects.services import project_create
from opencrf.records.models import FormData
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db

ROWS = [
    FieldRow(field_name="record_id", form_name="visit"),
    FieldRow(field_name="initials", form_name="visit", field_label="Initials", required_field="y"),
    FieldRow(
        field_name="scan",
        form_name="visit",
        field_type="file",
        field_label="Consent scan",
        required_field="y",
    ),
    FieldRow(field_name="photo", form_name="visit", field_type="file"),
]
SCAN_WARNING = "Consent scan: A value is required."
INITIALS_WARNING = "Initials: A value is required."


@pytest.fixture
def context(pi_paula):
    return AuditContext(actor=pi_paula, source="web")


@pytest.fixture
def project(context):
    project = project_create(context=context, title="Consented")
    dictionary_apply(context=context, project=project, rows=ROWS, source="upload")
    return project


@pytest.fixture
def record(project, context):
    return record_create(context=context, project=project, record_id="1")


def page_url(project):
    return reverse("records:form", args=[project.pk, "1", "event_1_arm_1", "visit", 1])


def post(client, project, **extra):
    page = client.get(page_url(project))
    data = {
        "base_version": page.context["base_version"],
        "base_values": page.context["base_values"],
        "initials": "AL",
        "reason": "",
        "action": "stay",
        **extra,
    }
    return client.post(page_url(project), data)


def warnings_of(client, response):
    """The warning summary of the form page the save led back to."""
    page = client.get(response["Location"])
    return [f"{label}: {message}" for label, _anchor, message in page.context["warnings"]]


def png(name="scan.png"):
    return SimpleUploadedFile(name, samples.PNG, content_type="image/png")


def test_the_service_warns_about_a_required_file_field_without_a_file(project, record, context):
    result = form_save(
        context=context,
        record=record,
        event=project.events.get(),
        form_name="visit",
        values={"initials": "", "photo": ""},
        base_version=0,
    )

    assert [(w.field, w.rule) for w in result.warnings] == [
        ("initials", "required"),
        ("scan", "required"),
    ]


def test_a_required_file_field_left_empty_is_listed_and_the_form_saved(
    client, pi_paula, project, record
):
    client.force_login(pi_paula)

    response = post(client, project)

    assert response.status_code == 302
    assert warnings_of(client, response) == [SCAN_WARNING]
    assert FormData.objects.get(record=record).values == {"initials": "AL"}


def test_it_is_listed_with_the_other_required_fields_left_blank(client, pi_paula, project, record):
    client.force_login(pi_paula)

    response = post(client, project, initials="")

    assert response.status_code == 302
    assert warnings_of(client, response) == [INITIALS_WARNING, SCAN_WARNING]


def test_a_file_uploaded_with_the_save_answers_it(client, pi_paula, project, record):
    client.force_login(pi_paula)

    response = post(client, project, scan=png())

    assert response.status_code == 302
    assert warnings_of(client, response) == []
    stored = StoredFile.objects.get()
    assert FormData.objects.get(record=record).values == {"initials": "AL", "scan": str(stored.pk)}


def test_a_stored_file_answers_it_on_later_saves(client, pi_paula, project, record):
    client.force_login(pi_paula)
    post(client, project, scan=png())

    response = post(client, project, initials="AB", reason="typo")

    assert response.status_code == 302
    assert warnings_of(client, response) == []


def test_removing_the_file_of_a_required_field_lists_it(client, pi_paula, project, record):
    client.force_login(pi_paula)
    post(client, project, scan=png())
    stored = StoredFile.objects.get()

    response = post(client, project, scan__remove="1", reason="wrong patient")

    assert response.status_code == 302
    assert warnings_of(client, response) == [SCAN_WARNING]
    assert FormData.objects.get(record=record).values == {"initials": "AL"}
    stored.refresh_from_db()
    assert stored.deleted_at is not None


def test_an_optional_file_field_left_empty_is_not_listed(client, pi_paula, project, record):
    client.force_login(pi_paula)

    response = post(client, project, scan=png(), photo="")

    assert warnings_of(client, response) == []


def test_blank_required_fields_give_one_summary_linking_to_marked_fields(
    client, pi_paula, project, record
):
    client.force_login(pi_paula)

    response = post(client, project, initials="", action="exit")
    page = client.get(response["Location"]).content.decode()
    again = client.get(response["Location"]).content.decode()

    assert response["Location"] == page_url(project)  # back to the form first, as REDCap does
    assert page.count('data-testid="warning-summary"') == 1
    assert '<a class="alert-link" href="#f-initials" data-focus="f-initials">Initials</a>' in page
    assert '<a class="alert-link" href="#f-scan" data-focus="f-scan">Consent scan</a>' in page
    home = reverse("records:home", args=[project.pk, "1"])
    assert f'href="{home}" data-testid="leave-anyway"' in page
    assert (
        'name="initials" value="" aria-invalid="true" aria-describedby="warning-initials"' in page
    )
    assert 'name="scan" aria-invalid="true" aria-describedby="warning-scan"' in page
    assert page.count("A value is required.") == 4  # in the summary and next to each field
    assert 'id="warning-initials" data-testid="field-warning"' in page
    assert "is required but has no value" not in page  # no banner per field any more
    assert 'data-testid="warning-summary"' not in again  # shown once, after the save


def test_a_save_without_warnings_goes_where_its_button_says(client, pi_paula, project, record):
    client.force_login(pi_paula)

    response = post(client, project, scan=png(), action="exit")

    assert response["Location"] == reverse("records:home", args=[project.pk, "1"])
