from __future__ import annotations

import os
from collections import namedtuple
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

import opencrf
from opencrf.accounts.services import security_event_create
from opencrf.ops import health, metrics
from opencrf.ops.alerts import traffic
from opencrf.ops.metrics_middleware import RequestMetricsMiddleware
from opencrf.ops.models import (
    BackupRun,
    DrillRun,
    Incident,
    OperationsState,
    RunStatus,
    WorkerHeartbeat,
)
from opencrf.ops.server import prepare_metrics_dir

pytestmark = pytest.mark.django_db

Usage = namedtuple("Usage", "total used free")
TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def _quiet_site(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path / "data"
    settings.OPENCRF_BACKUP_DIR = tmp_path / "backups"
    settings.OPENCRF_BACKUP_S3_URL = ""
    settings.OPENCRF_METRICS_TOKEN = ""
    settings.OPENCRF_METRICS_ALLOW = []
    settings.BEHIND_PROXY = False
    settings.OPENCRF_DISK_MIN_FREE_PERCENT = 10
    monkeypatch.setattr(health.shutil, "disk_usage", lambda path: Usage(4000, 3000, 1000))
    metrics.forget_cached()
    yield
    metrics.forget_cached()


def scrape(client, **headers) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return samples(response.content.decode())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def one(found, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def test_loopback_scrapes_without_a_token(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert b"# TYPE opencrf_records gauge" in response.content
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


def test_other_addresses_are_refused_with_no_figures(client, settings):
    settings.OPENCRF_METRICS_TOKEN = TOKEN
    for headers in [{}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": TOKEN}]:
        response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", **headers)
        assert (response.status_code, response.content) == (403, b"Forbidden\n")


def test_the_bearer_token_opens_metrics_to_any_address(client, settings):
    settings.OPENCRF_METRICS_TOKEN = TOKEN
    response = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )
    assert response.status_code == 200


def test_without_a_configured_token_no_bearer_is_accepted(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


def test_allowed_networks_scrape_and_others_do_not(client, settings):
    settings.OPENCRF_METRICS_ALLOW = ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.200").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="2001:db8::5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.8").status_code == 403


def test_a_misconfigured_network_is_a_clear_error(rf, settings):
    settings.OPENCRF_METRICS_ALLOW = ["10.0.0.0/33"]
    with pytest.raises(ImproperlyConfigured, match=r"'10\.0\.0\.0/33' is not an address"):
        metrics.metrics_allowed(rf.get("/metrics", REMOTE_ADDR="203.0.113.9"))


def test_through_a_trusted_proxy_the_forwarded_address_decides(client, settings):
    settings.BEHIND_PROXY = True
    through_nginx = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client.get("/metrics", **through_nginx).status_code == 403
    settings.OPENCRF_METRICS_ALLOW = ["203.0.113.0/24"]
    assert client.get("/metrics", **through_nginx).status_code == 200


def test_requests_are_counted_by_method_and_status_class(client):
    before = scrape(client)
    client.get("/-/alive")
    client.get("/-/alive")
    client.post("/-/alive")  # 405
    client.generic("BREW", "/-/alive")
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    # The first scrape itself is a loopback GET answered 200.
    assert delta("opencrf_http_requests_total", method="GET", status="2xx") == 3
    assert delta("opencrf_http_requests_total", method="POST", status="4xx") == 1
    assert delta("opencrf_http_requests_total", method="other", status="4xx") == 1
    assert delta("opencrf_http_request_duration_seconds_count") == 5
    assert delta("opencrf_http_server_errors_total") == 0


def test_server_errors_are_counted_for_metrics_and_for_the_alert(rf, client):
    before = scrape(client)
    traffic.flush()
    span = timezone.now() + timedelta(minutes=1)  # whichever minute the request falls in
    counted = traffic.window(span, 3)
    middleware = RequestMetricsMiddleware(lambda request: HttpResponse(status=503))
    middleware(rf.get("/projects/"))
    traffic.flush()
    now_counted = traffic.window(span, 3)
    after = scrape(client)

    errors = ("opencrf_http_server_errors_total", ())
    assert after[errors] - before.get(errors, 0.0) == 1
    assert (now_counted.requests - counted.requests, now_counted.errors - counted.errors) == (1, 1)


def test_operations_figures_are_read_from_the_database(client, pi_paula, admin_ada, settings):
    now = timezone.now()
    BackupRun.objects.create(
        backup_id="b1",
        trigger="schedule",
        status=RunStatus.SUCCEEDED,
        started_at=now - timedelta(hours=5, seconds=90),
        finished_at=now - timedelta(hours=5),
        verified_at=now - timedelta(hours=4),
        size_bytes=123456,
    )
    BackupRun.objects.create(backup_id="b2", trigger="manual", status=RunStatus.FAILED)
    BackupRun.objects.create(backup_id="b3", trigger="manual", status=RunStatus.INTERRUPTED)
    DrillRun.objects.create(
        backup_id="b1",
        status=RunStatus.SUCCEEDED,
        started_at=now - timedelta(hours=3, seconds=40),
        finished_at=now - timedelta(hours=3),
        duration_seconds=40.5,
    )
    for kind in ["login", "login", "login.failed", "lockout", "2fa.failed", "logout"]:
        security_event_create(kind=kind, user=pi_paula, address="192.0.2.1")
    type(pi_paula).objects.filter(pk=pi_paula.pk).update(last_login=now - timedelta(days=20))
    type(admin_ada).objects.filter(pk=admin_ada.pk).update(last_login=now - timedelta(days=2))
    Incident.objects.create(title="a", level=1)
    Incident.objects.create(title="b", level=3)
    Incident.objects.create(title="c", level=3, status="resolved", key="disk_low")
    Incident.objects.create(title="d", level=1, status="open", key="backup_failed")
    WorkerHeartbeat.objects.create(worker_id="w1", last_seen_at=now - timedelta(seconds=12))
    OperationsState.objects.create(pk=1, maintenance_mode=True)

    found = scrape(client)

    assert one(found, "opencrf_backup_last_success_timestamp_seconds") == pytest.approx(
        (now - timedelta(hours=5)).timestamp()
    )
    assert one(found, "opencrf_backup_last_verified_timestamp_seconds") == pytest.approx(
        (now - timedelta(hours=4)).timestamp()
    )
    assert one(found, "opencrf_backup_last_size_bytes") == 123456
    assert one(found, "opencrf_backup_last_duration_seconds") == 90
    assert one(found, "opencrf_backup_failures_total") == 2
    assert one(found, "opencrf_backup_last_attempt_failed") == 1
    assert one(found, "opencrf_drill_last_timestamp_seconds") == pytest.approx(
        (now - timedelta(hours=3)).timestamp()
    )
    assert one(found, "opencrf_drill_last_ok") == 1
    assert one(found, "opencrf_drill_last_duration_seconds") == 40.5
    assert one(found, "opencrf_logins_total") == 2
    assert one(found, "opencrf_login_failures_total") == 1
    assert one(found, "opencrf_lockouts_total") == 1
    assert one(found, "opencrf_two_factor_failures_total") == 1
    assert one(found, "opencrf_users_registered") == 2
    active = {days: one(found, "opencrf_users_active", days=days) for days in ("7", "30", "90")}
    assert active == {"7": 1, "30": 2, "90": 2}
    assert {level: one(found, "opencrf_incidents_open", level=level) for level in "1234"} == {
        "1": 2,
        "2": 0,
        "3": 1,
        "4": 0,
    }
    assert one(found, "opencrf_alerts_open", key="backup_failed") == 1
    assert one(found, "opencrf_alerts_open", key="disk_low") == 0
    assert one(found, "opencrf_alerts_open", key="audit_chain_broken") == 0
    assert one(found, "opencrf_workers_alive") == 1
    assert one(found, "opencrf_worker_heartbeat_age_seconds") == pytest.approx(12, abs=2)
    assert one(found, "opencrf_maintenance_mode") == 1
    assert one(found, "opencrf_disk_free_bytes", volume="data") == 1000
    assert one(found, "opencrf_disk_size_bytes", volume="backups") == 4000
    assert one(found, "opencrf_disk_free_percent", volume="data") == 25
    assert one(found, "opencrf_disk_min_free_percent") == 10
    assert one(found, "opencrf_metrics_errors") == 0
    assert one(found, "opencrf_info", version=opencrf.__version__, role="production") == 1


def test_projects_records_and_jobs_are_counted(client, classic_project, longitudinal_project):
    from opencrf.projects.models import Project

    Project.objects.filter(pk=longitudinal_project.pk).update(status="production")
    found = scrape(client)

    projects = {
        status: one(found, "opencrf_projects", status=status)
        for status in ("development", "production", "analysis", "completed")
    }
    assert projects == {"development": 1, "production": 1, "analysis": 0, "completed": 0}
    assert one(found, "opencrf_records") == 0
    assert one(found, "opencrf_form_rows") == 0
    jobs = {s: one(found, "opencrf_jobs", status=s) for s in ("ready", "running", "failed")}
    assert jobs == {"ready": 0, "running": 0, "failed": 0}


def test_a_site_without_workers_or_runs_reports_zeros_not_guesses(client):
    found = scrape(client)
    assert one(found, "opencrf_backup_last_verified_timestamp_seconds") == 0
    assert one(found, "opencrf_backup_last_attempt_failed") == 0
    installed = MigrationRecorder.Migration.objects.order_by("applied").first().applied
    assert one(found, "opencrf_installed_timestamp_seconds") == installed.timestamp()
    assert one(found, "opencrf_drill_last_ok") == 0
    assert one(found, "opencrf_workers_alive") == 0
    assert ("opencrf_worker_heartbeat_age_seconds", ()) not in found
    assert one(found, "opencrf_maintenance_mode") == 0


def test_a_failing_part_is_counted_and_the_rest_still_served(client, monkeypatch):
    def broken():
        raise RuntimeError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(metrics, "backup_metrics", broken)
    found = scrape(client)
    assert one(found, "opencrf_metrics_errors") == 1
    assert ("opencrf_backup_last_size_bytes", ()) not in found
    assert one(found, "opencrf_workers_alive") == 0


def test_costly_figures_are_kept_for_a_minute(monkeypatch):
    calls = []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert metrics.cached("probe", compute) == 1
    assert metrics.cached("probe", compute) == 1
    assert metrics.cached("probe", compute, seconds=0) == 2


def test_storage_size_adds_every_file_in_every_folder():
    default_storage.save("a/one.bin", ContentFile(b"x" * 10))
    default_storage.save("a/b/two.bin", ContentFile(b"y" * 5))
    default_storage.save("three.bin", ContentFile(b"z" * 7))
    assert metrics.storage_bytes() == 22


def test_sqlite_size_is_the_file_and_its_write_ahead_log(tmp_path, monkeypatch):
    database = tmp_path / "db.sqlite3"
    database.write_bytes(b"d" * 1000)
    (tmp_path / "db.sqlite3-wal").write_bytes(b"w" * 24)
    (tmp_path / "db.sqlite3-shm").write_bytes(b"s" * 500)
    fake = SimpleNamespace(vendor="sqlite", settings_dict={"NAME": str(database)})
    monkeypatch.setattr(metrics, "connections", {"default": fake})
    assert metrics.database_bytes() == 1024


def test_postgresql_size_is_the_databases_own(django_db_blocker):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        expected = cursor.fetchone()[0]
    assert metrics.database_bytes() == expected


def test_serving_prepares_an_empty_multiprocess_folder(tmp_path, monkeypatch):
    from prometheus_client import values

    monkeypatch.setattr(values, "ValueClass", values.ValueClass)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # restored (to absent) after the test
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old run")

    prepare_metrics_dir(folder)

    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(folder)
    assert list(folder.iterdir()) == []
    assert values.ValueClass is not values.MutexValue


def test_the_first_requests_of_a_process_on_many_threads_share_one_set_of_figures(monkeypatch):
    # Regression: 50 simultaneous first logins made the histogram twice, and the second
    # registration answered 500 (bench/bench_load.py found it).
    import threading
    import time as clock

    from prometheus_client import CollectorRegistry

    monkeypatch.setattr(metrics, "REQUEST_REGISTRY", CollectorRegistry(auto_describe=True))
    monkeypatch.setattr(metrics, "_figures", None)
    made = metrics._make_request_figures

    def slow_make():
        clock.sleep(0.05)  # widen the window in which a second thread could start making
        return made()

    monkeypatch.setattr(metrics, "_make_request_figures", slow_make)
    start = threading.Barrier(16)
    got, failures = [], []

    def first_request():
        start.wait()
        try:
            got.append(metrics.request_figures())
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=first_request) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(got) == 16 and all(figures is got[0] for figures in got)
