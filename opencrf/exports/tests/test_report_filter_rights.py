"""A report's filter, live filters and ordering, and the API's filterLogic, may name only the
fields the member may see: else the records listed would tell a hidden form's values (a
blinded allocation arm, another site's form). Refused with the field named, nothing listed."""

from __future__ import annotations

import orjson
import pytest
from django.test import Client

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.exports.models import ExportFile, Report
from opencrf.exports.reports import ReportSpec, report_copy, report_create
from opencrf.projects.models import ProjectMember
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db

ROWS = [
    FieldRow(field_name="study_id", form_name="enrolment", field_label="Study ID"),
    FieldRow(
        field_name="sex",
        form_name="enrolment",
        field_label="Sex",
        field_type="radio",
        select_choices_or_calculations="1, Female | 2, Male",
    ),
    FieldRow(
        field_name="arm",
        form_name="allocation",
        field_label="Arm",
        field_type="radio",
        select_choices_or_calculations="1, Drug | 2, Placebo",
    ),
]
REFUSED = (
    "This filter or ordering uses fields you have no access to: arm. "
    "Nothing was listed or exported."
)


@pytest.fixture
def study(paula_context, classic_project):
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    event = classic_project.events.get()
    for record_id, sex, arm in (("1", "1", "1"), ("2", "2", "2"), ("3", "1", "2")):
        record = record_create(context=paula_context, project=classic_project, record_id=record_id)
        for form, values in (("enrolment", {"sex": sex}), ("allocation", {"arm": arm})):
            form_save(
                context=paula_context,
                record=record,
                event=event,
                form_name=form,
                values=values,
                base_version=0,
            )
    classic_project.refresh_from_db()
    return classic_project


def _member(django_user_model, project, username, *, allocation, export="full"):
    user = django_user_model.objects.create_user(username=username, password="x")
    ProjectMember.objects.create(
        project=project,
        user=user,
        reports=True,
        api_export=True,
        form_rights={"enrolment": "edit", "allocation": allocation},
        export_rights={"enrolment": "full", "allocation": export},
    )
    return user


@pytest.fixture
def blind_bo(django_user_model, study):
    """Full export rights on every form, but "No access" to the allocation form."""
    return _member(django_user_model, study, "blind_bo", allocation="none")


@pytest.fixture
def open_olga(django_user_model, study):
    return _member(django_user_model, study, "open_olga", allocation="read")


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _context(user):
    return AuditContext(actor=user, source="web")


def _saved(paula_context, study, **spec):
    return report_create(
        context=paula_context, project=study, spec=ReportSpec(title="Drug arm", **spec)
    )


def _web_paths(study, report):
    base = f"/projects/{study.pk}/reports/{report.pk}"
    return [f"{base}/", f"{base}/stats/"]


# Saving in the builder


def test_the_builder_refuses_a_filter_on_a_form_the_member_may_not_see(study, blind_bo):
    answer = _client(blind_bo).post(
        f"/projects/{study.pk}/reports/new/",
        {"title": "Drug arm", "fields": ["sex"], "filter_logic": "[arm] = '1'", "view_all": "1"},
    )

    assert answer.status_code == 200  # the builder again, with the message
    assert "The filter, live filters and ordering use fields you have no access to: arm." in (
        answer.content.decode()
    )
    assert Report.objects.count() == 0


@pytest.mark.parametrize(
    "spec",
    [
        {"filter_logic": "[sex] = '1' or [arm] <> ''"},
        {"filter_logic": "sum([arm], 0) > 1"},
        {"filter_logic": "[allocation_complete] = '2'"},
        {"live_filters": ("arm",)},
        {"order": (("arm", "asc"),)},
    ],
)
def test_the_service_refuses_each_way_of_naming_the_hidden_form(study, blind_bo, spec):
    with pytest.raises(InvalidInput) as refused:
        report_create(context=_context(blind_bo), project=study, spec=ReportSpec(title="X", **spec))

    hidden = "allocation_complete" if "allocation_complete" in str(spec) else "arm"
    assert refused.value.message == (
        f"The filter, live filters and ordering use fields you have no access to: {hidden}."
    )
    assert Report.objects.count() == 0


def test_a_member_who_may_see_the_form_saves_and_views_as_before(study, open_olga):
    client = _client(open_olga)
    saved = client.post(
        f"/projects/{study.pk}/reports/new/",
        {
            "title": "Drug arm",
            "fields": ["sex", "arm"],
            "filter_logic": "[arm] = '2'",
            "live_filters": ["arm"],
            "order_1": "arm",
            "view_all": "1",
        },
    )
    report = Report.objects.get()
    page = client.get(f"/projects/{study.pk}/reports/{report.pk}/")
    stats = client.get(f"/projects/{study.pk}/reports/{report.pk}/stats/")
    token = token_create(context=_context(open_olga), user=open_olga, project=study)
    api = post({"token": token, "content": "report", "report_id": str(report.pk), "format": "json"})

    assert saved.status_code == 302
    assert (page.status_code, stats.status_code, api.status_code) == (200, 200, 200)
    assert [row["study_id"] for row in orjson.loads(api.content)] == ["2", "3"]


