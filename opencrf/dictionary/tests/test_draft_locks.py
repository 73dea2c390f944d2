"""Drafts never change locked data: the review names the locked forms a change touches, and a
change that would hide their values is refused at apply time until they are unlocked."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.draft_impact import LockedForm, draft_review
from opencrf.dictionary.draft_services import draft_approve, draft_enter, draft_submit
from opencrf.dictionary.drafts import active_draft
from opencrf.dictionary.selectors import project_rows
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import DataAccessGroup, Project, ProjectMember, ProjectStatus
from opencrf.records.imports import records_import
from opencrf.records.locking import form_lock, form_unlock, record_lock
from opencrf.records.models import FormData, Record

from .test_draft_services import DATA, ROWS, _by_kind, _changed, _edit

pytestmark = pytest.mark.django_db

VISIT_1 = LockedForm("1", "event_1_arm_1", "visit", 1, False)


@pytest.fixture
def admin_context(admin_ada):
    return AuditContext(actor=admin_ada)


@pytest.fixture
def live(paula_context, classic_project):
    """The classic project in production, with four records in its one form."""
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    records_import(context=paula_context, project=classic_project, rows=DATA)
    Project.objects.filter(pk=classic_project.pk).update(status=ProjectStatus.PRODUCTION)
    classic_project.refresh_from_db()
    return classic_project


def _lock(context, project, record_id):
    record = Record.objects.get(project=project, record_id=record_id)
    event = project.events.get()
    return form_lock(context=context, record=record, event=event, form_name="visit", reason="SDV")


def _stored(project):
    return {
        form.record.record_id: form.values
        for form in FormData.objects.filter(project=project).select_related("record")
    }


def _draft_with(context, project, rows):
    draft_enter(context=context, project=project)
    _edit(context, project, rows)
    return active_draft(project)


def test_without_locks_no_change_names_a_locked_form(paula_context, live):
    draft = _draft_with(paula_context, live, [r for r in ROWS if r.field_name != "notes"])
    review = draft_review(live, draft)
    assert [(c.field_name, c.held.locked_count, c.held.locked) for c in review.changes] == [
        ("notes", 0, ())
    ]
    assert review.blocking == [] and review.touches_locked is False


def test_removing_a_field_with_data_in_a_locked_form_names_it_and_blocks(paula_context, live):
    _lock(paula_context, live, "1")
    rows = [r for r in ROWS if r.field_name != "notes"]
    rows = _changed(rows, "sex", select_choices_or_calculations="1, Male | 2, Female")
    draft = _draft_with(paula_context, live, rows)

    changes = _by_kind(draft_review(live, draft))

    notes = changes["field_removed", "notes"]
    assert (notes.critical, notes.held.locked_count, notes.held.locked) == (True, 1, (VISIT_1,))
    assert notes.blocks_apply is True
    other = changes["code_removed", "sex"]  # records 1 and 2 hold code 3; only 1 is locked
    assert (other.held.records, other.held.locked) == (2, (VISIT_1,))
    assert notes.as_json()["locked"] == [["1", "event_1_arm_1", "visit", 1, False]]


def test_applying_is_refused_naming_the_locked_forms_until_they_are_unlocked(
    paula_context, admin_context, live
):
    _lock(paula_context, live, "1")
    before = _stored(live)
    renamed = [
        r.replace(field_name="remarks") if r.field_name == "notes" else r for r in ROWS
    ]  # a rename: notes removed, remarks added
    _draft_with(paula_context, live, renamed)
    draft = draft_submit(context=paula_context, project=live)
    assert draft.status == "submitted" and draft.has_critical
    assert draft.impact["changes"][0]["locked"] == [["1", "event_1_arm_1", "visit", 1, False]]

    with pytest.raises(InvalidInput) as refusal:
        draft_approve(context=admin_context, project=live, comment="ok")

    assert refusal.value.message == (
        "The draft removes or changes fields holding data in locked forms (notes); 1 locked "
        "form(s): 1 (visit, event_1_arm_1 #1). Unlock them first, or take the change out of "
        "the draft; nothing was changed."
    )
    assert project_rows(live) == ROWS
    assert _stored(live) == before
    assert active_draft(live).status == "submitted"
    assert not AuditEvent.objects.filter(project_id=live.pk, action="draft.apply").exists()

    record = Record.objects.get(project=live, record_id="1")
    form_unlock(
        context=paula_context,
        record=record,
        event=live.events.get(),
        form_name="visit",
        reason="Design change",
    )
    draft_approve(context=admin_context, project=live, comment="ok")
    assert project_rows(live) == renamed
    assert _stored(live) == before


def test_a_locked_record_locks_every_form_of_it(paula_context, admin_context, live):
    record = Record.objects.get(project=live, record_id="2")
    record_lock(context=paula_context, record=record, reason="Closed out")
    rows = _changed(ROWS, "symptoms", select_choices_or_calculations="1, Cough")
    _draft_with(paula_context, live, rows)
    change = _by_kind(draft_review(live, active_draft(live)))["code_removed", "symptoms"]
    assert change.held.locked == (LockedForm("2", "event_1_arm_1", "visit", 1, False),)
    draft_submit(context=paula_context, project=live)
    with pytest.raises(InvalidInput, match=r"\(symptoms\); 1 locked form\(s\): 2 \(visit"):
        draft_approve(context=admin_context, project=live)


def test_an_e_signed_form_is_marked_signed(paula_context, live):
    _lock(paula_context, live, "1")
    FormData.objects.filter(project=live, record__record_id="1").update(signed_at=timezone.now())
    draft = _draft_with(paula_context, live, [r for r in ROWS if r.field_name != "notes"])
    (change,) = draft_review(live, draft).changes
    assert change.held.locked == (LockedForm("1", "event_1_arm_1", "visit", 1, True),)


def test_a_calculation_change_keeps_locked_results_and_says_so(paula_context, admin_context, live):
    _lock(paula_context, live, "2")
    before = _stored(live)
    rows = _changed(ROWS, "bmi", select_choices_or_calculations="[weight]*2")
    draft = _draft_with(paula_context, live, rows)
    review = draft_review(live, draft)
    change = _by_kind(review)["calc_changed", "bmi"]
    assert (change.critical, change.held.values, change.held.locked_count) == (True, 2, 1)
    assert change.held.locked == (LockedForm("2", "event_1_arm_1", "visit", 1, False),)
    assert change.description.endswith(
        "Results in locked forms are not recalculated; they stay as stored."
    )
    assert review.blocking == [] and review.touches_locked is True

    draft_submit(context=paula_context, project=live)
    draft_approve(context=admin_context, project=live)

    assert project_rows(live) == rows
    assert _stored(live) == before  # "bmi" of the locked record 2 is still 80
    applied = AuditEvent.objects.get(project_id=live.pk, action="draft.apply")
    assert applied.changes["locked_kept"] == {"bmi": 1}


def test_a_validation_change_names_the_locked_values_it_refuses(paula_context, live):
    _lock(paula_context, live, "1")  # height "abc"
    _lock(paula_context, live, "3")  # height "1.5"
    rows = _changed(ROWS, "height", text_validation_type_or_show_slider_number="integer")
    draft = _draft_with(paula_context, live, rows)
    change = _by_kind(draft_review(live, draft))["rule_changed", "height"]
    assert (change.held.values, change.held.locked_count, change.blocks_apply) == (2, 2, False)
    assert [form.record for form in change.held.locked] == ["1", "3"]
    assert change.description.endswith("Values in locked forms stay as they are.")


def test_moving_a_field_with_locked_data_to_another_instrument_blocks(paula_context, live):
    _lock(paula_context, live, "1")
    rows = [*ROWS, ROWS[-1].replace(field_name="filler", form_name="other")]
    rows = [r.replace(form_name="other") if r.field_name == "notes" else r for r in rows]
    draft = _draft_with(paula_context, live, rows)
    change = _by_kind(draft_review(live, draft))["form_changed", "notes"]
    assert (change.blocks_apply, change.held.locked) == (True, (VISIT_1,))


def _review_url(project):
    return reverse("dictionary:draft_review", args=[project.pk])


def test_the_review_page_names_locked_forms_and_blocks_the_approval(
    client, paula_context, admin_ada, live
):
    _lock(paula_context, live, "1")
    _draft_with(paula_context, live, [r for r in ROWS if r.field_name != "notes"])
    draft_submit(context=paula_context, project=live)
    client.force_login(admin_ada)

    page = client.get(_review_url(live)).content.decode()

    assert 'data-testid="draft-locked-block"' in page
    assert '<li data-testid="locked-form">record 1, visit, event_1_arm_1 #1</li>' in page
    assert 'data-testid="draft-approve" disabled>' in page
    refused = client.post(
        reverse("dictionary:draft_approve", args=[live.pk]), {"comment": "x"}, follow=True
    )
    assert "holding data in locked forms (notes)" in refused.content.decode()
    assert project_rows(live) == ROWS


def test_a_grouped_designer_sees_counts_but_no_record_names(
    client, paula_context, site_b_bea, live
):
    group = DataAccessGroup.objects.create(project=live, name="Site B", unique_name="site_b")
    ProjectMember.objects.create(project=live, user=site_b_bea, group=group, design=True)
    _lock(paula_context, live, "1")
    _draft_with(paula_context, live, [r for r in ROWS if r.field_name != "notes"])
    client.force_login(site_b_bea)

    response = client.get(_review_url(live))

    assert response.context["show_records"] is False
    page = response.content.decode()
    assert "1 locked" in page
    assert 'data-testid="locked-form"' not in page
    assert "Record names are not shown to members of a data access group" in page
