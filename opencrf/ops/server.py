"""The production web server: gunicorn, run in this process, with whitenoise for static files."""

from __future__ import annotations

import multiprocessing
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


def _post_worker_init(worker: Any) -> None:
    # Each web process takes jobs; the database hands each job to one of them only.
    from opencrf.ops.jobs import start_inprocess_worker

    start_inprocess_worker()


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
    }
    if jobs:
        options["post_worker_init"] = _post_worker_init
    print(f"OpenCRF is serving on http://{options['bind']}/  (Ctrl+C stops it)", flush=True)
    Server(get_wsgi_application(), options).run()
