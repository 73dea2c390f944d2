"""Instance roles: the banners, a training instance's silence and its nightly reset."""

from __future__ import annotations

import logging

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import get_connection, send_mail
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from opencrf.accounts.models import User
from opencrf.api.models import ApiToken
from opencrf.api.tokens import token_create
from opencrf.audit.models import AuditEvent
from opencrf.audit.training import NotATrainingInstance, training_audit_chains_delete
from opencrf.audit.verify import verify_all
from opencrf.demo.loader import load_demo
from opencrf.exports.models import ExportFile
from opencrf.files.models import StoredFile
from opencrf.files.services import file_store
from opencrf.files.tests import samples
from opencrf.files.tests.conftest import upload
from opencrf.ops import maintenance
from opencrf.ops.instance import (
    SuppressedEmailBackend,
    TrainingResetResult,
    training_reset,
    training_reset_task,
)
from opencrf.projects.models import Project, ProjectMember
from opencrf.records.models import FormData, Record
from opencrf.records.services import record_create
from opencrf.testing.smtp import smtp  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

TRAINING_BANNER = "Training instance: data is reset every night and no e-mail is sent."
VALIDATION_BANNER = "Validation instance: for testing upgrades; not for real data."


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    maintenance.forget_operations_snapshot()
    yield
    maintenance.forget_operations_snapshot()


@pytest.fixture
def training(settings):
    settings.OPENCRF_INSTANCE_ROLE = "training"
    return settings


# --- Banners ---


@pytest.mark.parametrize(
    ("role", "banner"),
    [("training", TRAINING_BANNER), ("validation", VALIDATION_BANNER)],
)
def test_training_and_validation_instances_show_their_banner_on_every_page(
    client, settings, pi_paula, role, banner
):
    settings.OPENCRF_INSTANCE_ROLE = role

    login_page = client.get(reverse("accounts:login")).content.decode()
    client.force_login(pi_paula)
    projects_page = client.get(reverse("projects:list")).content.decode()

    for html in (login_page, projects_page):
        assert f'role="status" data-banner="{role}">{banner}</div>' in html


@pytest.mark.parametrize("role", ["production", "shared"])
def test_production_and_shared_instances_show_no_banner(client, settings, role):
    settings.OPENCRF_INSTANCE_ROLE = role

    html = client.get(reverse("accounts:login")).content.decode()

    assert 'data-testid="operations-banners"' not in html


# --- No e-mail from a training instance ---


def test_the_suppressed_backend_sends_nothing_and_logs_one_line_without_the_body(caplog):
    backend = get_connection("opencrf.ops.instance.SuppressedEmailBackend")
    assert isinstance(backend, SuppressedEmailBackend)

    with caplog.at_level(logging.INFO, logger="opencrf.ops.instance"):
        sent = send_mail(
            "Your activation link",
            "SECRET-BODY https://example.org/activate/abc",
            "edc@example.ac.jp",
            ["hana@example.jp", "ken@example.jp"],
            connection=backend,
        )

    assert sent == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "opencrf.ops.instance"]
    assert lines == [
        "E-mail not sent (training instance): to hana@example.jp, ken@example.jp, "
        "subject 'Your activation link'"
    ]
    assert "SECRET-BODY" not in caplog.text


def test_a_training_instance_sends_no_password_reset_to_a_real_smtp_server(
    smtp,  # noqa: F811
    settings,
    pi_paula,
):
    settings.OPENCRF_INSTANCE_ROLE = "training"
    settings.EMAIL_BACKEND = "opencrf.ops.instance.SuppressedEmailBackend"  # as settings.py does
    # The reset mail is sent by a job: run it at once, so the test sees what it would send.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

    response = Client().post(reverse("accounts:password_reset"), {"email": "paula@example.org"})

    assert response.status_code == 302
    assert smtp.messages == []


def test_the_settings_choose_the_suppressed_backend_for_the_training_role(tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OPENCRF_", "DJANGO_")) and name != "DATABASE_URL"
    }
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.EMAIL_BACKEND))"
    )
    backends = []
    for role in ("training", "production"):
        env.update(
            OPENCRF_DATA_DIR=str(tmp_path),
            OPENCRF_SECRET_KEY="x" * 50,
            OPENCRF_INSTANCE_ROLE=role,
            OPENCRF_SMTP_HOST="smtp.example.jp",
            DJANGO_SETTINGS_MODULE="opencrf.config.settings",
        )
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        backends.append(json.loads(result.stdout.strip().splitlines()[-1]))

    assert backends == [
        "opencrf.ops.instance.SuppressedEmailBackend",
        "django.core.mail.backends.smtp.EmailBackend",
    ]


# --- The nightly reset ---


