"""The codebook page: every field, grouped by instrument, searchable, for members only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.dictionary.codebook import codebook
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import design_of
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import ProjectMember

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><b>bold</b>'


def _url(project, query=""):
    url = reverse("dictionary:codebook", args=[project.pk])
    return f"{url}?q={query}" if query else url


@pytest.fixture
def hostile_project(classic_project, paula_context):
    rows = [
        FieldRow("record_id", "intake", field_label="Record ID"),
        FieldRow(
            "colour",
            "intake",
            section_header=HOSTILE,
            field_type="checkbox",
            field_label=HOSTILE,
            select_choices_or_calculations=f"1, Red | 2, {HOSTILE}",
            field_note=HOSTILE,
            required_field="y",
            identifier="y",
            branching_logic="[record_id] <> ''",
            field_annotation="@HIDDEN-SURVEY @DEFAULT='1' keep",
            matrix_group_name="grid",
        ),
        FieldRow(
            "weight",
            "intake",
            field_label="Weight",
            text_validation_type_or_show_slider_number="number",
            text_validation_min="20",
            text_validation_max="300",
        ),
        FieldRow("score", "intake", field_type="calc", select_choices_or_calculations="[weight]*2"),
    ]
    dictionary_apply(context=paula_context, project=classic_project, rows=rows, source="upload")
    return classic_project


def test_the_codebook_lists_every_field_with_its_attributes(hostile_project):
    (instrument,) = codebook(hostile_project, design_of(hostile_project))
    numbers = [(f.number, f.row.field_name) for f in instrument.fields]
    assert numbers == [(1, "record_id"), (2, "colour"), (3, "weight"), (4, "score")]
    colour = instrument.fields[1]
    assert colour.variables == ("colour___1", "colour___2")
    assert colour.choices == (("1", "Red"), ("2", HOSTILE))
    assert colour.action_tags == ("@HIDDEN-SURVEY", "@DEFAULT")
    assert instrument.fields[3].calculation == "[weight]*2"
    assert instrument.events == ()


def test_a_search_keeps_only_fields_matching_every_word(hostile_project):
    design = design_of(hostile_project)
    (instrument,) = codebook(hostile_project, design, "number 300")
    assert [f.row.field_name for f in instrument.fields] == ["weight"]
    assert codebook(hostile_project, design, "colour___2 red")[0].fields[0].row.field_name == (
        "colour"
    )
    assert codebook(hostile_project, design, "nothing-like-this") == []


def test_the_page_shows_labels_as_inert_text(client, pi_paula, hostile_project):
    client.force_login(pi_paula)
    response = client.get(_url(hostile_project))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in body
    assert body.count('data-codebook-field="') == 4
    assert 'data-testid="codebook-required"' in body
    assert 'data-testid="codebook-identifier"' in body
    assert "<code>@HIDDEN-SURVEY</code>" in body
    assert "[weight]*2" in body


def test_the_server_search_works_without_javascript(client, pi_paula, hostile_project):
    client.force_login(pi_paula)
    body = client.get(_url(hostile_project, "weight")).content.decode()
    assert 'data-codebook-field="weight"' in body
    assert 'data-codebook-field="score"' in body  # its calculation names [weight]
    assert 'data-codebook-field="colour"' not in body
    empty = client.get(_url(hostile_project, "zzz")).content.decode()
    assert 'data-codebook-field="' not in empty
    assert "No field matches the search." in empty


def test_a_longitudinal_codebook_names_the_events_of_each_instrument(client, pi_paula, salt_rct):
    listing = {i.name: i for i in codebook(salt_rct, design_of(salt_rct))}
    assert [e.unique_name for e in listing["screening"].events] == ["screening_arm_1"]
    client.force_login(pi_paula)
    body = client.get(_url(salt_rct)).content.decode()
    assert "<code>screening_arm_1</code>" in body
    assert "研究対象者ID / Study ID" in body


def test_any_member_may_read_the_codebook(client, site_b_bea, hostile_project):
    ProjectMember.objects.create(project=hostile_project, user=site_b_bea)
    client.force_login(site_b_bea)
    assert client.get(_url(hostile_project)).status_code == 200


def test_a_non_member_gets_not_found(client, site_b_bea, hostile_project):
    client.force_login(site_b_bea)
    assert client.get(_url(hostile_project)).status_code == 404
    client.logout()
    assert client.get(_url(hostile_project)).status_code == 302


def test_an_annotation_of_bare_action_tags_is_not_shown_twice(client, pi_paula, hostile_project):
    fields = codebook(hostile_project, design_of(hostile_project))[0].fields
    assert fields[1].annotation_adds  # "@HIDDEN-SURVEY @DEFAULT='1' keep"
    assert not fields[0].annotation_adds  # no annotation, no tags
