"""A record in several arms, as REDCap allows: the same record id with data in each arm."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import REDCAP_PROJECTS
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.design import design_of
from opencrf.records.export import export_layout, flat_rows
from opencrf.records.imports import records_import
from opencrf.records.models import FormData, Record
from opencrf.records.project_xml import project_create_from_xml
from opencrf.records.services import (
    form_save,
    record_arm_add,
    record_arm_remove,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_arms(pi_paula):
    """REDCap's arm-multiple-delete project: record 101 is in arms 1, 2 and 3; 102 in 1 and 3."""
    data = (REDCAP_PROJECTS / "arm-multiple-delete" / "project.xml").read_bytes()
    return project_create_from_xml(context=AuditContext(actor=pi_paula, source="import"), data=data)


def arms_of(project, record_id):
    record = Record.objects.get(project=project, record_id=record_id)
    return sorted(record.arms.values_list("number", flat=True))


def events_of(project, record_id):
    forms = FormData.objects.filter(record__project=project, record__record_id=record_id)
    return sorted(forms.values_list("event__unique_name", flat=True))


def last_audit(project, action):
    entry = AuditEvent.objects.filter(project_id=project.pk, action=action).latest("sequence")
    return entry.record, entry.changes


def test_the_project_xml_keeps_each_record_in_the_arms_it_has_data_in(three_arms):
    assert arms_of(three_arms, "101") == [1, 2, 3]
    assert arms_of(three_arms, "102") == [1, 3]
    assert events_of(three_arms, "102") == ["event_1_arm_1", "event_1_arm_3"]


def test_a_record_is_saved_at_another_arms_event_only_once_put_in_that_arm(
    three_arms, paula_context
):
    record = Record.objects.get(project=three_arms, record_id="102")
    arm_2 = three_arms.arms.get(number=2)
    event = arm_2.events.get()

    def save():
        return form_save(
            context=paula_context,
            record=record,
            event=event,
            form_name="demographics",
            values={"position": "pg"},
            base_version=0,
        )

    with pytest.raises(InvalidInput) as refused:
        save()
    assert refused.value.message == "No such event for this record."
    record_arm_add(context=paula_context, record=record, arm=arm_2)
    save()

    assert arms_of(three_arms, "102") == [1, 2, 3]
    assert last_audit(three_arms, "record.arm") == ("102", {"arms": ["1, 3", "1, 2, 3"]})
    assert events_of(three_arms, "102") == ["event_1_arm_1", "event_1_arm_2", "event_1_arm_3"]


def test_putting_a_record_in_an_arm_it_is_in_changes_nothing(three_arms, paula_context):
    record = Record.objects.get(project=three_arms, record_id="101")
    before = AuditEvent.objects.filter(project_id=three_arms.pk).count()

    record_arm_add(context=paula_context, record=record, arm=three_arms.arms.get(number=2))

    assert AuditEvent.objects.filter(project_id=three_arms.pk).count() == before
    assert arms_of(three_arms, "101") == [1, 2, 3]


def test_an_arm_of_another_project_is_refused(three_arms, paula_context, longitudinal_project):
    record = Record.objects.get(project=three_arms, record_id="102")
    foreign = longitudinal_project.arms.get()

    with pytest.raises(InvalidInput) as refused:
        record_arm_add(context=paula_context, record=record, arm=foreign)

    assert refused.value.message == "No such arm."
    assert arms_of(three_arms, "102") == [1, 3]


def test_taking_a_record_out_of_one_arm_deletes_only_that_arms_forms(three_arms, paula_context):
    record = Record.objects.get(project=three_arms, record_id="101")

    record_arm_remove(context=paula_context, record=record, arm=three_arms.arms.get(number=2))

    assert arms_of(three_arms, "101") == [1, 3]
    assert events_of(three_arms, "101") == ["event_1_arm_1", "event_1_arm_3"]
    assert last_audit(three_arms, "record.arm") == ("101", {"arms": ["1, 2, 3", "1, 3"]})
    deleted = AuditEvent.objects.filter(project_id=three_arms.pk, action="form.delete").get()
    assert (deleted.record, deleted.event) == ("101", "event_1_arm_2")


def test_taking_a_record_out_of_its_last_arm_deletes_the_record(three_arms, paula_context):
    record = Record.objects.get(project=three_arms, record_id="102")
    record_arm_remove(context=paula_context, record=record, arm=three_arms.arms.get(number=1))

    record_arm_remove(context=paula_context, record=record, arm=three_arms.arms.get(number=3))

    assert not Record.objects.filter(project=three_arms, record_id="102").exists()
    assert last_audit(three_arms, "record.delete") == ("102", {"record_id": ["102", ""]})