@pytest.fixture
def busy_training_site(training, paula_context, pi_paula, salt_rct, site_b_bea):
    """A training site after a day of use: the demo, a trainee's project, records, a file."""
    demo, _created = load_demo(owner_username="pi_paula")
    record = record_create(context=paula_context, project=salt_rct)
    stored = file_store(
        context=paula_context, project=salt_rct, upload=upload("a.png", samples.PNG)
    )
    token_create(context=paula_context, user=pi_paula, project=salt_rct)
    exported = ExportFile.objects.create(
        project=salt_rct,
        report_key="A",
        report_title="All data",
        format="csv",
        requested_by=pi_paula,
        status=ExportFile.Status.DONE,
        key=default_storage.save("exports/training.csv", ContentFile(b"record_id\r\n")),
    )
    return {
        "demo": demo,
        "project": salt_rct,
        "record": record,
        "file": stored,
        "export": exported,
    }


def test_the_reset_removes_every_project_and_loads_the_demo_again(
    busy_training_site, django_capture_on_commit_callbacks
):
    old_ids = set(Project.objects.values_list("pk", flat=True))
    file_key = busy_training_site["file"].key
    export_key = busy_training_site["export"].key
    assert default_storage.exists(file_key) and default_storage.exists(export_key)
    users_before = sorted(User.objects.values_list("username", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        result = training_reset()

    demo = Project.objects.get()
    assert demo.pk not in old_ids
    assert demo.title == busy_training_site["demo"].title
    assert result == TrainingResetResult(
        projects_removed=2,
        audit_entries_removed=result.audit_entries_removed,
        files_removed=2,  # the upload and the archived export
        demo_project_id=demo.pk,
    )
    assert result.audit_entries_removed > 0
    assert not Record.objects.exclude(project=demo).exists()
    assert not FormData.objects.exclude(project=demo).exists()
    assert Record.objects.filter(project=demo).count() == 12
    assert not StoredFile.objects.exists()
    assert not ApiToken.objects.exists()
    assert not default_storage.exists(file_key)
    assert not default_storage.exists(export_key)
    assert not ExportFile.objects.exists()
    assert sorted(User.objects.values_list("username", flat=True)) == users_before
    # The demo's owner owns it again.
    assert list(ProjectMember.objects.values_list("user__username", flat=True)) == ["pi_paula"]
    chains = set(AuditEvent.objects.values_list("project_id", flat=True))
    assert chains == {0, demo.pk}
    reports = verify_all()
    assert [(r.project_id, r.ok) for r in reports] == [(0, True), (demo.pk, True)]
    last = AuditEvent.objects.filter(project_id=0).order_by("sequence").last()
    assert last is not None and last.action == "training.reset"


def test_the_reset_restarts_the_audit_checkpoints_so_verification_still_passes(
    busy_training_site, django_capture_on_commit_callbacks
):
    from opencrf.audit.anchors import checkpoint_make, checkpoint_write, checkpoints_read
    from opencrf.audit.verify import verify_anchored

    checkpoint_write(checkpoint_make(reason="before the reset"))
    with django_capture_on_commit_callbacks(execute=True):
        training_reset()

    stored = checkpoints_read()
    (restart,) = stored.in_force()
    assert (restart.reason, restart.restart) == ("training reset", True)
    assert verify_anchored(stored.in_force()).ok
    # Against the checkpoint of the day's use, the deleted project chains show as missing.
    assert not verify_anchored(stored.valid[:1]).ok


def test_the_triggers_refuse_update_and_delete_again_after_the_reset(busy_training_site):
    training_reset()

    for statement in (
        "UPDATE audit_auditevent SET reason = 'x'",
        "DELETE FROM audit_auditevent",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AuditEvent.objects.filter(reason="x").count() == 0


def test_the_reset_is_refused_on_every_other_role_and_changes_nothing(settings, salt_rct):
    before = (Project.objects.count(), AuditEvent.objects.count())
    for role in ("production", "shared", "validation"):
        settings.OPENCRF_INSTANCE_ROLE = role

        with pytest.raises(NotATrainingInstance, match=f"this one is {role}"):
            training_reset()
        with pytest.raises(NotATrainingInstance), transaction.atomic():
            training_audit_chains_delete()

    assert (Project.objects.count(), AuditEvent.objects.count()) == before


def test_the_reset_task_runs_the_reset(training, pi_paula):
    load_demo(owner_username="pi_paula")

    result = training_reset_task.call()

    demo = Project.objects.get()
    assert result == {
        "projects_removed": 1,
        "audit_entries_removed": result["audit_entries_removed"],
        "files_removed": 0,
        "demo_project_id": demo.pk,
    }


def test_the_reset_of_an_empty_training_site_loads_the_demo(training):
    result = training_reset()

    assert result.projects_removed == 0
    assert Project.objects.get().pk == result.demo_project_id
    assert all(report.ok for report in verify_all())


def test_a_page_still_renders_its_role_banner_when_the_switch_cannot_be_read(
    client, training, monkeypatch
):
    from opencrf.ops import context

    def unreadable():
        raise DatabaseError("database is locked")

    monkeypatch.setattr(context, "operations_snapshot", unreadable)

    response = client.get(reverse("accounts:login"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-banner="training"' in html
    assert 'data-banner="maintenance_mode"' not in html
