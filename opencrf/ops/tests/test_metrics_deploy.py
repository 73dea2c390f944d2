"""The monitoring files in deploy/ use only figures that /metrics really exports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from opencrf.ops.alerts.rules import ALERTS
from opencrf.ops.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
ZABBIX = DEPLOY / "zabbix" / "opencrf_template.yaml"
PROMETHEUS = [
    DEPLOY / "prometheus" / "opencrf-alerts.yml",
    DEPLOY / "prometheus" / "prometheus.example.yml",
]
METRIC = re.compile(r"\bopencrf_[a-z0-9_]+\b")
TEMPLATE = "OpenCRF by HTTP"


@pytest.fixture
def exported(client) -> dict[str, list[dict[str, str]]]:
    """Every sample name /metrics gives, with the label sets it comes with."""
    WorkerHeartbeat.objects.create(worker_id="w", last_seen_at=timezone.now())
    client.get("/-/alive")  # so the request histogram has samples
    text = client.get("/metrics").content.decode()
    found: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(dict(sample.labels))
    return found


def test_every_metric_in_the_deploy_files_is_exported(exported):
    for path in [ZABBIX, *PROMETHEUS]:
        used = set(METRIC.findall(path.read_text(encoding="utf-8")))
        assert sorted(used - set(exported)) == [], path.name
    assert len(set(METRIC.findall(ZABBIX.read_text(encoding="utf-8")))) == 33
    assert "metrics_path: /metrics" in PROMETHEUS[1].read_text(encoding="utf-8")


def test_every_zabbix_pattern_selects_an_exported_series(exported):
    text = ZABBIX.read_text(encoding="utf-8")
    patterns = re.findall(r"- '(opencrf_[a-z0-9_]+)(?:\{([^}]*)\})?'", text)
    assert len(patterns) == 44
    for name, selector in patterns:
        labels = dict(re.findall(r'(\w+)="([^"]*)"', selector))
        assert labels in exported[name], f"{name}{{{selector}}}"


def test_zabbix_triggers_use_only_the_templates_items():
    text = ZABBIX.read_text(encoding="utf-8")
    keys = set(re.findall(r"^ {10}key: '?([^'\n]+)'?$", text, flags=re.MULTILINE))
    used = set(re.findall(rf"/{TEMPLATE}/([^,)]+)", text))
    assert used <= keys
    assert "version: '6.0'" in text
    assert "url: '{$OPENCRF.URL}/metrics'" in text
    assert "value: 'Bearer {$OPENCRF.METRICS.TOKEN}'" in text
    assert "url: '{$OPENCRF.URL}/-/ready'" in text


def test_zabbix_and_prometheus_cover_every_alert_with_its_level():
    zabbix = ZABBIX.read_text(encoding="utf-8")
    rules = PROMETHEUS[0].read_text(encoding="utf-8")
    priority = {"1": "WARNING", "2": "AVERAGE", "3": "HIGH", "4": "DISASTER"}
    named = re.findall(r"name: 'OpenCRF: [^']*\((\w+), level (\d)\)'\n\s+priority: (\w+)", zabbix)
    assert {key for key, _level, _priority in named} == set(ALERTS)
    assert all(priority[level] == given for _key, level, given in named)
    assert set(re.findall(r"key: (\w+)\}", rules)) == set(ALERTS)
    for key in ALERTS:
        assert f"runbook: docs/operations/runbook.md#{key}" in rules
