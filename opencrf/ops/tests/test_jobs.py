"""The job runner survives the database, its supervisor restarts it, and its heartbeat is honest.

These tests run real threads with short pauses; faults enter at one seam (the runner's claim,
or its step). They wait for states with a bound, never for a fixed time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest
from django.db import InterfaceError, OperationalError
from django.urls import reverse
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from opencrf.ops.alerts.evaluate import alert_evaluate
from opencrf.ops.jobs import Supervisor, closing_connections
from opencrf.ops.models import Incident, RunnerState, ScheduledRun, WorkerHeartbeat
from opencrf.ops.runner import JobRunner, claim_next_job, is_transient
from opencrf.testing.audit import lift_audit_triggers_for_the_flush

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _audit_entries_flushed():
    # Raising an alert is audited in the system chain; the flush must be let empty it.
    yield
    lift_audit_triggers_for_the_flush()


RELEASE = threading.Event()


@task()
def double(number: int) -> int:
    return number * 2


@task()
def wait_for_release() -> str:
    RELEASE.wait(30)
    return "released"


def wait_until(condition: Callable[[], object], seconds: float = 20.0) -> None:
    """Poll `condition` until it holds; fail after `seconds` (a bound, not a timing)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {seconds} s: {condition.__doc__}")
        time.sleep(0.02)


def status_of(result_id: str) -> str:
    return DBTaskResult.objects.get(id=result_id).status


def heartbeat_state(worker_id: str) -> str | None:
    beat = WorkerHeartbeat.objects.filter(worker_id=worker_id).first()
    return beat.state if beat else None


