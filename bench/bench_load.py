"""Many people saving forms at once against a real `opencrf serve` on loopback.

    python bench/bench_load.py [--users 50] [--duration 120] [--think 1.0]
                               [--shared-records 3] [--shared-fraction 0.2]

Starts `python -m opencrf init` and `python -m opencrf serve` in subprocesses with a scratch
data folder (SQLite by default; PostgreSQL when DATABASE_URL is set, or with --database-url),
creates a classic project with one small form, `--users` members (one password hash computed
once and shared, so the setup does not spend a minute hashing), one record per user and a few
shared records. Then each simulated user, in its own thread with `http.client`:

1. logs in through the login page (CSRF token and session cookie, as a browser);
2. waits for everyone (a barrier), then until the time is up: picks its own record, or with
   probability `--shared-fraction` one of the shared records; GETs the form and reads the CSRF
   token, `base_version`, `base_values` and the stored counter from the HTML; POSTs a save with
   a new counter (its own record: last acknowledged + 1; a shared record: a value unique to
   this user and attempt); on 409 (conflict) counts it, reloads and tries again (at most 5
   times); sleeps a random think time (uniform 0 … 2 × `--think` seconds) between saves.

At the end, with the server stopped, it reads every form's stored version and counter and
checks for lost updates: for each record the acknowledged saves (302) must have distinct base
versions 0, 1, …, n-1, the stored version must be n, and the stored counter must be the value
of the save made on version n-1 (for own records: the user's last acknowledged counter).
Prints totals, errors (anything but 200/302/409, or a failed connection), conflicts, lost
updates and the save latency p50/p95. Targets: no errors, no lost updates, p95 ≤ 1 s.
Loopback only; bounded in users, time and retries.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORM = "visit"
EVENT = "event_1_arm_1"
MAX_RETRIES = 5
HOST = "127.0.0.1"

SETUP = r"""
import json, sys
import django
django.setup()
from django.contrib.auth.hashers import make_password
from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import ProjectMember
from opencrf.projects.services import project_create
from opencrf.records.services import record_create

users, shared, password, admin_name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
admin = User.objects.get(username=admin_name)
context = AuditContext(actor=admin)
project = project_create(context=context, title="Load bench")
F = "visit"
rows = [
    FieldRow(field_name="record_id", form_name=F, field_label="Record ID"),
    FieldRow(field_name="counter", form_name=F, field_label="Counter", field_type="text",
             text_validation_type_or_show_slider_number="integer", required_field="y"),
    FieldRow(field_name="writer", form_name=F, field_label="Written by", field_type="text"),
    FieldRow(field_name="note", form_name=F, field_label="Note", field_type="notes"),
    FieldRow(field_name="double", form_name=F, field_label="Twice the counter",
             field_type="calc", select_choices_or_calculations="[counter] * 2"),
    FieldRow(field_name="flag", form_name=F, field_label="Positive?", field_type="yesno",
             branching_logic="[counter] > 0"),
]
dictionary_apply(context=context, project=project, rows=rows, source="upload")
hashed = make_password(password)
names = []
for n in range(1, users + 1):
    user = User.objects.create(
        username=f"load{n:03d}", password=hashed, email=f"load{n}@example.org"
    )
    ProjectMember.objects.create(project=project, user=user, form_rights={"visit": "edit"})
    names.append(user.username)
own = [record_create(context=context, project=project, record_id=f"own-{n:03d}").record_id
       for n in range(1, users + 1)]
common = [record_create(context=context, project=project, record_id=f"shared-{n}").record_id
          for n in range(1, shared + 1)]
print(json.dumps({"project": project.pk, "users": names, "own": own, "shared": common}))
"""

VERIFY = r"""
import json, sys
import django
django.setup()
from opencrf.audit.models import AuditEvent
from opencrf.records.models import FormData
project = int(sys.argv[1])
forms = {
    f.record.record_id: {"version": f.version, "counter": f.values.get("counter", ""),
                         "double": f.values.get("double", "")}
    for f in FormData.objects.filter(project_id=project).select_related("record")
}
audits = AuditEvent.objects.filter(project_id=project, action="form.update").count()
print(json.dumps({"forms": forms, "audits": audits}))
"""

INPUT = re.compile(r"<input\b[^>]*>")
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def inputs(page: str) -> dict[str, str]:
    """name → value of every <input> of a page (enough for hidden inputs and text fields)."""
    found: dict[str, str] = {}
    for tag in INPUT.findall(page):
        attrs = dict(ATTR.findall(tag))
        if "name" in attrs:
            found.setdefault(attrs["name"], html.unescape(attrs.get("value", "")))
    return found


class Failure(Exception):
    pass


class Browser:
    """One user's cookies, requests over a fresh loopback connection each."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        headers = {"Host": f"{HOST}:{self.port}", "User-Agent": "opencrf-bench-load"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, dict(response.headers.items()), text
        finally:
            connection.close()

    def log_in(self, username: str, password: str) -> None:
        status, _, page = self.request("GET", "/accounts/login/")
        if status != 200:
            raise Failure(f"login page: {status}")
        token = inputs(page)["csrfmiddlewaretoken"]
        form = {"csrfmiddlewaretoken": token, "username": username, "password": password}
        status, _, _ = self.request("POST", "/accounts/login/", form)
        if status != 302 or "sessionid" not in self.cookies:
            raise Failure(f"login refused: {status}")


