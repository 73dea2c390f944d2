from __future__ import annotations

import pytest

from opencrf.records.selectors import FormCell, dashboard_rows, form_data, record_forms
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def six_records(salt_rct, paula_context, events, groups):
    records = []
    for number in range(1, 7):
        group = groups["kyoto_north"] if number % 2 == 0 else groups["osaka_central"]
        record = record_create(
            context=paula_context, project=salt_rct, record_id=str(number), group=group
        )
        form_save(
            context=paula_context,
            record=record,
            event=events["baseline_arm_1"],
            form_name="baseline",
            values={"height": "160.0"},
            status=number % 3,
            base_version=0,
        )
        for instance in (1, 2):
            form_save(
                context=paula_context,
                record=record,
                event=events["week_4_arm_1"],
                form_name="adverse_event",
                instance=instance,
                values={"ae_term": "Cough"},
                status=2 if instance == 1 else 1,
                base_version=0,
            )
        records.append(record)
    return records


def test_the_dashboard_takes_the_same_few_queries_for_any_number_of_records(
    salt_rct, pi_paula, six_records, events, django_assert_num_queries
):
    with django_assert_num_queries(5):  # membership, count, records, their arms, their forms
        rows, total = dashboard_rows(pi_paula, salt_rct, per_page=4, page=2)

    assert total == 6
    assert [(record.record_id, cells) for record, cells in rows] == [
        (
            "5",
            {
                (events["baseline_arm_1"].pk, "baseline"): FormCell(2, 1),
                (events["week_4_arm_1"].pk, "adverse_event"): FormCell(1, 2),
            },
        ),
        (
            "6",
            {
                (events["baseline_arm_1"].pk, "baseline"): FormCell(0, 1),
                (events["week_4_arm_1"].pk, "adverse_event"): FormCell(1, 2),
            },
        ),
    ]


def test_the_dashboard_shows_a_grouped_member_only_their_records_and_searches(
    salt_rct, kyoto_bea, six_records
):
    rows, total = dashboard_rows(kyoto_bea, salt_rct)
    assert ([record.record_id for record, _cells in rows], total) == (["2", "4", "6"], 3)

    found, found_total = dashboard_rows(kyoto_bea, salt_rct, search="4")
    assert ([record.record_id for record, _cells in found], found_total) == (["4"], 1)


def test_record_forms_and_form_data_read_the_stored_forms(six_records, events):
    record = six_records[0]
    week_4 = events["week_4_arm_1"]

    forms = record_forms(record)

    assert sorted((event_id, name, i) for event_id, name, i in forms) == sorted(
        [
            (events["baseline_arm_1"].pk, "baseline", 1),
            (week_4.pk, "adverse_event", 1),
            (week_4.pk, "adverse_event", 2),
        ]
    )
    assert form_data(record, week_4, "adverse_event", 2) == forms[(week_4.pk, "adverse_event", 2)]
    assert form_data(record, week_4, "adverse_event", 3) is None
