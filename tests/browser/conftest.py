"""Browser tests: a real `opencrf serve` in a subprocess, driven by Debian's Chromium.

The server is a separate process with its own SQLite database in a scratch data folder, so
the browser never touches the test database (and pytest-django's live_server, whose flush
the audit table's triggers refuse, is not used). Playwright never downloads a browser: it
drives /usr/bin/chromium (`make chromium` installs it). Without it the tests are skipped,
except in CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_USERNAME = "browser_admin"
ADMIN_PASSWORD = secrets.token_urlsafe(18)
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
# Playwright's wait for an element, a page or an expectation; generous for a loaded 2-core CI.
ACTION_TIMEOUT_MS = 20_000


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Lets the `page` fixture know whether the test failed, to keep a screenshot of it.
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return str(CHROMIUM)
    message = f"{CHROMIUM} is missing: `make chromium` installs Debian's Chromium (as root)"
    if in_ci():
        pytest.fail(f"{message}; CI must run the browser tests", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_env(data_dir: Path) -> dict[str, str]:
    """The parent's environment without its database or OpenCRF settings, plus the server's."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OPENCRF_", "DJANGO_")) and name != "DATABASE_URL"
    }
    env.update(
        OPENCRF_DATA_DIR=str(data_dir),
        OPENCRF_HTTPS="false",
        OPENCRF_SECRET_KEY=secrets.token_urlsafe(50),
        OPENCRF_LANGUAGE="en",
        PYTHONUNBUFFERED="1",
    )
    return env


def _log_tail(log_path: Path, lines: int = 40) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"`opencrf serve` exited with status {process.returncode} before it was ready:\n"
                f"{_log_tail(log_path)}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
                last_error = f"status {response.status}"
        except urllib.error.HTTPError as error:
            last_error = f"status {error.code}"
        except (urllib.error.URLError, OSError) as error:
            last_error = str(error)
        time.sleep(0.25)
    pytest.fail(
        f"{url}/-/ready did not answer 200 within {READY_TIMEOUT:.0f} s ({last_error}):\n"
        f"{_log_tail(log_path)}",
        pytrace=False,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (gunicorn and its workers), then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a real `opencrf serve`, initialised with the `browser_admin` account."""
    root = tmp_path_factory.mktemp("browser-server")
    data_dir = root / "data"
    data_dir.mkdir()
    password_file = root / "admin-password"
    password_file.write_text(ADMIN_PASSWORD, encoding="utf-8")
    log_path = root / "server.log"
    env = _server_env(data_dir)
    command = [sys.executable, "-m", "opencrf"]

    init = subprocess.run(
        [
            *command,
            "init",
            "--admin",
            ADMIN_USERNAME,
            "--email",
            "a@example.org",
            "--password-file",
            str(password_file),
        ],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if init.returncode != 0:
        pytest.fail(
            f"`opencrf init` failed ({init.returncode}):\n{init.stdout}\n{init.stderr}",
            pytrace=False,
        )

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_ready(url, process, log_path)
        yield url
    finally:
        _stop(process)


def run_opencrf(data_dir: str, *args: str) -> str:
    """Run an `opencrf` command on the browser server's data folder (its settings, not the
    test process's); returns what it printed. Fails the test on a non-zero exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCRF_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(OPENCRF_DATA_DIR=data_dir, OPENCRF_HTTPS="false", OPENCRF_SECRET_KEY="x" * 50)
    result = subprocess.run(
        [sys.executable, "-m", "opencrf", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def fresh_demo_code(title: str) -> str:
    """Python for `opencrf manage shell -c` that loads a copy of the demo study, its twelve
    records included, as a project of its own named `title` (bound to `project`): a test that
    counts rows then sees none that other tests on the shared server added to the demo."""
    return f"""
import json
from opencrf.audit.services import AuditContext
from opencrf.demo.loader import DEMO_FOLDER, load_demo_records, load_study
from opencrf.projects.models import Purpose
meta = json.loads((DEMO_FOLDER / "project.json").read_text(encoding="utf-8"))
context = AuditContext(actor=None, source="system")
project = load_study(
    DEMO_FOLDER, context=context, title={title!r}, notes=meta["notes"],
    is_longitudinal=bool(meta["is_longitudinal"]),
    purpose=Purpose[meta.get("purpose", "research").upper()],
    surveys_enabled=bool(meta.get("surveys_enabled", False)),
)
load_demo_records(project, context)
"""


@pytest.fixture(scope="module")
def server_data_dir(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The data folder of the server behind `server_url`."""
    data_dirs = sorted(tmp_path_factory.getbasetemp().glob("browser-server*/data"))
    assert data_dirs, "the browser server's data folder"
    return str(data_dirs[0])


@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[Any]:
    """One Chromium per test module.

    Module scope on purpose: Playwright's sync API keeps an event loop in this thread while it
    runs, and Django refuses database work from such a thread (SynchronousOnlyOperation); the
    loop must be gone before tests of other modules run.
    """
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(
    browser: Any, server_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Any]:
    """A new browser context (no cookies) in English, on the test server."""
    context = browser.new_context(
        base_url=server_url, locale="en-US", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            shot = tmp_path / "failure.png"
            try:
                page.screenshot(path=str(shot), full_page=True)
                print(f"Screenshot of the failure: {shot} (at {page.url})")
            except Exception as error:  # the screenshot only helps; never hide the failure
                print(f"No screenshot of the failure: {error}")
        context.close()


@pytest.fixture
def admin_credentials() -> tuple[str, str]:
    return ADMIN_USERNAME, ADMIN_PASSWORD
