"""`opencrf maintenance on|off|status|training-reset`, as an operator runs it."""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from opencrf import cli
from opencrf.accounts.models import SecurityEvent
from opencrf.ops import maintenance
from opencrf.ops.maintenance import maintenance_status

OPERATOR = f"{getpass.getuser()} (command line)"
SINCE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \([\w/]+\)"


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    maintenance.forget_operations_snapshot()
    yield
    maintenance.forget_operations_snapshot()


def run_here(capsys, *args: str) -> tuple[int, str, str]:
    """Run the command in this process (on the test database)."""
    code = cli.main(["maintenance", *args])
    output = capsys.readouterr()
    return code, output.out, output.err


@pytest.mark.django_db
def test_on_status_off_status_print_what_they_did(capsys):
    assert run_here(capsys, "status") == (0, "Maintenance mode: off\n", "")

    code, out, err = run_here(capsys, "on", "--message", "Upgrade until 18:00")
    assert (code, err) == (0, "")
    assert out == (
        "Maintenance mode is on: the site is read-only until `opencrf maintenance off`.\n"
        "Message: Upgrade until 18:00\n"
    )
    assert maintenance_status().on is True

    code, out, err = run_here(capsys, "status")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert re.fullmatch(rf"Maintenance mode: on since {SINCE} by {re.escape(OPERATOR)}", lines[0])
    assert lines[1:] == ["Message: Upgrade until 18:00"]

    assert run_here(capsys, "off") == (
        0,
        "Maintenance mode is off: changes are accepted again.\n",
        "",
    )
    assert run_here(capsys, "off") == (0, "Maintenance mode was already off.\n", "")
    assert run_here(capsys, "status") == (0, "Maintenance mode: off\n", "")
    logged = list(SecurityEvent.objects.order_by("at", "id").values_list("kind", "username"))
    assert logged == [("maintenance.started", OPERATOR), ("maintenance.stopped", OPERATOR)]


@pytest.mark.django_db
def test_a_message_too_long_is_refused_with_exit_1_and_nothing_changes(capsys):
    code, out, err = run_here(capsys, "on", "--message", "x" * 501)

    assert (code, out) == (1, "")
    assert err == "opencrf maintenance: The message may have at most 500 characters.\n"
    assert maintenance_status().on is False


@pytest.mark.django_db
def test_training_reset_is_refused_unless_the_instance_is_a_training_one(capsys, settings):
    settings.OPENCRF_INSTANCE_ROLE = "production"

    code, out, err = run_here(capsys, "training-reset")

    assert (code, out) == (1, "")
    assert err == (
        "opencrf maintenance: the training reset runs only on a training instance; "
        "this one is production\n"
    )


def test_help_names_every_action(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["maintenance", "--help"])

    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for action in ("on", "off", "status", "training-reset"):
        assert re.search(rf"^\s+{action}\s", out, re.MULTILINE), action


def test_the_real_command_switches_a_fresh_installation(tmp_path: Path):
    """In a subprocess, as an operator types it, on its own SQLite database."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OPENCRF_", "DJANGO_")) and name != "DATABASE_URL"
    }
    env.update(OPENCRF_DATA_DIR=str(data_dir), OPENCRF_HTTPS="false")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "opencrf", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    assert run("init").returncode == 0
    on = run("maintenance", "on", "--message", "Disk replacement")
    status = run("maintenance", "status")
    off = run("maintenance", "off")
    after = run("maintenance", "status")

    assert (on.returncode, status.returncode, off.returncode) == (0, 0, 0), on.stderr
    assert on.stdout.splitlines()[-1] == "Message: Disk replacement"
    assert status.stdout.splitlines()[0].startswith("Maintenance mode: on since ")
    assert status.stdout.splitlines()[1] == "Message: Disk replacement"
    assert off.stdout == "Maintenance mode is off: changes are accepted again.\n"
    assert after.stdout == "Maintenance mode: off\n"


@pytest.mark.django_db
def test_training_reset_on_a_training_instance_says_what_it_did(capsys, settings):
    from opencrf.projects.models import Project

    settings.OPENCRF_INSTANCE_ROLE = "training"

    code, out, err = run_here(capsys, "training-reset")

    demo = Project.objects.get()
    assert (code, err) == (0, "")
    assert re.fullmatch(
        rf"Training reset: removed 0 project\(s\), 0 audit entries and 0 file\(s\); "
        rf"the demo study is project {demo.pk}\.\n",
        out,
    )