class FailingClaims:
    """The real claim, after `errors` have been raised by the first calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, worker_id: str) -> DBTaskResult | None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return claim_next_job(worker_id)


def quick_runner(worker_id: str, claim: Callable[[str], DBTaskResult | None]) -> JobRunner:
    return JobRunner(
        worker_id, interval=0.01, beat_seconds=0.0, retry_first=0.01, retry_most=0.05, claim=claim
    )


def quick_supervisor(
    make_runner: Callable[[], JobRunner], *, restart_after: float = 0.01, schedule: bool = False
) -> Supervisor:
    return Supervisor(
        "test-node-1",
        make_runner=make_runner,
        watch_seconds=0.01,
        restart_first=restart_after,
        restart_most=restart_after,
        schedule=schedule,
    )


@pytest.fixture
def supervised():
    """Start supervisors in the test; each is stopped and joined when the test ends."""
    started: list[tuple[Supervisor, threading.Thread]] = []

    def start(supervisor: Supervisor) -> Supervisor:
        started.append((supervisor, supervisor.start()))
        return supervisor

    yield start
    RELEASE.set()
    for supervisor, thread in started:
        supervisor.stop.set()
        thread.join(30)
    RELEASE.clear()


def test_a_runner_rides_out_a_locked_database_and_then_runs_the_job():
    locked = OperationalError("database is locked")
    claims = FailingClaims(locked, locked, locked)
    runner = quick_runner("test-node-1", claims)
    stop = threading.Event()
    thread = threading.Thread(target=closing_connections(lambda: runner.run(stop)))
    thread.start()
    try:
        result = double.enqueue(21)
        wait_until(lambda: status_of(result.id) == "SUCCESSFUL")
        # The job's outcome is written before the runner's next claim says it is idle again.
        wait_until(lambda: heartbeat_state("test-node-1") == RunnerState.IDLE)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(30)
    assert claims.calls > 3
    assert DBTaskResult.objects.get(id=result.id).return_value == 42
    beat = WorkerHeartbeat.objects.get(worker_id="test-node-1")
    assert (beat.state, beat.job_id, beat.restarts) == (RunnerState.IDLE, "", 0)


def test_the_supervisor_restarts_a_runner_killed_by_an_unexpected_error(supervised):
    claims = FailingClaims(RuntimeError("the claim broke"))
    supervisor = supervised(quick_supervisor(lambda: quick_runner("test-node-1", claims)))

    result = double.enqueue(4)
    wait_until(lambda: status_of(result.id) == "SUCCESSFUL")

    assert supervisor.restarts == 1
    beat = WorkerHeartbeat.objects.get(worker_id="test-node-1")
    assert (beat.restarts, beat.last_error) == (1, "RuntimeError: the claim broke")
    assert beat.last_error_at is not None


def test_the_job_of_a_runner_that_died_holding_it_is_recorded_as_failed(supervised):
    class DiesAfterClaiming(JobRunner):
        def run_job(self, job: DBTaskResult) -> None:
            self.running = self.running or _running(job)
            raise SystemExit("killed in the middle of the job")

    def _running(job: DBTaskResult):  # as the runner records it before running
        from opencrf.ops.runner import Running

        return Running(str(job.id), job.task_path, timezone.now())

    made: list[JobRunner] = []

    def make() -> JobRunner:
        runner_class = DiesAfterClaiming if not made else JobRunner
        made.append(runner_class("test-node-1", interval=0.01, beat_seconds=0.0))
        return made[-1]

    first = double.enqueue(1)
    supervised(quick_supervisor(make))
    wait_until(lambda: status_of(first.id) == "FAILED")
    second = double.enqueue(2)
    wait_until(lambda: status_of(second.id) == "SUCCESSFUL")

    failed = DBTaskResult.objects.get(id=first.id)
    assert failed.exception_class_path == "builtins.SystemExit"
    assert len(made) == 2


def test_a_new_runner_fails_the_jobs_left_running_by_a_dead_process_of_its_host():
    host = socket.gethostname()
    owners = {
        "dead": f"{host}-{dead_pid()}",
        "alive": f"{host}-{os.getpid()}",
        "elsewhere": "another-host-77",
    }
    jobs = {name: double.enqueue(1).id for name in owners}
    for name, owner in owners.items():
        DBTaskResult.objects.filter(id=jobs[name]).update(status="RUNNING", worker_ids=[owner])

    stop = threading.Event()
    stop.set()  # only the start of `run`: what it finds before the first claim
    JobRunner(f"{host}-{os.getpid()}").run(stop)

    assert {name: status_of(job) for name, job in jobs.items()} == {
        "dead": "FAILED",
        "alive": "RUNNING",
        "elsewhere": "RUNNING",
    }
    failed = DBTaskResult.objects.get(id=jobs["dead"])
    assert failed.exception_class_path == "opencrf.ops.runner.OrphanedJob"
    assert f"the job runner {owners['dead']} stopped before the job finished" in failed.traceback


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


class BrokenRunner(JobRunner):
    def step(self) -> bool:
        raise RuntimeError("the runner's own fault")


def test_a_live_scheduler_beside_a_dead_runner_is_no_live_worker(client, settings, supervised):
    settings.OPENCRF_WORKER_STALE_SECONDS = 120
    seen = timezone.now() - timedelta(seconds=300)
    WorkerHeartbeat.objects.create(worker_id="test-node-1", last_seen_at=seen)
    supervisor = supervised(
        quick_supervisor(lambda: BrokenRunner("test-node-1"), restart_after=3600.0, schedule=True)
    )

    wait_until(lambda: ScheduledRun.objects.filter(claimed_by="test-node-1").exists())
    wait_until(lambda: supervisor.runner is not None and supervisor.runner.error is not None)

    response = client.get(reverse("ops:ready") + "?checks=worker")
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]
    assert response.json()["checks"]["worker"]["detail"].startswith("no job worker seen for 30")
    assert WorkerHeartbeat.objects.get().last_seen_at == seen
    assert alert_evaluate("worker_down") == "opened"
    assert Incident.objects.get(key="worker_down").level == 2


class AlwaysFailingClaims:
    """A claim that breaks every time, as a table the runner cannot write would make it."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, worker_id: str) -> DBTaskResult | None:
        self.calls += 1
        raise RuntimeError("the claim broke")


