"""Request-wide guards: the size of form-encoded page requests."""

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

    assert (refused.status_code, refused.content) == (413, b"The request is too large.")
    assert allowed.status_code != 413
