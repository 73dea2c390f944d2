"""How an export reads the stored records and forms: one statement a chunk for the forms, in
the model's order, and the same rows whatever the chunk size (records/export.py)."""

from __future__ import annotations

import pytest

from conftest import REDCAP_PROJECTS
from opencrf.audit.services import AuditContext
from opencrf.dictionary.design import design_of
from opencrf.logic import evaluator, parse
from opencrf.records import export
from opencrf.records.export import ExportOptions, export_layout, flat_cells, stored_forms
from opencrf.records.models import FormData, Record
from opencrf.records.project_xml import project_create_from_xml

pytestmark = pytest.mark.django_db


def fixture_project(user, name):
    data = (REDCAP_PROJECTS / name / "project.xml").read_bytes()
    return project_create_from_xml(context=AuditContext(actor=user, source="import"), data=data)


def cells(project, options=None):
    design = design_of(project)
    layout = export_layout(project, design)
    records = Record.objects.filter(project=project)
    rows = flat_cells(project, design, records, layout, options or ExportOptions())
    return layout.header, list(rows)


def test_stored_forms_reads_only_the_given_records_in_record_event_form_instance_order(
    pi_paula,
):
    project = fixture_project(pi_paula, "repeating-instruments")
    records = list(Record.objects.filter(project=project).order_by("pk"))
    wanted = [records[-1].pk, records[0].pk]

    read = [
        (f.record_id, f.event_id, f.form_name, f.instance, f.values, f.status)
        for f in stored_forms(wanted)
    ]

    expected = list(
        FormData.objects.filter(record__in=wanted)
        .order_by("record_id", "event_id", "form_name", "instance")
        .values_list("record_id", "event_id", "form_name", "instance", "values", "status")
    )
    assert read == expected
    assert len({form[3] for form in read}) > 1  # repeat instances are among them


def test_stored_forms_of_no_records_asks_the_database_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert list(stored_forms([])) == []


def test_a_record_in_several_arms_is_read_once_with_every_arm(pi_paula):
    project = fixture_project(pi_paula, "arm-multiple-delete")
    arms = {arm.number: arm.pk for arm in project.arms.all()}

    read = {
        record.record_id: record.arm_ids
        for record in export.stored_records(Record.objects.filter(project=project))
    }

    assert read["101"] == frozenset({arms[1], arms[2], arms[3]})
    assert read["102"] == frozenset({arms[1], arms[3]})
    assert len(read) == Record.objects.filter(project=project).count()


@pytest.mark.parametrize(
    "name", ["repeating-instruments", "longitudinal", "arm-multiple-delete", "checkboxes-1"]
)
def test_the_rows_are_the_same_whatever_the_chunk_size(name, pi_paula, monkeypatch):
    project = fixture_project(pi_paula, name)
    header, whole = cells(project, ExportOptions(labels=True, groups=True))

    monkeypatch.setattr(export, "CHUNK", 1)
    assert cells(project, ExportOptions(labels=True, groups=True)) == (header, whole)
    monkeypatch.setattr(export, "CHUNK", 2)
    assert cells(project, ExportOptions(labels=True, groups=True)) == (header, whole)
    assert len(whole) > 2


def test_each_chunk_reads_its_forms_in_one_query_and_its_file_names_in_another(
    pi_paula, monkeypatch, django_assert_num_queries
):
    project = fixture_project(pi_paula, "simple")  # five records, one arm, a file field
    design = design_of(project)
    layout = export_layout(project, design)
    records = Record.objects.filter(project=project)
    monkeypatch.setattr(export, "CHUNK", 2)

    with django_assert_num_queries(1 + 3 * 2):  # the records; each chunk's forms and files
        rows = list(flat_cells(project, design, records, layout))

    assert [row[0] for row in rows] == ["1", "2", "3", "4", "5"]


def test_form_status_cells_are_codes_labels_or_blank_for_an_untouched_form(pi_paula):
    project = fixture_project(pi_paula, "blank-for-gray-status")
    record = Record.objects.get(project=project, record_id="1")
    FormData.objects.filter(record=record, form_name="health").delete()
    header = cells(project)[0]
    at = [header.index(f"{form}_complete") for form in ("demographics", "health")]
    at.append(header.index("race_and_ethnicity_complete"))

    def statuses(**options):
        rows = cells(project, ExportOptions(**options))[1]
        first = next(row for row in rows if row[0] == "1")
        return [first[n] for n in at]

    assert statuses() == ["2", "0", "2"]
    assert statuses(labels=True) == ["Complete", "Incomplete", "Complete"]
    assert statuses(blank_gray_status=True) == ["2", "", "2"]
    assert statuses(labels=True, blank_gray_status=True) == ["Complete", "", "Complete"]


def test_filter_logic_reads_the_clock_once_an_export_and_keeps_the_same_rows(pi_paula, monkeypatch):
    project = fixture_project(pi_paula, "simple")
    logic = parse("[dob] <> '' and datediff([dob], 'today', 'y') > 18")
    header, everyone = cells(project)
    at = header.index("dob")
    expected = [row for row in everyone if row[at]]  # every stored birth date is an adult's
    calls = []
    real = export.real_clock
    monkeypatch.setattr(export, "real_clock", lambda: calls.append(1) or real())
    monkeypatch.setattr(evaluator, "real_clock", lambda: pytest.fail("a row read the clock"))

    _header, kept = cells(project, ExportOptions(filter=logic))

    assert kept == expected
    assert len(expected) > 1
    assert calls == [1]
