from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

import opencrf
from opencrf.audit.verify import ChainReport
from opencrf.cli import main
from opencrf.ops import upgrade
from opencrf.ops.maintenance import maintenance_start, maintenance_status
from opencrf.ops.models import BackupRun, OperationsState, RunStatus, UpgradeRun

# SQLite cannot change its schema inside the test's transaction, and a backup of SQLite reads
# committed data; PostgreSQL does both in a transaction, and its audit table refuses the
# TRUNCATE with which transactional tests end.
SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
pytestmark = pytest.mark.django_db(transaction=SQLITE)


@pytest.fixture
def backups_here(settings, tmp_path):
    settings.OPENCRF_BACKUP_DIR = tmp_path / "backups"
    settings.OPENCRF_SCRATCH_DIR = tmp_path / "scratch"
    settings.OPENCRF_BACKUP_S3_URL = ""
    settings.OPENCRF_BACKUP_KEY = ""
    settings.DATA_DIR = tmp_path / "data"
    return settings


def _ops_leaf_and_parent() -> tuple[tuple[str, str], tuple[str, str]]:
    graph = MigrationExecutor(connection).loader.graph
    leaf = next(node for node in graph.leaf_nodes() if node[0] == "ops")
    parent = next(node for node in graph.node_map[leaf].parents if node[0] == "ops")
    return leaf, parent.key


@pytest.fixture
def one_pending_migration():
    """Unapply the newest ops migration, so that the upgrade has one to apply; put it back."""
    leaf, parent = _ops_leaf_and_parent()
    MigrationExecutor(connection).migrate([parent])
    yield f"{leaf[0]}.{leaf[1]}"
    executor = MigrationExecutor(connection)
    if executor.migration_plan([leaf]):
        executor.migrate([leaf])


def _made_in_this_transaction(**kwargs):
    from django.utils import timezone

    now = timezone.now()
    return BackupRun.objects.create(
        backup_id="20261202T025900Z-3fa2",
        trigger=kwargs["trigger"],
        status=RunStatus.SUCCEEDED,
        finished_at=now,
        verified_at=now,
    )


def test_an_upgrade_backs_up_applies_the_pending_migration_verifies_and_reports(
    backups_here, one_pending_migration, capsys, monkeypatch
):
    if not SQLITE:
        # pg_dump, in its own session, would wait for the lock this test's transaction holds
        # on the table it unapplied; the real backup runs in the tests below.
        monkeypatch.setattr("opencrf.ops.backups.create.backup_create", _made_in_this_transaction)
    UpgradeRun.objects.create(from_version="0.0.1", to_version="0.0.9", status="succeeded")

    assert main(["upgrade"]) == 0

    run = UpgradeRun.objects.latest("id")
    assert (run.from_version, run.to_version, run.status) == (
        "0.0.9",
        opencrf.__version__,
        "succeeded",
    )
    assert run.migrations_applied == [one_pending_migration]
    assert run.report["verified"] is True
    backup = BackupRun.objects.get(backup_id=run.backup_id)
    assert (backup.trigger, backup.status) == ("upgrade", RunStatus.SUCCEEDED)
    assert upgrade.pending_migrations() == []
    assert maintenance_status().on is False
    out = capsys.readouterr().out
    assert f"Upgrade from 0.0.9 to {opencrf.__version__}" in out
    assert f"     applied {one_pending_migration}" in out
    assert (
        f"Upgraded from 0.0.9 to {opencrf.__version__}: 1 migration(s), backup {run.backup_id}."
        in out
    )
    for step in ("1. readiness checks: ok", "2. maintenance mode: on", "5. verification: ok"):
        assert step in out


def test_a_dry_run_lists_the_pending_migration_and_changes_nothing(
    backups_here, one_pending_migration, capsys
):
    assert main(["upgrade", "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert f"     {one_pending_migration}" in out
    assert "4. 1 migration(s) would be applied:" in out
    assert upgrade.pending_migrations() == [one_pending_migration]
    assert not UpgradeRun.objects.exists()
    assert not BackupRun.objects.exists()
    assert maintenance_status().on is False


def test_a_failed_verification_leaves_maintenance_on_and_prints_the_way_back(
    backups_here, monkeypatch, capsys
):
    broken = ChainReport(
        project_id=3,
        entries_checked=5,
        ok=False,
        first_broken=4,
        reason="hash differs",
        head_hash="",
    )
    monkeypatch.setattr("opencrf.audit.verify.verify_all", lambda: [broken])

    assert main(["upgrade"]) == 1

    run = UpgradeRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert run.error == "audit project 3 broken: hash differs"
    assert maintenance_status().on is True
    out = capsys.readouterr().out
    assert "VERIFICATION FAILED. Maintenance mode stays on. The way back:" in out
    assert "Reinstall the version of OpenCRF you ran before this upgrade." in out
    data_dir = backups_here.DATA_DIR
    database = ' --database-url "$DATABASE_URL"' if connection.vendor == "postgresql" else ""
    assert f"opencrf restore {run.backup_id} --into {data_dir}{database} --replace" in out
    assert BackupRun.objects.get(backup_id=run.backup_id).status == RunStatus.SUCCEEDED


def test_the_way_back_names_the_previous_version_when_known():
    steps = upgrade.way_back("0.1.0", "20261202T025900Z-3fa2")
    assert steps[1] == "Reinstall the previous version: pip install 'opencrf==0.1.0'"


def test_a_failed_backup_stops_the_upgrade_before_any_migration(backups_here, monkeypatch, capsys):
    from opencrf.ops.backups.errors import BackupFailed

    def fail(**kwargs):
        raise BackupFailed("disk full")

    migrated = []
    monkeypatch.setattr("opencrf.ops.backups.create.backup_create", fail)
    monkeypatch.setattr(upgrade, "call_command", lambda *args, **kwargs: migrated.append(args))

    assert main(["upgrade"]) == 1

    assert migrated == []
    run = UpgradeRun.objects.get()
    assert (run.status, run.error, run.migrations_applied) == (
        "failed",
        "backup failed: disk full",
        [],
    )
    assert maintenance_status().on is False
    assert "the backup failed (disk full); nothing was changed" in capsys.readouterr().err


def test_maintenance_started_by_an_operator_stays_on_after_the_upgrade(backups_here):
    maintenance_start(by="ops person", message="Moving the server")

    upgrade.upgrade_run(by="test", say=lambda line: None)

    state = OperationsState.load()
    assert (state.maintenance_mode, state.maintenance_message) == (True, "Moving the server")


def test_a_failed_readiness_check_stops_before_anything(backups_here, monkeypatch):
    from opencrf.ops import health

    def unwritable():
        raise PermissionError("read-only file system")

    monkeypatch.setitem(health.CHECKS, "storage", unwritable)
    said = []
    with pytest.raises(upgrade.UpgradeStopped):
        upgrade.upgrade_run(by="test", say=said.append)
    assert "  FAIL storage: PermissionError: read-only file system" in said
    assert not UpgradeRun.objects.exists()
    assert not BackupRun.objects.exists()
    assert maintenance_status().on is False


def test_the_previous_version_ignores_failed_and_made_up_upgrades():
    assert upgrade.previous_version() == "unknown"
    UpgradeRun.objects.create(from_version="0.0.1", to_version="0.0.2", status="succeeded")
    UpgradeRun.objects.create(from_version="0.0.2", to_version="0.0.3", status="failed")
    UpgradeRun.objects.create(
        from_version="0.0.2", to_version="9.9.9", status="succeeded", report={"demo": True}
    )
    assert upgrade.previous_version() == "0.0.2"
