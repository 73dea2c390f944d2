"""Blinding: the allocation form hidden from blinded members on every path, and emergency
unblinding of one record (reason, audit, e-mail to the named people).

The blind trial keeps the arm on a form of its own. Sam (site A) and Bea (site B) randomize
and may read and export both forms by their rights, but they are blinded: no dashboard right.
Dana (dashboard) is unblinded. Mo may read the forms and nothing else.
"""

from __future__ import annotations

import io

import orjson
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.models import AuditEvent
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import ProjectMember
from opencrf.projects.selectors import member_rights
from opencrf.projects.services import group_create, project_create
from opencrf.randomization.blinding import blinding_save
from opencrf.randomization.models import RandomizationSetup, Unblinding
from opencrf.randomization.services import SetupInput, record_randomize, setup_save, table_generate
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db

ROWS = [
    FieldRow(field_name="record_id", form_name="enrol", field_label="Record ID"),
    FieldRow(
        field_name="sex",
        form_name="enrol",
        field_type="radio",
        field_label="Sex",
        select_choices_or_calculations="1, Male | 2, Female",
    ),
    FieldRow(
        field_name="arm",
        form_name="allocation",
        field_type="radio",
        field_label="Allocated arm",
        select_choices_or_calculations="1, Low salt | 2, Usual diet",
    ),
]
BOTH = {"enrol": "edit", "allocation": "edit"}
FULL = {"enrol": "full", "allocation": "full"}


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "opencrf@example.org"


@pytest.fixture
def blind(paula_context):
    project = project_create(context=paula_context, title="Blind salt trial")
    dictionary_apply(context=paula_context, project=project, rows=ROWS, source="upload")
    for unique in ("site_a", "site_b"):
        group_create(context=paula_context, project=project, name=unique, unique_name=unique)
    event = project.events.get()
    setup_save(
        context=paula_context,
        project=project,
        data=SetupInput(
            allocation_field="arm",
            allocation_event_id=event.pk,
            strata=[("sex", event.pk)],
            group_stratum=False,
            method="table",
            ratios={},
            weights={},
            preferred_probability=0.8,
        ),
    )
    table_generate(
        context=paula_context,
        project=project,
        environment="development",
        block_sizes="2",
        blocks=3,
        seed="blind",
    )
    blinding_save(
        context=paula_context,
        project=project,
        blinded=True,
        notify="safety@example.org\nsponsor@example.org",
    )
    return project


def _member(project, user, **rights):
    return ProjectMember.objects.create(
        project=project,
        user=user,
        form_rights=rights.pop("forms", BOTH),
        export_rights=FULL,
        **rights,
    )


@pytest.fixture
def sam(django_user_model, blind):
    user = django_user_model.objects.create_user(username="site_a_sam", password="x" * 12)
    group = blind.groups.get(unique_name="site_a")
    _member(
        blind,
        user,
        group=group,
        record_create=True,
        randomization_perform=True,
        reports=True,
        api_export=True,
        logging=True,
    )
    return user


@pytest.fixture
def bea(site_b_bea, blind):
    group = blind.groups.get(unique_name="site_b")
    _member(blind, site_b_bea, group=group, randomization_perform=True)
    return site_b_bea


@pytest.fixture
def dana(django_user_model, blind):
    user = django_user_model.objects.create_user(username="dmc_dana", password="x" * 12)
    _member(blind, user, randomization_dashboard=True, reports=True, api_export=True, logging=True)
    return user


@pytest.fixture
def mo(django_user_model, blind):
    user = django_user_model.objects.create_user(username="monitor_mo", password="x" * 12)
    _member(blind, user, forms={"enrol": "read", "allocation": "read"})
    return user


@pytest.fixture
def randomized(blind, sam, context_of):
    """Record A-1 of site A, female, randomized by Sam: the table's first row of stratum 2."""
    context = context_of(sam)
    record = record_create(
        context=context,
        project=blind,
        record_id="A-1",
        group=blind.groups.get(unique_name="site_a"),
    )
    form_save(
        context=context,
        record=record,
        event=blind.events.get(),
        form_name="enrol",
        values={"sex": "2"},
        base_version=0,
    )
    allocation = record_randomize(context=context, project=blind, record=record)
    return record, allocation


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def arm_label(allocation):
    return {"1": "Low salt", "2": "Usual diet"}[allocation.arm]


