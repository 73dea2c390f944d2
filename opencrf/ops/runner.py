"""The job runner: claims background jobs one at a time and runs them, riding out the database.

It replaces the loop of django_tasks_db's `Worker.run`, which lets an OperationalError escape
from its claim (SQLite answers "database is locked" when a long import holds the write lock
beyond the busy timeout; the `BEGIN` and `COMMIT` sit outside its own guard), so the thread
ended and nothing noticed. Here:

- a transient database error (SQLite locked or busy; on PostgreSQL a lost connection, a
  serialization failure or a deadlock) is logged and retried after a growing pause; any other
  error ends `run`, and the supervisor in opencrf/ops/jobs.py starts a new runner;
- the runner thread writes its own heartbeat between jobs and at least every `beat_seconds`
  while it waits, each time after a claim that worked (a runner whose claims all fail falls
  silent, however often it is restarted), and records the job it runs and since when (see
  `WorkerHeartbeat`); a clean shutdown records it as stopped (`runner_stopped`), and rows of
  runners not seen for a week are pruned daily (`heartbeats_prune`);
- once a job is claimed, how it ended is always recorded: that write is retried until it lands;
  a job left running by a runner process of this host that is gone is recorded as failed when
  the next runner starts.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeAlias

from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    transaction,
)
from django.utils import timezone
from django_tasks_db.compat import TaskContext, TaskResultStatus, task_finished, task_started
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from opencrf.ops.models import RunnerState, WorkerHeartbeat

if TYPE_CHECKING:
    Job: TypeAlias = DBTaskResult[..., Any]

logger = logging.getLogger(__name__)

BACKEND = "default"
# SQLite's words for "another connection holds the lock": worth waiting for.
SQLITE_TRANSIENT = ("locked", "busy")


def is_transient(error: BaseException) -> bool:
    """True for database errors that pass by themselves; False for faults to restart on."""
    if isinstance(error, InterfaceError):  # the connection is gone; the next query reopens it
        return True
    if not isinstance(error, OperationalError):
        return False
    if type(error.__cause__).__module__.startswith("psycopg"):
        return True  # connection lost, serialization failure, deadlock, statement timeout
    text = str(error).lower()
    return any(word in text for word in SQLITE_TRANSIENT)


def backoff(failures: int, *, first: float, most: float) -> float:
    """Seconds to pause after `failures` failures in a row: doubling from `first` to `most`."""
    return float(min(most, first * 2 ** max(0, failures - 1)))


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


# --- The heartbeat row. ---

# A runner's row outlives its process for this long (the operations page shows it), then goes.
HEARTBEATS_KEPT = timedelta(days=7)

IDLE: dict[str, Any] = {
    "state": RunnerState.IDLE,
    "job_id": "",
    "job_name": "",
    "job_started_at": None,
}


def beat(worker_id: str, *, now: datetime | None = None, **state: Any) -> None:
    """Record a sign of life of `worker_id` (and its state); creates its row the first time."""
    values = {"last_seen_at": now or timezone.now(), **state}
    if WorkerHeartbeat.objects.filter(worker_id=worker_id).update(**values):
        return
    try:
        with transaction.atomic():
            WorkerHeartbeat.objects.create(
                worker_id=worker_id, started_at=values["last_seen_at"], **values
            )
    except IntegrityError:  # another thread of the same runner created it meanwhile
        WorkerHeartbeat.objects.filter(worker_id=worker_id).update(**values)


def note_restart(worker_id: str, error: BaseException | None, *, started_at: datetime) -> None:
    """Count a restart of the runner and keep what ended the last one.

    A runner that died before it ever beat has no row yet: it gets one, last seen when it was
    started (`started_at`), so that its death is on record but is no sign of life.
    """
    from django.db.models import F

    now = timezone.now()
    last_error = describe(error) if error else ""
    found = WorkerHeartbeat.objects.filter(worker_id=worker_id)
    if found.update(restarts=F("restarts") + 1, last_error=last_error, last_error_at=now):
        return
    try:
        with transaction.atomic():
            WorkerHeartbeat.objects.create(
                worker_id=worker_id,
                started_at=started_at,
                last_seen_at=started_at,
                restarts=1,
                last_error=last_error,
                last_error_at=now,
            )
    except IntegrityError:  # a runner beat meanwhile: count the restart on its row
        found.update(restarts=F("restarts") + 1, last_error=last_error, last_error_at=now)


def runner_stopped(worker_id: str, *, now: datetime | None = None) -> None:
    """Record that `worker_id` stopped cleanly, so that it stops counting as alive at once
    rather than after OPENCRF_WORKER_STALE_SECONDS of silence. A runner of the same id that
    beats again (a reused process id) counts as alive again."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(
        **{**IDLE, "state": RunnerState.STOPPED, "last_seen_at": now or timezone.now()}
    )


