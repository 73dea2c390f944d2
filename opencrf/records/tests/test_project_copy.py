"""New projects from a copy, a template or Project XML, through records' services."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import PermissionDenied
from opencrf.dictionary.selectors import project_rows
from opencrf.projects.models import Project, ProjectMember
from opencrf.projects.selectors import member_rights
from opencrf.projects.templates_data import template_xml
from opencrf.records.models import FormData, Record
from opencrf.records.project_copy import CopyOptions, project_copy
from opencrf.records.services import record_create_with_form
from opencrf.records.tests.conftest import coordinator_rights

pytestmark = pytest.mark.django_db


@pytest.fixture
def entered(salt_rct, paula_context, events, groups):
    """Records 1-1 (Osaka) and 2-1 (Kyoto North), each with a screening form."""
    for record_id, group, initials in (
        ("1-1", "osaka_central", "AA"),
        ("2-1", "kyoto_north", "BB"),
    ):
        record, _result = record_create_with_form(
            context=paula_context,
            project=salt_rct,
            record_id=record_id,
            arm=None,
            event=events["screening_arm_1"],
            form_name="screening",
            values={"initials": initials, "sex": "2"},
        )
        record.group = groups[group]
        record.save(update_fields=["group"])
    return salt_rct


def _values(project):
    return sorted(
        (f.record.record_id, f.event.unique_name, f.form_name, f.instance, f.values.get("sex"))
        for f in FormData.objects.filter(project=project).select_related("record", "event")
    )


def test_a_design_only_copy_takes_the_design_and_nothing_else(entered, paula_context, pi_paula):
    copy = project_copy(context=paula_context, source=entered, title="Copy", options=CopyOptions())
    assert copy.title == "Copy" and copy.pk != entered.pk
    assert project_rows(copy) == project_rows(entered)
    assert list(copy.events.values_list("unique_name", flat=True)) == list(
        entered.events.values_list("unique_name", flat=True)
    )
    assert not Record.objects.filter(project=copy).exists()
    assert not copy.groups.exists()
    assert list(copy.members.values_list("user__username", flat=True)) == ["pi_paula"]
    assert member_rights(pi_paula, copy).design and member_rights(pi_paula, copy).user_rights


def test_a_copy_with_records_writes_their_audit_in_the_new_project(entered, paula_context):
    options = CopyOptions(records=True, groups=True)
    copy = project_copy(context=paula_context, source=entered, title="Copy", options=options)
    assert _values(copy) == _values(entered)
    groups = dict(
        Record.objects.filter(project=copy).values_list("record_id", "group__unique_name")
    )
    assert groups == {"1-1": "osaka_central", "2-1": "kyoto_north"}
    saves = AuditEvent.objects.filter(project_id=copy.pk, record="1-1").exclude(
        action="record.create"
    )
    assert {(e.source, e.reason, e.actor_name) for e in saves} == {
        ("system", f"copied from project {entered.pk}", "pi_paula")
    }


def test_a_copy_without_groups_keeps_records_ungrouped(entered, paula_context):
    copy = project_copy(
        context=paula_context, source=entered, title="C", options=CopyOptions(records=True)
    )
    assert set(Record.objects.filter(project=copy).values_list("group", flat=True)) == {None}


def test_a_copy_with_users_takes_their_rights_and_groups(entered, paula_context, kyoto_bea):
    options = CopyOptions(users=True, groups=True)
    copy = project_copy(context=paula_context, source=entered, title="C", options=options)
    bea = ProjectMember.objects.get(project=copy, user=kyoto_bea)
    assert bea.group.unique_name == "kyoto_north"
    assert bea.record_create and not bea.design
    assert bea.form_rights == coordinator_rights(entered)["form_rights"]


def test_a_group_member_copies_only_their_group_s_records(entered, kyoto_bea, site_b_bea):
    ProjectMember.objects.filter(project=entered, user=kyoto_bea).update(
        design=True, export_rights=dict.fromkeys(coordinator_rights(entered)["form_rights"], "full")
    )
    context = AuditContext(actor=site_b_bea)
    copy = project_copy(
        context=context, source=entered, title="C", options=CopyOptions(records=True)
    )
    assert list(Record.objects.filter(project=copy).values_list("record_id", flat=True)) == ["2-1"]


def test_copying_needs_design_rights_and_changes_nothing(entered, kyoto_bea):
    before = (Project.objects.count(), AuditEvent.objects.count())
    with pytest.raises(PermissionDenied):
        project_copy(
            context=AuditContext(actor=kyoto_bea),
            source=entered,
            title="C",
            options=CopyOptions(records=True),
        )
    assert (Project.objects.count(), AuditEvent.objects.count()) == before


def test_the_copy_page_offers_only_projects_the_user_may_design(
    client, entered, kyoto_bea, pi_paula, classic_project
):
    kyoto_bea.may_create_projects = True
    kyoto_bea.save(update_fields=["may_create_projects"])
    client.force_login(kyoto_bea)
    response = client.get(reverse("project_new:copy"))
    assert response.context["has_projects"] is False
    client.force_login(pi_paula)
    page = client.get(reverse("project_new:copy") + f"?source={entered.pk}")
    choices = [label for _pk, label in page.context["form"].fields["source"].choices]
    assert choices == [f"#{classic_project.pk} Classic study", f"#{entered.pk} {entered.title}"]
    assert page.context["form"].initial["title"] == f"{entered.title} (copy)"


def test_the_copy_page_creates_the_copy(client, pi_paula, entered):
    client.force_login(pi_paula)
    response = client.post(
        reverse("project_new:copy"),
        {"source": entered.pk, "title": "<b>Copy</b>", "records": "on"},
    )
    copy = Project.objects.get(title="<b>Copy</b>")
    assert response["Location"] == reverse("projects:home", args=[copy.pk])
    assert Record.objects.filter(project=copy).count() == 2
    home = client.get(response["Location"]).content.decode()
    assert "&lt;b&gt;Copy&lt;/b&gt;" in home and "<b>Copy</b>" not in home


def test_a_project_another_user_designs_cannot_be_posted(client, site_b_bea, entered):
    site_b_bea.may_create_projects = True
    site_b_bea.save(update_fields=["may_create_projects"])
    client.force_login(site_b_bea)
    before = Project.objects.count()
    response = client.post(reverse("project_new:copy"), {"source": entered.pk, "title": "X"})
    assert response.status_code == 200
    assert "source" in response.context["form"].errors
    assert Project.objects.count() == before


def test_users_who_may_not_create_projects_are_sent_to_the_request_form(client, site_b_bea):
    client.force_login(site_b_bea)
    for name in ("copy", "template", "xml"):
        response = client.get(reverse(f"project_new:{name}"))
        assert response["Location"] == reverse("project_requests:new")


@pytest.mark.parametrize(
    ("name", "instruments"),
    [
        ("consent_adverse_events", ["consent", "demographics", "adverse_events"]),
        (
            "demo_study",
            [
                "enrolment",
                "baseline",
                "visit",
                "quality_of_life",
                "adverse_event",
                "study_completion",
            ],
        ),
    ],
)
def test_a_template_makes_a_new_project(client, pi_paula, name, instruments):
    client.force_login(pi_paula)
    response = client.post(reverse("project_new:template"), {"template": name, "title": "T"})
    project = Project.objects.get(title="T")
    assert response["Location"] == reverse("projects:home", args=[project.pk])
    assert list(project.instruments.values_list("name", flat=True)) == instruments
    assert project.surveys_enabled
    assert not Record.objects.filter(project=project).exists()


def test_an_unknown_template_is_refused(client, pi_paula):
    client.force_login(pi_paula)
    before = Project.objects.count()
    response = client.post(reverse("project_new:template"), {"template": "nope", "title": "T"})
    assert "template" in response.context["form"].errors
    assert Project.objects.count() == before


def test_a_project_xml_upload_makes_a_new_project(client, pi_paula):
    client.force_login(pi_paula)
    data = template_xml("consent_adverse_events")
    upload = SimpleUploadedFile("p.xml", data, content_type="application/xml")
    response = client.post(reverse("project_new:xml"), {"file": upload, "title": ""})
    project = Project.objects.get(pk=int(response["Location"].strip("/").split("/")[-1]))
    assert project.title == "同意・有害事象スターター / Consent and adverse events starter"
    assert project.fields.count() == 24


def test_a_bad_project_xml_file_names_the_fault_and_creates_nothing(client, pi_paula):
    client.force_login(pi_paula)
    before = Project.objects.count()
    upload = SimpleUploadedFile("p.xml", b"<ODM><nope/></ODM>", content_type="application/xml")
    response = client.post(reverse("project_new:xml"), {"file": upload})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Project XML: the root element must be an ODM 1.3 <ODM> element."
    ]
    assert Project.objects.count() == before


def test_a_deleted_template_project_s_public_survey_link_stops(paula_context, admin_ada):
    from opencrf.core.errors import NotFound
    from opencrf.projects.deletion import project_delete
    from opencrf.records.project_copy import project_create_from_template
    from opencrf.surveys.models import Survey
    from opencrf.surveys.selectors import survey_by_public_token

    project = project_create_from_template(
        context=paula_context, name="consent_adverse_events", title="Starter"
    )
    token = Survey.objects.get(project=project, form_name="consent").public_token
    assert survey_by_public_token(token).project == project
    project_delete(
        context=AuditContext(actor=admin_ada), project=project, confirm_title="Starter", reason="x"
    )
    with pytest.raises(NotFound):
        survey_by_public_token(token)


def test_a_copy_with_users_keeps_a_member_s_role(entered, paula_context, site_b_bea):
    from opencrf.projects.rights_services import role_create

    role = role_create(
        context=paula_context,
        project=entered,
        name="Monitor",
        rights={"logging": True, "form_rights": {"screening": "read"}},
    )
    ProjectMember.objects.create(project=entered, user=site_b_bea, role=role)
    copy = project_copy(
        context=paula_context, source=entered, title="C", options=CopyOptions(users=True)
    )
    bea = ProjectMember.objects.select_related("role").get(project=copy, user=site_b_bea)
    assert bea.role.name == "Monitor" and bea.role.project_id == copy.pk
    assert member_rights(site_b_bea, copy).logging
    assert member_rights(site_b_bea, copy).form("screening") == "read"


@pytest.mark.parametrize(("surveys", "expected"), [(True, ["consent"]), (False, [])])
def test_survey_settings_are_copied_only_when_asked(paula_context, surveys, expected):
    from opencrf.records.project_copy import project_create_from_template
    from opencrf.surveys.models import Survey

    source = project_create_from_template(
        context=paula_context, name="consent_adverse_events", title="Starter"
    )
    copy = project_copy(
        context=paula_context,
        source=source,
        title="C",
        options=CopyOptions(surveys=surveys),
    )
    forms = list(Survey.objects.filter(project=copy).values_list("form_name", flat=True))
    assert forms == expected
    assert copy.surveys_enabled


@pytest.mark.parametrize("surveys", [True, False])
def test_survey_responses_are_copied_with_records_and_survey_settings(pi_paula, surveys):
    from pathlib import Path

    from opencrf.records.project_xml import project_create_from_xml
    from opencrf.surveys.models import SurveyResponse

    fixture = Path(__file__).resolve().parents[3] / "tests/fixtures/redcap-projects/survey"
    context = AuditContext(actor=pi_paula, source="import")
    source = project_create_from_xml(context=context, data=(fixture / "project.xml").read_bytes())
    options = CopyOptions(records=True, surveys=surveys)
    copy = project_copy(context=context, source=source, title="C", options=options)

    def responses(project):
        return sorted(
            (r.record.record_id, r.survey.form_name, r.status)
            for r in SurveyResponse.objects.filter(project=project).select_related(
                "record", "survey"
            )
        )

    assert responses(copy) == (responses(source) if surveys else [])
    assert len(responses(source)) == 3


def test_a_copy_takes_the_languages_and_translations(entered, paula_context):
    from opencrf.dictionary.translation_selectors import translation_table
    from opencrf.dictionary.translation_services import language_add, translations_set

    language_add(context=paula_context, project=entered, code="ja", display_name="日本語")
    language_add(context=paula_context, project=entered, code="en", display_name="English")
    translations_set(
        context=paula_context, project=entered, code="en", texts={("field-label", "sex", ""): "Sex"}
    )
    copy = project_copy(context=paula_context, source=entered, title="Copy", options=CopyOptions())
    assert list(copy.languages.values_list("code", "is_base")) == [("ja", True), ("en", False)]
    assert translation_table(copy, "en") == {("field-label", "sex", ""): "Sex"}
    assert AuditEvent.objects.filter(project_id=copy.pk, action="translation.copy").count() == 1
