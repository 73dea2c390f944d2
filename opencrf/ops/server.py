"""The production web server: gunicorn, run in this process, with whitenoise for static files."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from gunicorn.app.base import BaseApplication


def default_workers() -> int:
    """One process per CPU on SQLite (writes queue on its one lock); more on PostgreSQL.

    A process runs Python on one CPU at a time however many threads it has, so a second
    process doubled the saves a 2-CPU machine serves (bench/RESULTS.md, load benchmark).
    """
    cpus = multiprocessing.cpu_count()
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return min(cpus, 4)
    return min(2 * cpus + 1, 9)


def prepare_metrics_dir(folder: Path) -> Path:
    """An empty folder for prometheus_client's multiprocess files, named in the environment.

    Set before any web process starts (the library chooses its mode when a metric is made;
    opencrf.ops.metrics makes them at the first request) and emptied, so the counts of an
    earlier run are not added to this one's.
    """
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    # The URL checks of `migrate` may have imported the library already, in single mode.
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    return folder


def _post_worker_init_jobs(worker: Any) -> None:
    # Each web process takes jobs; the database hands each job to one of them only.
    from opencrf.ops.jobs import start_inprocess_worker

    _post_worker_init(worker)
    start_inprocess_worker()


def _post_worker_init(worker: Any) -> None:
    from opencrf.ops.alerts.traffic import start_flusher

    start_flusher()


def _worker_exit(server: Any, worker: Any) -> None:
    from opencrf.ops.alerts.traffic import flush

    try:
        flush()
    except Exception:  # leaving anyway; a few requests go uncounted
        server.log.exception("Could not store the request counts at exit")


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, application: WSGIHandler, options: dict[str, Any]) -> None:
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIHandler:
        return self.application


def run_server(*, host: str, port: int, workers: int = 0, jobs: bool = True) -> None:
    prepare_metrics_dir(Path(settings.DATA_DIR) / "metrics")
    from django.core.wsgi import get_wsgi_application

    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers or default_workers(),
        "worker_class": "gthread",
        "threads": 8,
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": "-",
        "errorlog": "-",
        # Proxy headers count only when the operator says a proxy is in front.
        "forwarded_allow_ips": "127.0.0.1,::1" if settings.BEHIND_PROXY else "",
        # The runtime control socket is not used; it would write into $HOME.
        "control_socket_disable": True,
        "preload_app": False,
        "post_worker_init": _post_worker_init_jobs if jobs else _post_worker_init,
        "worker_exit": _worker_exit,
        "child_exit": _child_exit,
    }
    print(f"OpenCRF is serving on http://{options['bind']}/  (Ctrl+C stops it)", flush=True)
    Server(get_wsgi_application(), options).run()
