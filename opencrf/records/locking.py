"""Locking form instances and whole records (REDCap's "Lock" and "Lock entire record").

A locked form, or any form of a locked record (new forms included), cannot be changed by any
path: `FormWriter` (records/bulk.py), the one writer of the web form, the API, imports, surveys
and calculations, asks `refuse_locked` before it plans a change; deleting or renaming a record
with a locked form is refused too. Locking needs the lock/unlock right; unlocking needs a
reason, and voids an e-signature (records/signatures.py), as REDCap does. Every step is audited.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects.models import Event
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import member_rights
from opencrf.records.auditing import record_target
from opencrf.records.models import FormData, Record

# REDCap's wording, which API clients see for a change to a locked form.
REDCAP_LOCKED = (
    "This field is located on a form that is locked. You must first unlock this form for this "
    "record."
)


class FormLocked(InvalidInput):
    """A change to a locked form (or a form of a locked record); nothing was saved.

    `record`, `field` and `value` name the first refused value, for REDCap's error lines.
    """

    def __init__(self, record: str, form: str, field: str = "", value: str = "") -> None:
        super().__init__(
            _("%(form)s of record %(record)s is locked: unlock it first; nothing was saved.")
            % {"form": form, "record": record}
        )
        self.record, self.form, self.field, self.value = record, form, field, value
        self.redcap_message = REDCAP_LOCKED


def refuse_locked(
    record: Record, form: FormData | None, form_name: str, changes: dict[str, list[str]]
) -> None:
    """Raise FormLocked when `changes` would touch a locked form or a locked record."""
    if record.locked_at is None and (form is None or form.locked_at is None):
        return
    field, (_old, new) = next(iter(changes.items()), ("", ["", ""]))
    raise FormLocked(record.record_id, form_name, field, new)


def refuse_if_record_has_locks(record: Record) -> None:
    """A record with a locked form (or locked itself) is neither deleted nor renamed."""
    if (
        record.locked_at is not None
        or FormData.objects.filter(record=record, locked_at__isnull=False).exists()
    ):
        raise InvalidInput(
            _("Record %(record)s has locked data: unlock it first; nothing was changed.")
            % {"record": record.record_id}
        )


def rights_of(context: AuditContext, record: Record) -> Rights:
    if context.actor is None:
        return Rights.everything()
    return member_rights(context.actor, record.project)


def require_lock_right(context: AuditContext, record: Record, form_name: str = "") -> Rights:
    rights = rights_of(context, record)
    if not rights.lock_unlock or (form_name and not rights.can_see_form(form_name)):
        raise PermissionDenied(_("You do not have the right to lock or unlock records."))
    return rights


def _stored_form(record: Record, event: Event, form_name: str, instance: int) -> FormData:
    form = (
        FormData.objects.select_for_update()
        .filter(record=record, event=event, form_name=form_name, instance=instance)
        .first()
    )
    if form is None:
        raise InvalidInput(_("This form has no data to lock; save it first."))
    return form


def _reason_needed(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput(_("Give a reason for unlocking; nothing was changed."))
    return reason.strip()


@transaction.atomic
def form_lock(
    *,
    context: AuditContext,
    record: Record,
    event: Event,
    form_name: str,
    instance: int = 1,
    reason: str = "",
) -> FormData:
    """Lock one form instance; audited as `form.lock`."""
    require_lock_right(context, record, form_name)
    form = _stored_form(record, event, form_name, instance)
    if form.locked_at is not None:
        raise InvalidInput(_("This form is locked already."))
    form.locked_at, form.locked_by = timezone.now(), context.actor
    form.lock_reason = reason.strip()
    form.save(update_fields=["locked_at", "locked_by", "lock_reason"])
    target = record_target(record, event, form_name, instance)
    changes = {"locked": ["", context.actor_name or "system"]}
    audit_event_create(
        context=context,
        project_id=record.project_id,
        action="form.lock",
        target=target,
        changes=changes,
        reason=form.lock_reason,
    )
    return form


@transaction.atomic
def form_unlock(
    *,
    context: AuditContext,
    record: Record,
    event: Event,
    form_name: str,
    instance: int = 1,
    reason: str,
) -> FormData:
    """Unlock one form instance, with a reason; a valid e-signature on it is voided."""
    require_lock_right(context, record, form_name)
    reason = _reason_needed(reason)
    form = _stored_form(record, event, form_name, instance)
    if form.locked_at is None:
        raise InvalidInput(_("This form is not locked."))
    changes = {"locked": [form.locked_by.username if form.locked_by else "system", ""]}
    fields = ["locked_at", "locked_by", "lock_reason"]
    now = timezone.now()
    if form.signed_at is not None and form.signature_invalidated_at is None:
        form.signature_invalidated_at = now
        changes["e-signature"] = [form.signature_hash, ""]
        fields.append("signature_invalidated_at")
    form.locked_at, form.locked_by, form.lock_reason = None, None, ""
    form.save(update_fields=fields)
    audit_event_create(
        context=context,
        project_id=record.project_id,
        action="form.unlock",
        target=record_target(record, event, form_name, instance),
        changes=changes,
        reason=reason,
    )
    return form


@transaction.atomic
def record_lock(*, context: AuditContext, record: Record, reason: str = "") -> Record:
    """Lock a whole record: none of its forms, stored or new, can be changed."""
    require_lock_right(context, record)
    locked = Record.objects.select_for_update().get(pk=record.pk)
    if locked.locked_at is not None:
        raise InvalidInput(_("This record is locked already."))
    locked.locked_at, locked.locked_by = timezone.now(), context.actor
    locked.lock_reason = reason.strip()
    locked.save(update_fields=["locked_at", "locked_by", "lock_reason"])
    audit_event_create(
        context=context,
        project_id=record.project_id,
        action="record.lock",
        target=record_target(locked),
        changes={"locked": ["", context.actor_name or "system"]},
        reason=locked.lock_reason,
    )
    record.locked_at, record.locked_by = locked.locked_at, locked.locked_by
    record.lock_reason = locked.lock_reason
    return locked


@transaction.atomic
def record_unlock(*, context: AuditContext, record: Record, reason: str) -> Record:
    """Unlock a whole record, with a reason; forms locked one by one stay locked."""
    require_lock_right(context, record)
    reason = _reason_needed(reason)
    locked = Record.objects.select_for_update().get(pk=record.pk)
    if locked.locked_at is None:
        raise InvalidInput(_("This record is not locked."))
    before = locked.locked_by.username if locked.locked_by else "system"
    locked.locked_at, locked.locked_by, locked.lock_reason = None, None, ""
    locked.save(update_fields=["locked_at", "locked_by", "lock_reason"])
    audit_event_create(
        context=context,
        project_id=record.project_id,
        action="record.unlock",
        target=record_target(locked),
        changes={"locked": [before, ""]},
        reason=reason,
    )
    record.locked_at, record.locked_by, record.lock_reason = None, None, ""
    return locked
