"""Locking forms and records, and e-signatures bound to the form's content hash."""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects.models import ProjectMember
from opencrf.records.imports import ImportOptions, ImportRefused, records_import
from opencrf.records.locking import (
    REDCAP_LOCKED,
    FormLocked,
    form_lock,
    form_unlock,
    record_lock,
    record_unlock,
)
from opencrf.records.models import FormData
from opencrf.records.services import form_delete, form_save, record_delete, record_rename
from opencrf.records.signatures import form_content_hash, form_sign, signature_state

from .conftest import coordinator_rights, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def screening(events):
    return events["screening_arm_1"]


@pytest.fixture
def screened(paula_context, osaka_record, screening):
    form_save(
        context=paula_context,
        record=osaka_record,
        event=screening,
        form_name="screening",
        values={"initials": "AN"},
        base_version=None,
    )
    return osaka_record


@pytest.fixture
def locked(paula_context, screened, screening):
    form_lock(
        context=paula_context,
        record=screened,
        event=screening,
        form_name="screening",
        reason="Monitored",
    )
    return screened


def stored(record):
    return FormData.objects.get(record=record, form_name="screening")


def save(context, record, event, values):
    return form_save(
        context=context,
        record=record,
        event=event,
        form_name="screening",
        values=values,
        base_version=None,
    )


def test_locking_a_form_keeps_who_when_why_and_audits_it(paula_context, locked, pi_paula):
    form = stored(locked)

    assert (form.locked_by, form.lock_reason) == (pi_paula, "Monitored")
    assert form.locked_at is not None
    entry = AuditEvent.objects.filter(action="form.lock").get()
    assert (entry.instrument, entry.reason) == ("screening", "Monitored")


def test_a_locked_form_refuses_a_save_and_nothing_changes(
    paula_context, salt_rct, locked, screening
):
    before = snapshot(salt_rct)

    with pytest.raises(FormLocked) as refused:
        save(paula_context, locked, screening, {"initials": "ZZ"})

    assert (refused.value.record, refused.value.field, refused.value.value) == (
        "1-1",
        "initials",
        "ZZ",
    )
    assert snapshot(salt_rct) == before


def test_an_import_into_a_locked_form_is_refused_in_redcaps_words(paula_context, salt_rct, locked):
    before = snapshot(salt_rct)
    rows = [{"study_id": "1-1", "redcap_event_name": "screening_arm_1", "initials": "ZZ"}]

    with pytest.raises(ImportRefused) as refused:
        records_import(context=paula_context, project=salt_rct, rows=rows, options=ImportOptions())

    problem = refused.value.problems[0]
    assert (problem.record, problem.field, problem.value, problem.message) == (
        "1-1",
        "initials",
        "ZZ",
        REDCAP_LOCKED,
    )
    assert snapshot(salt_rct) == before


def test_an_import_that_changes_nothing_in_a_locked_form_is_accepted(
    paula_context, salt_rct, locked
):
    rows = [{"study_id": "1-1", "redcap_event_name": "screening_arm_1", "initials": "AN"}]

    result = records_import(
        context=paula_context, project=salt_rct, rows=rows, options=ImportOptions()
    )

    assert result.records == ["1-1"]


def test_a_locked_record_refuses_new_forms_too(paula_context, salt_rct, screened, events):
    record_lock(context=paula_context, record=screened, reason="Closed out")
    before = snapshot(salt_rct)

    with pytest.raises(FormLocked):
        form_save(
            context=paula_context,
            record=screened,
            event=events["baseline_arm_1"],
            form_name="baseline",
            values={"weight": "60.5"},
            base_version=None,
        )

    assert snapshot(salt_rct) == before
    record_unlock(context=paula_context, record=screened, reason="Query answered")
    save(paula_context, screened, events["screening_arm_1"], {"initials": "ZZ"})
    assert stored(screened).values["initials"] == "ZZ"


