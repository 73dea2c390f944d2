"""The life of a production project's draft: enter, submit, approve or reject, apply, discard.

Every step is one transaction with its audit entry. Applying writes one dictionary revision
(source "draft") and never touches stored values: a removed field's values stay in each
form's JSON, unseen, and come back when a later revision restores the field (undo).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.diff import diff_dictionaries
from opencrf.dictionary.draft_impact import DraftReview, draft_review
from opencrf.dictionary.drafts import active_draft, live_instrument_labels
from opencrf.dictionary.models import DictionaryDraft, DraftStatus, RevisionSource
from opencrf.dictionary.selectors import latest_revision_number, project_rows
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import Project, ProjectStatus


def _lock_project(project: Project) -> None:
    Project.objects.select_for_update().filter(pk=project.pk).first()


def _locked_draft(project: Project, *states: str) -> DictionaryDraft:
    draft = (
        DictionaryDraft.objects.select_for_update()
        .filter(project=project, status__in=list(states))
        .first()
    )
    if draft is None:
        raise InvalidInput(_("This project has no draft in that state."))
    return draft


@transaction.atomic
def draft_enter(*, context: AuditContext, project: Project) -> DictionaryDraft:
    """Open a draft of a production project: a copy of its live dictionary."""
    _lock_project(project)
    project.refresh_from_db(fields=["status"])
    if project.status != ProjectStatus.PRODUCTION:
        raise InvalidInput(_("Draft mode is only for projects in production."))
    if active_draft(project) is not None:
        raise InvalidInput(_("This project already has a draft."))
    draft = DictionaryDraft.objects.create(
        project=project,
        base_revision=latest_revision_number(project),
        rows=[list(row.as_tuple()) for row in project_rows(project)],
        instrument_labels=live_instrument_labels(project),
        created_by=context.actor,
    )
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="draft.enter",
        details=f"Entered draft mode from revision {draft.base_revision}",
    )
    return draft


@transaction.atomic
def draft_discard(*, context: AuditContext, project: Project) -> None:
    """Throw the open (or submitted) draft away; the live design is untouched."""
    draft = _locked_draft(project, DraftStatus.OPEN, DraftStatus.SUBMITTED)
    draft.status = DraftStatus.DISCARDED
    draft.save(update_fields=["status", "updated_at"])
    audit_event_create(
        context=context, project_id=project.pk, action="draft.discard", details="Draft discarded"
    )


def _refuse_stale(project: Project, draft: DictionaryDraft) -> None:
    if latest_revision_number(project) != draft.base_revision:
        raise InvalidInput(
            _(
                "The live design changed since this draft began (revision %(base)d, now "
                "%(live)d): another draft was applied first. Discard this draft and start again."
            )
            % {"base": draft.base_revision, "live": latest_revision_number(project)}
        )


def designer_may_apply_safe() -> bool:
    return bool(settings.OPENCRF_DRAFT_SAFE_AUTO_APPLY)


@transaction.atomic
def draft_submit(*, context: AuditContext, project: Project) -> DictionaryDraft:
    """Submit the open draft: applied at once when every change is safe and the site lets
    designers apply safe drafts, else queued for an administrator's approval."""
    _lock_project(project)
    draft = _locked_draft(project, DraftStatus.OPEN)
    _refuse_stale(project, draft)
    review = draft_review(project, draft)
    if review.is_empty:
        raise InvalidInput(_("The draft makes no change to the design."))
    draft.has_critical = review.has_critical
    draft.impact = review.summary()
    draft.submitted_by = context.actor
    draft.submitted_at = timezone.now()
    draft.status = DraftStatus.SUBMITTED
    draft.save()
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="draft.submit",
        details="Draft submitted" + (" (critical changes)" if review.has_critical else ""),
        changes=draft.impact,
    )
    if not review.has_critical and designer_may_apply_safe():
        _apply(context, project, draft, review, comment="")
    return draft


def _refuse_unless_admin(context: AuditContext) -> None:
    if context.actor is None or not context.actor.is_superuser:
        raise PermissionDenied(_("Only an administrator may approve or reject a draft."))


@transaction.atomic
def draft_approve(*, context: AuditContext, project: Project, comment: str = "") -> DictionaryDraft:
    """An administrator approves the submitted draft: it is applied now."""
    _refuse_unless_admin(context)
    _lock_project(project)
    draft = _locked_draft(project, DraftStatus.SUBMITTED)
    _refuse_stale(project, draft)
    _apply(context, project, draft, draft_review(project, draft), comment=comment)
    return draft


@transaction.atomic
def draft_reject(*, context: AuditContext, project: Project, comment: str) -> DictionaryDraft:
    """An administrator sends the submitted draft back to its designers, with a comment."""
    _refuse_unless_admin(context)
    if not comment.strip():
        raise InvalidInput(_("Say why the draft is rejected."))
    draft = _locked_draft(project, DraftStatus.SUBMITTED)
    draft.status = DraftStatus.OPEN
    draft.reviewed_by, draft.reviewed_at = context.actor, timezone.now()
    draft.review_comment = comment.strip()
    draft.save()
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="draft.reject",
        details="Draft returned to its designers",
        reason=draft.review_comment,
    )
    return draft


# Locked form instances a refusal names at most.
REFUSAL_NAMES = 10


def refuse_locked_changes(review: DraftReview) -> None:
    """Refuse a draft that would remove, rename, move or recode a field holding data in a
    locked form (or a form of a locked record): its values would vanish from a form whose
    content is frozen. The message names the fields and the locked forms, so they can be
    unlocked first (or the change dropped). Type, validation and calculation changes do not
    block: locked values and results stay as stored."""
    blocking = review.blocking
    if not blocking:
        return
    fields = ", ".join(dict.fromkeys(change.field_name for change in blocking))
    forms = list(dict.fromkeys(str(form) for change in blocking for form in change.held.locked))
    count = max(len(forms), *(change.held.locked_count for change in blocking))
    named = ", ".join(forms[:REFUSAL_NAMES]) + (" …" if count > REFUSAL_NAMES else "")
    raise InvalidInput(
        _(
            "The draft removes or changes fields holding data in locked forms (%(fields)s); "
            "%(count)d locked form(s): %(forms)s. Unlock them first, or take the change out of "
            "the draft; nothing was changed."
        )
        % {"fields": fields, "count": count, "forms": named}
    )


def _apply(
    context: AuditContext,
    project: Project,
    draft: DictionaryDraft,
    review: DraftReview,
    *,
    comment: str,
) -> None:
    """Make the draft the live design: one revision; stored values are left as they are.

    Refused while a change would hide values of locked forms (see `refuse_locked_changes`)."""
    refuse_locked_changes(review)
    rows = draft.field_rows()
    revision = dictionary_apply(
        context=context,
        project=project,
        rows=rows,
        source=RevisionSource.DRAFT,
        note=comment or _("Draft mode changes"),
        instrument_labels=draft.instrument_labels,
        expected_revision=draft.base_revision,
        allow_production=True,
    )
    draft.status = DraftStatus.APPLIED
    draft.applied_revision = revision.number
    draft.reviewed_by, draft.reviewed_at = context.actor, timezone.now()
    draft.review_comment = comment
    draft.impact = review.summary()
    draft.save()
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="draft.apply",
        details=f"Draft applied as revision {revision.number}; stored values kept",
        changes={
            "diff": diff_dictionaries(review.old_rows, rows).summary(),
            "kept_values": review.kept_values_summary(),
            "locked_kept": {
                change.field_name: change.held.locked_count
                for change in review.changes
                if change.held.locked_count
            },
        },
        reason=comment,
    )
