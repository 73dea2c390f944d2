"""A request for a new project from a user who may not create one (an external user)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ProjectRequest(models.Model):
    """Kept after the decision: who asked, who decided, why, and the project it became."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="project_requests"
    )
    title = models.CharField(_("project title"), max_length=200)
    purpose = models.TextField(_("purpose of the project"), max_length=2000)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    is_longitudinal = models.BooleanField(_("longitudinal"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=1000, blank=True)
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        app_label = "projects"
        ordering = ["-created_at", "-id"]
        verbose_name = _("project request")
        verbose_name_plural = _("project requests")

    def __str__(self) -> str:
        return self.title
