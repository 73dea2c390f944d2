"""The field comment log: add a comment to a field; its author may edit or delete it.

Anyone who may see the field's form on that record may add a comment, while the project uses
the comment log (`Project.field_notes`); a completed project is read-only. Every change is
audited on the record (`comment.add`, `comment.edit` with the old and new text,
`comment.delete` with the text deleted).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects.models import FieldNotes
from opencrf.quality.comment_selectors import access_comment
from opencrf.quality.query_models import FieldComment
from opencrf.quality.query_selectors import FieldPlace
from opencrf.quality.query_services import MAX_TEXT, require_writable
from opencrf.records.auditing import record_target


def _checked(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput(_("Write the comment."))
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            _("The text is too long: at most %(max)s characters.") % {"max": MAX_TEXT}
        )
    return text


@transaction.atomic
def comment_add(*, context: AuditContext, place: FieldPlace, text: str) -> FieldComment:
    """Add a comment to the field of `place` (made for the actor by `access_field_place`)."""
    if place.project.field_notes != FieldNotes.COMMENT_LOG:
        raise InvalidInput(_("This project does not use the field comment log: nothing was added."))
    require_writable(place.project)
    return comment_create(context=context, place=place, text=_checked(text))


def comment_create(*, context: AuditContext, place: FieldPlace, text: str) -> FieldComment:
    """Write and audit a comment, unchecked: for `comment_add`, and for the system (an edit
    check override notes itself). Runs inside the caller's transaction."""
    comment = FieldComment.objects.create(
        project=place.project,
        record=place.record,
        event=place.event,
        form_name=place.form_name,
        instance=place.instance,
        field_name=place.field_name,
        text=text,
        author=context.actor,
        at=timezone.now(),
    )
    _audit(context, "comment.add", comment, place, {"text": ["", comment.text]})
    return comment


def _own(context: AuditContext, comment: FieldComment) -> FieldPlace:
    """The comment's field, if the actor may see it and wrote the comment."""
    assert context.actor is not None
    _comment, place = access_comment(context.actor, comment.project, comment.pk)
    if comment.author_id != context.actor.pk:
        raise PermissionDenied(_("Only its author may change or delete a comment."))
    require_writable(place.project)
    return place


@transaction.atomic
def comment_edit(*, context: AuditContext, comment: FieldComment, text: str) -> FieldComment:
    place = _own(context, comment)
    text = _checked(text)
    if text == comment.text:
        return comment
    old = comment.text
    comment.text = text
    comment.save(update_fields=["text"])
    _audit(context, "comment.edit", comment, place, {"text": [old, text]})
    return comment


@transaction.atomic
def comment_delete(*, context: AuditContext, comment: FieldComment) -> None:
    place = _own(context, comment)
    _audit(context, "comment.delete", comment, place, {"text": [comment.text, ""]})
    comment.delete()


def _audit(
    context: AuditContext,
    action: str,
    comment: FieldComment,
    place: FieldPlace,
    changes: dict[str, list[str]],
) -> None:
    audit_event_create(
        context=context,
        project_id=place.project.pk,
        action=action,
        target=record_target(place.record, place.event, place.form_name, place.instance),
        details=f"Comment {comment.pk} on {comment.field_name}",
        changes={"comment": comment.pk, "field": comment.field_name, **changes},
    )
