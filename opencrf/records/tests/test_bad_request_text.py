"""A NUL character or invalid UTF-8 anywhere in a page request is refused with 400 (issue 13).

On PostgreSQL a NUL in a record id, a search or a form value used to give a server error; on
SQLite it was stored. Both now refuse it before any view runs, and nothing is written. The
contents of uploaded files are never checked: a PNG holds NUL bytes.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from opencrf.files.models import StoredFile
from opencrf.records.services import record_create
from opencrf.records.tests.conftest import snapshot
from opencrf.records.tests.test_files import FORM, PNG, form_url, png, post_form, stored_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(salt_rct, paula_context, groups):
    return record_create(
        context=paula_context, project=salt_rct, record_id="7", group=groups["osaka_central"]
    )


def refusal(response) -> tuple[int, str]:
    return response.status_code, response.content.decode()


def test_a_nul_in_a_record_id_in_the_address_is_refused(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)

    response = client.get(f"/projects/{salt_rct.pk}/records/7%00x/")

    assert refusal(response) == (
        400,
        "The address contains a NUL character, which is not accepted.",
    )


def test_invalid_utf8_in_the_address_stays_percent_encoded_and_finds_nothing(
    client, pi_paula, salt_rct, record
):
    client.force_login(pi_paula)

    response = client.get(f"/projects/{salt_rct.pk}/records/7%FF/")

    assert response.status_code == 404


def test_a_nul_in_the_dashboard_search_is_refused(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    dashboard = reverse("records:dashboard", args=[salt_rct.pk])

    searched = client.get(dashboard, {"search": "7\x00"})
    broken = client.get(dashboard + "?search=%C3")

    assert refusal(searched) == (
        400,
        "The field “search” in the query string contains a NUL character, which is not accepted.",
    )
    assert refusal(broken) == (400, "The query string is not valid UTF-8 text.")
    assert client.get(dashboard, {"search": "7"}).status_code == 200


def test_a_nul_in_a_form_value_is_refused_and_nothing_is_saved(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    before = snapshot(salt_rct)

    response = post_form(client, salt_rct, sbp="12\x000")

    assert refusal(response) == (
        400,
        "The field “sbp” in the form contains a NUL character, which is not accepted.",
    )
    assert snapshot(salt_rct) == before


def test_invalid_utf8_in_a_multipart_form_field_is_refused_not_replaced(
    client, pi_paula, salt_rct, record
):
    client.force_login(pi_paula)
    before = snapshot(salt_rct)
    boundary = "BoUnDaRy"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="visit_date"\r\n\r\n'.encode()
        + b"2026-05-0\xff"
        + f"\r\n--{boundary}--\r\n".encode()
    )

    response = client.post(
        form_url(salt_rct), body, content_type=f"multipart/form-data; boundary={boundary}"
    )

    assert refusal(response) == (400, "The form is not valid UTF-8 text.")
    assert snapshot(salt_rct) == before


def test_invalid_utf8_in_a_form_encoded_body_is_refused(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    before = snapshot(salt_rct)

    response = client.post(
        form_url(salt_rct),
        "visit_date=2026-05-01&sbp=%FF",
        content_type="application/x-www-form-urlencoded",
    )

    assert refusal(response) == (400, "The form is not valid UTF-8 text.")
    assert snapshot(salt_rct) == before


def test_a_nul_in_a_login_form_is_refused_before_any_lookup():
    client = Client()

    response = client.post("/accounts/login/", {"username": "pi\x00paula", "password": "x"})

    assert response.status_code == 400


def test_an_uploaded_file_holding_nul_bytes_is_stored_unchanged(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    assert b"\x00" in PNG

    response = post_form(client, salt_rct, ecg_image=png())

    assert response.status_code == 302
    stored = StoredFile.objects.get()
    assert stored.size == len(PNG)
    assert stored_form(record).values["ecg_image"] == str(stored.pk)
    assert stored_form(record).form_name == FORM
