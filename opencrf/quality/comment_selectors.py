"""Protected reads of the field comment log (REDCap's Field Comment Log).

Comments are shown to anyone who may see the field's form on that record
(`query_selectors.access_field_place`); a comment of another group's record looks missing.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import NotFound
from opencrf.projects.models import Event, Project
from opencrf.quality.query_models import FieldComment
from opencrf.quality.query_selectors import FieldPlace, access_field_place
from opencrf.records.errors import RecordNotFound
from opencrf.records.models import Record


def field_comments(place: FieldPlace) -> list[FieldComment]:
    """The comments on a field, oldest first, with their authors (one query)."""
    comments = FieldComment.objects.filter(
        record=place.record,
        event=place.event,
        form_name=place.form_name,
        instance=place.instance,
        field_name=place.field_name,
    )
    return list(comments.select_related("author").order_by("at", "id"))


def access_comment(
    user: User, project: Project, comment_id: int
) -> tuple[FieldComment, FieldPlace]:
    """A comment and its field if `user` may see them, else NotFound."""
    comment = (
        FieldComment.objects.filter(project=project, pk=comment_id)
        .select_related("record", "event", "author")
        .first()
    )
    if comment is None:
        raise NotFound(_("No such comment."))
    try:
        place = access_field_place(
            user,
            project,
            comment.record.record_id,
            comment.event.unique_name,
            comment.form_name,
            comment.instance,
            comment.field_name,
        )
    except (NotFound, RecordNotFound):
        raise NotFound(_("No such comment.")) from None
    return comment, place


def form_comment_counts(
    record: Record, event: Event, form_name: str, instance: int
) -> dict[str, int]:
    """Field name → how many comments it has, for one form instance."""
    counts: dict[str, int] = {}
    names = FieldComment.objects.filter(
        record=record, event=event, form_name=form_name, instance=instance
    ).values_list("field_name", flat=True)
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return counts
