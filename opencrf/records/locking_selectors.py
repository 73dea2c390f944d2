"""What the data entry page shows of a form's lock and signature, for one reader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opencrf.accounts.models import User
from opencrf.accounts.two_factor import two_factor_enrolled
from opencrf.projects.models import Event, Project
from opencrf.projects.rights import Rights
from opencrf.records.lock_texts import lock_text_for
from opencrf.records.models import FormData, Record
from opencrf.records.signatures import (
    MEANINGS,
    SignatureState,
    form_content_hash,
    signature_state,
    signed_time_text,
)


@dataclass(frozen=True, slots=True)
class LockPanel:
    form_locked: bool
    locked_by: str
    locked_at: datetime | None
    lock_reason: str
    record_locked: bool
    record_locked_by: str
    record_locked_at: datetime | None
    record_lock_reason: str
    text: str
    can_lock: bool
    can_sign: bool
    signature: SignatureState
    signer_name: str
    meaning: str
    signed_time: str
    voided_time: str
    form_hash: str
    with_code: bool
    meanings: list[tuple[str, str]]
    can_design: bool = False  # may edit the lock texts

    @property
    def locked(self) -> bool:
        return self.form_locked or self.record_locked


def _name(user: User | None) -> str:
    return user.display_name if user is not None else ""


def lock_panel(
    *,
    user: User,
    rights: Rights,
    project: Project,
    record: Record,
    event: Event,
    form: FormData | None,
    form_name: str,
    language: str,
) -> LockPanel:
    state = signature_state(record.record_id, event.unique_name, form)
    signed = form is not None and form.signed_at is not None
    return LockPanel(
        form_locked=form is not None and form.locked_at is not None,
        locked_by=_name(form.locked_by) if form else "",
        locked_at=form.locked_at if form else None,
        lock_reason=form.lock_reason if form else "",
        record_locked=record.locked_at is not None,
        record_locked_by=_name(record.locked_by),
        record_locked_at=record.locked_at,
        record_lock_reason=record.lock_reason,
        text=lock_text_for(project, form_name, language),
        can_lock=rights.lock_unlock and form is not None,
        can_sign=rights.e_signature,
        signature=state,
        signer_name=form.signer_name if form else "",
        meaning=str(MEANINGS.get(form.signature_meaning, "")) if form else "",
        signed_time=signed_time_text(form.signed_at) if form and form.signed_at else "",
        voided_time=(
            signed_time_text(state.voided_at) if signed and state.voided_at is not None else ""
        ),
        form_hash=form_content_hash(record.record_id, event.unique_name, form) if form else "",
        with_code=two_factor_enrolled(user),
        meanings=[(code, str(label)) for code, label in MEANINGS.items()],
        can_design=rights.design,
    )
