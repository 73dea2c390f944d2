"""`opencrf worker` as an operator runs it: its runner reports, runs jobs and stops on TERM."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.test_cli import clean_env, run, shown


def wait_until(condition: Callable[[], object], seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {seconds} s")
        time.sleep(0.2)


def rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database, timeout=10) as connection:
        return connection.execute(sql).fetchall()


def test_the_worker_process_runs_the_scheduled_jobs_reports_its_runner_and_stops_on_term(
    tmp_path: Path,
):
    data_dir = tmp_path / "data"
    quiet = {"OPENCRF_BACKUP_TIME": "", "OPENCRF_DRILL_TIME": ""}  # no backup in this test
    initialised = run("init", data_dir=data_dir, **quiet)
    assert initialised.returncode == 0, shown(initialised)
    database = data_dir / "opencrf.sqlite3"
    worker = subprocess.Popen(
        [sys.executable, "-m", "opencrf", "worker", "--interval", "0.1"],
        env=clean_env(data_dir, **quiet),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        alerts = (
            "SELECT status FROM django_tasks_database_dbtaskresult"
            " WHERE task_path = 'opencrf.ops.alerts.tasks.evaluate_alerts'"
        )
        pending = (
            "SELECT count(*) FROM django_tasks_database_dbtaskresult"
            " WHERE status IN ('READY', 'RUNNING')"
        )
        state = "SELECT state FROM ops_workerheartbeat"
        wait_until(lambda: rows(database, alerts) == [("SUCCESSFUL",)])
        wait_until(lambda: rows(database, pending) == [(0,)])
        wait_until(lambda: rows(database, state) == [("idle",)])
        beats = rows(database, "SELECT worker_id, state, restarts FROM ops_workerheartbeat")
        assert [(state, restarts) for _id, state, restarts in beats] == [("idle", 0)]
        assert str(beats[0][0]).endswith(f"-{worker.pid}")
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    # Stopped cleanly: no longer counted as alive, without waiting for its heartbeat to age.
    assert rows(database, "SELECT state FROM ops_workerheartbeat") == [("stopped",)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_server_stopped_on_term_records_its_in_process_runner_as_stopped(tmp_path: Path):
    data_dir = tmp_path / "data"
    quiet = {"OPENCRF_BACKUP_TIME": "", "OPENCRF_DRILL_TIME": ""}
    initialised = run("init", data_dir=data_dir, **quiet)
    assert initialised.returncode == 0, shown(initialised)
    database = data_dir / "opencrf.sqlite3"
    port = str(_free_port())
    server = subprocess.Popen(
        [sys.executable, "-m", "opencrf", "serve", "--port", port, "--workers", "1"],
        env=clean_env(data_dir, **quiet),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        state = "SELECT state FROM ops_workerheartbeat"
        wait_until(lambda: rows(database, state) == [("idle",)])
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert rows(database, state) == [("stopped",)], output