def test_a_record_with_a_locked_form_is_neither_deleted_nor_renamed(
    paula_context, salt_rct, locked, screening
):
    before = snapshot(salt_rct)

    with pytest.raises(InvalidInput):
        record_delete(context=paula_context, record=locked)
    with pytest.raises(InvalidInput):
        record_rename(context=paula_context, record=locked, new_id="9-9")
    with pytest.raises(FormLocked):
        form_delete(context=paula_context, record=locked, event=screening, form_name="screening")

    assert snapshot(salt_rct) == before
    locked.refresh_from_db()
    assert locked.record_id == "1-1"


def test_unlocking_needs_a_reason(paula_context, salt_rct, locked, screening):
    before = snapshot(salt_rct)

    with pytest.raises(InvalidInput):
        form_unlock(
            context=paula_context,
            record=locked,
            event=screening,
            form_name="screening",
            reason=" ",
        )

    assert snapshot(salt_rct) == before


def test_a_member_without_the_lock_right_cannot_lock(
    salt_rct, kyoto_bea, screened, screening, groups
):
    screened.group = groups["kyoto_north"]
    screened.save()
    before = snapshot(salt_rct)

    with pytest.raises(PermissionDenied):
        form_lock(
            context=AuditContext(actor=kyoto_bea),
            record=screened,
            event=screening,
            form_name="screening",
        )

    assert snapshot(salt_rct) == before
    assert stored(screened).locked_at is None


def sign(context, record, event, form_hash, meaning="approval"):
    return form_sign(
        context=context,
        record=record,
        event=event,
        form_name="screening",
        meaning=meaning,
        form_hash=form_hash,
    )


def test_a_signature_binds_the_content_hash_and_is_audited(
    paula_context, locked, screening, pi_paula
):
    form_hash = form_content_hash("1-1", "screening_arm_1", stored(locked))

    form = sign(paula_context, locked, screening, form_hash)

    assert (form.signed_by, form.signature_meaning, form.signature_hash) == (
        pi_paula,
        "approval",
        form_hash,
    )
    assert signature_state("1-1", "screening_arm_1", form).valid is True
    entry = AuditEvent.objects.filter(action="form.sign").get()
    assert entry.details == f"sha256:{form_hash}"
    assert entry.changes["e-signature"][1].startswith("pi_paula (pi_paula); approval; ")


def test_a_forged_hash_is_refused_and_nothing_is_signed(paula_context, salt_rct, locked, screening):
    before = snapshot(salt_rct)

    with pytest.raises(InvalidInput):
        sign(paula_context, locked, screening, "0" * 64)

    assert stored(locked).signed_at is None
    assert snapshot(salt_rct) == before


def test_an_unlocked_form_cannot_be_signed(paula_context, screened, screening):
    form_hash = form_content_hash("1-1", "screening_arm_1", stored(screened))

    with pytest.raises(InvalidInput):
        sign(paula_context, screened, screening, form_hash)

    assert stored(screened).signed_at is None


def test_unlocking_voids_the_signature_and_a_change_keeps_it_invalid(
    paula_context, locked, screening
):
    sign(
        paula_context,
        locked,
        screening,
        form_content_hash("1-1", "screening_arm_1", stored(locked)),
    )

    form_unlock(
        context=paula_context,
        record=locked,
        event=screening,
        form_name="screening",
        reason="Correction",
    )
    save(paula_context, locked, screening, {"initials": "ZZ"})

    form = stored(locked)
    state = signature_state("1-1", "screening_arm_1", form)
    assert (state.signed, state.valid) == (True, False)
    assert state.voided_at is not None
    entry = AuditEvent.objects.filter(action="form.unlock").get()
    assert entry.reason == "Correction"
    assert entry.changes["e-signature"] == [form.signature_hash, ""]


def test_a_member_without_the_signature_right_cannot_sign(
    salt_rct, paula_context, site_b_bea, locked, screening
):
    ProjectMember.objects.create(
        project=salt_rct, user=site_b_bea, lock_unlock=True, **coordinator_rights(salt_rct)
    )
    form_hash = form_content_hash("1-1", "screening_arm_1", stored(locked))

    with pytest.raises(PermissionDenied):
        sign(AuditContext(actor=site_b_bea), locked, screening, form_hash)

    assert stored(locked).signed_at is None
