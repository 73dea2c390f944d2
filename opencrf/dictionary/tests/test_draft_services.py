"""Draft mode: entering, the impact review's counts, submitting, approving, stale drafts."""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.draft_impact import draft_review
from opencrf.dictionary.draft_services import (
    draft_approve,
    draft_discard,
    draft_enter,
    draft_reject,
    draft_submit,
)
from opencrf.dictionary.drafts import design_rows, design_save, open_draft
from opencrf.dictionary.models import DictionaryRevision
from opencrf.dictionary.selectors import project_rows
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.lifecycle import project_status_move
from opencrf.projects.models import Project, ProjectStatus
from opencrf.records.imports import records_import
from opencrf.records.models import FormData

pytestmark = pytest.mark.django_db

ROWS = [
    FieldRow(field_name="record_id", form_name="visit"),
    FieldRow(
        field_name="sex",
        form_name="visit",
        field_type="radio",
        select_choices_or_calculations="1, Male | 2, Female | 3, Other",
    ),
    FieldRow(
        field_name="symptoms",
        form_name="visit",
        field_type="checkbox",
        select_choices_or_calculations="1, Cough | 2, Fever",
    ),
    FieldRow(field_name="weight", form_name="visit"),
    FieldRow(field_name="height", form_name="visit", field_type="text"),
    FieldRow(
        field_name="bmi",
        form_name="visit",
        field_type="calc",
        select_choices_or_calculations="[weight]",
    ),
    FieldRow(field_name="notes", form_name="visit", field_type="notes"),
]
DATA = [
    {
        "record_id": "1",
        "sex": "3",
        "symptoms___1": "1",
        "weight": "70",
        "height": "abc",
        "notes": "x",
    },
    {"record_id": "2", "sex": "3", "symptoms___2": "1", "weight": "80", "height": "170"},
    {"record_id": "3", "sex": "1", "weight": "", "height": "1.5"},
    {"record_id": "4", "sex": "2"},
]


@pytest.fixture
def admin_context(admin_ada):
    return AuditContext(actor=admin_ada)


@pytest.fixture
def live(paula_context, classic_project):
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    records_import(context=paula_context, project=classic_project, rows=DATA)
    Project.objects.filter(pk=classic_project.pk).update(status=ProjectStatus.PRODUCTION)
    classic_project.refresh_from_db()
    return classic_project


def _edit(context, project, rows):
    _rows, labels, base = design_rows(project)
    return design_save(
        context=context, project=project, rows=rows, instrument_labels=labels, base=base, note=""
    )


def _changed(rows, name, **changes):
    return [row.replace(**changes) if row.field_name == name else row for row in rows]


def _by_kind(review):
    return {(c.kind, c.field_name): c for c in review.changes}


def test_entering_draft_mode_copies_the_live_dictionary(paula_context, live):
    draft = draft_enter(context=paula_context, project=live)
    assert draft.field_rows() == ROWS
    assert draft.base_revision == 1
    assert design_rows(live) == (ROWS, {"visit": "Visit"}, 1)
    with pytest.raises(InvalidInput):
        draft_enter(context=paula_context, project=live)


def test_draft_mode_is_refused_in_development(paula_context, classic_project):
    with pytest.raises(InvalidInput):
        draft_enter(context=paula_context, project=classic_project)


def test_the_review_counts_removed_fields_and_codes_that_hold_data(paula_context, live):
    draft = draft_enter(context=paula_context, project=live)
    rows = [r for r in ROWS if r.field_name not in ("notes", "weight")]
    rows = _changed(rows, "sex", select_choices_or_calculations="1, Male | 2, Female")
    rows = _changed(rows, "symptoms", select_choices_or_calculations="1, Cough")
    rows.append(FieldRow(field_name="body_weight", form_name="visit"))
    rows = _changed(rows, "bmi", select_choices_or_calculations="[body_weight]")
    _edit(paula_context, live, rows)
    draft.refresh_from_db()

    changes = _by_kind(draft_review(live, draft))

    notes = changes["field_removed", "notes"]
    assert (notes.critical, notes.held.records, notes.held.values) == (True, 1, 1)
    weight = changes["field_removed", "weight"]
    assert (weight.critical, weight.held.records) == (True, 2)
    other = changes["code_removed", "sex"]
    assert (other.critical, other.held.records, other.held.sample) == (True, 2, ("1", "2"))
    fever = changes["code_removed", "symptoms"]
    assert (fever.critical, fever.held.records, fever.held.sample) == (True, 1, ("2",))
    assert changes["field_added", "body_weight"].critical is False


def test_removing_a_calculation_that_holds_results_is_critical(paula_context, live):
    Project.objects.filter(pk=live.pk).update(status=ProjectStatus.PRODUCTION)
    draft = draft_enter(context=paula_context, project=live)
    rows = _changed(ROWS, "symptoms", select_choices_or_calculations="1, Cough | 2, Fever")
    rows = [r for r in rows if r.field_name != "bmi"]
    rows = _changed(rows, "sex", select_choices_or_calculations="1, Male | 2, Female | 3, Other")
    _edit(paula_context, live, rows)
    draft.refresh_from_db()
    review = draft_review(live, draft)
    # bmi is a calc: stored results (70, 80) remain, so its removal is critical
    assert [(c.kind, c.field_name, c.critical) for c in review.changes] == [
        ("field_removed", "bmi", True)
    ]


def test_a_validation_that_stored_values_fail_is_critical_with_its_count(paula_context, live):
    draft = draft_enter(context=paula_context, project=live)
    _edit(
        paula_context,
        live,
        _changed(ROWS, "height", text_validation_type_or_show_slider_number="integer"),
    )
    draft.refresh_from_db()
    change = _by_kind(draft_review(live, draft))["rule_changed", "height"]
    assert (change.critical, change.held.records, change.held.values) == (True, 2, 2)