# Running a report an administrator saved


@pytest.mark.parametrize(
    "spec",
    [
        {"filter_logic": "[arm] = '1'"},
        {"live_filters": ("arm",)},
        {"order": (("arm", "desc"),)},
    ],
)
def test_an_owners_report_on_the_hidden_form_is_refused_in_every_page(
    paula_context, study, blind_bo, spec
):
    report = _saved(paula_context, study, fields=("sex",), **spec)
    client = _client(blind_bo)

    answers = [client.get(path) for path in _web_paths(study, report)]
    answers.append(client.get(f"/projects/{study.pk}/reports/{report.pk}/?live_arm=1"))
    exported = client.post(f"/projects/{study.pk}/reports/{report.pk}/export/", {"format": "csv"})

    for answer in [*answers, exported]:
        assert answer.status_code == 403
        assert REFUSED in answer.content.decode()
        assert "study_id" not in answer.content.decode()
    assert ExportFile.objects.count() == 0


def test_an_owners_report_on_the_hidden_form_is_refused_by_the_api(paula_context, study, blind_bo):
    report = _saved(paula_context, study, fields=("sex",), filter_logic="[arm] = '1'")
    token = token_create(context=_context(blind_bo), user=blind_bo, project=study)

    answer = post(
        {"token": token, "content": "report", "report_id": str(report.pk), "format": "json"}
    )

    assert answer.status_code == 403
    assert orjson.loads(answer.content) == {"error": REFUSED}


def test_copying_an_owners_report_on_the_hidden_form_is_refused(paula_context, study, blind_bo):
    report = _saved(paula_context, study, fields=("sex",), filter_logic="[arm] = '1'")

    with pytest.raises(PermissionDenied) as refused:
        report_copy(context=_context(blind_bo), report=report)

    assert refused.value.message == REFUSED
    assert Report.objects.count() == 1


def test_the_owner_and_a_member_with_access_see_the_filtered_rows(
    paula_context, study, pi_paula, open_olga
):
    report = _saved(paula_context, study, fields=("sex",), filter_logic="[arm] = '1'")

    for user in (pi_paula, open_olga):
        page = _client(user).get(f"/projects/{study.pk}/reports/{report.pk}/")
        assert page.status_code == 200


def test_the_editor_without_access_may_still_open_and_delete_the_definition(
    paula_context, study, blind_bo
):
    report = _saved(
        paula_context, study, fields=("sex",), filter_logic="[arm] = '1'", view_all=True
    )
    report.edit_access = {"users": [blind_bo.pk]}
    report.save()
    client = _client(blind_bo)

    assert client.get(f"/projects/{study.pk}/reports/{report.pk}/edit/").status_code == 200
    assert client.post(f"/projects/{study.pk}/reports/{report.pk}/delete/").status_code == 302
    assert Report.objects.count() == 0


# The API's export records filterLogic


def _records(user, study, logic):
    token = token_create(context=_context(user), user=user, project=study)
    return post(
        {
            "token": token,
            "content": "record",
            "format": "json",
            "fields": "study_id,sex",
            "filterLogic": logic,
        }
    )


@pytest.mark.parametrize(
    "logic", ["[arm] = '1'", "[sex] = '1' and [arm] = '2'", "[event_1_arm_1][arm] = '1'"]
)
def test_record_export_refuses_filter_logic_on_the_hidden_form(study, blind_bo, logic):
    answer = _records(blind_bo, study, logic)

    assert answer.status_code == 403
    assert orjson.loads(answer.content) == {"error": REFUSED}


def test_record_export_filters_as_before_for_a_member_who_may_see_it(study, open_olga):
    answer = _records(open_olga, study, "[arm] = '2'")

    assert answer.status_code == 200
    assert [row["study_id"] for row in orjson.loads(answer.content)] == ["2", "3"]


def test_record_export_filters_on_visible_fields_for_the_blinded_member(study, blind_bo):
    answer = _records(blind_bo, study, "[sex] = '1'")

    assert answer.status_code == 200
    assert [row["study_id"] for row in orjson.loads(answer.content)] == ["1", "3"]


# Read on the form but no export right: the columns' rule decides, and it hides the form


def test_a_form_read_without_an_export_right_cannot_be_filtered_by(django_user_model, study):
    reader = _member(django_user_model, study, "reader_rei", allocation="read", export="none")

    with pytest.raises(InvalidInput):
        report_create(
            context=_context(reader),
            project=study,
            spec=ReportSpec(title="X", filter_logic="[arm] = '1'"),
        )
    answer = _records(reader, study, "[arm] = '1'")

    assert answer.status_code == 403
    assert orjson.loads(answer.content) == {"error": REFUSED}
