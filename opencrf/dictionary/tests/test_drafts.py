"""The design contract shared by the online designer and draft mode."""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.drafts import design_rows, design_save, is_editable
from opencrf.dictionary.models import DictionaryDraft, DictionaryRevision
from opencrf.dictionary.selectors import project_rows
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import ProjectStatus

pytestmark = pytest.mark.django_db

ROWS = [
    FieldRow(field_name="record_id", form_name="baseline", field_label="Record ID"),
    FieldRow(field_name="age", form_name="baseline", field_label="Age"),
]


@pytest.fixture
def designed(paula_context, classic_project):
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    return classic_project


@pytest.fixture
def in_production(designed):
    designed.status = ProjectStatus.PRODUCTION
    designed.save(update_fields=["status"])
    return designed


def _open_draft(project):
    return DictionaryDraft.objects.create(
        project=project,
        base_revision=1,
        rows=[list(row.as_tuple()) for row in ROWS],
        instrument_labels={"baseline": "Baseline"},
    )


def test_design_rows_of_a_project_in_development_are_the_live_dictionary(designed):
    rows, labels, base = design_rows(designed)
    assert (rows, labels, base) == (ROWS, {"baseline": "Baseline"}, 1)


def test_a_save_in_development_applies_at_once_and_returns_the_new_revision(
    paula_context, designed
):
    new = [*ROWS, FieldRow(field_name="sex", form_name="baseline")]
    base = design_save(
        context=paula_context,
        project=designed,
        rows=new,
        instrument_labels={"baseline": "Baseline visit"},
        base=1,
        note="add sex",
    )
    assert base == 2
    assert project_rows(designed) == new
    assert DictionaryRevision.objects.get(project=designed, number=2).source == "designer"
    assert design_rows(designed)[1] == {"baseline": "Baseline visit"}


def test_a_stale_save_in_development_is_refused_and_changes_nothing(paula_context, designed):
    with pytest.raises(InvalidInput):
        design_save(
            context=paula_context,
            project=designed,
            rows=ROWS[:1],
            instrument_labels={},
            base=0,
            note="",
        )
    assert project_rows(designed) == ROWS


def test_a_production_project_without_a_draft_refuses_design_saves(paula_context, in_production):
    assert not is_editable(in_production)
    with pytest.raises(InvalidInput) as refusal:
        design_save(
            context=paula_context,
            project=in_production,
            rows=ROWS[:1],
            instrument_labels={},
            base=1,
            note="",
        )
    assert refusal.value.message == (
        "Enter draft mode to change the design of a project in production."
    )
    assert project_rows(in_production) == ROWS


def test_a_save_in_production_goes_into_the_open_draft(paula_context, in_production):
    draft = _open_draft(in_production)
    assert is_editable(in_production)
    assert design_rows(in_production)[2] == 1
    new = [*ROWS, FieldRow(field_name="weight", form_name="baseline")]

    base = design_save(
        context=paula_context,
        project=in_production,
        rows=new,
        instrument_labels={"baseline": "Baseline"},
        base=1,
        note="weight",
    )

    assert base == 2
    assert design_rows(in_production) == (new, {"baseline": "Baseline"}, 2)
    assert project_rows(in_production) == ROWS
    draft.refresh_from_db()
    assert draft.version == 2
    audit = AuditEvent.objects.filter(project_id=in_production.pk, action="draft.update").get()
    assert audit.changes["added_fields"] == ["weight"]


def test_a_stale_save_into_the_draft_is_refused_and_changes_nothing(paula_context, in_production):
    _open_draft(in_production)
    design_save(
        context=paula_context,
        project=in_production,
        rows=ROWS[:1],
        instrument_labels={},
        base=1,
        note="",
    )
    with pytest.raises(InvalidInput):
        design_save(
            context=paula_context,
            project=in_production,
            rows=ROWS,
            instrument_labels={},
            base=1,
            note="",
        )
    assert design_rows(in_production)[0] == ROWS[:1]


def test_a_project_in_analysis_is_not_editable(paula_context, designed):
    designed.status = ProjectStatus.ANALYSIS
    designed.save(update_fields=["status"])
    assert not is_editable(designed)
    with pytest.raises(InvalidInput):
        design_save(
            context=paula_context,
            project=designed,
            rows=ROWS,
            instrument_labels={},
            base=1,
            note="",
        )
