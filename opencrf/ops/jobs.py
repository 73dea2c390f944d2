"""Background jobs: a worker thread inside the server (embedded) or its own process."""

from __future__ import annotations

import logging
import os
import socket
import threading

logger = logging.getLogger(__name__)
_started = threading.Event()


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def make_worker(*, interval: float = 1.0, max_tasks: int | None = None) -> object:
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["*"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=True,
        max_tasks=max_tasks,
        worker_id=worker_id(),
        excluded_queue_names=[],
    )


def start_inprocess_worker() -> bool:
    """Run jobs, and the periodic-job scheduler, on daemon threads of this process; once."""
    if _started.is_set():
        return False
    _started.set()
    from opencrf.ops.schedule import start_scheduler_thread

    worker = make_worker()
    start_scheduler_thread(worker_id())
    thread = threading.Thread(target=worker.run, name="opencrf-jobs", daemon=True)  # type: ignore[attr-defined]
    thread.start()
    logger.info("Background jobs run in this process (thread %s)", thread.name)
    return True
