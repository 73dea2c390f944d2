"""PyCap, the Python client research groups already run, against a real `opencrf serve`.

One server per session (a scratch data folder, SQLite), its administrator's super token from
`opencrf token --super`, and projects created through the API as PyCap's own integration
tests create them.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.browser.conftest import _free_port, _server_env, _stop, _wait_until_ready

ADMIN = "pycap_admin"


def _opencrf(*args: str, env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "opencrf", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"opencrf {args[0]} failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    return result.stdout


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(API URL ending in /api/, super token) of a running server."""
    root = tmp_path_factory.mktemp("pycap-server")
    data_dir = root / "data"
    data_dir.mkdir()
    password = root / "password"
    password.write_text(secrets.token_urlsafe(18), encoding="utf-8")
    env = _server_env(data_dir)
    _opencrf("init", "--admin", ADMIN, "--password-file", str(password), env=env, cwd=root)
    super_token = _opencrf("token", "--user", ADMIN, "--super", env=env, cwd=root).strip()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "opencrf", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_ready(url, process, log_path)
        yield f"{url}/api/", super_token
    finally:
        _stop(process)


def create_project(api_server: tuple[str, str], title: str, *, longitudinal: bool = False) -> str:
    """A new project made with the super token, as PyCap's conftest does; its token."""
    url, super_token = api_server
    data = (
        f"<item><project_title>{title}</project_title><purpose>0</purpose>"
        f"<is_longitudinal>{int(longitudinal)}</is_longitudinal></item>"
    )
    response = requests.post(
        url,
        data={"token": super_token, "content": "project", "format": "xml", "data": data},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.text[-32:]


def create_project_from_xml(api_server: tuple[str, str], title: str, odm: str) -> str:
    """A new project made with the super token from Project XML, as PyCap's own integration
    tests make theirs; its token."""
    url, super_token = api_server
    response = requests.post(
        url,
        data={
            "token": super_token,
            "content": "project",
            "format": "xml",
            "data": f"<item><project_title>{title}</project_title><purpose>0</purpose></item>",
            "odm": odm,
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return response.text[-32:]
