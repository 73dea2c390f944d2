"""Links in e-mails point at the configured site address, or where `opencrf serve` listens.

An unset OPENCRF_SITE_URL used to mean http://127.0.0.1:8000 whatever port the server ran on,
so activation and reset links pointed at nothing (issue 13).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest
from django.core import checks

from opencrf import cli
from opencrf.accounts.checks import site_url_check
from opencrf.config.site_url import default_for_serve, listening_url

WARNING = (
    "OPENCRF_SITE_URL is unset: links in e-mails (account activation, password reset) point at "
    "http://127.0.0.1:8123. Set OPENCRF_SITE_URL to the address users open, "
    "e.g. https://edc.example.ac.jp."
)


def test_serve_sets_an_unset_site_address_to_where_it_listens_and_warns():
    environ: dict[str, str] = {}

    warning = default_for_serve("127.0.0.1", 8123, environ)

    assert environ == {"OPENCRF_SITE_URL": "http://127.0.0.1:8123"}
    assert warning == WARNING


def test_opencrf_serve_prints_the_warning_before_it_reads_the_settings(monkeypatch, capsys):
    monkeypatch.setenv("OPENCRF_SITE_URL", "")  # restored after the test

    class Stop(Exception):
        pass

    def stop(**kwargs):
        raise Stop

    monkeypatch.setattr(cli, "_setup_django", stop)
    with pytest.raises(Stop):
        cli.cmd_serve(argparse.Namespace(host="127.0.0.1", port=8123, workers=0, no_jobs=True))

    assert capsys.readouterr().out == f"WARNING: {WARNING}\n"
    assert os.environ["OPENCRF_SITE_URL"] == "http://127.0.0.1:8123"


def test_opencrf_worker_warns_too_as_it_sends_the_visitors_mail(monkeypatch, capsys, settings):
    settings.DEBUG = False
    settings.OPENCRF_SITE_URL_CONFIGURED = False
    settings.OPENCRF_SITE_URL = "http://127.0.0.1:8123"

    def stop(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_setup_django", lambda **kwargs: None)
    monkeypatch.setattr("opencrf.ops.jobs.run_worker_process", stop)
    with pytest.raises(KeyboardInterrupt):
        cli.cmd_worker(argparse.Namespace(interval=1.0))

    assert capsys.readouterr().out.splitlines()[0] == f"WARNING: {WARNING}"


def test_serve_leaves_a_configured_site_address_alone():
    environ = {"OPENCRF_SITE_URL": "https://edc.example.ac.jp"}

    assert default_for_serve("0.0.0.0", 9000, environ) is None  # noqa: S104
    assert environ == {"OPENCRF_SITE_URL": "https://edc.example.ac.jp"}


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8080"),  # noqa: S104
        ("::", "http://[::1]:8080"),
        ("::1", "http://[::1]:8080"),
        ("edc.local", "http://edc.local:8080"),
    ],
)
def test_the_listening_address_is_one_a_browser_on_this_machine_opens(host, url):
    assert listening_url(host, 8080) == url


def test_the_settings_read_the_address_serve_put_in(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENCRF_")}
    environ.update(OPENCRF_DATA_DIR=str(tmp_path), OPENCRF_SECRET_KEY="x" * 50)
    environ.update(OPENCRF_HTTPS="false", DJANGO_SETTINGS_MODULE="opencrf.config.settings")
    environ.pop("DATABASE_URL", None)
    default_for_serve("127.0.0.1", 8123, environ)
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.OPENCRF_SITE_URL, s.OPENCRF_SITE_URL_CONFIGURED)"

    result = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    )

    assert result.stdout == "http://127.0.0.1:8123 True\n"


def test_check_warns_outside_debug_when_the_site_address_is_unset(settings):
    settings.DEBUG = False
    settings.OPENCRF_SITE_URL_CONFIGURED = False
    settings.OPENCRF_SITE_URL = "http://127.0.0.1:8123"

    (warning,) = site_url_check()

    assert (warning.level, warning.id, warning.msg) == (checks.WARNING, "accounts.W001", WARNING)


def test_check_is_quiet_when_the_site_address_is_set_or_in_debug(settings):
    settings.DEBUG = False
    settings.OPENCRF_SITE_URL_CONFIGURED = True
    assert site_url_check() == []

    settings.DEBUG = True
    settings.OPENCRF_SITE_URL_CONFIGURED = False
    assert site_url_check() == []


def test_opencrf_check_names_no_port_it_cannot_know(settings):
    # `opencrf check` runs beside the server, not in it: it used to say links pointed at port
    # 8000 while the server listened elsewhere.
    settings.DEBUG = False
    settings.OPENCRF_SITE_URL_CONFIGURED = False
    settings.OPENCRF_SITE_URL = "http://127.0.0.1:8000"

    [warning] = site_url_check()

    assert warning.msg == (
        "OPENCRF_SITE_URL is unset: links in e-mails (account activation, password reset) point "
        "at the address `opencrf serve` listens at, or at http://127.0.0.1:8000 when a separate "
        "`opencrf worker` sends them. Set OPENCRF_SITE_URL to the address users open, "
        "e.g. https://edc.example.ac.jp."
    )
