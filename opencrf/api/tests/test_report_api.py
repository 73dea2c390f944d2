"""`content=report` (PyCap's export_report): a saved report's rows with REDCap's options."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.services import AuditContext
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.projects.models import DataAccessGroup, ProjectMember
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(study, paula_context):
    event = study.events.get()
    for record_id, values in (("1", {"sex": "1", "race___a": "1"}), ("2", {"sex": "2"})):
        record = record_create(context=paula_context, project=study, record_id=record_id)
        form_save(
            context=paula_context,
            record=record,
            event=event,
            form_name="enrolment",
            values=values,
            base_version=0,
        )
    spec = ReportSpec(title="Women", fields=("sex", "race"), filter_logic="[sex] = '1'")
    return report_create(context=paula_context, project=study, spec=spec)


def _report(token, report, **options):
    return post({"token": token, "content": "report", "report_id": str(report.pk), **options})


def test_a_report_answers_its_rows_in_json(token, report):
    answer = _report(token, report, format="json")
    assert answer.status_code == 200
    assert orjson.loads(answer.content) == [
        {
            "study_id": "1",
            "redcap_repeat_instrument": "",
            "redcap_repeat_instance": "",
            "sex": "1",
            "race___a": "1",
            "race___w": "0",
            "race____99": "0",
        }
    ]


def test_a_report_answers_labels_label_headers_and_checkbox_labels_in_csv(token, report):
    answer = _report(
        token,
        report,
        format="csv",
        rawOrLabel="label",
        rawOrLabelHeaders="label",
        exportCheckboxLabel="true",
        csvDelimiter=";",
    )
    assert answer.content.decode() == (
        '"Study ID";"Repeat Instrument";"Repeat Instance";Sex;"Race (choice=Asian)";'
        '"Race (choice=White)";"Race (choice=Unknown)"\n'
        "1;;;Female;Asian;;\n"
    )


def test_an_unknown_or_hidden_report_is_not_valid(token, report, study, django_user_model):
    missing = post({"token": token, "content": "report", "report_id": "999", "format": "json"})
    assert orjson.loads(missing.content) == {
        "error": 'The value of the parameter "report_id" is not valid'
    }
    report.view_all = False
    report.save()
    user = django_user_model.objects.create_user(username="api_ann", password="x")
    ProjectMember.objects.create(
        project=study,
        user=user,
        api_export=True,
        export_rights={"enrolment": "full", "adverse_event": "full"},
    )
    other = token_create(context=AuditContext(actor=user), user=user, project=study)
    hidden = _report(other, report, format="json")
    assert (hidden.status_code, orjson.loads(hidden.content)) == (
        400,
        {"error": 'The value of the parameter "report_id" is not valid'},
    )


def test_a_grouped_token_gets_only_its_groups_rows(token, report, study, django_user_model):
    group = DataAccessGroup.objects.create(project=study, name="Site B", unique_name="site_b")
    user = django_user_model.objects.create_user(username="site_b_bob", password="x")
    ProjectMember.objects.create(
        project=study,
        user=user,
        group=group,
        api_export=True,
        form_rights={"enrolment": "read"},  # the report filters on [sex]: no access refuses it
        export_rights={"enrolment": "full", "adverse_event": "full"},
    )
    other = token_create(context=AuditContext(actor=user), user=user, project=study)
    answer = _report(other, report, format="csv")
    assert answer.content == b""  # REDCap answers no rows with an empty body


def test_a_report_answers_xml_and_refuses_a_type_it_does_not_have(token, report):
    answer = _report(token, report, format="xml")
    item = "".join(
        f"<{name}><![CDATA[{value}]]></{name}>"
        for name, value in (
            ("study_id", "1"),
            ("redcap_repeat_instrument", ""),
            ("redcap_repeat_instance", ""),
            ("sex", "1"),
            ("race___a", "1"),
            ("race___w", "0"),
            ("race____99", "0"),
        )
    )
    assert answer.content.decode() == (
        f'<?xml version="1.0" encoding="UTF-8" ?>\n<records>\n<item>{item}</item>\n</records>\n'
    )
    refused = _report(token, report, format="json", type="eav")
    assert (refused.status_code, orjson.loads(refused.content)) == (
        400,
        {"error": 'The value of the parameter "type" is not valid'},
    )
