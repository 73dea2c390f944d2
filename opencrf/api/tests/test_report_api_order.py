"""`content=report` answers a report's columns in the report's field order, as REDCap does."""

from __future__ import annotations

import re

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def race_first(study, paula_context):
    record = record_create(context=paula_context, project=study, record_id="1")
    form_save(
        context=paula_context,
        record=record,
        event=study.events.get(),
        form_name="enrolment",
        values={"sex": "1", "race___w": "1"},
        base_version=0,
    )
    spec = ReportSpec(title="Race first", fields=("race", "sex"))
    return report_create(context=paula_context, project=study, spec=spec)


def _report(token, report, **options):
    return post({"token": token, "content": "report", "report_id": str(report.pk), **options})


def test_columns_follow_the_reports_field_order_not_the_dictionarys(token, race_first):
    rows = orjson.loads(_report(token, race_first, format="json").content)

    assert list(rows[0].items()) == [
        ("study_id", "1"),
        ("redcap_repeat_instrument", ""),
        ("redcap_repeat_instance", ""),
        ("race___a", "0"),
        ("race___w", "1"),
        ("race____99", "0"),
        ("sex", "1"),
    ]


def test_label_headers_move_with_their_columns(token, race_first):
    answer = _report(token, race_first, format="csv", rawOrLabel="label", rawOrLabelHeaders="label")

    assert answer.content.decode().splitlines() == [
        '"Study ID","Repeat Instrument","Repeat Instance","Race (choice=Asian)",'
        '"Race (choice=White)","Race (choice=Unknown)",Sex',
        "1,,,Unchecked,Checked,Unchecked,Female",
    ]


def test_xml_keeps_the_reports_field_order_too(token, race_first):
    body = _report(token, race_first, format="xml").content.decode()

    assert re.findall(r"<(\w+)>", body) == [
        "records",
        "item",
        "study_id",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "race___a",
        "race___w",
        "race____99",
        "sex",
    ]