def unblind_url(project, record_id="A-1"):
    return reverse("randomization:unblind", args=[project.pk, record_id])


def test_blinded_members_read_the_allocation_form_as_no_access(blind, sam, dana):
    sam_rights = member_rights(sam, blind)
    dana_rights = member_rights(dana, blind)

    assert (sam_rights.form("allocation"), sam_rights.export("allocation")) == ("none", "none")
    assert (sam_rights.logging, dana_rights.logging) == (False, True)
    assert (sam_rights.form("enrol"), sam_rights.export("enrol")) == ("edit", "full")
    assert (dana_rights.form("allocation"), dana_rights.export("allocation")) == ("edit", "full")


def test_blinding_needs_the_allocation_field_alone_on_its_form(paula_context, blind):
    moved = FieldRow(
        field_name="arm",
        form_name="enrol",
        field_type="radio",
        field_label="Allocated arm",
        select_choices_or_calculations="1, Low salt | 2, Usual diet",
    )
    design_rows = [*ROWS[:2], moved]
    RandomizationSetup.objects.filter(project=blind).update(blinded_form="")
    dictionary_apply(context=paula_context, project=blind, rows=design_rows, source="upload")

    with pytest.raises(InvalidInput) as refused:
        blinding_save(
            context=paula_context, project=blind, blinded=True, notify="safety@example.org"
        )

    assert refused.value.message == (
        "Blinding needs the allocation field arm alone on its form (no other field), so that "
        "hiding the form hides nothing else; nothing was saved."
    )
    assert RandomizationSetup.objects.get(project=blind).blinded_form == ""


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        ("", "Name at least one e-mail address to tell of an emergency unblinding."),
        (
            "safety@example.org\n<script>x</script>",
            "People to tell: “<script>x</script>” is not an e-mail address; nothing was saved.",
        ),
    ],
)
def test_bad_blinding_settings_are_refused_and_save_nothing(paula_context, blind, notify, message):
    with pytest.raises(InvalidInput) as refused:
        blinding_save(context=paula_context, project=blind, blinded=True, notify=notify)

    assert refused.value.message == message
    setup = RandomizationSetup.objects.get(project=blind)
    assert (setup.blinded_form, setup.notify) == (
        "allocation",
        "safety@example.org\nsponsor@example.org",
    )


def test_blinding_settings_are_saved_on_the_setup_page_and_audited(blind, pi_paula):
    response = client_of(pi_paula).post(
        reverse("randomization:blinding", args=[blind.pk]),
        {"blinded": "1", "notify": "dsmb@example.org, safety@example.org"},
    )

    assert response.status_code == 302
    assert RandomizationSetup.objects.get(project=blind).notify == (
        "dsmb@example.org\nsafety@example.org"
    )
    entry = AuditEvent.objects.filter(project_id=blind.pk, action="randomization.blinding").last()
    assert entry.changes == {
        "notify": [
            "safety@example.org\nsponsor@example.org",
            "dsmb@example.org\nsafety@example.org",
        ]
    }


def test_a_blinded_member_sees_no_arm_on_the_record_page_or_the_form(blind, sam, randomized):
    event = blind.events.get()
    client = client_of(sam)

    home = client.get(reverse("records:home", args=[blind.pk, "A-1"])).content.decode()
    form = client.get(
        reverse("records:form", args=[blind.pk, "A-1", event.unique_name, "allocation", 1])
    )
    history = client.get(
        reverse(
            "records:field_history",
            args=[blind.pk, "A-1", event.unique_name, "allocation", 1, "arm"],
        )
    )

    assert 'data-testid="randomization-done"' in home
    assert 'data-testid="randomization-arm"' not in home
    assert "Low salt" not in home and "Usual diet" not in home
    assert 'data-testid="unblind-button"' in home
    assert form.status_code == 404  # a form without access is missing, as elsewhere
    assert "Low salt" not in form.content.decode()
    assert history.status_code == 404
    assert "Low salt" not in history.content.decode()


def test_the_unblinded_dashboard_holder_sees_the_arm(blind, dana, randomized):
    _record, allocation = randomized

    home = client_of(dana).get(reverse("records:home", args=[blind.pk, "A-1"])).content.decode()

    assert f"Allocated to {arm_label(allocation)}." in home
    assert 'data-testid="unblind-button"' not in home  # no randomize right; already unblinded


