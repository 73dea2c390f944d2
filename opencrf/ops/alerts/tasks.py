"""Background jobs of the alerts (Django Tasks), enqueued by the scheduler (ops/schedule.py)."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tasks import task

from opencrf.ops.alerts import traffic
from opencrf.ops.alerts.evaluate import (
    alerts_evaluate,
    audit_chains_evaluate,
    audit_checkpoint_evaluate,
)

logger = logging.getLogger(__name__)


@task()
def evaluate_alerts() -> dict[str, str]:
    """Every minute: run each rule; returns each alert's state (`ok`, `opened`, `firing` …)."""
    now = timezone.now()
    try:
        traffic.flush()  # this process's own requests count too
        traffic.prune(now)
    except Exception:
        logger.exception("Could not store or prune the request counts")
    return alerts_evaluate(now=now)


@task()
def verify_audit_chains() -> str:
    """Daily: recompute every audit chain and compare it with the signed checkpoints; a fault
    raises `audit_chain_broken` (level 3)."""
    return audit_chains_evaluate()


@task()
def audit_checkpoint() -> str:
    """Hourly: compare the chains' heads with the newest checkpoint, then sign a new one."""
    return audit_checkpoint_evaluate()
