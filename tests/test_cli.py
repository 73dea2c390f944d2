"""The `opencrf` command, as an operator runs it.

Settings are read once per process, so every command that needs Django runs in a fresh
subprocess (`python -m opencrf ...`) with its own scratch data folder, its own SQLite database
(DATABASE_URL is removed) and no OPENCRF_* variable of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from opencrf import cli

SUBCOMMANDS = {
    "init",
    "serve",
    "worker",
    "demo",
    "check",
    "audit",
    "export",
    "token",
    "manage",
    "backup",
    "restore",
    "maintenance",
    "upgrade",
    "report",
}
GOOD_PASSWORD = "correct horse battery staple"


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OPENCRF_", "DJANGO_")) and name != "DATABASE_URL"
    }
    env.update(OPENCRF_DATA_DIR=str(data_dir), OPENCRF_HTTPS="false")
    env.update(extra)
    return env


def run(
    *args: str, data_dir: Path, cwd: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opencrf", *args],
        env=clean_env(data_dir, **extra),
        cwd=cwd or data_dir.parent,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def python_code(code: str, *, data_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env(data_dir, DJANGO_SETTINGS_MODULE="opencrf.config.settings", **extra),
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def shown(result: subprocess.CompletedProcess[str]) -> str:
    """Everything a command printed, for assertion messages."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"


def usernames(data_dir: Path) -> list[str]:
    result = run(
        "manage",
        "shell",
        "-c",
        "import json; from opencrf.accounts.models import User; "
        "print(json.dumps(sorted(User.objects.values_list('username', flat=True))))",
        data_dir=data_dir,
    )
    assert result.returncode == 0, shown(result)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "admin-password"
    path.write_text(GOOD_PASSWORD + "\n", encoding="utf-8")
    return path


# --- Help: in this process, no Django needed. ---