def test_a_runner_that_dies_at_every_claim_falls_silent_though_it_is_restarted(
    client, settings, supervised
):
    # Found by outside testing: each restarted runner wrote a fresh heartbeat before its claim
    # failed, so readiness stayed green and worker_down never fired while no job ran.
    settings.OPENCRF_WORKER_STALE_SECONDS = 120
    seen = timezone.now() - timedelta(seconds=300)
    WorkerHeartbeat.objects.create(worker_id="test-node-1", last_seen_at=seen)
    claims = AlwaysFailingClaims()
    supervisor = supervised(quick_supervisor(lambda: quick_runner("test-node-1", claims)))
    waiting = double.enqueue(3)

    wait_until(lambda: supervisor.restarts >= 3)

    assert status_of(waiting.id) == "READY"
    assert WorkerHeartbeat.objects.get().last_seen_at == seen
    response = client.get(reverse("ops:ready") + "?checks=worker")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["detail"].startswith("no job worker seen for 30")
    assert alert_evaluate("worker_down") == "opened"


def test_a_runner_stuck_in_one_job_turns_readiness_red_and_raises_worker_down(
    client, settings, supervised
):
    settings.OPENCRF_WORKER_STALE_SECONDS = 120
    settings.OPENCRF_WORKER_JOB_MAX_SECONDS = 3600
    supervised(quick_supervisor(lambda: quick_runner("test-node-1", claim_next_job)))
    result = wait_for_release.enqueue()

    def busy() -> bool:
        """the runner's heartbeat says it runs the job"""
        return WorkerHeartbeat.objects.filter(state=RunnerState.BUSY, job_id=result.id).exists()

    wait_until(busy)
    response = client.get(reverse("ops:ready") + "?checks=worker")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["detail"].startswith("1 alive, 1 busy, last seen")

    settings.OPENCRF_WORKER_JOB_MAX_SECONDS = 0  # the job has now run longer than allowed
    wait_until(lambda: client.get(reverse("ops:ready") + "?checks=worker").status_code == 503)
    detail = client.get(reverse("ops:ready") + "?checks=worker").json()["checks"]["worker"]
    assert detail["detail"].startswith(
        "no job worker working: job runner stuck on wait_for_release for "
    )
    assert alert_evaluate("worker_down") == "opened"
    assert "stuck on one job for over 0 seconds: 1." in Incident.objects.get().detail

    RELEASE.set()
    wait_until(lambda: status_of(result.id) == "SUCCESSFUL")
    wait_until(lambda: WorkerHeartbeat.objects.get().state == RunnerState.IDLE)
    assert client.get(reverse("ops:ready") + "?checks=worker").status_code == 200


def test_a_busy_runner_stays_fresh_while_its_thread_lives(settings, supervised):
    supervised(quick_supervisor(lambda: quick_runner("test-node-1", claim_next_job)))
    result = wait_for_release.enqueue()
    wait_until(lambda: WorkerHeartbeat.objects.filter(state=RunnerState.BUSY).exists())
    first = WorkerHeartbeat.objects.get().last_seen_at

    wait_until(lambda: WorkerHeartbeat.objects.get().last_seen_at > first)

    beat = WorkerHeartbeat.objects.get()
    assert (beat.state, beat.job_id) == (RunnerState.BUSY, str(result.id))
    assert beat.job_name == "opencrf.ops.tests.test_jobs.wait_for_release"


def test_only_passing_database_errors_count_as_transient():
    serialization = OperationalError("could not serialize access")
    serialization.__cause__ = psycopg.errors.SerializationFailure()
    assert is_transient(OperationalError("database is locked"))
    assert is_transient(OperationalError("database table is locked: ops_workerheartbeat"))
    assert is_transient(OperationalError("database is busy"))
    assert is_transient(serialization)
    assert is_transient(InterfaceError("connection already closed"))
    assert not is_transient(OperationalError("no such table: django_tasks_database_dbtaskresult"))
    assert not is_transient(RuntimeError("database is locked"))