def test_an_import_puts_records_in_the_arms_of_the_events_it_writes(three_arms, paula_context):
    rows = [
        {"record_id": "102", "redcap_event_name": "event_1_arm_2", "position": "c"},
        {"record_id": "900", "redcap_event_name": "event_1_arm_3", "position": "sf"},
        {"record_id": "900", "redcap_event_name": "event_1_arm_2", "position": "pf"},
    ]

    start = AuditEvent.objects.filter(project_id=three_arms.pk).latest("sequence").sequence

    records_import(context=paula_context, project=three_arms, rows=rows)

    assert arms_of(three_arms, "102") == [1, 2, 3]
    assert arms_of(three_arms, "900") == [2, 3]
    created = AuditEvent.objects.filter(project_id=three_arms.pk, record="900")
    assert created.get(action="record.create").changes == {
        "arm": ["", "3"],
        "group": ["", ""],
    }
    joined = AuditEvent.objects.filter(
        project_id=three_arms.pk, action="record.arm", sequence__gt=start
    )
    assert sorted((entry.record, entry.changes["arms"]) for entry in joined) == [
        ("102", ["1, 3", "1, 2, 3"]),
        ("900", ["3", "2, 3"]),
    ]


def test_an_export_gives_a_record_its_rows_in_each_of_its_arms_in_order(three_arms):
    design = design_of(three_arms)
    layout = export_layout(three_arms, design)
    records = Record.objects.filter(project=three_arms, record_id__in=["101", "102"])

    rows = [
        (row["record_id"], row["redcap_event_name"])
        for row in flat_rows(three_arms, design, records, layout)
    ]

    assert rows == [
        ("101", "event_1_arm_1"),
        ("101", "event_1_arm_2"),
        ("101", "event_1_arm_3"),
        ("102", "event_1_arm_1"),
        ("102", "event_1_arm_3"),
    ]


# ---------------------------------------------------------------- pages


def test_the_record_home_offers_the_other_arms_and_adding_one_opens_its_events(
    client, pi_paula, three_arms
):
    client.force_login(pi_paula)
    home = reverse("records:home", args=[three_arms.pk, "102"])
    form = reverse("records:form", args=[three_arms.pk, "102", "event_1_arm_2", "demographics", 1])

    page = client.get(home)
    assert client.get(form).status_code == 404
    response = client.post(reverse("records:arm", args=[three_arms.pk, "102"]), {"arm": "2"})

    text = page.content.decode()
    assert 'data-testid="record-arm"' in text
    assert '<option value="2">Arm 2: Arm 2</option>' in text
    assert '<option value="1">' not in text.split('data-testid="record-arm"')[1].split("</form>")[0]
    assert response.status_code == 302
    assert response["Location"] == home
    assert client.get(form).status_code == 200
    assert 'data-testid="record-arm"' not in client.get(home).content.decode()


@pytest.mark.parametrize("arm", ["9", "", "²", "-1", "9" * 5000, "1 OR 1=1"])
def test_putting_a_record_in_an_arm_that_does_not_exist_is_refused(
    client, pi_paula, three_arms, arm
):
    client.force_login(pi_paula)
    before = AuditEvent.objects.filter(project_id=three_arms.pk).count()

    response = client.post(reverse("records:arm", args=[three_arms.pk, "102"]), {"arm": arm})

    assert response.status_code == 404
    assert arms_of(three_arms, "102") == [1, 3]
    assert AuditEvent.objects.filter(project_id=three_arms.pk).count() == before


def test_a_new_record_goes_to_the_arm_chosen_on_the_dashboard(client, pi_paula, three_arms):
    client.force_login(pi_paula)

    dashboard = client.get(reverse("records:dashboard", args=[three_arms.pk]))
    response = client.get(reverse("records:new", args=[three_arms.pk]), {"arm": "3"})
    client.post(response["Location"], {"demographics_complete": "0"})

    text = dashboard.content.decode()
    assert '<select class="form-select form-select-sm w-auto" id="new-record-arm"' in text
    headers = [
        f'Event 1<br><span class="small text-body-secondary fw-normal">Arm {n}</span>'
        for n in (1, 2, 3)
    ]
    assert all(header in text for header in headers)
    assert arms_of(three_arms, "121") == [3]  # numbered automatically after 120
    assert (
        response["Location"]
        == reverse("records:form", args=[three_arms.pk, "121", "event_1_arm_3", "demographics", 1])
        + "?new=1&arm=3&auto=1"
    )


def test_a_classic_project_offers_no_arm_choice(client, pi_paula, classic_project):
    client.force_login(pi_paula)

    dashboard = client.get(reverse("records:dashboard", args=[classic_project.pk]))

    assert 'id="new-record-arm"' not in dashboard.content.decode()
