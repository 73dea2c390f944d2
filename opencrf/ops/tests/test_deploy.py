"""The files in deploy/ and .env.example agree with the code they configure."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest
from django.conf import settings

from conftest import REPO
from opencrf.cli import build_parser

DEPLOY = REPO / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
NGINX = DEPLOY / "nginx"
ENV_EXAMPLE = DEPLOY / "opencrf.env.example"
READ = re.compile(r"""(?:env_\w+|environ\.get|environ\[|getenv)\(\s*["'](OPENCRF_[A-Z0-9_]+)["']""")
NAMED = re.compile(r"\bOPENCRF_[A-Z0-9_]+\b")
ASSIGNED = re.compile(r"^#?(OPENCRF_[A-Z0-9_]+)=", re.MULTILINE)


def variables_read_by_code() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "opencrf").rglob("*.py"):
        if "tests" not in path.parts:
            text = path.read_text(encoding="utf-8")
            names |= set(READ.findall(text))
            # A variable read through a named constant: NAME_ENV = "OPENCRF_X".
            names |= set(re.findall(r"""^\w+_ENV = ["'](OPENCRF_[A-Z0-9_]+)["']""", text, re.M))
    return names


def deploy_texts() -> dict[Path, str]:
    return {
        path: path.read_text(encoding="utf-8")
        for path in sorted(DEPLOY.rglob("*"))
        if path.is_file() and path.suffix not in {".png", ".jpg"}
    }


def test_env_example_lists_exactly_the_variables_the_code_reads():
    listed = set(ASSIGNED.findall((REPO / ".env.example").read_text(encoding="utf-8")))
    assert listed == variables_read_by_code()


def test_every_variable_named_in_deploy_is_one_the_code_reads():
    known = variables_read_by_code()
    for path, text in deploy_texts().items():
        unknown = set(NAMED.findall(text)) - known
        assert unknown == set(), f"{path.relative_to(REPO)} names {sorted(unknown)}"


def test_the_production_environment_example_sets_the_essentials():
    values = dict(re.findall(r"^(\w+)=(.*)$", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M))
    assert values["DATABASE_URL"].startswith("postgres://")
    assert values["OPENCRF_BEHIND_PROXY"] == "true"
    assert values["OPENCRF_INSTANCE_ROLE"] == "production"
    hosts = values["OPENCRF_ALLOWED_HOSTS"].split(",")
    origins = values["OPENCRF_CSRF_TRUSTED_ORIGINS"].split(",")
    for name in nginx_server_names():
        assert name in hosts
        assert f"https://{name}" in origins
    for key in (
        "OPENCRF_SMTP_HOST",
        "OPENCRF_BACKUP_KEY",
        "OPENCRF_METRICS_TOKEN",
        "OPENCRF_AUDIT_KEY",
    ):
        assert values[key]


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def test_there_is_a_web_and_a_worker_unit():
    assert [path.name for path in UNITS] == ["opencrf-web.service", "opencrf-worker.service"]


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_each_unit_runs_an_existing_command_as_its_own_user_with_hardening(path):
    service = unit(path)["Service"]
    command = shlex.split(service["ExecStart"])
    assert command[0] == "/opt/opencrf/venv/bin/opencrf"
    build_parser().parse_args(command[1:])  # exits (SystemExit) on an unknown command or option
    assert command[1] in build_parser().format_help()
    assert service["EnvironmentFile"] == "/etc/opencrf/opencrf.env"
    assert (service["User"], service["Group"]) == ("opencrf", "opencrf")
    assert service["Restart"] == "on-failure"
    for key, value in {
        "NoNewPrivileges": "true",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
        "ReadWritePaths": "/var/lib/opencrf",
    }.items():
        assert service[key] == value


def test_the_web_unit_leaves_jobs_to_the_worker():
    commands = {path.name: unit(path)["Service"]["ExecStart"] for path in UNITS}
    assert commands["opencrf-web.service"].endswith("opencrf serve --no-jobs")
    assert commands["opencrf-worker.service"].endswith("opencrf worker")


def nginx_config() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(NGINX.glob("*.conf")))


def nginx_server_names() -> list[str]:
    names = re.findall(r"^\s*server_name ([^;]+);", nginx_config(), re.M)
    return sorted({name for line in names for name in line.split()})


def test_nginx_serves_one_service_under_two_names_each_with_its_certificate():
    config = nginx_config()
    assert nginx_server_names() == ["edc.example.ac.jp", "edc.example.jp"]
    for name in nginx_server_names():
        assert f"ssl_certificate     /etc/ssl/certs/{name}.fullchain.pem;" in config
        assert f"ssl_certificate_key /etc/ssl/private/{name}.key;" in config
    assert config.count("server 127.0.0.1:8000;") == 1
    assert "return 301 https://$host$request_uri;" in config
    assert (
        'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'
        in config
    )
    for header in ("X-Forwarded-Proto $scheme", "X-Forwarded-For $proxy_add_x_forwarded_for"):
        assert f"proxy_set_header {header};" in config


def test_nginx_accepts_the_largest_upload_opencrf_accepts():
    size = re.search(r"client_max_body_size (\d+)m;", nginx_config())
    assert size is not None
    assert int(size.group(1)) * 1024 * 1024 >= settings.OPENCRF_FILE_MAX_BYTES


def test_nginx_lets_only_the_monitoring_host_read_metrics():
    block = re.search(r"location = /metrics \{(.*?)\}", nginx_config(), re.S)
    assert block is not None
    lines = [line.strip() for line in block.group(1).strip().splitlines()]
    assert lines[:2] == ["allow 203.0.113.5;", "deny all;"]
    assert "location = /-/ready {" in nginx_config()


@pytest.mark.parametrize("name", ["runbook.md", "runbook.ja.md"])
def test_the_runbook_has_one_section_per_alert_in_both_languages(name):
    from opencrf.ops.alerts.rules import ALERTS

    text = (REPO / "docs" / "operations" / name).read_text(encoding="utf-8")
    anchors = re.findall(r'^<a id="([a-z_]+)"></a>\n### `([a-z_]+)`', text, re.M)
    assert [anchor for anchor, _heading in anchors] == [heading for _a, heading in anchors]
    assert sorted(anchor for anchor, _heading in anchors) == sorted(ALERTS)
