"""What the pages show of locks: the data entry page's lock and signature panel, for one
reader, and the lock icons of the record home page and the record status dashboard, read in
bulk (a fixed number of queries for a whole page, however many records and forms it shows)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
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

# Only what a lock icon shows is read of the locking user.
_LOCKER = ("locked_by__username", "locked_by__first_name", "locked_by__last_name")


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


# --------------------------------------------------------------- lock icons, in bulk


@dataclass(frozen=True, slots=True)
class LockMark:
    """A lock to show beside a status icon: who locked and when."""

    by: str
    at: datetime


# (record pk, event id, form name) → instance → its lock
FormLocks = dict[tuple[int, int, str], dict[int, LockMark]]


def form_locks(record_pks: Collection[int]) -> FormLocks:
    """The locked form instances of these records, in one query."""
    locked = (
        FormData.objects.filter(record_id__in=list(record_pks), locked_at__isnull=False)
        .select_related("locked_by")
        .only("record_id", "event_id", "form_name", "instance", "locked_at", *_LOCKER)
    )
    marks: FormLocks = {}
    for form in locked:
        assert form.locked_at is not None  # filtered above
        key = (form.record_id, form.event_id, form.form_name)
        marks.setdefault(key, {})[form.instance] = LockMark(_name(form.locked_by), form.locked_at)
    return marks


def record_locks(records: Iterable[Record]) -> dict[int, LockMark]:
    """The whole-record locks of these records: one query when any of them is locked."""
    pks = [record.pk for record in records if record.locked_at is not None]
    if not pks:
        return {}
    locked = (
        Record.objects.filter(pk__in=pks).select_related("locked_by").only("locked_at", *_LOCKER)
    )
    return {
        record.pk: LockMark(_name(record.locked_by), record.locked_at)
        for record in locked
        if record.locked_at is not None
    }
