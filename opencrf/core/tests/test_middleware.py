"""Request-wide guards: the size of page requests, refused with the limit named."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_form_encoded_page_request_over_the_form_limit_is_refused_unread(client, settings):
    settings.OPENCRF_FORM_MAX_BYTES = 100

    refused = client.post(
        "/accounts/login/",
        "username=" + "x" * 200,
        content_type="application/x-www-form-urlencoded",
    )
    allowed = client.post(
        "/accounts/login/", "username=x", content_type="application/x-www-form-urlencoded"
    )

    assert (refused.status_code, refused.content) == (
        413,
        b"The request is too large: a page accepts at most 100 bytes of form fields.",
    )
    assert allowed.status_code != 413


def test_the_form_limit_refusal_names_the_limit(client, settings):
    settings.OPENCRF_FORM_MAX_BYTES = 2_097_152

    refused = client.post(
        "/accounts/login/",
        "username=" + "x" * 2_100_000,
        content_type="application/x-www-form-urlencoded",
    )

    assert (refused.status_code, refused.content.decode()) == (
        413,
        "The request is too large: a page accepts at most 2,097,152 bytes of form fields.",
    )


def test_a_multipart_page_request_over_djangos_field_limit_is_refused_naming_the_limit(
    client, settings
):
    # A data entry form is multipart: a note longer than this limit reaches Django's own
    # check, which answered a bare "Bad Request (400)" naming nothing.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    refused = client.post("/accounts/login/", {"username": "x" * 2000, "password": "y"})

    assert (refused.status_code, refused.content.decode()) == (
        413,
        "The request is too large: a page accepts at most 1,000 bytes of form fields.",
    )
