"""A request to move a project to production, waiting for an administrator's approval."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.projects.request_models import RequestStatus


class StatusRequest(models.Model):
    """Kept after the decision: who asked, with what reason, who decided and why."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="status_requests"
    )
    to_status = models.CharField(_("requested status"), max_length=16)
    keep_records = models.BooleanField(_("keep the test records"), default=True)
    reason = models.CharField(_("reason"), max_length=1000)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.CharField(_("comment"), max_length=1000, blank=True)

    class Meta:
        app_label = "projects"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(status="pending"),
                name="status_request_one_pending",
            )
        ]
