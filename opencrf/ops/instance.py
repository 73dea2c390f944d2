"""Instance roles: production, shared, validation and training (`OPENCRF_INSTANCE_ROLE`).

- production: the institution's own service; nothing special.
- shared: a service run for other institutions; nothing special on the pages.
- validation: for trying upgrades before production; a banner warns against real data.
- training: a banner on every page, no outgoing e-mail (`SuppressedEmailBackend`, chosen in
  the settings) and a nightly reset to the demo study (`training_reset_task`, enqueued by the
  scheduler at `OPENCRF_TRAINING_RESET_TIME`).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django_tasks import task

from opencrf.audit.anchors import checkpoint_make, checkpoint_write
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.audit.training import TRAINING_ROLE, NotATrainingInstance, training_audit_chains_delete
from opencrf.demo.loader import DEMO_FOLDER, load_demo
from opencrf.exports.models import ExportFile
from opencrf.files.models import StoredFile
from opencrf.projects.models import Project

logger = logging.getLogger(__name__)

ROLES = ("production", "shared", "validation", "training")
# Each rescue from a PROTECT foreign key clears one more layer of rows; a few are enough.
MAX_PROTECTED_LAYERS = 10

__all__ = [
    "ROLES",
    "NotATrainingInstance",
    "SuppressedEmailBackend",
    "TrainingResetResult",
    "instance_role",
    "training_reset",
    "training_reset_task",
]


def instance_role() -> str:
    return str(settings.OPENCRF_INSTANCE_ROLE)


class SuppressedEmailBackend(BaseEmailBackend):
    """Sends nothing: a training instance logs one line per message (never its body)."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            logger.info(
                "E-mail not sent (training instance): to %s, subject %r",
                ", ".join(message.recipients()),
                message.subject,
            )
        return len(email_messages)


@dataclass(frozen=True, slots=True)
class TrainingResetResult:
    projects_removed: int
    audit_entries_removed: int
    files_removed: int
    demo_project_id: int


def _delete_with_protected(queryset: models.QuerySet[Any], depth: int = 0) -> None:
    """Delete the rows, first deleting whatever holds on to them with PROTECT or RESTRICT."""
    for _attempt in range(MAX_PROTECTED_LAYERS):
        try:
            with transaction.atomic():
                queryset.delete()
            return
        except (ProtectedError, RestrictedError) as error:
            if depth >= MAX_PROTECTED_LAYERS:
                raise
            blocking = (
                error.protected_objects
                if isinstance(error, ProtectedError)
                else error.restricted_objects
            )
            by_model: dict[type[models.Model], set[Any]] = defaultdict(set)
            for row in blocking:
                by_model[type(row)].add(row.pk)
            for model, keys in by_model.items():
                _delete_with_protected(model._default_manager.filter(pk__in=keys), depth + 1)
    queryset.delete()  # raises what still blocks it


def _demo_owner() -> str | None:
    """Who created the demo study before (if still active): they own it again after the reset."""
    title = json.loads((DEMO_FOLDER / "project.json").read_text(encoding="utf-8"))["title"]
    return (
        Project.objects.filter(title=title, created_by__is_active=True)
        .order_by("pk")
        .values_list("created_by__username", flat=True)
        .first()
    )


@transaction.atomic
def training_reset() -> TrainingResetResult:
    """Remove every project and its data, then load the demo study again; accounts stay.

    Refused (NotATrainingInstance) unless this is a training instance.
    """
    role = instance_role()
    if role != TRAINING_ROLE:
        raise NotATrainingInstance(
            f"the training reset runs only on a training instance; this one is {role}"
        )
    owner = _demo_owner()
    projects = Project.objects.count()
    file_keys = [
        *StoredFile.objects.values_list("key", flat=True),
        *ExportFile.objects.exclude(key="").values_list("key", flat=True),
    ]
    audit_removed = training_audit_chains_delete()
    _delete_with_protected(Project.objects.all())
    project, _created = load_demo(owner_username=owner)
    audit_event_create(
        context=AuditContext.system(),
        project_id=None,
        action="training.reset",
        details=f"Training reset: {projects} project(s) removed; demo study loaded as project "
        f"{project.pk}",
        changes={"projects_removed": projects, "audit_entries_removed": audit_removed},
    )
    transaction.on_commit(lambda: _delete_files(file_keys))
    # The project chains are gone by design: later checkpoints compare with the new trail only.
    transaction.on_commit(
        lambda: checkpoint_write(checkpoint_make(reason="training reset", restart=True))
    )
    return TrainingResetResult(projects, audit_removed, len(file_keys), project.pk)


def _delete_files(keys: list[str]) -> None:
    for key in keys:
        try:
            default_storage.delete(key)
        except OSError:
            logger.warning("Training reset: could not delete the stored file %s", key)


@task()
def training_reset_task() -> dict[str, int]:
    """The nightly reset of a training instance (the scheduler enqueues it only there)."""
    result = training_reset()
    logger.info(
        "Training reset: %d project(s) removed; the demo study is project %d",
        result.projects_removed,
        result.demo_project_id,
    )
    return {
        "projects_removed": result.projects_removed,
        "audit_entries_removed": result.audit_entries_removed,
        "files_removed": result.files_removed,
        "demo_project_id": result.demo_project_id,
    }