def test_the_parser_offers_exactly_the_documented_subcommands():
    parser = cli.build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(subparsers.choices) == SUBCOMMANDS


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_help_of_every_subcommand_exits_0_and_prints_its_usage(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    output = capsys.readouterr()
    assert output.out.startswith(f"usage: opencrf {command}")
    assert output.err == ""


def test_help_of_the_command_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: opencrf")
    for command in SUBCOMMANDS:
        assert re.search(rf"^\s+{command}\s", out, re.MULTILINE), command


def test_no_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "usage: opencrf" in capsys.readouterr().err


def test_help_runs_as_a_module_too(tmp_path):
    result = run("--help", data_dir=tmp_path / "unused")
    assert result.returncode == 0, shown(result)
    assert result.stdout.startswith("usage: opencrf")
    assert not (tmp_path / "unused").exists()


# --- init ---


def test_init_twice_creates_the_database_once_and_then_says_it_is_up_to_date(data_dir):
    first = run("init", data_dir=data_dir)
    assert first.returncode == 0, shown(first)
    assert f"Created a secret key in {data_dir / 'secret_key'}" in first.stdout
    assert re.search(r"^Applying \d+ database migration\(s\) on sqlite", first.stdout, re.M)
    assert first.stdout.endswith("Database is up to date (sqlite).\n")
    assert (data_dir / "opencrf.sqlite3").is_file()
    key_file = data_dir / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text(encoding="ascii")
    assert len(key) >= 50

    second = run("init", data_dir=data_dir)
    assert second.returncode == 0, shown(second)
    assert second.stdout == "Database is up to date (sqlite).\n"
    assert second.stderr == ""
    assert key_file.read_text(encoding="ascii") == key


def test_init_creates_a_missing_data_folder_when_the_key_comes_from_the_environment(tmp_path):
    data_dir = tmp_path / "new" / "data"
    result = run(
        "init", data_dir=data_dir, cwd=tmp_path, OPENCRF_SECRET_KEY=secrets.token_urlsafe(50)
    )
    assert result.returncode == 0, shown(result)
    assert (data_dir / "opencrf.sqlite3").is_file()
    assert not (data_dir / "secret_key").exists()


def test_init_with_an_admin_creates_it_and_a_second_run_leaves_it(data_dir, password_file):
    first = run(
        "init",
        "--admin",
        "x_admin",
        "--email",
        "x@example.org",
        "--password-file",
        str(password_file),
        data_dir=data_dir,
    )
    assert first.returncode == 0, shown(first)
    assert first.stdout.endswith("Created administrator x_admin.\n")

    password_file.write_text("another long passphrase 2", encoding="utf-8")
    second = run(
        "init", "--admin", "x_admin", "--password-file", str(password_file), data_dir=data_dir
    )
    assert second.returncode == 0, shown(second)
    assert second.stdout == (
        "Database is up to date (sqlite).\nAdministrator x_admin already exists; left unchanged.\n"
    )

    check = run(
        "manage",
        "shell",
        "-c",
        "from opencrf.accounts.models import User; u = User.objects.get(username='x_admin'); "
        f"print(u.email, u.is_superuser, u.is_staff, u.check_password({GOOD_PASSWORD!r}))",
        data_dir=data_dir,
    )
    assert check.returncode == 0, shown(check)
    assert check.stdout.strip().splitlines()[-1] == "x@example.org True True True"


def test_init_with_a_missing_password_file_fails_in_one_line_naming_the_file(data_dir, tmp_path):
    missing = tmp_path / "no-such-file"
    result = run("init", "--admin", "x_admin", "--password-file", str(missing), data_dir=data_dir)
    assert result.returncode == 1, shown(result)
    assert result.stderr.count("\n") == 1, shown(result)
    assert result.stderr.startswith("opencrf init: ")
    assert str(missing) in result.stderr
    assert "Traceback" not in result.stderr
    assert usernames(data_dir) == []


def test_init_with_a_too_short_password_fails_in_one_line_giving_the_reason(data_dir, tmp_path):
    short = tmp_path / "short-password"
    short.write_text("Short1!", encoding="utf-8")
    result = run("init", "--admin", "x_admin", "--password-file", str(short), data_dir=data_dir)
    assert result.returncode == 1, shown(result)
    assert result.stderr.count("\n") == 1, shown(result)
    assert result.stderr.startswith("opencrf init: The password was refused: ")
    assert "too short" in result.stderr
    assert "12 characters" in result.stderr
    assert "Short1!" not in result.stderr + result.stdout
    assert usernames(data_dir) == []


def test_init_with_an_admin_but_no_password_file_fails(data_dir):
    result = run("init", "--admin", "x_admin", data_dir=data_dir)
    assert result.returncode == 1, shown(result)
    assert result.stderr == (
        "opencrf init: --admin needs --password-file (a file holding the password)\n"
    )
    assert usernames(data_dir) == []


# --- demo ---


def test_demo_twice_loads_the_study_once(data_dir):
    first = run("demo", data_dir=data_dir)
    assert first.returncode == 0, shown(first)
    loaded = re.search(r"^Loaded the demo study as project (\d+): .+$", first.stdout, re.M)
    assert loaded, shown(first)

    second = run("demo", data_dir=data_dir)
    assert second.returncode == 0, shown(second)
    assert second.stdout.endswith(
        f"The demo study is already loaded as project {loaded.group(1)}; left unchanged.\n"
    )


# --- check ---


def test_check_passes_on_an_initialised_set_up(data_dir):
    assert run("init", data_dir=data_dir).returncode == 0
    result = run("check", data_dir=data_dir)
    assert result.returncode == 0, shown(result)
    lines = result.stdout.splitlines()
    assert "ok   database: sqlite" in lines
    assert "ok   migrations: applied" in lines
    assert "ok   storage: writable" in lines
    assert lines[-1] == "ok   configuration: Django system checks passed"
    assert "FAIL" not in result.stdout
    assert "WARN site_url: OPENCRF_SITE_URL is unset: links in e-mails" in result.stdout


def test_check_fails_before_init_and_names_the_pending_migrations(data_dir):
    result = run("check", data_dir=data_dir, OPENCRF_SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 1, shown(result)
    assert re.search(r"^FAIL migrations: PendingMigrations: \d+ pending$", result.stdout, re.M)
    assert result.stderr == "opencrf check: 1 check(s) failed\n"


def test_check_on_an_empty_data_folder_asks_for_a_key_and_creates_nothing(data_dir):
    result = run("check", data_dir=data_dir)
    assert result.returncode == 1, shown(result)
    assert result.stderr.count("\n") == 1, shown(result)
    assert result.stderr.startswith("opencrf check: ")
    assert "OPENCRF_SECRET_KEY" in result.stderr
    assert list(data_dir.iterdir()) == []


def test_check_deploy_passes_with_https_a_long_secret_and_debug_off(data_dir):
    deploy = {
        "OPENCRF_HTTPS": "true",
        "OPENCRF_SECRET_KEY": secrets.token_urlsafe(50),
        "OPENCRF_DEBUG": "false",
        "OPENCRF_SITE_URL": "https://edc.example.ac.jp",
    }
    assert run("init", data_dir=data_dir, **deploy).returncode == 0
    result = run("check", "--deploy", data_dir=data_dir, **deploy)
    assert result.returncode == 0, shown(result)
    assert result.stdout.splitlines()[-1] == (
        "ok   configuration: Django system checks passed (deploy)"
    )


def test_check_deploy_fails_while_the_site_address_is_unset(data_dir):
    deploy = {
        "OPENCRF_HTTPS": "true",
        "OPENCRF_SECRET_KEY": secrets.token_urlsafe(50),
        "OPENCRF_DEBUG": "false",
    }
    assert run("init", data_dir=data_dir, **deploy).returncode == 0
    result = run("check", "--deploy", data_dir=data_dir, **deploy)
    assert result.returncode == 1, shown(result)
    assert "(accounts.W001) OPENCRF_SITE_URL is unset" in result.stdout


# --- settings ---


def test_settings_refuse_to_start_without_a_secret_key_outside_debug(data_dir):
    result = python_code("import django; django.setup()", data_dir=data_dir, OPENCRF_DEBUG="false")
    assert result.returncode != 0, shown(result)
    assert "ImproperlyConfigured" in result.stderr
    assert "OPENCRF_SECRET_KEY" in result.stderr
    assert list(data_dir.iterdir()) == []


def test_settings_read_the_key_file_that_init_wrote(data_dir):
    assert run("init", data_dir=data_dir).returncode == 0
    result = python_code(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SECRET_KEY == open('data/secret_key').read().strip())",
        data_dir=data_dir,
        OPENCRF_DEBUG="false",
    )
    assert result.returncode == 0, shown(result)
    assert result.stdout.strip() == "True"
