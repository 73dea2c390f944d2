"""The field comment log: anyone who sees the form reads and adds comments; authors edit and
delete their own; every change is audited; another site's record looks missing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.projects.models import FieldNotes, ProjectStatus
from opencrf.quality.comment_services import comment_add, comment_delete, comment_edit
from opencrf.quality.query_models import FieldComment
from opencrf.quality.query_selectors import access_field_place
from opencrf.quality.tests.test_queries import HOSTILE, WEIGHT, member, page_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(demo):
    assert demo.field_notes == FieldNotes.COMMENT_LOG  # the default
    return demo


@pytest.fixture
def sam(django_user_model, study):
    return member(django_user_model, study, "site_a_sam", group="toto_univ")


@pytest.fixture
def reader(django_user_model, study):
    """A member of Toto University who may only read the forms, without any query right."""
    return member(django_user_model, study, "reader_rei", group="toto_univ", forms="read")


@pytest.fixture
def bea(django_user_model, study):
    return member(django_user_model, study, "site_b_bea", group="hokurei_med")


def add(user, project, text="Weighed with shoes on.", where=WEIGHT):
    place = access_field_place(user, project, *where)
    return comment_add(context=AuditContext(actor=user, source="web"), place=place, text=text)


def logged(project):
    return list(
        AuditEvent.objects.filter(project_id=project.pk, action__startswith="comment.")
        .order_by("sequence")
        .values_list("action", "record", "changes__text")
    )


def thread(project, where=WEIGHT):
    return reverse("quality:field_thread", args=[project.pk, *where])


def test_a_comment_is_added_audited_and_read_by_anyone_who_sees_the_form(
    client, study, sam, reader
):
    comment = add(sam, study)
    client.force_login(reader)

    body = client.get(thread(study)).content.decode()
    form = client.get(reverse("records:form", args=[study.pk, *WEIGHT[:4]])).content.decode()

    assert (comment.text, comment.author, comment.field_name) == (
        "Weighed with shoes on.",
        sam,
        "weight",
    )
    assert logged(study) == [("comment.add", "1-2", ["", "Weighed with shoes on."])]
    assert 'data-testid="comment-text">Weighed with shoes on.</div>' in body
    assert 'data-testid="comment-mark-weight"' in form
    assert "Edit or delete" not in body  # not the reader's comment


def test_a_reader_may_add_a_comment_too(study, reader):
    add(reader, study, text="Checked.")

    assert FieldComment.objects.get().author == reader


def test_the_author_edits_and_deletes_a_comment_and_both_are_audited(study, sam):
    comment = add(sam, study)
    context = AuditContext(actor=sam, source="web")

    comment_edit(context=context, comment=comment, text="Weighed without shoes.")
    comment_delete(context=context, comment=comment)

    assert not FieldComment.objects.exists()
    assert logged(study) == [
        ("comment.add", "1-2", ["", "Weighed with shoes on."]),
        ("comment.edit", "1-2", ["Weighed with shoes on.", "Weighed without shoes."]),
        ("comment.delete", "1-2", ["Weighed without shoes.", ""]),
    ]


def test_someone_elses_comment_cannot_be_changed_and_nothing_changes(client, study, sam, reader):
    comment = add(sam, study)
    context = AuditContext(actor=reader, source="web")
    client.force_login(reader)

    with pytest.raises(PermissionDenied):
        comment_edit(context=context, comment=comment, text="Mine")
    with pytest.raises(PermissionDenied):
        comment_delete(context=context, comment=comment)
    edited = client.post(
        reverse("quality:comment_edit", args=[study.pk, comment.pk]), {"text": "x"}
    )
    deleted = client.post(reverse("quality:comment_delete", args=[study.pk, comment.pk]))

    comment.refresh_from_db()
    assert (edited.status_code, deleted.status_code) == (403, 403)
    assert comment.text == "Weighed with shoes on."
    assert len(logged(study)) == 1


def test_another_sites_record_is_refused_as_missing_and_nothing_changes(client, study, sam, bea):
    comment = add(sam, study)
    client.force_login(bea)

    with pytest.raises(NotFound):
        add(bea, study)
    theirs = client.post(reverse("quality:comment_add", args=[study.pk, *WEIGHT]), {"text": "x"})
    missing = client.post(
        reverse("quality:comment_add", args=[study.pk, "9-9", *WEIGHT[1:]]), {"text": "x"}
    )
    edit = client.post(reverse("quality:comment_edit", args=[study.pk, comment.pk]), {"text": "x"})
    no_comment = client.post(
        reverse("quality:comment_edit", args=[study.pk, 999_999]), {"text": "x"}
    )

    assert (theirs.status_code, page_of(theirs)) == (404, page_of(missing))
    assert (edit.status_code, page_of(edit)) == (404, page_of(no_comment))
    assert FieldComment.objects.count() == 1
    assert len(logged(study)) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", "Write the comment."),
        ("x" * 10_001, "The text is too long: at most 10000 characters."),
    ],
)
def test_an_empty_or_huge_comment_is_refused(study, sam, text, message):
    with pytest.raises(InvalidInput) as error:
        add(sam, study, text=text)

    assert error.value.message == message
    assert not FieldComment.objects.exists()


def test_no_comment_is_added_in_a_project_using_queries_or_when_completed(study, sam):
    study.field_notes = FieldNotes.RESOLUTION
    study.save(update_fields=["field_notes"])
    with pytest.raises(InvalidInput) as queries:
        add(sam, study)
    study.field_notes = FieldNotes.COMMENT_LOG
    study.status = ProjectStatus.COMPLETED
    study.save(update_fields=["field_notes", "status"])
    with pytest.raises(InvalidInput) as completed:
        add(sam, study)

    assert queries.value.message == (
        "This project does not use the field comment log: nothing was added."
    )
    assert "completed and read-only" in completed.value.message
    assert not FieldComment.objects.exists()


def test_comments_are_shown_escaped_and_a_post_needs_the_csrf_token(study, sam):
    add(sam, study, text=HOSTILE)
    client = Client(enforce_csrf_checks=True)
    client.force_login(sam)

    body = client.get(thread(study)).content.decode()
    refused = client.post(reverse("quality:comment_add", args=[study.pk, *WEIGHT]), {"text": "x"})

    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;" in body
    assert refused.status_code == 403
    assert FieldComment.objects.count() == 1


def test_comments_through_the_pages(client, study, sam):
    client.force_login(sam)

    added = client.post(reverse("quality:comment_add", args=[study.pk, *WEIGHT]), {"text": "One"})
    comment = FieldComment.objects.get()
    edited = client.post(
        reverse("quality:comment_edit", args=[study.pk, comment.pk]), {"text": "Two"}
    )
    empty = client.post(reverse("quality:comment_edit", args=[study.pk, comment.pk]), {"text": ""})
    comment.refresh_from_db()
    deleted = client.post(reverse("quality:comment_delete", args=[study.pk, comment.pk]))

    assert added["Location"].endswith(f"#comment-{comment.pk}")
    assert edited.status_code == 302
    assert empty.status_code == 400 and "Write the comment." in empty.content.decode()
    assert comment.text == "Two"
    assert deleted.status_code == 302
    assert not FieldComment.objects.exists()