def heartbeats_prune(*, now: datetime | None = None) -> int:
    """Forget the runners not seen for HEARTBEATS_KEPT; returns how many rows went.

    Each runner process has its own row (`<host>-<pid>`), so rows pile up with every restart.
    The newest row always stays: a worker down for longer than that is still reported as down,
    never as "no worker has reported yet".
    """
    since = (now or timezone.now()) - HEARTBEATS_KEPT
    newest = WorkerHeartbeat.objects.order_by("-last_seen_at").values_list("pk", flat=True)[:1]
    old = WorkerHeartbeat.objects.filter(last_seen_at__lt=since).exclude(pk__in=list(newest))
    deleted, _by_model = old.delete()
    return deleted


@dataclass(frozen=True, slots=True)
class Running:
    """The job a runner is busy with, as its heartbeat shows it."""

    job_id: str
    name: str
    since: datetime

    def state(self) -> dict[str, Any]:
        return {
            "state": RunnerState.BUSY,
            "job_id": self.job_id,
            "job_name": self.name,
            "job_started_at": self.since,
        }


# --- Jobs left behind by a runner that died. ---


class OrphanedJob(RuntimeError):
    """The runner that claimed the job stopped before it finished: its process is gone."""


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


def orphaned_jobs_fail(worker_id: str) -> int:
    """Record as failed the jobs still marked running by a dead runner process of this host.

    Runner ids are `<host>-<pid>`; a killed process (kill -9, a crash, a power cut) leaves its
    job running for ever otherwise. Other hosts' jobs are theirs to judge.
    """
    host = worker_id.rpartition("-")[0]
    failed = 0
    for job in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING):
        owner = job.worker_ids[-1] if job.worker_ids else ""
        owner_host, _dash, pid = owner.rpartition("-")
        if owner_host != host or not pid.isdigit() or _process_alive(int(pid)):
            continue
        job.set_failed(OrphanedJob(f"the job runner {owner} stopped before the job finished"))
        failed += 1
    return failed


# --- Claiming and running one job. ---


def claim_next_job(worker_id: str) -> Job | None:
    """The next ready job, marked as running by `worker_id`; None when the queue is empty."""
    ready = DBTaskResult.objects.ready().filter(backend_name=BACKEND)
    with exclusive_transaction(ready.db):
        job = ready.get_locked()
        if job is not None:
            job.claim(worker_id)
    return job


def execute(job: Job) -> Callable[[], None]:
    """Run the job's task; return the database write that records how it ended."""
    try:
        task = job.task
        result = job.task_result
        task_started.send(sender=type(task.get_backend()), task_result=result)
        arguments: tuple[object, ...] = ()
        if task.takes_context:
            arguments = (TaskContext(task_result=result),)
        value = task.call(*arguments, *result.args, **result.kwargs)
    except Exception as error:  # the job failed, not the runner: record it and go on
        logger.warning("Job %s (%s) failed", job.id, job.task_path, exc_info=True)
        return partial(job.set_failed, error)
    return partial(_record_success, job, value)


