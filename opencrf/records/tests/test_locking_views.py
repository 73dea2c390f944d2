"""The lock panel of the data entry page: lock, sign with the password, refusals."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from opencrf.accounts.models import SecurityEvent
from opencrf.audit.models import AuditEvent
from opencrf.records.lock_texts import lock_text_save
from opencrf.records.locking import form_lock
from opencrf.records.models import FormData
from opencrf.records.services import form_save
from opencrf.records.signatures import form_content_hash

from .conftest import snapshot

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
ARGS = ["1-1", "screening_arm_1", "screening", 1]


@pytest.fixture
def screened(paula_context, osaka_record, events):
    form_save(
        context=paula_context,
        record=osaka_record,
        event=events["screening_arm_1"],
        form_name="screening",
        values={"initials": "AN"},
        base_version=None,
    )
    return osaka_record


@pytest.fixture
def locked(paula_context, screened, events):
    form_lock(
        context=paula_context,
        record=screened,
        event=events["screening_arm_1"],
        form_name="screening",
        reason="Monitored",
    )
    return screened


def url(project, name, args=ARGS):
    return reverse(f"records:{name}", args=[project.pk, *args])


def stored(record):
    return FormData.objects.get(record=record, form_name="screening")


def current_hash(record):
    return form_content_hash("1-1", "screening_arm_1", stored(record))


def test_locking_from_the_page_shows_who_and_why(client, pi_paula, salt_rct, screened):
    client.force_login(pi_paula)

    response = client.post(url(salt_rct, "form_lock"), {"action": "lock", "reason": "SDV done"})
    html = client.get(url(salt_rct, "form")).content.decode()

    assert response.status_code == 302
    assert 'data-testid="lock-status"' in html
    assert "This form is locked by pi_paula at" in html
    assert "Reason: SDV done" in html
    assert 'data-testid="form-readonly"' in html


def test_a_save_to_a_locked_form_is_refused_and_nothing_changes(client, pi_paula, salt_rct, locked):
    client.force_login(pi_paula)
    before = snapshot(salt_rct)

    response = client.post(
        url(salt_rct, "form"), {"initials": "ZZ", "base_version": "1", "reason": "x"}
    )

    assert response.status_code == 400
    assert "screening of record 1-1 is locked: unlock it first; nothing was saved." in (
        response.content.decode()
    )
    assert snapshot(salt_rct) == before


def test_signing_with_the_password_shows_the_manifestation(client, pi_paula, salt_rct, locked):
    client.force_login(pi_paula)
    data = {"password": PASSWORD, "meaning": "approval", "form_hash": current_hash(locked)}

    response = client.post(url(salt_rct, "form_sign"), data)
    html = client.get(url(salt_rct, "form")).content.decode()

    assert response.status_code == 302
    assert stored(locked).signature_meaning == "approval"
    assert 'data-testid="signature"' in html
    assert "E-signed by pi_paula (Approval) at " in html
    assert "(UTC+0900)" in html or "(UTC+0000)" in html


def test_a_wrong_password_signs_nothing_and_counts_towards_lockout(
    client, pi_paula, salt_rct, locked
):
    client.force_login(pi_paula)
    before = snapshot(salt_rct)
    data = {"password": "wrong", "meaning": "approval", "form_hash": current_hash(locked)}

    for _attempt in range(5):
        client.post(url(salt_rct, "form_sign"), data)

    assert stored(locked).signed_at is None
    assert snapshot(salt_rct) == before
    assert SecurityEvent.objects.filter(kind="lockout", user=pi_paula).count() == 1
    assert "_auth_user_id" not in client.session


def test_a_forged_hash_signs_nothing(client, pi_paula, salt_rct, locked):
    client.force_login(pi_paula)
    before = snapshot(salt_rct)
    data = {"password": PASSWORD, "meaning": "approval", "form_hash": "f" * 64}

    client.post(url(salt_rct, "form_sign"), data, follow=True)

    assert stored(locked).signed_at is None
    assert snapshot(salt_rct) == before


def test_another_sites_record_cannot_be_locked(client, kyoto_bea, salt_rct, screened):
    client.force_login(kyoto_bea)
    before = snapshot(salt_rct)

    response = client.post(url(salt_rct, "form_lock"), {"action": "lock"})

    assert response.status_code == 404
    assert snapshot(salt_rct) == before


def test_a_member_without_the_lock_right_is_refused(client, kyoto_bea, salt_rct, screened, groups):
    screened.group = groups["kyoto_north"]
    screened.save()
    client.force_login(kyoto_bea)
    before = snapshot(salt_rct)

    client.post(url(salt_rct, "form_lock"), {"action": "lock"})
    response = client.post(url(salt_rct, "form_sign"), {"password": PASSWORD})

    assert response.status_code == 403
    assert stored(screened).locked_at is None
    assert snapshot(salt_rct) == before


def test_unlocking_shows_the_signature_invalidated(client, pi_paula, salt_rct, locked):
    client.force_login(pi_paula)
    sign = {"password": PASSWORD, "meaning": "review", "form_hash": current_hash(locked)}
    client.post(url(salt_rct, "form_sign"), sign)

    refused = client.post(url(salt_rct, "form_lock"), {"action": "unlock"}, follow=True)
    client.post(url(salt_rct, "form_lock"), {"action": "unlock", "reason": "Correction"})
    html = client.get(url(salt_rct, "form")).content.decode()

    assert "Give a reason for unlocking; nothing was changed." in refused.content.decode()
    assert 'data-testid="signature-invalid"' in html
    assert "Signature invalidated by unlock at " in html
    assert AuditEvent.objects.filter(action="form.unlock").count() == 1


def test_the_lock_text_shows_in_the_readers_language(
    client, pi_paula, paula_context, salt_rct, screened
):
    lock_text_save(
        context=paula_context,
        project=salt_rct,
        form_name="screening",
        text_en="I attest these data are accurate.",
        text_ja="データが正確であることを証明します。",
    )
    client.force_login(pi_paula)

    english = client.get(url(salt_rct, "form")).content.decode()
    with translation.override("ja"):
        japanese = client.get(url(salt_rct, "form"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()

    assert "I attest these data are accurate." in english
    assert "データが正確であることを証明します。" in japanese


def test_the_lock_text_page_saves_a_form_text_with_the_design_right(client, pi_paula, salt_rct):
    client.force_login(pi_paula)

    response = client.post(
        reverse("lock_texts:edit", args=[salt_rct.pk]),
        {"form_name": "screening", "text_en": "<b>Attest</b>", "text_ja": ""},
    )
    page = client.get(reverse("lock_texts:edit", args=[salt_rct.pk])).content.decode()

    assert response.status_code == 302
    assert "&lt;b&gt;Attest&lt;/b&gt;" in page
    assert AuditEvent.objects.filter(action="form.lock_text").count() == 1


def test_the_pdf_prints_the_lock_and_the_signatures_manifestation(
    client, pi_paula, salt_rct, locked
):
    client.force_login(pi_paula)
    form_hash = current_hash(locked)
    sign = {"password": PASSWORD, "meaning": "author", "form_hash": form_hash}
    client.post(url(salt_rct, "form_sign"), sign)

    response = client.get(
        reverse("records:pdf_record", args=[salt_rct.pk, "1-1"]), {"form": "screening"}
    )
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).replace(
        "\n", " "
    )

    assert "This form is locked by pi_paula at " in text
    assert "E-signed by pi_paula (Author) at " in text
    assert form_hash[:16] in text.replace(" ", "")


def test_deleting_a_locked_form_or_its_record_from_the_pages_is_refused(
    client, pi_paula, salt_rct, locked
):
    client.force_login(pi_paula)
    before = snapshot(salt_rct)

    form = client.post(url(salt_rct, "form_delete"), {"reason": "x"}, follow=True)
    record = client.post(
        reverse("records:delete", args=[salt_rct.pk, "1-1"]), {"reason": "x"}, follow=True
    )

    assert "screening of record 1-1 is locked: unlock it first" in form.content.decode()
    assert "Record 1-1 has locked data: unlock it first" in record.content.decode()
    assert snapshot(salt_rct) == before
