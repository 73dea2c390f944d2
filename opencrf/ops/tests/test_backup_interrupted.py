"""A backup killed with `kill -9` midway: earlier generations stay intact, it is reported, the
next backup succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from opencrf.audit import anchors
from opencrf.cli import main
from opencrf.ops.backups.create import backup_create
from opencrf.ops.backups.restore import restore_verify
from opencrf.ops.backups.store import backup_store
from opencrf.ops.models import BackupRun, RunStatus
from opencrf.ops.tests import test_backup as shared

backup_settings = shared.backup_settings
BIG_FILES, BIG_FILE_SIZE = 60, 5 * 1024 * 1024  # 300 MiB: slow enough to kill midway


def database_url() -> str:
    live = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{live['NAME']}"
    host, port = live["HOST"] or "127.0.0.1", live["PORT"] or 5432
    return f"postgres://{live['USER']}@{host}:{port}/{live['NAME']}"


@pytest.fixture
def data_dir(backup_settings, tmp_path):
    """A data folder shared with the `opencrf backup` subprocess: its files are the storage's."""
    folder = tmp_path / "data"
    (folder / "files").mkdir(parents=True)
    backup_settings.STORAGES = {
        **backup_settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder / "files")},
        },
    }
    return folder


def start_backup(data_dir: Path, backup_dir: Path, scratch: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "OPENCRF_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url(),
        "OPENCRF_BACKUP_DIR": str(backup_dir),
        "OPENCRF_SCRATCH_DIR": str(scratch),
        "OPENCRF_BACKUP_KEY": "",
        "OPENCRF_BACKUP_S3_URL": "",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "opencrf", "backup"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_when_writing_files(process: subprocess.Popen[bytes], backup_dir: Path) -> str:
    """Wait until the files part is being written, then SIGKILL; returns the backup id."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for part in backup_dir.glob("*.partial/files.tar"):
            if part.stat().st_size > 20 * 1024 * 1024:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return part.parent.name.removesuffix(".partial")
        if process.poll() is not None:
            raise AssertionError(f"the backup ended before it was killed: {process.stderr.read()}")
        time.sleep(0.005)
    process.kill()
    raise AssertionError("the backup never started writing its files")


@pytest.mark.django_db(transaction=True)
def test_a_backup_killed_midway_leaves_every_earlier_generation_intact(
    backup_settings, data_dir, capsys
):
    from opencrf.demo.loader import load_demo

    load_demo()
    shared.put_files()
    backup_dir = Path(backup_settings.OPENCRF_BACKUP_DIR)
    earlier = [backup_create(trigger="schedule").backup_id for _ in range(2)]
    manifests = {
        backup_id: (backup_dir / backup_id / "manifest.json").read_bytes() for backup_id in earlier
    }
    block = os.urandom(1024 * 1024) * (BIG_FILE_SIZE // (1024 * 1024))
    for number in range(BIG_FILES):
        default_storage.save(f"scans/{number:03d}.bin", ContentFile(block))

    process = start_backup(data_dir, backup_dir, Path(backup_settings.OPENCRF_SCRATCH_DIR))
    killed = kill_when_writing_files(process, backup_dir)

    assert process.returncode == -signal.SIGKILL
    assert BackupRun.objects.get(backup_id=killed).status == RunStatus.RUNNING
    assert (backup_dir / f"{killed}.partial").is_dir()

    assert main(["backup", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"(marked {killed} as interrupted; its partial data was removed)"
    assert [line.split()[0] for line in lines[1:]] == [*earlier, killed], lines
    assert [line.split()[-1] for line in lines[1:]] == ["complete", "complete", "interrupted"]
    assert BackupRun.objects.get(backup_id=killed).status == RunStatus.INTERRUPTED
    assert sorted(path.name for path in backup_dir.iterdir()) == earlier

    for backup_id in earlier:
        assert (backup_dir / backup_id / "manifest.json").read_bytes() == manifests[backup_id]
        assert restore_verify(backup_id).ok is True

    # Each complete backup also leaves its signed audit checkpoint in the storage, and the
    # next backup carries those files too; the killed one left none.
    checkpoints = default_storage.listdir(anchors.FOLDER)[1]
    assert len(checkpoints) == len(earlier)
    after = backup_create(trigger="manual")
    assert after.status == RunStatus.SUCCEEDED
    assert after.file_count == 3 + BIG_FILES + len(earlier)
    assert [e.backup_id for e in backup_store().list() if e.complete] == [*earlier, after.backup_id]
