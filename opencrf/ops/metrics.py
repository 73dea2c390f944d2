"""`/metrics`: the service's figures in Prometheus text format, for Prometheus or Zabbix.

Two kinds of figure. Request latency and counts are counted by `RequestMetricsMiddleware` in
each web process; under gunicorn's several processes they live in prometheus_client's
multiprocess files (`PROMETHEUS_MULTIPROC_DIR`, set up by `opencrf.ops.server`). Everything
else is read from the database at each scrape by `OperationsCollector`: cheap counts every
time, the costly sizes (database, file storage, row counts of the big tables) at most once a
minute per process. docs/operations/monitoring.md lists every metric.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Max
from django.http import HttpRequest
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

import opencrf
from opencrf.core.middleware import client_address
from opencrf.ops import health

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
ACTIVE_DAYS = (7, 30, 90)
SLOW_SECONDS = 60.0

# The request figures, written by the middleware. Their own registry keeps prometheus_client's
# process and platform collectors out: those are wrong for gunicorn's several processes.
REQUEST_REGISTRY = CollectorRegistry(auto_describe=True)


@dataclass(frozen=True, slots=True)
class RequestFigures:
    seconds: Histogram
    requests: Counter
    server_errors: Counter


_figures_lock = threading.Lock()
_figures: RequestFigures | None = None


def request_figures() -> RequestFigures:
    """Made at the first request, in the web process: after `opencrf.ops.server` has chosen
    multiprocess mode, which takes effect only for metrics made after it. Made once under a
    lock: the first requests of a process arrive on several threads at once, and a second
    registration of the same names would fail."""
    global _figures
    if _figures is None:
        with _figures_lock:
            if _figures is None:
                _figures = _make_request_figures()
    return _figures


def _make_request_figures() -> RequestFigures:
    return RequestFigures(
        Histogram(
            "opencrf_http_request_duration_seconds",
            "Time to answer a request (its _count: every request answered).",
            registry=REQUEST_REGISTRY,
        ),
        Counter(
            "opencrf_http_requests",
            "Requests answered, by HTTP method and status class (2xx, 3xx, 4xx, 5xx).",
            ["method", "status"],
            registry=REQUEST_REGISTRY,
        ),
        Counter(
            "opencrf_http_server_errors",
            "Requests answered with a server error (status 5xx).",
            registry=REQUEST_REGISTRY,
        ),
    )


def method_label(method: str | None) -> str:
    """The method as a label; anything unusual is `other`, so clients cannot add series."""
    return method if method in METHODS else "other"


def observe_request(method: str | None, status: int, seconds: float) -> None:
    figures = request_figures()
    method = method_label(method)
    figures.seconds.observe(seconds)
    figures.requests.labels(method, f"{status // 100}xx").inc()
    if status >= 500:
        figures.server_errors.inc()


# --- Who may read /metrics -------------------------------------------------------------------


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in settings.OPENCRF_METRICS_ALLOW:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"OPENCRF_METRICS_ALLOW: {entry!r} is not an address or network (CIDR)"
            ) from None
    return networks


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _bearer_token(request: HttpRequest) -> str:
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def metrics_allowed(request: HttpRequest) -> bool:
    """Loopback always; else the right bearer token, or an address in OPENCRF_METRICS_ALLOW.

    Behind a trusted proxy the address is the one the proxy forwarded, so a scrape through
    nginx is never taken for a local one.
    """
    address = _address(client_address(request))
    if address is not None and address.is_loopback:
        return True
    expected = settings.OPENCRF_METRICS_TOKEN
    given = _bearer_token(request)
    if expected and given and hmac.compare_digest(given.encode(), expected.encode()):
        return True
    return address is not None and any(address in net for net in allowed_networks())


# --- Figures read from the database ------------------------------------------------------------

T = TypeVar("T")
_cache: dict[str, tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def cached(key: str, compute: Callable[[], T], seconds: float = SLOW_SECONDS) -> T:
    """`compute()`, remembered for `seconds` in this process (for the costly figures)."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < seconds:
            return hit[1]  # type: ignore[no-any-return]
    value = compute()
    with _cache_lock:
        _cache[key] = (now, value)
    return value


def forget_cached() -> None:
    with _cache_lock:
        _cache.clear()


