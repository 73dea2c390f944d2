"""Narrow reads (a few stored keys, extracted by the database) give the rows that reading whole
forms gives: a report's sort pass reads them (records/export.py `stored_forms(keys=…)`, and
one query for a classic project without repeats)."""

from __future__ import annotations

import pytest

from opencrf.dictionary.design import design_of
from opencrf.records import export
from opencrf.records.export import ExportOptions, export_layout, flat_cells
from opencrf.records.models import FormData, Record
from opencrf.records.tests.test_export_reading import fixture_project

pytestmark = pytest.mark.django_db

PROJECTS = [
    "simple",
    "dag",
    "checkboxes-1",
    "potentially-problematic-values",
    "nonnumeric-record-id",
    "empty-rows",
    "decimal-comma",
    "longitudinal",
    "repeating-instruments",
    "arm-multiple-delete",
]


def _rows(project, fields, options):
    design = design_of(project)
    layout = export_layout(project, design, fields=fields, groups=options.groups)
    records = Record.objects.filter(project=project)
    keys = frozenset(column.name for column in layout.data)
    narrow = ExportOptions(**{**options.__dict__, "keys": keys})
    return (
        list(flat_cells(project, design, records, layout, narrow)),
        list(flat_cells(project, design, records, layout, options)),
    )


@pytest.mark.parametrize("name", PROJECTS)
def test_every_column_read_narrowly_gives_the_rows_of_whole_forms(name, pi_paula):
    project = fixture_project(pi_paula, name)
    design = design_of(project)
    record_field = design.record_id_field
    names = [row.field_name for row in design.rows if row.field_type != "descriptive"]
    statuses = [f"{instrument.name}_complete" for instrument in design.instruments]
    for options in (
        ExportOptions(),
        ExportOptions(labels=True, groups=True),
        ExportOptions(decimal_comma=True, blank_gray_status=True),
    ):
        for name_ in [*names, *statuses]:
            narrow, whole = _rows(project, (name_, record_field), options)
            assert narrow == whole, (name, name_, options)
        narrow, whole = _rows(project, tuple(names[:6]), options)
        assert narrow == whole


def test_a_classic_narrow_read_is_one_query_and_keeps_stored_json_types(
    pi_paula, django_assert_num_queries
):
    project = fixture_project(pi_paula, "dag")
    design = design_of(project)
    form = FormData.objects.filter(project=project).exclude(values={}).first()
    text = next(
        row.field_name
        for row in design.form_rows(form.form_name)
        if row.field_type == "text" and row.field_name != design.record_id_field
    )
    values = dict(form.values)
    values[text] = 12
    FormData.objects.filter(pk=form.pk).update(values=values)
    layout = export_layout(project, design, fields=(text, design.record_id_field), groups=True)
    records = Record.objects.filter(project=project)
    narrow = ExportOptions(groups=True, keys=frozenset(c.name for c in layout.data))
    with django_assert_num_queries(1):
        rows = list(flat_cells(project, design, records, layout, narrow))
    assert rows == list(flat_cells(project, design, records, layout, ExportOptions(groups=True)))
    assert 12 in [cell for row in rows for cell in row]


def test_a_narrow_read_of_no_records_gives_no_rows(pi_paula):
    project = fixture_project(pi_paula, "simple")
    design = design_of(project)
    layout = export_layout(project, design, fields=(design.record_id_field,))
    narrow = ExportOptions(keys=frozenset({design.record_id_field}))
    assert list(flat_cells(project, design, Record.objects.none(), layout, narrow)) == []


def test_a_narrow_read_of_a_longitudinal_project_reads_forms_a_chunk_at_a_time(
    pi_paula, monkeypatch
):
    project = fixture_project(pi_paula, "longitudinal")
    monkeypatch.setattr(export, "CHUNK", 2)
    design = design_of(project)
    fields = tuple(row.field_name for row in design.rows[:4])
    narrow, whole = _rows(project, fields, ExportOptions(labels=True))
    assert narrow == whole
    assert len(whole) > 2
