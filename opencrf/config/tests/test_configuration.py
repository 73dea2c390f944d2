from __future__ import annotations

import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from conftest import REPO
from opencrf.config import env

_READ = re.compile(r"""(?:env_\w+|environ\.get|environ\[|getenv)\(\s*["']([A-Z_]+)["']""")


def _variables_read_by_code() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "opencrf").rglob("*.py"):
        if "tests" not in path.parts:
            names |= set(_READ.findall(path.read_text(encoding="utf-8")))
    # Set by the programs themselves, never by the operator: Django's settings module, and
    # prometheus_client's folder, which `opencrf serve` makes (its mere presence, even empty,
    # would switch the library to multi-process mode).
    return names - {"DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR"}


def test_every_variable_the_code_reads_is_listed_in_env_example():
    listed = set(re.findall(r"^([A-Z_]+)=", (REPO / ".env.example").read_text(), re.MULTILINE))
    assert _variables_read_by_code() - listed == set()


@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("ON", True), ("0", False), ("", False)]
)
def test_booleans_take_the_usual_spellings(monkeypatch, raw, value):
    monkeypatch.setenv("OPENCRF_X", raw)
    assert env.env_bool("OPENCRF_X", default=not value) is value


def test_a_malformed_boolean_fails_fast_naming_the_variable(monkeypatch):
    monkeypatch.setenv("OPENCRF_HTTPS", "maybe")
    with pytest.raises(ImproperlyConfigured, match="OPENCRF_HTTPS"):
        env.env_bool("OPENCRF_HTTPS", default=True)


def test_a_malformed_number_fails_fast_naming_the_variable(monkeypatch):
    monkeypatch.setenv("OPENCRF_PORT", "80a")
    with pytest.raises(ImproperlyConfigured, match="OPENCRF_PORT"):
        env.env_int("OPENCRF_PORT", 8000)


def test_production_without_a_secret_refuses_to_start(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENCRF_SECRET_KEY")
    monkeypatch.setenv("OPENCRF_DATA_DIR", str(tmp_path))
    with pytest.raises(ImproperlyConfigured, match="OPENCRF_SECRET_KEY"):
        env.secret_key(debug=False)


def test_the_key_file_written_by_init_is_used(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENCRF_SECRET_KEY")
    monkeypatch.setenv("OPENCRF_DATA_DIR", str(tmp_path))
    (tmp_path / "secret_key").write_text("k" * 60 + "\n")
    assert env.secret_key(debug=False) == "k" * 60