def test_the_report_and_its_export_leave_the_arm_out_for_a_blinded_member(
    blind, sam, dana, randomized
):
    report = reverse("exports:view", args=[blind.pk, "A"])

    blinded = client_of(sam).get(report, {"labels": "1"}).content.decode()
    unblinded = client_of(dana).get(report, {"labels": "1"}).content.decode()

    assert "Low salt" not in blinded and "Usual diet" not in blinded
    assert "Allocated arm" not in blinded
    assert "Allocated arm" in unblinded


def test_the_api_export_leaves_the_arm_out_for_a_blinded_member(
    blind, sam, dana, randomized, context_of
):
    _record, allocation = randomized

    def export(user):
        token = token_create(context=context_of(user), user=user, project=blind)
        answer = post({"token": token, "content": "record", "format": "json"})
        assert answer.status_code == 200
        return orjson.loads(answer.content)

    blinded = export(sam)
    unblinded = export(dana)

    assert [sorted(row) for row in blinded] == [["enrol_complete", "record_id", "sex"]]
    assert [row["arm"] for row in unblinded] == [allocation.arm]


def test_an_emergency_unblinding_shows_the_arm_records_and_tells_the_named_people(
    blind, sam, randomized
):
    _record, allocation = randomized
    client = client_of(sam)

    form = client.get(unblind_url(blind)).content.decode()
    response = client.post(
        unblind_url(blind), {"reason": "Anaphylaxis; treating physician", "confirm": "1"}
    )

    page = response.content.decode()
    assert "safety@example.org" in form and "sponsor@example.org" in form
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert f"Record allocated to {arm_label(allocation)} (code {allocation.arm})." in page
    unblinding = Unblinding.objects.get()
    assert (unblinding.record_label, unblinding.reason, unblinding.unblinded_by) == (
        "A-1",
        "Anaphylaxis; treating physician",
        sam,
    )
    assert (unblinding.notified, unblinding.notify_error) == (
        "safety@example.org\nsponsor@example.org",
        "",
    )
    entry = AuditEvent.objects.filter(project_id=blind.pk, action="randomization.unblind").get()
    assert (entry.reason, entry.details, entry.actor) == (
        "Anaphylaxis; treating physician",
        "Emergency unblinding",
        sam,
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["safety@example.org", "sponsor@example.org"]
    assert message.subject == "Emergency unblinding of record A-1 in Blind salt trial"
    assert "site_a_sam unblinded the allocation of record A-1" in message.body
    assert "Reason: Anaphylaxis; treating physician" in message.body
    assert arm_label(allocation) not in message.body
    home = client.get(reverse("records:home", args=[blind.pk, "A-1"])).content.decode()
    assert "Unblinded in an emergency by site_a_sam on " in home
    assert ": Anaphylaxis; treating physician" in home
    assert f"Allocated to {arm_label(allocation)}." in home


def test_a_failed_notice_keeps_the_unblinding_and_says_so(blind, sam, randomized, settings):
    settings.EMAIL_BACKEND = "opencrf.randomization.tests.test_blinding.BrokenBackend"

    response = client_of(sam).post(unblind_url(blind), {"reason": "Overdose", "confirm": "1"})

    assert 'data-testid="unblind-notify-failed"' in response.content.decode()
    assert Unblinding.objects.get().notify_error == "SMTP server refused"


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("SMTP server refused")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"reason": "   ", "confirm": "1"},
            "Give the reason for unblinding; nothing was revealed.",
        ),
        (
            {"reason": "Overdose"},
            "Tick the box to confirm the emergency unblinding.",
        ),
        (
            {"reason": "x" * 2001, "confirm": "1"},
            "The reason is longer than 2000 characters; nothing was revealed.",
        ),
    ],
)
def test_an_unblinding_without_a_reason_or_confirmation_reveals_nothing(
    blind, sam, randomized, data, message
):
    _record, allocation = randomized

    response = client_of(sam).post(unblind_url(blind), data)

    assert response.status_code == 400
    page = response.content.decode()
    assert message.replace("'", "&#x27;") in page
    assert arm_label(allocation) not in page
    assert Unblinding.objects.count() == 0
    assert mail.outbox == []


