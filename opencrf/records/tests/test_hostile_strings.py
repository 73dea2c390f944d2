"""Hostile strings in every user-controlled text render inert on every page (issue 5).

One project is built with a payload in its title, notes, instrument label, field labels and
notes, choice labels, section headers, event and arm names, group and role names, a record id,
a stored value, an uploaded file's name, the terms of use and a user's name. Then every page of
the URL configuration that takes no id beyond those of this world is opened, as an
administrator and as a member; no page may carry a payload as markup.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply, instrument_relabel
from opencrf.exports.models import Report
from opencrf.files.services import file_store
from opencrf.ops.models import Incident, MaintenanceWindow
from opencrf.projects.models import ProjectMember, Role
from opencrf.projects.services import (
    arm_create,
    event_create,
    event_instruments_set,
    group_create,
    project_create,
)
from opencrf.records.services import form_save, record_create

from .test_access_matrix import ALL, DUMMY, url

pytestmark = pytest.mark.django_db

# What must never reach a page as markup: a script element, an event handler (any case), a
# title break-out, and quote breakers that would open an attribute.
PAYLOAD = "<script>alert(1)</script><img src=x OnErRoR=alert(2)></title><script>x</script>\"'>"
DANGEROUS = [
    re.compile(rb"<script>alert\(1\)"),
    re.compile(rb"<img src=x onerror", re.IGNORECASE),
    re.compile(rb"</title><script>"),
    re.compile(rb"\"'><", re.IGNORECASE),
]


def hostile(label: str) -> str:
    return f"{label} {PAYLOAD}"


@pytest.fixture
def world(admin_ada, pi_paula, django_user_model):
    context = AuditContext(actor=pi_paula)
    project = project_create(
        context=context, title=hostile("Title"), notes=hostile("Notes"), is_longitudinal=True
    )
    rows = [
        FieldRow(field_name="record_id", form_name="intake", field_label=hostile("Record")),
        FieldRow(
            field_name="colour",
            form_name="intake",
            field_label=hostile("Colour"),
            field_type="radio",
            select_choices_or_calculations=f"1, {hostile('Red')} | 2, B",
            section_header=hostile("Section"),
            field_note=hostile("Note"),
        ),
        FieldRow(
            field_name="comment", form_name="intake", field_label="Comment", field_type="notes"
        ),
        FieldRow(field_name="scan", form_name="intake", field_label="Scan", field_type="file"),
    ]
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    instrument_relabel(context=context, instrument=project.instruments.get(), label=hostile("Form"))
    arm = arm_create(context=context, project=project, number=2, name=hostile("Arm"))
    event = event_create(context=context, arm=arm, name=hostile("Event"))
    first = project.events.get(unique_name="event_1_arm_1")
    event_instruments_set(
        context=context,
        project=project,
        designations=[(first.pk, "intake"), (event.pk, "intake")],
        known_forms=["intake"],
    )
    group = group_create(context=context, project=project, name=hostile("Site"))
    Role.objects.create(project=project, name=hostile("Role"), unique_name="U-HOSTILE001")
    stored = file_store(
        context=context,
        project=project,
        upload=SimpleUploadedFile(f"{PAYLOAD}.txt", b"plain text\n"),
    )
    record = record_create(context=context, project=project, record_id="r1", group=group)
    form_save(
        context=context,
        record=record,
        event=first,
        form_name="intake",
        values={"colour": "1", "comment": hostile("Value"), "scan": str(stored.pk)},
        base_version=0,
    )
    member = django_user_model.objects.create_user(
        username="member_mia", password="x", first_name=hostile("Mia")
    )
    ProjectMember.objects.create(
        project=project, user=member, group=group, logging=True, record_create=True, api_export=True
    )
    pi_paula.first_name = hostile("Paula")
    pi_paula.save(update_fields=["first_name"])
    # The operations pages show what administrators and alerts typed.
    now = timezone.now()
    # Opened before the month the report pages are asked for (DUMMY's 2026-11), so that the
    # instance's history covers that month and its reports exist.
    incident = Incident.objects.create(
        started_at=datetime(2026, 1, 5, tzinfo=UTC),
        title=hostile("Incident"),
        level=2,
        detail=hostile("detail"),
        impact=hostile("impact"),
        actions=hostile("actions"),
    )
    window = MaintenanceWindow.objects.create(
        title=hostile("Upgrade"),
        kind="upgrade",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=2),
        description=hostile("description"),
    )
    report = Report.objects.create(
        project=project,
        title=hostile("Report"),
        description=hostile("Report description"),
        fields=["record_id", "colour", "comment"],
        created_by=pi_paula,
    )
    return {
        "report": report,
        "incident": incident,
        "window": window,
        "project": project,
        "event": first,
        "record": record,
        "member": member,
        "group": group,
        "file": stored,
    }


def pages(world) -> list[str]:
    project, event = world["project"], world["event"]
    values = {
        **DUMMY,
        "project_id": project.pk,
        "record_id": "r1",
        "event_name": event.unique_name,
        "form_name": "intake",
        "instance": 1,
        "field_name": "comment",
        "number": 2,
        "event_id": event.pk,
        "group_id": world["group"].pk,
        "role_id": Role.objects.get(project=project).pk,
        "member_id": ProjectMember.objects.get(project=project, user=world["member"]).pk,
        "user_id": world["member"].pk,
        "file_id": world["file"].pk,
        "incident_id": world["incident"].pk,
        "window_id": world["window"].pk,
        "report_id": world["report"].pk,
        "key": str(world["report"].pk),
    }
    skip = {"accounts:logout", "api", "ops:alive", "ops:ready", "metrics"}
    return [url(route, values) for route, name, _kwargs in ALL if name not in skip]


def assert_inert(client: Client, addresses: list[str]) -> int:
    opened = 0
    for address in addresses:
        response = client.get(address)
        if response.status_code != 200 or response.streaming:
            continue
        if response["Content-Type"] == "application/pdf":
            continue  # text drawn in a PDF is never markup (pdf_text tests read PDFs' text)
        opened += 1
        for pattern in DANGEROUS:
            assert not pattern.search(response.content), (address, pattern.pattern)
    return opened


def test_no_page_shows_a_payload_as_markup_to_an_administrator(world, admin_ada):
    client = Client()
    client.force_login(admin_ada)

    opened = assert_inert(client, pages(world))

    # The report pages (stats among them) and the pages added since: survey settings and its
    # logic check, a record's consents and the access code page; the designer, draft mode,
    # codebook, languages, status, lock texts, data quality and approvals pages; the query
    # dashboard, a field's query thread, source verification, alerts and their log,
    # randomization, the calendar and its set-up.
    assert opened == 103


def test_no_page_shows_a_payload_as_markup_to_a_member(world):
    client = Client()
    client.force_login(world["member"])

    opened = assert_inert(client, pages(world))

    # With a record's consents, the survey access code page, the codebook and the status page;
    # a field's comment thread, the calendar (month and list) and its ad-hoc entry page.
    assert opened == 32


def test_the_payloads_are_shown_as_text(world, admin_ada):
    client = Client()
    client.force_login(admin_ada)

    home = client.get(f"/projects/{world['project'].pk}/")

    assert b"Title &lt;script&gt;alert(1)&lt;/script&gt;" in home.content


def test_a_terms_text_with_a_payload_is_inert(admin_ada):
    from opencrf.accounts.services import terms_create, terms_publish

    version = terms_create(actor=admin_ada, text_ja=hostile("規約"), text_en=hostile("Terms"))
    terms_publish(actor=admin_ada, version=version)
    client = Client()

    response = client.get("/accounts/terms/")

    assert response.status_code == 200
    for pattern in DANGEROUS:
        assert not pattern.search(response.content)


def test_users_are_never_deleted_so_the_names_above_stay_traceable(world):
    assert User.objects.filter(username="member_mia").exists()
