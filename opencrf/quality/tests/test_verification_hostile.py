"""Source data verification refuses, and changes nothing, without the right, for another site's
record, for a field the form does not have, without a CSRF token, or for a form saved since."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from opencrf.audit.models import AuditEvent

from . import verification_world as world
from .verification_world import marks, sdv_audit, stored, unverify_url, verify, verify_url

verifier = world.verifier  # fixtures
site_b_bea = world.site_b_bea

pytestmark = pytest.mark.django_db


PER_RESPONSE = re.compile(
    rb'(name="csrfmiddlewaretoken" value|name="next" value|nonce|data-session-seconds)="[^"]*"'
)


def body(response):
    return PER_RESPONSE.sub(rb'\1=""', response.content)


def nothing_changed(demo):
    return marks(demo) == [] and sdv_audit(demo) == []


def messages_of(client, demo, record_id="1-1"):
    return [str(m) for m in client.get(world.form_url(demo, record_id)).context["messages"]]


def test_a_site_user_without_the_right_is_refused(client, demo, site_a_sam):
    client.force_login(site_a_sam)

    response = verify(client, demo)
    page = client.get(unverify_url(demo))

    assert response.status_code == 403
    assert "You do not have the source data verification right." in response.content.decode()
    assert page.status_code == 403
    assert nothing_changed(demo)


def test_another_sites_record_is_a_missing_record(client, demo, site_b_bea):
    client.force_login(site_b_bea)
    version = stored(demo, "1-1").version

    theirs = verify(client, demo, "1-1", version=version)
    missing = client.post(
        verify_url(demo, "no-such-record"), {"sdv_field": "", "base_version": str(version)}
    )
    theirs_page = client.get(unverify_url(demo, "1-1"))
    missing_page = client.get(unverify_url(demo, "no-such-record"))

    assert theirs.status_code == missing.status_code == 404
    assert body(theirs) == body(missing)
    assert theirs_page.status_code == missing_page.status_code == 404
    assert body(theirs_page) == body(missing_page)
    assert nothing_changed(demo)


def test_a_monitor_of_one_site_verifies_that_sites_records(client, demo, site_b_bea):
    client.force_login(site_b_bea)

    response = verify(client, demo, "2-1")

    assert response.status_code == 302
    assert marks(demo) == [("2-1", "enrolment", "", True)]


@pytest.mark.parametrize(
    ("field", "why"),
    [
        ("no_such_field", "a made-up name"),
        ("height", "a field of another form"),
        ("incl___1", "a checkbox option's column, not a field"),
        ('"><script>alert(1)</script>', "an injection string"),
    ],
)
def test_a_forged_field_name_is_refused_with_its_name(client, demo, verifier, field, why):
    client.force_login(verifier)

    response = verify(client, demo, field=field)

    assert response.status_code == 302
    assert messages_of(client, demo) == [
        f"Form enrolment has no field {field} to verify; nothing was changed."
    ]
    assert nothing_changed(demo), why


def test_the_injection_string_is_shown_escaped(client, demo, verifier):
    client.force_login(verifier)
    verify(client, demo, field="<b>bold</b>")

    text = client.get(world.form_url(demo)).content.decode()

    assert "no field &lt;b&gt;bold&lt;/b&gt; to verify" in text
    assert "<b>bold</b>" not in text


def test_a_descriptive_field_holds_nothing_to_verify(client, demo, verifier):
    client.force_login(verifier)
    place = ("baseline_arm_1", "baseline", 1)

    verify(client, demo, field="anthro_info", place=place)

    assert nothing_changed(demo)


def test_a_form_saved_since_the_page_was_read_is_not_verified(client, demo, verifier):
    client.force_login(verifier)
    version = stored(demo).version

    stale = verify(client, demo, version=version - 1 if version > 1 else version + 1)
    forged = client.post(verify_url(demo), {"sdv_field": "", "base_version": "x' OR 1=1"})

    assert stale.status_code == forged.status_code == 302
    assert (
        messages_of(client, demo)
        == [
            "The form was saved again since you opened it; read it again before verifying. "
            "Nothing was verified."
        ]
        * 2
    )
    assert nothing_changed(demo)


def test_a_post_without_a_csrf_token_is_refused(demo, verifier):
    client = Client(enforce_csrf_checks=True)
    client.force_login(verifier)
    before = AuditEvent.objects.count()

    response = verify(client, demo)
    taken_back = client.post(unverify_url(demo), {"reason": "x"})

    assert response.status_code == taken_back.status_code == 403
    assert AuditEvent.objects.count() == before
    assert marks(demo) == []


def test_verify_answers_only_post(client, demo, verifier):
    client.force_login(verifier)

    assert client.get(verify_url(demo)).status_code == 405
    assert nothing_changed(demo)


def test_un_verifying_needs_a_reason_and_changes_nothing_without_one(client, demo, verifier):
    client.force_login(verifier)
    verify(client, demo)

    response = client.post(unverify_url(demo), {"field": "", "reason": "   "})

    assert response.status_code == 400
    assert "Give a reason for un-verifying; nothing was changed." in response.content.decode()
    assert marks(demo) == [("1-1", "enrolment", "", True)]
    assert [row[0] for row in sdv_audit(demo)] == ["verification.verify"]


def test_un_verifying_what_is_not_verified_is_refused(client, demo, verifier):
    client.force_login(verifier)

    response = client.post(unverify_url(demo), {"field": "sex", "reason": "Tidy up"})

    assert response.status_code == 400
    assert "This is not verified; nothing was changed." in response.content.decode()
    assert nothing_changed(demo)


def test_a_form_without_saved_data_cannot_be_verified(client, demo, verifier):
    client.force_login(verifier)
    place = ("week_12_arm_1", "visit", 1)

    response = verify(client, demo, "1-4", place=place, version=1)

    assert response.status_code == 404
    assert nothing_changed(demo)
