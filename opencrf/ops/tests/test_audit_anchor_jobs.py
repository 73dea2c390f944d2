"""The worker's audit jobs: an hourly signed checkpoint with a quick look at the heads, and the
daily full verification against the checkpoints; a fault is a level 3 incident at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils.module_loading import import_string

from opencrf.audit import anchors
from opencrf.audit.anchors import Checkpoint, checkpoint_names, checkpoint_write, checkpoints_read
from opencrf.audit.services import audit_event_create
from opencrf.audit.tests.test_verify import _delete, _lift_triggers
from opencrf.ops.alerts.evaluate import audit_chains_evaluate, audit_checkpoint_evaluate
from opencrf.ops.models import Incident, IncidentStatus

pytestmark = pytest.mark.django_db

PROJECT = 4


def _append(context, count):
    for _ in range(count):
        with transaction.atomic():
            audit_event_create(context=context, project_id=PROJECT, action="test.action")


def _open_incident():
    incident = Incident.objects.get(key="audit_chain_broken", status=IncidentStatus.OPEN)
    return (incident.level, incident.detail)


def test_the_hourly_job_signs_a_checkpoint_of_every_chain(paula_context, settings):
    settings.LANGUAGE_CODE = "en"
    _append(paula_context, 3)

    assert import_string("opencrf.ops.alerts.tasks.audit_checkpoint").call() == "ok"

    (checkpoint,) = checkpoints_read().valid
    assert checkpoint.reason == "hourly"
    assert [(h.project_id, h.count) for h in checkpoint.chains] == [(PROJECT, 3)]
    assert not Incident.objects.exists()


def test_the_hourly_job_raises_the_alert_at_once_when_the_end_was_cut(
    paula_context, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "en"
    _append(paula_context, 3)
    audit_checkpoint_evaluate()
    _lift_triggers()
    _delete(3, project_id=PROJECT)

    with django_capture_on_commit_callbacks(execute=True):
        assert audit_checkpoint_evaluate() == "opened"

    assert _open_incident() == (3, f"The audit chain of project(s) {PROJECT} does not verify.")
    assert len(checkpoint_names()) == 2  # the new one is written; nothing was pruned


def test_the_hourly_job_prunes_only_while_nothing_is_wrong(paula_context, monkeypatch):
    monkeypatch.setattr(anchors, "KEEP_NEWEST", 1)
    _append(paula_context, 1)
    # Both an hour apart on one UTC day, whatever the time the test runs at (from 22:00 UTC,
    # "three days ago plus two hours" fell on the next day, which keeps its own newest).
    day = (datetime.now(UTC) - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    old = [checkpoint_write(Checkpoint(day + timedelta(hours=h), "old", ())) for h in (1, 2)]

    audit_checkpoint_evaluate()

    names = checkpoint_names()
    assert old[0] not in names and old[1] in names  # that day keeps its newest
    assert len(names) == 2


def test_the_daily_verification_fails_on_a_cut_the_checkpoints_saw_and_records_its_result(
    paula_context, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "en"
    _append(paula_context, 2)
    assert audit_chains_evaluate() == "ok"
    _lift_triggers()
    _delete(2, project_id=PROJECT)

    with django_capture_on_commit_callbacks(execute=True):
        assert audit_chains_evaluate() == "opened"

    assert _open_incident() == (3, f"The audit chain of project(s) {PROJECT} does not verify.")
    verifications = [c.verification for c in checkpoints_read().valid]
    assert verifications == [{"ok": True, "problems": 0}, {"ok": False, "problems": 1}]


def test_the_daily_verification_names_forged_checkpoints(
    paula_context, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "en"
    _append(paula_context, 1)
    settings.OPENCRF_AUDIT_KEY = "not the server's key at all"
    checkpoint_write(Checkpoint(datetime.now(UTC), "forged", ()))
    settings.OPENCRF_AUDIT_KEY = ""

    with django_capture_on_commit_callbacks(execute=True):
        assert audit_chains_evaluate() == "opened"

    assert _open_incident() == (3, "The audit chain of project(s) checkpoints does not verify.")


# --- Published away from the database: the metrics and the operations report ---


def test_the_metrics_publish_the_newest_checkpoint_and_every_chain_length(paula_context):
    from opencrf.ops import metrics

    metrics.forget_cached()
    _append(paula_context, 3)
    audit_checkpoint_evaluate()
    made = checkpoints_read().newest.made_at

    text = metrics.render_metrics().decode()

    metrics.forget_cached()
    figures = {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in text.splitlines())
        if name.startswith("opencrf_audit")
    }
    assert figures == {
        "opencrf_audit_checkpoint_timestamp_seconds": pytest.approx(made.timestamp()),
        # The system chain is always there: a drop to 0 shows checkpoints that vanished.
        'opencrf_audit_checkpoint_entries{chain="0"}': 0.0,
        f'opencrf_audit_checkpoint_entries{{chain="{PROJECT}"}}': 3.0,
        "opencrf_audit_checkpoints_refused": 0.0,
        "opencrf_audit_last_verification_ok": 0.0,  # no full verification yet
        'opencrf_audit_chain_entries{chain="0"}': 0.0,
        f'opencrf_audit_chain_entries{{chain="{PROJECT}"}}': 3.0,
    }


def test_the_operations_report_shows_the_checkpoints_and_the_last_verification(paula_context):
    from opencrf.ops.report_pdf import report_pdf
    from opencrf.ops.reports import monthly_report

    _append(paula_context, 2)
    audit_checkpoint_evaluate()
    audit_chains_evaluate()
    now = datetime.now().astimezone()

    report = monthly_report(now.year, now.month)

    audit = report.audit
    assert (audit.kept, audit.chains, audit.entries) == (2, 1, 2)
    assert (audit.verifications, audit.verifications_failed, audit.refused) == (1, 0, 0)
    assert audit.last_verification_ok is True
    assert audit.heads == [(PROJECT, 2, checkpoints_read().newest.chains[0].hash[:16])]
    assert report_pdf(report).startswith(b"%PDF")
