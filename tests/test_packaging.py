"""A fresh clone installs and tests by itself; `pip install opencrf` brings every file it needs."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import tomllib
from pathlib import Path

from conftest import FIXTURES, REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
LOCK = REPO / "constraints" / "lock.txt"
BOOTSTRAP = REPO / "opencrf" / "static" / "vendor" / "bootstrap"
# Spelled in pieces so that this file does not find itself.
OUTSIDE = re.compile(
    "|".join([r"\.\./" + "shared", r"/\s*['\"]" + "shared['\"]", "/work/" + "shared"])
)
SKIPPED_FOLDERS = {
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    "fixtures",
    "var",
    "build",
    "dist",
}


def _source_files():
    for folder, subfolders, files in os.walk(REPO):
        subfolders[:] = sorted(
            name
            for name in subfolders
            if name not in SKIPPED_FOLDERS and not name.endswith((".egg-info", "-venv"))
        )
        yield from (Path(folder) / name for name in sorted(files))


def test_no_code_reads_the_shared_folder_beside_the_repository():
    runnable = {".py", ".mjs", ".js", ".sh", ".toml", ".cfg", ".ini"}
    readers = [
        str(path.relative_to(REPO))
        for path in _source_files()
        if (path.suffix in runnable or path.name in {"Makefile", "run"})
        and OUTSIDE.search(path.read_text(encoding="utf-8", errors="replace"))
    ]

    assert readers == []


def test_the_fixtures_are_in_the_repository_with_their_licence_and_source():
    assert FIXTURES == REPO / "tests" / "fixtures"
    assert (FIXTURES / "README.md").is_file()
    assert (FIXTURES / "SOURCE.md").is_file()
    assert "MIT License" in (FIXTURES / "redcap-projects" / "LICENSE").read_text()
    assert len(list(FIXTURES.glob("redcap-projects/*/project.xml"))) == 28
    assert (FIXTURES / "studies" / "salt_rct" / "dictionary.csv").is_file()


def test_every_file_of_the_package_is_in_its_package_data():
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["*"]
    left_out = [
        str(path.relative_to(REPO))
        for path in _source_files()
        if path.is_relative_to(REPO / "opencrf")
        and path.suffix not in {".py", ".pyc"}
        and not any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)
    ]

    assert left_out == []


def test_the_dependencies_are_ranges_and_the_lock_pins_each_of_them_exactly():
    extras = PYPROJECT["project"]["optional-dependencies"]
    names = [
        re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")
        for requirement in [*PYPROJECT["project"]["dependencies"], *extras["test"], *extras["dev"]]
    ]
    locked = {
        line.split("==")[0].lower().replace("_", "-")
        for line in LOCK.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    lines = [line for line in LOCK.read_text().splitlines() if line and not line.startswith("#")]

    assert [dep for dep in PYPROJECT["project"]["dependencies"] if "==" in dep] == []
    assert set(names) - locked == set()
    assert [line for line in lines if not re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.+-]+", line)] == []
    assert "xstatic-bootstrap" not in names


def test_vendored_bootstrap_is_the_release_its_readme_names_byte_for_byte():
    readme = (BOOTSTRAP / "README.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `([\w/.]+)` \| `dist/[\w/.]+`[^|]* \| `([0-9a-f]{64})` \|$", readme, re.M
    )

    assert len(rows) == 4
    for name, digest in rows:
        assert hashlib.sha256((BOOTSTRAP / name).read_bytes()).hexdigest() == digest, name
    assert "Bootstrap  v5.3.8 " in (BOOTSTRAP / "css" / "bootstrap.min.css").read_text()
    assert "Bootstrap v5.3.8 " in (BOOTSTRAP / "js" / "bootstrap.bundle.min.js").read_text()
    assert "The Bootstrap Authors" in (BOOTSTRAP / "LICENSE").read_text()


def test_the_base_template_uses_the_vendored_bootstrap():
    base = (REPO / "opencrf" / "templates" / "base.html").read_text(encoding="utf-8")

    assert "{% static 'vendor/bootstrap/css/bootstrap.min.css' %}" in base
    assert "{% static 'vendor/bootstrap/js/bootstrap.bundle.min.js' %}" in base
