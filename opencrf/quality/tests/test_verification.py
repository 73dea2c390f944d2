"""Source data verification: a monitor verifies a form or a field; a later change of a verified
value, by any path, makes the mark no longer valid, and the page and the audit trail say so."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from opencrf.audit.services import AuditContext
from opencrf.projects.models import ProjectMember
from opencrf.quality.verification_models import Verification
from opencrf.records.imports import records_import
from opencrf.records.locking import form_lock
from opencrf.records.services import form_save

from . import verification_world as world
from .verification_world import (
    form_url,
    marks,
    sdv_audit,
    stored,
    unverify_url,
    verify,
    web_save,
)

verifier = world.verifier  # fixtures
site_b_bea = world.site_b_bea

pytestmark = pytest.mark.django_db


def page_text(client, demo, record_id="1-1"):
    return client.get(form_url(demo, record_id)).content.decode()


def test_a_monitor_verifies_a_form_and_the_page_says_by_whom_and_when(client, demo, verifier):
    client.force_login(verifier)

    response = verify(client, demo)

    assert response.status_code == 302
    assert response["Location"] == form_url(demo)
    assert marks(demo) == [("1-1", "enrolment", "", True)]
    assert sdv_audit(demo) == [
        (
            "verification.verify",
            "monitor_mo",
            "1-1",
            "screening_arm_1",
            "enrolment",
            1,
            {"verified": ["", "enrolment"]},
            "",
        )
    ]
    text = page_text(client, demo)
    assert "Verified against source by monitor_mo at " in text
    assert "(UTC+0900)" in text


def test_a_monitor_verifies_one_field_and_it_is_marked_beside_the_field(client, demo, verifier):
    client.force_login(verifier)

    response = verify(client, demo, field="initials")

    assert response["Location"] == form_url(demo) + "#sdv-initials"
    assert marks(demo) == [("1-1", "enrolment", "initials", True)]
    text = page_text(client, demo)
    assert 'data-testid="sdv-initials"' in text
    assert "✓ source verified" in text
    assert "1 field verified on its own." in text


def test_a_change_on_the_web_form_invalidates_the_form_and_says_what_changed(
    client, demo, verifier, site_a_sam, django_capture_on_commit_callbacks
):
    client.force_login(verifier)
    verify(client, demo)
    sam = Client()
    sam.force_login(site_a_sam)

    with django_capture_on_commit_callbacks(execute=True):
        saved = web_save(sam, demo, {"initials": "ZZ"})

    assert saved.status_code == 302
    assert marks(demo) == [("1-1", "enrolment", "", False)]
    invalidated = sdv_audit(demo)[-1]
    assert invalidated == (
        "verification.invalidated",
        "",
        "1-1",
        "screening_arm_1",
        "enrolment",
        1,
        {"verified": ["enrolment", ""], "changed_fields": "initials"},
        "",
    )
    text = page_text(client, demo)
    assert "Verification no longer valid: initials changed after verification on " in text
    assert "Verify this form again" in text


def test_a_change_of_a_verified_field_marks_it_changed_and_other_fields_leave_it_alone(
    client, demo, verifier, site_a_sam, django_capture_on_commit_callbacks
):
    client.force_login(verifier)
    verify(client, demo, field="initials")
    verify(client, demo, field="sex")
    sam = Client()
    sam.force_login(site_a_sam)

    with django_capture_on_commit_callbacks(execute=True):
        web_save(sam, demo, {"initials": "ZZ"})

    assert marks(demo) == [
        ("1-1", "enrolment", "initials", False),
        ("1-1", "enrolment", "sex", True),
    ]
    assert [row[0] for row in sdv_audit(demo)] == [
        "verification.verify",
        "verification.verify",
        "verification.invalidated",
    ]
    text = page_text(client, demo)
    assert text.count("⚠ changed since verified") == 1
    assert "Changed since verified: initials." in text


def test_a_checkbox_field_is_verified_as_all_its_options(
    demo, verifier, client, django_capture_on_commit_callbacks
):
    client.force_login(verifier)
    verify(client, demo, field="incl")
    record = demo.records.get(record_id="1-1")

    with django_capture_on_commit_callbacks(execute=True):
        form_save(
            context=AuditContext.system(),
            record=record,
            event=demo.events.get(unique_name="screening_arm_1"),
            form_name="enrolment",
            values={"incl___3": "0"},
            base_version=None,
            reason="Criterion re-read",
        )

    assert marks(demo) == [("1-1", "enrolment", "incl", False)]
    assert sdv_audit(demo)[-1][6] == {"verified": ["incl", ""], "changed_fields": "incl"}


def test_an_api_import_invalidates_the_verification(
    demo, verifier, client, pi_paula, django_capture_on_commit_callbacks
):
    from opencrf.api.tests.client import post
    from opencrf.api.tokens import token_create

    client.force_login(verifier)
    verify(client, demo)
    ProjectMember.objects.filter(project=demo, user=pi_paula).update(api_import=True)
    token = token_create(context=AuditContext(actor=pi_paula), user=pi_paula, project=demo)
    row = {"record_id": "1-1", "redcap_event_name": "screening_arm_1", "dob": "1960-01-01"}

    with django_capture_on_commit_callbacks(execute=True):
        answer = post(
            {"token": token, "content": "record", "format": "json", "data": json.dumps([row])}
        )

    assert answer.status_code == 200
    assert marks(demo) == [("1-1", "enrolment", "", False)]
    # The date of birth changed, and with it the age calculated from it.
    assert sdv_audit(demo)[-1][6] == {"verified": ["enrolment", ""], "changed_fields": "age, dob"}
    assert "Verification no longer valid: age, dob changed after verification on " in page_text(
        client, demo
    )


def test_a_data_import_invalidates_the_verification(
    demo, verifier, client, pi_paula, django_capture_on_commit_callbacks
):
    client.force_login(verifier)
    verify(client, demo, field="initials")
    row = {"record_id": "1-1", "redcap_event_name": "screening_arm_1", "initials": "QQ"}

    with django_capture_on_commit_callbacks(execute=True):
        records_import(
            context=AuditContext(actor=pi_paula, source="import"), project=demo, rows=[row]
        )

    assert marks(demo) == [("1-1", "enrolment", "initials", False)]
    assert sdv_audit(demo)[-1][:2] == ("verification.invalidated", "")


def test_an_import_that_writes_the_same_values_keeps_the_verification(
    demo, verifier, client, pi_paula, django_capture_on_commit_callbacks
):
    client.force_login(verifier)
    verify(client, demo)
    initials = stored(demo).values["initials"]
    row = {"record_id": "1-1", "redcap_event_name": "screening_arm_1", "initials": initials}

    with django_capture_on_commit_callbacks(execute=True):
        records_import(
            context=AuditContext(actor=pi_paula, source="import"), project=demo, rows=[row]
        )

    assert marks(demo) == [("1-1", "enrolment", "", True)]
    assert [row[0] for row in sdv_audit(demo)] == ["verification.verify"]


def test_a_change_no_hook_announced_still_shows_as_no_longer_valid(client, demo, verifier):
    client.force_login(verifier)
    verify(client, demo)
    form = stored(demo)
    form.values = {**form.values, "initials": "XX"}
    form.save(update_fields=["values"])  # a write that never ran the post-commit check

    assert marks(demo) == [("1-1", "enrolment", "", True)]
    text = page_text(client, demo)
    assert "Verification no longer valid:" in text
    assert "Verify this form again" in text


def test_a_locked_form_can_be_verified(client, demo, verifier, pi_paula):
    record = demo.records.get(record_id="1-1")
    form_lock(
        context=AuditContext(actor=None, source="system"),
        record=record,
        event=demo.events.get(unique_name="screening_arm_1"),
        form_name="enrolment",
        instance=1,
    )
    client.force_login(verifier)

    response = verify(client, demo)

    assert response.status_code == 302
    assert marks(demo) == [("1-1", "enrolment", "", True)]


def test_verifying_again_renews_a_mark_that_is_no_longer_valid(
    client, demo, verifier, site_a_sam, django_capture_on_commit_callbacks
):
    client.force_login(verifier)
    verify(client, demo)
    sam = Client()
    sam.force_login(site_a_sam)
    with django_capture_on_commit_callbacks(execute=True):
        web_save(sam, demo, {"initials": "ZZ"})

    verify(client, demo)

    assert marks(demo) == [("1-1", "enrolment", "", True)]
    assert Verification.objects.count() == 1
    assert "Verified against source by monitor_mo at " in page_text(client, demo)


def test_a_monitor_takes_a_verification_back_with_a_reason(client, demo, verifier):
    client.force_login(verifier)
    verify(client, demo, field="initials")

    page = client.get(unverify_url(demo) + "?field=initials")
    response = client.post(
        unverify_url(demo), {"field": "initials", "reason": "Verified the wrong visit"}
    )

    assert page.status_code == 200
    assert response.status_code == 302
    assert marks(demo) == []
    assert sdv_audit(demo)[-1] == (
        "verification.unverify",
        "monitor_mo",
        "1-1",
        "screening_arm_1",
        "enrolment",
        1,
        {"verified": ["initials", ""]},
        "Verified the wrong visit",
    )


def test_the_site_user_sees_the_verification_but_no_buttons(client, demo, verifier, site_a_sam):
    monitor = Client()
    monitor.force_login(verifier)
    verify(monitor, demo)
    client.force_login(site_a_sam)

    text = page_text(client, demo)

    assert "Verified against source by monitor_mo at " in text
    assert 'data-testid="verify-form"' not in text
    assert 'data-testid="unverify-form"' not in text
    assert "sdv-verify-" not in text


def test_a_form_nobody_verified_shows_nothing_to_a_site_user(client, demo, site_a_sam):
    client.force_login(site_a_sam)

    text = page_text(client, demo)

    assert 'data-testid="verification-note"' not in text
    assert 'data-testid="sdv-' not in text


def test_the_record_page_lists_each_form_instance_with_its_verification(client, demo, verifier):
    client.force_login(verifier)
    verify(client, demo)
    verify(client, demo, field="height", place=("baseline_arm_1", "baseline", 1))

    text = client.get(f"/projects/{demo.pk}/records/1-1/").content.decode()

    assert 'data-testid="record-verification"' in text
    section = text.split('data-testid="record-verification"')[1].split("</section>")[0]
    assert section.count('data-status="verified"') == 1
    assert section.count('data-status="partly"') == 1
    saved = demo.records.get(record_id="1-1").forms.count()
    assert section.count('data-status="not_verified"') == saved - 2
    assert '<tr data-form="enrolment" data-event="screening_arm_1" data-instance="1">' in section
    assert "1 field marked" in section


def test_a_survey_answer_invalidates_the_verification(
    demo, verifier, client, django_capture_on_commit_callbacks
):
    client.force_login(verifier)
    place = ("baseline_arm_1", "baseline", 1)
    verify(client, demo, field="weight", place=place)

    with django_capture_on_commit_callbacks(execute=True):
        form_save(
            context=AuditContext(actor=None, source="survey", actor_label="participant"),
            record=demo.records.get(record_id="1-1"),
            event=demo.events.get(unique_name="baseline_arm_1"),
            form_name="baseline",
            values={"weight": "99.9"},
            base_version=None,
        )

    assert marks(demo) == [("1-1", "baseline", "weight", False)]
    assert sdv_audit(demo)[-1][6] == {"verified": ["weight", ""], "changed_fields": "weight"}