def _record_success(job: Job, value: Any) -> None:
    try:
        job.set_successful(value)
    except Exception as error:
        if is_transient(error):
            raise
        job.set_failed(error)  # e.g. a return value JSON cannot hold


def _announce_finished(job: Job) -> None:
    try:
        task_finished.send(sender=type(job.task.get_backend()), task_result=job.task_result)
    except Exception:  # a listener's fault is not the job's
        logger.exception("A task_finished listener failed for job %s", job.id)


class JobRunner:
    """Claims and runs jobs on the thread that calls `run`; writes that thread's heartbeat.

    `claim` is the seam where tests inject database faults.
    """

    def __init__(
        self,
        worker_id: str,
        *,
        interval: float = 1.0,
        beat_seconds: float = 10.0,
        retry_first: float = 0.5,
        retry_most: float = 30.0,
        claim: Callable[[str], Job | None] = claim_next_job,
    ) -> None:
        self.worker_id = worker_id
        self.interval = interval
        self.beat_seconds = beat_seconds
        self.retry_first = retry_first
        self.retry_most = retry_most
        self.claim = claim
        # Shared with the supervisor, which keeps the heartbeat of a busy runner fresh.
        self.lock = threading.Lock()
        self.running: Running | None = None
        self.error: BaseException | None = None  # what ended `run`, set by the supervisor
        self._beaten_at: float | None = None

    def run(self, stop: threading.Event) -> None:
        """Claim and run jobs until `stop` is set; only a non-transient error ends it early."""
        try:
            orphaned_jobs_fail(self.worker_id)
        except Exception:  # worth a log line, not the runner's life: the next start retries
            logger.exception("Job runner %s: could not check for orphaned jobs", self.worker_id)
        failures = 0
        while not stop.is_set():
            try:
                worked = self.step()
            except Exception as error:
                if not is_transient(error):
                    raise
                failures += 1
                self._pause(error, failures, stop)
                continue
            failures = 0
            if not worked:
                stop.wait(self.interval)

    def step(self) -> bool:
        """Claim and run one job; with none to run, beat if due and return False.

        The beat follows a claim that worked, so that a runner whose every claim fails, however
        often the supervisor starts it again, falls silent instead of looking alive.
        """
        close_old_connections()  # honours CONN_MAX_AGE and the health checks, as requests do
        job = self.claim(self.worker_id)
        if job is None:
            self._beat_if_due()
            return False
        self.run_job(job)
        return True

    def run_job(self, job: Job) -> None:
        running = Running(str(job.id), job.task_path, timezone.now())
        with self.lock:
            self.running = running
            self._quietly(partial(beat, self.worker_id, **running.state()))
        write = execute(job)
        self._until_written(write)
        with self.lock:
            self.running = None
        self._beaten_at = None  # the job is over: say so at once
        _announce_finished(job)

    def _beat_if_due(self) -> None:
        if self._beaten_at is not None and time.monotonic() - self._beaten_at < self.beat_seconds:
            return
        beat(self.worker_id, **IDLE)
        self._beaten_at = time.monotonic()

    def _until_written(self, write: Callable[[], None]) -> None:
        """Retry the outcome's write through transient errors: a claimed job must not hang."""
        failures = 0
        while True:
            try:
                write()
                return
            except Exception as error:
                if not is_transient(error):
                    raise
                failures += 1
                self._pause(error, failures, threading.Event())

    def _pause(self, error: BaseException, failures: int, stop: threading.Event) -> None:
        delay = backoff(failures, first=self.retry_first, most=self.retry_most)
        logger.warning(
            "Job runner %s: database not available (%s); retry %d in %.1f s",
            self.worker_id,
            describe(error),
            failures,
            delay,
        )
        close_old_connections()  # drops a connection the error left unusable
        stop.wait(delay)

    def _quietly(self, write: Callable[[], None]) -> None:
        """A heartbeat write that failed is logged, not fatal: the next one may pass."""
        try:
            write()
        except Exception as error:
            logger.warning("Job runner %s: heartbeat not written (%s)", self.worker_id, error)
