"""Background jobs: a supervised runner thread inside the server (embedded) or its own process.

The supervisor watches two threads of its process: the job runner (opencrf/ops/runner.py) and
the periodic-job scheduler (opencrf/ops/schedule.py). A thread found dead is logged and started
again, the runner after a pause that doubles with each death in a row. While the runner is busy
with a job, the supervisor keeps the runner's heartbeat fresh for as long as that thread lives,
so a long backup shows as "busy since T" and a killed process falls silent. A clean stop (the
worker's TERM or Ctrl+C, a web process's exit) records the runner as stopped, so that it stops
counting as alive at once.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

from django.db import connections
from django.utils import timezone

from opencrf.ops.runner import (
    JobRunner,
    backoff,
    beat,
    describe,
    note_restart,
    runner_stopped,
)
from opencrf.ops.schedule import Scheduler

logger = logging.getLogger(__name__)
_started = threading.Event()
# How long the exit of a web process waits for an idle runner to end before recording it stopped.
HALT_SECONDS = 5.0


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def closing_connections(target: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            target()
        finally:
            connections.close_all()  # this thread's connections only

    return run


class Supervisor:
    """Keeps this process's job runner and scheduler threads alive; see the module's note."""

    def __init__(
        self,
        worker_id: str,
        *,
        make_runner: Callable[[], JobRunner] | None = None,
        watch_seconds: float = 5.0,
        restart_first: float = 1.0,
        restart_most: float = 60.0,
        stable_seconds: float = 300.0,
        schedule: bool = True,
    ) -> None:
        self.worker_id = worker_id
        self.make_runner = make_runner or (lambda: JobRunner(worker_id))
        self.watch_seconds = watch_seconds
        self.restart_first = restart_first
        self.restart_most = restart_most
        self.stable_seconds = stable_seconds  # a runner that lived this long resets the pause
        self.schedule = schedule
        self.stop = threading.Event()
        self.runner: JobRunner | None = None
        self.restarts = 0
        self._runner_thread: threading.Thread | None = None
        self._scheduler_thread: threading.Thread | None = None
        self._started_at = 0.0
        self._started_wall = timezone.now()
        self._died_at: float | None = None
        self._deaths = 0

    def start(self) -> threading.Thread:
        """Supervise from a daemon thread (inside the web server)."""
        thread = threading.Thread(
            target=closing_connections(self.run), name="opencrf-jobs-supervisor", daemon=True
        )
        thread.start()
        return thread

    def run(self) -> None:
        """Watch until `stop` is set; then let the runner finish its job, record it as stopped,
        and return. A second signal ends the wait (SystemExit): it is recorded as stopped too."""
        try:
            while not self.stop.is_set():
                try:
                    self.watch()
                except Exception:  # the watcher itself must outlive any fault it sees
                    logger.exception("The job supervisor's pass failed")
                self.stop.wait(self.watch_seconds)
            for thread in (self._runner_thread, self._scheduler_thread):
                if thread is not None:
                    thread.join()
        finally:
            if self.stop.is_set():
                self._quietly(lambda: runner_stopped(self.worker_id))

    def halt(self, thread: threading.Thread | None = None, *, wait: float = HALT_SECONDS) -> None:
        """At the process's exit (`opencrf serve`): claim nothing more, give the supervisor
        `wait` seconds to see the runner end, and record the runner as stopped in any case.

        A job still running then dies with the process; the next runner of this host records
        it as failed (see `orphaned_jobs_fail`).
        """
        self.stop.set()
        if thread is not None:
            thread.join(wait)
        if thread is None or thread.is_alive():
            self._quietly(lambda: runner_stopped(self.worker_id))
            connections.close_all()

    def watch(self) -> None:
        """One pass: start or restart what is dead; vouch for a runner busy with a job."""
        if self._runner_thread is None:
            self._start_runner()
        elif self._runner_thread.is_alive():
            self._vouch()
        else:
            self._runner_died()
        if self.schedule and not (self._scheduler_thread and self._scheduler_thread.is_alive()):
            self._start_scheduler()

    def _start_runner(self) -> None:
        runner = self.make_runner()
        self.runner = runner
        self._started_at = time.monotonic()
        self._started_wall = timezone.now()
        self._died_at = None
        self._runner_thread = threading.Thread(
            target=closing_connections(lambda: self._run_runner(runner)),
            name="opencrf-jobs",
            daemon=True,
        )
        self._runner_thread.start()

    def _run_runner(self, runner: JobRunner) -> None:
        try:
            runner.run(self.stop)
        except BaseException as error:  # reported by the supervisor's next pass
            runner.error = error
            logger.exception("The job runner %s stopped on an unexpected error", self.worker_id)

    def _runner_died(self) -> None:
        now = time.monotonic()
        if self._died_at is None:  # first pass since the death: log it, count it
            self._died_at = now
            lived = now - self._started_at
            self._deaths = 1 if lived >= self.stable_seconds else self._deaths + 1
            logger.error(
                "The job runner thread of %s died (%s); restarting it in %.1f s",
                self.worker_id,
                describe(self.runner.error) if self.runner and self.runner.error else "no error",
                self._pause(),
            )
            self._fail_orphaned_job()
        if now - self._died_at < self._pause():
            return
        error = self.runner.error if self.runner else None
        started = self._started_wall
        self._quietly(lambda: note_restart(self.worker_id, error, started_at=started))
        self.restarts += 1
        self._start_runner()

    def _pause(self) -> float:
        return backoff(self._deaths, first=self.restart_first, most=self.restart_most)

    def _fail_orphaned_job(self) -> None:
        """The job the dead runner held will not finish: record it as failed."""
        from django_tasks_db.compat import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        runner = self.runner
        if runner is None or runner.running is None:
            return
        job_id, error = runner.running.job_id, runner.error or RuntimeError("runner died")
        job = DBTaskResult.objects.filter(id=job_id, status=TaskResultStatus.RUNNING).first()
        if job is not None:
            self._quietly(lambda: job.set_failed(error))

    def _vouch(self) -> None:
        """Refresh the heartbeat of a runner busy with a job, while its thread lives."""
        runner = self.runner
        if runner is None:
            return
        with runner.lock:
            running = runner.running
            if running is not None:
                self._quietly(lambda: beat(self.worker_id, **running.state()))

    def _start_scheduler(self) -> None:
        if self._scheduler_thread is not None:
            logger.error("The scheduler thread of %s died; restarting it", self.worker_id)
        scheduler = Scheduler(self.worker_id)
        self._scheduler_thread = threading.Thread(
            target=closing_connections(lambda: scheduler.run_forever(self.stop)),
            name="opencrf-schedule",
            daemon=True,
        )
        self._scheduler_thread.start()

    def _quietly(self, write: Callable[[], object]) -> None:
        try:
            write()
        except Exception:
            logger.exception("The job supervisor of %s could not write its record", self.worker_id)


def start_inprocess_worker() -> bool:
    """Run jobs, and the periodic-job scheduler, on supervised threads of this process; once."""
    if _started.is_set():
        return False
    _started.set()
    supervisor = Supervisor(worker_id())
    # Gunicorn ends a web process with sys.exit after a graceful stop: atexit handlers run.
    atexit.register(supervisor.halt, supervisor.start())
    logger.info("Background jobs run in this process (supervised thread opencrf-jobs)")
    return True


def run_worker_process(*, interval: float = 1.0) -> None:
    """`opencrf worker`: supervise in the main thread; the first Ctrl+C (or TERM) lets the
    running job finish, a second one ends the process at once."""
    me = worker_id()
    supervisor = Supervisor(me, make_runner=lambda: JobRunner(me, interval=interval))

    def shutdown(signum: int, frame: FrameType | None) -> None:
        if supervisor.stop.is_set():
            raise SystemExit(1)
        logger.warning("Stopping after the running job (%s)", signal.strsignal(signum))
        supervisor.stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, shutdown)
    supervisor.run()
