"""Blinding and emergency unblinding (see docs/subsystems/randomization.md, "Blinding").

A blinded set-up keeps the allocation field on a form of its own (`blinded_form`). Every member
without the dashboard right (administrators and dashboard holders are the unblinded) reads that
form as "No access" for data entry and export, and has no Logging right (the audit trail holds
the arm), whatever their rights say: `blinded_rights` is
registered with `projects.selectors.member_rights`, so each page, export, report and API call
that honours form rights conceals the arm. A member with the randomize right may unblind one
record in an emergency, with a reason: audited, stored, and told by e-mail to `notify`.
"""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.design import design_of
from opencrf.projects.models import ExportRight, FormRight, Project, ProjectStatus
from opencrf.projects.rights import Rights
from opencrf.randomization.models import Allocation, RandomizationSetup, Unblinding
from opencrf.randomization.scheme import scheme_of
from opencrf.randomization.selectors import may_see_dashboard
from opencrf.randomization.services import may_set_up
from opencrf.records.auditing import record_target
from opencrf.records.models import Record
from opencrf.records.services import acting_rights

MAX_REASON = 2000


def blinded_rights(project: Project, rights: Rights) -> Rights:
    """The rights with the blinded form hidden, for a member who is not unblinded."""
    if may_see_dashboard(rights):
        return rights
    form = (
        RandomizationSetup.objects.filter(project=project)
        .exclude(blinded_form="")
        .values_list("blinded_form", flat=True)
        .first()
    )
    if form is None:
        return rights
    return dataclasses.replace(
        rights,
        forms={**rights.forms, form: FormRight.NONE},
        exports={**rights.exports, form: ExportRight.NONE},
        logging=False,  # the trail holds the arm, written when the record was randomized
    )


def is_blinded(setup: RandomizationSetup) -> bool:
    return bool(setup.blinded_form)


def addresses(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


@transaction.atomic
def blinding_save(
    *, context: AuditContext, project: Project, blinded: bool, notify: str
) -> RandomizationSetup:
    """Turn blinding on or off (development only) and set who is told of an unblinding."""
    rights = acting_rights(context, project)
    if not may_set_up(rights):
        raise PermissionDenied(_("You may not set up randomization in this project."))
    setup = RandomizationSetup.objects.select_for_update().filter(project=project).first()
    if setup is None:
        raise InvalidInput(_("Save the randomization set-up first."))
    named = addresses(notify)
    for address in named:
        try:
            validate_email(address)
        except ValidationError:
            raise InvalidInput(
                _("People to tell: “%(address)s” is not an e-mail address; nothing was saved.")
                % {"address": address[:200]}
            ) from None
    if blinded and not named:
        raise InvalidInput(
            _("Name at least one e-mail address to tell of an emergency unblinding.")
        )
    form = ""
    if blinded:
        design = design_of(project)
        row = next((r for r in design.rows if r.field_name == setup.allocation_field), None)
        names = [r.field_name for r in design.form_rows(row.form_name)] if row else []
        if row is None or names != [setup.allocation_field]:
            raise InvalidInput(
                _(
                    "Blinding needs the allocation field %(field)s alone on its form (no other "
                    "field), so that hiding the form hides nothing else; nothing was saved."
                )
                % {"field": setup.allocation_field}
            )
        form = row.form_name
    if form != setup.blinded_form and project.status != ProjectStatus.DEVELOPMENT:
        raise InvalidInput(
            _("Blinding can be turned on or off only while the project is in development.")
        )
    changes = {}
    if form != setup.blinded_form:
        changes["blinded_form"] = [setup.blinded_form, form]
    joined = "\n".join(named)
    if joined != setup.notify:
        changes["notify"] = [setup.notify, joined]
    setup.blinded_form, setup.notify = form, joined
    setup.updated_at, setup.updated_by = timezone.now(), context.actor
    setup.save(update_fields=["blinded_form", "notify", "updated_at", "updated_by"])
    if changes:
        audit_event_create(
            context=context,
            project_id=project.pk,
            action="randomization.blinding",
            details="blinded" if form else "not blinded",
            changes=changes,
        )
    return setup


def may_unblind(rights: Rights) -> bool:
    return rights.is_admin or rights.randomization_perform


@dataclasses.dataclass(frozen=True)
class Unblinded:
    unblinding: Unblinding
    arm_code: str
    arm_label: str


def emergency_unblind(
    *, context: AuditContext, project: Project, record: Record, reason: str
) -> Unblinded:
    """Reveal one record's arm to the actor: stored, audited, then told by e-mail.

    `record` must come from `records.selectors.access_record` (the actor's site only). The
    notice names the record, the person, the time and the reason, never the arm.
    """
    rights = acting_rights(context, project)
    if not may_unblind(rights) or context.actor is None:
        raise PermissionDenied(_("You may not unblind records in this project."))
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give the reason for unblinding; nothing was revealed."))
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            _("The reason is longer than %(max)d characters; nothing was revealed.")
            % {"max": MAX_REASON}
        )
    with transaction.atomic():
        setup = RandomizationSetup.objects.filter(project=project).first()
        if setup is None or not is_blinded(setup):
            raise InvalidInput(_("Randomization in this project is not blinded."))
        allocation = Allocation.objects.filter(setup=setup, record=record).first()
        if allocation is None:
            raise InvalidInput(
                _("Record %(record)s is not randomized; there is nothing to unblind.")
                % {"record": record.record_id}
            )
        unblinding = Unblinding.objects.create(
            allocation=allocation,
            record_label=record.record_id,
            reason=reason,
            unblinded_at=timezone.now(),
            unblinded_by=context.actor,
            notified="\n".join(addresses(setup.notify)),
        )
        audit_event_create(
            context=context,
            project_id=project.pk,
            action="randomization.unblind",
            target=record_target(record),
            details="Emergency unblinding",
            reason=reason,
        )
    _notify(project, unblinding)
    try:
        label = scheme_of(setup).arm_label(allocation.arm)
    except InvalidInput:
        label = allocation.arm
    return Unblinded(unblinding, allocation.arm, label)


def _notify(project: Project, unblinding: Unblinding) -> None:
    to = addresses(unblinding.notified)
    if not to:
        return
    values = {
        "record": unblinding.record_label,
        "project": project.title,
        "user": unblinding.unblinded_by.username,
        "at": unblinding.unblinded_at.isoformat(timespec="seconds"),
        "reason": unblinding.reason,
    }
    subject = _("Emergency unblinding of record %(record)s in %(project)s") % values
    body = (
        _(
            "%(user)s unblinded the allocation of record %(record)s in %(project)s at %(at)s.\n\n"
            "Reason: %(reason)s\n\nThe allocation itself is not in this message."
        )
        % values
    )
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
    except Exception as problem:  # the unblinding stands; the failure is kept
        unblinding.notify_error = str(problem)[:500] or problem.__class__.__name__
        unblinding.save(update_fields=["notify_error"])