@dataclass
class Ack:
    record: str
    base_version: int
    counter: int
    user: str


@dataclass
class Stats:
    saves: int = 0
    conflicts: int = 0
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)
    save_ms: list[float] = field(default_factory=list)
    conflict_ms: list[float] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    last_own: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def form_path(project: int, record: str) -> str:
    return f"/projects/{project}/records/{record}/{EVENT}/{FORM}/1/"


def user_loop(
    number: int,
    username: str,
    own: str,
    args: argparse.Namespace,
    setup: dict,
    port: int,
    password: str,
    barrier: threading.Barrier,
    deadline: list[float],
    stats: Stats,
) -> None:
    rng = random.Random(number)
    browser = Browser(port)
    try:
        browser.log_in(username, password)
    except Exception as error:
        with stats.lock:
            stats.errors.append(f"{username} login: {error!r}")
        barrier.abort()
        return
    barrier.wait()
    counter = 0
    attempt = 0
    while time.monotonic() < deadline[0]:
        shared = setup["shared"] and rng.random() < args.shared_fraction
        record = rng.choice(setup["shared"]) if shared else own
        path = form_path(setup["project"], record)
        for _ in range(MAX_RETRIES):
            attempt += 1
            try:
                start = time.perf_counter()
                status, _, page = browser.request("GET", path)
                got = (time.perf_counter() - start) * 1000
                if status != 200:
                    raise Failure(f"GET {path}: {status}")
                values = inputs(page)
                base_version = int(values["base_version"])
                value = (number * 1_000_000 + attempt) if shared else counter + 1
                form = {
                    "csrfmiddlewaretoken": values["csrfmiddlewaretoken"],
                    "base_version": values["base_version"],
                    "base_values": values["base_values"],
                    "counter": str(value),
                    "writer": username,
                    "note": f"attempt {attempt} by {username}",
                    "flag": "1",
                    f"{FORM}_complete": "1",
                    "action": "stay",
                }
                start = time.perf_counter()
                status, headers, body = browser.request("POST", path, form)
                took = (time.perf_counter() - start) * 1000
            except Exception as error:
                with stats.lock:
                    stats.errors.append(f"{username} {record}: {error!r}")
                break
            with stats.lock:
                stats.get_ms.append(got)
                if status == 302 and headers.get("Location", "").endswith(path):
                    stats.saves += 1
                    stats.save_ms.append(took)
                    stats.acks.append(Ack(record, base_version, value, username))
                    if not shared:
                        counter = value
                        stats.last_own[own] = value
                    break
                if status == 409:
                    stats.conflicts += 1
                    stats.conflict_ms.append(took)
                    continue
                stats.errors.append(f"{username} {record}: POST {status} {body[:300]!r}")
                break
        else:
            with stats.lock:
                stats.gave_up += 1
        time.sleep(rng.uniform(0, 2 * args.think))


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def lost_updates(stats: Stats, stored: dict[str, dict]) -> list[str]:
    problems = []
    by_record: dict[str, list[Ack]] = {}
    for ack in stats.acks:
        by_record.setdefault(ack.record, []).append(ack)
    for record, acks in sorted(by_record.items()):
        acks.sort(key=lambda a: a.base_version)
        versions = [a.base_version for a in acks]
        now = stored.get(record, {"version": 0, "counter": ""})
        if versions != list(range(len(acks))):
            duplicated = sorted({v for v in versions if versions.count(v) > 1})
            problems.append(
                f"{record}: acknowledged saves on base versions {duplicated or versions[:10]}"
                f" (expected 0..{len(acks) - 1} once each)"
            )
        if now["version"] != len(acks):
            problems.append(f"{record}: stored version {now['version']}, {len(acks)} acks")
        if now["counter"] != str(acks[-1].counter):
            problems.append(
                f"{record}: stored counter {now['counter']!r}, last acknowledged "
                f"{acks[-1].counter} by {acks[-1].user}"
            )
        if now["counter"] and now.get("double") != str(int(now["counter"]) * 2):
            problems.append(f"{record}: calculation {now.get('double')!r} for {now['counter']}")
    for record, last in stats.last_own.items():
        if stored.get(record, {}).get("counter") != str(last):
            problems.append(f"{record}: own counter {stored.get(record)} != last ack {last}")
    return problems


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def server_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENCRF_", "DJANGO_")) and k != "DATABASE_URL"
    }
    env.update(
        OPENCRF_DATA_DIR=str(data_dir),
        OPENCRF_HTTPS="false",
        OPENCRF_SECRET_KEY=secrets.token_urlsafe(50),
        OPENCRF_LANGUAGE="en",
        OPENCRF_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="opencrf.config.settings",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def run(command: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/-/ready")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    sys.exit(f"server not ready in 90 s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (
        f"python {platform.python_version()}, nproc {os.cpu_count()}, CPU {model or '?'}, "
        f"{platform.machine()}, load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of saving")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between saves")
    parser.add_argument("--shared-records", type=int, default=3)
    parser.add_argument("--shared-fraction", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=0, help="server processes (0: default)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    if not 1 <= args.users <= 500 or not 0 < args.duration <= 1800:
        sys.exit("--users 1..500 and --duration up to 1800 s")

    root = Path(tempfile.mkdtemp(prefix="opencrf-load-"))
    data_dir = root / "data"
    data_dir.mkdir()
    env = server_env(data_dir, args.database_url)
    python = [sys.executable]
    admin_password = secrets.token_urlsafe(18)
    (root / "admin-password").write_text(admin_password, encoding="utf-8")
    user_password = secrets.token_urlsafe(18)
    print(machine())
    print(f"database: {'PostgreSQL ' + args.database_url if args.database_url else 'SQLite'}")

    started = time.monotonic()
    run(
        [
            *python,
            "-m",
            "opencrf",
            "init",
            "--admin",
            "load_admin",
            "--email",
            "a@example.org",
            "--password-file",
            str(root / "admin-password"),
        ],
        env,
        root,
    )
    setup = json.loads(
        run(
            [
                *python,
                "-c",
                SETUP,
                str(args.users),
                str(args.shared_records),
                user_password,
                "load_admin",
            ],
            env,
            root,
        )
        .strip()
        .splitlines()[-1]
    )
    port = free_port()
    log_path = root / "server.log"
    command = [*python, "-m", "opencrf", "serve", "--host", HOST, "--port", str(port)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command,
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stats = Stats()
    try:
        wait_ready(port, server, log_path)
        print(f"setup {time.monotonic() - started:.1f} s; server pid {server.pid} on port {port}")
        barrier = threading.Barrier(args.users + 1, timeout=600)
        deadline = [float("inf")]
        threads = [
            threading.Thread(
                target=user_loop,
                args=(n, name, own, args, setup, port, user_password, barrier, deadline, stats),
                daemon=True,
            )
            for n, (name, own) in enumerate(zip(setup["users"], setup["own"], strict=True), 1)
        ]
        login_start = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            sys.exit(f"a login failed: {stats.errors[:5]}")
        print(
            f"{args.users} logins in {time.monotonic() - login_start:.1f} s; saving for "
            f"{args.duration:.0f} s (think time uniform 0–{2 * args.think:.1f} s)"
        )
        window_start = time.monotonic()
        deadline[0] = window_start + args.duration
        for thread in threads:
            thread.join(timeout=args.duration + 300)
        window = time.monotonic() - window_start
    finally:
        stop(server)
    stored = json.loads(
        run([*python, "-c", VERIFY, str(setup["project"])], env, root).strip().splitlines()[-1]
    )
    problems = lost_updates(stats, stored["forms"])
    if stored["audits"] != stats.saves:
        problems.append(f"{stored['audits']} form.update audit events for {stats.saves} saves")
    shared_acks = sum(a.record.startswith("shared-") for a in stats.acks)

    print(
        f"window {window:.1f} s; acknowledged saves {stats.saves} "
        f"({stats.saves / window:.1f}/s; {shared_acks} on shared records); "
        f"form.update audit events {stored['audits']}"
    )
    print(f"conflicts (409) {stats.conflicts}; gave up after {MAX_RETRIES} tries {stats.gave_up}")
    print(f"errors {len(stats.errors)}")
    for error in stats.errors[:10]:
        print(f"  {error}")
    print(f"lost updates / mismatches {len(problems)}")
    for problem in problems[:10]:
        print(f"  {problem}")
    print(
        f"save latency (302): p50 {percentile(stats.save_ms, 0.5):.0f} ms, "
        f"p95 {percentile(stats.save_ms, 0.95):.0f} ms, max {max(stats.save_ms, default=0):.0f} ms"
    )
    if stats.conflict_ms:
        print(
            f"conflict latency (409): p50 {percentile(stats.conflict_ms, 0.5):.0f} ms, "
            f"p95 {percentile(stats.conflict_ms, 0.95):.0f} ms"
        )
    print(
        f"form GET latency: p50 {percentile(stats.get_ms, 0.5):.0f} ms, "
        f"p95 {percentile(stats.get_ms, 0.95):.0f} ms"
    )
    p95 = percentile(stats.save_ms, 0.95)
    ok = not stats.errors and not problems and p95 <= 1000
    print(f"targets (0 errors, 0 lost updates, p95 ≤ 1 s): {'met' if ok else 'NOT MET'}")
    if args.keep:
        print(f"scratch folder kept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