# --- Stopping cleanly, and forgetting runners long gone ---


def test_a_supervisor_stopped_cleanly_records_its_runner_as_stopped_at_once(client, settings):
    # Found by outside testing: a stopped server's runner counted as alive until its heartbeat
    # was OPENCRF_WORKER_STALE_SECONDS old.
    settings.OPENCRF_WORKER_STALE_SECONDS = 120
    supervisor = quick_supervisor(lambda: quick_runner("test-node-1", claim_next_job))
    thread = supervisor.start()
    wait_until(lambda: WorkerHeartbeat.objects.filter(state=RunnerState.IDLE).exists())
    assert client.get(reverse("ops:ready") + "?checks=worker").status_code == 200

    supervisor.stop.set()  # what the worker's TERM does
    thread.join(30)

    assert WorkerHeartbeat.objects.get().state == RunnerState.STOPPED
    response = client.get(reverse("ops:ready") + "?checks=worker")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["detail"].startswith(
        "no job worker running (1 stopped cleanly), last seen "
    )


def test_the_exit_of_a_web_process_records_its_runner_as_stopped(settings):
    supervisor = quick_supervisor(lambda: quick_runner("test-node-1", claim_next_job))
    thread = supervisor.start()
    wait_until(lambda: WorkerHeartbeat.objects.filter(state=RunnerState.IDLE).exists())

    supervisor.halt(thread, wait=10)  # registered with atexit by start_inprocess_worker

    assert not thread.is_alive()
    assert WorkerHeartbeat.objects.get().state == RunnerState.STOPPED


def test_the_exit_of_a_web_process_busy_with_a_job_records_the_runner_as_stopped_too(settings):
    supervisor = quick_supervisor(lambda: quick_runner("test-node-1", claim_next_job))
    thread = supervisor.start()
    result = wait_for_release.enqueue()
    wait_until(lambda: WorkerHeartbeat.objects.filter(state=RunnerState.BUSY).exists())

    supervisor.halt(thread, wait=0.05)  # the job goes on; the process is leaving anyway

    beat = WorkerHeartbeat.objects.get()
    assert (beat.state, beat.job_id) == (RunnerState.STOPPED, "")
    RELEASE.set()
    thread.join(30)
    RELEASE.clear()
    assert status_of(result.id) == "SUCCESSFUL"


def test_a_stopped_runner_that_beats_again_counts_as_alive(client, settings):
    WorkerHeartbeat.objects.create(worker_id="test-node-1", state=RunnerState.STOPPED)

    JobRunner("test-node-1").step()  # a reused process id

    assert WorkerHeartbeat.objects.get().state == RunnerState.IDLE
    assert client.get(reverse("ops:ready") + "?checks=worker").status_code == 200


def test_the_daily_job_forgets_runners_not_seen_for_a_week_but_keeps_the_newest():
    from opencrf.ops import capacity

    now = timezone.now()
    for worker, days in [("gone-1", 30), ("gone-2", 8), ("recent-3", 6), ("today-4", 0)]:
        seen = now - timedelta(days=days)
        WorkerHeartbeat.objects.create(worker_id=worker, started_at=seen, last_seen_at=seen)

    capacity.snapshot_task.call()

    kept = WorkerHeartbeat.objects.values_list("worker_id", flat=True)
    assert sorted(kept) == ["recent-3", "today-4"]


def test_pruning_keeps_the_newest_runner_however_old_so_a_dead_worker_stays_reported():
    from opencrf.ops.runner import heartbeats_prune

    now = timezone.now()
    for worker, days in [("gone-1", 30), ("gone-2", 20)]:
        seen = now - timedelta(days=days)
        WorkerHeartbeat.objects.create(worker_id=worker, started_at=seen, last_seen_at=seen)

    assert heartbeats_prune(now=now) == 1

    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["gone-2"]
