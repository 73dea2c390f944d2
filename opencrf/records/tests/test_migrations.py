"""The records migrations carry existing data: each record's arm becomes its first RecordArm."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from opencrf.projects.models import Arm, Project
from opencrf.testing.audit import lift_audit_triggers_for_the_flush

BEFORE = [("records", "0001_initial")]
AFTER = [("records", "0002_record_arms")]


@pytest.fixture
def back_to_the_latest_migrations():
    """Going back to records 0001 unapplies every app above records (surveys, exports, ...):
    apply everything again afterwards, so that the tests after this one find their tables."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_record_arms_keep_the_arm_each_record_had(back_to_the_latest_migrations):
    lift_audit_triggers_for_the_flush()  # the flush of a transactional test empties every table
    classic_project = Project.objects.create(title="Classic")
    longitudinal_project = Project.objects.create(title="Longitudinal", is_longitudinal=True)
    for project in (classic_project, longitudinal_project):
        Arm.objects.create(project=project, number=1, name="Arm 1")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Record = old.get_model("records", "Record")
    for project, record_id in [(classic_project, "1"), (longitudinal_project, "A-1")]:
        Record.objects.create(
            project_id=project.pk,
            record_id=record_id,
            sort_key=record_id,
            arm_id=project.arms.get().pk,
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    new = executor.loader.project_state(AFTER).apps
    links = new.get_model("records", "RecordArm").objects.order_by("record__record_id")
    assert list(links.values_list("record__record_id", "arm_id")) == [
        ("1", classic_project.arms.get().pk),
        ("A-1", longitudinal_project.arms.get().pk),
    ]