def test_a_forged_unblinding_without_the_right_is_refused(blind, mo, randomized):
    response = client_of(mo).post(unblind_url(blind), {"reason": "curious", "confirm": "1"})

    assert response.status_code == 403
    assert "Low salt" not in response.content.decode()
    assert Unblinding.objects.count() == 0
    assert not AuditEvent.objects.filter(action="randomization.unblind").exists()
    assert mail.outbox == []


def test_another_sites_record_cannot_be_unblinded(blind, bea, randomized):
    client = client_of(bea)

    assert client.get(unblind_url(blind)).status_code == 404
    response = client.post(unblind_url(blind), {"reason": "x", "confirm": "1"})

    assert response.status_code == 404
    assert Unblinding.objects.count() == 0
    assert mail.outbox == []


def test_an_unblinding_post_without_the_csrf_token_is_refused(blind, sam, randomized):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sam)

    response = client.post(unblind_url(blind), {"reason": "x", "confirm": "1"})

    assert response.status_code == 403
    assert Unblinding.objects.count() == 0


def test_an_unrandomized_record_has_nothing_to_unblind(blind, sam, context_of):
    record_create(
        context=context_of(sam),
        project=blind,
        record_id="A-2",
        group=blind.groups.get(unique_name="site_a"),
    )

    client = client_of(sam)
    page = client.get(unblind_url(blind, "A-2")).content.decode()
    response = client.post(unblind_url(blind, "A-2"), {"reason": "x", "confirm": "1"})

    assert 'data-testid="unblind-none"' in page
    assert response.status_code == 400
    assert "Record A-2 is not randomized; there is nothing to unblind." in (
        response.content.decode()
    )
    assert Unblinding.objects.count() == 0


def test_an_unblinded_project_has_no_unblinding_page(blind, sam, paula_context, randomized):
    RandomizationSetup.objects.filter(project=blind).update(blinded_form="")

    assert client_of(sam).get(unblind_url(blind)).status_code == 404
    assert client_of(sam).post(unblind_url(blind), {"reason": "x", "confirm": "1"}).status_code == (
        404
    )


def test_randomizing_through_the_api_does_not_tell_a_blinded_member_the_arm(blind, sam, context_of):
    ProjectMember.objects.filter(project=blind, user=sam).update(api_import=True)
    context = context_of(sam)
    record = record_create(
        context=context,
        project=blind,
        record_id="A-9",
        group=blind.groups.get(unique_name="site_a"),
    )
    form_save(
        context=context,
        record=record,
        event=blind.events.get(),
        form_name="enrol",
        values={"sex": "1"},
        base_version=0,
    )
    token = token_create(context=context, user=sam, project=blind)
    setup = RandomizationSetup.objects.get(project=blind)

    answer = post(
        {
            "token": token,
            "content": "record",
            "action": "randomize",
            "record": "A-9",
            "randomization_id": str(setup.pk),
            "format": "json",
        }
    )

    assert answer.status_code == 200
    assert orjson.loads(answer.content) == {
        "randomization_id": setup.pk,
        "record": "A-9",
        "target_field": "",
    }
    assert setup.allocations.get(record=record).arm in {"1", "2"}


def test_a_blinded_member_has_no_log_though_the_rights_grant_it(
    blind, sam, dana, randomized, context_of
):
    logging_url = reverse("projects:logging", args=[blind.pk])

    def log_export(user):
        token = token_create(context=context_of(user), user=user, project=blind)
        return post({"token": token, "content": "log", "format": "json"})

    blinded = client_of(sam).get(logging_url)
    blinded_api = log_export(sam)
    unblinded = client_of(dana).get(logging_url)

    assert blinded.status_code == 403
    assert "Low salt" not in blinded.content.decode()
    assert blinded_api.status_code == 403
    assert b"arm" not in blinded_api.content
    assert unblinded.status_code == 200


def test_the_record_pdf_leaves_the_allocation_form_out_for_a_blinded_member(
    blind, sam, dana, randomized
):
    url = reverse("records:pdf_record", args=[blind.pk, "A-1"])

    def text(user):
        response = client_of(user).get(url)
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)

    assert "Allocated arm" not in text(sam)
    assert "Allocated arm" in text(dana)
