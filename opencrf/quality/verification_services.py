"""Writes of source data verification: verify a form instance or one field, un-verify by hand,
and record (after each committed save) that a verified value changed.

Audited as `verification.verify`, `verification.unverify` and `verification.invalidated`, each
in the transaction of its change.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.models import AuditSource
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.dictionary.design import design_of
from opencrf.projects.models import Event, Project
from opencrf.quality.verification_models import Verification
from opencrf.quality.verification_selectors import (
    Place,
    changed_fields,
    checkbox_fields,
    current_hash,
    hash_now,
    require_verify_right,
)
from opencrf.records.auditing import record_target
from opencrf.records.hooks import FormKey
from opencrf.records.models import FormData, Record
from opencrf.records.selectors import records_visible_to


def _what(form_name: str, field_name: str) -> str:
    """How the audit trail names what a mark covers: a field, or the whole form."""
    return field_name or form_name


def _require_may_verify(context: AuditContext, place: Place) -> None:
    require_verify_right(place.rights)
    actor = context.actor
    if (
        actor is None
        or not records_visible_to(actor, place.project).filter(pk=place.record.pk).exists()
    ):
        raise NotFound(_("No such record."))


def _locked_form(place: Place) -> FormData:
    form = FormData.objects.select_for_update().filter(pk=place.form.pk).first()
    if form is None:
        raise NotFound(_("This form has no saved data to verify."))
    return form


@transaction.atomic
def verification_create(
    *, context: AuditContext, place: Place, field_name: str = "", seen_version: int | None
) -> Verification:
    """Mark the form instance (or one of its fields) verified against source, as it is stored.

    `seen_version` is the form's version on the page the monitor read (the data entry form's
    `base_version`); a form saved since, or a forged version, is refused. A locked form can be
    verified. Verifying again renews a mark, valid or not.
    """
    _require_may_verify(context, place)
    field_name = place.require_field(field_name)
    form = _locked_form(place)
    if seen_version != form.version:
        raise InvalidInput(
            _(
                "The form was saved again since you opened it; read it again before verifying. "
                "Nothing was verified."
            )
        )
    mark, _created = Verification.objects.update_or_create(
        record=place.record,
        event=place.event,
        form_name=form.form_name,
        instance=form.instance,
        field_name=field_name,
        defaults={
            "project": place.project,
            "content_hash": hash_now(form, field_name, checkbox_fields(place.design)),
            "verified_by": context.actor,
            "verified_at": timezone.now(),
            "invalidated_at": None,
        },
    )
    _audit(
        context,
        place.record,
        place.event,
        mark,
        "verification.verify",
        {"verified": ["", _what(mark.form_name, field_name)]},
    )
    return mark


@transaction.atomic
def verification_remove(
    *, context: AuditContext, place: Place, field_name: str = "", reason: str
) -> None:
    """Take back a mark by hand, with a reason; refused (nothing changed) without one."""
    _require_may_verify(context, place)
    field_name = place.require_field(field_name)
    if not reason.strip():
        raise InvalidInput(_("Give a reason for un-verifying; nothing was changed."))
    mark = (
        Verification.objects.select_for_update()
        .filter(
            record=place.record,
            event=place.event,
            form_name=place.form_name,
            instance=place.instance,
            field_name=field_name,
        )
        .first()
    )
    if mark is None:
        raise InvalidInput(_("This is not verified; nothing was changed."))
    mark.delete()
    what = _what(place.form_name, field_name)
    _audit(
        context,
        place.record,
        place.event,
        mark,
        "verification.unverify",
        {"verified": [what, ""]},
        reason=reason.strip(),
    )


def _audit(
    context: AuditContext,
    record: Record,
    event: Event,
    mark: Verification,
    action: str,
    changes: dict[str, object],
    reason: str = "",
) -> None:
    audit_event_create(
        context=context,
        project_id=record.project_id,
        action=action,
        target=record_target(record, event, mark.form_name, mark.instance),
        changes=changes,
        details=f"sha256:{mark.content_hash}",
        reason=reason,
    )


def verifications_check(project: Project, keys: Collection[FormKey]) -> None:
    """After a committed save: record each still-standing mark of the written forms whose
    values no longer hash as verified (`verification.invalidated`, naming what changed).

    Registered with records' form-saved hook; the system acts, in a transaction of its own.
    """
    if not Verification.objects.filter(project=project, invalidated_at__isnull=True).exists():
        return
    wanted = {(k.record_id, k.event_id, k.form_name, k.instance) for k in keys}
    record_ids = sorted({key[0] for key in wanted})
    for start in range(0, len(record_ids), 500):
        marks = Verification.objects.filter(
            project=project,
            record_id__in=record_ids[start : start + 500],
            invalidated_at__isnull=True,
        ).select_related("record", "event")
        mine = [m for m in marks if (m.record_id, m.event_id, m.form_name, m.instance) in wanted]
        if mine:
            _invalidate_changed(project, mine)


@transaction.atomic
def _invalidate_changed(project: Project, marks: list[Verification]) -> None:
    checkboxes = checkbox_fields(design_of(project))
    context = AuditContext(actor=None, source=AuditSource.SYSTEM)
    for mark in (
        Verification.objects.select_for_update()
        .filter(pk__in=[m.pk for m in marks], invalidated_at__isnull=True)
        .select_related("record", "event")
    ):
        form = FormData.objects.filter(
            record=mark.record,
            event=mark.event,
            form_name=mark.form_name,
            instance=mark.instance,
        ).first()
        if current_hash(mark, form, checkboxes) == mark.content_hash:
            continue
        changed = changed_fields(mark.record, mark.event, mark.form_name, mark.instance, mark)
        mark.invalidated_at = timezone.now()
        mark.save(update_fields=["invalidated_at"])
        what = _what(mark.form_name, mark.field_name)
        _audit(
            context,
            mark.record,
            mark.event,
            mark,
            "verification.invalidated",
            {"verified": [what, ""], "changed_fields": ", ".join(changed)},
        )
