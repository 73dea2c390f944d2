"""E-signatures on locked forms (21 CFR Part 11 §11.50/.70, Japan's ER/ES guideline).

A signature is bound to the form's content hash: SHA-256 of a canonical JSON serialisation of
the record, event, form, instance, status and values. The signer posts the hash of the page
they read; a hash that is not the stored form's (forged, or the form changed meanwhile) is
refused. A signature is valid while it is not voided (unlocking voids it, as in REDCap) and the
form still hashes to what was signed. Credentials (password, and the one-time code where the
user has two-factor authentication) are checked by `signature_credentials_check`; a wrong
one counts towards the account's lockout, as at sign-in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opencrf.accounts import lockout, two_factor
from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects.models import Event
from opencrf.records.auditing import record_target
from opencrf.records.locking import rights_of
from opencrf.records.models import FormData, Record

MEANINGS = {
    "author": gettext_lazy("Author"),
    "review": gettext_lazy("Review"),
    "approval": gettext_lazy("Approval"),
}


def form_content_hash(record_id: str, event_name: str, form: FormData) -> str:
    """SHA-256 (hex) of the form's canonical serialisation: what a signature is bound to."""
    payload = {
        "record": record_id,
        "event": event_name,
        "form": form.form_name,
        "instance": form.instance,
        "status": form.status,
        "values": {key: form.values[key] for key in sorted(form.values)},
    }
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signed_time_text(moment: datetime) -> str:
    """The date and time with its time zone, as a signature's manifestation shows it."""
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)")


def manifestation(form: FormData) -> str:
    """The signature as the audit trail keeps it: name, username, meaning, time."""
    assert form.signed_at is not None
    username = form.signed_by.username if form.signed_by else ""
    return (
        f"{form.signer_name} ({username}); {form.signature_meaning}; "
        f"{signed_time_text(form.signed_at)}"
    )


@dataclass(frozen=True, slots=True)
class SignatureState:
    """What the form shows of its signature."""

    signed: bool
    valid: bool
    voided_at: datetime | None


def signature_state(record_id: str, event_name: str, form: FormData | None) -> SignatureState:
    if form is None or form.signed_at is None:
        return SignatureState(False, False, None)
    intact = form_content_hash(record_id, event_name, form) == form.signature_hash
    voided = form.signature_invalidated_at
    return SignatureState(True, intact and voided is None, voided)


def signature_credentials_check(request: HttpRequest, user: User, password: str, code: str) -> bool:
    """The signer's password (and one-time code when enrolled); a failure is counted."""
    if lockout.is_locked_out(request, user.username):
        return False
    if authenticate(request, username=user.username, password=password) is None:
        return False  # counted by the lockout backend, as a failed sign-in is
    if not two_factor.two_factor_enrolled(user):
        return True
    if two_factor.two_factor_verify(request, user, code):
        return True
    lockout.failure_record(request, user.username)
    return False


@transaction.atomic
def form_sign(
    *,
    context: AuditContext,
    record: Record,
    event: Event,
    form_name: str,
    instance: int = 1,
    meaning: str,
    form_hash: str,
) -> FormData:
    """Sign a locked form as `meaning`, bound to `form_hash`; audited as `form.sign`.

    The caller has checked the signer's credentials (`signature_credentials_check`).
    """
    rights = rights_of(context, record)
    if context.actor is None or not rights.e_signature or not rights.can_see_form(form_name):
        raise PermissionDenied(_("You do not have the right to sign forms."))
    if meaning not in MEANINGS:
        raise InvalidInput(_("Choose the meaning of the signature."))
    form = (
        FormData.objects.select_for_update()
        .filter(record=record, event=event, form_name=form_name, instance=instance)
        .first()
    )
    if form is None or form.locked_at is None:
        raise InvalidInput(_("Lock the form before signing it."))
    if signature_state(record.record_id, event.unique_name, form).valid:
        raise InvalidInput(_("This form is signed already."))
    current = form_content_hash(record.record_id, event.unique_name, form)
    if form_hash != current:
        raise InvalidInput(
            _("The form is not the one you read (its content hash differs); nothing was signed.")
        )
    form.signed_at, form.signed_by = timezone.now(), context.actor
    form.signer_name = context.actor.display_name
    form.signature_meaning, form.signature_hash = meaning, current
    form.signature_invalidated_at = None
    form.save(
        update_fields=[
            "signed_at",
            "signed_by",
            "signer_name",
            "signature_meaning",
            "signature_hash",
            "signature_invalidated_at",
        ]
    )
    audit_event_create(
        context=context,
        project_id=record.project_id,
        action="form.sign",
        target=record_target(record, event, form_name, instance),
        changes={"e-signature": ["", manifestation(form)]},
        details=f"sha256:{current}",
    )
    return form


def pdf_lock_lines(form: FormData, event_name: str) -> list[str]:
    """What a form's PDF prints of its lock and e-signature (the manifestation and its hash)."""
    lines = []
    record = form.record
    if record.locked_at is not None:
        who = record.locked_by.display_name if record.locked_by else ""
        lines.append(
            _("The whole record is locked by %(who)s at %(when)s.")
            % {"who": who, "when": signed_time_text(record.locked_at)}
        )
    if form.locked_at is not None:
        who = form.locked_by.display_name if form.locked_by else ""
        lines.append(
            _("This form is locked by %(who)s at %(when)s.")
            % {"who": who, "when": signed_time_text(form.locked_at)}
        )
    if form.signed_at is None:
        return lines
    signed = _("E-signed by %(name)s (%(meaning)s) at %(when)s.") % {
        "name": form.signer_name,
        "meaning": MEANINGS.get(form.signature_meaning, form.signature_meaning),
        "when": signed_time_text(form.signed_at),
    }
    state = signature_state(record.record_id, event_name, form)
    if state.valid:
        lines.append(f"{signed} SHA-256: {form.signature_hash}")
    elif state.voided_at is not None:
        lines.append(
            _("%(signed)s Signature invalidated by unlock at %(when)s.")
            % {"signed": signed, "when": signed_time_text(state.voided_at)}
        )
    else:
        lines.append(
            _("%(signed)s Signature no longer valid: the form changed after it was signed.")
            % {"signed": signed}
        )
    return lines
