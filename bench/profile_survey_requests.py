"""What one survey response costs the server, request by request, in one process.

    python bench/profile_survey_requests.py [--link public|record] [--responses 200]
                                            [--profile get|post|done] [--sqlite]

The same project and requests as `bench_survey_load.py` (a 30-field survey on one page), sent
through Django's test client (every middleware, CSRF checks on, production settings) instead
of gunicorn: GET the link (the public link's redirect counts with the GET), POST the answers,
GET the completion page. Prints, for each request, the median and mean CPU time of this
process and of the PostgreSQL backend serving it (read from /proc: run it as the database's
user or root on the database's machine), the wall time and the SQL statements. `--profile`
runs cProfile (CPU time) over that request and prints where the time goes.
A scratch database (PostgreSQL by createdb, or SQLite) and folder, removed afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pstats
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_survey_load as load

REQUESTS = ("get", "post", "done")


class Meter:
    """CPU of this process and of its PostgreSQL backend, wall time and statements."""

    def __init__(self) -> None:
        self.backend_stat: Path | None = None
        self.statements = 0
        self.last: dict[str, list[str]] = {n: [] for n in REQUESTS}
        self._sql: list[str] = []
        self.rows: dict[str, list[tuple[float, float, float, int]]] = {n: [] for n in REQUESTS}

    def attach(self) -> None:
        from django.db import connection

        connection.ensure_connection()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend_stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
        connection.execute_wrappers.append(self._count)

    def _count(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any
    ) -> Any:
        self.statements += 1
        self._sql.append(sql)
        return execute(sql, params, many, ctx)

    def _backend_cpu(self) -> float:
        if self.backend_stat is None:
            return 0.0
        fields = self.backend_stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def measure(self, name: str, call: Callable[[], Any]) -> Any:
        statements, backend = self.statements, self._backend_cpu()
        self._sql = []
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        backend = self._backend_cpu() - backend
        self.last[name] = self._sql
        self.rows[name].append(
            (cpu * 1000, backend * 1000, wall * 1000, self.statements - statements)
        )
        return result


def one_response(client: Any, start: str, number: int, meter: Meter) -> None:
    client.cookies.clear()  # a new browser (one client: middleware is loaded once, as served)
    tag = f"p{number:06d}"
    sent = load.answers(number, tag)

    def get() -> tuple[str, str]:
        response = client.get(start, follow=True)
        assert response.status_code == 200, response.status_code
        return response.redirect_chain[-1][
            0
        ] if response.redirect_chain else start, response.content.decode()

    path, page = meter.measure("get", get)
    action, fields = load.filled_form(page, sent)
    target = action or path
    posted = meter.measure("post", lambda: client.post(target, fields, HTTP_REFERER=path))
    assert posted.status_code == 302, (posted.status_code, posted.content[:500])
    done = meter.measure("done", lambda: client.get(posted["Location"]))
    assert load.COMPLETION in done.content.decode(), done.content[:300]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", choices=("public", "record"), default="public")
    parser.add_argument("--responses", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", choices=REQUESTS, default="")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--patch", default="", help="a Python file imported after set-up")
    parser.add_argument("--show-sql", action="store_true", help="the last response's SQL")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="opencrf-survey-profile-"))
    name = "" if args.sqlite else f"opencrf_survey_profile_{os.getpid()}"
    url = "" if args.sqlite else f"postgres://postgres@127.0.0.1:5432/{name}"
    if name:
        load.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], dict(os.environ), root)
    try:
        profile(args, root, url)
    finally:
        if "django.db" in sys.modules:
            sys.modules["django.db"].connections.close_all()
        if name:
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", name], check=False)
        shutil.rmtree(root, ignore_errors=True)


def profile(args: argparse.Namespace, root: Path, url: str) -> None:
    (root / "data").mkdir()
    env = load.server_env(root / "data", url) | load.raised_limits(root)
    password = secrets.token_urlsafe(18)
    (root / "pw").write_text(password)
    python = [sys.executable]
    init = ["-m", "opencrf", "init", "--admin", load.ADMIN, "--email", "a@example.org"]
    load.run([*python, *init, "--password-file", str(root / "pw")], env, root)
    static = ["-m", "opencrf", "manage", "collectstatic", "--noinput", "-v0"]
    load.run([*python, *static], env, root)  # as `opencrf serve` does
    links = args.responses + args.warmup if args.link == "record" else 0
    os.environ.update(env)
    sys.path[:0] = [str(root), str(load.ROOT)]  # this checkout's opencrf, whatever is installed
    import django

    django.setup()
    from django.test import Client

    info = load.setup(args.link, links, password)
    if args.patch:  # e.g. timers wrapped around chosen functions
        sys.path.insert(0, str(Path(args.patch).resolve().parent))
        importlib.import_module(Path(args.patch).stem)
    starts = (
        [f"/surveys/s/{token}/" for _, token in info["links"]]
        if args.link == "record"
        else [f"/surveys/p/{info['public_token']}/"] * (args.responses + args.warmup)
    )
    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1", HTTP_ORIGIN="http://127.0.0.1")
    meter = Meter()
    meter.attach()
    for number in range(args.warmup):
        one_response(client, starts[number], number, meter)
    meter.rows = {n: [] for n in REQUESTS}
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    original = meter.measure
    if profiler is not None:

        def profiled(name: str, call: Callable[[], Any]) -> Any:
            if name != args.profile:
                return original(name, call)
            return original(name, lambda: profiler.runcall(call))

        meter.measure = profiled  # type: ignore[method-assign]
    for number in range(args.warmup, args.warmup + args.responses):
        one_response(client, starts[number], number, meter)
    print(f"{args.responses} responses, {args.link} link, {'PostgreSQL' if url else 'SQLite'}")
    print("request: python CPU ms median/mean | DB backend CPU ms mean | wall ms median | SQL")
    for name in REQUESTS:
        rows = meter.rows[name]
        cpu, backend, wall, sql = zip(*rows, strict=True)
        print(
            f"{name:5}: {statistics.median(cpu):6.1f} / {statistics.mean(cpu):6.1f} | "
            f"{statistics.mean(backend):5.1f} | {statistics.median(wall):6.1f} | "
            f"{statistics.median(sql):.0f}"
        )
    if args.show_sql:
        for name in REQUESTS:
            print(f"--- {name}")
            print("\n".join(sql[:300] for sql in meter.last[name]))
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(r"opencrf|template|handlers", 60)
        stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