def test_a_validation_every_stored_value_passes_is_safe(paula_context, live):
    draft = draft_enter(context=paula_context, project=live)
    _edit(
        paula_context,
        live,
        _changed(ROWS, "weight", text_validation_type_or_show_slider_number="integer"),
    )
    draft.refresh_from_db()
    change = _by_kind(draft_review(live, draft))["rule_changed", "weight"]
    assert (change.critical, change.held.values) == (False, 0)


def test_a_calculation_whose_results_change_is_counted(paula_context, live):
    draft = draft_enter(context=paula_context, project=live)
    _edit(paula_context, live, _changed(ROWS, "bmi", select_choices_or_calculations="[weight]*2"))
    draft.refresh_from_db()
    change = _by_kind(draft_review(live, draft))["calc_changed", "bmi"]
    assert (change.critical, change.held.records, change.held.values) == (True, 2, 2)


def test_a_safe_draft_is_applied_by_its_designer(settings, paula_context, live):
    settings.OPENCRF_DRAFT_SAFE_AUTO_APPLY = True
    draft_enter(context=paula_context, project=live)
    _edit(paula_context, live, [*ROWS, FieldRow(field_name="extra", form_name="visit")])
    draft = draft_submit(context=paula_context, project=live)
    assert draft.status == "applied"
    assert draft.applied_revision == 2
    assert DictionaryRevision.objects.get(project=live, number=2).source == "draft"
    assert project_rows(live)[-1].field_name == "extra"
    assert open_draft(live) is None


def test_a_safe_draft_waits_for_approval_when_the_site_says_so(settings, paula_context, live):
    settings.OPENCRF_DRAFT_SAFE_AUTO_APPLY = False
    draft_enter(context=paula_context, project=live)
    _edit(paula_context, live, [*ROWS, FieldRow(field_name="extra", form_name="visit")])
    assert draft_submit(context=paula_context, project=live).status == "submitted"
    assert project_rows(live) == ROWS


def test_a_critical_draft_needs_an_administrator_and_keeps_stored_values(
    paula_context, admin_context, live
):
    before = {f.record.record_id: f.values for f in FormData.objects.select_related("record")}
    draft_enter(context=paula_context, project=live)
    rows = [r for r in ROWS if r.field_name != "notes"]
    rows = _changed(rows, "sex", select_choices_or_calculations="1, Male | 2, Female")
    _edit(paula_context, live, rows)
    draft = draft_submit(context=paula_context, project=live)
    assert draft.status == "submitted" and draft.has_critical
    with pytest.raises(InvalidInput):  # a submitted draft is not edited
        _edit(paula_context, live, ROWS)
    with pytest.raises(PermissionDenied):
        draft_approve(context=paula_context, project=live)

    draft_approve(context=admin_context, project=live, comment="Checked with the PI")

    assert project_rows(live) == rows
    after = {f.record.record_id: f.values for f in FormData.objects.select_related("record")}
    assert after == before
    applied = AuditEvent.objects.get(project_id=live.pk, action="draft.apply")
    assert applied.changes["kept_values"] == {"notes": 1, "sex": 2}
    assert applied.reason == "Checked with the PI"


def test_undoing_a_removal_shows_the_kept_values_again(paula_context, admin_context, live):
    draft_enter(context=paula_context, project=live)
    _edit(paula_context, live, [r for r in ROWS if r.field_name != "notes"])
    draft_submit(context=paula_context, project=live)
    draft_approve(context=admin_context, project=live)
    draft_enter(context=paula_context, project=live)
    _edit(paula_context, live, ROWS)
    draft_submit(context=paula_context, project=live)
    assert project_rows(live) == ROWS
    assert FormData.objects.get(record__record_id="1").values["notes"] == "x"


def test_a_rejected_draft_returns_to_its_designers(paula_context, admin_context, live):
    draft_enter(context=paula_context, project=live)
    _edit(paula_context, live, ROWS[:-1])
    draft_submit(context=paula_context, project=live)
    with pytest.raises(InvalidInput):
        draft_reject(context=admin_context, project=live, comment="")
    draft = draft_reject(context=admin_context, project=live, comment="Keep the notes")
    assert draft.status == "open" and draft.review_comment == "Keep the notes"
    assert project_rows(live) == ROWS


def test_a_stale_draft_is_refused_with_a_clear_message(paula_context, admin_context, live):
    draft_enter(context=paula_context, project=live)
    _edit(paula_context, live, ROWS[:-1])
    # Another revision lands after the draft began (say, an administrator's repair).
    dictionary_apply(
        context=admin_context, project=live, rows=ROWS, source="upload", allow_production=True
    )
    with pytest.raises(InvalidInput) as refusal:
        draft_submit(context=paula_context, project=live)
    assert "revision 1, now 2" in refusal.value.message
    assert open_draft(live) is not None


def test_discarding_a_draft_leaves_the_design_untouched(paula_context, live):
    draft_enter(context=paula_context, project=live)
    _edit(paula_context, live, ROWS[:-1])
    draft_discard(context=paula_context, project=live)
    assert open_draft(live) is None
    assert project_rows(live) == ROWS
    assert list(
        AuditEvent.objects.filter(project_id=live.pk, action__startswith="draft.").values_list(
            "action", flat=True
        )
    ) == ["draft.enter", "draft.update", "draft.discard"]


def test_a_project_with_a_draft_cannot_leave_production(paula_context, live):
    draft_enter(context=paula_context, project=live)
    with pytest.raises(InvalidInput):
        project_status_move(
            context=paula_context, project=live, to=ProjectStatus.ANALYSIS, reason="x"
        )
