"""Record imports that REDCap's clients' own tests found behaving unlike REDCap (spec §2.2)."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.models import AuditEvent
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import ProjectMember
from opencrf.projects.services import event_create, event_instruments_set, group_create
from opencrf.records.models import FormData, Record

pytestmark = pytest.mark.django_db


def stored(project):
    return sorted(
        (f.record.record_id, f.event.unique_name, f.form_name, f.values, f.status)
        for f in FormData.objects.filter(project=project).select_related("record", "event")
    )


def imported(token, data, **options):
    return post({"token": token, "content": "record", "format": "csv", "data": data, **options})


@pytest.fixture
def visits(paula_context, longitudinal_project):
    """Baseline at the first event, the visit form alone at the second."""
    rows = [
        FieldRow(field_name="study_id", form_name="baseline", field_label="ID"),
        FieldRow(field_name="weight", form_name="baseline", field_label="Weight"),
        FieldRow(field_name="seen", form_name="visit", field_label="Seen", field_type="yesno"),
    ]
    project = longitudinal_project
    dictionary_apply(context=paula_context, project=project, rows=rows, source="upload")
    first = project.events.get()
    second = event_create(context=paula_context, arm=first.arm, name="Visit 2")
    event_instruments_set(
        context=paula_context,
        project=project,
        designations=[(first.pk, "baseline"), (second.pk, "visit")],
        known_forms=["baseline", "visit"],
    )
    project.refresh_from_db()
    return project


def test_key_columns_alone_at_two_events_make_the_record_s_row_at_both(
    visits, pi_paula, paula_context
):
    token = token_create(context=paula_context, user=pi_paula, project=visits)

    response = imported(token, "study_id,redcap_event_name\n1,event_1_arm_1\n1,visit_2_arm_1\n")
    exported = post({"token": token, "content": "record", "format": "csv"}).content.decode()

    assert (response.status_code, response.content) == (200, b"1")
    assert stored(visits) == [
        ("1", "event_1_arm_1", "baseline", {}, 0),
        ("1", "visit_2_arm_1", "visit", {}, 0),
    ]
    assert [line.split(",")[:2] for line in exported.splitlines()[1:]] == [
        ["1", "event_1_arm_1"],
        ["1", "visit_2_arm_1"],
    ]


def test_key_columns_beside_data_at_the_same_event_add_no_empty_form(
    visits, pi_paula, paula_context
):
    token = token_create(context=paula_context, user=pi_paula, project=visits)
    imported(token, "study_id,redcap_event_name\n1,event_1_arm_1\n")

    imported(token, "study_id,redcap_event_name,seen\n1,visit_2_arm_1,\n1,visit_2_arm_1,1\n")

    assert stored(visits) == [
        ("1", "event_1_arm_1", "baseline", {}, 0),
        ("1", "visit_2_arm_1", "visit", {"seen": "1"}, 0),
    ]


@pytest.fixture
def north(study, token, paula_context):
    group = group_create(context=paula_context, project=study, name="North")
    imported(token, "study_id,sex,redcap_data_access_group\nn1,1,north\ns1,2,\n")
    return group


def test_a_grouped_member_without_the_create_right_updates_by_import(
    study, north, paula_context, site_b_bea
):
    ProjectMember.objects.create(
        project=study,
        user=site_b_bea,
        group=north,
        api_import=True,
        api_export=True,
        record_create=False,
        form_rights={"enrolment": "edit"},
    )
    bea = token_create(context=paula_context, user=site_b_bea, project=study)

    updated = imported(bea, "study_id,sex\nn1,2\n")
    refused = imported(bea, "study_id,sex\nn2,2\n")

    assert (updated.status_code, updated.content) == (200, b"1")
    assert FormData.objects.get(record__record_id="n1").values == {"sex": "2"}
    assert (refused.status_code, Record.objects.filter(record_id="n2").exists()) == (400, False)
    assert "You may not create records" in refused.content.decode()


def test_a_group_column_moves_an_existing_record_to_that_group_audited(
    study, north, token, paula_context
):
    response = imported(token, "study_id,redcap_data_access_group\ns1,north\n")

    record = Record.objects.get(project=study, record_id="s1")
    entry = AuditEvent.objects.filter(project_id=study.pk, action="record.group").get()
    assert (response.status_code, record.group) == (200, north)
    assert (entry.record, entry.changes, entry.source) == ("s1", {"group": ["", "north"]}, "api")


def test_a_grouped_member_s_group_column_moves_nothing(study, north, paula_context, site_b_bea):
    south = group_create(context=paula_context, project=study, name="South")
    ProjectMember.objects.create(
        project=study, user=site_b_bea, group=north, api_import=True, api_export=True
    )
    bea = token_create(context=paula_context, user=site_b_bea, project=study)

    imported(bea, "study_id,redcap_data_access_group\nn1,south\n")

    assert Record.objects.get(project=study, record_id="n1").group == north
    assert south.records.count() == 0
    assert not AuditEvent.objects.filter(project_id=study.pk, action="record.group").exists()


def test_only_unticked_boxes_store_nothing_and_leave_the_form_without_data(study, token):
    imported(token, "study_id,sex\n1,1\n")
    before, entries = stored(study), AuditEvent.objects.filter(project_id=study.pk).count()

    response = imported(token, "study_id,race___a,race___w\n1,0,0\n")

    assert (response.status_code, response.content) == (200, b"1")
    assert stored(study) == before
    assert AuditEvent.objects.filter(project_id=study.pk).count() == entries


def test_a_new_record_given_only_unticked_boxes_gets_the_row_of_a_bare_id(study, token):
    response = imported(token, "study_id,race___a\n2,0\n")

    assert (response.status_code, response.content) == (200, b"1")
    assert stored(study) == [("2", "event_1_arm_1", "enrolment", {"race___a": "0"}, 0)]


def test_unticked_boxes_on_a_form_without_data_leave_it_gray(study, token, paula_context):
    rows = [
        FieldRow(field_name="study_id", form_name="enrolment", field_label="ID"),
        FieldRow(field_name="sex", form_name="enrolment", field_label="Sex", field_type="yesno"),
        FieldRow(
            field_name="symptoms",
            form_name="follow_up",
            field_label="Symptoms",
            field_type="checkbox",
            select_choices_or_calculations="1, Cough | 2, Fever",
        ),
    ]
    dictionary_apply(context=paula_context, project=study, rows=rows, source="upload")
    imported(token, "study_id,sex\n1,1\n")

    imported(token, "study_id,symptoms___1,symptoms___2\n1,0,0\n")

    assert [f[2] for f in stored(study)] == ["enrolment"]


def test_a_calculation_over_a_decimal_comma_number_is_computed(study, token, paula_context):
    rows = [
        FieldRow(field_name="study_id", form_name="enrolment", field_label="ID"),
        FieldRow(
            field_name="height",
            form_name="enrolment",
            field_label="Height (m)",
            text_validation_type_or_show_slider_number="number_comma_decimal",
        ),
        FieldRow(
            field_name="double",
            form_name="enrolment",
            field_label="Twice",
            field_type="calc",
            select_choices_or_calculations="[height] * 2",
        ),
    ]
    dictionary_apply(context=paula_context, project=study, rows=rows, source="upload")

    imported(token, 'study_id,height\n1,"1,54"\n')
    exported = post({"token": token, "content": "record", "format": "json"}).content

    assert FormData.objects.get(record__record_id="1").values == {
        "height": "1,54",
        "double": "3.08",
    }
    assert orjson.loads(exported)[0]["double"] == "3.08"


def test_an_import_s_calculation_naming_its_own_event_reads_the_values_being_imported(
    paula_context, longitudinal_project, pi_paula
):
    rows = [
        FieldRow(field_name="study_id", form_name="baseline", field_label="ID"),
        FieldRow(field_name="weight", form_name="baseline", field_label="Weight"),
        FieldRow(
            field_name="double",
            form_name="baseline",
            field_label="Twice",
            field_type="calc",
            select_choices_or_calculations="[event_1_arm_1][weight] * 2",
        ),
    ]
    dictionary_apply(
        context=paula_context, project=longitudinal_project, rows=rows, source="upload"
    )
    event_instruments_set(
        context=paula_context,
        project=longitudinal_project,
        designations=[(longitudinal_project.events.get().pk, "baseline")],
        known_forms=["baseline"],
    )
    token = token_create(context=paula_context, user=pi_paula, project=longitudinal_project)

    imported(token, "study_id,redcap_event_name,weight\n1,event_1_arm_1,3\n")
    imported(token, "study_id,redcap_event_name,weight\n1,event_1_arm_1,4\n")

    assert stored(longitudinal_project) == [
        ("1", "event_1_arm_1", "baseline", {"weight": "4", "double": "8"}, 0)
    ]