def database_bytes() -> int:
    """The database's size: the SQLite file and its write-ahead log, or pg_database_size."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
    name = str(connection.settings_dict["NAME"])
    total = 0
    for path in (Path(name), Path(name + "-wal")):
        if path.is_file():  # an in-memory test database has no file
            total += path.stat().st_size
    return total


def storage_bytes(folder: str = "") -> int:
    """The size of every stored file, through the storage API (a folder or a bucket alike)."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:  # nothing uploaded yet: the folder is made by the first file
        return 0
    total = sum(default_storage.size(f"{folder}{name}") for name in files)
    return total + sum(storage_bytes(f"{folder}{sub}/") for sub in folders)


def _seconds(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else 0.0


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _by_label(
    name: str, documentation: str, label: str, values: dict[str, float]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


def _counts(rows: Iterable[tuple[Any, int]], keys: Iterable[str]) -> dict[str, float]:
    found = {str(key): float(count) for key, count in rows}
    return {key: found.get(key, 0.0) for key in keys}


def job_metrics() -> Iterator[Metric]:
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.values_list("status").annotate(n=Count("id")).order_by()
    yield _by_label(
        "opencrf_jobs",
        "Background jobs by status.",
        "status",
        _counts(_lower_counts(rows), [status.value.lower() for status in TaskResultStatus]),
    )


def _lower_counts(rows: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(status.lower(), count) for status, count in rows]


def backup_metrics() -> Iterator[Metric]:
    from opencrf.ops.models import BackupRun, DrillRun, RunStatus

    succeeded = BackupRun.objects.filter(status=RunStatus.SUCCEEDED)
    last = succeeded.exclude(finished_at=None).order_by("-finished_at", "-id").first()
    verified = succeeded.aggregate(newest=Max("verified_at"))["newest"]
    failures = BackupRun.objects.filter(
        status__in=[RunStatus.FAILED, RunStatus.INTERRUPTED]
    ).count()
    yield _gauge(
        "opencrf_backup_last_success_timestamp_seconds",
        "When the newest successful backup finished (Unix time; 0: never).",
        _seconds(last.finished_at if last else None),
    )
    yield _gauge(
        "opencrf_backup_last_verified_timestamp_seconds",
        "When the newest verified backup was verified (Unix time; 0: never).",
        _seconds(verified),
    )
    yield _gauge(
        "opencrf_backup_last_size_bytes",
        "Size of the newest successful backup.",
        float(last.size_bytes if last else 0),
    )
    yield _gauge(
        "opencrf_backup_last_duration_seconds",
        "How long the newest successful backup took.",
        float((last.duration_seconds or 0.0) if last else 0.0),
    )
    yield CounterMetricFamily(
        "opencrf_backup_failures", "Backups that failed or were interrupted.", value=failures
    )
    attempt = BackupRun.objects.exclude(status=RunStatus.RUNNING).order_by("-started_at", "-id")
    newest = attempt.values_list("status", flat=True).first()
    yield _gauge(
        "opencrf_backup_last_attempt_failed",
        "1 when the newest finished backup attempt failed or was interrupted, else 0.",
        float(newest in (RunStatus.FAILED, RunStatus.INTERRUPTED)),
    )
    yield _gauge(
        "opencrf_installed_timestamp_seconds",
        "When the first migration was applied (Unix time): the grace for a first backup.",
        _seconds(health.installed_at()),
    )
    drill = (
        DrillRun.objects.exclude(status=RunStatus.RUNNING).order_by("-started_at", "-id").first()
    )
    yield _gauge(
        "opencrf_drill_last_timestamp_seconds",
        "When the newest restore drill finished (Unix time; 0: never).",
        _seconds((drill.finished_at or drill.started_at) if drill else None),
    )
    yield _gauge(
        "opencrf_drill_last_ok",
        "1 when the newest restore drill passed, else 0.",
        float(drill is not None and drill.status == RunStatus.SUCCEEDED),
    )
    yield _gauge(
        "opencrf_drill_last_duration_seconds",
        "Recovery time achieved by the newest restore drill (restore plus verification).",
        float((drill.duration_seconds or 0.0) if drill else 0.0),
    )


SECURITY_COUNTERS = {
    "login": ("opencrf_logins", "Sign-ins completed (both factors)."),
    "login.failed": ("opencrf_login_failures", "Sign-ins refused: wrong name or password."),
    "2fa.failed": ("opencrf_two_factor_failures", "Wrong two-factor codes."),
    "lockout": ("opencrf_lockouts", "Accounts or addresses locked out after failures."),
}


def security_metrics(now: datetime) -> Iterator[Metric]:
    from opencrf.accounts.models import SecurityEvent, User

    rows = (
        SecurityEvent.objects.filter(kind__in=SECURITY_COUNTERS)
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = _counts(rows, SECURITY_COUNTERS)
    for kind, (name, documentation) in SECURITY_COUNTERS.items():
        yield CounterMetricFamily(name, documentation, value=counts[kind])
    yield _gauge("opencrf_users_registered", "User accounts.", float(User.objects.count()))
    active = {
        str(days): float(User.objects.filter(last_login__gte=now - timedelta(days=days)).count())
        for days in ACTIVE_DAYS
    }
    yield _by_label(
        "opencrf_users_active", "Users who signed in within the last N days.", "days", active
    )


def content_metrics() -> Iterator[Metric]:
    from opencrf.projects.models import Project, ProjectStatus
    from opencrf.records.models import FormData, Record

    rows = Project.objects.values_list("status").annotate(n=Count("id")).order_by()
    yield _by_label(
        "opencrf_projects",
        "Projects by status.",
        "status",
        _counts(rows, ProjectStatus.values),
    )
    yield _gauge(
        "opencrf_records", "Records in every project.", cached("records", Record.objects.count)
    )
    yield _gauge(
        "opencrf_form_rows",
        "Form instances saved (one row per record, event, form and instance).",
        cached("form_rows", FormData.objects.count),
    )


def size_metrics() -> Iterator[Metric]:
    yield _gauge(
        "opencrf_database_size_bytes", "Size of the database.", cached("database", database_bytes)
    )
    yield _gauge(
        "opencrf_storage_size_bytes",
        "Size of every uploaded file in the file storage.",
        cached("storage", storage_bytes),
    )


def state_metrics(now: datetime) -> Iterator[Metric]:
    from opencrf.ops.models import (
        Incident,
        IncidentLevel,
        IncidentStatus,
        OperationsState,
        WorkerHeartbeat,
    )

    rows = (
        Incident.objects.filter(status=IncidentStatus.OPEN)
        .values_list("level")
        .annotate(n=Count("id"))
        .order_by()
    )
    yield _by_label(
        "opencrf_incidents_open",
        "Open incidents by level (1 no impact … 4 disaster).",
        "level",
        _counts(rows, [str(level) for level in IncidentLevel.values]),
    )
    from opencrf.ops.alerts.rules import ALERTS

    keys = Incident.objects.filter(status=IncidentStatus.OPEN).exclude(key="")
    open_keys = set(keys.values_list("key", flat=True))
    yield _by_label(
        "opencrf_alerts_open",
        "1 while the alert's incident is open (raised by the worker's checks), else 0.",
        "key",
        {key: float(key in open_keys) for key in ALERTS},
    )
    found = health.workers(now)
    yield _gauge(
        "opencrf_workers_alive",
        "Job runners working: beating within OPENCRF_WORKER_STALE_SECONDS and not stuck on a job.",
        float(found.working if found else 0),
    )
    yield _gauge(
        "opencrf_worker_restarts",
        "Times the supervisors restarted a dead job runner thread, over the runners on record.",
        float(sum(WorkerHeartbeat.objects.values_list("restarts", flat=True))),
    )
    newest = health.newest_heartbeat()
    if newest is not None:  # never reported: no figure rather than a made-up one
        yield _gauge(
            "opencrf_worker_heartbeat_age_seconds",
            "Seconds since the last heartbeat of any job worker.",
            max(0.0, (now - newest).total_seconds()),
        )
    maintenance = OperationsState.objects.filter(pk=1, maintenance_mode=True).exists()
    yield _gauge("opencrf_maintenance_mode", "1 while maintenance mode is on.", float(maintenance))


def audit_metrics() -> Iterator[Metric]:
    """The newest signed checkpoint and the chains' lengths: a scraper's history keeps them
    off the machine, so a chain that shrinks shows as a drop there too."""
    from opencrf.audit.anchors import checkpoints_read
    from opencrf.audit.models import AuditEvent

    stored = cached("audit_checkpoints", checkpoints_read, seconds=300.0)
    newest = stored.newest
    yield _gauge(
        "opencrf_audit_checkpoint_timestamp_seconds",
        "When the newest signed audit checkpoint was made (Unix time; 0: never).",
        _seconds(newest.made_at if newest else None),
    )
    yield _by_label(
        "opencrf_audit_checkpoint_entries",
        "Entries of each audit chain (0: the system chain) in the newest checkpoint.",
        "chain",
        # The system chain always, so that a scraper sees it drop to 0 when checkpoints vanish.
        {"0": 0.0} | {str(head.project_id): float(head.count) for head in newest.chains}
        if newest
        else {"0": 0.0},
    )
    yield _gauge(
        "opencrf_audit_checkpoints_refused",
        "Checkpoint files whose signature fails (forged, altered or another key).",
        float(len(stored.refused)),
    )
    verified = [c for c in stored.valid if c.verification is not None]
    yield _gauge(
        "opencrf_audit_last_verification_ok",
        "1 when the newest full verification of the audit trail passed, else 0.",
        float(bool(verified) and bool(verified[-1].verification.get("ok"))),  # type: ignore[union-attr]
    )
    rows = cached(
        "audit_chains",
        lambda: list(
            AuditEvent.objects.order_by()
            .values_list("project_id")
            .annotate(last=Max("sequence"))
            .values_list("project_id", "last")
        ),
    )
    yield _by_label(
        "opencrf_audit_chain_entries",
        "The last sequence number of each audit chain (0: the system chain).",
        "chain",
        {"0": 0.0} | {str(chain): float(last) for chain, last in rows},
    )


def disk_metrics() -> Iterator[Metric]:
    found = health.volumes()
    yield _by_label(
        "opencrf_disk_free_bytes",
        "Free space on the filesystem of the data folder and of the backup folder.",
        "volume",
        {v.name: float(v.free_bytes) for v in found},
    )
    yield _by_label(
        "opencrf_disk_size_bytes",
        "Size of the filesystem of the data folder and of the backup folder.",
        "volume",
        {v.name: float(v.total_bytes) for v in found},
    )
    yield _by_label(
        "opencrf_disk_free_percent",
        "Free space on those filesystems, in percent.",
        "volume",
        {v.name: round(v.free_percent, 2) for v in found},
    )
    yield _gauge(
        "opencrf_disk_min_free_percent",
        "The threshold OPENCRF_DISK_MIN_FREE_PERCENT.",
        float(settings.OPENCRF_DISK_MIN_FREE_PERCENT),
    )


class OperationsCollector(Collector):
    """Reads the database at each scrape; a failing part is logged and counted, not fatal."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        info = GaugeMetricFamily(
            "opencrf_info", "The version and instance role.", labels=["version", "role"]
        )
        info.add_metric([opencrf.__version__, settings.OPENCRF_INSTANCE_ROLE], 1.0)
        yield info
        parts: list[Callable[[], Iterator[Metric]]] = [
            job_metrics,
            backup_metrics,
            lambda: security_metrics(now),
            content_metrics,
            size_metrics,
            lambda: state_metrics(now),
            disk_metrics,
            audit_metrics,
        ]
        failed = 0
        for part in parts:
            try:
                yield from list(part())  # a part fails whole, never half-written
            except Exception:
                logger.exception("A part of /metrics could not be read")
                failed += 1
        yield _gauge(
            "opencrf_metrics_errors",
            "Parts of this scrape that could not be read (see the server log).",
            float(failed),
        )


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    folder = multiprocess_dir()
    if folder:
        MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    else:
        registry.register(_RequestFigures())
    registry.register(OperationsCollector())
    return generate_latest(registry)


class _RequestFigures(Collector):
    """This process's request figures (single-process mode: tests, `opencrf manage runserver`)."""

    def collect(self) -> Iterator[Metric]:
        request_figures()  # every name present, even before the first request
        yield from REQUEST_REGISTRY.collect()
